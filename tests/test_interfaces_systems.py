"""The four interface systems: sizes, solute content and placements, typed records."""

from __future__ import annotations

import numpy as np
import pytest

from anodefree.errors import StructureError
from anodefree.structures.interface_systems import SYSTEMS, get_system, system_interfaces
from anodefree.structures.interfaces import InterfaceRecord


@pytest.fixture(scope="module")
def li_mg():
    return system_interfaces("Li-Mg/Li2S")


def test_alloy_system_placements(li_mg):
    assert set(li_mg) == {"pure", "L1", "interior"}
    pure = li_mg["pure"]
    for label in ("L1", "interior"):
        ib = li_mg[label]
        # same lattice match, cell and substrate for every placement
        assert np.allclose(ib.structure.lattice.matrix, pure.structure.lattice.matrix)
        assert ib.substrate_slab == pure.substrate_slab
        r = ib.record
        n_mg = ib.structure.composition["Mg"]
        assert n_mg == len(r.solutes) >= 1
        # about 3 at.% of the metal: n = round(0.03 * N_metal), so within 0.5 / N_metal
        assert abs(n_mg / r.n_atoms_film - 0.03) <= 0.5 / r.n_atoms_film + 1e-12
        # only Li was replaced: the film still has the pure film's atom count
        assert r.n_atoms_film == pure.record.n_atoms_film
    assert {s.layer for s in li_mg["L1"].record.solutes} == {1}
    n_layers = li_mg["interior"].record.n_film_layers
    assert {s.layer for s in li_mg["interior"].record.solutes} == {n_layers // 2 + 1}
    assert 100 <= pure.record.n_atoms <= 250  # small enough for CHGNet on 2 cores


def test_record_round_trip_and_units(li_mg):
    r = li_mg["L1"].record
    back = InterfaceRecord.model_validate_json(r.model_dump_json())
    assert back == r
    for name, field in InterfaceRecord.model_fields.items():
        assert field.description, name


def test_all_systems_build():
    for name, spec in SYSTEMS.items():
        builds = system_interfaces(name, separation=2.4, n_fixed_substrate_planes=3)
        pure = builds["pure"]
        assert pure.record.substrate_formula == spec.substrate
        assert pure.record.film_formula == "Li"
        assert pure.record.separation == 2.4
        fixed = pure.record.fixed_indices
        z = pure.structure.cart_coords[:, 2]
        # the fixed sites are the three lowest substrate planes, far from the interface
        lowest = np.unique(z[pure.substrate_indices].round(6))[:3]
        assert set(fixed) == {i for i in pure.substrate_indices if round(z[i], 6) in lowest}
        assert 50 <= pure.record.n_atoms <= 250


def test_system_errors():
    with pytest.raises(StructureError, match="'Li/Na2S'"):
        get_system("Li/Na2S")
    with pytest.raises(StructureError, match="solutes"):
        system_interfaces("Li/Li2S", solutes=[])
