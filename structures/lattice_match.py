"""Coincidence-lattice matching of a film facet on a substrate facet (Zur-McGill / ZSL).

pymatgen's :class:`~pymatgen.analysis.interfaces.zsl.ZSLGenerator` enumerates the
superlattices of both in-plane cells (primitive cells from
:mod:`anodefree.structures.orientation`) and pairs those with nearly equal vector lengths
and angle. Each pair is then re-examined here:

- the integer supercell matrices are recovered and checked;
- a pair whose bases have opposite handedness (ZSL compares unsigned angles, so it can pair
  a film basis with the *mirror image* of the substrate's) is repaired with a mirror
  operation of the film's 2D lattice, or dropped when the lattice has none;
- the in-plane strain is computed from the deformation gradient F that maps the film
  supercell onto the interface cell: F = V R (polar decomposition), strain = V - I (Biot
  strain, principal values = length ratios - 1), expressed in the interface frame (x along
  the substrate's first primitive vector, z along the normal);
- the strain is partitioned: ``strain_partition`` = 0 (default) keeps the substrate lattice
  (Li2S, the stiff ionic side) and strains the film (the soft metal); 1 does the reverse;
  values in between interpolate the interface cell linearly between the two;
- candidates are filtered by ``max_strain`` (largest |principal strain| on either side),
  ``max_area`` (interface area) and ``max_atoms`` (film + substrate atoms at the requested
  thicknesses), de-duplicated (same multiplicities, area and principal strains) and ranked
  by strain (binned by ``strain_resolution``), then area, then atom count.
"""

from __future__ import annotations

import itertools
import math
from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from pymatgen.analysis.interfaces.zsl import ZSLGenerator
from scipy.linalg import polar

from anodefree.errors import StructureError
from anodefree.structures.orientation import OrientedBulk, orient_bulk

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from pymatgen.core import Structure

Matrix2 = tuple[tuple[float, float], tuple[float, float]]

#: Strain limit (at least; twice the user's limit when larger, at most 0.5) of the fallback
#: search that reports the smallest strain available when nothing meets the user's limit.
LOOSE_STRAIN = 0.25
IntMatrix2 = tuple[tuple[int, int], tuple[int, int]]


class MatchLimits(BaseModel):
    """User limits and sizes for the lattice-match search."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_strain: float = Field(
        0.05,
        gt=0,
        le=0.5,
        description="Largest |principal in-plane strain| on either side (fraction).",
    )
    max_area: float = Field(150.0, gt=0, description="Largest interface area, A^2.")
    max_atoms: int = Field(250, ge=2, description="Largest film + substrate atom count.")
    film_min_thickness: float = Field(
        12.0, gt=0, description="Film thickness target, A (rounded up to whole repeat units)."
    )
    substrate_min_thickness: float = Field(
        9.0, gt=0, description="Substrate thickness target, A (rounded up to whole units)."
    )
    film_units: int | None = Field(
        None, ge=1, description="Film repeat units; overrides film_min_thickness."
    )
    substrate_units: int | None = Field(
        None, ge=1, description="Substrate repeat units; overrides substrate_min_thickness."
    )
    strain_partition: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Share of the mismatch taken by the substrate: 0 strains only the film "
        "(default: the metal), 1 only the substrate.",
    )
    strain_resolution: float = Field(
        0.005,
        gt=0,
        description="Strains are compared in bins of this width (fraction) when ranking, so "
        "that a smaller area wins over a marginally smaller strain.",
    )
    max_candidates: int = Field(20, ge=1, description="Candidates returned at most.")


class InPlaneStrain(BaseModel):
    """In-plane strain of one side of an interface (Biot strain V - I)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tensor: Matrix2 = Field(
        description="Strain tensor in the interface frame (x along the substrate's first "
        "primitive in-plane vector), dimensionless."
    )
    xx_percent: float = Field(description="Normal strain along x, %.")
    yy_percent: float = Field(description="Normal strain along y, %.")
    xy_percent: float = Field(description="Shear strain component (tensor, not engineering), %.")
    principal_percent: tuple[float, float] = Field(
        description="Principal strains (stretch ratios - 1), %, ascending."
    )
    max_abs_percent: float = Field(description="Largest |principal strain|, %.")
    area_percent: float = Field(description="Relative area change det(F) - 1, %.")


class MatchCandidate(BaseModel):
    """A coincidence cell of a film facet on a substrate facet."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rank: int = Field(description="Position after ranking (0 = best).")
    film_formula: str = Field(description="Reduced formula of the film bulk.")
    substrate_formula: str = Field(description="Reduced formula of the substrate bulk.")
    film_miller: tuple[int, int, int] = Field(description="Film facet, conventional cell.")
    substrate_miller: tuple[int, int, int] = Field(description="Substrate facet.")
    film_supercell: IntMatrix2 = Field(
        description="Rows: film supercell vectors in units of its primitive in-plane vectors."
    )
    substrate_supercell: IntMatrix2 = Field(
        description="Rows: substrate supercell vectors in units of its primitive in-plane vectors."
    )
    film_cells: int = Field(description="Primitive film in-plane cells in the interface cell.")
    substrate_cells: int = Field(description="Primitive substrate in-plane cells.")
    area: float = Field(description="Interface area |a x b| of the interface cell, A^2.")
    film_strain: InPlaneStrain = Field(description="Strain applied to the film.")
    substrate_strain: InPlaneStrain = Field(description="Strain applied to the substrate.")
    strain_partition: float = Field(description="Share of the mismatch on the substrate (0-1).")
    rotation_deg: float = Field(
        description="In-plane angle from the substrate's first primitive vector to the "
        "(strained) film's first primitive vector, degrees."
    )
    film_units: int = Field(description="Film repeat units used for the atom count.")
    substrate_units: int = Field(description="Substrate repeat units used for the atom count.")
    n_atoms_film: int = Field(description="Film atoms in the interface cell.")
    n_atoms_substrate: int = Field(description="Substrate atoms in the interface cell.")
    n_atoms: int = Field(description="Film + substrate atoms.")
    film_inplane: Matrix2 = Field(
        description="Film primitive in-plane vectors (rows, A, film slab frame) the match "
        "was computed for."
    )
    substrate_inplane: Matrix2 = Field(
        description="Substrate primitive in-plane vectors (rows, A, interface frame)."
    )
    interface_inplane: Matrix2 = Field(
        description="In-plane vectors of the interface cell (rows, A, interface frame)."
    )

    @property
    def max_strain_percent(self) -> float:
        """Largest |principal strain| of either side, %."""
        return max(self.film_strain.max_abs_percent, self.substrate_strain.max_abs_percent)


def strain_from_deformation(deformation: np.ndarray) -> InPlaneStrain:
    """Biot strain V - I of a 2x2 deformation gradient F = V R (F acts on column vectors)."""
    f = np.asarray(deformation, dtype=float)
    if np.linalg.det(f) <= 0:
        raise StructureError(f"deformation {f.tolist()} inverts the plane (det <= 0)")
    _, v = polar(f, side="left")  # f = v @ r
    eps = 0.5 * (v + v.T) - np.eye(2)
    principal = np.linalg.eigvalsh(eps)
    return InPlaneStrain(
        tensor=((float(eps[0, 0]), float(eps[0, 1])), (float(eps[1, 0]), float(eps[1, 1]))),
        xx_percent=100 * float(eps[0, 0]),
        yy_percent=100 * float(eps[1, 1]),
        xy_percent=100 * float(eps[0, 1]),
        principal_percent=(100 * float(principal[0]), 100 * float(principal[1])),
        max_abs_percent=100 * float(np.abs(principal).max()),
        area_percent=100 * (float(np.linalg.det(f)) - 1),
    )


def deformation(reference_rows: np.ndarray, target_rows: np.ndarray) -> np.ndarray:
    """F (acting on column vectors) with F r_i = t_i for the two rows of each 2x2 matrix."""
    return np.linalg.solve(np.asarray(reference_rows, float), np.asarray(target_rows, float)).T


def _mirrors(inplane: np.ndarray) -> list[np.ndarray]:
    """Integer matrices Q (det -1) with Q A = A M^T for a mirror M of the 2D lattice A (rows)."""
    gram = inplane @ inplane.T
    found = []
    for entries in itertools.product(range(-2, 3), repeat=4):
        q = np.array(entries, dtype=float).reshape(2, 2)
        if round(np.linalg.det(q)) == -1 and np.allclose(
            q @ gram @ q.T, gram, atol=1e-6 * gram.max()
        ):
            found.append(q)
    return found


def _units(limits_units: int | None, thickness: float, period: float) -> int:
    if limits_units is not None:
        return limits_units
    return max(1, math.ceil(thickness / period - 1e-9))


def _as_int_matrix(m: np.ndarray) -> IntMatrix2:
    return ((int(m[0, 0]), int(m[0, 1])), (int(m[1, 0]), int(m[1, 1])))


def _as_matrix(m: np.ndarray) -> Matrix2:
    return ((float(m[0, 0]), float(m[0, 1])), (float(m[1, 0]), float(m[1, 1])))


def interface_cell(
    film_rows: np.ndarray, substrate_rows: np.ndarray, partition: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Interface in-plane cell and the film/substrate deformation gradients.

    Parameters
    ----------
    film_rows
        Film supercell vectors (rows, film frame).
    substrate_rows
        Substrate supercell vectors (rows, interface frame), paired row by row.
    partition
        Share of the mismatch taken by the substrate (0: film strained onto the substrate).

    Returns
    -------
    tuple
        (interface rows, F_film, F_substrate).
    """
    f0 = deformation(film_rows, substrate_rows)
    rot, _ = polar(f0, side="right")  # f0 = rot @ u
    film_rotated = film_rows @ rot.T
    target = (1 - partition) * substrate_rows + partition * film_rotated
    return target, deformation(film_rows, target), deformation(substrate_rows, target)


def match_oriented(
    film: OrientedBulk, substrate: OrientedBulk, limits: MatchLimits | None = None
) -> list[MatchCandidate]:
    """Lattice-match two oriented bulks (see the module doc); ``[]`` when nothing qualifies."""
    limits = limits or MatchLimits()
    return _search(film, substrate, limits)


def _max_principal(f: np.ndarray) -> float:
    """Largest |principal Biot strain| of a deformation F (fraction), without a record."""
    stretches = np.sqrt(np.linalg.eigvalsh(f @ f.T))
    return float(np.abs(stretches - 1).max())


def _raw_matches(
    film: OrientedBulk, substrate: OrientedBulk, limits: MatchLimits
) -> list[tuple[float, float, int, np.ndarray, np.ndarray]]:
    """ZSL pairs within the limits as (strain, area, atoms, film matrix, substrate matrix)."""
    af, as_ = film.inplane, substrate.inplane
    ratio = max(film.area / substrate.area, substrate.area / film.area)
    area_margin = (1 + limits.max_strain) ** 2 if limits.strain_partition > 0 else 1.0
    zsl = ZSLGenerator(
        max_area_ratio_tol=2.5 * limits.max_strain * ratio,
        max_area=limits.max_area * area_margin + 1e-6,
        max_length_tol=limits.max_strain,
        max_angle_tol=2.5 * limits.max_strain,
        bidirectional=False,
    )
    f_units = _units(limits.film_units, limits.film_min_thickness, film.period)
    s_units = _units(limits.substrate_units, limits.substrate_min_thickness, substrate.period)
    mirrors = _mirrors(af)
    film3 = np.column_stack([af, np.zeros(2)])
    sub3 = np.column_stack([as_, np.zeros(2)])
    inv_f, inv_s = np.linalg.inv(af), np.linalg.inv(as_)
    seen: set[tuple] = set()
    found = []
    for match in zsl(film3, sub3, lowest=False):
        sf = np.array(match.film_sl_vectors)[:, :2] @ inv_f
        ss = np.array(match.substrate_sl_vectors)[:, :2] @ inv_s
        if not (np.allclose(sf, sf.round(), atol=1e-6) and np.allclose(ss, ss.round(), atol=1e-6)):
            continue
        sf, ss = sf.round(), ss.round()
        n_f, n_s = round(abs(np.linalg.det(sf))), round(abs(np.linalg.det(ss)))
        n_atoms = n_f * film.atoms_per_unit * f_units + n_s * substrate.atoms_per_unit * s_units
        if n_atoms > limits.max_atoms:
            continue
        if np.linalg.det(ss) < 0:  # make the substrate cell right-handed, keep the pairing
            sf[1], ss[1] = -sf[1], -ss[1]
        if np.linalg.det(sf) < 0:  # mirror-image pairing: use a mirror of the film lattice
            if not mirrors:
                continue
            sf = sf @ mirrors[0]
        target, f_film, f_sub = interface_cell(sf @ af, ss @ as_, limits.strain_partition)
        area = float(abs(np.linalg.det(target)))
        strain = max(_max_principal(f_film), _max_principal(f_sub))
        if strain > limits.max_strain + 1e-12 or area > limits.max_area + 1e-9:
            continue
        key = (n_f, n_s, round(area, 3), round(strain, 5), round(float(np.linalg.det(f_film)), 5))
        if key in seen:
            continue
        seen.add(key)
        found.append((strain, area, n_atoms, sf, ss))
    return found


def _search(
    film: OrientedBulk, substrate: OrientedBulk, limits: MatchLimits
) -> list[MatchCandidate]:
    raw = _raw_matches(film, substrate, limits)
    raw.sort(
        key=lambda m: (
            math.floor(m[0] / limits.strain_resolution + 1e-9),
            round(m[1], 3),
            m[2],
            m[0],
        )
    )
    f_units = _units(limits.film_units, limits.film_min_thickness, film.period)
    s_units = _units(limits.substrate_units, limits.substrate_min_thickness, substrate.period)
    return [
        MatchCandidate(rank=i, **_evaluate(film, substrate, sf, ss, f_units, s_units, limits))
        for i, (_, _, _, sf, ss) in enumerate(raw[: limits.max_candidates])
    ]


def _evaluate(
    film: OrientedBulk,
    substrate: OrientedBulk,
    sf: np.ndarray,
    ss: np.ndarray,
    f_units: int,
    s_units: int,
    limits: MatchLimits,
) -> dict:
    film_rows, sub_rows = sf @ film.inplane, ss @ substrate.inplane
    target, f_film, f_sub = interface_cell(film_rows, sub_rows, limits.strain_partition)
    film_strain = strain_from_deformation(f_film)
    sub_strain = strain_from_deformation(f_sub)
    area = float(abs(np.linalg.det(target)))
    n_f = round(abs(np.linalg.det(sf))) * film.atoms_per_unit * f_units
    n_s = round(abs(np.linalg.det(ss))) * substrate.atoms_per_unit * s_units
    a_film = f_film @ film.inplane[0]
    rotation = math.degrees(math.atan2(a_film[1], a_film[0]))
    return {
        "film_formula": film.formula,
        "substrate_formula": substrate.formula,
        "film_miller": film.miller,
        "substrate_miller": substrate.miller,
        "film_supercell": _as_int_matrix(sf),
        "substrate_supercell": _as_int_matrix(ss),
        "film_cells": round(abs(np.linalg.det(sf))),
        "substrate_cells": round(abs(np.linalg.det(ss))),
        "area": area,
        "film_strain": film_strain,
        "substrate_strain": sub_strain,
        "strain_partition": limits.strain_partition,
        "rotation_deg": rotation,
        "film_units": f_units,
        "substrate_units": s_units,
        "n_atoms_film": n_f,
        "n_atoms_substrate": n_s,
        "n_atoms": n_f + n_s,
        "film_inplane": _as_matrix(film.inplane),
        "substrate_inplane": _as_matrix(substrate.inplane),
        "interface_inplane": _as_matrix(target),
    }


def lattice_matches(
    film: OrientedBulk, substrate: OrientedBulk, limits: MatchLimits | None = None
) -> list[MatchCandidate]:
    """Ranked candidates within ``limits``; raises when none meets them.

    Raises
    ------
    StructureError
        If no candidate meets the limits. The message names the limits and, when a looser
        strain would work, the smallest strain available within the area and atom limits.
    """
    limits = limits or MatchLimits()
    found = _search(film, substrate, limits)
    if found:
        return found
    what = f"{film.formula}{film.miller} on {substrate.formula}{substrate.miller}"
    loose_strain = min(0.5, max(LOOSE_STRAIN, 2 * limits.max_strain))
    loose = _raw_matches(film, substrate, limits.model_copy(update={"max_strain": loose_strain}))
    if loose:
        strain, area, n_atoms, _, _ = min(loose, key=lambda m: (round(m[0], 6), m[1], m[2]))
        raise StructureError(
            f"no lattice match of {what} meets max_strain={limits.max_strain:g} "
            f"({100 * limits.max_strain:g} %) within max_area={limits.max_area:g} A^2 and "
            f"max_atoms={limits.max_atoms}; the smallest strain available is "
            f"{100 * strain:.2f} % (area {area:.1f} A^2, {n_atoms} atoms)"
        )
    raise StructureError(
        f"no coincidence lattice of {what} exists within max_area={limits.max_area:g} A^2 and "
        f"max_atoms={limits.max_atoms} even at {100 * loose_strain:g} % strain; raise max_area "
        "or max_atoms"
    )


def find_matches(
    film: str | Structure,
    film_miller: Sequence[int],
    substrate: str | Structure,
    substrate_miller: Sequence[int],
    limits: MatchLimits | None = None,
    *,
    plane_tol: float = 0.1,
    symprec: float = 0.01,
    film_charges: Mapping[str, float] | None = None,
    substrate_charges: Mapping[str, float] | None = None,
) -> list[MatchCandidate]:
    """Ranked coincidence cells of a film facet on a substrate facet.

    Parameters
    ----------
    film
        The strained side by default (the metal): a phase name or a bulk Structure.
    film_miller
        Film facet (conventional cell).
    substrate
        The side whose lattice is kept by default (Li2S, or LiAg for Li | LiAg).
    substrate_miller
        Substrate facet.
    limits
        Strain, area and atom limits, thicknesses and strain partition.
    plane_tol, symprec
        Plane clustering (A) and symmetry (A) tolerances.
    film_charges, substrate_charges
        Formal charges by element (e); guessed when omitted.

    Returns
    -------
    list of MatchCandidate
        Best first.

    Raises
    ------
    StructureError
        For invalid materials or facets, or when no match meets the limits (the message
        gives the smallest strain available).
    """
    f = orient_bulk(film, film_miller, plane_tol=plane_tol, symprec=symprec, charges=film_charges)
    s = orient_bulk(
        substrate, substrate_miller, plane_tol=plane_tol, symprec=symprec, charges=substrate_charges
    )
    return lattice_matches(f, s, limits)
