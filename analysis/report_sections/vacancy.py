"""Report sections of the bulk vacancy and solute-vacancy series."""

from __future__ import annotations

from typing import TYPE_CHECKING

from anodefree.analysis.documents.vacancy import SIZE_TOLERANCE
from anodefree.analysis.references import PBE_REFERENCE
from anodefree.analysis.report import ReportRow, Section, register_section

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from anodefree.analysis.documents.vacancy import BulkVacancyDocument, SoluteVacancyDocument

#: Solute-vacancy references: (solute, distance in A) -> reference key.
_SHELL_REFERENCES = {
    ("Mg", 2.98): "vacancy_formation_next_to_Mg",
    ("Mg", 4.87): "vacancy_formation_4.9A_from_Mg",
}


@register_section("BulkVacancyDocument")
def bulk_vacancy_section(
    documents: Sequence[BulkVacancyDocument], figure_dir: Path | None
) -> Section:
    """Vacancy formation energy versus supercell size."""
    section = Section(title="Li vacancy in bcc Li", order=20)
    ref = PBE_REFERENCE["vacancy_formation_Li"]
    for doc in documents:
        calc = doc.calculator.label
        for size in doc.sizes:
            section.rows.append(
                ReportRow(
                    section=section.title,
                    quantity=f"E_f vacancy, {size.n_atoms}-atom cell ({size.repetitions}^3)",
                    value=size.formation_energy,
                    unit="eV",
                    calculator=calc,
                    note="" if size.converged else "NOT CONVERGED",
                    flagged=not size.converged,
                )
            )
        change = f"{1000 * doc.size_change:.1f} meV" if doc.size_change is not None else "n/a"
        converged = "size-converged" if doc.size_converged else "NOT size-converged"
        section.rows.append(
            ReportRow(
                section=section.title,
                quantity="E_f vacancy (largest cell)",
                value=doc.formation_energy,
                unit="eV",
                calculator=calc,
                reference=ref.value,
                reference_source=ref.source,
                note=f"{converged}: change to the next smaller cell {change} "
                f"(tolerance {1000 * SIZE_TOLERANCE:.0f} meV)",
                flagged=not doc.size_converged or bool(doc.warnings),
            )
        )
        section.warnings += doc.warnings
        if figure_dir is not None:
            from anodefree.analysis.plotting.vacancy import plot_vacancy_size_series

            path = plot_vacancy_size_series(doc, figure_dir / "vacancy_size_series.png")
            section.figures.append(f"{path.parent.name}/{path.name}")
    return section


@register_section("SoluteVacancyDocument")
def solute_vacancy_section(
    documents: Sequence[SoluteVacancyDocument], figure_dir: Path | None
) -> Section:
    """Vacancy formation energy at the neighbour shells of each solute."""
    section = Section(title="Solute-vacancy interaction in bcc Li", order=30)
    section.text.append(
        "E_b = E_f(shell) - E_f(pure Li, same supercell); negative means the vacancy is "
        "attracted to the solute."
    )
    for doc in documents:
        calc = doc.calculator.label
        for shell in doc.shells:
            key = next(
                (
                    k
                    for (s, d), k in _SHELL_REFERENCES.items()
                    if s == doc.solute and abs(d - shell.distance) < 0.1
                ),
                None,
            )
            ref = PBE_REFERENCE[key] if key else None
            section.rows.append(
                ReportRow(
                    section=section.title,
                    quantity=f"E_f vacancy, shell {shell.shell} of {doc.solute} "
                    f"({shell.distance:.2f} A)",
                    value=shell.formation_energy,
                    unit="eV",
                    calculator=calc,
                    reference=ref.value if ref else None,
                    reference_source=ref.source if ref else None,
                    note=f"E_b = {1000 * shell.binding_energy:+.1f} meV"
                    + ("" if shell.converged else "; NOT CONVERGED"),
                    flagged=not shell.converged,
                )
            )
        section.rows.append(
            ReportRow(
                section=section.title,
                quantity=f"E_f(farthest shell) - E_f(pure Li), {doc.solute}",
                value=doc.far_shell_deviation,
                unit="eV",
                calculator=calc,
                note=f"pure-Li E_f in the same {doc.n_atoms}-site cell: "
                f"{doc.pure_formation_energy:.4f} eV",
            )
        )
        section.warnings += doc.warnings
    if figure_dir is not None and documents:
        from anodefree.analysis.plotting.vacancy import plot_solute_vacancy

        path = plot_solute_vacancy(documents, figure_dir / "solute_vacancy.png")
        section.figures.append(f"{path.parent.name}/{path.name}")
    return section
