"""Slab geometry checked against crystallography done by hand.

Expectations are derived from the lattice constants only (bcc Li a = 3.48 A, antifluorite
Li2S a = 5.69 A); the tolerances are numerical (1e-8 A on exact constructions).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure

from anodefree.errors import StructureError
from anodefree.structures.bulk import PROTOTYPES
from anodefree.structures.slabs import build_slab, slab_thickness_series, substitute_solutes
from anodefree.structures.terminations import enumerate_terminations, has_flip_symmetry

A_LI = PROTOTYPES["Li"].a
A_LI2S = PROTOTYPES["Li2S"].a
CHARGE = {"Li": 1.0, "S": -2.0}


def _dipole(structure: Structure) -> float:
    q = np.array([CHARGE[site.specie.symbol] for site in structure])
    z = structure.cart_coords[:, 2]
    return float(np.sum(q * (z - z.mean())))


def _area(structure: Structure) -> float:
    a, b, _ = structure.lattice.matrix
    return float(np.linalg.norm(np.cross(a, b)))


@pytest.mark.parametrize(
    ("miller", "spacing", "area"),
    [
        ((1, 0, 0), A_LI / 2, A_LI**2),
        ((1, 1, 0), A_LI / math.sqrt(2), A_LI**2 / math.sqrt(2)),
        ((1, 1, 1), A_LI / (2 * math.sqrt(3)), A_LI**2 * math.sqrt(3)),
    ],
)
def test_li_slab_geometry(miller, spacing, area):
    n = 7
    build = build_slab("Li", miller, n, vacuum=12.0)
    s, r = build.structure, build.record
    assert len(s) == n == r.n_atoms  # one atom per plane in the primitive in-plane cell
    assert r.area == pytest.approx(area, rel=1e-9)
    assert _area(s) == pytest.approx(area, rel=1e-9)
    z = np.sort(s.cart_coords[:, 2])
    assert np.allclose(np.diff(z), spacing, atol=1e-8)
    assert r.thickness == pytest.approx((n - 1) * spacing, abs=1e-8)
    assert s.lattice.c - np.ptp(z) == pytest.approx(12.0, abs=1e-8)
    assert r.vacuum == pytest.approx(12.0, abs=1e-8)
    # c is perpendicular to the surface
    a, b, c = s.lattice.matrix
    assert abs(np.dot(c, a)) < 1e-8
    assert abs(np.dot(c, b)) < 1e-8
    assert r.symmetric
    assert has_flip_symmetry(s)
    # nearest-neighbour distance of bcc: a sqrt(3) / 2
    dists = s.distance_matrix + np.eye(len(s)) * 99
    assert dists.min() == pytest.approx(A_LI * math.sqrt(3) / 2, abs=1e-8)


@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_li2s_111_trilayer_slab(n):
    build = build_slab("Li2S", (1, 1, 1), n)
    s, r = build.structure, build.record
    d = A_LI2S / math.sqrt(3)
    assert len(s) == 3 * n
    assert s.composition["Li"] == 2 * s.composition["S"] == 2 * n
    assert r.stoichiometric
    assert r.area == pytest.approx(math.sqrt(3) * A_LI2S**2 / 4, rel=1e-9)
    # each trilayer spans d/2 (Li at -d/4 and +d/4 of its S), trilayers repeat every d
    assert r.thickness == pytest.approx((n - 1) * d + d / 2, abs=1e-8)
    z = s.cart_coords[:, 2]
    symbols = [site.specie.symbol for site in s]
    assert symbols[int(np.argmin(z))] == "Li"
    assert symbols[int(np.argmax(z))] == "Li"
    # zero dipole perpendicular to the surface, from coordinates and formal charges
    assert abs(_dipole(s)) < 1e-8
    assert abs(r.dipole_per_area) < 1e-10
    assert r.symmetric


def test_polar_li2s_111_dipole_grows_with_thickness():
    polar = next(
        r.index for r in enumerate_terminations("Li2S", (1, 1, 1)) if r.tasker_type == "III"
    )
    with pytest.raises(StructureError, match="polar"):
        build_slab("Li2S", (1, 1, 1), 3, termination=polar)
    dipoles = [
        _dipole(
            build_slab(
                "Li2S", (1, 1, 1), n, termination=polar, allow_polar=True, allow_asymmetric=True
            ).structure
        )
        for n in (2, 4)
    ]
    area = math.sqrt(3) * A_LI2S**2 / 4
    # one unit carries 4/(3a) e/A per area (test_slabs_terminations), n units n times that
    assert abs(dipoles[0]) / area == pytest.approx(2 * 4 / (3 * A_LI2S), rel=1e-9)
    assert dipoles[1] == pytest.approx(2 * dipoles[0], rel=1e-9)


def test_thickness_series_records():
    series = slab_thickness_series("Li", (1, 1, 0), [9, 3, 5, 5], vacuum=10.0)
    assert [b.record.n_units for b in series] == [3, 5, 9]
    for b in series:
        assert b.record.n_atoms == len(b.structure) == b.record.n_units
        assert b.record.area == pytest.approx(A_LI**2 / math.sqrt(2), rel=1e-9)
        assert b.record.vacuum == pytest.approx(10.0, abs=1e-8)
        assert b.record.n_bulk_formula_units == b.record.n_atoms
    li2s = slab_thickness_series("Li2S", (1, 1, 1), [2, 3, 4])
    assert [b.record.n_atoms for b in li2s] == [6, 9, 12]
    assert all(b.record.termination.label == "Li-S-Li" for b in li2s)
    with pytest.raises(StructureError, match="n_units"):
        slab_thickness_series("Li", (1, 0, 0), [])
    with pytest.raises(StructureError, match="no acceptable termination"):
        slab_thickness_series("Li2S", (1, 0, 0), [3])


def test_fixed_middle_planes():
    build = build_slab("Li", (1, 0, 0), 7, n_fixed_planes=3, inplane_supercell=(2, 2))
    s = build.structure
    z = s.cart_coords[:, 2]
    levels = np.unique(z.round(6))
    central = set(levels[2:5])
    expected = {i for i in range(len(s)) if round(z[i], 6) in central}
    assert set(build.fixed_indices) == expected
    assert len(expected) == 3 * 4
    sd = s.site_properties["selective_dynamics"]
    assert all(sd[i] == [False] * 3 for i in expected)
    assert all(sd[i] == [True] * 3 for i in range(len(s)) if i not in expected)
    with pytest.raises(StructureError, match="n_fixed_planes=2"):
        build_slab("Li", (1, 0, 0), 7, n_fixed_planes=2)


def test_symmetric_alloy_slab():
    pure = build_slab("Li", (1, 0, 0), 7, inplane_supercell=(2, 2))
    alloy = substitute_solutes(pure, "Mg", depth=1)
    s = alloy.structure
    mg = [i for i, site in enumerate(s) if site.specie.symbol == "Mg"]
    assert len(mg) == 2
    z = s.cart_coords[:, 2]
    centre = 0.5 * (z.min() + z.max())
    zs = sorted(z[mg])
    assert zs[0] == pytest.approx(z.min(), abs=1e-8)
    assert zs[1] == pytest.approx(z.max(), abs=1e-8)
    assert centre - zs[0] == pytest.approx(zs[1] - centre, abs=1e-8)
    assert alloy.record.symmetric
    assert has_flip_symmetry(s)
    assert {x.layer for x in alloy.record.solutes} == {1}
    centre_alloy = substitute_solutes(pure, "Ag", depth=4)  # the centre plane of 7
    assert centre_alloy.structure.composition["Ag"] == 1
    with pytest.raises(StructureError, match="'Qq'"):
        substitute_solutes(pure, "Qq")
    with pytest.raises(StructureError, match="depth 5"):
        substitute_solutes(pure, "Mg", depth=5)
    with pytest.raises(StructureError, match="n_per_face=5"):
        substitute_solutes(pure, "Mg", n_per_face=5)


def test_b2_liag_slabs():
    good = build_slab("LiAg", (1, 1, 0), 4)
    assert good.record.symmetric
    assert good.structure.composition["Li"] == good.structure.composition["Ag"] == 4
    with pytest.raises(StructureError, match="faces differ"):
        build_slab("LiAg", (1, 0, 0), 3)
    asym = build_slab("LiAg", (1, 0, 0), 3, allow_asymmetric=True)
    assert asym.record.stoichiometric
    assert not asym.record.symmetric
    rich = build_slab("LiAg", (1, 0, 0), 3, extra_planes=1)
    assert rich.record.symmetric
    assert not rich.record.stoichiometric
    comp = rich.structure.composition
    assert comp["Li"] - comp["Ag"] == 1  # cut 0 has Li at the bottom: one extra Li plane


def test_relaxed_bulk_structure_input():
    a = 3.43  # e.g. an engine-relaxed lattice constant
    bulk = Structure(Lattice.cubic(a), ["Li", "Li"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    build = build_slab(bulk, (1, 0, 0), 5)
    assert build.record.area == pytest.approx(a**2, rel=1e-9)
    assert build.record.thickness == pytest.approx(4 * a / 2, abs=1e-8)


def test_bad_sizes():
    with pytest.raises(StructureError, match="n_units"):
        build_slab("Li", (1, 0, 0), 0)
    with pytest.raises(StructureError, match="termination 3"):
        build_slab("Li", (1, 0, 0), 3, termination=3)
