"""Surface-energy thickness series against independent direct ASE calculations (toy engine)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from ase.build import bcc100, bcc110
from ase.constraints import FixAtoms
from ase.filters import FrechetCellFilter
from ase.optimize import BFGS
from jobflow import Flow, run_locally
from pydantic import ValidationError

from anodefree.analysis.documents.calculation import CalculationResult
from anodefree.analysis.documents.surfaces import SurfaceEnergyDocument
from anodefree.analysis.energetics import EV_PER_A2_TO_J_PER_M2
from anodefree.analysis.report import build_report
from anodefree.errors import MixedCalculatorError, StructureError
from anodefree.structures.bulk import bulk_structure
from anodefree.tasks import CalculationTask, RelaxSettings
from anodefree.workflows.bulk import BulkReferenceMaker
from anodefree.workflows.engines.morse import MorsePairCalculator
from anodefree.workflows.engines.registry import get_engine
from anodefree.workflows.surfaces import (
    SurfaceEnergyMaker,
    SurfaceFacet,
    SurfacesStage,
    build_surfaces_stage,
)

RELAX = RelaxSettings(fmax=1e-3, max_steps=1000)


def _documents(responses, cls=SurfaceEnergyDocument):
    return [r.output for d in responses.values() for r in d.values() if isinstance(r.output, cls)]


@pytest.fixture(scope="module")
def series():
    """Li(100) with a fixed central plane in the thickest slab, Li(110), Li2S(111)."""
    from anodefree.workflows.stores import StoreSettings, make_job_store

    morse = get_engine("morse")
    bulk = BulkReferenceMaker(engine=morse, relax=RELAX, phases=("Li", "Li2S")).make()
    results = bulk.output["results"]
    flows = [
        SurfaceEnergyMaker(
            engine=morse, relax=RELAX, material="Li", miller=(1, 0, 0), n_units=(3, 4, 5),
            free_planes=2,
        ).make(results["Li"]),
        SurfaceEnergyMaker(
            engine=morse, relax=RELAX, material="Li", miller=(1, 1, 0), n_units=(3, 4)
        ).make(results["Li"]),
        SurfaceEnergyMaker(
            engine=morse, relax=RELAX, material="Li2S", miller=(1, 1, 1), n_units=(2, 3)
        ).make(results["Li2S"]),
    ]  # fmt: skip
    store = make_job_store(StoreSettings(backend="memory"))
    responses = run_locally(Flow([bulk, *flows]), store=store, log=False)
    bulk_results = {
        r.system: r for r in _documents(responses, CalculationResult) if r.role == "bulk reference"
    }
    return {d.facet: d for d in _documents(responses)}, bulk_results


def _direct_bulk_li() -> tuple[float, float]:
    """Relaxed bcc Li: lattice constant (A) and energy per atom (eV), straight from ASE."""
    from ase.build import bulk

    atoms = bulk("Li", "bcc", a=3.4, cubic=True)
    atoms.calc = MorsePairCalculator()
    BFGS(FrechetCellFilter(atoms), logfile=None).run(fmax=1e-5)
    return atoms.cell.lengths()[0], atoms.get_potential_energy() / len(atoms)


def _direct_gamma(atoms, e_bulk: float, fixed=()) -> float:
    atoms.calc = MorsePairCalculator()
    if fixed:
        atoms.set_constraint(FixAtoms(indices=list(fixed)))
    BFGS(atoms, logfile=None).run(fmax=1e-4, steps=2000)
    area = np.linalg.norm(np.cross(atoms.cell[0], atoms.cell[1]))
    return (atoms.get_potential_energy() - len(atoms) * e_bulk) / (2 * area) * EV_PER_A2_TO_J_PER_M2


def test_li100_series_matches_direct_ase_slabs(series):
    docs, _ = series
    doc = docs["Li(100)"]
    a, e_bulk = _direct_bulk_li()
    # independent e_bulk and lattice (ASE's own builder and optimiser); both bulk relaxations
    # stop at stresses that leave a within ~1e-4 A, e_bulk within ~1e-7 eV
    assert doc.bulk_energy_per_atom == pytest.approx(e_bulk, abs=1e-5)
    assert [s.n_units for s in doc.slabs] == [3, 4, 5]
    for slab in doc.slabs:
        atoms = bcc100("Li", size=(1, 1, slab.n_units), a=a, vacuum=7.5, orthogonal=True)
        z = atoms.positions[:, 2]
        order = np.argsort(z)
        n_fixed = max(0, slab.n_units - 4)  # free_planes=2 on each face
        first = (slab.n_units - n_fixed) // 2
        fixed = [int(i) for i in order[first : first + n_fixed]]
        assert slab.n_fixed == len(fixed)
        expected = _direct_gamma(atoms, e_bulk, fixed)
        # 1e-3 / 1e-4 eV/A force criteria: slab energies agree to ~1e-6 eV, i.e. gamma to
        # ~1e-5 J/m^2; the lattice difference (< 1e-3 A) adds < 1e-4 J/m^2
        assert slab.surface_energy == pytest.approx(expected, abs=5e-4)
    assert doc.surface_energy == doc.slabs[-1].surface_energy
    assert doc.thickness_change == pytest.approx(
        abs(doc.slabs[-1].surface_energy - doc.slabs[-2].surface_energy)
    )
    assert doc.thickness_converged == (doc.thickness_change <= 0.02)
    # the slope of E_slab(N) is the bulk energy per atom when gamma(n) is flat
    assert doc.fitted_bulk_deviation == pytest.approx(0.0, abs=1.0)  # meV/atom


def test_li110_matches_direct_ase_slab(series):
    docs, _ = series
    doc = docs["Li(110)"]
    a, e_bulk = _direct_bulk_li()
    for slab in doc.slabs:
        atoms = bcc110("Li", size=(1, 1, slab.n_units), a=a, vacuum=7.5)
        # same tolerance argument as for Li(100)
        assert slab.surface_energy == pytest.approx(_direct_gamma(atoms, e_bulk), abs=5e-4)
        assert slab.n_atoms == slab.n_units


def test_li2s_series_uses_trilayers(series):
    docs, bulks = series
    doc = docs["Li2S(111)"]
    assert doc.termination == "Li-S-Li"
    assert [s.n_atoms for s in doc.slabs] == [6, 9]
    e_bulk = bulks["Li2S"].energy_per_atom
    for slab in doc.slabs:  # the formula itself, with the document's own numbers
        expected = (slab.energy - slab.n_atoms * e_bulk) / (2 * doc.area) * EV_PER_A2_TO_J_PER_M2
        assert slab.surface_energy == pytest.approx(expected, rel=1e-12)
    # primitive Li2S(111) cell: hexagonal with side a_cubic / sqrt(2), area sqrt(3)/4 a^2
    a = bulks["Li2S"].structure.lattice.a * math.sqrt(2)  # primitive fcc a -> cubic a
    assert doc.area == pytest.approx(math.sqrt(3) / 4 * a**2, rel=1e-6)


def test_unconverged_relaxation_and_series_are_flagged(morse, memory_store):
    li = _static_li(morse, memory_store)
    maker = SurfaceEnergyMaker(
        engine=morse,
        relax=RelaxSettings(fmax=1e-6, max_steps=2),
        material="Li",
        miller=(1, 0, 0),
        n_units=(3, 4),
        tolerance=1e-9,
    )
    (doc,) = _documents(run_locally(maker.make(li), store=memory_store, log=False))
    assert not any(s.converged for s in doc.slabs)
    assert not doc.thickness_converged
    assert any("not converged" in w for w in doc.warnings)
    section = build_report("t", [doc]).sections[0]
    converged_row = next(r for r in section.rows if "thickest" in r.quantity)
    assert converged_row.flagged
    assert "NOT converged" in converged_row.note
    assert all(r.flagged for r in section.rows)


def _static_li(engine, store):
    from anodefree.workflows.calculation import CalculationMaker

    job = CalculationMaker(engine=engine, task=CalculationTask(kind="static")).make(
        bulk_structure("Li", a=3.44), label="Li"
    )
    (result,) = _documents(run_locally(job, store=store, log=False), CalculationResult)
    return result


def test_mixed_calculators_are_refused(series):
    _, bulks = series
    other = get_engine("morse", cutoff=5.0)
    with pytest.raises(MixedCalculatorError, match="bulk reference"):
        SurfaceEnergyMaker(engine=other, material="Li", n_units=(3, 4)).make(bulks["Li"])
    slab_result = bulks["Li"].model_copy(update={"calculator": other.provenance()})
    with pytest.raises(MixedCalculatorError, match=r"surface energy of Li\(100\)"):
        SurfaceEnergyDocument.from_results(
            material="Li",
            miller=(1, 0, 0),
            termination="Li",
            termination_index=0,
            area=11.8,
            vacuum=15.0,
            bulk=bulks["Li"],
            slabs=[(1, 1, 0, 0.0, slab_result), (2, 2, 0, 1.7, slab_result)],
        )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"material": "Li", "miller": (0, 0, 0)}, r"\(0, 0, 0\)"),
        ({"material": "Li", "miller": (1, 0, -1, 0)}, r"\(1, 0, -1, 0\).*no such facet"),
        ({"material": "Li2S", "miller": (1, 0, 0)}, r"Li2S\(1, 0, 0\) has no acceptable"),
        ({"material": "Li", "miller": (1, 0, 0), "termination": 3}, "termination 3"),
        ({"material": "Li", "miller": (1, 0, 0), "n_units": (5,)}, r"n_units=\(5,\)"),
        ({"material": "Xx", "miller": (1, 0, 0)}, "'Xx'"),
    ],
)
def test_bad_input_names_the_value(kwargs, match):
    with pytest.raises(StructureError, match=match):
        SurfaceEnergyMaker(**{"n_units": (3, 5), **kwargs})
    # the stage settings refuse the same values when a campaign file is loaded
    with pytest.raises((ValidationError, StructureError), match=match):
        SurfaceFacet(**{"n_units": (3, 5), **kwargs})


def test_stage_builds_flows_and_counts_calculations(morse):
    stage = SurfacesStage()
    assert [f.label for f in stage.facets] == ["Li(100)", "Li(110)", "Li2S(111)"]
    flows, planned = build_surfaces_stage(stage, morse, RELAX, {"Li": None, "Li2S": None})
    assert planned == sum(len(f.n_units) for f in stage.facets)
    assert set(flows[0].output) == {"Li(100)", "Li(110)", "Li2S(111)"}
    cluster = SurfacesStage.cluster()
    assert len(cluster.facets) > len(stage.facets)
    # LiAg is not a bulk-stage phase: the stage relaxes it itself
    _, planned = build_surfaces_stage(cluster, morse, RELAX, {"Li": None, "Li2S": None})
    assert planned == sum(len(f.n_units) for f in cluster.facets) + 1
    with pytest.raises(ValidationError, match="listed twice"):
        SurfacesStage(facets=(stage.facets[0], stage.facets[0]))


def test_termination_is_carried_by_label_across_bulk_cells():
    # The same Li2S shifted by (1/4, 1/4, 1/4) lists its (111) terminations in another
    # order (as an engine-relaxed cell can): the Maker resolves the named phase's
    # termination to its label, and the slabs of the shifted cell are still Li-S-Li.
    from anodefree.structures.orientation import orient_bulk
    from anodefree.structures.terminations import terminations_of
    from anodefree.workflows.surfaces import series_slabs

    shifted = bulk_structure("Li2S")
    shifted.translate_sites(range(len(shifted)), (0.25, 0.25, 0.25))
    labels = [r.label for r in terminations_of(orient_bulk(shifted, (1, 1, 1)))]
    nominal = [r.label for r in terminations_of(orient_bulk("Li2S", (1, 1, 1)))]
    assert labels != nominal  # the premise: the order differs
    maker = SurfaceEnergyMaker(material="Li2S", miller=(1, 1, 1), n_units=(2, 3))
    assert maker.termination == "Li-S-Li"
    builds = series_slabs(shifted, (1, 1, 1), (2, 3), termination=maker.termination)
    assert {b.record.termination.label for b in builds} == {"Li-S-Li"}
    with pytest.raises(StructureError, match="'S-S-S'"):
        series_slabs(shifted, (1, 1, 1), (2, 3), termination="S-S-S")
