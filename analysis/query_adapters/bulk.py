"""Rows of the bulk reference phases: lattice constants, energies and volumes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from anodefree.analysis.queries import PropertyRow, register_family

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from anodefree.analysis.documents.bulk import BulkPhase, BulkReferenceDocument


def _phases_named(systems: Sequence[str]) -> dict[str, Any]:
    """Select documents holding one of the phases (the phase name is the system)."""
    return {"$or": [{f"output.phases.{name}": {"$exists": True}} for name in systems]}


def _phase_rows(phase: BulkPhase) -> Iterator[PropertyRow]:
    from anodefree.analysis.references import EXPERIMENTAL_LATTICE

    experiment = EXPERIMENTAL_LATTICE.get(phase.phase, {})
    common: dict[str, Any] = {
        "system": phase.phase,
        "parameters": {
            "phase": phase.phase,
            "formula": phase.formula,
            "space_group": phase.space_group,
        },
        "flagged": not phase.converged,
        "note": "" if phase.converged else "NOT CONVERGED",
        "job_ids": (phase.job_uuid,) if phase.job_uuid else (),
    }
    where = f"({phase.phase}, {phase.space_group})"
    for axis, value, measured in (
        ("a", phase.a, phase.a_experiment),
        ("c", phase.c, phase.c_experiment),
    ):
        if value is None:
            continue
        yield PropertyRow(
            quantity=f"lattice_{axis}",
            value=value,
            unit="A",
            label=f"{axis} {where}",
            reference=measured,
            reference_source=experiment[axis].source
            if measured is not None and axis in experiment
            else None,
            **common,
        )
    for quantity, value, unit, text in (
        ("energy_per_atom", phase.energy_per_atom, "eV/atom", "energy per atom"),
        ("energy_per_formula_unit", phase.energy_per_formula_unit, "eV", "energy per f.u."),
        ("volume_per_atom", phase.volume_per_atom, "A^3", "volume per atom"),
    ):
        yield PropertyRow(
            quantity=quantity, value=value, unit=unit, label=f"{text} {where}", **common
        )


@register_family(
    "bulk",
    "BulkReferenceDocument",
    system_field=_phases_named,
    description="relaxed reference phases: a, c, energy per atom and formula unit, volume",
)
def bulk_rows(document: BulkReferenceDocument) -> Iterator[PropertyRow]:
    """One row per lattice constant, energy and volume of each phase (system = phase)."""
    for phase in document.phases.values():
        yield from _phase_rows(phase)
