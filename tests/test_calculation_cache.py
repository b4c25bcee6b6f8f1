"""The cached calculation job: reuse, identity, convergence flags and stores."""

from __future__ import annotations

import numpy as np
import pytest
from ase.filters import FrechetCellFilter
from ase.optimize import BFGS
from jobflow import Flow, run_locally
from pymatgen.io.ase import AseAtomsAdaptor

from anodefree.analysis.documents.calculation import CalculationResult
from anodefree.structures.bulk import bulk_structure
from anodefree.structures.defects import bcc_supercell, remove_site
from anodefree.tasks import CalculationTask
from anodefree.workflows.calculation import (
    CalculationMaker,
    calculation_key,
    find_cached_result,
    structure_key,
)
from anodefree.workflows.engines.morse import MorsePairCalculator


def _results(responses) -> list[CalculationResult]:
    return [
        r.output
        for by_index in responses.values()
        for r in by_index.values()
        if isinstance(r.output, CalculationResult)
    ]


def test_relaxation_matches_a_direct_ase_relaxation(morse, memory_store):
    structure = bulk_structure("Li", conventional=True, a=3.30)
    maker = CalculationMaker(engine=morse, task=CalculationTask(kind="relax_full", fmax=1e-3))
    (result,) = _results(
        run_locally(maker.make(structure, label="Li"), store=memory_store, log=False)
    )
    # Independent: ASE's own BFGS with a cell filter on the same potential.
    atoms = AseAtomsAdaptor.get_atoms(structure)
    atoms.calc = MorsePairCalculator()
    BFGS(FrechetCellFilter(atoms), logfile=None).run(fmax=1e-4)
    # Both stop below 1e-3 eV/A; the energy error of such a point is O(f^2/k) < 1e-6 eV.
    assert result.energy == pytest.approx(atoms.get_potential_energy(), abs=1e-5)
    assert result.structure.lattice.a == pytest.approx(atoms.cell.lengths()[0], abs=1e-3)
    assert result.converged
    assert result.calculator == morse.provenance()
    assert not result.reused


def test_second_request_is_reused_not_recomputed(morse, memory_store):
    structure = remove_site(bcc_supercell(3.45, 2), 0)
    maker = CalculationMaker(engine=morse, task=CalculationTask(kind="relax_positions"))
    first = _results(run_locally(maker.make(structure, label="a"), store=memory_store, log=False))
    second = _results(run_locally(maker.make(structure, label="b"), store=memory_store, log=False))
    assert [r.reused for r in first] == [False]
    assert [r.reused for r in second] == [True]
    assert second[0].energy == first[0].energy
    assert second[0].source_job_uuid == first[0].source_job_uuid
    assert second[0].label == "b"
    # Nothing new was computed: the only task document is the first one.
    n_task_docs = memory_store.count({"output.@class": "ForceFieldTaskDocument"})
    assert n_task_docs == 1


def test_identical_requests_within_one_flow_compute_once(morse, memory_store):
    structure = bcc_supercell(3.45, 2)
    maker = CalculationMaker(engine=morse, task=CalculationTask(kind="static"))
    flow = Flow([maker.make(structure, label="x"), maker.make(structure.copy(), label="y")])
    results = _results(run_locally(flow, store=memory_store, log=False))
    assert sorted(r.reused for r in results) == [False, True]


def test_other_settings_or_engine_are_not_reused(morse, memory_store):
    structure = remove_site(bcc_supercell(3.45, 2), 0)
    loose = CalculationMaker(engine=morse, task=CalculationTask(kind="relax_positions", fmax=0.05))
    tight = CalculationMaker(engine=morse, task=CalculationTask(kind="relax_positions", fmax=0.01))
    run_locally(loose.make(structure), store=memory_store, log=False)
    (result,) = _results(run_locally(tight.make(structure), store=memory_store, log=False))
    assert not result.reused
    from anodefree.workflows.engines.registry import get_engine

    other = get_engine("morse", cutoff=5.5)
    key = calculation_key(structure, other.provenance(), tight.task)
    assert find_cached_result(memory_store, key) is None


def test_structure_key_ignores_wrapping_and_rounding_noise():
    s = bcc_supercell(3.45, 2)
    t = s.copy()
    t.translate_sites([0], [1.0, 0.0, 0.0], frac_coords=True, to_unit_cell=False)
    t.translate_sites([1], [1e-9, -1e-9, 0.0], frac_coords=True, to_unit_cell=False)
    assert structure_key(s) == structure_key(t)
    u = s.copy()
    u.translate_sites([1], [1e-3, 0, 0])
    assert structure_key(u) != structure_key(s)


def test_unconverged_relaxation_is_flagged(morse, memory_store):
    structure = remove_site(bcc_supercell(3.45, 3), 0)
    structure.perturb(0.1, min_distance=0.05)
    maker = CalculationMaker(
        engine=morse, task=CalculationTask(kind="relax_positions", fmax=1e-4, max_steps=3)
    )
    (result,) = _results(
        run_locally(maker.make(structure, label="short"), store=memory_store, log=False)
    )
    assert not result.converged
    assert any("fmax" in m or "step limit" in m for m in result.convergence_messages)
    assert result.max_force is not None
    assert result.max_force > 1e-4


def test_fixed_atoms_do_not_move(morse, memory_store):
    structure = remove_site(bcc_supercell(3.45, 2), 0)
    task = CalculationTask(kind="relax_positions", fixed_indices=(0, 1, 2))
    (result,) = _results(
        run_locally(
            CalculationMaker(engine=morse, task=task).make(structure), store=memory_store, log=False
        )
    )
    moved = np.linalg.norm(result.structure.cart_coords - structure.cart_coords, axis=1)
    assert moved[:3].max() < 1e-10
    assert moved[3:].max() > 1e-4


def test_embedded_store_keeps_results_across_connections(morse, tmp_path):
    from anodefree.workflows.stores import StoreSettings, make_job_store

    settings = StoreSettings(backend="embedded", path=tmp_path / "db")
    structure = bcc_supercell(3.45, 2)
    maker = CalculationMaker(engine=morse, task=CalculationTask(kind="static"))
    (first,) = _results(
        run_locally(maker.make(structure), store=make_job_store(settings), log=False)
    )
    reopened = make_job_store(settings)
    reopened.connect()
    key = calculation_key(structure, morse.provenance(), maker.task)
    cached = find_cached_result(reopened, key)
    assert cached is not None
    assert cached.energy == first.energy
    assert cached.structure == first.structure
