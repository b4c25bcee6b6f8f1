"""Li-Ag candidate structures: compositions, symmetries and neighbour shells."""

from __future__ import annotations

import numpy as np
import pytest
from pymatgen.analysis.structure_matcher import StructureMatcher
from pymatgen.core import Structure
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

from anodefree.errors import StructureError
from anodefree.structures.alloys import (
    GAMMA_BRASS_A_CU5ZN8,
    GAMMA_BRASS_PHASES,
    GammaBrassPhase,
    estimated_volume_per_atom,
    gamma_brass_frame,
    gamma_brass_ordering,
    gamma_brass_structure,
    gamma_site_indices,
    li3ag_d03,
    li3ag_l12,
    li_ag_candidates,
    liag_b2,
)
from anodefree.structures.bulk import bulk_structure

# Exact cell contents of the gamma phases: 13 atoms per formula unit, 4 formula units.
GAMMA_CONTENTS = {
    "Li8Ag5": (32, 20),
    "Li9Ag4": (36, 16),
    "Li10Ag3": (40, 12),
    "Li12Ag": (48, 4),
}


def _space_group(structure: Structure) -> str:
    return SpacegroupAnalyzer(structure, symprec=1e-3).get_space_group_symbol()


def _neighbour_shells(structure: Structure, index: int, n_shells: int) -> list[tuple[float, dict]]:
    """Distances and species counts of the first shells around site ``index``."""
    neighbours = structure.get_neighbors(structure[index], 0.8 * structure.lattice.a + 3)
    shells: list[tuple[float, dict]] = []
    for nb in sorted(neighbours, key=lambda n: n.nn_distance):
        if shells and abs(nb.nn_distance - shells[-1][0]) < 1e-3:
            counts = shells[-1][1]
        else:
            if len(shells) == n_shells:
                break
            shells.append((nb.nn_distance, {}))
            counts = shells[-1][1]
        counts[nb.specie.symbol] = counts.get(nb.specie.symbol, 0) + 1
    return shells


@pytest.mark.parametrize("name", list(GAMMA_CONTENTS))
def test_gamma_phase_has_exact_composition_and_i43m(name):
    n_li, n_ag = GAMMA_CONTENTS[name]
    structure = gamma_brass_structure(name)
    assert len(structure) == 52
    assert structure.composition["Li"] == pytest.approx(n_li)
    assert structure.composition["Ag"] == pytest.approx(n_ag)
    # The disordered structure keeps the full symmetry of the prototype.
    assert _space_group(structure) == "I-43m"
    phase = GAMMA_BRASS_PHASES[name]
    assert structure.is_ordered == phase.is_ordered


def test_ordered_parent_is_i43m_and_the_only_ordered_gamma():
    parent = gamma_brass_structure("Li8Ag5")
    assert parent.is_ordered
    assert _space_group(parent) == "I-43m"
    assert [n for n, p in GAMMA_BRASS_PHASES.items() if p.is_ordered] == ["Li8Ag5"]


def test_mixed_sites_follow_the_documented_assignment():
    assert GAMMA_BRASS_PHASES["Li9Ag4"].mixed_sites == ("OH",)
    assert GAMMA_BRASS_PHASES["Li10Ag3"].mixed_sites == ("OH",)
    assert GAMMA_BRASS_PHASES["Li12Ag"].mixed_sites == ("OT",)
    s = gamma_brass_structure("Li9Ag4")
    idx = gamma_site_indices(s)
    assert all(s[i].species.get_atomic_fraction("Ag") == pytest.approx(2 / 3) for i in idx["OH"])
    assert all(s[i].specie.symbol == "Ag" for i in idx["OT"])
    assert all(s[i].specie.symbol == "Li" for i in idx["IT"] + idx["CO"])


def test_frame_reproduces_cu5zn8():
    # Cu on OT + OH, Zn on IT + CO (Gourdon 2007 / AFLOW A5B8_cI52_217_ce_cg-001).
    frame = gamma_brass_frame(a=GAMMA_BRASS_A_CU5ZN8)
    idx = gamma_site_indices(frame)
    assert {k: len(v) for k, v in idx.items()} == {"IT": 8, "OT": 8, "OH": 12, "CO": 24}
    species = ["Zn"] * 52
    for i in idx["OT"] + idx["OH"]:
        species[i] = "Cu"
    cu5zn8 = Structure(frame.lattice, species, frame.frac_coords)
    assert cu5zn8.composition.get_el_amt_dict() == {"Cu": 20, "Zn": 32}
    assert _space_group(cu5zn8) == "I-43m"
    # Shortest Cu-Zn contact in gamma brass is ~2.55 A (0.287 a); a wrong Wyckoff
    # parameter would put atoms on top of each other. Window +-0.1 A.
    distances = cu5zn8.distance_matrix + np.eye(52) * 100
    assert 2.45 < distances.min() < 2.65
    # 26-atom cluster around the origin: IT at 1.66 A, OT 2.65 A, OH 3.16 A, CO 3.92 A
    # (from the Wyckoff parameters: x*sqrt(3)*a etc.).
    shells = {"IT": (1.655, 4), "OT": (2.645, 4), "OH": (3.155, 6), "CO": (3.920, 12)}
    for label, (radius, count) in shells.items():
        d = [
            frame.lattice.get_distance_and_image([0, 0, 0], frame[i].frac_coords)[0]
            for i in idx[label]
        ]
        assert sum(abs(x - radius) < 0.01 for x in d) == count


def test_gamma_ordering_composition_and_validation():
    idx = gamma_site_indices()
    ordering = gamma_brass_ordering("Li12Ag", idx["OT"][:4])
    assert ordering.is_ordered
    assert ordering.composition.reduced_formula == "Li12Ag"
    with pytest.raises(StructureError, match="not on a mixed site"):
        gamma_brass_ordering("Li12Ag", idx["OH"][:4])
    with pytest.raises(StructureError, match="needs 4 Ag"):
        gamma_brass_ordering("Li12Ag", idx["OT"][:3])


def test_custom_gamma_phase_is_checked():
    with pytest.raises(StructureError, match="unknown site"):
        GammaBrassPhase("bad", {"XX": 2})
    with pytest.raises(StructureError, match="multiplicity 8"):
        GammaBrassPhase("bad", {"IT": 9})
    with pytest.raises(StructureError, match="unknown gamma-brass phase"):
        gamma_brass_structure("Li7Ag")
    custom = GammaBrassPhase("Li11Ag2", {"IT": 8})
    assert gamma_brass_structure(custom).composition.reduced_formula == "Li11Ag2"


def test_b2_and_d03_and_l12_prototypes():
    assert _space_group(liag_b2()) == "Pm-3m"
    d03 = li3ag_d03(conventional=True)
    assert _space_group(d03) == "Fm-3m"
    assert len(d03) == 16
    assert d03.composition.reduced_formula == "Li3Ag"
    assert StructureMatcher().fit(d03, li3ag_d03())
    # D0_3: every Ag has 8 Li first neighbours (bcc 1st shell) and 6 Li second neighbours.
    ag = next(i for i, s in enumerate(d03) if s.specie.symbol == "Ag")
    (d1, shell1), (d2, shell2) = _neighbour_shells(d03, ag, 2)
    assert shell1 == {"Li": 8}
    assert shell2 == {"Li": 6}
    assert d2 / d1 == pytest.approx(2 / np.sqrt(3))
    # L1_2: every Ag has 12 Li nearest neighbours.
    l12 = li3ag_l12()
    assert _space_group(l12) == "Pm-3m"
    assert _neighbour_shells(l12, 0, 1)[0][1] == {"Li": 12}


def test_estimated_volume_interpolates_the_anchor_phases():
    v_li = bulk_structure("Li").volume
    v_ag = bulk_structure("Ag").volume
    assert estimated_volume_per_atom(1.0) == pytest.approx(v_li)
    assert estimated_volume_per_atom(0.0) == pytest.approx(v_ag)
    assert estimated_volume_per_atom(0.5) == pytest.approx(liag_b2().volume / 2)
    assert estimated_volume_per_atom(0.75) == pytest.approx((liag_b2().volume / 2 + v_li) / 2)
    with pytest.raises(StructureError, match=r"1\.5"):
        estimated_volume_per_atom(1.5)
    with pytest.raises(StructureError, match="-1"):
        liag_b2(a=-1)


def test_candidates_cover_the_named_ordered_phases():
    candidates = li_ag_candidates()
    phases = {c.phase for c in candidates}
    assert {"Li", "Ag", "LiAg", "Li3Ag"} <= phases
    assert len({c.label for c in candidates}) == len(candidates)
    assert all(c.structure.is_ordered for c in candidates)
