"""Miller-index checks and the oriented bulk cell that slabs are stacked from.

The oriented cell is built independently of pymatgen's ``SlabGenerator``: the Miller index
(relative to the conventional standard cell) fixes the plane normal; the plane's 2D lattice
is the set of *primitive* lattice vectors perpendicular to it (so the in-plane cell is the
smallest possible), and the stacking vector is a primitive lattice vector one interplanar
period above the plane. The atoms of one period are grouped into atomic planes (equal
height along the normal), which is what terminations are enumerated from
(:mod:`anodefree.structures.terminations`).

Frame: every slab and interface of anodefree uses the *slab frame*: x along the first
in-plane vector, z along the outward plane normal, y = z x x.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING

import numpy as np
from pymatgen.core import Structure
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

from anodefree.errors import StructureError
from anodefree.structures.surface_materials import formal_charges, resolve_bulk

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

#: Largest |Miller index| accepted; higher facets give huge in-plane cells.
MAX_MILLER = 6


def _as_integer(value: object, miller: object) -> int:
    if isinstance(value, bool):
        raise StructureError(f"Miller index {miller!r} must contain integers, got {value!r}")
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return int(value)
    raise StructureError(f"Miller index {miller!r} must contain integers, got {value!r}")


def validate_miller(miller: Sequence[int], *, hexagonal: bool = False) -> tuple[int, int, int]:
    """Check a Miller index and return it as three coprime integers.

    Parameters
    ----------
    miller
        Three integers (h, k, l), or four Miller-Bravais integers (h, k, i, l) with
        i = -(h + k) for a hexagonal lattice. A common factor is divided out: (2, 2, 0)
        is the (1, 1, 0) facet.
    hexagonal
        Whether the material's lattice is hexagonal (allows the four-index form).

    Returns
    -------
    tuple
        The reduced three-index (h, k, l).

    Raises
    ------
    StructureError
        If the index is not a sequence of 3 (or 4) integers, is (0, 0, 0), uses the
        four-index form for a non-hexagonal lattice or violates i = -(h + k), or exceeds
        :data:`MAX_MILLER`.
    """
    try:
        values = list(miller)
    except TypeError:
        raise StructureError(f"Miller index {miller!r} is not a sequence of integers") from None
    ints = [_as_integer(v, miller) for v in values]
    if len(ints) == 4:
        if not hexagonal:
            raise StructureError(
                f"four-index Miller-Bravais index {tuple(ints)} given for a non-hexagonal "
                "lattice: this material has no such facet; use (h, k, l)"
            )
        h, k, i, l_ = ints
        if i != -(h + k):
            raise StructureError(
                f"Miller-Bravais index {tuple(ints)} is impossible: i must equal -(h + k) = "
                f"{-(h + k)}"
            )
        ints = [h, k, l_]
    if len(ints) != 3:
        raise StructureError(f"Miller index {miller!r} must have 3 components (h, k, l)")
    if not any(ints):
        raise StructureError("Miller index (0, 0, 0) defines no plane")
    if max(abs(v) for v in ints) > MAX_MILLER:
        raise StructureError(
            f"Miller index {tuple(ints)} exceeds the supported maximum |index| {MAX_MILLER}"
        )
    g = math.gcd(*ints)
    return (ints[0] // g, ints[1] // g, ints[2] // g)


@dataclass(frozen=True)
class AtomicPlane:
    """Atoms of one oriented period sharing a height along the plane normal.

    ``heights`` and ``xy`` are in the slab frame (A); a plane belongs to the period whose
    atoms it holds, so translating it by the stacking vector gives the next period's copy.
    """

    species: tuple[str, ...]
    xy: np.ndarray  # (m, 2) in-plane positions, A
    heights: np.ndarray  # (m,) heights along the normal, A
    charge: float  # total formal charge of the plane per in-plane cell, e

    @property
    def height(self) -> float:
        """Mean height of the plane (A)."""
        return float(np.mean(self.heights))

    @property
    def formula(self) -> str:
        """Composition of the plane, e.g. ``Li2`` or ``S``."""
        counts: dict[str, int] = {}
        for s in self.species:
            counts[s] = counts.get(s, 0) + 1
        return "".join(f"{s}{n if n > 1 else ''}" for s, n in sorted(counts.items()))

    def __len__(self) -> int:
        """Return the number of atoms in the plane per in-plane cell."""
        return len(self.species)


@dataclass(frozen=True)
class OrientedBulk:
    """A bulk crystal seen along a Miller direction, as a stack of atomic planes.

    Attributes
    ----------
    bulk
        The conventional standard cell the Miller index refers to.
    miller
        The reduced Miller index (conventional cell).
    miller_primitive
        The same facet indexed on the primitive lattice.
    inplane
        Rows: the two primitive in-plane lattice vectors in the slab frame (A, z = 0).
    stacking
        The stacking vector in the slab frame (A); its z component is the period ``d``.
    planes
        The atomic planes of one period, sorted by height.
    charges
        Formal charge of each element (e) used for polarity.
    """

    bulk: Structure
    miller: tuple[int, int, int]
    miller_primitive: tuple[int, int, int]
    inplane: np.ndarray
    stacking: np.ndarray
    planes: tuple[AtomicPlane, ...]
    charges: dict[str, float]

    @property
    def period(self) -> float:
        """Interplanar period d along the normal (A): one stoichiometric unit."""
        return float(self.stacking[2])

    @property
    def area(self) -> float:
        """Area of the primitive in-plane cell (A^2)."""
        return float(abs(np.cross(self.inplane[0], self.inplane[1])))

    @property
    def atoms_per_unit(self) -> int:
        """Atoms in one period of the primitive in-plane cell."""
        return sum(len(p) for p in self.planes)

    @property
    def formula(self) -> str:
        """Reduced formula of the bulk."""
        return self.bulk.composition.reduced_formula

    @property
    def is_ionic(self) -> bool:
        """Whether any element carries a non-zero formal charge."""
        return any(abs(q) > 1e-12 for q in self.charges.values())


def _rational_to_integers(values: np.ndarray) -> tuple[int, int, int]:
    fracs = [Fraction(float(v)).limit_denominator(48) for v in values]
    lcm = 1
    for f in fracs:
        lcm = lcm * f.denominator // math.gcd(lcm, f.denominator)
    ints = [int(f * lcm) for f in fracs]
    g = math.gcd(*ints)
    return (ints[0] // g, ints[1] // g, ints[2] // g)


def _inplane_basis(
    hkl: np.ndarray, lattice: np.ndarray, area: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shortest integer basis of the plane lattice and the shortest stacking vector."""
    for reach in range(max(abs(hkl)) + 1, 4 * max(abs(hkl)) + 4):
        grid = np.array(list(itertools.product(range(-reach, reach + 1), repeat=3)))
        dots = grid @ hkl
        flat = grid[dots == 0]
        flat = flat[np.any(flat != 0, axis=1)]
        cart = flat @ lattice
        order = np.lexsort((flat[:, 2], flat[:, 1], flat[:, 0], np.linalg.norm(cart, axis=1)))
        flat, cart = flat[order], cart[order]
        u1, c1 = flat[0], cart[0]
        u2 = None
        for u, c in zip(flat[1:], cart[1:], strict=True):
            if np.linalg.norm(np.cross(c1, c)) > 1e-6 * np.dot(c1, c1):
                u2, c2 = u, c
                break
        if u2 is None or not math.isclose(np.linalg.norm(np.cross(c1, c2)), area, rel_tol=1e-6):
            continue
        up = grid[dots == 1]
        normal = np.cross(c1, c2)
        normal /= np.linalg.norm(normal)
        up_cart = up @ lattice
        inplane = up_cart - np.outer(up_cart @ normal, normal)
        order = np.lexsort(
            (np.linalg.norm(up_cart, axis=1).round(8), np.linalg.norm(inplane, axis=1).round(8))
        )
        return u1, u2, up[order[0]]
    raise StructureError(f"could not find the in-plane cell of the facet {tuple(hkl)}")


def orient_bulk(
    material: str | Structure,
    miller: Sequence[int],
    *,
    plane_tol: float = 0.1,
    symprec: float = 0.01,
    charges: Mapping[str, float] | None = None,
) -> OrientedBulk:
    """Orient a bulk crystal along a Miller direction and group its atoms into planes.

    Parameters
    ----------
    material
        A reference-phase name or a bulk Structure (see
        :mod:`anodefree.structures.surface_materials`).
    miller
        Miller index relative to the conventional standard cell of ``material``.
    plane_tol
        Atoms closer than this along the normal (A) belong to the same atomic plane.
    symprec
        Symmetry tolerance (A) used to find the conventional standard cell.
    charges
        Formal charges by element (e); guessed when omitted.

    Returns
    -------
    OrientedBulk
        The oriented cell and its atomic planes.

    Raises
    ------
    StructureError
        For an unknown material or element, or an invalid Miller index.
    """
    bulk = resolve_bulk(material)
    conv = SpacegroupAnalyzer(bulk, symprec=symprec).get_conventional_standard_structure()
    hexagonal = conv.lattice.is_hexagonal()
    hkl = validate_miller(miller, hexagonal=hexagonal)
    q = formal_charges(conv, charges)

    # Plane normal from the conventional reciprocal lattice (no 2 pi); the same family
    # indexed on the primitive lattice (same Cartesian frame as ``conv``).
    g = np.array(hkl, dtype=float) @ conv.lattice.reciprocal_lattice_crystallographic.matrix
    prim = conv.get_primitive_structure(tolerance=symprec)
    prim_hkl = np.array(_rational_to_integers(prim.lattice.matrix @ g))
    g_prim = prim_hkl @ prim.lattice.reciprocal_lattice_crystallographic.matrix
    if np.linalg.norm(np.cross(g, g_prim)) > 1e-6 * np.linalg.norm(g) * np.linalg.norm(g_prim):
        raise StructureError(f"primitive Miller index of {hkl} could not be determined")
    d = 1.0 / float(np.linalg.norm(g_prim))
    area = prim.lattice.volume / d

    u1, u2, u3 = _inplane_basis(prim_hkl, prim.lattice.matrix, area)
    lattice = prim.lattice.matrix
    a1, a2, c = u1 @ lattice, u2 @ lattice, u3 @ lattice
    normal = g_prim / np.linalg.norm(g_prim)
    if np.dot(np.cross(a1, a2), normal) < 0:
        a1, a2 = a2, a1
    x = a1 / np.linalg.norm(a1)
    y = np.cross(normal, x)
    rot = np.array([x, y, normal])  # rows: slab frame axes in Cartesian
    inplane = np.array([rot @ a1, rot @ a2])[:, :2]
    stacking = rot @ c
    if not math.isclose(stacking[2], d, rel_tol=1e-8):
        raise StructureError(f"stacking vector of {hkl} is not one period ({stacking[2]} != {d})")

    # Atoms of one period: heights wrapped into [0, d) by stacking-vector translations.
    frame = prim.cart_coords @ rot.T
    k = np.floor(frame[:, 2] / d + 1e-9)
    frame = frame - np.outer(k, stacking)
    inv = np.linalg.inv(inplane)
    frac = frame[:, :2] @ inv
    frame[:, :2] = (frac - np.floor(frac + 1e-9)) @ inplane
    species = [site.specie.symbol for site in prim]

    planes = _group_planes(frame, species, stacking, plane_tol, q)
    return OrientedBulk(
        bulk=conv,
        miller=hkl,
        miller_primitive=(int(prim_hkl[0]), int(prim_hkl[1]), int(prim_hkl[2])),
        inplane=inplane,
        stacking=stacking,
        planes=planes,
        charges=q,
    )


def _group_planes(
    frame: np.ndarray,
    species: list[str],
    stacking: np.ndarray,
    tol: float,
    charges: Mapping[str, float],
) -> tuple[AtomicPlane, ...]:
    d = stacking[2]
    order = np.argsort(frame[:, 2], kind="stable")
    groups: list[list[int]] = [[int(order[0])]]
    for prev, cur in itertools.pairwise(order):
        if frame[cur, 2] - frame[prev, 2] > tol:
            groups.append([])
        groups[-1].append(int(cur))
    frame = frame.copy()
    if len(groups) > 1 and frame[order[0], 2] + d - frame[order[-1], 2] <= tol:
        # The top group continues the bottom one across the period boundary: move it down.
        for i in groups[-1]:
            frame[i] -= stacking
        groups[0] = groups.pop() + groups[0]
    planes = []
    for idx in groups:
        sp = tuple(species[i] for i in idx)
        planes.append(
            AtomicPlane(
                species=sp,
                xy=frame[idx, :2].copy(),
                heights=frame[idx, 2].copy(),
                charge=float(sum(charges[s] for s in sp)),
            )
        )
    planes.sort(key=lambda p: p.height)
    return tuple(planes)
