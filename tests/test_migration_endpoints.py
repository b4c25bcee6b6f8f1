"""NEB endpoints of vacancy hops: site order, jump geometry, symmetry, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from anodefree.errors import StructureError
from anodefree.structures.defects import (
    bcc_supercell,
    neighbour_shells,
    remove_site,
    solute_vacancy_configurations,
)
from anodefree.structures.neb import (
    bcc_vacancy_hop,
    endpoints_equivalent,
    solute_exchange_hop,
    solute_neighbour_hop,
    vacancy_hop,
)

A = 3.44


def _moved_sites(hop):
    frac = hop.final.frac_coords - hop.initial.frac_coords
    frac -= np.round(frac)
    return np.flatnonzero(
        np.linalg.norm(hop.initial.lattice.get_cartesian_coords(frac), axis=1) > 1e-8
    )


def test_bcc_vacancy_hop_moves_one_atom_by_a_nearest_neighbour_vector():
    hop = bcc_vacancy_hop(A, 3)
    assert len(hop.initial) == len(hop.final) == 53
    assert [s.species_string for s in hop.initial] == [s.species_string for s in hop.final]
    assert _moved_sites(hop).tolist() == [hop.moving_index]
    # bcc nearest-neighbour distance a sqrt(3) / 2
    assert hop.jump_length == pytest.approx(A * np.sqrt(3) / 2)
    assert np.linalg.norm(hop.jump_vector) == pytest.approx(A * np.sqrt(3) / 2)
    # the hopping atom lands exactly on the vacant lattice site (site 0 at the origin)
    landing = hop.final[hop.moving_index].frac_coords % 1.0
    assert np.allclose(np.minimum(landing, 1 - landing), 0.0, atol=1e-9)
    assert hop.symmetric
    # the initial endpoint is the vacancy cell of the bulk vacancy flow (reused from the store)
    assert hop.initial == remove_site(bcc_supercell(A, 3), 0)


def test_endpoints_are_deterministic():
    first, second = bcc_vacancy_hop(A, 3), bcc_vacancy_hop(A, 3)
    assert first.initial == second.initial
    assert first.final == second.final
    assert first.moving_index == second.moving_index


def test_solute_exchange_starts_from_the_shell_one_configuration():
    hop = solute_exchange_hop(A, "Mg", 3)
    assert hop.moving_species == "Mg"
    assert hop.symmetric  # inversion through the bond midpoint swaps the two endpoints
    _, configurations = solute_vacancy_configurations(bcc_supercell(A, 3), "Mg", [1])
    assert hop.initial == configurations[0].structure
    assert _moved_sites(hop).tolist() == [hop.moving_index]


def test_solute_neighbour_hop_moves_the_vacancy_between_shells():
    for shell in (2, 3):
        hop = solute_neighbour_hop(A, "Ag", 3, target_shell=shell)
        host = bcc_supercell(A, 3)
        shells = neighbour_shells(host, 0, 3)
        assert hop.vacancy_site in shells[0].indices
        assert hop.hop_site in shells[shell - 1].indices
        assert hop.moving_species == "Li"
        assert not hop.symmetric  # different solute-vacancy distances before and after
        assert hop.jump_length == pytest.approx(A * np.sqrt(3) / 2)
        # same vacancy-next-to-solute initial state as the exchange hop
        assert hop.initial == solute_exchange_hop(A, "Ag", 3).initial


def test_bad_hops_are_refused_with_the_value_named():
    host = bcc_supercell(A, 3)
    with pytest.raises(StructureError, match="hop_site 54"):
        vacancy_hop(host, 0, 54)
    with pytest.raises(StructureError, match="same site"):
        vacancy_hop(host, 3, 3)
    with pytest.raises(StructureError, match="apart"):
        vacancy_hop(bcc_supercell(A, 4), 0, 73)  # a site 7.5 A away
    with pytest.raises(StructureError, match="shells 2, 3 and 5"):
        solute_neighbour_hop(A, "Mg", 4, target_shell=4)
    with pytest.raises(StructureError, match="'Xx'"):
        solute_exchange_hop(A, "Xx")
    with pytest.raises(StructureError, match="must differ"):
        solute_exchange_hop(A, "Li")


def test_endpoint_equivalence_detects_asymmetric_pairs():
    hop = solute_neighbour_hop(A, "Mg", 3)
    assert not endpoints_equivalent(hop.initial, hop.final)
    assert endpoints_equivalent(hop.initial, hop.initial.copy())
