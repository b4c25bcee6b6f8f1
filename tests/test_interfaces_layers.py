"""Metal-layer bookkeeping from the contact (issue 4), vacuum and sandwich designs.

Expectations: the film of Li(100) is a stack of bcc (100) planes spaced a/2 along the
normal (in-plane strain does not change it), so layer k sits separation + (k - 1) a / 2
above the outermost Li2S plane, and every layer holds one atom per primitive film cell.
"""

from __future__ import annotations

import numpy as np
import pytest

from anodefree.errors import StructureError
from anodefree.structures.bulk import PROTOTYPES
from anodefree.structures.interfaces import InterfaceBuilder
from anodefree.structures.layers import atomic_layers, layer_map, layer_of_site, metal_layers

A_LI = PROTOTYPES["Li"].a


@pytest.fixture(scope="module")
def li100():
    builder = InterfaceBuilder("Li", (1, 0, 0), "Li2S", (1, 1, 1))
    return builder, builder.find_matches()[0]


def test_vacuum_design_layers(li100):
    builder, c = li100
    sep = 2.2
    ib = builder.build(c, separation=sep, film_units=8)
    layers = ib.layers()
    assert [layer.number for layer in layers] == list(range(1, 9))
    assert all(layer.side == "lower" for layer in layers)
    for layer in layers:
        assert len(layer.indices) == c.film_cells
        assert layer.distance_to_contact == pytest.approx(
            sep + (layer.number - 1) * A_LI / 2, abs=1e-9
        )
    assert [layer.is_free_surface for layer in layers] == [False] * 7 + [True]
    # L1 is the film layer closest to the substrate
    z = ib.structure.cart_coords[:, 2]
    film = ib.film_indices
    assert np.allclose(z[list(layers[0].indices)], z[film].min())
    # the site property written by the builder agrees
    prop = ib.structure.site_properties["layer"]
    for layer in layers:
        assert {prop[i] for i in layer.indices} == {layer.number}
    assert {prop[i] for i in ib.substrate_indices} == {0}
    some = layers[3].indices[0]
    assert layer_of_site(ib.structure, some) == 4
    with pytest.raises(StructureError, match=str(ib.substrate_indices[0])):
        layer_of_site(ib.structure, ib.substrate_indices[0])


def test_sandwich_counts_from_both_contacts(li100):
    builder, c = li100
    ib = builder.build(c, vacuum=None, film_units=7)
    layers = ib.layers()
    numbers = sorted((layer.number, layer.side) for layer in layers)
    assert numbers == [
        (1, "lower"), (1, "upper"), (2, "lower"), (2, "upper"),
        (3, "lower"), (3, "upper"), (4, "lower"),
    ]  # fmt: skip
    assert not any(layer.is_free_surface for layer in layers)
    # both L1 layers are at the same distance from their contact (same separation)
    l1 = [layer for layer in layers if layer.number == 1]
    assert l1[0].distance_to_contact == pytest.approx(l1[1].distance_to_contact, abs=1e-9)


def test_layers_across_the_periodic_boundary(li100):
    # Translate the whole sandwich along c so the film straddles the cell boundary: the
    # numbering must not change.
    builder, c = li100
    ib = builder.build(c, vacuum=None, film_units=7)
    ref = layer_map(ib.structure)
    moved = ib.structure.copy()
    z = moved.cart_coords[:, 2]
    film_mid = 0.5 * (z[ib.film_indices].min() + z[ib.film_indices].max())
    moved.translate_sites(
        list(range(len(moved))),
        [0, 0, (moved.lattice.c - film_mid) / moved.lattice.c],
        frac_coords=True,
        to_unit_cell=True,
    )
    zf = moved.cart_coords[ib.film_indices, 2]
    assert zf.max() - zf.min() > moved.lattice.c / 2  # the film is split by the boundary
    assert layer_map(moved) == ref


def test_explicit_indices_and_errors(li100):
    builder, c = li100
    ib = builder.build(c)
    s = ib.structure.copy()
    s.remove_site_property("interface_region")
    with pytest.raises(StructureError, match="interface_region"):
        metal_layers(s)
    by_index = metal_layers(s, ib.film_indices, ib.substrate_indices)
    assert [x.indices for x in by_index] == [x.indices for x in ib.layers()]
    far = builder.build(c, separation=7.0)  # a separation-scan point beyond the default cutoff
    assert far.layers()[0].distance_to_contact == pytest.approx(7.0, abs=1e-9)
    with pytest.raises(StructureError, match=r"contact_cutoff=5\.0"):
        metal_layers(far.structure)  # a 7 A gap is vacuum for the default cutoff
    with pytest.raises(StructureError, match="vacuum=6"):
        builder.build(c, separation=7.0, vacuum=6.0)
    groups = atomic_layers(ib.structure, ib.substrate_indices)
    # 3 Li-S-Li trilayers = 9 atomic planes of Li2S(111)
    assert len(groups) == 3 * ib.record.substrate_units
