"""Bulk defect builders: supercells, neighbour shells, vacancies and solutes."""

from __future__ import annotations

import math

import pytest

from anodefree.errors import StructureError
from anodefree.structures.bulk import bulk_structure
from anodefree.structures.defects import (
    bcc_supercell,
    neighbour_shells,
    remove_site,
    solute_vacancy_configurations,
    substitute,
)

A = 3.44


def test_bcc_shells_have_the_textbook_counts_and_distances():
    # bcc coordination shells: 8 at a*sqrt(3)/2, 6 at a, 12 at a*sqrt(2),
    # 24 at a*sqrt(11)/2 and 8 at a*sqrt(3).
    shells = neighbour_shells(bcc_supercell(A, 4), 0, 5)
    assert [len(s.indices) for s in shells] == [8, 6, 12, 24, 8]
    expected = [math.sqrt(3) / 2, 1, math.sqrt(2), math.sqrt(11) / 2, math.sqrt(3)]
    for shell, factor in zip(shells, expected, strict=True):
        assert shell.distance == pytest.approx(A * factor, abs=1e-9)


def test_too_small_a_cell_is_refused():
    with pytest.raises(StructureError, match="holds only 3 neighbour shells"):
        neighbour_shells(bcc_supercell(A, 3), 0, 5)


def test_supercell_sizes():
    assert [len(bcc_supercell(A, n)) for n in (3, 4, 5)] == [54, 128, 250]
    with pytest.raises(StructureError, match=r"2\.5"):
        bcc_supercell(A, 2.5)


def test_solute_vacancy_configurations():
    cell = bcc_supercell(A, 4)
    with_solute, configurations = solute_vacancy_configurations(cell, "Ag", [1, 3, 5])
    assert with_solute.composition.formula == "Li127 Ag1"
    assert [c.shell for c in configurations] == [1, 3, 5]
    for c in configurations:
        assert len(c.structure) == 127
        assert c.structure[c.solute_index].species_string == "Ag"
        # the missing site is at the requested distance from the solute
        assert cell.get_distance(0, c.vacancy_site) == pytest.approx(c.distance)


def test_bad_element_and_site_are_named():
    cell = bulk_structure("Li", conventional=True)
    with pytest.raises(StructureError, match="'Qq'"):
        substitute(cell, 0, "Qq")
    with pytest.raises(StructureError, match="site index 7"):
        remove_site(cell, 7)
    with pytest.raises(StructureError, match="'Unobtainium'"):
        bulk_structure("Unobtainium")
