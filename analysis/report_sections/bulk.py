"""Report section of the bulk reference phases."""

from __future__ import annotations

from typing import TYPE_CHECKING

from anodefree.analysis.references import EXPERIMENTAL_LATTICE
from anodefree.analysis.report import ReportRow, Section, register_section

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from anodefree.analysis.documents.bulk import BulkReferenceDocument


@register_section("BulkReferenceDocument")
def bulk_section(documents: Sequence[BulkReferenceDocument], figure_dir: Path | None) -> Section:  # noqa: ARG001
    """Lattice constants beside experiment, and energies per atom."""
    section = Section(title="Bulk reference phases", order=10)
    for doc in documents:
        calc = doc.calculator.label
        for phase in doc.phases.values():
            flag = not phase.converged
            note = "NOT CONVERGED; " if flag else ""
            ref = EXPERIMENTAL_LATTICE.get(phase.phase, {})
            if phase.a_deviation_percent is not None:
                note += f"{phase.a_deviation_percent:+.2f}% vs exp."
            section.rows.append(
                ReportRow(
                    section=section.title,
                    quantity=f"a ({phase.phase}, {phase.space_group})",
                    value=phase.a,
                    unit="A",
                    calculator=calc,
                    reference=phase.a_experiment,
                    reference_source=ref["a"].source if "a" in ref else None,
                    note=note,
                    flagged=flag,
                )
            )
            if phase.c is not None:
                c_note = ""
                if phase.c_experiment:
                    c_dev = 100 * (phase.c - phase.c_experiment) / phase.c_experiment
                    c_note = f"{c_dev:+.2f}% vs exp."
                section.rows.append(
                    ReportRow(
                        section=section.title,
                        quantity=f"c ({phase.phase}, {phase.space_group})",
                        value=phase.c,
                        unit="A",
                        calculator=calc,
                        reference=phase.c_experiment,
                        reference_source=ref["c"].source if "c" in ref else None,
                        note=c_note,
                        flagged=flag,
                    )
                )
        for phase in doc.phases.values():
            section.rows.append(
                ReportRow(
                    section=section.title,
                    quantity=f"energy per atom ({phase.phase})",
                    value=phase.energy_per_atom,
                    unit="eV/atom",
                    calculator=calc,
                    flagged=not phase.converged,
                )
            )
        section.warnings += doc.warnings
    return section
