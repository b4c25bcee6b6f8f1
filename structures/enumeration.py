"""Enumerate Li-Ag orderings and prescreen them cheaply before relaxation.

Three steps, each a plain function (no workflow engine needed):

1. :func:`enumerate_derivative_superstructures` - all symmetry-distinct binary derivative
   superstructures of bcc or fcc up to a user-set number of atoms per cell, with icet's
   implementation of the Hart-Forcade algorithm (Phys. Rev. B 77, 224115 (2008); enumlib is
   not installable here). Structures related by swapping Li and Ag are both kept (they are
   different compounds).
2. :func:`enumerate_gamma_decorations` - the symmetry-distinct Li/Ag decorations of the mixed
   sites of a gamma-brass phase in its 52-atom cell, by orbit enumeration under the 48
   operations of I-43m (24 point operations times the body-centring translation). Each
   decoration records its multiplicity (orbit size). When the number of raw decorations
   exceeds a cap, random decorations are drawn and reduced to their canonical
   representatives instead; the exact number of distinct decorations is always reported
   (Burnside's lemma).
3. :func:`prescreen` - a cheap energy for every candidate (a single-point energy with any ASE
   calculator on the ideal, unrelaxed structure, or an Ewald energy of compensating point
   charges), keeping the lowest ``keep`` per composition for relaxation. The returned
   :class:`PrescreenReport` holds the counts enumerated, prescreened and selected.
"""

from __future__ import annotations

import random
import time
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import BaseModel, Field
from pymatgen.io.ase import AseAtomsAdaptor
from rich.progress import track

from anodefree.errors import StructureError
from anodefree.provenance import CalculatorProvenance
from anodefree.structures.alloys import (
    GAMMA_SITE_PROPERTY,
    CandidateStructure,
    GammaBrassPhase,
    gamma_brass_frame,
    gamma_brass_lattice_constant,
    gamma_brass_ordering,
    gamma_brass_phase,
    gamma_site_indices,
    scale_to_estimated_volume,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ase.calculators.calculator import Calculator
    from pymatgen.core import Structure

ParentLattice = Literal["bcc", "fcc"]
PrescreenMethod = Literal["single_point", "ewald"]

#: Symmetry tolerance (fractional coordinates) for the gamma-brass frame.
_SYMPREC = 1e-4


# --------------------------------------------------------------------------------------------
# Derivative superstructures of bcc and fcc
# --------------------------------------------------------------------------------------------


class EnumerationCounts(BaseModel):
    """How many structures an enumeration produced."""

    source: str = Field(description="What was enumerated, e.g. 'bcc derivatives, 1-4 atoms'.")
    per_size: dict[int, int] = Field(
        default_factory=dict,
        description="Number of structures per cell size (atoms per cell -> count).",
    )
    n_distinct: int = Field(
        description="Exact number of symmetry-distinct structures in the enumeration space."
    )
    n_enumerated: int = Field(
        description="Number of distinct structures actually generated (equals n_distinct "
        "unless the enumeration was sampled)."
    )
    exhaustive: bool = Field(description="Whether every distinct structure was generated.")
    wall_time_s: float = Field(description="Wall time of the enumeration in s.")


@dataclass(frozen=True)
class Enumeration:
    """Structures from one enumeration and their counts."""

    candidates: list[CandidateStructure]
    counts: EnumerationCounts


def _parent_atoms(lattice: ParentLattice):  # noqa: ANN202 - ase Atoms, imported lazily
    from ase.build import bulk

    if lattice not in ("bcc", "fcc"):
        raise StructureError(f"parent lattice must be 'bcc' or 'fcc', got {lattice!r}")
    # Unit-ish lattice constant; every structure is rescaled to its estimated volume.
    return bulk("Ag", lattice, a=4.0 if lattice == "fcc" else 3.2)


def enumerate_derivative_superstructures(
    lattice: ParentLattice,
    max_size: int,
    *,
    min_size: int = 1,
    li_fraction_range: tuple[float, float] | None = None,
    include_pure: bool = False,
    progress: bool = False,
) -> Enumeration:
    """Enumerate the binary Li-Ag derivative superstructures of bcc or fcc.

    Parameters
    ----------
    lattice
        ``"bcc"`` or ``"fcc"``.
    max_size
        Largest number of atoms per cell (the Hart-Forcade index).
    min_size
        Smallest number of atoms per cell.
    li_fraction_range
        Keep only structures whose Li atomic fraction lies in this closed interval.
    include_pure
        Also return the pure-element structures (bcc Ag, fcc Li, ...), which icet yields at
        size 1.
    progress
        Show a progress bar.

    Returns
    -------
    Enumeration
        The structures (scaled to the Vegard-like volume of their composition, see
        :func:`anodefree.structures.alloys.estimated_volume_per_atom`) and their counts.

    Raises
    ------
    StructureError
        For a bad lattice, size range or composition range.
    """
    from icet.tools import enumerate_structures

    if not isinstance(max_size, int) or max_size < 1:
        raise StructureError(f"max_size must be a positive integer, got {max_size!r}")
    if not isinstance(min_size, int) or not 1 <= min_size <= max_size:
        raise StructureError(f"min_size must lie in [1, max_size={max_size}], got {min_size!r}")
    restrictions = None
    if li_fraction_range is not None:
        low, high = li_fraction_range
        if not 0.0 <= low <= high <= 1.0:
            raise StructureError(
                f"li_fraction_range must satisfy 0 <= low <= high <= 1, got {li_fraction_range!r}"
            )
        restrictions = {"Li": (low, high)}
    parent = _parent_atoms(lattice)
    adaptor = AseAtomsAdaptor()
    start = time.perf_counter()
    candidates: list[CandidateStructure] = []
    per_size: dict[int, int] = {}
    sizes = range(min_size, max_size + 1)
    for size in track(sizes, description=f"{lattice} derivatives", disable=not progress):
        n_here = 0
        for atoms in enumerate_structures(
            parent, [size], ["Li", "Ag"], concentration_restrictions=restrictions
        ):
            symbols = set(atoms.get_chemical_symbols())
            if not include_pure and len(symbols) < 2:
                continue
            structure = scale_to_estimated_volume(adaptor.get_structure(atoms))
            label = f"{lattice}-{size}-{n_here}-{structure.composition.reduced_formula}"
            candidates.append(
                CandidateStructure(
                    label,
                    structure.composition.reduced_formula,
                    structure,
                    f"{lattice}-derivative",
                    f"{lattice} derivative superstructure, {size} atoms per cell",
                )
            )
            n_here += 1
        per_size[size] = n_here
    total = sum(per_size.values())
    counts = EnumerationCounts(
        source=f"{lattice} derivative superstructures, {min_size}-{max_size} atoms per cell",
        per_size=per_size,
        n_distinct=total,
        n_enumerated=total,
        exhaustive=True,
        wall_time_s=time.perf_counter() - start,
    )
    return Enumeration(candidates, counts)


# --------------------------------------------------------------------------------------------
# Gamma-brass decorations
# --------------------------------------------------------------------------------------------


def gamma_frame_permutations(frame: Structure | None = None) -> np.ndarray:
    """Site permutations of the 52-site gamma frame under its space-group operations.

    Parameters
    ----------
    frame
        The frame from :func:`anodefree.structures.alloys.gamma_brass_frame` (built if
        omitted). The Wyckoff labels, not the species, define the symmetry.

    Returns
    -------
    numpy.ndarray
        Integer array of shape (number of operations, 52): row ``g`` maps site ``i`` to
        site ``perm[g, i]``. For I-43m in the cubic cell there are 48 operations.
    """
    import spglib

    if frame is None:
        return _default_frame_permutations().copy()
    labels = frame.site_properties[GAMMA_SITE_PROPERTY]
    types = [sorted(set(labels)).index(label) for label in labels]
    frac = np.mod(frame.frac_coords, 1.0)
    cell = (frame.lattice.matrix, frac, types)
    symmetry = spglib.get_symmetry(cell, symprec=_SYMPREC * frame.lattice.a)
    perms = []
    for rotation, translation in zip(symmetry["rotations"], symmetry["translations"], strict=True):
        image = np.mod(frac @ rotation.T + translation, 1.0)
        delta = image[:, None, :] - frac[None, :, :]
        delta -= np.round(delta)
        distance = np.linalg.norm(delta, axis=2)
        target = distance.argmin(axis=1)
        if distance[np.arange(len(frac)), target].max() > 1e-3 or len(set(target)) != len(frac):
            raise StructureError("gamma frame: a symmetry operation does not permute the sites")
        perms.append(target)
    return np.array(perms, dtype=int)


@lru_cache(maxsize=1)
def _default_frame_permutations() -> np.ndarray:
    return gamma_frame_permutations(gamma_brass_frame())


def _canonical(ag: tuple[int, ...], perms: np.ndarray) -> tuple[int, ...]:
    images = np.sort(perms[:, list(ag)], axis=1)
    # Lexicographic minimum over the rows.
    order = np.lexsort(images.T[::-1])
    return tuple(int(i) for i in images[order[0]])


def _stabilizer_order(ag: tuple[int, ...], perms: np.ndarray) -> int:
    images = np.sort(perms[:, list(ag)], axis=1)
    return int(np.all(images == np.array(sorted(ag)), axis=1).sum())


def _cycle_lengths(perm: np.ndarray, subset: list[int]) -> list[int]:
    seen: set[int] = set()
    lengths = []
    for start in subset:
        if start in seen:
            continue
        length, i = 0, start
        while i not in seen:
            seen.add(i)
            i = int(perm[i])
            length += 1
        lengths.append(length)
    return lengths


def _fixed_count(cycle_lengths: list[int], k: int) -> int:
    # Coefficient of t^k in prod_c (1 + t^|c|): choose whole cycles holding k sites.
    poly = np.zeros(k + 1, dtype=object)
    poly[0] = 1
    for length in cycle_lengths:
        new = poly.copy()
        new[length:] += poly[: k + 1 - length] if length <= k else 0
        poly = new
    return int(poly[k])


def count_distinct_decorations(
    phase: str | GammaBrassPhase, perms: np.ndarray | None = None
) -> int:
    """Exact number of symmetry-distinct decorations of a gamma phase (Burnside's lemma).

    Parameters
    ----------
    phase
        A gamma-brass phase name or object.
    perms
        Site permutations of the frame (:func:`gamma_frame_permutations`).

    Returns
    -------
    int
        The number of orbits of the raw decorations under the space group.
    """
    phase = gamma_brass_phase(phase)
    if phase.is_ordered:
        return 1
    perms = gamma_frame_permutations() if perms is None else perms
    indices = gamma_site_indices()
    total = 0
    for perm in perms:
        fixed = 1
        for label in phase.mixed_sites:
            fixed *= _fixed_count(_cycle_lengths(perm, indices[label]), phase.n_ag(label))
        total += fixed
    if total % len(perms):  # pragma: no cover - would mean the permutations are not a group
        raise StructureError("Burnside count is not an integer: the operations are not a group")
    return total // len(perms)


def _raw_decorations(phase: GammaBrassPhase, indices: dict[str, list[int]]):  # noqa: ANN202
    per_site = [combinations(indices[label], phase.n_ag(label)) for label in phase.mixed_sites]
    if not per_site:
        yield ()
        return
    # Cartesian product of the per-site choices, flattened.
    from itertools import product

    for parts in product(*(list(c) for c in per_site)):
        yield tuple(sorted(i for part in parts for i in part))


def _random_decoration(
    phase: GammaBrassPhase, indices: dict[str, list[int]], rng: random.Random
) -> tuple[int, ...]:
    chosen: list[int] = []
    for label in phase.mixed_sites:
        chosen += rng.sample(indices[label], phase.n_ag(label))
    return tuple(sorted(chosen))


def enumerate_gamma_decorations(
    phase: str | GammaBrassPhase,
    *,
    max_exhaustive: int = 200_000,
    n_samples: int = 5_000,
    seed: int = 0,
    a: float | None = None,
    progress: bool = False,
) -> Enumeration:
    """Enumerate the symmetry-distinct orderings of a gamma-brass phase's mixed sites.

    Parameters
    ----------
    phase
        ``Li9Ag4``, ``Li10Ag3``, ``Li12Ag`` (or an ordered phase, which gives one structure),
        or a custom :class:`~anodefree.structures.alloys.GammaBrassPhase`.
    max_exhaustive
        Enumerate every raw decoration if there are at most this many; otherwise sample.
    n_samples
        Number of random raw decorations drawn when sampling.
    seed
        Seed of the random sampling (reproducible).
    a
        Cubic lattice constant in A (default: Vegard-like estimate).
    progress
        Show a progress bar.

    Returns
    -------
    Enumeration
        One ordered 52-atom structure per distinct decoration found (its multiplicity is the
        orbit size in the cell), ordered by canonical form, and the counts.

    Raises
    ------
    StructureError
        For non-positive ``max_exhaustive`` or ``n_samples``.
    """
    if max_exhaustive < 1 or n_samples < 1:
        raise StructureError(
            f"max_exhaustive and n_samples must be positive, got {max_exhaustive!r}, {n_samples!r}"
        )
    phase = gamma_brass_phase(phase)
    a = gamma_brass_lattice_constant(phase) if a is None else a
    start = time.perf_counter()
    indices = gamma_site_indices()
    perms = gamma_frame_permutations()
    n_distinct = count_distinct_decorations(phase, perms)
    exhaustive = phase.n_raw_decorations <= max_exhaustive
    if exhaustive:
        raw = _raw_decorations(phase, indices)
        n_draw = phase.n_raw_decorations
    else:
        rng = random.Random(seed)  # noqa: S311 - sampling, not cryptography
        raw = (_random_decoration(phase, indices, rng) for _ in range(n_samples))
        n_draw = n_samples
    canonical: set[tuple[int, ...]] = set()
    for ag in track(
        raw, total=n_draw, description=f"{phase.name} decorations", disable=not progress
    ):
        canonical.add(_canonical(ag, perms) if ag else ag)
    candidates = []
    for number, ag in enumerate(sorted(canonical)):
        multiplicity = len(perms) // _stabilizer_order(ag, perms) if ag else 1
        structure = gamma_brass_ordering(phase, ag, a=a)
        candidates.append(
            CandidateStructure(
                f"{phase.name}-gamma-{number}",
                phase.name,
                structure,
                "gamma-decoration",
                f"Ag on mixed-site indices {list(ag)}",
                multiplicity=multiplicity,
            )
        )
    counts = EnumerationCounts(
        source=f"{phase.name} gamma-brass decorations of {', '.join(phase.mixed_sites) or 'no'} "
        f"mixed sites ({phase.n_raw_decorations} raw)",
        per_size={52: len(candidates)},
        n_distinct=n_distinct,
        n_enumerated=len(candidates),
        exhaustive=exhaustive or len(candidates) == n_distinct,
        wall_time_s=time.perf_counter() - start,
    )
    return Enumeration(candidates, counts)


# --------------------------------------------------------------------------------------------
# Prescreening
# --------------------------------------------------------------------------------------------


class PrescreenScore(BaseModel):
    """The cheap energy of one candidate."""

    label: str = Field(description="Candidate label.")
    group: str = Field(description="Composition group (reduced formula).")
    score: float = Field(
        description="Prescreen energy in eV/atom (single-point energy per atom, or Ewald "
        "energy per atom of the compensating point charges)."
    )
    rank: int = Field(description="Rank within its group, 0 = lowest.")
    selected: bool = Field(description="Whether it is kept for relaxation.")


class PrescreenReport(BaseModel):
    """Counts and scores of one prescreening."""

    method: str = Field(description="'single_point' (ASE calculator) or 'ewald'.")
    provenance: CalculatorProvenance | None = Field(
        None, description="The calculator of the single-point energies (None for Ewald)."
    )
    keep_per_group: int = Field(description="Candidates kept per composition group.")
    n_enumerated: int = Field(description="Candidates handed to the prescreen.")
    n_prescreened: int = Field(description="Candidates whose prescreen energy was computed.")
    n_selected: int = Field(description="Candidates kept for relaxation.")
    groups: dict[str, int] = Field(
        default_factory=dict, description="Candidates per composition group."
    )
    scores: list[PrescreenScore] = Field(default_factory=list, description="Every score.")
    wall_time_s: float = Field(description="Wall time of the prescreen in s.")


@dataclass(frozen=True)
class PrescreenResult:
    """The candidates kept for relaxation and the report."""

    selected: list[CandidateStructure]
    report: PrescreenReport


def ewald_proxy_energy(structure: Structure) -> float:
    """Ewald energy per atom (eV/atom) of compensating point charges on a Li-Ag structure.

    Li carries ``+c_Ag`` and Ag ``-c_Li`` elementary charges (``c`` the atomic fractions), so
    every composition is neutral. At fixed composition the energy favours Li-Ag neighbours:
    a crude proxy of the ordering energy of an alloy with negative mixing enthalpy, used only
    to rank decorations of one composition (the same idea as pymatgen's
    ``EnumerateStructureTransformation`` sorting by Ewald energy).

    Parameters
    ----------
    structure
        An ordered Li-Ag structure.

    Returns
    -------
    float
        Energy in eV/atom.
    """
    from pymatgen.analysis.ewald import EwaldSummation

    composition = structure.composition
    elements = {el.symbol for el in composition.elements}
    if not elements <= {"Li", "Ag"} or not structure.is_ordered:
        raise StructureError(
            f"Ewald proxy needs an ordered Li-Ag structure, got {composition.formula}"
        )
    c_li = composition.get_atomic_fraction("Li")
    charged = structure.copy()
    charged.add_oxidation_state_by_element({"Li": 1.0 - c_li, "Ag": -c_li})
    if c_li in (0.0, 1.0):
        return 0.0
    return float(EwaldSummation(charged).total_energy) / len(structure)


def single_point_energy(structure: Structure, calculator: Calculator) -> float:
    """Energy per atom (eV/atom) of ``structure`` as it is, with an ASE calculator."""
    atoms = AseAtomsAdaptor().get_atoms(structure)
    atoms.calc = calculator
    return float(atoms.get_potential_energy()) / len(atoms)


def prescreen(
    candidates: Sequence[CandidateStructure],
    *,
    keep: int,
    method: PrescreenMethod | None = None,
    calculator: Calculator | None = None,
    provenance: CalculatorProvenance | None = None,
    group_by_composition: bool = True,
    progress: bool = False,
) -> PrescreenResult:
    """Rank candidates by a cheap energy and keep the lowest ones for relaxation.

    Parameters
    ----------
    candidates
        Ordered Li-Ag candidates (from the enumerations).
    keep
        Number kept per composition group (or in total if ``group_by_composition`` is off).
    method
        ``"single_point"`` (needs ``calculator``) or ``"ewald"``; default: single point if a
        calculator is given, else Ewald.
    calculator
        ASE calculator of the single-point energies (e.g. ``engine.calculator()``).
    provenance
        The calculator's provenance, recorded in the report.
    group_by_composition
        Rank within each composition (energies per atom of different compositions are not
        comparable without a hull).
    progress
        Show a progress bar.

    Returns
    -------
    PrescreenResult
        The kept candidates (lowest first within each group) and the report.

    Raises
    ------
    StructureError
        For ``keep < 1``, an unknown method or a single point without a calculator.
    """
    if keep < 1:
        raise StructureError(f"keep must be at least 1, got {keep!r}")
    method = method or ("single_point" if calculator is not None else "ewald")
    if method not in ("single_point", "ewald"):
        raise StructureError(f"unknown prescreen method {method!r}; use 'single_point' or 'ewald'")
    if method == "single_point" and calculator is None:
        raise StructureError("prescreen method 'single_point' needs an ASE calculator")
    start = time.perf_counter()
    scores: dict[str, float] = {}
    for candidate in track(candidates, description=f"prescreen ({method})", disable=not progress):
        if method == "single_point":
            scores[candidate.label] = single_point_energy(candidate.structure, calculator)
        else:
            scores[candidate.label] = ewald_proxy_energy(candidate.structure)
    groups: dict[str, list[CandidateStructure]] = defaultdict(list)
    for candidate in candidates:
        key = candidate.structure.composition.reduced_formula if group_by_composition else "all"
        groups[key].append(candidate)
    selected: list[CandidateStructure] = []
    rows: list[PrescreenScore] = []
    for key, members in groups.items():
        ranked = sorted(members, key=lambda c: scores[c.label])
        selected += ranked[:keep]
        rows += [
            PrescreenScore(
                label=c.label, group=key, score=scores[c.label], rank=rank, selected=rank < keep
            )
            for rank, c in enumerate(ranked)
        ]
    report = PrescreenReport(
        method=method,
        provenance=provenance if method == "single_point" else None,
        keep_per_group=keep,
        n_enumerated=len(candidates),
        n_prescreened=len(scores),
        n_selected=len(selected),
        groups={key: len(members) for key, members in groups.items()},
        scores=rows,
        wall_time_s=time.perf_counter() - start,
    )
    return PrescreenResult(selected, report)
