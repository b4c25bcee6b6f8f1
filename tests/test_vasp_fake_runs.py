"""VASP jobs end to end with the input-checking fake runner, and parse_output.

The fake runner (anodefree.workflows.engines.vasp_fake) checks the inputs atomate2
writes against tests/data/vasp/<case>/inputs (handwritten from ../shared/science.md)
and supplies tests/data/vasp/<case>/outputs (synthetic, written by
tests/data/vasp/make_reference_outputs.py with hand-chosen numbers). The expected
numbers below are those hand-chosen numbers, not outputs of the code under test.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from jobflow import JobStore, run_locally
from maggma.stores import MemoryStore
from pymatgen.core import Lattice, Structure
from pymatgen.io.vasp import Incar, Kpoints

from anodefree.tasks import CalculationTask
from anodefree.workflows.engines.vasp import VaspEngine
from anodefree.workflows.engines.vasp_fake import FakeVasp, VaspInputMismatchError
from anodefree.workflows.engines.vasp_synthetic_outputs import IonicStepData, write_vasp_outputs

DATA = Path(__file__).parent / "data" / "vasp"

# emmet's task document warns when it serialises the selective-dynamics flags of slab
# structures (lists/arrays where its schema says tuples); the values are kept intact.
pytestmark = pytest.mark.filterwarnings("ignore:Pydantic serializer warnings:UserWarning")


def interface_cell() -> Structure:
    lattice = Lattice.tetragonal(4.02, 14.0)
    species = ["S", "Li", "Li", "S", "Li", "Li", "Li", "Li", "Li"]
    frac = [
        (0.0, 0.0, 0.0),
        (0.5, 0.0, 0.1),
        (0.0, 0.5, 0.1),
        (0.5, 0.5, 0.2),
        (0.5, 0.0, 0.3),
        (0.0, 0.5, 0.3),
        (0.0, 0.0, 0.45),
        (0.5, 0.5, 0.575),
        (0.0, 0.0, 0.7),
    ]
    return Structure(lattice, species, frac)


def lithium_silver_b2() -> Structure:
    return Structure(Lattice.cubic(3.168), ["Li", "Ag"], [[0, 0, 0], [0.5, 0.5, 0.5]])


INTERFACE_TASK = CalculationTask(kind="relax_positions", fixed_indices=(0, 1, 2))
HULL_TASK = CalculationTask(kind="relax_full")


@pytest.fixture
def store() -> JobStore:
    return JobStore(MemoryStore(), additional_stores={"data": MemoryStore()})


@pytest.fixture
def fake(monkeypatch) -> FakeVasp:
    fake = FakeVasp()
    fake.add(DATA / "interface_relax_positions", method="pbe_interface", kind="relax_positions")
    fake.add(DATA / "hull_relax_full", method="pbesol_hull", kind="relax_full")
    fake.install(monkeypatch)
    return fake


def run_job(job, store, tmp_path):
    responses = run_locally(
        job, store=store, create_folders=True, root_dir=tmp_path, raise_immediately=True, log=False
    )
    return responses[job.uuid][1].output


def test_interface_job_runs_and_parses(fake, store, tmp_path):
    engine = VaspEngine(method="pbe_interface")
    job = engine.relax_maker(INTERFACE_TASK).make(interface_cell())
    run_job(job, store, tmp_path)

    assert [run.reference.name for run in fake.runs] == ["interface_relax_positions"]
    assert fake.runs[0].maker.input_set_generator.method == "pbe_interface"
    assert "LargeSigmaHandler" not in {
        type(h).__name__ for h in fake.runs[0].run_vasp_kwargs["handlers"]
    }

    # The task document as the next job sees it: read back from the store.
    stored = store.get_output(job.uuid, load=True)
    parsed = engine.parse_output(stored, INTERFACE_TASK)
    assert parsed.converged, parsed.messages
    assert parsed.messages == []
    assert parsed.energy == pytest.approx(-35.1312, abs=1e-8)
    # Free atoms end at 0.006 eV/A; the fixed bottom layer still feels 0.2 eV/A, which
    # VASP ignores and so must parse_output.
    assert parsed.max_force == pytest.approx(0.006, abs=1e-8)
    assert parsed.n_ionic_steps == 3
    assert parsed.wall_time == pytest.approx(5400.0)
    # Site order is the input's (no sorting): species and the moved metal atom.
    assert [s.specie.symbol for s in parsed.structure] == [
        s.specie.symbol for s in interface_cell()
    ]
    assert parsed.structure[6].coords[2] == pytest.approx(0.45 * 14.0 - 0.06, abs=1e-6)


def test_hull_job_runs_and_parses(fake, store, tmp_path):
    engine = VaspEngine(method="pbesol_hull")
    job = engine.relax_maker(HULL_TASK).make(lithium_silver_b2())
    output = run_job(job, store, tmp_path)

    assert [run.reference.name for run in fake.runs] == ["hull_relax_full"]
    parsed = engine.parse_output(output, HULL_TASK)
    assert parsed.converged, parsed.messages
    assert parsed.energy == pytest.approx(-5.2154, abs=1e-8)
    assert parsed.n_ionic_steps == 3
    assert parsed.structure.lattice.a == pytest.approx(3.140, abs=1e-8)


def test_unconverged_relaxation_is_flagged(monkeypatch, store, tmp_path):
    fake = FakeVasp()
    fake.add(DATA / "interface_unconverged", method="pbe_interface", kind="relax_positions")
    fake.install(monkeypatch)
    task = CalculationTask(kind="relax_positions", fixed_indices=(0, 1, 2), max_steps=3)
    engine = VaspEngine(method="pbe_interface")
    output = run_job(engine.relax_maker(task).make(interface_cell()), store, tmp_path)

    parsed = engine.parse_output(output, task)
    assert not parsed.converged
    text = " ".join(parsed.messages)
    assert "NSW = 3" in text
    assert "max force 0.0300 eV/A above |EDIFFG| = 0.01" in text


def test_wrong_inputs_fail_the_job(fake, store, tmp_path):
    engine = VaspEngine(method="pbe_interface", user_incar_settings={"SIGMA": 0.05})
    job = engine.relax_maker(INTERFACE_TASK).make(interface_cell())
    with pytest.raises(VaspInputMismatchError, match=r"SIGMA = 0\.05, expected 0\.1"):
        run_job(job, store, tmp_path)


def test_reference_is_chosen_by_maker_attributes_not_job_name(fake, store, tmp_path):
    engine = VaspEngine(method="pbesol_hull")
    job = engine.relax_maker(HULL_TASK).make(lithium_silver_b2())
    job.name = "a name that matches no reference"
    run_job(job, store, tmp_path)
    assert fake.runs[0].reference.name == "hull_relax_full"

    other = VaspEngine(method="pbesol_hull").relax_maker(CalculationTask(kind="static"))
    with pytest.raises(VaspInputMismatchError, match=r"no fake VASP reference.*kind='static'"):
        run_job(other.make(lithium_silver_b2()), store, tmp_path / "static")


def test_ambiguous_references_are_refused(fake):
    fake.add(DATA / "interface_unconverged", method="pbe_interface", kind="relax_positions")
    maker = VaspEngine().relax_maker(INTERFACE_TASK)
    with pytest.raises(VaspInputMismatchError, match="2 fake VASP references match"):
        fake.reference_for(maker, "Li7S2")
    fake.references[-1] = fake.references[-1].__class__(
        DATA / "interface_unconverged", "pbe_interface", "relax_positions", formula="LiS"
    )
    assert fake.reference_for(maker, "Li7S2").path.name == "interface_relax_positions"


def test_calculation_maker_with_vasp(fake, store, tmp_path, monkeypatch):
    from anodefree.workflows.calculation import CalculationMaker

    # CalculationMaker checks the engine before computing; VASP is absent here.
    monkeypatch.setattr(VaspEngine, "check_available", lambda _self: None)
    engine = VaspEngine(method="pbe_interface")
    flow = CalculationMaker(engine=engine, task=INTERFACE_TASK, reuse=False).make(
        interface_cell(), label="Li/Li2S toy"
    )
    responses = run_locally(
        flow, store=store, create_folders=True, root_dir=tmp_path, ensure_success=True, log=False
    )
    results = [
        r[1].output for r in responses.values() if type(r[1].output).__name__ == "CalculationResult"
    ]
    assert len(results) == 1
    result = results[0]
    assert result.converged
    assert result.energy == pytest.approx(-35.1312, abs=1e-8)
    assert result.calculator.engine == "vasp"
    assert result.calculator.settings["ENCUT_eV"] == 500
    assert "selective_dynamics" not in result.structure.site_properties


# --- parse_output on synthetic runs written in the test --------------------------------


def _synthetic_hull_run(folder: Path, incar_changes: dict, energies, nsw=500, version="6.4.2"):
    """LiAg outputs whose INCAR echo is the method's with ``incar_changes`` applied."""
    from atomate2.vasp.jobs.base import get_vasp_task_document

    incar = Incar.from_file(DATA / "hull_relax_full" / "inputs" / "INCAR")
    incar.update({"NSW": nsw, **incar_changes})
    kpoints = Kpoints.from_file(DATA / "hull_relax_full" / "inputs" / "KPOINTS")
    steps = [IonicStepData(lithium_silver_b2(), energy, np.zeros((2, 3))) for energy in energies]
    write_vasp_outputs(folder, steps, incar, kpoints, ["Li_sv", "Ag"], vasp_version=version)
    return get_vasp_task_document(folder)


def test_energy_criterion_not_met_is_flagged(tmp_path):
    # NSW = 2 reached and the last change (3 meV) exceeds EDIFFG = 2 x 0.5 meV.
    doc = _synthetic_hull_run(tmp_path, {}, [-5.200, -5.203], nsw=2)
    parsed = VaspEngine(method="pbesol_hull").parse_output(
        doc, CalculationTask(kind="relax_full", max_steps=2)
    )
    assert not parsed.converged
    assert any("3.000 meV not below EDIFFG = 1.000 meV" in m for m in parsed.messages)
    assert any("NSW = 2" in m for m in parsed.messages)


def test_custodian_change_of_a_method_setting_is_flagged(tmp_path):
    # As if LargeSigmaHandler (excluded by the engine) or a site-wide INCAR update had
    # lowered SIGMA and changed the smearing: the energy is not the method's.
    doc = _synthetic_hull_run(tmp_path, {"SIGMA": 0.05, "ISMEAR": 0}, [-5.200, -5.2003])
    parsed = VaspEngine(method="pbesol_hull").parse_output(doc, HULL_TASK)
    assert not parsed.converged
    text = " ".join(parsed.messages)
    assert "not the reference method" in text
    assert "SIGMA = 0.05 (method: 0.1)" in text
    assert "ISMEAR = 0 (method: 1)" in text


def test_declared_vasp_version_is_checked(tmp_path):
    doc = _synthetic_hull_run(tmp_path, {}, [-5.200, -5.2003], version="5.4.4")
    parsed = VaspEngine(method="pbesol_hull", vasp_version="6.4").parse_output(doc, HULL_TASK)
    assert not parsed.converged
    assert any("VASP 5.4.4" in m and "'6.4'" in m for m in parsed.messages)
    unchecked = VaspEngine(method="pbesol_hull").parse_output(doc, HULL_TASK)
    assert unchecked.converged, unchecked.messages
