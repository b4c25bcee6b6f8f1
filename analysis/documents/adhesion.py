"""Work of adhesion, wetting angle and the scans behind them, for one metal | substrate cell.

Definitions (see ../shared/science.md), with every energy from one calculator and settings:

- W_ad = (E_film + E_substrate - E_interface) / (n_interfaces * A), with the isolated film
  and substrate slabs strained exactly as in the interface cell (the interface's own atoms
  in the interface's own lattice), A the interface area.
- *ideal* W_ad: the rigid interface at the best registry and separation of the scans and
  the unrelaxed slabs (static energies);
- *relaxed* W_ad: the relaxed interface against the separately relaxed slabs (positions
  relaxed at the interface's cell, the same fixed substrate planes);
- Young-Dupre: cos(theta) = W_ad / gamma_metal - 1, with gamma_metal the metal's own surface
  energy of the facet that faces the substrate; theta > 90 deg is lithiophobic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_serializer, field_validator
from pymatgen.core import Structure

from anodefree.analysis.documents.common import common_calculator, convergence_warnings
from anodefree.analysis.documents.surfaces import SurfaceEnergyDocument, facet_label
from anodefree.analysis.energetics import surface_energy, wetting_angle, work_of_adhesion
from anodefree.provenance import CalculatorProvenance, require_same_calculator
from anodefree.structures.interfaces import InterfaceRecord

if TYPE_CHECKING:
    from collections.abc import Sequence

    from anodefree.analysis.documents.calculation import CalculationResult

#: Above this angle (deg) the metal does not wet the substrate.
LITHIOPHOBIC_ABOVE = 90.0


def _uuid(result: CalculationResult | None) -> str | None:
    if result is None:
        return None
    return result.source_job_uuid or result.job_uuid


class ScanPoint(BaseModel):
    """One rigid (static) interface of a registry or separation scan."""

    shift_fractional: tuple[float, float] = Field(
        description="In-plane film translation, fractional coordinates of the interface cell."
    )
    shift: tuple[float, float] = Field(description="The same translation (x, y), A.")
    grid_index: tuple[int, int] | None = Field(
        None, description="Position on the registry grid (i, j), registry scans only."
    )
    separation: float = Field(description="Interfacial separation, A.")
    energy: float = Field(description="Static energy of the interface cell, eV.")
    relative_energy: float = Field(description="energy - lowest energy of the scan, eV.")
    job_uuid: str | None = Field(None, description="Job of this energy (scans run as jobs).")


class RigidScan(BaseModel):
    """A registry or separation scan of rigid interfaces (static energies)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    schema_version: str = Field("1", description="Version of this document's schema.")
    kind: Literal["registry", "separation"] = Field(description="What was scanned.")
    system: str = Field(description="Interface system, e.g. 'Li/Li2S'.")
    placement: str = Field(description="Solute placement ('pure', 'L1', 'interior').")
    calculator: CalculatorProvenance = Field(description="Calculator of every energy.")
    mode: Literal["direct", "jobs"] = Field(
        description="'direct': energies from the engine's ASE calculator inside this job; "
        "'jobs': one cached static calculation job per point."
    )
    n_atoms: int = Field(description="Atoms in each interface cell.")
    grid: tuple[int, int] | None = Field(None, description="Registry grid (n_a, n_b).")
    grid_cell: str | None = Field(
        None, description="Primitive cell the registry grid spans ('film' or 'substrate')."
    )
    grid_vectors: tuple[tuple[float, float], tuple[float, float]] | None = Field(
        None, description="In-plane vectors of that primitive cell (rows, A, interface frame)."
    )
    points: list[ScanPoint] = Field(description="The scanned interfaces.")
    best_index: int = Field(description="Index of the lowest-energy point.")
    best_shift_fractional: tuple[float, float] = Field(
        description="Registry chosen from this scan, fractional coordinates."
    )
    best_separation: float = Field(
        description="Separation chosen, A (refined by a parabola through the lowest point "
        "and its neighbours for separation scans when they bracket a minimum)."
    )
    refined: bool = Field(
        default=False, description="Whether best_separation comes from the parabola."
    )
    cache_key: str | None = Field(None, description="Identity of the scan (structures, calc).")
    reused: bool = Field(default=False, description="Taken from the store, not recomputed.")
    job_uuid: str | None = Field(None, description="Job that ran or collected the scan.")
    wall_time: float | None = Field(None, description="Wall time of the scan, s.")

    @property
    def energies(self) -> list[float]:
        """Energies of the points, eV."""
        return [p.energy for p in self.points]


def refine_minimum(x: Sequence[float], y: Sequence[float]) -> tuple[float, bool]:
    """Minimum of a sampled curve: parabola through the lowest point and its neighbours.

    Returns
    -------
    tuple
        (x at the minimum, refined). Not refined (the lowest sample is returned) when the
        lowest point is at either end of the samples or the parabola opens downwards.
    """
    order = np.argsort(np.asarray(x, dtype=float))
    xs, ys = np.asarray(x, float)[order], np.asarray(y, float)[order]
    k = int(np.argmin(ys))
    if k == 0 or k == len(xs) - 1:
        return float(xs[k]), False
    a, b, _ = np.polyfit(xs[k - 1 : k + 2], ys[k - 1 : k + 2], 2)
    if a <= 0:
        return float(xs[k]), False
    x_min = float(-b / (2 * a))
    return float(np.clip(x_min, xs[k - 1], xs[k + 1])), True


class EnergyEntry(BaseModel):
    """One energy that enters the work of adhesion."""

    label: str = Field(description="Calculation label.")
    kind: Literal["static", "relax_positions", "relax_full"] = Field(
        description="Static energy or relaxation."
    )
    energy: float = Field(description="Total energy, eV.")
    n_atoms: int = Field(description="Atoms in the cell.")
    converged: bool = Field(description="Whether the calculation converged.")
    max_force: float | None = Field(None, description="Largest residual force, eV/A.")
    n_ionic_steps: int | None = Field(None, description="Ionic steps taken.")
    job_uuid: str | None = Field(None, description="Job that computed the energy.")

    @classmethod
    def of(cls, result: CalculationResult) -> EnergyEntry:
        """Summarise a calculation."""
        return cls(
            label=result.label,
            kind=result.task.kind,
            energy=result.energy,
            n_atoms=result.n_atoms,
            converged=result.converged,
            max_force=result.max_force,
            n_ionic_steps=result.n_ionic_steps,
            job_uuid=_uuid(result),
        )


class SeparationPoint(BaseModel):
    """The separation curve: interface energy and rigid adhesion energy at one separation."""

    separation: float = Field(description="Interfacial separation, A.")
    energy: float = Field(description="Static energy of the rigid interface, eV.")
    adhesion_energy: float = Field(
        description="(E_film + E_substrate - E_interface(d)) / A with unrelaxed slabs, J/m^2."
    )


class AdhesionDocument(BaseModel):
    """Work of adhesion (ideal and relaxed), wetting angle and verdict of one interface."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    schema_version: str = Field("1", description="Version of this document's schema.")
    system: str = Field(description="Interface system, e.g. 'Li-Mg/Li2S'.")
    placement: str = Field(
        description="Solute placement: 'pure', or 'L<n>' / 'interior' (metal layer)."
    )
    calculator: CalculatorProvenance = Field(description="Calculator of every energy.")
    interface: InterfaceRecord = Field(
        description="The interface cell: match, terminations, strains, sizes, solutes, "
        "registry and separation of the relaxed starting point."
    )
    film_facet: str = Field(description="Metal facet facing the substrate, e.g. 'Li(100)'.")
    substrate_facet: str = Field(description="Substrate facet, e.g. 'Li2S(111)'.")
    film_termination: str = Field(description="Film termination (planes of one unit).")
    substrate_termination: str = Field(description="Substrate termination.")
    film_facing_plane: str = Field(description="Film plane at the interface (per cell).")
    substrate_facing_plane: str = Field(description="Substrate plane at the interface.")
    area: float = Field(description="Interface area, A^2.")
    n_interfaces: int = Field(description="Interfaces in the cell (1: vacuum design).")
    film_strain_percent: tuple[float, float] = Field(
        description="Principal in-plane strains of the film (metal), %."
    )
    film_strain_max_percent: float = Field(description="Largest |principal film strain|, %.")
    substrate_strain_percent: tuple[float, float] = Field(
        description="Principal in-plane strains of the substrate, %."
    )
    n_atoms: int = Field(description="Atoms in the interface cell.")
    n_atoms_film: int = Field(description="Film atoms (solutes included).")
    n_atoms_substrate: int = Field(description="Substrate atoms.")
    n_film_layers: int = Field(description="Atomic layers of the metal film.")
    n_fixed: int = Field(description="Substrate atoms held fixed in the relaxations.")
    solutes: dict[str, int] = Field(
        default_factory=dict, description="Solute atoms by metal layer label (e.g. {'L1': 2})."
    )
    solute_fraction_percent: float = Field(0.0, description="Solute atoms per film atom, at.%.")
    registry_scan: RigidScan = Field(description="Rigid registry scan at a fixed separation.")
    separation_scan: RigidScan = Field(description="Rigid separation scan at the best registry.")
    separation_curve: list[SeparationPoint] = Field(
        description="Energy and rigid adhesion energy against separation (empty when the "
        "scans are another placement's: their energies are of another cell)."
    )
    scan_placement: str = Field(
        description="Placement whose scans chose the registry and separation (this one, or "
        "'pure' when a solute placement shares the pure interface's scans)."
    )
    registry_shift_fractional: tuple[float, float] = Field(
        description="Registry used (best of the registry scan), fractional coordinates."
    )
    registry_shift: tuple[float, float] = Field(description="The same registry (x, y), A.")
    best_separation: float = Field(description="Separation of the rigid best interface, A.")
    relaxed_separation: float | None = Field(
        None,
        description="Mean height of the film's first layer above the substrate's outermost "
        "plane after relaxation, A.",
    )
    max_displacement: float | None = Field(
        None, description="Largest atomic displacement during the interface relaxation, A."
    )
    energies: dict[str, EnergyEntry] = Field(
        description="Energies used: interface/film/substrate, rigid (static) and relaxed."
    )
    w_ad_ideal: float = Field(
        description="Ideal W_ad: rigid best interface, unrelaxed slabs, J/m^2."
    )
    w_ad_relaxed: float | None = Field(
        None, description="Relaxed W_ad: relaxed interface, relaxed slabs, J/m^2."
    )
    relaxed_converged: bool = Field(
        description="Whether the three relaxations behind w_ad_relaxed converged."
    )
    gamma_metal: float | None = Field(
        None, description="Metal surface energy of film_facet used in Young-Dupre, J/m^2."
    )
    gamma_metal_source: str = Field(
        "", description="Where gamma_metal comes from (thickness series, converged or not)."
    )
    gamma_metal_converged: bool = Field(
        default=False, description="Whether gamma_metal's thickness series converged."
    )
    gamma_metal_strained: float | None = Field(
        None,
        description="Surface energy of the relaxed strained film slab of this cell against "
        "unstrained bulk metal, J/m^2 (pure films only; includes the film's elastic energy).",
    )
    theta: float | None = Field(
        None, description="Young-Dupre wetting angle from the relaxed W_ad and gamma_metal, deg."
    )
    theta_ideal: float | None = Field(
        None, description="Wetting angle from the ideal W_ad and gamma_metal, deg."
    )
    theta_strained: float | None = Field(
        None, description="Wetting angle from the relaxed W_ad and gamma_metal_strained, deg."
    )
    theta_basis: Literal["relaxed", "ideal"] | None = Field(
        None, description="Which W_ad theta comes from ('ideal' only when the relaxed failed)."
    )
    verdict: Literal["lithiophobic", "lithiophilic"] | None = Field(
        None, description=f"theta > {LITHIOPHOBIC_ABOVE:g} deg: lithiophobic."
    )
    film_indices: list[int] = Field(description="Film (metal) site indices of the interface.")
    substrate_indices: list[int] = Field(description="Substrate site indices.")
    relaxed_structure: Structure | None = Field(
        None, description="The relaxed interface (lengths in A)."
    )
    job_uuids: dict[str, str | None] = Field(
        default_factory=dict, description="Job of every energy, by role."
    )
    converged: bool = Field(
        description="Every calculation converged and the gamma_metal series converged."
    )
    warnings: list[str] = Field(default_factory=list, description="Unconverged/failed inputs.")

    @field_serializer("relaxed_structure", when_used="json")
    def _structure_as_dict(self, value: Structure | None) -> dict | None:
        return None if value is None else value.as_dict()

    @field_validator("relaxed_structure", mode="before")
    @classmethod
    def _structure_from_dict(cls, value: object) -> object:
        return Structure.from_dict(value) if isinstance(value, dict) else value

    @property
    def flagged(self) -> bool:
        """Whether any number of this document rests on an unconverged or failed input."""
        return not self.converged or bool(self.warnings)

    @classmethod
    def from_results(
        cls,
        *,
        system: str,
        placement: str,
        record: InterfaceRecord,
        film_indices: Sequence[int],
        substrate_indices: Sequence[int],
        registry_scan: RigidScan,
        separation_scan: RigidScan,
        rigid_interface: CalculationResult,
        film_static: CalculationResult,
        substrate_static: CalculationResult,
        relaxed_interface: CalculationResult | None,
        relaxed_film: CalculationResult | None,
        relaxed_substrate: CalculationResult | None,
        metal_surface: SurfaceEnergyDocument | None,
        metal_bulk: CalculationResult | None = None,
        first_layer: Sequence[int] = (),
        substrate_top: Sequence[int] = (),
    ) -> AdhesionDocument:
        """Compute W_ad (ideal, relaxed), the wetting angles and the verdict.

        Parameters
        ----------
        system, placement
            Names.
        record
            Record of the rigid best interface (its registry and separation).
        film_indices, substrate_indices
            Sites of the film and the substrate in the interface.
        registry_scan, separation_scan
            The rigid scans.
        rigid_interface, film_static, substrate_static
            Static energies of the rigid best interface and its two unrelaxed slabs.
        relaxed_interface, relaxed_film, relaxed_substrate
            The relaxations (None when failed).
        metal_surface
            Surface-energy series of the film's facet (gamma_metal), or None.
        metal_bulk
            The relaxed bulk metal, for the strained-film surface energy (pure films).
        first_layer, substrate_top
            Sites of the film's first layer and of the substrate's outermost plane, for
            the relaxed separation.

        Raises
        ------
        MixedCalculatorError
            If any two energies (scans, interface, slabs, bulk metal, gamma_metal) come
            from different calculators or settings.
        """
        relaxed = [relaxed_interface, relaxed_film, relaxed_substrate]
        used = [rigid_interface, film_static, substrate_static, *(r for r in relaxed if r)]
        if metal_bulk is not None:
            used.append(metal_bulk)
        quantity = f"the work of adhesion of {system} ({placement})"
        calculator = common_calculator(used, quantity)
        others = [registry_scan.calculator, separation_scan.calculator]
        if metal_surface is not None:
            others.append(metal_surface.calculator)
        require_same_calculator([calculator, *others], quantity)

        area = record.area * record.n_interfaces
        ideal = work_of_adhesion(
            film_static.energy, substrate_static.energy, rigid_interface.energy, area
        )
        warnings = convergence_warnings(used)
        failed = [
            name
            for name, r in zip(("interface", "film slab", "substrate slab"), relaxed, strict=True)
            if r is None
        ]
        w_relaxed = None
        if failed:
            warnings.append(f"relaxation failed ({', '.join(failed)}): no relaxed W_ad")
        else:
            w_relaxed = work_of_adhesion(
                relaxed_film.energy, relaxed_substrate.energy, relaxed_interface.energy, area
            )
        relaxed_ok = not failed and all(r.converged for r in relaxed if r)
        film_facet = facet_label(record.film_formula, record.film_miller)
        gamma = _gamma_metal(metal_surface, film_facet, quantity, warnings)
        strained = None
        if (
            metal_bulk is not None
            and relaxed_film is not None
            and not record.solutes
            and relaxed_film.formula == metal_bulk.formula
        ):
            # Both faces of the isolated film are the film facet (L1 face and free face).
            strained = surface_energy(
                relaxed_film.energy, relaxed_film.n_atoms, metal_bulk.energy_per_atom, record.area
            )
        wetting = _wetting(ideal, w_relaxed, gamma[0], strained, relaxed_ok=relaxed_ok)
        warnings += wetting.pop("warnings")
        geometry = _relaxation_geometry(
            rigid_interface, relaxed_interface, first_layer, substrate_top
        )
        solutes: dict[str, int] = {}
        for s in record.solutes:
            solutes[f"L{s.layer}"] = solutes.get(f"L{s.layer}", 0) + 1
        energies = {
            "interface_rigid": EnergyEntry.of(rigid_interface),
            "film_static": EnergyEntry.of(film_static),
            "substrate_static": EnergyEntry.of(substrate_static),
        }
        for name, r in zip(
            ("interface_relaxed", "film_relaxed", "substrate_relaxed"), relaxed, strict=True
        ):
            if r is not None:
                energies[name] = EnergyEntry.of(r)
        job_uuids = _job_ids(energies, metal_bulk, metal_surface, registry_scan, separation_scan)
        shared = separation_scan.placement != placement
        curve = (
            []
            if shared
            else [
                SeparationPoint(
                    separation=p.separation,
                    energy=p.energy,
                    adhesion_energy=work_of_adhesion(
                        film_static.energy, substrate_static.energy, p.energy, area
                    ),
                )
                for p in sorted(separation_scan.points, key=lambda p: p.separation)
            ]
        )
        converged = all(r.converged for r in used) and relaxed_ok and gamma[2]
        return cls(
            system=system,
            placement=placement,
            calculator=calculator,
            interface=record,
            film_facet=film_facet,
            substrate_facet=facet_label(record.substrate_formula, record.substrate_miller),
            film_termination=record.film_termination.label,
            substrate_termination=record.substrate_termination.label,
            film_facing_plane=record.film_facing_plane,
            substrate_facing_plane=record.substrate_facing_plane,
            area=record.area,
            n_interfaces=record.n_interfaces,
            film_strain_percent=record.film_strain_percent,
            film_strain_max_percent=record.match.film_strain.max_abs_percent,
            substrate_strain_percent=record.substrate_strain_percent,
            n_atoms=record.n_atoms,
            n_atoms_film=record.n_atoms_film,
            n_atoms_substrate=record.n_atoms_substrate,
            n_film_layers=record.n_film_layers,
            n_fixed=len(record.fixed_indices),
            solutes=solutes,
            solute_fraction_percent=record.solute_fraction_percent,
            registry_scan=registry_scan,
            separation_scan=separation_scan,
            separation_curve=curve,
            scan_placement=separation_scan.placement,
            registry_shift_fractional=record.registry_shift_fractional,
            registry_shift=record.registry_shift,
            best_separation=record.separation,
            **geometry,
            energies=energies,
            w_ad_ideal=ideal,
            w_ad_relaxed=w_relaxed,
            relaxed_converged=relaxed_ok,
            gamma_metal=gamma[0],
            gamma_metal_source=gamma[1],
            gamma_metal_converged=gamma[2],
            gamma_metal_strained=strained,
            **wetting,
            film_indices=list(film_indices),
            substrate_indices=list(substrate_indices),
            relaxed_structure=relaxed_interface.structure if relaxed_interface else None,
            job_uuids=job_uuids,
            converged=converged,
            warnings=warnings,
        )


def _gamma_metal(
    document: SurfaceEnergyDocument | None, film_facet: str, quantity: str, warnings: list[str]
) -> tuple[float | None, str, bool]:
    """Return (gamma_metal in J/m^2, its source, converged) from the metal's series."""
    if document is None:
        warnings.append(f"no gamma_metal for {film_facet}: no wetting angle")
        return None, "no surface-energy series of the metal facet given", False
    if document.facet != film_facet:
        msg = (
            f"{quantity}: gamma_metal is for {document.facet}, but the film facet facing the "
            f"substrate is {film_facet}"
        )
        raise ValueError(msg)
    converged = document.thickness_converged
    thickest = document.slabs[-1]
    source = (
        f"{film_facet} thickness series, {thickest.n_units} layers (unstrained; "
        f"{'converged' if converged else 'NOT converged'} to {document.tolerance} J/m^2)"
    )
    if not converged:
        warnings.append(f"gamma_metal: {film_facet} series not thickness-converged")
    return document.surface_energy, source, converged


def _wetting(
    ideal: float,
    relaxed: float | None,
    gamma: float | None,
    strained: float | None,
    *,
    relaxed_ok: bool,
) -> dict:
    """Wetting angles (deg), their basis and the verdict, plus warnings."""
    out: dict = {"theta": None, "theta_ideal": None, "theta_strained": None}
    out |= {"theta_basis": None, "verdict": None, "warnings": []}
    if gamma is not None and gamma > 0:
        out["theta_ideal"] = wetting_angle(ideal, gamma)
        if relaxed is not None:
            out["theta"], out["theta_basis"] = wetting_angle(relaxed, gamma), "relaxed"
            if not relaxed_ok:
                out["warnings"].append("theta rests on an unconverged relaxation")
        else:
            out["theta"], out["theta_basis"] = out["theta_ideal"], "ideal"
            out["warnings"].append("theta from the ideal (rigid) W_ad: the relaxation failed")
    if strained is not None and strained > 0 and relaxed is not None:
        out["theta_strained"] = wetting_angle(relaxed, strained)
    if out["theta"] is not None:
        out["verdict"] = "lithiophobic" if out["theta"] > LITHIOPHOBIC_ABOVE else "lithiophilic"
    return out


def _relaxation_geometry(
    rigid: CalculationResult,
    relaxed: CalculationResult | None,
    first_layer: Sequence[int],
    substrate_top: Sequence[int],
) -> dict[str, float | None]:
    """Relaxed interfacial separation and largest displacement (A)."""
    out: dict[str, float | None] = {"relaxed_separation": None, "max_displacement": None}
    if relaxed is None:
        return out
    final = relaxed.structure
    if first_layer and substrate_top:
        z = final.cart_coords[:, 2]
        out["relaxed_separation"] = float(
            z[list(first_layer)].mean() - z[list(substrate_top)].mean()
        )
    if len(final) == len(rigid.structure):
        delta = final.frac_coords - rigid.structure.frac_coords
        delta -= np.round(delta)
        out["max_displacement"] = float(np.linalg.norm(delta @ final.lattice.matrix, axis=1).max())
    return out


def _job_ids(
    energies: dict[str, EnergyEntry],
    metal_bulk: CalculationResult | None,
    metal_surface: SurfaceEnergyDocument | None,
    *scans: RigidScan,
) -> dict[str, str | None]:
    """Job of every energy behind the document, by role."""
    ids = {name: e.job_uuid for name, e in energies.items()}
    if metal_bulk is not None:
        ids["metal_bulk"] = _uuid(metal_bulk)
    if metal_surface is not None:
        ids["gamma_metal bulk"] = metal_surface.bulk_job_uuid
        for slab in metal_surface.slabs:
            ids[f"gamma_metal slab {slab.n_units}"] = slab.job_uuid
    for scan in scans:
        for i, p in enumerate(scan.points):
            ids[f"{scan.kind} scan {i}"] = p.job_uuid or scan.job_uuid
    return ids
