"""Rows of the bulk vacancy size series and of the solute-vacancy shells."""

from __future__ import annotations

from typing import TYPE_CHECKING

from anodefree.analysis.queries import PropertyRow, register_family

if TYPE_CHECKING:
    from collections.abc import Iterator

    from anodefree.analysis.documents.vacancy import BulkVacancyDocument, SoluteVacancyDocument


def _ids(*uuids: str | None) -> tuple[str, ...]:
    return tuple(u for u in uuids if u)


@register_family(
    "vacancy",
    "BulkVacancyDocument",
    description="Li vacancy formation energy in bcc Li by supercell size",
)
def bulk_vacancy_rows(document: BulkVacancyDocument) -> Iterator[PropertyRow]:
    """E_f per supercell (parameters repetitions, n_atoms) and the size change."""
    from anodefree.analysis.documents.vacancy import SIZE_TOLERANCE
    from anodefree.analysis.references import PBE_REFERENCE

    reference = PBE_REFERENCE["vacancy_formation_Li"]
    for size in document.sizes:
        parameters = {"repetitions": size.repetitions, "n_atoms": size.n_atoms}
        common = {
            "system": document.system,
            "parameters": parameters,
            "flagged": not size.converged,
            "note": "" if size.converged else "NOT CONVERGED",
            "job_ids": _ids(*size.job_uuids),
        }
        yield PropertyRow(
            quantity="vacancy_formation_energy",
            value=size.formation_energy,
            unit="eV",
            label=f"E_f vacancy, {size.n_atoms}-atom cell",
            reference=document.reference_pbe,
            reference_source=reference.source,
            **common,
        )
        if size.relaxation_energy is not None:
            yield PropertyRow(
                quantity="vacancy_relaxation_energy",
                value=size.relaxation_energy,
                unit="eV",
                label=f"vacancy relaxation energy, {size.n_atoms}-atom cell",
                **common,
            )
    largest = max(document.sizes, key=lambda s: s.n_atoms)
    yield PropertyRow(
        quantity="vacancy_size_change",
        value=document.size_change,
        unit="eV",
        label="|E_f(largest) - E_f(next smaller)|",
        system=document.system,
        parameters={"repetitions": largest.repetitions, "n_atoms": largest.n_atoms},
        flagged=not document.size_converged or bool(document.warnings),
        note=f"tolerance {1000 * SIZE_TOLERANCE:.0f} meV; "
        + ("size-converged" if document.size_converged else "NOT size-converged"),
        job_ids=_ids(*(u for s in document.sizes for u in s.job_uuids)),
    )


@register_family(
    "solute_vacancy",
    "SoluteVacancyDocument",
    description="vacancy formation and binding energies by neighbour shell of a solute",
)
def solute_vacancy_rows(document: SoluteVacancyDocument) -> Iterator[PropertyRow]:
    """E_f and E_b per shell (parameters solute, shell, distance_A, n_atoms)."""
    base = {"solute": document.solute, "repetitions": document.repetitions,
            "n_atoms": document.n_atoms}  # fmt: skip
    for shell in document.shells:
        common = {
            "system": document.system,
            "parameters": {**base, "shell": shell.shell, "distance_A": shell.distance},
            "flagged": not shell.converged,
            "note": "" if shell.converged else "NOT CONVERGED",
            "job_ids": _ids(shell.job_uuid),
        }
        where = f"shell {shell.shell} of {document.solute} ({shell.distance:.2f} A)"
        yield PropertyRow(
            quantity="vacancy_formation_energy",
            value=shell.formation_energy,
            unit="eV",
            label=f"E_f vacancy, {where}",
            **common,
        )
        yield PropertyRow(
            quantity="binding_energy",
            value=shell.binding_energy,
            unit="eV",
            label=f"E_b solute-vacancy, {where} (negative: attraction)",
            **common,
        )
    yield PropertyRow(
        quantity="pure_vacancy_formation_energy",
        value=document.pure_formation_energy,
        unit="eV",
        label=f"E_f vacancy in pure Li, same {document.n_atoms}-site cell",
        system=document.system,
        parameters=base,
    )
    yield PropertyRow(
        quantity="far_shell_deviation",
        value=document.far_shell_deviation,
        unit="eV",
        label=f"E_f(farthest shell) - E_f(pure Li), {document.solute}",
        system=document.system,
        parameters=base,
        flagged=bool(document.warnings),
        note="; ".join(document.warnings),
    )
