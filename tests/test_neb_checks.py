"""Checks of a finished NEB: endpoint reconstruction and interior minima of the band."""

from __future__ import annotations

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure

from anodefree.analysis.documents.migration import (
    RECONSTRUCTION_TOLERANCE,
    band_minima,
    endpoint_mismatch,
    endpoints_collapsed,
    hop_distance,
)


def _cell() -> Structure:
    return Structure(
        Lattice.cubic(10.0),
        ["Li", "Li", "Li"],
        [[0.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.98, 0.2, 0.2]],
    )


def test_endpoint_mismatch_ignores_the_hopping_atom_and_wraps():
    initial = _cell()
    final = initial.copy()
    final.translate_sites([0], [0.29, 0.0, 0.0])  # the hop: 2.9 A
    final.translate_sites([2], [0.04, 0.0, 0.0])  # 0.98 -> 1.02 wraps to 0.02: 0.4 A
    assert endpoint_mismatch(initial, final, 0) == pytest.approx(0.4)
    assert endpoint_mismatch(initial, final, 2) == pytest.approx(2.9)
    assert endpoint_mismatch(initial, final, None) is None
    final.translate_sites([1], [0.0, 0.15, 0.0])  # a neighbour reconstructs: 1.5 A
    assert endpoint_mismatch(initial, final, 0) == pytest.approx(1.5)
    assert endpoint_mismatch(initial, final, 0) > RECONSTRUCTION_TOLERANCE


def test_band_minima_needs_a_dip_below_both_neighbours():
    assert band_minima([0.0, 0.05, 0.1, 0.05, 0.0]) == []
    assert band_minima([0.0, 0.179, 0.118, 0.163, 0.0]) == [(2, pytest.approx(0.045))]
    # within the 2 meV tolerance: numerical noise, not a metastable state
    assert band_minima([0.0, 0.1, 0.099, 0.1, 0.0]) == []
    assert band_minima(np.array([0.0, 0.1, 0.09, 0.1, 0.0]), tolerance=0.0)[0][0] == 2


def test_collapsed_endpoints_are_detected_from_the_hopping_atom():
    initial = _cell()
    final = initial.copy()
    final.translate_sites([2], [0.29, 0.0, 0.0])  # 0.98 -> 1.27: a 2.9 A hop across the edge
    assert hop_distance(initial, final, 2) == pytest.approx(2.9)
    assert not endpoints_collapsed(hop_distance(initial, final, 2), 2.9)
    # the atom relaxed back most of the way: 0.3 A of a 2.9 A jump
    final.translate_sites([2], [-0.26, 0.0, 0.0])
    assert hop_distance(initial, final, 2) == pytest.approx(0.3)
    assert endpoints_collapsed(hop_distance(initial, final, 2), 2.9)
    assert not endpoints_collapsed(None, 2.9)
    assert hop_distance(initial, final, None) is None
