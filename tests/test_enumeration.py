"""Enumeration of derivative superstructures and gamma-brass decorations, and prescreening."""

from __future__ import annotations

import itertools
from collections import Counter

import numpy as np
import pytest
from pymatgen.analysis.structure_matcher import StructureMatcher
from pymatgen.core import Lattice, Structure

from anodefree.errors import StructureError
from anodefree.structures.alloys import (
    GAMMA_BRASS_PHASES,
    estimated_volume_per_atom,
    gamma_brass_ordering,
    gamma_site_indices,
    liag_b2,
)
from anodefree.structures.enumeration import (
    count_distinct_decorations,
    enumerate_derivative_superstructures,
    enumerate_gamma_decorations,
    ewald_proxy_energy,
    gamma_frame_permutations,
    prescreen,
    single_point_energy,
)
from anodefree.workflows.engines.registry import get_engine

# Binary derivative superstructures of fcc per cell size n = 2..7, counting structures that
# differ only by swapping the two species once and excluding superperiodic ones: the
# Hart-Forcade numbers (Phys. Rev. B 77, 224115 (2008)) as reproduced by the independent
# enumerator dsenum (lan496/dsenum, tests/test_enumeration.py, FCC_BINARY_COUNTS).
FCC_BINARY_COUNTS_SWAP_REDUCED = {2: 2, 3: 3, 4: 12, 5: 14, 6: 50, 7: 52}


def _strict_matcher() -> StructureMatcher:
    # Ideal lattice positions: equivalent structures match exactly, so tight tolerances.
    return StructureMatcher(ltol=0.01, stol=0.01, angle_tol=0.1, scale=False)


def _swapped(structure: Structure) -> Structure:
    swapped = structure.copy()
    swapped.replace_species({"Li": "Na"})
    swapped.replace_species({"Ag": "Li"})
    swapped.replace_species({"Na": "Ag"})
    return swapped


def test_fcc_counts_match_hart_forcade():
    enumeration = enumerate_derivative_superstructures("fcc", 7, min_size=2)
    by_size: dict[int, list[Structure]] = {}
    for candidate in enumeration.candidates:
        by_size.setdefault(len(candidate.structure), []).append(candidate.structure)
    assert {n: len(v) for n, v in by_size.items()} == enumeration.counts.per_size
    matcher = _strict_matcher()
    for n, structures in by_size.items():
        # icet keeps Li_kAg_{n-k} and Li_{n-k}Ag_k apart; reduce by the Li <-> Ag swap. For
        # k != n/2 the swap pairs structures of different compositions one to one; at
        # k = n/2 a structure may be its own swap image.
        half = [s for s in structures if s.composition["Li"] == n / 2]
        self_images = sum(matcher.fit(s, _swapped(s)) for s in half)
        reduced = (len(structures) - len(half)) // 2 + (len(half) + self_images) // 2
        assert reduced == FCC_BINARY_COUNTS_SWAP_REDUCED[n], f"n = {n}"


def _hnf_matrices(n: int) -> list[np.ndarray]:
    """All Hermite normal forms of determinant n (every sublattice of index n once)."""
    matrices = []
    for a in range(1, n + 1):
        for c in range(1, n + 1):
            if n % (a * c):
                continue
            f = n // (a * c)
            for b, d, e in itertools.product(range(c), range(f), range(f)):
                matrices.append(np.array([[a, 0, 0], [b, c, 0], [d, e, f]]))
    return matrices


def _brute_force_binary_count(primitive: Lattice, n: int) -> int:
    """Distinct non-superperiodic binary decorations of every index-n supercell."""
    candidates = []
    for hnf in _hnf_matrices(n):
        supercell = Lattice(hnf.T @ primitive.matrix)
        points = []
        for shift in itertools.product(range(-n, n + 1), repeat=3):
            frac = supercell.get_fractional_coords(np.array(shift) @ primitive.matrix)
            if np.all(frac > -1e-8) and np.all(frac < 1 - 1e-8):
                points.append(frac)
        assert len(points) == n
        for labels in itertools.product(["Li", "Ag"], repeat=n):
            structure = Structure(supercell, list(labels), points)
            if len(set(labels)) == 2 and len(structure.get_primitive_structure()) == n:
                candidates.append(structure)
    return len(_strict_matcher().group_structures(candidates))


BCC_PRIMITIVE = Lattice([[-1.6, 1.6, 1.6], [1.6, -1.6, 1.6], [1.6, 1.6, -1.6]])


@pytest.mark.parametrize("n", [2, 3])
def test_bcc_counts_match_brute_force(n):
    # Independent route: decorate every supercell of index n and group with pymatgen.
    counts = enumerate_derivative_superstructures("bcc", n, min_size=n).counts
    assert counts.per_size[n] == _brute_force_binary_count(BCC_PRIMITIVE, n)


@pytest.mark.slow
def test_bcc_counts_match_brute_force_size_4():
    counts = enumerate_derivative_superstructures("bcc", 4, min_size=4).counts
    assert counts.per_size[4] == _brute_force_binary_count(BCC_PRIMITIVE, 4) == 19


def test_symmetry_distinct_supercells_match_hart_forcade_table():
    # Hart & Forcade (2008) Table IV / OEIS A045790: symmetry-distinct superlattices of fcc
    # and bcc (identical for both) of index 1..10.
    from ase.build import bulk
    from icet.tools import enumerate_supercells

    expected = [1, 2, 3, 7, 5, 10, 7, 20, 14, 18]
    for lattice in ("fcc", "bcc"):
        counts = [
            len(list(enumerate_supercells(bulk("Ag", lattice, a=4.0), [n]))) for n in range(1, 11)
        ]
        assert counts == expected, lattice


def test_derivative_enumeration_options_and_volumes():
    full = enumerate_derivative_superstructures("bcc", 4)
    assert full.counts.per_size[1] == 0  # pure elements left out by default
    with_pure = enumerate_derivative_superstructures("bcc", 1, include_pure=True)
    assert sorted(c.phase for c in with_pure.candidates) == ["Ag", "Li"]
    li_rich = enumerate_derivative_superstructures("bcc", 4, li_fraction_range=(0.7, 1.0))
    fractions = {c.structure.composition.get_atomic_fraction("Li") for c in li_rich.candidates}
    assert fractions == {0.75}
    assert li_rich.counts.n_enumerated == sum(
        1 for c in full.candidates if c.structure.composition.get_atomic_fraction("Li") == 0.75
    )
    for candidate in full.candidates:
        s = candidate.structure
        volume = estimated_volume_per_atom(s.composition.get_atomic_fraction("Li"))
        assert s.volume / len(s) == pytest.approx(volume)
    labels = [c.label for c in full.candidates]
    assert len(set(labels)) == len(labels)
    with pytest.raises(StructureError, match="hcp"):
        enumerate_derivative_superstructures("hcp", 2)
    with pytest.raises(StructureError, match="max_size"):
        enumerate_derivative_superstructures("fcc", 0)
    with pytest.raises(StructureError, match="li_fraction_range"):
        enumerate_derivative_superstructures("fcc", 2, li_fraction_range=(0.8, 0.2))


def test_gamma_frame_has_the_48_operations_of_i43m():
    perms = gamma_frame_permutations()
    # I-43m: 24 point operations x 2 centring translations in the cubic cell.
    assert perms.shape == (48, 52)
    assert len({tuple(p) for p in perms}) == 48
    labels = gamma_site_indices()
    for sites in labels.values():  # each operation maps every Wyckoff orbit onto itself
        assert all(set(p[sites]) == set(sites) for p in perms)


@pytest.mark.parametrize("name", ["Li9Ag4", "Li10Ag3", "Li12Ag", "Li8Ag5"])
def test_gamma_decorations_count_and_orbits(name):
    phase = GAMMA_BRASS_PHASES[name]
    enumeration = enumerate_gamma_decorations(name)
    counts = enumeration.counts
    assert counts.exhaustive
    # Burnside's lemma and the explicit orbit enumeration agree ...
    assert counts.n_enumerated == counts.n_distinct == count_distinct_decorations(name)
    # ... and the orbit sizes add up to all raw decorations (orbit-stabilizer theorem).
    assert sum(c.multiplicity for c in enumeration.candidates) == phase.n_raw_decorations
    for candidate in enumeration.candidates:
        assert len(candidate.structure) == 52
        assert candidate.structure.is_ordered
        assert candidate.structure.composition.reduced_formula == name
        assert 48 % candidate.multiplicity == 0


def test_gamma_decoration_counts_are_the_known_ones():
    # C(12,4) = 495 and C(8,4) = 70 raw decorations; numbers of orbits measured with this
    # code and cross-checked by Burnside above and by pymatgen in the slow test below.
    assert GAMMA_BRASS_PHASES["Li9Ag4"].n_raw_decorations == 495
    assert GAMMA_BRASS_PHASES["Li12Ag"].n_raw_decorations == 70
    # Li9Ag4 (4 Li on 12 OH) and Li10Ag3 (4 Ag on 12 OH) are complements: same orbit count.
    assert count_distinct_decorations("Li9Ag4") == count_distinct_decorations("Li10Ag3")


@pytest.mark.slow
def test_li12ag_orbits_agree_with_pymatgen_matcher():
    ot = gamma_site_indices()["OT"]
    raw = [gamma_brass_ordering("Li12Ag", ag) for ag in itertools.combinations(ot, 4)]
    groups = StructureMatcher(primitive_cell=False, scale=False).group_structures(raw)
    enumeration = enumerate_gamma_decorations("Li12Ag")
    assert sorted(len(g) for g in groups) == sorted(c.multiplicity for c in enumeration.candidates)


def test_gamma_sampling_is_reproducible_and_a_subset():
    exhaustive = {c.note for c in enumerate_gamma_decorations("Li9Ag4").candidates}
    first = enumerate_gamma_decorations("Li9Ag4", max_exhaustive=10, n_samples=15, seed=3)
    second = enumerate_gamma_decorations("Li9Ag4", max_exhaustive=10, n_samples=15, seed=3)
    notes = [c.note for c in first.candidates]
    assert notes == [c.note for c in second.candidates]
    assert set(notes) <= exhaustive
    assert first.counts.n_distinct == len(exhaustive)
    assert first.counts.n_enumerated == len(notes) <= 15
    assert first.counts.exhaustive == (len(notes) == len(exhaustive))
    with pytest.raises(StructureError, match="positive"):
        enumerate_gamma_decorations("Li9Ag4", n_samples=0)


def test_ewald_proxy_of_b2_is_the_cscl_madelung_energy():
    # Charges +-1/2 on CsCl: E per ion pair = -alpha q^2 e^2 / (4 pi eps0 r0) with the
    # Madelung constant alpha = 1.762675 referred to the nearest-neighbour distance
    # r0 = sqrt(3)/2 a, and e^2 / (4 pi eps0) = 14.399645 eV A. Ewald sums converge to
    # ~1e-6 relative, so 1e-5 relative is safe.
    a = 3.168
    r0 = np.sqrt(3) / 2 * a
    expected_per_atom = -1.762675 * 0.25 * 14.399645 / r0 / 2
    assert ewald_proxy_energy(liag_b2(a=a)) == pytest.approx(expected_per_atom, rel=1e-5)
    with pytest.raises(StructureError, match="ordered Li-Ag"):
        ewald_proxy_energy(Structure(Lattice.cubic(3), ["Na"], [[0, 0, 0]]))


def test_prescreen_keeps_the_lowest_per_composition():
    candidates = enumerate_derivative_superstructures("bcc", 3).candidates
    result = prescreen(candidates, keep=1, method="ewald")
    report = result.report
    compositions = Counter(c.structure.composition.reduced_formula for c in candidates)
    assert report.groups == dict(compositions)
    assert report.n_enumerated == report.n_prescreened == len(candidates)
    assert report.n_selected == len(result.selected) == len(compositions)
    scores = {s.label: s.score for s in report.scores}
    for kept in result.selected:
        group = kept.structure.composition.reduced_formula
        same = [c for c in candidates if c.structure.composition.reduced_formula == group]
        assert scores[kept.label] == min(scores[c.label] for c in same)
    # B2 (maximal Li-Ag contacts) is the lowest Ewald energy at LiAg.
    kept_liag = next(c for c in result.selected if c.phase == "LiAg")
    assert _strict_matcher().fit(kept_liag.structure, liag_b2(a=kept_liag.structure.lattice.a))


def test_prescreen_single_point_uses_the_calculator():
    engine = get_engine("morse")
    candidates = [
        c for c in enumerate_derivative_superstructures("bcc", 4).candidates if c.phase == "LiAg"
    ]
    result = prescreen(
        candidates, keep=2, calculator=engine.calculator(), provenance=engine.provenance()
    )
    assert result.report.method == "single_point"
    assert result.report.provenance == engine.provenance()
    direct = sorted(single_point_energy(c.structure, engine.calculator()) for c in candidates)
    assert [s.score for s in sorted(result.report.scores, key=lambda s: s.rank)] == pytest.approx(
        direct
    )
    assert len(result.selected) == 2
    with pytest.raises(StructureError, match="needs an ASE calculator"):
        prescreen(candidates, keep=1, method="single_point")
    with pytest.raises(StructureError, match="keep"):
        prescreen(candidates, keep=0)
