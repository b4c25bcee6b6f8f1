"""Metal | substrate interface cells, registry and separation scans, strained isolated slabs.

Design (one interface, vacuum): the substrate slab (Li2S, or LiAg for the metal-on-
interlayer case) sits at the bottom with its lattice kept, the metal film is strained onto
it (:mod:`anodefree.structures.lattice_match`) and stacked on top at the interfacial
``separation``, and ``vacuum`` separates the film's free surface from the substrate's
bottom face across the periodic boundary. Both free surfaces also exist in the isolated
slabs, so they cancel in

    W_ad = (E_film + E_substrate - E_interface) / (n_interfaces * A),

with ``film_slab`` and ``substrate_slab`` of :class:`InterfaceBuild` the interface cell's
own atoms in the interface's own lattice (same in-plane cell and strain, same positions),
and A = ``record.area``. ``vacuum=None`` builds a periodic sandwich instead (two
interfaces, n_interfaces = 2, the second at the same separation but with whatever registry
the slab thicknesses give).

Conventions: c is along the normal z; x is along the substrate's first primitive in-plane
vector; sites are ordered substrate first, then film, each from bottom to top; site
properties ``interface_region`` ("substrate"/"film"), ``plane`` (atomic plane within its own
slab, 0 = bottom) and ``layer`` (metal layer from the contact, 1 = L1; 0 for substrate
atoms). The registry ``shift`` is the in-plane translation of the film in fractional
coordinates of the interface cell; :meth:`InterfaceBuilder.registry_shifts` covers one
primitive cell of the (strained) film or of the substrate, which contains every distinct
registry.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from pymatgen.core import Lattice, Structure

from anodefree.errors import StructureError
from anodefree.structures.lattice_match import (
    MatchCandidate,
    MatchLimits,
    lattice_matches,
)
from anodefree.structures.layers import (
    DEFAULT_CONTACT_CUTOFF,
    REGION_PROPERTY,
    MetalLayer,
    metal_layers,
)
from anodefree.structures.orientation import OrientedBulk, orient_bulk
from anodefree.structures.slabs import SoluteSite, select_termination, spread_sites
from anodefree.structures.surface_materials import check_element
from anodefree.structures.terminations import CutRecord, TerminationRecord, stack, terminations_of

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

#: Default interfacial separation (A) between the outermost substrate plane and the film's
#: first plane: a starting guess, to be scanned (:meth:`InterfaceBuilder.separation_scan`).
DEFAULT_SEPARATION = 2.5


class SolutePlacement(BaseModel):
    """Where to substitute solute atoms into the metal film of an interface."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    element: str = Field(description="Solute element symbol, e.g. Mg or Ag.")
    layer: int | Literal["interior"] = Field(
        1,
        description="Metal layer from the contact (1 = L1, touching the substrate), or "
        "'interior' = the layer farthest from both the contact and the free surface.",
    )
    n_atoms: int | None = Field(
        None, ge=1, description="Solute atoms; when None, derived from fraction."
    )
    fraction: float = Field(
        0.03,
        gt=0,
        lt=1,
        description="Solute atoms as a fraction of the film's metal atoms (used when "
        "n_atoms is None; rounded, at least 1).",
    )
    host: str = Field("Li", description="Element replaced.")

    def __init__(self, **data: object) -> None:
        """Check the element, host and layer first, raising StructureError naming them."""
        for key in ("element", "host"):
            if key in data:
                check_element(data[key])  # type: ignore[arg-type]
        layer = data.get("layer", 1)
        if layer != "interior" and (
            isinstance(layer, bool) or not isinstance(layer, int) or layer < 1
        ):
            raise StructureError(f"solute layer must be >= 1 (1 = L1) or 'interior', got {layer!r}")
        super().__init__(**data)


class InterfaceRecord(BaseModel):
    """Everything that defines a built interface cell."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    formula: str = Field(description="Formula of the interface cell.")
    film_formula: str = Field(description="Reduced formula of the film bulk (the metal).")
    substrate_formula: str = Field(description="Reduced formula of the substrate bulk.")
    film_miller: tuple[int, int, int] = Field(description="Film facet, conventional cell.")
    substrate_miller: tuple[int, int, int] = Field(description="Substrate facet.")
    film_termination: TerminationRecord = Field(description="Film termination.")
    substrate_termination: TerminationRecord = Field(description="Substrate termination.")
    film_cut: CutRecord = Field(description="Film cut; its bottom plane faces the substrate.")
    substrate_cut: CutRecord = Field(description="Substrate cut; its top plane faces the film.")
    film_facing_plane: str = Field(description="Formula of the film plane at the interface.")
    substrate_facing_plane: str = Field(
        description="Formula of the substrate plane at the interface."
    )
    match: MatchCandidate = Field(description="The lattice match (supercells, strains, sizes).")
    area: float = Field(description="Interface area |a x b|, A^2.")
    film_strain_percent: tuple[float, float] = Field(
        description="Principal in-plane strains of the film, %."
    )
    substrate_strain_percent: tuple[float, float] = Field(
        description="Principal in-plane strains of the substrate, %."
    )
    film_units: int = Field(description="Film repeat units (metal atomic layers for bcc Li).")
    substrate_units: int = Field(description="Substrate repeat units (trilayers of Li2S(111)).")
    n_film_layers: int = Field(description="Atomic planes in the film.")
    n_atoms: int = Field(description="Atoms in the interface cell.")
    n_atoms_film: int = Field(description="Film atoms (solutes included).")
    n_atoms_substrate: int = Field(description="Substrate atoms.")
    registry_shift_fractional: tuple[float, float] = Field(
        description="In-plane film translation, fractional coordinates of the interface cell."
    )
    registry_shift: tuple[float, float] = Field(
        description="The same translation in the interface frame (x, y), A."
    )
    separation: float = Field(
        description="Distance along the normal between the substrate's outermost plane and "
        "the film's first plane, A."
    )
    design: Literal["vacuum", "sandwich"] = Field(description="Cell design (see module doc).")
    vacuum: float | None = Field(description="Vacuum above the film, A (None for a sandwich).")
    n_interfaces: int = Field(description="Interfaces in the cell (1 vacuum, 2 sandwich).")
    solutes: tuple[SoluteSite, ...] = Field(
        (), description="Solute atoms; layer = metal layer from the contact (1 = L1)."
    )
    solute_fraction_percent: float = Field(
        0.0, description="Solute atoms per film metal atom, at.%."
    )
    placements: tuple[SolutePlacement, ...] = Field((), description="Requested placements.")
    fixed_indices: tuple[int, ...] = Field(
        (), description="Sites with selective_dynamics False (bottom substrate planes)."
    )


def _contact_cutoff(separation: float) -> float:
    """Gap (A) below which a film layer counts as touching the substrate."""
    return max(DEFAULT_CONTACT_CUTOFF, separation + 0.5)


@dataclass(frozen=True)
class InterfaceBuild:
    """An interface cell, the two isolated slabs strained exactly as in it, and its record.

    ``film_slab`` and ``substrate_slab`` have the interface's lattice and the interface's
    own film / substrate sites (same positions, solutes included), so
    W_ad = (E_film_slab + E_substrate_slab - E_interface) / (n_interfaces * area).
    """

    structure: Structure
    film_slab: Structure
    substrate_slab: Structure
    record: InterfaceRecord

    @property
    def film_indices(self) -> list[int]:
        """Film (metal) site indices in ``structure``."""
        return [
            i for i, r in enumerate(self.structure.site_properties[REGION_PROPERTY]) if r == "film"
        ]

    @property
    def substrate_indices(self) -> list[int]:
        """Substrate site indices in ``structure``."""
        return [
            i
            for i, r in enumerate(self.structure.site_properties[REGION_PROPERTY])
            if r == "substrate"
        ]

    @property
    def area(self) -> float:
        """Interface area (A^2)."""
        return self.record.area

    def layers(self, *, tol: float = 0.5) -> list[MetalLayer]:
        """Metal layers from the contact, L1 first (see :mod:`~anodefree.structures.layers`)."""
        return metal_layers(
            self.structure, tol=tol, contact_cutoff=_contact_cutoff(self.record.separation)
        )


def _supercell_atoms(
    ob: OrientedBulk, cut: CutRecord, n_units: int, supercell: np.ndarray
) -> tuple[list[str], np.ndarray, np.ndarray, list[int]]:
    """Stack a slab and replicate it into an in-plane supercell.

    Returns species, fractional in-plane coordinates of the supercell (n, 2), heights
    above the bottom plane (n,) and the plane index of each atom.
    """
    stacked = stack(ob, cut, n_units)
    lattice = Lattice([[*ob.inplane[0], 0.0], [*ob.inplane[1], 0.0], [0.0, 0.0, 1000.0]])
    primitive = Structure(
        lattice,
        stacked.species,
        stacked.positions,
        coords_are_cartesian=True,
        site_properties={"plane": stacked.planes},
    )
    scaling = np.eye(3, dtype=int)
    scaling[:2, :2] = supercell
    big = primitive * scaling
    frac = np.mod(big.frac_coords[:, :2], 1.0)
    frac[np.isclose(frac, 1.0, atol=1e-9)] = 0.0
    return (
        [site.specie.symbol for site in big],
        frac,
        big.cart_coords[:, 2],
        list(big.site_properties["plane"]),
    )


class InterfaceBuilder:
    """Builds interfaces of one film facet on one substrate facet.

    Parameters
    ----------
    film
        The metal (strained by default): a phase name (``Li``) or a bulk Structure.
    film_miller
        Film facet, conventional cell.
    substrate
        The side whose lattice is kept by default (``Li2S``, or ``LiAg`` for Li | LiAg).
    substrate_miller
        Substrate facet.
    plane_tol, symprec
        Plane clustering (A) and symmetry (A) tolerances.
    film_charges, substrate_charges
        Formal charges by element (e); guessed when omitted.

    Raises
    ------
    StructureError
        For an unknown material or element, or an invalid facet.
    """

    def __init__(
        self,
        film: str | Structure,
        film_miller: Sequence[int],
        substrate: str | Structure,
        substrate_miller: Sequence[int],
        *,
        plane_tol: float = 0.1,
        symprec: float = 0.01,
        film_charges: Mapping[str, float] | None = None,
        substrate_charges: Mapping[str, float] | None = None,
    ) -> None:
        self.film = orient_bulk(
            film, film_miller, plane_tol=plane_tol, symprec=symprec, charges=film_charges
        )
        self.substrate = orient_bulk(
            substrate, substrate_miller, plane_tol=plane_tol, symprec=symprec,
            charges=substrate_charges,
        )  # fmt: skip
        self.film_terminations = terminations_of(self.film, symprec=symprec)
        self.substrate_terminations = terminations_of(self.substrate, symprec=symprec)

    def find_matches(self, limits: MatchLimits | None = None) -> list[MatchCandidate]:
        """Ranked lattice matches within ``limits`` (:mod:`~anodefree.structures.lattice_match`).

        Raises
        ------
        StructureError
            When no match meets the limits; the message gives the smallest strain available.
        """
        return lattice_matches(self.film, self.substrate, limits)

    def _check_candidate(self, candidate: MatchCandidate) -> None:
        for name, ob, vectors in (
            ("film", self.film, candidate.film_inplane),
            ("substrate", self.substrate, candidate.substrate_inplane),
        ):
            if not np.allclose(ob.inplane, np.array(vectors), atol=1e-6):
                raise StructureError(
                    f"the candidate was computed for another {name} lattice "
                    f"({np.array(vectors).round(4).tolist()} A, here "
                    f"{ob.inplane.round(4).tolist()} A); recompute the matches"
                )
        if candidate.film_miller != self.film.miller or (
            candidate.substrate_miller != self.substrate.miller
        ):
            raise StructureError(
                f"the candidate is for {candidate.film_miller} on {candidate.substrate_miller}, "
                f"this builder for {self.film.miller} on {self.substrate.miller}"
            )

    def build(
        self,
        candidate: MatchCandidate,
        *,
        film_termination: int | None = None,
        substrate_termination: int | None = None,
        film_cut: int = 0,
        substrate_cut: int = 0,
        shift: Sequence[float] = (0.0, 0.0),
        separation: float = DEFAULT_SEPARATION,
        vacuum: float | None = 15.0,
        film_units: int | None = None,
        substrate_units: int | None = None,
        solutes: Sequence[SolutePlacement] = (),
        n_fixed_substrate_planes: int = 0,
        allow_reconstructed: bool = False,
    ) -> InterfaceBuild:
        """Build the interface cell of a candidate.

        Parameters
        ----------
        candidate
            A match of this builder (:meth:`find_matches`).
        film_termination, substrate_termination
            Termination indices (see ``film_terminations`` / ``substrate_terminations``);
            None picks the only nonpolar, stoichiometric one (error if several).
        film_cut, substrate_cut
            Which equivalent cut to use: for an asymmetric termination this selects the
            film plane facing the substrate (the cut's bottom plane) or the substrate plane
            facing the film (the cut's top plane).
        shift
            In-plane film translation, fractional coordinates of the interface cell.
        separation
            Interfacial separation along the normal (A), > 0.
        vacuum
            Vacuum above the film (A); None builds a periodic sandwich with the same
            separation at the second interface.
        film_units, substrate_units
            Repeat units; default those of the candidate.
        solutes
            Solute placements in the film (layers counted from the contact).
        n_fixed_substrate_planes
            Bottom substrate planes (far from the interface) fixed with selective dynamics.
        allow_reconstructed
            Allow half-plane (Tasker III) reconstructed terminations.

        Returns
        -------
        InterfaceBuild
            The interface, the two strained isolated slabs and the record.

        Raises
        ------
        StructureError
            For a candidate of another builder, an unusable termination, a non-positive
            separation or vacuum, or solutes that do not fit.
        """
        self._check_candidate(candidate)
        if not separation > 0:
            raise StructureError(f"separation must be positive, got {separation!r} A")
        if vacuum is not None and vacuum <= _contact_cutoff(separation):
            raise StructureError(
                f"vacuum={vacuum!r} A must exceed {_contact_cutoff(separation):g} A (the "
                f"separation {separation:g} A + 0.5 A, at least {DEFAULT_CONTACT_CUTOFF:g} A) "
                "so that the film's free surface is not taken for a second contact; or pass "
                "None for a sandwich"
            )
        shift_frac = np.array(shift, dtype=float)
        if shift_frac.shape != (2,):
            raise StructureError(f"shift must be two fractional coordinates, got {shift!r}")
        f_term = select_termination(
            self.film_terminations, film_termination, allow_asymmetric=True,
            allow_reconstructed=allow_reconstructed, allow_polar=False,
            what=f"film {self.film.formula}{self.film.miller}",
        )  # fmt: skip
        s_term = select_termination(
            self.substrate_terminations, substrate_termination, allow_asymmetric=True,
            allow_reconstructed=allow_reconstructed, allow_polar=False,
            what=f"substrate {self.substrate.formula}{self.substrate.miller}",
        )  # fmt: skip
        for name, term, k in (
            ("film_cut", f_term, film_cut),
            ("substrate_cut", s_term, substrate_cut),
        ):
            if not 0 <= k < len(term.cuts):
                raise StructureError(
                    f"{name}={k!r} does not exist: termination {term.label} has "
                    f"{len(term.cuts)} cut(s) {[(c.bottom_plane, c.top_plane) for c in term.cuts]}"
                )
        f_cut, s_cut = f_term.cuts[film_cut], s_term.cuts[substrate_cut]
        nf = film_units or candidate.film_units
        ns = substrate_units or candidate.substrate_units

        target = np.array(candidate.interface_inplane)
        s_sp, s_frac, s_z, s_planes = _supercell_atoms(
            self.substrate, s_cut, ns, np.array(candidate.substrate_supercell)
        )
        f_sp, f_frac, f_z, f_planes = _supercell_atoms(
            self.film, f_cut, nf, np.array(candidate.film_supercell)
        )
        span_s, span_f = float(np.ptp(s_z)), float(np.ptp(f_z))
        if vacuum is None:
            c_len = span_s + span_f + 2 * separation
            z0 = separation / 2
        else:
            c_len = span_s + span_f + separation + vacuum
            z0 = vacuum / 2
        lattice = Lattice([[*target[0], 0.0], [*target[1], 0.0], [0.0, 0.0, c_len]])
        s_cart = np.column_stack([s_frac @ target, s_z + z0])
        f_frac_shifted = np.mod(f_frac + shift_frac, 1.0)
        f_cart = np.column_stack([f_frac_shifted @ target, f_z + z0 + span_s + separation])
        s_order = np.lexsort((s_cart[:, 1], s_cart[:, 0], s_cart[:, 2].round(6)))
        f_order = np.lexsort((f_cart[:, 1], f_cart[:, 0], f_cart[:, 2].round(6)))
        species = [s_sp[i] for i in s_order] + [f_sp[i] for i in f_order]
        coords = np.vstack([s_cart[s_order], f_cart[f_order]])
        props = {
            REGION_PROPERTY: ["substrate"] * len(s_order) + ["film"] * len(f_order),
            "plane": [s_planes[i] for i in s_order] + [f_planes[i] for i in f_order],
        }
        structure = Structure(
            lattice, species, coords, coords_are_cartesian=True, site_properties=props
        )
        layers = metal_layers(structure, contact_cutoff=_contact_cutoff(separation))
        layer_of = {i: layer.number for layer in layers for i in layer.indices}
        structure.add_site_property("layer", [layer_of.get(i, 0) for i in range(len(structure))])

        placed = self._place_solutes(structure, layers, solutes)
        fixed = self._fix_substrate(structure, n_fixed_substrate_planes)

        film_idx = [
            i for i, r in enumerate(structure.site_properties[REGION_PROPERTY]) if r == "film"
        ]
        sub_idx = [
            i for i, r in enumerate(structure.site_properties[REGION_PROPERTY]) if r == "substrate"
        ]
        film_slab = Structure.from_sites([structure[i] for i in film_idx])
        substrate_slab = Structure.from_sites([structure[i] for i in sub_idx])
        n_metal = len(film_idx)
        record = InterfaceRecord(
            formula=structure.composition.formula.replace(" ", ""),
            film_formula=self.film.formula,
            substrate_formula=self.substrate.formula,
            film_miller=self.film.miller,
            substrate_miller=self.substrate.miller,
            film_termination=f_term,
            substrate_termination=s_term,
            film_cut=f_cut,
            substrate_cut=s_cut,
            film_facing_plane=f_cut.bottom_plane,
            substrate_facing_plane=s_cut.top_plane,
            match=candidate,
            area=float(abs(np.linalg.det(target))),
            film_strain_percent=candidate.film_strain.principal_percent,
            substrate_strain_percent=candidate.substrate_strain.principal_percent,
            film_units=nf,
            substrate_units=ns,
            n_film_layers=len(layers),
            n_atoms=len(structure),
            n_atoms_film=n_metal,
            n_atoms_substrate=len(sub_idx),
            registry_shift_fractional=(float(shift_frac[0]), float(shift_frac[1])),
            registry_shift=tuple(float(x) for x in shift_frac @ target),
            separation=float(separation),
            design="sandwich" if vacuum is None else "vacuum",
            vacuum=None if vacuum is None else float(vacuum),
            n_interfaces=2 if vacuum is None else 1,
            solutes=placed,
            solute_fraction_percent=100 * len(placed) / n_metal,
            placements=tuple(solutes),
            fixed_indices=fixed,
        )
        return InterfaceBuild(
            structure=structure, film_slab=film_slab, substrate_slab=substrate_slab, record=record
        )

    @staticmethod
    def _place_solutes(
        structure: Structure, layers: list[MetalLayer], placements: Sequence[SolutePlacement]
    ) -> tuple[SoluteSite, ...]:
        placed: list[SoluteSite] = []
        n_metal = sum(len(layer.indices) for layer in layers)
        numbers = sorted({layer.number for layer in layers})
        for p in placements:
            if p.layer == "interior":
                free = [layer.number for layer in layers if layer.is_free_surface]
                if free:  # vacuum design: centre between the contact and the free surface
                    n = max(free)
                    number = n // 2 + 1
                else:  # sandwich: the deepest layer
                    number = numbers[-1]
            else:
                number = p.layer
            if number not in numbers:
                raise StructureError(
                    f"solute layer {p.layer!r} does not exist: the film has layers "
                    f"{numbers[0]}..{numbers[-1]}"
                )
            taken = {s.index for s in placed}
            candidates = [
                i
                for layer in layers
                if layer.number == number
                for i in layer.indices
                if structure[i].specie.symbol == p.host and i not in taken
            ]
            count = p.n_atoms or max(1, round(p.fraction * n_metal))
            if count > len(candidates):
                raise StructureError(
                    f"{count} {p.element} atoms do not fit in layer {number}, which has "
                    f"{len(candidates)} free {p.host} sites (use a larger interface cell)"
                )
            for i in sorted(spread_sites(structure, candidates, count)):
                structure.replace(i, p.element, properties=structure[i].properties)
                placed.append(SoluteSite(element=p.element, index=i, layer=number))
        return tuple(sorted(placed, key=lambda s: s.index))

    @staticmethod
    def _fix_substrate(structure: Structure, n_planes: int) -> tuple[int, ...]:
        if n_planes == 0:
            return ()
        region = structure.site_properties[REGION_PROPERTY]
        planes = structure.site_properties["plane"]
        n_sub = 1 + max(p for p, r in zip(planes, region, strict=True) if r == "substrate")
        if not 0 < n_planes < n_sub:
            raise StructureError(
                f"n_fixed_substrate_planes={n_planes!r} must be between 0 and {n_sub - 1} "
                f"(the substrate has {n_sub} planes)"
            )
        fixed = tuple(
            i
            for i, (p, r) in enumerate(zip(planes, region, strict=True))
            if r == "substrate" and p < n_planes
        )
        structure.add_site_property(
            "selective_dynamics", [[i not in fixed] * 3 for i in range(len(structure))]
        )
        return fixed

    def registry_shifts(
        self,
        candidate: MatchCandidate,
        grid: tuple[int, int] = (3, 3),
        cell: Literal["film", "substrate", "smaller"] = "smaller",
    ) -> list[tuple[float, float]]:
        """Rigid in-plane shifts covering one primitive cell, as interface fractions.

        Every distinct registry of the film on the substrate is reached by a translation
        inside one primitive in-plane cell of either side (the strained film cell maps the
        film onto itself, the substrate cell the substrate); ``cell`` chooses which one the
        ``grid`` (n_a x n_b points, origin included) spans; "smaller" takes the one of
        smaller area.

        Returns
        -------
        list of tuple
            Fractional shifts of the interface cell, to pass as ``shift`` to :meth:`build`.
        """
        self._check_candidate(candidate)
        n_a, n_b = grid
        if n_a < 1 or n_b < 1:
            raise StructureError(f"grid must hold positive integers, got {grid!r}")
        if cell == "smaller":
            cell = "film" if candidate.film_cells >= candidate.substrate_cells else "substrate"
        if cell not in ("film", "substrate"):
            raise StructureError(f"cell must be 'film', 'substrate' or 'smaller', got {cell!r}")
        supercell = np.array(
            candidate.film_supercell if cell == "film" else candidate.substrate_supercell, float
        )
        inv = np.linalg.inv(supercell)
        shifts = []
        for i in range(n_a):
            for j in range(n_b):
                frac = np.array([i / n_a, j / n_b]) @ inv
                frac = np.mod(frac, 1.0)
                frac[np.isclose(frac, 1.0, atol=1e-9)] = 0.0
                shifts.append((float(frac[0]), float(frac[1])))
        return shifts

    def registry_scan(
        self,
        candidate: MatchCandidate,
        grid: tuple[int, int] = (3, 3),
        cell: Literal["film", "substrate", "smaller"] = "smaller",
        **build_kwargs: object,
    ) -> list[InterfaceBuild]:
        """Interfaces for every shift of :meth:`registry_shifts` (other settings: :meth:`build`)."""
        return [
            self.build(candidate, shift=s, **build_kwargs)  # type: ignore[arg-type]
            for s in self.registry_shifts(candidate, grid, cell)
        ]

    def separation_scan(
        self, candidate: MatchCandidate, separations: Sequence[float], **build_kwargs: object
    ) -> list[InterfaceBuild]:
        """Interfaces at each separation (A), other settings as :meth:`build`."""
        if not separations:
            raise StructureError("separations must not be empty")
        return [
            self.build(candidate, separation=float(d), **build_kwargs)  # type: ignore[arg-type]
            for d in separations
        ]


def separation_series(start: float, stop: float, step: float) -> list[float]:
    """Evenly spaced separations from ``start`` to ``stop`` inclusive (A)."""
    if not (0 < start <= stop) or step <= 0:
        raise StructureError(
            f"need 0 < start <= stop and step > 0, got start={start!r}, stop={stop!r}, "
            f"step={step!r}"
        )
    n = math.floor((stop - start) / step + 1e-9)
    return [round(start + k * step, 10) for k in range(n + 1)]


def build_interface(
    film: str | Structure,
    film_miller: Sequence[int],
    substrate: str | Structure,
    substrate_miller: Sequence[int],
    *,
    limits: MatchLimits | None = None,
    rank: int = 0,
    **build_kwargs: object,
) -> InterfaceBuild:
    """One-call interface: match, take the candidate of ``rank``, build it.

    ``build_kwargs`` go to :meth:`InterfaceBuilder.build` (terminations, shift,
    separation, vacuum, solutes, ...).

    Raises
    ------
    StructureError
        As :class:`InterfaceBuilder` and its methods, or if ``rank`` exceeds the candidates.
    """
    builder = InterfaceBuilder(film, film_miller, substrate, substrate_miller)
    candidates = builder.find_matches(limits)
    if not 0 <= rank < len(candidates):
        raise StructureError(f"rank {rank!r} does not exist: {len(candidates)} candidate(s)")
    return builder.build(candidates[rank], **build_kwargs)  # type: ignore[arg-type]
