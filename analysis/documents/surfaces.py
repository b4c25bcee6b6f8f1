"""Surface energies of symmetric slabs over a thickness series.

gamma(n) = (E_slab(n) - N(n) e_bulk) / (2 A), with e_bulk the energy per atom of the bulk
relaxed with the same calculator and settings, A the area of one face and N the atoms of
the slab. The series is converged when the two thickest slabs differ by at most
:data:`THICKNESS_TOLERANCE`; the reported value is that of the thickest slab.

A second estimate of the bulk energy, the slope of E_slab against N over the series
(Fiorentini and Methfessel, J. Phys.: Condens. Matter 8, 6525 (1996)), is recorded as a
check: when it differs from e_bulk, gamma(n) drifts linearly with thickness.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel, Field

from anodefree.analysis.documents.common import common_calculator, convergence_warnings
from anodefree.analysis.energetics import EV_PER_A2_TO_J_PER_M2, surface_energy
from anodefree.provenance import CalculatorProvenance

if TYPE_CHECKING:
    from collections.abc import Sequence

    from anodefree.analysis.documents.calculation import CalculationResult

#: Thickness convergence asked of a surface energy (J/m^2).
THICKNESS_TOLERANCE = 0.02


def _uuid(result: CalculationResult) -> str | None:
    return result.source_job_uuid or result.job_uuid


def facet_label(formula: str, miller: Sequence[int]) -> str:
    """Short name of a facet, e.g. ``Li(100)`` or ``Li2S(111)`` (negative as -1)."""
    return f"{formula}({''.join(str(int(h)) for h in miller)})"


class SurfaceSlabEnergy(BaseModel):
    """One slab of the thickness series."""

    n_units: int = Field(description="Stoichiometric repeat units (layers of bcc Li, trilayers).")
    n_planes: int = Field(description="Atomic planes in the slab.")
    n_atoms: int = Field(description="Atoms in the slab cell.")
    n_fixed: int = Field(description="Atoms held fixed (central planes) during the relaxation.")
    thickness: float = Field(description="Distance between the outermost planes, A (unrelaxed).")
    energy: float = Field(description="Total energy of the relaxed slab, eV.")
    surface_energy: float = Field(description="gamma = (E_slab - N e_bulk) / (2 A), J/m^2.")
    surface_energy_ev: float = Field(description="The same gamma in eV/A^2.")
    converged: bool = Field(description="Whether the slab relaxation converged.")
    job_uuid: str | None = Field(None, description="Job that computed the slab energy.")


class SurfaceEnergyDocument(BaseModel):
    """Surface energy of one facet and termination over a thickness series."""

    schema_version: str = Field("1", description="Version of this document's schema.")
    material: str = Field(description="Phase name, e.g. 'Li' (bcc) or 'Li2S'.")
    formula: str = Field(description="Reduced formula of the bulk.")
    miller_index: tuple[int, int, int] = Field(description="Facet, conventional cell.")
    facet: str = Field(description="Facet label, e.g. 'Li(100)'.")
    termination: str = Field(description="Planes of one repeat unit from bottom to top.")
    termination_index: int = Field(description="Index in the facet's termination list.")
    area: float = Field(description="Area of one face of the slab cell, A^2.")
    vacuum: float = Field(description="Vacuum along the normal, A.")
    calculator: CalculatorProvenance = Field(description="Calculator of every energy.")
    bulk_energy_per_atom: float = Field(
        description="Energy per atom of the relaxed bulk (same calculator), eV/atom."
    )
    bulk_job_uuid: str | None = Field(None, description="Job that relaxed the bulk.")
    slabs: list[SurfaceSlabEnergy] = Field(description="The series, thinnest first.")
    surface_energy: float = Field(description="gamma of the thickest converged slab, J/m^2.")
    thickness_change: float | None = Field(
        None, description="|gamma(thickest) - gamma(next thinner)|, J/m^2."
    )
    tolerance: float = Field(THICKNESS_TOLERANCE, description="Convergence tolerance, J/m^2.")
    thickness_converged: bool = Field(
        description="Whether thickness_change <= tolerance (and every relaxation converged)."
    )
    fitted_bulk_energy_per_atom: float | None = Field(
        None,
        description="Slope of E_slab against N over the series, eV/atom (a check of the "
        "bulk reference; needs at least two slabs).",
    )
    fitted_bulk_deviation: float | None = Field(
        None, description="fitted_bulk_energy_per_atom - bulk_energy_per_atom, meV/atom."
    )
    warnings: list[str] = Field(default_factory=list, description="Unconverged inputs.")

    @classmethod
    def from_results(
        cls,
        *,
        material: str,
        miller: Sequence[int],
        termination: str,
        termination_index: int,
        area: float,
        vacuum: float,
        bulk: CalculationResult,
        slabs: Sequence[tuple[int, int, int, float, CalculationResult]],
        tolerance: float = THICKNESS_TOLERANCE,
    ) -> SurfaceEnergyDocument:
        """Build the series.

        Parameters
        ----------
        material, miller, termination, termination_index
            What the slabs are.
        area
            Area of one face, A^2.
        vacuum
            Vacuum of the slab cells, A.
        bulk
            The relaxed bulk (its energy per atom is e_bulk).
        slabs
            ``(n_units, n_planes, n_fixed, thickness, result)`` per slab.
        tolerance
            Thickness convergence tolerance, J/m^2.

        Raises
        ------
        MixedCalculatorError
            If the bulk and the slabs come from different calculators or settings.
        """
        facet = facet_label(bulk.formula, miller)
        results = [s[-1] for s in slabs]
        calculator = common_calculator([bulk, *results], f"the surface energy of {facet}")
        e_bulk = bulk.energy_per_atom
        entries = []
        for n_units, n_planes, n_fixed, thickness, result in sorted(slabs, key=lambda s: s[0]):
            gamma = surface_energy(result.energy, result.n_atoms, e_bulk, area)
            entries.append(
                SurfaceSlabEnergy(
                    n_units=n_units,
                    n_planes=n_planes,
                    n_atoms=result.n_atoms,
                    n_fixed=n_fixed,
                    thickness=thickness,
                    energy=result.energy,
                    surface_energy=gamma,
                    surface_energy_ev=gamma / EV_PER_A2_TO_J_PER_M2,
                    converged=result.converged,
                    job_uuid=_uuid(result),
                )
            )
        usable = [s for s in entries if s.converged]
        warnings = convergence_warnings([bulk, *results])
        if not usable:
            warnings.append(f"{facet}: no slab relaxation converged; values are flagged")
            usable = entries
        change = (
            abs(usable[-1].surface_energy - usable[-2].surface_energy) if len(usable) > 1 else None
        )
        if change is None:
            warnings.append(f"{facet}: a single usable slab, thickness convergence unknown")
        elif change > tolerance:
            warnings.append(
                f"{facet}: not thickness-converged, gamma changes by {change:.3f} J/m^2 between "
                f"the two thickest slabs (tolerance {tolerance} J/m^2)"
            )
        fit = fitted = None
        if len(entries) > 1:
            n = np.array([s.n_atoms for s in entries], dtype=float)
            e = np.array([s.energy for s in entries])
            fit = float(np.polyfit(n, e, 1)[0])
            fitted = 1000 * (fit - e_bulk)
        return cls(
            material=material,
            formula=bulk.formula,
            miller_index=tuple(int(h) for h in miller),
            facet=facet,
            termination=termination,
            termination_index=termination_index,
            area=area,
            vacuum=vacuum,
            calculator=calculator,
            bulk_energy_per_atom=e_bulk,
            bulk_job_uuid=_uuid(bulk),
            slabs=entries,
            surface_energy=usable[-1].surface_energy,
            thickness_change=change,
            tolerance=tolerance,
            thickness_converged=change is not None
            and change <= tolerance
            and all(s.converged for s in entries[-2:])
            and bulk.converged,
            fitted_bulk_energy_per_atom=fit,
            fitted_bulk_deviation=fitted,
            warnings=warnings,
        )
