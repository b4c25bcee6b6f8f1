"""Report section of the mesoscale step: KMC contact loss per system, the continuum map."""

from __future__ import annotations

from typing import TYPE_CHECKING

from anodefree.analysis.report import ReportRow, Section, register_section

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from anodefree.analysis.documents.mesoscale import MesoscaleDocument

#: Capacities (fractions of the run's last sample) shown in the table.
TABLE_FRACTIONS = (0.25, 0.5, 0.75, 1.0)


def _table(document: MesoscaleDocument) -> str:
    """Markdown table: contact fraction and voids of every system at a few capacities."""
    header = (
        "| system | " + " | ".join(f"{int(100 * f)}% of the run" for f in TABLE_FRACTIONS) + " |"
    )
    lines = [header, "|---|" + "---:|" * len(TABLE_FRACTIONS)]
    for curve in document.systems:
        cells = []
        for fraction in TABLE_FRACTIONS:
            k = min(len(curve.capacity) - 1, round(fraction * (len(curve.capacity) - 1)))
            cells.append(
                f"{curve.capacity[k]:.2e} mAh/cm^2: contact {curve.contact_fraction[k]:.3f}, "
                f"{curve.n_voids[k]} voids"
            )
        lines.append(f"| {curve.system} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


@register_section("MesoscaleDocument")
def mesoscale_section(documents: Sequence[MesoscaleDocument], figure_dir: Path | None) -> Section:
    """Contact fraction and voids versus capacity, mechanisms, and the continuum map."""
    document = documents[-1]
    section = Section(title="Mesoscale: stripping KMC and current constriction", order=90)
    calc = document.calculator.label
    section.text.append(
        f"Kinetic Monte Carlo of stripping from the run's exports ({calc}), every system at "
        f"{document.current_density:g} mA/cm^2 and {document.temperature:g} K on a "
        f"{document.kmc_settings['nx']} x {document.kmc_settings['ny']} x "
        f"{document.kmc_settings['n_layers']} bcc slab (stripping rate x "
        f"{document.kmc_settings['acceleration']:g}, seed {document.kmc_settings['seed']})."
    )
    section.text.append(_table(document))
    for curve in document.systems:
        section.text.append("\n".join(f"- {line}" for line in curve.mechanism))
        flagged = not curve.completed or any("FLAGGED" in a for a in curve.assumptions)
        for quantity, value, unit in (
            ("contact fraction of L1 at the end", curve.final_contact, "-"),
            ("interfacial voids at the end", float(curve.n_voids[-1]), "count"),
            ("stripped capacity", curve.capacity[-1], "mAh/cm^2"),
        ):
            section.rows.append(
                ReportRow(
                    section=section.title,
                    quantity=f"{curve.system}: {quantity}",
                    value=value,
                    unit=unit,
                    calculator=calc,
                    note=f"{curve.stop_reason}; export {curve.export_fingerprint}",
                    flagged=flagged,
                )
            )
    continuum = document.continuum
    if continuum is not None:
        widths = continuum.island_widths
        for crossing in continuum.crossings:
            if crossing.metric != "eta_island_max":
                continue
            for k in sorted({0, len(widths) - 1}):
                section.rows.append(
                    ReportRow(
                        section=section.title,
                        quantity=f"critical current, {crossing.label} onset "
                        f"{crossing.onset:.3f} V, {widths[k]:.3g} um island",
                        value=crossing.critical_current_density[k],
                        unit="mA/cm^2",
                        calculator="continuum model",
                        note=f"onset: {crossing.source}; island-edge overpotential",
                    )
                )
        section.text.append(
            "Continuum map: above a critical-current line the island-edge overpotential "
            "exceeds that alloy's delithiation onset and the interlayer releases Li. Onsets: "
            + "; ".join(
                f"{o.display_label} {o.onset:.3f} V ({o.source.summary})"
                for o in continuum.parameters.onsets
            )
            + "."
        )
    section.warnings += document.warnings
    if figure_dir is not None:
        from anodefree.analysis.plotting.mesoscale import plot_stripping

        path = plot_stripping(document, figure_dir / "mesoscale_stripping.png")
        section.figures.append(f"{path.parent.name}/{path.name}")
        if continuum is not None:
            from anodefree.analysis.plotting.continuum import plot_overpotential_map

            path = plot_overpotential_map(continuum, figure_dir / "mesoscale_continuum_map.png")
            section.figures.append(f"{path.parent.name}/{path.name}")
    return section
