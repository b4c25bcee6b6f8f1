"""The engine registry, the toy pair potential and engine serialisation."""

from __future__ import annotations

import json

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.fd import calculate_numerical_forces
from monty.json import MontyDecoder, MontyEncoder

from anodefree.errors import EngineError, ModelFileError
from anodefree.tasks import CalculationTask
from anodefree.workflows.engines.morse import MorsePairCalculator
from anodefree.workflows.engines.registry import available_engines, get_engine


def test_unknown_engine_lists_the_valid_ones():
    with pytest.raises(EngineError) as info:
        get_engine("vasp6")
    message = str(info.value)
    assert "'vasp6'" in message
    for name in ("chgnet", "sevenn", "mace", "gpaw", "vasp"):
        assert name in message


def test_engine_from_mapping_and_invalid_setting():
    engine = get_engine({"name": "chgnet", "model": "0.3.0"})
    assert engine.name == "chgnet"
    with pytest.raises(EngineError, match=r"'9\.9'"):
        get_engine("chgnet", model="9.9")


def test_mace_needs_an_existing_model_file(tmp_path):
    missing = tmp_path / "nothing.model"
    with pytest.raises(ModelFileError, match=str(missing)):
        get_engine("mace", model_path=str(missing))
    with pytest.raises(ModelFileError, match="not a file"):
        get_engine("mace", model_path=str(tmp_path))


def test_registry_lists_every_engine():
    assert {"chgnet", "sevenn", "mace", "gpaw", "vasp", "morse"} <= set(available_engines())


def test_chgnet_provenance_records_version_and_model():
    provenance = get_engine("chgnet").provenance()
    assert provenance.package == "chgnet"
    assert provenance.version[0].isdigit()
    assert provenance.model == "CHGNet-0.3.0"
    other = get_engine("chgnet", model="r2scan").provenance()
    assert other.fingerprint != provenance.fingerprint


def test_morse_forces_and_stress_match_finite_differences():
    atoms = bulk("Li", "bcc", a=3.45, cubic=True).repeat(2)
    atoms.symbols[3] = "Mg"
    atoms.rattle(0.05, seed=3)
    atoms.calc = MorsePairCalculator()
    numeric = calculate_numerical_forces(atoms, eps=1e-5)
    # Central differences with eps = 1e-5 A are accurate to ~1e-8 eV/A here.
    assert np.abs(atoms.get_forces() - numeric).max() < 1e-6
    # Stress from a finite strain of the cell: sigma = dE/d(eps) / V.
    stress = atoms.get_stress(voigt=False)
    cell, volume, eps = atoms.cell.copy(), atoms.get_volume(), 1e-6
    strain = np.eye(3)
    strain[0, 0] += eps
    atoms.set_cell(cell @ strain, scale_atoms=True)
    e_plus = atoms.get_potential_energy()
    strain[0, 0] -= 2 * eps
    atoms.set_cell(cell @ strain, scale_atoms=True)
    e_minus = atoms.get_potential_energy()
    assert stress[0, 0] == pytest.approx((e_plus - e_minus) / (2 * eps) / volume, abs=1e-6)


def test_engine_and_maker_survive_serialisation(morse):
    maker = morse.relax_maker(CalculationTask(kind="relax_positions", fmax=0.02))
    decoded = MontyDecoder().process_decoded(json.loads(json.dumps(maker, cls=MontyEncoder)))
    assert decoded.engine == morse
    assert decoded.relax_kwargs["fmax"] == 0.02
    assert decoded.relax_cell is False
