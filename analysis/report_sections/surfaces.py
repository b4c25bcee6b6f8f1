"""Report section of the surface-energy thickness series."""

from __future__ import annotations

from typing import TYPE_CHECKING

from anodefree.analysis.report import ReportRow, Section, register_section

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from anodefree.analysis.documents.surfaces import SurfaceEnergyDocument

#: Order-of-magnitude scale of the Li surface energy (../shared/science.md), J/m^2.
LI_SCALE = (0.5, "approx. scale of Li (science.md)")


@register_section("SurfaceEnergyDocument")
def surfaces_section(
    documents: Sequence[SurfaceEnergyDocument], figure_dir: Path | None
) -> Section:
    """Surface energy per slab thickness and the converged value of each facet."""
    section = Section(title="Surface energies", order=35)
    section.text.append(
        "gamma = (E_slab - N e_bulk) / (2 A), relaxed symmetric stoichiometric slabs, e_bulk "
        "of the bulk relaxed with the same calculator; converged when the two thickest slabs "
        "differ by at most the tolerance. 'bulk check' is the slope of E_slab against N minus "
        "e_bulk (a drift of gamma with thickness when large)."
    )
    for doc in sorted(documents, key=lambda d: d.facet):
        calc = doc.calculator.label
        for slab in doc.slabs:
            section.rows.append(
                ReportRow(
                    section=section.title,
                    quantity=f"gamma {doc.facet}, {slab.n_units} units ({slab.n_atoms} atoms)",
                    value=slab.surface_energy,
                    unit="J/m^2",
                    calculator=calc,
                    note=f"{slab.thickness:.1f} A thick, {slab.n_fixed} atoms fixed"
                    + ("" if slab.converged else "; NOT CONVERGED"),
                    flagged=not slab.converged,
                )
            )
        change = f"{doc.thickness_change:.3f}" if doc.thickness_change is not None else "n/a"
        verdict = "converged" if doc.thickness_converged else "NOT converged"
        check = (
            f"; bulk check {doc.fitted_bulk_deviation:+.2f} meV/atom"
            if doc.fitted_bulk_deviation is not None
            else ""
        )
        reference = LI_SCALE if doc.formula == "Li" else None
        section.rows.append(
            ReportRow(
                section=section.title,
                quantity=f"gamma {doc.facet} (thickest, {doc.termination})",
                value=doc.surface_energy,
                unit="J/m^2",
                calculator=calc,
                reference=reference[0] if reference else None,
                reference_source=reference[1] if reference else None,
                note=f"{verdict}: |gamma(n) - gamma(n-1)| = {change} J/m^2 (tolerance "
                f"{doc.tolerance} J/m^2); area {doc.area:.2f} A^2{check}",
                flagged=not doc.thickness_converged,
            )
        )
        section.warnings += doc.warnings
    if figure_dir is not None and documents:
        from anodefree.analysis.plotting.surfaces import plot_surface_series

        path = plot_surface_series(documents, figure_dir / "surface_energy_series.png")
        section.figures.append(f"{path.parent.name}/{path.name}")
    return section
