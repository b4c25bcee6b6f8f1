"""Lattice matching and interface cells, checked against independent geometry.

The first call of pymatgen's ZSL generator compiles its numba kernels (a few seconds once
per process); the builders are shared through module fixtures.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from pymatgen.analysis.structure_matcher import StructureMatcher
from pymatgen.core import Lattice, Structure

from anodefree.errors import StructureError
from anodefree.structures.bulk import PROTOTYPES
from anodefree.structures.interfaces import (
    InterfaceBuilder,
    SolutePlacement,
    build_interface,
    separation_series,
)
from anodefree.structures.lattice_match import MatchLimits, find_matches

A_LI = PROTOTYPES["Li"].a
A_LI2S = PROTOTYPES["Li2S"].a


@pytest.fixture(scope="module")
def li110():
    builder = InterfaceBuilder("Li", (1, 1, 0), "Li2S", (1, 1, 1))
    return builder, builder.find_matches()


@pytest.fixture(scope="module")
def li100():
    builder = InterfaceBuilder("Li", (1, 0, 0), "Li2S", (1, 1, 1))
    return builder, builder.find_matches()


def _bcc(a: float) -> Structure:
    return Structure(Lattice.cubic(a), ["Li", "Li"], [[0, 0, 0], [0.5, 0.5, 0.5]])


def test_isotropic_mismatch_closed_form():
    # Li(100) film (a) on a Li(100) "substrate" 2 % larger: the best cell is 1 x 1 and the
    # film takes an isotropic +2 % strain (principal strains = length ratio - 1 exactly).
    film, sub = _bcc(A_LI), _bcc(1.02 * A_LI)
    (best, *_) = find_matches(film, (1, 0, 0), sub, (1, 0, 0))
    assert best.film_cells == best.substrate_cells == 1
    assert best.film_strain.principal_percent == pytest.approx((2.0, 2.0), abs=1e-9)
    assert best.substrate_strain.max_abs_percent == pytest.approx(0.0, abs=1e-9)
    assert best.area == pytest.approx((1.02 * A_LI) ** 2, rel=1e-12)
    assert best.film_strain.area_percent == pytest.approx(100 * (1.02**2 - 1), rel=1e-9)
    # half of the mismatch on each side: the common lattice is the mean, 1.01 a
    (half, *_) = find_matches(film, (1, 0, 0), sub, (1, 0, 0), MatchLimits(strain_partition=0.5))
    assert half.film_strain.principal_percent == pytest.approx((1.0, 1.0), abs=1e-9)
    expected = 100 * (1.01 / 1.02 - 1)
    assert half.substrate_strain.principal_percent == pytest.approx((expected, expected), abs=1e-9)


def test_candidates_respect_limits_and_ranking(li110):
    _, candidates = li110
    limits = MatchLimits()
    assert candidates
    keys = []
    for c in candidates:
        assert c.max_strain_percent <= 100 * limits.max_strain + 1e-9
        assert c.area <= limits.max_area + 1e-9
        assert c.n_atoms <= limits.max_atoms
        assert c.substrate_strain.max_abs_percent == pytest.approx(0.0, abs=1e-9)  # Li2S kept
        keys.append((math.floor(c.max_strain_percent / 0.5), round(c.area, 3), c.n_atoms))
    assert keys == sorted(keys)


def test_strain_tensor_consistent_with_lattice_vectors(li110):
    # Independent of the polar decomposition: if V = I + eps is the left stretch, then
    # V^-1 maps every interface vector back to a vector of the unstrained film length.
    _, candidates = li110
    for c in candidates:
        film_rows = np.array(c.film_supercell) @ np.array(c.film_inplane)
        target = np.array(c.interface_inplane)
        v_inv = np.linalg.inv(np.eye(2) + np.array(c.film_strain.tensor))
        for f, t in ((film_rows[0], target[0]), (film_rows[1], target[1]),
                     (film_rows[0] + film_rows[1], target[0] + target[1])):  # fmt: skip
            assert np.linalg.norm(v_inv @ t) == pytest.approx(np.linalg.norm(f), rel=1e-9)
        area_ratio = abs(np.linalg.det(target)) / abs(np.linalg.det(film_rows))
        assert 100 * (area_ratio - 1) == pytest.approx(c.film_strain.area_percent, abs=1e-9)


def test_interface_geometry(li110):
    builder, candidates = li110
    c = candidates[0]
    sep, vac = 2.3, 14.0
    ib = builder.build(c, separation=sep, vacuum=vac)
    s, r = ib.structure, ib.record
    a, b, cvec = s.lattice.matrix
    assert r.area == pytest.approx(np.linalg.norm(np.cross(a, b)), rel=1e-12)
    assert r.area == pytest.approx(c.area, rel=1e-12)
    assert abs(np.dot(cvec, a)) < 1e-9
    assert abs(np.dot(cvec, b)) < 1e-9
    film, sub = ib.film_indices, ib.substrate_indices
    z = s.cart_coords[:, 2]
    assert z[film].min() - z[sub].max() == pytest.approx(sep, abs=1e-9)
    assert s.lattice.c - np.ptp(z) == pytest.approx(vac, abs=1e-9)
    assert len(film) == r.n_atoms_film == c.n_atoms_film
    assert len(sub) == r.n_atoms_substrate == c.n_atoms_substrate
    assert s.composition["Li"] - len(film) == 2 * s.composition["S"]  # substrate is Li2S
    # Li2S is unstrained: shortest in-plane S-S distance is the fcc a / sqrt(2)
    s_idx = [i for i in sub if s[i].specie.symbol == "S"]
    d_ss = s.distance_matrix[np.ix_(s_idx, s_idx)] + 99 * np.eye(len(s_idx))
    assert d_ss.min() == pytest.approx(A_LI2S / math.sqrt(2), abs=1e-9)
    # in-plane Li-Li distances of one film layer are strained within the principal strains;
    # the shortest one in a bcc (110) plane is the <111> bond a sqrt(3) / 2
    layer = [i for i in film if abs(z[i] - z[film].min()) < 1e-6]
    d_li = s.distance_matrix[np.ix_(layer, layer)] + 99 * np.eye(len(layer))
    nn = d_li.min()
    lo, hi = c.film_strain.principal_percent
    assert (1 + lo / 100) * A_LI * math.sqrt(3) / 2 - 1e-9 <= nn
    assert nn <= (1 + hi / 100) * A_LI * math.sqrt(3) / 2 + 1e-9
    assert abs(nn - A_LI * math.sqrt(3) / 2) > 1e-4  # and it is strained
    assert r.film_facing_plane == "Li"
    assert r.substrate_facing_plane == "Li"
    assert r.n_interfaces == 1


def test_isolated_slabs_are_the_interface_parts(li110):
    builder, candidates = li110
    ib = builder.build(candidates[0], shift=(0.2, 0.1))
    s = ib.structure
    for part, idx in ((ib.film_slab, ib.film_indices), (ib.substrate_slab, ib.substrate_indices)):
        assert np.allclose(part.lattice.matrix, s.lattice.matrix, atol=0)
        assert np.allclose(part.cart_coords, s.cart_coords[idx], atol=0)
        assert [x.specie for x in part] == [s[i].specie for i in idx]
    assert len(ib.film_slab) + len(ib.substrate_slab) == len(s)


def test_work_of_adhesion_identity_with_pair_potential(li110):
    # For a pair potential E_int - E_film - E_sub is exactly the sum of film-substrate pair
    # energies, computed here directly from a neighbour list (not through ASE).
    from ase.calculators.lj import LennardJones
    from pymatgen.io.ase import AseAtomsAdaptor

    builder, candidates = li110
    ib = builder.build(candidates[0], separation=2.4, vacuum=12.0)
    sigma, eps, rc = 2.2, 0.05, 6.0

    def energy(structure: Structure) -> float:
        atoms = AseAtomsAdaptor.get_atoms(structure)
        atoms.calc = LennardJones(sigma=sigma, epsilon=eps, rc=rc)
        return float(atoms.get_potential_energy())

    e_int, e_f, e_s = energy(ib.structure), energy(ib.film_slab), energy(ib.substrate_slab)
    s = ib.structure
    film = set(ib.film_indices)
    centers, points, _, dists = s.get_neighbor_list(rc)
    e0 = 4 * eps * ((sigma / rc) ** 12 - (sigma / rc) ** 6)
    cross = sum(
        4 * eps * ((sigma / d) ** 12 - (sigma / d) ** 6) - e0
        for i, j, d in zip(centers, points, dists, strict=True)
        if i in film and j not in film
    )
    assert e_int - e_f - e_s == pytest.approx(cross, rel=1e-9, abs=1e-9)
    assert cross != 0  # the interface interacts at 2.4 A


def test_registry_shift_periodicity(li110):
    builder, candidates = li110
    c = candidates[0]
    shifts = builder.registry_shifts(c, grid=(2, 3), cell="film")
    assert len(shifts) == len(set(shifts)) == 6
    assert shifts[0] == (0.0, 0.0)
    # a shift by one strained primitive film vector maps the film onto itself
    one_cell = np.array([1.0, 0.0]) @ np.linalg.inv(np.array(c.film_supercell, float))
    ref = builder.build(c).structure
    moved = builder.build(c, shift=tuple(one_cell)).structure
    matcher = StructureMatcher(primitive_cell=False, scale=False, attempt_supercell=False)
    assert matcher.fit(ref, moved)
    assert np.allclose(np.sort(ref.cart_coords[:, 2]), np.sort(moved.cart_coords[:, 2]), atol=1e-9)
    # a generic shift moves the film by shift @ cell: shifted film - shift = reference film
    shift = np.array([0.3, 0.45, 0.0])
    s2 = builder.build(c, shift=tuple(shift[:2])).structure
    film = [i for i, x in enumerate(ref.site_properties["interface_region"]) if x == "film"]
    back = s2.frac_coords[film] - shift
    dist = ref.lattice.get_all_distances(back, ref.frac_coords[film])
    assert np.all(dist.min(axis=1) < 1e-8)
    scan = builder.registry_scan(c, grid=(2, 2))
    assert [b.record.registry_shift_fractional for b in scan] == builder.registry_shifts(
        c, grid=(2, 2)
    )


def test_separation_scan(li110):
    builder, candidates = li110
    seps = separation_series(1.5, 3.0, 0.5)
    assert seps == [1.5, 2.0, 2.5, 3.0]
    for ib, d in zip(builder.separation_scan(candidates[0], seps), seps, strict=True):
        z = ib.structure.cart_coords[:, 2]
        assert z[ib.film_indices].min() - z[ib.substrate_indices].max() == pytest.approx(d)
        assert ib.record.separation == d
    with pytest.raises(StructureError, match="-1"):
        builder.build(candidates[0], separation=-1)


def test_sandwich_design(li110):
    builder, candidates = li110
    ib = builder.build(candidates[0], vacuum=None, separation=2.0)
    assert ib.record.n_interfaces == 2
    assert ib.record.design == "sandwich"
    s = ib.structure
    z = s.cart_coords[:, 2]
    # the second interface is at the same separation across the periodic boundary
    gap = s.lattice.c - (z[ib.film_indices].max() - z[ib.substrate_indices].min())
    assert gap == pytest.approx(2.0, abs=1e-9)


def test_solute_placements(li100):
    builder, candidates = li100
    c = candidates[0]
    n_metal = c.n_atoms_film
    l1 = builder.build(c, solutes=[SolutePlacement(element="Mg", layer=1)])
    mg = [x.index for x in l1.record.solutes]
    assert len(mg) == max(1, round(0.03 * n_metal))
    assert 2.5 <= l1.record.solute_fraction_percent <= 4.0  # "about 3 at.%"
    s = l1.structure
    z = s.cart_coords[:, 2]
    film = l1.film_indices
    assert all(s[i].specie.symbol == "Mg" for i in mg)
    assert np.allclose(z[mg], z[film].min(), atol=1e-9)  # first metal layer above Li2S
    assert l1.film_slab.composition["Mg"] == len(mg)
    interior = builder.build(c, solutes=[SolutePlacement(element="Mg", layer="interior")])
    n_layers = interior.record.n_film_layers
    layer = {x.layer for x in interior.record.solutes}
    assert layer == {n_layers // 2 + 1}
    # the interior solutes are at least 3 layers from both the contact and the surface
    zi = z[[x.index for x in interior.record.solutes]]
    spacing = A_LI / 2
    assert np.all(zi - z[film].min() >= 3 * spacing - 1e-9)
    assert np.all(z[film].max() - zi >= 2 * spacing - 1e-9)
    with pytest.raises(StructureError, match="'Xx'"):
        SolutePlacement(element="Xx")
    with pytest.raises(StructureError, match="do not fit"):
        builder.build(c, solutes=[SolutePlacement(element="Ag", layer=1, n_atoms=99)])
    with pytest.raises(StructureError, match="layer 40"):
        builder.build(c, solutes=[SolutePlacement(element="Ag", layer=40)])


def test_strain_limit_error_names_smallest_available(li110):
    builder, _ = li110
    with pytest.raises(StructureError) as info:
        builder.find_matches(MatchLimits(max_strain=0.001))
    message = str(info.value)
    assert "max_strain=0.001" in message
    loose = builder.find_matches(MatchLimits(max_strain=0.25, strain_resolution=1e-9))
    smallest = loose[0].max_strain_percent  # ranked by strain first at this resolution
    assert smallest == pytest.approx(min(c.max_strain_percent for c in loose))
    assert f"{smallest:.2f} %" in message
    assert smallest > 0.1
    # Li(110) cells are 8.6 A^2 and Li2S(111) cells 14.0 A^2: nothing fits in 10 A^2
    with pytest.raises(StructureError, match="max_area=10 A"):
        builder.find_matches(MatchLimits(max_area=10.0))


def test_termination_and_candidate_errors(li110):
    builder, candidates = li110
    polar = next(r.index for r in builder.substrate_terminations if r.tasker_type == "III")
    with pytest.raises(StructureError, match="polar"):
        builder.build(candidates[0], substrate_termination=polar)
    other = InterfaceBuilder("Li", (1, 0, 0), "Li2S", (1, 1, 1))
    with pytest.raises(StructureError, match=r"another film lattice|is for"):
        other.build(candidates[0])
    with pytest.raises(StructureError, match=r"\(0, 0, 0\)"):
        InterfaceBuilder("Li", (0, 0, 0), "Li2S", (1, 1, 1))
    with pytest.raises(StructureError, match="rank 99"):
        build_interface("Li", (1, 1, 0), "Li2S", (1, 1, 1), rank=99)


def test_metal_on_interlayer_liag():
    ib = build_interface("Li", (1, 1, 0), "LiAg", (1, 1, 0))
    r = ib.record
    sub = ib.substrate_slab.composition
    assert sub["Li"] == sub["Ag"]
    assert ib.film_slab.composition.elements[0].symbol == "Li"
    assert len(ib.film_slab.composition.elements) == 1
    assert r.substrate_strain_percent == pytest.approx((0.0, 0.0), abs=1e-9)
    assert 100 <= r.n_atoms <= 250
    # B2 LiAg(100) offers Ag- or Li-facing substrates through the cut
    builder = InterfaceBuilder("Li", (1, 0, 0), "LiAg", (1, 0, 0))
    (c, *_) = builder.find_matches()
    faces = {builder.build(c, substrate_cut=k).record.substrate_facing_plane for k in (0, 1)}
    assert faces == {"Li", "Ag"}
