"""Every termination of a facet, enumerated from the atomic planes, and its polarity.

Why not pymatgen's list: ``SlabGenerator.get_slabs`` and ``CoherentInterfaceBuilder``
choose cut positions by clustering fractional coordinates of a (possibly non-orthogonal)
oriented cell and then merge slabs with a structure matcher; the interface builder in
addition keys terminations by a label made of the top plane's formula and space group, so
two physically different terminations with the same label silently collapse into one. It
also ignores polarity unless the structure carries oxidation states. Here every cut between
two consecutive atomic planes of one period is built explicitly, cuts giving equivalent
slabs (same slab up to an isometry, flips included) are grouped, and each group is
classified:

- **stoichiometric**: a whole number of periods (always true for plain cuts);
- **symmetric**: the slab has an operation mapping z to -z (mirror, inversion, 2-fold
  axis in the plane), so both faces are the same termination;
- **polarity** (Tasker): type I = neutral planes; type II = charged planes but a repeat unit
  with zero dipole along the normal; type III = the repeat unit carries a dipole, the
  slab dipole grows with thickness (polar catastrophe), so the termination is rejected.

Worked cases (tested in ``tests/test_slabs_terminations.py``), with the planes of one
period listed by height:

- bcc metals (Li), any facet: one Bravais plane per period, one termination, type I.
- Li2S(111): S(0) - Li(d/4) - Li(3d/4), d = a/sqrt(3). Three cuts, two terminations:
  the cut through the wide Li-Li gap gives Li-S-Li trilayers (S-centred, Li outermost),
  type II, symmetric: accepted. The cuts through a narrow S-Li gap give an S face
  and a Li-Li face, type III (dipole e/A per unit and cell): rejected. Making it symmetric
  needs an extra S plane (S-terminated on both faces, charge -2 e per cell, not
  stoichiometric): recorded as a variant, rejected.
- Li2S(110): each plane holds Li2S (neutral): one termination, type I, accepted.
- Li2S(100): S plane (-2 e) and Li2 plane (+2 e) alternate: one termination (two cuts
  related by a flip), type III: rejected. The classic remedy (Tasker III reconstruction,
  half of the outer Li plane moved to the other face: Li-S-Li2-...-S-Li) is enumerated as a
  *reconstructed* termination, symmetric, stoichiometric and dipole-free; builders use it
  only when asked (``allow_reconstructed``).
- B2 LiAg(100): Li and Ag planes alternate: one asymmetric stoichiometric termination
  (fine for interfaces); symmetric slabs need an extra plane (Li- or Ag-rich variants).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from pymatgen.analysis.structure_matcher import StructureMatcher
from pymatgen.core import Lattice, Structure
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

from anodefree.structures.orientation import OrientedBulk, orient_bulk

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

#: Dipole per area (e/A) below which a repeat unit or slab counts as nonpolar.
DIPOLE_TOL = 1e-6

#: Largest plane (atoms per primitive in-plane cell) split in half for Tasker III
#: reconstructions.
MAX_SPLIT_PLANE = 6

TaskerType = Literal["I", "II", "III"]


class CutRecord(BaseModel):
    """One way of cutting the crystal: the bottom plane and, for a reconstruction, its split."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    plane: int = Field(
        description="Index (0-based, by height) of the period's plane at the bottom."
    )
    split: tuple[int, ...] | None = Field(
        None,
        description="Reconstructions only: atoms (indices within the bottom plane) kept on "
        "the bottom face; the others are moved to the top face.",
    )
    bottom_plane: str = Field(description="Formula of the outermost bottom plane (per cell).")
    top_plane: str = Field(description="Formula of the outermost top plane (per cell).")


class TerminationRecord(BaseModel):
    """A distinct termination of a facet and why it is accepted or rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    index: int = Field(description="Position in the facet's termination list (0-based).")
    formula: str = Field(description="Reduced formula of the bulk.")
    miller_index: tuple[int, int, int] = Field(description="Facet, conventional cell.")
    label: str = Field(
        description="Planes of one repeat unit from bottom to top, e.g. 'Li-S-Li'; a "
        "'(1/2)' marks a half plane of a reconstruction."
    )
    cuts: tuple[CutRecord, ...] = Field(
        description="All cuts giving this termination (flipped slabs included); the first is "
        "the one builders use by default."
    )
    cut_gap: float = Field(
        description="Width along the normal of the gap the (first) cut goes through, A "
        "(wide gaps break fewer bonds); 0 for a reconstruction, which splits a plane."
    )
    plane_charges: tuple[float, ...] = Field(
        description="Formal charge of each plane of the repeat unit, e per primitive cell."
    )
    dipole_per_area: float = Field(
        description="Dipole of one repeat unit along the normal per area, e/A "
        "(e A / A^2); non-zero means polar."
    )
    tasker_type: TaskerType = Field(description="Tasker type I, II or III (III is polar).")
    stoichiometric: bool = Field(description="Slab composition is a multiple of the bulk one.")
    symmetric: bool = Field(description="Both faces are related by a slab symmetry operation.")
    nonpolar: bool = Field(description="No dipole along the normal (Tasker I or II).")
    reconstruction: str | None = Field(
        None, description="Description when this is a reconstruction, not a plain cut."
    )
    accepted: bool = Field(
        description="Usable for surface energies: symmetric, stoichiometric and nonpolar."
    )
    usable_for_interface: bool = Field(
        description="Usable as one side of an interface: stoichiometric and nonpolar "
        "(asymmetric allowed, the facing plane is chosen by the cut)."
    )
    reason: str = Field(description="Why the termination is accepted or rejected.")
    symmetric_variants: tuple[str, ...] = Field(
        (),
        description="Symmetric but non-stoichiometric variants (extra planes on top), "
        "with their excess composition and net charge.",
    )


@dataclass(frozen=True)
class StackedSlab:
    """Atoms of a slab in the slab frame, bottom plane at height 0."""

    species: list[str]
    positions: np.ndarray  # (n, 3) A, slab frame
    planes: list[int]  # stacked-plane index of each atom, 0 = bottom

    @property
    def n_planes(self) -> int:
        """Number of atomic planes."""
        return max(self.planes) + 1


def stack(ob: OrientedBulk, cut: CutRecord, n_units: int, extra_planes: int = 0) -> StackedSlab:
    """Stack ``n_units`` periods (plus ``extra_planes``) starting at ``cut``'s bottom plane.

    For a split cut (reconstruction), the bottom plane keeps only ``cut.split`` and the
    remaining atoms of that plane are added one period-stack higher, as the top face.
    """
    n = len(ob.planes)
    species: list[str] = []
    positions: list[np.ndarray] = []
    planes: list[int] = []
    n_stack = n_units * n + extra_planes
    for m in range(n_stack + (1 if cut.split is not None else 0)):
        q, k = (cut.plane + m) % n, (cut.plane + m) // n
        plane = ob.planes[q]
        keep = range(len(plane))
        if cut.split is not None and m == 0:
            keep = cut.split
        elif cut.split is not None and m == n_stack:
            keep = [i for i in range(len(plane)) if i not in cut.split]
        for i in keep:
            species.append(plane.species[i])
            positions.append(
                np.array([*plane.xy[i], plane.heights[i]]) + k * np.asarray(ob.stacking)
            )
            planes.append(m)
    pos = np.array(positions)
    pos[:, 2] -= ob.planes[cut.plane].height + (cut.plane // n) * ob.period
    pos[:, 2] -= pos[:, 2].min()
    return StackedSlab(species=species, positions=pos, planes=planes)


def slab_structure(ob: OrientedBulk, stacked: StackedSlab, vacuum: float) -> Structure:
    """Put stacked atoms into a cell with c along the normal and ``vacuum`` (A) of empty space.

    The slab is centred along c; sites are sorted from bottom to top and carry the site
    property ``plane`` (0 = bottom atomic plane).
    """
    span = float(np.ptp(stacked.positions[:, 2]))
    lattice = Lattice([[*ob.inplane[0], 0.0], [*ob.inplane[1], 0.0], [0.0, 0.0, span + vacuum]])
    pos = stacked.positions.copy()
    pos[:, 2] += vacuum / 2
    order = np.lexsort((pos[:, 1], pos[:, 0], pos[:, 2].round(6)))
    structure = Structure(
        lattice,
        [stacked.species[i] for i in order],
        pos[order],
        coords_are_cartesian=True,
        site_properties={"plane": [stacked.planes[i] for i in order]},
    )
    return Structure.from_sites([site.to_unit_cell() for site in structure])


def has_flip_symmetry(structure: Structure, symprec: float = 0.01) -> bool:
    """Whether a slab (c along z) has an operation mapping z to -z (its faces are equivalent)."""
    ops = SpacegroupAnalyzer(structure, symprec=symprec).get_symmetry_operations(cartesian=True)
    return any(op.rotation_matrix[2, 2] < -0.99 for op in ops)


def dipole_per_area(
    species: Sequence[str], heights: np.ndarray, charges: Mapping[str, float], area: float
) -> float:
    """Dipole along the normal per area (e/A) of point charges about their mid-height."""
    q = np.array([charges[s] for s in species])
    z = np.asarray(heights, dtype=float)
    centre = 0.5 * (z.min() + z.max())
    return float(np.sum(q * (z - centre)) / area)


def _formula(species: Sequence[str]) -> str:
    counts: dict[str, int] = {}
    for s in species:
        counts[s] = counts.get(s, 0) + 1
    return "".join(f"{s}{n if n > 1 else ''}" for s, n in sorted(counts.items()))


def _matcher() -> StructureMatcher:
    return StructureMatcher(
        ltol=0.05, stol=0.05, angle_tol=1, primitive_cell=False, scale=False,
        attempt_supercell=False,
    )  # fmt: skip


def _plain_cut(ob: OrientedBulk, p: int) -> CutRecord:
    n = len(ob.planes)
    return CutRecord(
        plane=p, bottom_plane=ob.planes[p].formula, top_plane=ob.planes[(p - 1) % n].formula
    )


def _gap_below(ob: OrientedBulk, p: int) -> float:
    below = ob.planes[p - 1].height - (ob.period if p == 0 else 0.0)
    return float(ob.planes[p].height - below)


def _unit_dipole(ob: OrientedBulk, cut: CutRecord) -> float:
    unit = stack(ob, cut, 1)
    return dipole_per_area(unit.species, unit.positions[:, 2], ob.charges, ob.area)


def _tasker(ob: OrientedBulk, dipole: float) -> TaskerType:
    if abs(dipole) > DIPOLE_TOL:
        return "III"
    if all(abs(p.charge) < 1e-9 for p in ob.planes):
        return "I"
    return "II"


def _symmetric(ob: OrientedBulk, cut: CutRecord, symprec: float, extra: int = 0) -> bool:
    """Symmetric for both an even and an odd number of units."""
    return all(
        has_flip_symmetry(slab_structure(ob, stack(ob, cut, n, extra), 10.0), symprec)
        for n in (2, 3)
    )


def _variants(ob: OrientedBulk, cut: CutRecord, symprec: float) -> list[str]:
    n = len(ob.planes)
    for extra in range(1, n):
        if _symmetric(ob, cut, symprec, extra):
            added = [ob.planes[(cut.plane + m) % n] for m in range(extra)]
            excess = _formula([s for p in added for s in p.species])
            charge = sum(p.charge for p in added)
            text = (
                f"cut {cut.plane}: +{extra} plane(s) on top gives a symmetric "
                f"{cut.bottom_plane}-terminated slab, not stoichiometric (excess {excess} "
                f"per cell, net charge {charge:+g} e per cell)"
            )
            return [text]
    return []


def _reason(*, stoich: bool, sym: bool, dipole: float, tasker: TaskerType) -> str:
    if tasker == "III":
        return (
            f"rejected: polar, Tasker type III (dipole {dipole:+.4f} e/A per repeat unit; "
            "the slab dipole grows with thickness)"
        )
    if not stoich:
        return "rejected: not stoichiometric"
    if not sym:
        return (
            f"not for surface energies: the two faces differ (asymmetric slab); nonpolar "
            f"Tasker type {tasker}, usable as an interface side"
        )
    return f"accepted: symmetric, stoichiometric, nonpolar (Tasker type {tasker})"


def _reconstructions(
    ob: OrientedBulk, symprec: float, start: int
) -> list[tuple[Structure, TerminationRecord]]:
    """Half-plane (Tasker III) reconstructions: split one plane between both faces."""
    found: list[tuple[Structure, TerminationRecord]] = []
    matcher = _matcher()
    n = len(ob.planes)
    for q, plane in enumerate(ob.planes):
        m = len(plane)
        if m % 2 or m > MAX_SPLIT_PLANE or abs(plane.charge) < 1e-9:
            continue
        for keep in itertools.combinations(range(m), m // 2):
            kept = [plane.species[i] for i in keep]
            rest = [plane.species[i] for i in range(m) if i not in keep]
            cut = CutRecord(
                plane=q, split=keep, bottom_plane=_formula(kept), top_plane=_formula(rest)
            )
            slab = stack(ob, cut, 2)
            dip = dipole_per_area(slab.species, slab.positions[:, 2], ob.charges, ob.area)
            if abs(dip) > DIPOLE_TOL or not _symmetric(ob, cut, symprec):
                continue
            structure = slab_structure(ob, slab, 10.0)
            if any(matcher.fit(structure, s) for s, _ in found):
                continue
            labels = [f"{plane.formula}(1/2)"] + [
                ob.planes[(q + i) % n].formula for i in range(1, n)
            ] + [f"{plane.formula}(1/2)"]  # fmt: skip
            record = TerminationRecord(
                index=start + len(found),
                formula=ob.formula,
                miller_index=ob.miller,
                label="-".join(labels),
                cuts=(cut,),
                cut_gap=0.0,
                plane_charges=tuple(ob.planes[(q + i) % n].charge for i in range(n)),
                dipole_per_area=0.0,
                tasker_type="III",
                stoichiometric=True,
                symmetric=True,
                nonpolar=True,
                reconstruction=(
                    f"Tasker III reconstruction: half of the outer {plane.formula} plane "
                    "moved to the opposite face (the plain cut is polar)"
                ),
                accepted=True,
                usable_for_interface=True,
                reason="accepted as a reconstruction: symmetric, stoichiometric, zero dipole; "
                "use with allow_reconstructed=True",
            )
            found.append((structure, record))
    return found


def terminations_of(
    ob: OrientedBulk, *, symprec: float = 0.01, include_reconstructions: bool = True
) -> list[TerminationRecord]:
    """Enumerate and classify the terminations of an oriented bulk (see the module doc).

    Parameters
    ----------
    ob
        The oriented bulk.
    symprec
        Symmetry tolerance (A) for the flip-symmetry test.
    include_reconstructions
        Add half-plane (Tasker III) reconstructions when no plain cut is accepted.

    Returns
    -------
    list of TerminationRecord
        Plain-cut terminations ordered by their first cut, then reconstructions.
    """
    matcher = _matcher()
    n = len(ob.planes)
    groups: list[tuple[Structure, list[int]]] = []
    for p in range(n):
        structure = slab_structure(ob, stack(ob, _plain_cut(ob, p), 2), 10.0)
        for ref, members in groups:
            if matcher.fit(ref, structure):
                members.append(p)
                break
        else:
            groups.append((structure, [p]))

    records: list[TerminationRecord] = []
    for index, (_, members) in enumerate(groups):
        cuts = tuple(_plain_cut(ob, p) for p in members)
        dipole = _unit_dipole(ob, cuts[0])
        tasker = _tasker(ob, dipole)
        sym = _symmetric(ob, cuts[0], symprec)
        variants: list[str] = []
        if not sym:
            for cut in cuts:
                variants.extend(_variants(ob, cut, symprec))
        nonpolar = tasker != "III"
        planes_in_unit = [ob.planes[(cuts[0].plane + m) % n] for m in range(n)]
        records.append(
            TerminationRecord(
                index=index,
                formula=ob.formula,
                miller_index=ob.miller,
                label="-".join(p.formula for p in planes_in_unit),
                cuts=cuts,
                cut_gap=_gap_below(ob, cuts[0].plane),
                plane_charges=tuple(p.charge for p in planes_in_unit),
                dipole_per_area=round(dipole, 12),
                tasker_type=tasker,
                stoichiometric=True,
                symmetric=sym,
                nonpolar=nonpolar,
                accepted=sym and nonpolar,
                usable_for_interface=nonpolar,
                reason=_reason(stoich=True, sym=sym, dipole=dipole, tasker=tasker),
                symmetric_variants=tuple(variants),
            )
        )
    if include_reconstructions and ob.is_ionic and not any(r.accepted for r in records):
        records.extend(r for _, r in _reconstructions(ob, symprec, len(records)))
    return records


def enumerate_terminations(
    material: str | Structure,
    miller: Sequence[int],
    *,
    plane_tol: float = 0.1,
    symprec: float = 0.01,
    charges: Mapping[str, float] | None = None,
    include_reconstructions: bool = True,
) -> list[TerminationRecord]:
    """Every termination of a facet of ``material``, classified (see the module doc).

    Parameters
    ----------
    material
        A reference-phase name (``Li``, ``Li2S``, ``LiAg``, ...) or a bulk Structure.
    miller
        Miller index relative to the conventional standard cell.
    plane_tol
        Atoms closer than this along the normal (A) form one atomic plane.
    symprec
        Symmetry tolerance (A).
    charges
        Formal charges by element (e); guessed when omitted.
    include_reconstructions
        Add half-plane (Tasker III) reconstructions when no plain cut is accepted.

    Returns
    -------
    list of TerminationRecord
        One record per distinct termination.

    Raises
    ------
    StructureError
        For an unknown material or element, or an invalid Miller index.
    """
    ob = orient_bulk(material, miller, plane_tol=plane_tol, symprec=symprec, charges=charges)
    return terminations_of(ob, symprec=symprec, include_reconstructions=include_reconstructions)


def pymatgen_termination_count(material: str | Structure, miller: Sequence[int]) -> int:
    """Count the distinct slabs pymatgen's ``SlabGenerator.get_slabs`` returns (cross-check)."""
    from pymatgen.core.surface import SlabGenerator

    from anodefree.structures.orientation import validate_miller
    from anodefree.structures.surface_materials import resolve_bulk

    bulk = resolve_bulk(material)
    conv = SpacegroupAnalyzer(bulk).get_conventional_standard_structure()
    hkl = validate_miller(miller, hexagonal=conv.lattice.is_hexagonal())
    generator = SlabGenerator(conv, hkl, 10.0, 10.0, primitive=True, center_slab=True)
    return len(generator.get_slabs())
