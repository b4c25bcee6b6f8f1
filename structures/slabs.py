"""Symmetric, stoichiometric slabs for surface energies, thickness series and alloy slabs.

A slab is cut from the oriented bulk (:mod:`anodefree.structures.orientation`) at one of the
terminations enumerated and classified in :mod:`anodefree.structures.terminations`; by
default only *accepted* terminations (symmetric, stoichiometric, nonpolar) are built, so
that the surface energy gamma = (E_slab - N e_bulk) / (2 A) is well defined. Thickness is
counted in stoichiometric repeat units (``n_units``): atomic layers for bcc Li, Li-S-Li
trilayers for Li2S(111), Li+Ag plane pairs for B2 LiAg(100).

Cells: a and b are the primitive in-plane vectors (smallest cell), c is along the normal
(orthogonal to a and b), the slab is centred along c with ``vacuum`` A of empty space,
sites are sorted from bottom to top and carry the site property ``plane`` (0 = bottom
atomic plane). With ``n_fixed_planes`` the central planes get
``selective_dynamics = [False] * 3`` and their indices are returned, ready for
:class:`anodefree.tasks.CalculationTask` ``fixed_indices``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from pymatgen.core import Structure
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

from anodefree.errors import StructureError
from anodefree.structures.orientation import OrientedBulk, orient_bulk
from anodefree.structures.surface_materials import check_element
from anodefree.structures.terminations import (
    CutRecord,
    TerminationRecord,
    dipole_per_area,
    has_flip_symmetry,
    slab_structure,
    stack,
    terminations_of,
)

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence


class SoluteSite(BaseModel):
    """One substituted solute atom."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    element: str = Field(description="Solute element symbol.")
    index: int = Field(description="Site index in the structure.")
    layer: int = Field(
        description="Layer number: slabs, atomic plane counted from the nearest face "
        "(1 = outermost); interfaces, metal layer counted from the contact (1 = L1)."
    )


class SlabRecord(BaseModel):
    """What was built: a slab of one termination and thickness."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    bulk_formula: str = Field(description="Reduced formula of the bulk.")
    formula: str = Field(description="Formula of the slab cell.")
    miller_index: tuple[int, int, int] = Field(description="Facet, conventional cell.")
    miller_index_primitive: tuple[int, int, int] = Field(description="Facet, primitive cell.")
    termination: TerminationRecord = Field(description="The termination and its classification.")
    cut: CutRecord = Field(description="The cut used (which plane is at the bottom).")
    n_units: int = Field(description="Stoichiometric repeat units stacked.")
    extra_planes: int = Field(description="Planes added on top beyond whole units (0 = none).")
    n_planes: int = Field(description="Atomic planes in the slab.")
    n_atoms: int = Field(description="Atoms in the slab cell.")
    n_bulk_formula_units: float = Field(
        description="Slab atoms divided by the atoms of one bulk reduced formula unit."
    )
    area: float = Field(description="Area of the cell's surface, |a x b|, A^2.")
    inplane_supercell: tuple[int, int] = Field(
        description="Repetitions of the primitive in-plane cell along a and b."
    )
    thickness: float = Field(description="Distance between the outermost atomic planes, A.")
    vacuum: float = Field(description="Empty space along the normal, A.")
    period: float = Field(description="Thickness of one repeat unit along the normal, A.")
    dipole_per_area: float = Field(description="Slab dipole along the normal per area, e/A.")
    net_charge: float = Field(description="Sum of formal charges in the cell, e.")
    charges: dict[str, float] = Field(description="Formal charges used, e, by element.")
    symmetric: bool = Field(description="This slab has an operation mapping z to -z.")
    stoichiometric: bool = Field(description="Composition is a multiple of the bulk one.")
    fixed_indices: tuple[int, ...] = Field(
        (), description="Sites with selective_dynamics False (central planes)."
    )
    solutes: tuple[SoluteSite, ...] = Field((), description="Substituted solute atoms.")


@dataclass(frozen=True)
class SlabBuild:
    """A built slab: the structure and its record."""

    structure: Structure
    record: SlabRecord

    @property
    def fixed_indices(self) -> tuple[int, ...]:
        """Indices of the fixed (central) sites."""
        return self.record.fixed_indices


def select_termination(
    terminations: Sequence[TerminationRecord],
    termination: int | None,
    *,
    allow_asymmetric: bool,
    allow_reconstructed: bool,
    allow_polar: bool,
    what: str,
) -> TerminationRecord:
    """Pick a termination by index, or the only acceptable one when ``termination`` is None.

    Raises
    ------
    StructureError
        If the index is out of range, the termination is not acceptable under the given
        permissions, or ``termination`` is None and zero or several are acceptable. The
        message lists every termination with its reason.
    """

    def ok(r: TerminationRecord) -> bool:
        if not r.nonpolar and not allow_polar:
            return False
        if r.reconstruction and not allow_reconstructed:
            return False
        return r.symmetric or allow_asymmetric

    listing = "; ".join(f"[{r.index}] {r.label}: {r.reason}" for r in terminations)
    if termination is not None:
        if not 0 <= termination < len(terminations):
            raise StructureError(
                f"termination {termination!r} does not exist for {what}; terminations: {listing}"
            )
        chosen = terminations[termination]
        if not ok(chosen):
            raise StructureError(
                f"termination {termination} ({chosen.label}) of {what} is not usable here: "
                f"{chosen.reason}"
            )
        return chosen
    candidates = [r for r in terminations if ok(r)]
    if not candidates:
        hint = ""
        if any(r.reconstruction for r in terminations):
            hint = " (a reconstructed one exists: pass allow_reconstructed=True)"
        raise StructureError(f"{what} has no acceptable termination{hint}; terminations: {listing}")
    if len(candidates) > 1:
        raise StructureError(
            f"{what} has {len(candidates)} acceptable terminations "
            f"{[r.index for r in candidates]}; choose one with termination=...; {listing}"
        )
    return candidates[0]


def _fix_middle(structure: Structure, n_fixed_planes: int) -> tuple[int, ...]:
    planes = structure.site_properties["plane"]
    n_planes = max(planes) + 1
    if n_fixed_planes == 0:
        return ()
    if not 0 < n_fixed_planes < n_planes or (n_planes - n_fixed_planes) % 2:
        raise StructureError(
            f"n_fixed_planes={n_fixed_planes} cannot be centred in a slab of {n_planes} planes "
            "(need 0 <= n_fixed_planes < n_planes and n_planes - n_fixed_planes even)"
        )
    first = (n_planes - n_fixed_planes) // 2
    fixed = tuple(i for i, p in enumerate(planes) if first <= p < first + n_fixed_planes)
    structure.add_site_property(
        "selective_dynamics", [[i not in fixed] * 3 for i in range(len(structure))]
    )
    return fixed


def build_slab_from(
    ob: OrientedBulk,
    termination: TerminationRecord,
    n_units: int,
    *,
    vacuum: float = 15.0,
    cut: int = 0,
    extra_planes: int = 0,
    n_fixed_planes: int = 0,
    inplane_supercell: tuple[int, int] = (1, 1),
    symprec: float = 0.01,
) -> SlabBuild:
    """Build a slab of an oriented bulk for a given termination (no acceptance checks).

    Parameters
    ----------
    ob
        The oriented bulk.
    termination
        One record of :func:`anodefree.structures.terminations.terminations_of` for ``ob``.
    n_units
        Stoichiometric repeat units to stack (>= 1).
    vacuum
        Empty space along the normal (A).
    cut
        Which of the termination's equivalent cuts to use (0 = the first); for asymmetric
        terminations this chooses which plane is at the bottom.
    extra_planes
        Planes added on top beyond whole units (non-stoichiometric symmetric variants).
    n_fixed_planes
        Number of central atomic planes fixed with selective dynamics.
    inplane_supercell
        Repetitions (n_a, n_b) of the primitive in-plane cell (room for solutes).
    symprec
        Symmetry tolerance (A) for the symmetry check of the built slab.

    Returns
    -------
    SlabBuild
        The slab and its record.
    """
    if n_units < 1:
        raise StructureError(f"n_units must be at least 1, got {n_units!r}")
    if vacuum < 0:
        raise StructureError(f"vacuum must be non-negative, got {vacuum!r} A")
    if extra_planes < 0:
        raise StructureError(f"extra_planes must be non-negative, got {extra_planes!r}")
    if extra_planes and termination.cuts[0].split is not None:
        raise StructureError("extra_planes cannot be combined with a reconstructed termination")
    if not 0 <= cut < len(termination.cuts):
        raise StructureError(
            f"cut {cut!r} does not exist: termination {termination.label} has "
            f"{len(termination.cuts)} cut(s)"
        )
    cut_record = termination.cuts[cut]
    stacked = stack(ob, cut_record, n_units, extra_planes)
    structure = slab_structure(ob, stacked, vacuum)
    n_a, n_b = inplane_supercell
    if n_a < 1 or n_b < 1:
        raise StructureError(
            f"inplane_supercell must hold positive integers, got {inplane_supercell!r}"
        )
    if (n_a, n_b) != (1, 1):
        structure.make_supercell([[n_a, 0, 0], [0, n_b, 0], [0, 0, 1]])
        structure = structure.get_sorted_structure(key=lambda site: round(site.coords[2], 6))
    fixed = _fix_middle(structure, n_fixed_planes)
    z = structure.cart_coords[:, 2]
    species = [site.specie.symbol for site in structure]
    bulk_comp = ob.bulk.composition.reduced_composition
    ratio = len(structure) / bulk_comp.num_atoms
    stoich = extra_planes == 0 and structure.composition.reduced_composition == bulk_comp
    record = SlabRecord(
        bulk_formula=ob.formula,
        formula=structure.composition.formula.replace(" ", ""),
        miller_index=ob.miller,
        miller_index_primitive=ob.miller_primitive,
        termination=termination,
        cut=cut_record,
        n_units=n_units,
        extra_planes=extra_planes,
        n_planes=stacked.n_planes,
        n_atoms=len(structure),
        n_bulk_formula_units=ratio,
        area=float(structure.lattice.volume / structure.lattice.c),
        inplane_supercell=(n_a, n_b),
        thickness=float(np.ptp(z)),
        vacuum=float(structure.lattice.c - np.ptp(z)),
        period=ob.period,
        dipole_per_area=dipole_per_area(species, z, ob.charges, n_a * n_b * ob.area),
        net_charge=float(sum(ob.charges[s] for s in species)),
        charges=ob.charges,
        symmetric=has_flip_symmetry(structure, symprec),
        stoichiometric=stoich,
        fixed_indices=fixed,
    )
    return SlabBuild(structure=structure, record=record)


def build_slab(
    material: str | Structure,
    miller: Sequence[int],
    n_units: int,
    *,
    vacuum: float = 15.0,
    termination: int | None = None,
    cut: int = 0,
    extra_planes: int = 0,
    n_fixed_planes: int = 0,
    inplane_supercell: tuple[int, int] = (1, 1),
    allow_asymmetric: bool = False,
    allow_reconstructed: bool = False,
    allow_polar: bool = False,
    plane_tol: float = 0.1,
    symprec: float = 0.01,
    charges: Mapping[str, float] | None = None,
) -> SlabBuild:
    """Build a symmetric, stoichiometric slab of a facet (by default).

    Parameters
    ----------
    material
        A reference-phase name (``Li``, ``Li2S``, ``LiAg``, ...) or a bulk Structure (e.g.
        relaxed with the campaign's engine).
    miller
        Miller index relative to the conventional standard cell.
    n_units
        Stoichiometric repeat units (atomic layers of bcc Li, trilayers of Li2S(111)).
    vacuum
        Empty space along the normal (A).
    termination
        Index into :func:`~anodefree.structures.terminations.enumerate_terminations`; None
        picks the only acceptable one (an error lists them when there are several).
    cut
        Which equivalent cut of the termination to use (chooses the bottom plane of an
        asymmetric slab).
    extra_planes
        Planes added on top (non-stoichiometric symmetric variants; see the termination's
        ``symmetric_variants``).
    n_fixed_planes
        Central atomic planes to fix (selective dynamics); their indices are in the record.
    inplane_supercell
        Repetitions (n_a, n_b) of the primitive in-plane cell.
    allow_asymmetric, allow_reconstructed, allow_polar
        Accept terminations whose faces differ, half-plane reconstructions, or polar
        (Tasker III) cuts.
    plane_tol
        Atoms closer than this along the normal (A) form one atomic plane.
    symprec
        Symmetry tolerance (A).
    charges
        Formal charges by element (e); guessed when omitted.

    Returns
    -------
    SlabBuild
        The slab structure and its record.

    Raises
    ------
    StructureError
        For an unknown material, an invalid Miller index, a facet without an acceptable
        termination, or invalid sizes.
    """
    ob = orient_bulk(material, miller, plane_tol=plane_tol, symprec=symprec, charges=charges)
    records = terminations_of(ob, symprec=symprec)
    chosen = select_termination(
        records,
        termination,
        allow_asymmetric=allow_asymmetric or extra_planes > 0,
        allow_reconstructed=allow_reconstructed,
        allow_polar=allow_polar,
        what=f"{ob.formula}{ob.miller}",
    )
    return build_slab_from(
        ob,
        chosen,
        n_units,
        vacuum=vacuum,
        cut=cut,
        extra_planes=extra_planes,
        n_fixed_planes=n_fixed_planes,
        inplane_supercell=inplane_supercell,
        symprec=symprec,
    )


def slab_thickness_series(
    material: str | Structure,
    miller: Sequence[int],
    n_units: Sequence[int],
    *,
    vacuum: float = 15.0,
    termination: int | None = None,
    n_fixed_planes: int = 0,
    allow_reconstructed: bool = False,
    plane_tol: float = 0.1,
    symprec: float = 0.01,
    charges: Mapping[str, float] | None = None,
) -> list[SlabBuild]:
    """Slabs of increasing thickness for a surface-energy convergence series.

    Parameters
    ----------
    material
        A reference-phase name or a bulk Structure.
    miller
        Miller index relative to the conventional standard cell.
    n_units
        Thicknesses in repeat units (e.g. ``[3, 5, 7, 9]`` layers of Li(100) or
        ``[2, 3, 4, 5]`` trilayers of Li2S(111)); duplicates are dropped, order is ascending.
    vacuum
        Empty space along the normal (A), the same for every slab.
    termination
        Termination index; None builds every acceptable termination (each record names
        its termination).
    n_fixed_planes
        Central planes to fix in every slab (parity permitting; see :func:`build_slab`).
    allow_reconstructed
        Include half-plane reconstructions (needed for polar facets such as Li2S(100)).
    plane_tol, symprec, charges
        As in :func:`build_slab`.

    Returns
    -------
    list of SlabBuild
        Ordered by termination, then thickness.

    Raises
    ------
    StructureError
        If ``n_units`` is empty or holds a value below 1, or the facet has no acceptable
        termination.
    """
    sizes = sorted(set(n_units))
    if not sizes or sizes[0] < 1:
        raise StructureError(f"n_units must be a non-empty list of integers >= 1, got {n_units!r}")
    ob = orient_bulk(material, miller, plane_tol=plane_tol, symprec=symprec, charges=charges)
    records = terminations_of(ob, symprec=symprec)

    def usable(r: TerminationRecord) -> bool:
        return r.accepted and (allow_reconstructed or r.reconstruction is None)

    if termination is None:
        chosen = [r for r in records if usable(r)]
        if not chosen:
            select_termination(  # raises with the full listing
                records, None, allow_asymmetric=False,
                allow_reconstructed=allow_reconstructed, allow_polar=False,
                what=f"{ob.formula}{ob.miller}",
            )  # fmt: skip
    else:
        chosen = [
            select_termination(
                records, termination, allow_asymmetric=False,
                allow_reconstructed=allow_reconstructed, allow_polar=False,
                what=f"{ob.formula}{ob.miller}",
            )
        ]  # fmt: skip
    return [
        build_slab_from(ob, r, n, vacuum=vacuum, n_fixed_planes=n_fixed_planes, symprec=symprec)
        for r in chosen
        for n in sizes
    ]


def _flip_partner(structure: Structure, index: int, symprec: float) -> int:
    """Index of the image of site ``index`` under an operation mapping z to -z."""
    ops = SpacegroupAnalyzer(structure, symprec=symprec).get_symmetry_operations(cartesian=True)
    lattice = structure.lattice
    for op in ops:
        if op.rotation_matrix[2, 2] > -0.99:
            continue
        image = op.operate(structure[index].coords)
        frac = lattice.get_fractional_coords(image)
        dists = lattice.get_all_distances(frac, structure.frac_coords)[0]
        j = int(np.argmin(dists))
        if dists[j] < 10 * symprec:
            return j
    raise StructureError("the slab has no operation mapping z to -z; it is not symmetric")


def substitute_solutes(
    build: SlabBuild,
    element: str,
    *,
    depth: int = 1,
    n_per_face: int = 1,
    host: str = "Li",
    symprec: float = 0.01,
) -> SlabBuild:
    """Alloy slab: replace host atoms by a solute, the same on both faces (symmetric).

    Parameters
    ----------
    build
        A symmetric slab (e.g. bcc Li(100) from :func:`build_slab`).
    element
        Solute element (``Mg``, ``Ag``, ...).
    depth
        Atomic plane counted from each face (1 = outermost plane); the centre plane of a
        slab with an odd number of planes is ``(n_planes + 1) // 2``, and there the solutes
        are placed once, not per face.
    n_per_face
        Solute atoms per face, spread as far apart as the plane allows.
    host
        Element replaced.
    symprec
        Symmetry tolerance (A) used to map each top-face solute onto its bottom-face image.

    Returns
    -------
    SlabBuild
        The alloy slab; ``record.solutes`` lists the solute sites and their depth.

    Raises
    ------
    StructureError
        For an unknown element, a depth outside the slab, too many solutes for the plane,
        or an asymmetric slab.
    """
    check_element(element)
    structure = build.structure.copy()
    planes = structure.site_properties["plane"]
    n_planes = max(planes) + 1
    if not 1 <= depth <= (n_planes + 1) // 2:
        raise StructureError(
            f"depth {depth!r} is outside the slab: 1 .. {(n_planes + 1) // 2} for {n_planes} planes"
        )
    top_plane = n_planes - depth
    candidates = [
        i for i, p in enumerate(planes) if p == top_plane and structure[i].specie.symbol == host
    ]
    if n_per_face < 1 or n_per_face > len(candidates):
        raise StructureError(
            f"n_per_face={n_per_face!r} solutes do not fit: plane at depth {depth} has "
            f"{len(candidates)} {host} sites per cell (enlarge the in-plane cell)"
        )
    chosen = spread_sites(structure, candidates, n_per_face)
    sites = list(chosen)
    if top_plane != depth - 1:  # not the centre plane: add the mirror images
        sites += [_flip_partner(structure, i, symprec) for i in chosen]
    for i in sites:
        structure.replace(i, element, properties={"plane": planes[i]})
    if "selective_dynamics" in build.structure.site_properties:
        structure.add_site_property(
            "selective_dynamics", build.structure.site_properties["selective_dynamics"]
        )
    solutes = tuple(SoluteSite(element=element, index=i, layer=depth) for i in sorted(sites))
    z = structure.cart_coords[:, 2]
    species = [site.specie.symbol for site in structure]
    charges = {**build.record.charges, element: build.record.charges.get(element, 0.0)}
    record = build.record.model_copy(
        update={
            "formula": structure.composition.formula.replace(" ", ""),
            "solutes": build.record.solutes + solutes,
            "stoichiometric": False,
            "symmetric": has_flip_symmetry(structure, symprec),
            "dipole_per_area": dipole_per_area(species, z, charges, build.record.area),
        }
    )
    return SlabBuild(structure=structure, record=record)


def spread_sites(structure: Structure, candidates: Sequence[int], n: int) -> list[int]:
    """Choose ``n`` of ``candidates`` far apart (greedy max-min periodic distance).

    The first candidate is always chosen, so the choice is deterministic.
    """
    chosen = [candidates[0]]
    while len(chosen) < n:
        dists = structure.distance_matrix[np.ix_(list(candidates), chosen)].min(axis=1)
        for i in np.argsort(-dists, kind="stable"):
            if candidates[i] not in chosen:
                chosen.append(candidates[i])
                break
    return chosen
