"""Defect configurations in an interface: layers, supercells, relaxation regions, filling.

The host is a hand-built interface whose geometry is known exactly: seven bcc(100) Li layers
(a = 3.44 A, 2 x 2 conventional faces in plane, 4 atoms per layer) 2.5 A above a two-plane
square S net, with vacuum. Every expectation below is derived from that geometry.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure

from anodefree.errors import StructureError
from anodefree.structures.interface_defects import (
    DefectHost,
    bcc_shell_number,
    build_defect,
    filling_configurations,
    filling_sites,
    lowest,
    relaxed_layer_heights,
)

A = 3.44  # bcc lattice constant, A
N_LAYERS = 7
GAP = 2.5  # substrate top plane to L1, A


def _interface() -> tuple[Structure, list[int], list[int]]:
    side = 2 * A
    c = 2.0 + GAP + (N_LAYERS - 1) * A / 2 + 15.0
    species, coords = [], []
    for z in (0.0, 2.0):  # substrate: square S nets
        for i, j in itertools.product(range(2), repeat=2):
            species.append("S")
            coords.append([i * A + (A / 2) * (z > 0), j * A + (A / 2) * (z > 0), z])
    n_sub = len(species)
    for k in range(N_LAYERS):
        shift = (A / 2) * (k % 2)
        for i, j in itertools.product(range(2), repeat=2):
            species.append("Li")
            coords.append([i * A + shift, j * A + shift, 2.0 + GAP + k * A / 2])
    lattice = Lattice.orthorhombic(side, side, c)
    structure = Structure(lattice, species, coords, coords_are_cartesian=True)
    return structure, list(range(n_sub, len(species))), list(range(n_sub))


@pytest.fixture(scope="module")
def host() -> DefectHost:
    structure, film, substrate = _interface()
    return DefectHost.from_interface(structure, film, substrate, fixed_indices=[0, 1, 2, 3])


def test_layers_and_interior(host):
    assert host.n_layers == N_LAYERS
    assert host.layer_numbers == list(range(1, N_LAYERS + 1))
    # vacuum design: the middle layer between the contact and the free surface
    assert host.interior_layer == N_LAYERS // 2 + 1 == 4
    for number in host.layer_numbers:
        sites = host.layer_sites(number)
        assert len(sites) == 4
        # layer n sits (n - 1) a/2 above L1, which is GAP above the substrate
        assert host.distance_to_contact[sites[0]] == pytest.approx(GAP + (number - 1) * A / 2)
    assert host.layer_sites("interior") == host.layer_sites(4)


@pytest.mark.parametrize("bad", [0, -1, 8, 99, "top", True, 1.5, None])
def test_bad_layer_numbers_fail_clearly(host, bad):
    with pytest.raises(StructureError, match=repr(bad) if not isinstance(bad, int) else str(bad)):
        host.layer_sites(bad)


def test_bad_hosts_are_refused():
    structure, film, substrate = _interface()
    alloyed = structure.copy()
    alloyed.replace(film[0], "Mg")
    with pytest.raises(StructureError, match=f"{film[0]}: 'Mg'"):
        DefectHost.from_interface(alloyed, film, substrate)
    with pytest.raises(StructureError, match="both film and substrate"):
        DefectHost.from_interface(structure, film, [*substrate, film[0]])
    with pytest.raises(StructureError, match="neither film nor substrate"):
        DefectHost.from_interface(structure, film[1:], substrate)
    with pytest.raises(StructureError, match="outside"):
        DefectHost.from_interface(structure, [*film, 999], substrate)


def test_supercell_copies_and_distances(host):
    big = host.make_supercell(2, 1)
    n = len(host.structure)
    assert len(big.structure) == 2 * n
    assert big.supercell == (2, 1)
    a_vec = host.structure.lattice.matrix[0]
    for k in (host.film_indices[0], host.film_indices[-1]):
        copy = n + k  # image (1, 0)
        assert big.copies(k) == (k, copy)
        assert big.canonical_site(copy) == k
        assert np.allclose(big.structure[copy].coords, host.structure[k].coords + a_vec)
        assert big.layer_of[copy] == host.layer_of[k]
    assert set(big.fixed_indices) == {0, 1, 2, 3, n, n + 1, n + 2, n + 3}
    # shortest in-plane vector: b = 2a (the a side doubled to 4a)
    assert big.image_limit == pytest.approx(A)
    assert host.image_limit == pytest.approx(A)


def test_in_layer_shells_and_cross_layer_neighbours(host):
    big = host.make_supercell(2, 2)  # 4a x 4a in plane: pairs unambiguous below 2a
    centre = big.layer_sites(1)[0]
    shells = big.in_layer_shells(centre, 1)
    # square net of spacing a: 4 sites at a, 4 at a sqrt(2); 2a is the image limit
    assert [len(sites) for _, sites in shells] == [4, 4]
    assert shells[0][0] == pytest.approx(A)
    assert shells[1][0] == pytest.approx(A * 2**0.5)
    below = big.nearest_in_layer(centre, 2)
    assert len(below) == 4
    for s in below:  # bcc first neighbours across layers
        assert big.distance(centre, s) == pytest.approx(3**0.5 / 2 * A)


def _min_image_distances(structure: Structure, position: np.ndarray) -> np.ndarray:
    a, b, _ = structure.lattice.matrix
    best = np.full(len(structure), np.inf)
    for i, j in itertools.product((-1, 0, 1), repeat=2):
        d = np.linalg.norm(structure.cart_coords - (position + i * a + j * b), axis=1)
        best = np.minimum(best, d)
    return best


def test_vacancy_relaxation_region(host):
    big = host.make_supercell(2, 1)
    site = big.layer_sites(1)[1]
    radius = 4.0
    config = build_defect(big, vacancies=[site], radius=radius, label="v")
    record = config.record
    assert len(config.structure) == len(big.structure) - 1
    assert record.vacancies[0].index == site
    assert record.vacancies[0].layer == 1
    assert record.vacancies[0].element == "Li"
    # independent: which host atoms lie within the radius of the removed site
    d = _min_image_distances(big.structure, big.structure[site].coords)
    keep = [i for i in range(len(big.structure)) if i != site]
    free = {
        new for new, old in enumerate(keep) if d[old] <= radius and old not in big.fixed_indices
    }
    assert set(range(len(keep))) - set(record.fixed_indices) == free
    assert record.n_free == len(free)
    # the host's fixed atoms stay fixed even inside the radius
    everything = build_defect(big, vacancies=[site], radius=None)
    # (indices above the removed site move down by one)
    expected = {i - (i > site) for i in big.fixed_indices}
    assert set(everything.record.fixed_indices) == expected


def test_solutes_pairs_and_errors(host):
    big = host.make_supercell(2, 1)
    l1, l2 = big.layer_sites(1), big.layer_sites(2)
    pair = build_defect(big, vacancies=[l1[0]], solutes=[(l2[0], "Mg")], radius=5.0)
    assert pair.structure.composition["Mg"] == 1
    assert pair.record.pair_distance == pytest.approx(big.distance(l1[0], l2[0]), abs=1e-4)
    solute_index = l2[0] - 1 if l2[0] > l1[0] else l2[0]
    assert pair.structure[solute_index].specie.symbol == "Mg"
    with pytest.raises(StructureError, match="site 0 is not a metal"):
        build_defect(big, vacancies=[0])
    with pytest.raises(StructureError, match="used twice"):
        build_defect(big, vacancies=[l1[0]], solutes=[(l1[0], "Mg")])
    with pytest.raises(StructureError, match="host metal"):
        build_defect(big, solutes=[(l1[0], "Li")])
    with pytest.raises(StructureError, match="'Xx'"):
        build_defect(big, solutes=[(l1[0], "Xx")])
    with pytest.raises(StructureError, match="radius"):
        build_defect(big, vacancies=[l1[0]], radius=0.0)
    with pytest.raises(StructureError, match="at least one"):
        build_defect(big)
    with pytest.raises(StructureError, match="outside"):
        build_defect(big, vacancies=[10_000])


def test_filling_moves(host):
    big = host.make_supercell(2, 2)
    vacancy = big.layer_sites(1)[0]
    solute = big.nearest_in_layer(vacancy, 2)[0]
    sites = filling_sites(big, vacancy, solute)
    # the filler is another first neighbour of the vacancy in L2, closest to the solute (a)
    assert sites.filler in big.nearest_in_layer(vacancy, 2)
    assert sites.filler != solute
    assert sites.initial_distance == pytest.approx(3**0.5 / 2 * A, abs=1e-4)
    assert sites.by_host_distance == pytest.approx(A, abs=1e-4)
    assert sites.by_solute_distance == pytest.approx(sites.initial_distance)
    configs = filling_configurations(big, "Mg", sites, radius=5.0)
    compositions = {k: c.structure.composition for k, c in configs.items()}
    assert compositions["initial"] == compositions["by_host"] == compositions["by_solute"]
    by_host, by_solute = configs["by_host"].record, configs["by_solute"].record
    assert [v.index for v in by_host.vacancies] == [sites.filler]
    assert [s.index for s in by_host.solutes] == [solute]
    assert [v.index for v in by_solute.vacancies] == [solute]
    assert [(s.index, s.layer) for s in by_solute.solutes] == [(vacancy, 1)]
    with pytest.raises(StructureError, match="not a nearest site"):
        filling_sites(big, vacancy, solute, filler=big.layer_sites(3)[0])
    with pytest.raises(StructureError, match="share site"):
        filling_sites(big, vacancy, vacancy)


def test_farthest_copy(host):
    big = host.make_supercell(2, 1)
    site = big.layer_sites(1)[0]
    other = big.nearest_in_layer(site, 2)[0]
    far = big.farthest_copy(big.primitive_site(other), site)
    assert big.primitive_site(far) == big.primitive_site(other)
    assert big.distance(site, far) >= big.distance(site, other)


def test_shell_numbers_and_lowest():
    a = 3.44
    assert bcc_shell_number(3**0.5 / 2 * a, a) == 1
    assert bcc_shell_number(a, a) == 2
    assert bcc_shell_number(2**0.5 * a, a) == 3
    assert bcc_shell_number(11**0.5 / 2 * a, a) == 4
    assert bcc_shell_number(1.25 * a, a, tol=0.1) is None
    assert lowest([5, 3, 9], {5: 0.1, 3: 0.1, 9: 0.05}) == 9
    assert lowest([5, 3, 9], {5: 0.1, 3: 0.1}) == 3  # tie -> lowest index; 9 unknown ranks last
    assert lowest([5, 3, 9], None) == 3
    with pytest.raises(StructureError, match="no candidate"):
        lowest([], None)


def test_layers_numbered_on_the_as_built_reference():
    built, film, substrate = _interface()
    relaxed = built.copy()
    sunk = film[1]  # an L1 atom that sinks 1.8 A towards the substrate on "relaxation"
    relaxed.translate_sites([sunk], [0, 0, -1.8], frac_coords=False)
    # numbered on the relaxed cell, the sunk atom forms a layer of its own
    assert DefectHost.from_interface(relaxed, film, substrate).n_layers == N_LAYERS + 1
    host = DefectHost.from_interface(relaxed, film, substrate, layer_reference=built)
    assert host.n_layers == N_LAYERS
    assert host.layer_of[sunk] == 1
    assert len(host.layer_sites(1)) == 4
    heights = relaxed_layer_heights(host)
    mean, low, high = heights[1]
    # three L1 atoms at GAP above the top S net, one 1.8 A lower
    assert low == pytest.approx(GAP - 1.8)
    assert high == pytest.approx(GAP)
    assert mean == pytest.approx(GAP - 1.8 / 4)
    assert heights[2][0] == pytest.approx(GAP + A / 2)
    other = built.copy()
    other.replace(film[0], "Na")
    with pytest.raises(StructureError, match="same sites in the same order"):
        DefectHost.from_interface(relaxed, film, substrate, layer_reference=other)


def test_far_filling_site_when_every_copy_is_a_nearest_neighbour():
    """In a 2x1 cell of a one-cell-wide host the copies of an L2 neighbour are neighbours too."""
    from anodefree.workflows.engines.registry import get_engine
    from anodefree.workflows.interface_defects import SiteScreen, _far_solute_site

    structure, _, _ = _interface()
    narrow = structure.copy()
    keep = [i for i, site in enumerate(narrow) if site.coords[0] < A - 0.1]
    narrow = Structure(
        Lattice.orthorhombic(A, 2 * A, narrow.lattice.c),
        [narrow[i].specie for i in keep],
        [narrow[i].coords for i in keep],
        coords_are_cartesian=True,
    )
    narrow.make_supercell([1, 2, 1])  # A x 4A: one cell wide along a
    narrow = Structure.from_sites(sorted(narrow, key=lambda s: s.specie.symbol != "S"))
    n_sub = sum(1 for s in narrow if s.specie.symbol == "S")
    host = DefectHost.from_interface(
        narrow, list(range(n_sub, len(narrow))), list(range(n_sub))
    ).make_supercell(2, 1)
    vacancy = host.layer_sites(1)[0]
    near = host.nearest_in_layer(vacancy, 2)[0]
    copy = host.farthest_copy(host.primitive_site(near), vacancy)
    assert host.distance(vacancy, copy) == pytest.approx(host.distance(vacancy, near))
    screen = SiteScreen(
        calculator=get_engine("morse").provenance(), host_energy=0.0, layers=[], n_single_points=0
    )
    notes: list[str] = []
    far = _far_solute_site(host, screen, "Mg", vacancy, near, notes)
    assert host.layer_of[far] == 2
    d_max = max(host.distance(vacancy, i) for i in host.layer_sites(2))
    assert host.distance(vacancy, far) == pytest.approx(d_max)
    assert host.distance(vacancy, far) > host.distance(vacancy, near) + 0.5
    assert "farthest" in notes[0]
    # the far move is a valid filling move with a nearest-neighbour host filler
    filler = host.nearest_in_layer(vacancy, 2, exclude=[near])[0]
    sites = filling_sites(host, vacancy, far, filler)
    assert sites.initial_distance == pytest.approx(d_max, abs=1e-3)
