"""Report sections of the validation stage and of the calculator comparison."""

from __future__ import annotations

from typing import TYPE_CHECKING

from anodefree.analysis.report import ReportRow, Section, register_section

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from anodefree.analysis.comparison import ComparisonDocument
    from anodefree.analysis.documents.validation import (
        ConvergenceStudyDocument,
        FormationEnergyDocument,
    )


@register_section("ConvergenceStudyDocument")
def convergence_section(
    documents: Sequence[ConvergenceStudyDocument], figure_dir: Path | None
) -> Section:
    """Show the convergence tables, the campaign's settings against them, and a figure."""
    section = Section(title="Convergence of the DFT settings (k-points, cutoff)", order=5)
    for doc in documents:
        calc = doc.calculator.label
        for table in doc.tables:
            section.text.append(table.to_markdown())
        for check in doc.checks:
            value = check.campaign_value
            shown = "x".join(map(str, value)) if isinstance(value, tuple | list) else value
            section.rows.append(
                ReportRow(
                    section=section.title,
                    quantity=f"{check.quantity}: error at the campaign's {check.setting} = {shown}",
                    value=check.difference,
                    unit=check.unit,
                    calculator=calc,
                    note=(
                        "campaign value not scanned"
                        if check.within_tolerance is None
                        else "within tolerance"
                        if check.within_tolerance
                        else "OUTSIDE tolerance"
                    ),
                    flagged=check.within_tolerance is False,
                )
            )
        section.text.append(f"All scans: {doc.wall_time:.0f} s wall time.")
        section.warnings += doc.warnings
        if figure_dir is not None and doc.tables:
            from anodefree.analysis.plotting.validation import plot_convergence_study

            path = plot_convergence_study(doc, figure_dir / "convergence_study.png")
            section.figures.append(f"{path.parent.name}/{path.name}")
    return section


@register_section("FormationEnergyDocument")
def formation_energy_section(
    documents: Sequence[FormationEnergyDocument], figure_dir: Path | None
) -> Section:
    """List the formation energies of ordered compounds against the elemental references."""
    del figure_dir
    section = Section(title="Compound formation energies", order=15)
    for doc in documents:
        section.rows.append(
            ReportRow(
                section=section.title,
                quantity=f"E_form {doc.compound} ({doc.prototype})",
                value=doc.formation_energy_per_atom,
                unit="eV/atom",
                calculator=doc.calculator.label,
                note=", ".join(f"{s}: {label}" for s, label in doc.reference_phases.items()),
                flagged=doc.flagged,
            )
        )
        if doc.lattice_constant is not None:
            section.rows.append(
                ReportRow(
                    section=section.title,
                    quantity=f"a {doc.compound} ({doc.prototype})",
                    value=doc.lattice_constant,
                    unit="A",
                    calculator=doc.calculator.label,
                    flagged=doc.flagged,
                )
            )
        section.warnings += doc.warnings
    return section


@register_section("ComparisonDocument")
def comparison_section(documents: Sequence[ComparisonDocument], figure_dir: Path | None) -> Section:
    """Show each property by every calculator beside the published value, with differences."""
    del figure_dir
    section = Section(title="Calculators compared (finished quantities only)", order=1)
    for doc in documents:
        section.text.append(
            "Every value is derived from energies of one calculator; the table compares "
            "finished quantities only. Differences are column minus reference (absolute, "
            "and in % of |reference|); missing values are shown as missing."
        )
        section.text.append(doc.to_markdown())
        for row in doc.rows:
            for column in doc.columns:
                item = row.values[column]
                versus = row.difference(column, "published") if row.published is not None else None
                note = item.note
                if versus is not None and versus.absolute is not None:
                    pct = f" ({versus.percent:+.0f}%)" if versus.percent is not None else ""
                    note = f"{note}; vs published {versus.absolute:+.4f}{pct}".lstrip("; ")
                section.rows.append(
                    ReportRow(
                        section=section.title,
                        quantity=f"{row.quantity} [{column}]",
                        value=item.value,
                        unit=row.unit,
                        calculator=item.label,
                        reference=row.published,
                        reference_source=(
                            f"{row.published_kind}: {row.published_source}"
                            if row.published is not None
                            else None
                        ),
                        note=note,
                        flagged=item.flagged,
                    )
                )
        section.warnings += doc.warnings
    return section
