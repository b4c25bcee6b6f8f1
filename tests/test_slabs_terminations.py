"""Termination enumeration and polarity, checked against hand counts and closed forms.

Hand counts (planes of one period along the normal, see structures/terminations.py):
- bcc Li: a Bravais lattice, every lattice plane is a translate of every other, so any
  facet has exactly one termination, Tasker type I (no charges).
- Li2S(111): S(0), Li(d/4), Li(3d/4) with d = a/sqrt(3): three cuts; the cut in the wide
  Li-Li gap gives Li-S-Li trilayers (symmetric, type II); the two cuts in narrow S-Li gaps
  give the same slab flipped (S face + Li-Li face), type III. Two terminations.
- Li2S(110): every plane is Li2S (neutral): one termination, type I.
- Li2S(100): S (-2 e) and Li2 (+2 e) planes alternate, two cuts related by a flip: one
  termination, type III.
- B2 LiAg(100): Li and Ag planes alternate: one asymmetric termination.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from anodefree.errors import StructureError
from anodefree.structures.bulk import PROTOTYPES
from anodefree.structures.orientation import orient_bulk, validate_miller
from anodefree.structures.slabs import build_slab
from anodefree.structures.terminations import (
    enumerate_terminations,
    pymatgen_termination_count,
)

A_LI = PROTOTYPES["Li"].a
A_LI2S = PROTOTYPES["Li2S"].a


@pytest.mark.parametrize("miller", [(1, 0, 0), (1, 1, 0), (1, 1, 1), (2, 1, 1), (3, 1, 0)])
def test_bcc_li_has_one_accepted_termination(miller):
    records = enumerate_terminations("Li", miller)
    assert len(records) == 1
    (r,) = records
    assert r.accepted
    assert r.tasker_type == "I"
    assert r.symmetric
    assert r.stoichiometric


@pytest.mark.parametrize(
    ("miller", "period", "area"),
    [
        # bcc interplanar spacings a/(2 sqrt(h^2+k^2+l^2)) for h+k+l odd, a/sqrt(...) even;
        # primitive in-plane area = V_prim / d = (a^3 / 2) / d.
        ((1, 0, 0), A_LI / 2, A_LI**2),
        ((1, 1, 0), A_LI / math.sqrt(2), A_LI**2 / math.sqrt(2)),
        ((1, 1, 1), A_LI / (2 * math.sqrt(3)), A_LI**2 * math.sqrt(3)),
    ],
)
def test_bcc_li_plane_spacing_and_area(miller, period, area):
    ob = orient_bulk("Li", miller)
    assert ob.period == pytest.approx(period, rel=1e-9)
    assert ob.area == pytest.approx(area, rel=1e-9)
    assert ob.atoms_per_unit == 1


def test_li2s_111_two_terminations_one_nonpolar():
    records = enumerate_terminations("Li2S", (1, 1, 1))
    plain = [r for r in records if r.reconstruction is None]
    assert len(plain) == 2
    accepted = [r for r in plain if r.accepted]
    assert len(accepted) == 1
    good = accepted[0]
    assert good.label == "Li-S-Li"
    assert good.tasker_type == "II"
    assert good.cuts[0].bottom_plane == good.cuts[0].top_plane == "Li"
    # the accepted cut goes through the wide Li-Li gap d/2, the polar ones through d/4
    d = A_LI2S / math.sqrt(3)
    assert good.cut_gap == pytest.approx(d / 2, abs=1e-9)
    (bad,) = [r for r in plain if not r.accepted]
    assert bad.tasker_type == "III"
    assert bad.cut_gap == pytest.approx(d / 4, abs=1e-9)
    assert not bad.usable_for_interface
    # Closed form: unit S(0), Li(d/4), Li(3d/4) about its mid-height 3d/8 carries
    # mu = 2(3d/8) + (d/4 - 3d/8) + (3d/4 - 3d/8) = d per cell of area sqrt(3) a^2 / 4,
    # so |mu| / A = 4 / (3 a).
    assert abs(bad.dipole_per_area) == pytest.approx(4 / (3 * A_LI2S), rel=1e-9)
    # all three cuts are accounted for: 1 (wide gap) + 2 (narrow gaps, flipped pair)
    assert sorted(len(r.cuts) for r in plain) == [1, 2]
    # symmetric S-terminated variant exists but is non-stoichiometric and charged
    assert any("S-terminated" in v and "-2 e" in v for v in bad.symmetric_variants)


def test_li2s_110_single_type_i():
    records = enumerate_terminations("Li2S", (1, 1, 0))
    assert len(records) == 1
    assert records[0].tasker_type == "I"
    assert records[0].accepted


def test_li2s_100_polar_and_reconstruction():
    records = enumerate_terminations("Li2S", (1, 0, 0))
    plain = [r for r in records if r.reconstruction is None]
    assert len(plain) == 1
    assert plain[0].tasker_type == "III"
    assert not plain[0].accepted
    # unit S(0), Li2(d/2), d = a/2: mu = 2 * (d/4) + 2 * (d/4) = d per a^2/2 -> 1/a
    assert abs(plain[0].dipole_per_area) == pytest.approx(1 / A_LI2S, rel=1e-9)
    recon = [r for r in records if r.reconstruction is not None]
    assert len(recon) == 1
    assert recon[0].accepted
    assert recon[0].symmetric


def test_li2s_100_slab_needs_explicit_reconstruction():
    with pytest.raises(StructureError, match="allow_reconstructed"):
        build_slab("Li2S", (1, 0, 0), 4)
    build = build_slab("Li2S", (1, 0, 0), 4, allow_reconstructed=True)
    s = build.structure
    charges = np.array([1.0 if site.specie.symbol == "Li" else -2.0 for site in s])
    z = s.cart_coords[:, 2]
    # independent dipole from coordinates and formal charges
    assert abs(np.sum(charges * (z - z.mean()))) < 1e-8
    assert charges.sum() == 0
    comp = s.composition
    assert comp["Li"] == 2 * comp["S"]
    # outermost planes hold one Li each (half of a Li2 plane)
    top = [site for site in s if site.coords[2] > z.max() - 0.05]
    bottom = [site for site in s if site.coords[2] < z.min() + 0.05]
    assert [x.specie.symbol for x in top] == ["Li"]
    assert [x.specie.symbol for x in bottom] == ["Li"]


def test_liag_b2_100_asymmetric_usable_for_interfaces():
    records = enumerate_terminations("LiAg", (1, 0, 0))
    assert len(records) == 1
    (r,) = records
    assert not r.symmetric
    assert r.usable_for_interface
    assert not r.accepted
    assert {(c.bottom_plane, c.top_plane) for c in r.cuts} == {("Li", "Ag"), ("Ag", "Li")}
    assert len(r.symmetric_variants) == 2


@pytest.mark.parametrize(
    ("material", "miller"),
    [
        ("Li", (1, 0, 0)),
        ("Li", (1, 1, 1)),
        ("Li2S", (1, 1, 1)),
        ("Li2S", (1, 1, 0)),
        ("Li2S", (1, 0, 0)),
        ("LiAg", (1, 0, 0)),
        ("LiAg", (1, 1, 0)),
    ],
)
def test_plain_termination_count_matches_pymatgen(material, miller):
    # pymatgen's SlabGenerator is an independent implementation (fractional-coordinate
    # clustering and slab matching); for these facets its count is right.
    ours = [r for r in enumerate_terminations(material, miller) if r.reconstruction is None]
    assert len(ours) == pymatgen_termination_count(material, miller)


def test_miller_validation_errors():
    with pytest.raises(StructureError, match=r"\(0, 0, 0\)"):
        validate_miller((0, 0, 0))
    with pytest.raises(StructureError, match=r"0\.5"):
        validate_miller((1, 0.5, 0))
    with pytest.raises(StructureError, match="non-hexagonal"):
        validate_miller((1, 0, -1, 0))
    with pytest.raises(StructureError, match="-1"):
        validate_miller((1, 0, 0, 0), hexagonal=True)  # i must be -(h + k) = -1
    with pytest.raises(StructureError, match="3 components"):
        validate_miller((1, 0))
    with pytest.raises(StructureError, match="True"):
        validate_miller((True, 0, 0))
    assert validate_miller((2, 2, 0)) == (1, 1, 0)
    assert validate_miller((1, 0, -1, 0), hexagonal=True) == (1, 0, 0)


def test_unknown_material_and_facet_errors():
    with pytest.raises(StructureError, match="'Xy'"):
        enumerate_terminations("Xy", (1, 0, 0))
    with pytest.raises(StructureError, match=r"\(0, 0, 0\)"):
        build_slab("Li", (0, 0, 0), 5)
    with pytest.raises(StructureError, match="four-index"):
        build_slab("Li2S", (1, 1, -2, 0), 3)


def test_hcp_prism_facet_has_two_terminations():
    # hcp {10-10}: planes alternate narrow and wide gaps (a/(2 sqrt 3) and a/sqrt 3), so
    # cutting either gap gives a different termination (the classic type A / type B).
    records = enumerate_terminations("Mg", (1, 0, -1, 0))
    assert len(records) == 2
    a = PROTOTYPES["Mg"].a
    gaps = sorted(r.cut_gap for r in records)
    assert gaps == pytest.approx([a / (2 * math.sqrt(3)), a / math.sqrt(3)], abs=1e-9)
    assert len(records) == pymatgen_termination_count("Mg", (1, 0, -1, 0))


def test_hexagonal_four_index_facet():
    # hcp Mg basal plane (0001): two planes per period (A, B) related by the 6_3 screw,
    # one termination, symmetric.
    records = enumerate_terminations("Mg", (0, 0, 0, 1))
    assert len(records) == 1
    assert records[0].accepted
    ob = orient_bulk("Mg", (0, 0, 0, 1))
    assert ob.period == pytest.approx(PROTOTYPES["Mg"].c, rel=1e-9)
    assert len(ob.planes) == 2
