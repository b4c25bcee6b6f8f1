"""Formulas of the derived quantities against hand-worked values."""

from __future__ import annotations

import pytest

from anodefree.analysis.energetics import (
    EV_PER_A2_TO_J_PER_M2,
    bulk_vacancy_formation_energy,
    surface_energy,
    vacancy_formation_energy,
    wetting_angle,
    work_of_adhesion,
)
from anodefree.errors import MixedCalculatorError
from anodefree.provenance import CalculatorProvenance, require_same_calculator


def test_unit_conversion():
    # 1 eV = 1.602176634e-19 J and 1 A^2 = 1e-20 m^2.
    assert pytest.approx(1.602176634e-19 / 1e-20) == EV_PER_A2_TO_J_PER_M2


def test_vacancy_formulas_agree():
    # 54-atom cell at -1.9 eV/atom; the vacancy cell is 0.5 eV above 53 bulk atoms.
    e_perfect = 54 * -1.9
    e_vacancy = 53 * -1.9 + 0.5
    assert bulk_vacancy_formation_energy(e_vacancy, e_perfect, 54) == pytest.approx(0.5)
    assert vacancy_formation_energy(e_vacancy, e_perfect, -1.9) == pytest.approx(0.5)


def test_surface_energy_and_adhesion():
    # 10 atoms, 0.2 eV above bulk each side of a 20 A^2 slab -> 0.4 eV / (2 * 20 A^2).
    gamma = surface_energy(10 * -2.0 + 0.4, 10, -2.0, 20.0)
    assert gamma == pytest.approx(0.01 * EV_PER_A2_TO_J_PER_M2)
    w = work_of_adhesion(-100.0, -200.0, -301.0, 25.0)
    assert w == pytest.approx(1.0 / 25.0 * EV_PER_A2_TO_J_PER_M2)


def test_wetting_angle_limits_and_value():
    assert wetting_angle(0.5, 0.5) == pytest.approx(90.0)  # W = gamma -> cos = 0
    assert wetting_angle(1.0, 0.5) == pytest.approx(0.0)  # W = 2 gamma: complete wetting
    assert wetting_angle(0.0, 0.5) == pytest.approx(180.0)
    assert wetting_angle(0.25, 0.5) == pytest.approx(120.0)  # cos = -0.5
    with pytest.raises(ValueError, match="positive"):
        wetting_angle(0.2, 0.0)


def test_mixing_calculators_is_refused():
    a = CalculatorProvenance(engine="chgnet", package="chgnet", version="0.4.2", model="m")
    b = CalculatorProvenance(engine="chgnet", package="chgnet", version="0.4.2", model="m")
    c = CalculatorProvenance(
        engine="chgnet", package="chgnet", version="0.4.2", model="m", settings={"x": 1}
    )
    assert require_same_calculator([a, b], "test") == a
    with pytest.raises(MixedCalculatorError, match="settings"):
        require_same_calculator([a, c], "the work of adhesion")
