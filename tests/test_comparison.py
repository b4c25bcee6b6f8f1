"""Calculator comparison: values read from real (toy-engine) documents, differences, missing
values, mixed calculators, the store query and the ``compare`` command."""

from __future__ import annotations

import json

import numpy as np
import pytest
from ase.optimize import BFGS
from jobflow import run_locally
from pymatgen.io.ase import AseAtomsAdaptor
from typer.testing import CliRunner

from anodefree.analysis.comparison import (
    PROPERTY_KEYS,
    build_comparison,
    column_values,
    compare_store,
    engine_documents,
)
from anodefree.analysis.report import build_report, render_markdown
from anodefree.analysis.results import run_documents
from anodefree.config import config_from_dict
from anodefree.errors import MixedCalculatorError
from anodefree.workflows.campaign import run_campaign
from anodefree.workflows.engines.registry import get_engine
from anodefree.workflows.stores import StoreSettings, make_job_store
from anodefree.workflows.validation import ValidationStage, build_validation_stage

# The module fixture runs two toy campaigns (about 20 s each on a shared machine).
pytestmark = pytest.mark.slow

#: The gpaw-validation preset's stages, shrunk for the toy engine.
SMALL = {
    "bulk": {"phases": ["Li", "Ag"]},
    "bulk_vacancy": {"repetitions": [2, 3]},
    "solute_vacancy": None,
    "surfaces": {
        "facets": [{"material": "Li", "miller": [1, 0, 0], "n_units": [3, 5], "free_planes": 2}],
        "vacuum": 10.0,
    },
    "adhesion": None,
    "hull": None,
    "migration": {
        "repetitions": 3,
        "solutes": [],
        "attempt_frequency": None,
        "neb": {"n_images": 1, "fmax": 0.02},
    },
    "relax": {"fmax": 0.01},
}


def _run(store_dir, work_dir, engine: dict) -> tuple[str, list]:
    """Run the small campaign plus the validation stage; return run id and documents."""
    store = {"backend": "embedded", "path": str(store_dir)}
    config = config_from_dict(
        {**SMALL, "name": "cmp", "engine": engine, "store": store, "work_dir": str(work_dir)}
    )
    summary = run_campaign(config)
    job_store = make_job_store(StoreSettings(**store))
    job_store.connect()
    # The validation stage, tagged like a campaign stage (until it is wired into campaigns).
    flows, _ = build_validation_stage(
        ValidationStage(scans=()),
        config.engine,
        config.relax,
        _bulk(job_store, summary.run_id, "Li"),
        _bulk(job_store, summary.run_id, "Ag"),
    )
    for flow in flows:
        flow.update_metadata({"run_id": summary.run_id, "engine": config.engine.name})
        run_locally(flow, store=job_store, create_folders=True, root_dir=work_dir, log=False)
    return summary.run_id, run_documents(job_store, summary.run_id)


def _bulk(job_store, run_id, phase):
    from anodefree.analysis.results import run_calculations

    return next(r for r in run_calculations(job_store, run_id) if r.label.startswith(f"{phase} "))


@pytest.fixture(scope="module")
def toy_runs(tmp_path_factory):
    """Two runs of the toy engine with different settings (pair cutoff 4.6 and 5.2 A)."""
    root = tmp_path_factory.mktemp("comparison")
    first = _run(root / "store", root / "runs", {"name": "morse"})
    second = _run(root / "store", root / "runs", {"name": "morse", "cutoff": 5.2})
    return {"store": root / "store", "default": first, "long": second}


def _doc(documents, name):
    return next(d for d in documents if type(d).__name__ == name)


def test_values_are_the_documents_numbers(toy_runs):
    _, documents = toy_runs["default"]
    values = column_values(documents)
    assert set(values) == set(PROPERTY_KEYS)
    assert values["a0_Li"].value == _doc(documents, "BulkReferenceDocument").phases["Li"].a
    vacancy = _doc(documents, "BulkVacancyDocument")
    assert values["vacancy_formation_Li"].value == vacancy.formation_energy
    assert "54-site" in values["vacancy_formation_Li"].note
    hop = _doc(documents, "MigrationBarrierDocument")
    assert values["hop_barrier_Li"].value == hop.forward_barrier
    assert (
        values["surface_energy_Li100"].value
        == _doc(documents, "SurfaceEnergyDocument").surface_energy
    )
    for value in values.values():
        assert value.calculator is not None
        assert value.label.startswith("morse ")


def test_liag_formation_energy_against_a_direct_calculation(toy_runs):
    """E_form of B2 LiAg from independent ASE relaxations with the same toy potential."""
    _, documents = toy_runs["default"]
    formation = _doc(documents, "FormationEnergyDocument")
    engine = get_engine("morse")
    energies = {}
    for name, atoms in _direct_cells(formation).items():
        atoms.calc = engine.calculator()
        from ase.filters import FrechetCellFilter

        BFGS(FrechetCellFilter(atoms), logfile=None).run(fmax=1e-4, steps=500)
        energies[name] = atoms.get_potential_energy() / len(atoms)
    direct = energies["LiAg"] - 0.5 * energies["Li"] - 0.5 * energies["Ag"]
    # Both relax to 0.01 eV/A (flow) and 1e-4 eV/A (here): near a minimum the energy
    # error is second order, well below 1 meV/atom.
    assert formation.formation_energy_per_atom == pytest.approx(direct, abs=1e-3)
    assert column_values(documents)["formation_energy_LiAg_B2"].value == (
        formation.formation_energy_per_atom
    )


def _direct_cells(formation):
    from anodefree.structures.bulk import bulk_structure
    from anodefree.structures.surface_materials import liag_b2_structure

    adaptor = AseAtomsAdaptor()
    return {
        "LiAg": adaptor.get_atoms(liag_b2_structure(formation.lattice_constant * 1.02)),
        "Li": adaptor.get_atoms(bulk_structure("Li")),
        "Ag": adaptor.get_atoms(bulk_structure("Ag")),
    }


def test_differences_between_columns_and_published(toy_runs):
    _, short = toy_runs["default"]
    _, long = toy_runs["long"]
    document = build_comparison({"short": short, "long": long})
    assert document.columns == ["short", "long"]
    for row in document.rows:
        a, b = row.values["short"].value, row.values["long"].value
        diff = row.difference("long", "short")
        assert diff.absolute == pytest.approx(b - a)
        assert diff.percent == pytest.approx(100 * (b - a) / abs(a))
    vacancy = document.row("vacancy_formation_Li")
    assert vacancy.published == 0.50
    versus = vacancy.difference("short", "published")
    assert versus.absolute == pytest.approx(vacancy.values["short"].value - 0.50)
    # the two settings give different numbers (otherwise the test could not fail)
    assert abs(document.row("a0_Li").difference("long", "short").absolute) > 1e-4
    assert "long - short" in document.to_markdown()


def test_missing_values_are_shown_as_missing_not_zero(toy_runs):
    _, documents = toy_runs["default"]
    only_bulk = [_doc(documents, "BulkReferenceDocument")]
    document = build_comparison({"full": documents, "bulk only": only_bulk})
    vacancy = document.row("vacancy_formation_Li")
    assert vacancy.values["bulk only"].value is None
    assert vacancy.values["bulk only"].label == "missing"
    assert vacancy.difference("bulk only", "full").absolute is None
    assert vacancy.difference("bulk only", "published").absolute is None
    assert any("no bulk only value" in w for w in document.warnings)
    table = document.to_markdown()
    assert "missing" in table
    rows = [line for line in table.splitlines() if line.startswith("| Li vacancy")]
    assert "0.000" not in rows[0]
    # the report section renders it too, with None values
    report = build_report("cmp", [document])
    assert any(r.value is None for r in report.rows)
    assert "missing" in render_markdown(report)


def test_a_column_with_two_codes_is_refused_settings_may_differ(toy_runs):
    _, short = toy_runs["default"]
    _, long = toy_runs["long"]
    bulk = _doc(short, "BulkReferenceDocument")
    other = bulk.calculator.model_copy(update={"version": "9.9.9"})
    vacancy = _doc(short, "BulkVacancyDocument").model_copy(update={"calculator": other})
    with pytest.raises(MixedCalculatorError, match="version"):
        build_comparison({"mixed": [bulk, vacancy]})
    # same code, other settings: allowed, each value keeps its own settings
    values = column_values([bulk, _doc(long, "BulkVacancyDocument")])
    assert values["a0_Li"].calculator.settings["cutoff_A"] == 4.6
    assert values["vacancy_formation_Li"].calculator.settings["cutoff_A"] == 5.2
    # ... and the table names the property computed with other settings, and how
    document = build_comparison({"morse": [bulk, _doc(long, "BulkVacancyDocument")]})
    assert document.calculators["morse"].settings["cutoff_A"] == 4.6
    assert document.settings_differences("morse") == [
        "Li vacancy formation energy E_f (bcc Li): computed with cutoff_A=5.2"
    ]
    assert "computed with cutoff_A=5.2" in document.to_markdown()


def test_store_query_takes_the_newest_run_or_the_given_one(toy_runs):
    job_store = make_job_store(StoreSettings(backend="embedded", path=str(toy_runs["store"])))
    job_store.connect()
    documents, runs = engine_documents([job_store], "morse")
    assert runs == [toy_runs["long"][0], toy_runs["default"][0]]  # newest first
    newest = column_values(toy_runs["long"][1])
    for key, value in column_values(documents).items():
        assert value.value == pytest.approx(newest[key].value)
        assert value.calculator.settings["cutoff_A"] == 5.2
    first_id = toy_runs["default"][0]
    document = compare_store(job_store, ["morse", "chgnet"], [first_id])
    assert document.runs["morse"] == [first_id]
    expected = column_values(toy_runs["default"][1])
    for key in PROPERTY_KEYS:
        assert document.row(key).values["morse"].value == pytest.approx(expected[key].value)
        assert document.row(key).values["chgnet"].value is None
    assert document.calculators["chgnet"] is None


def test_compare_command_writes_the_table(toy_runs, tmp_path):
    from anodefree.cli import app  # the installed command line, compare registered

    runner = CliRunner(env={"COLUMNS": "250"})
    out = tmp_path / "cmp"
    args = ["compare", "--engines", "morse,gpaw", "--store-path", str(toy_runs["store"])]
    result = runner.invoke(app, [*args, "--report-dir", str(out)])
    assert result.exit_code == 0, result.output
    assert "Li vacancy formation energy" in result.output
    saved = json.loads((out / "comparison.json").read_text())
    assert saved["columns"] == ["morse", "gpaw"]
    vacancy = next(r for r in saved["rows"] if r["key"] == "vacancy_formation_Li")
    assert vacancy["values"]["gpaw"]["value"] is None
    assert np.isfinite(vacancy["values"]["morse"]["value"])
    assert "missing" in (out / "comparison.md").read_text()
    bad = runner.invoke(app, ["compare", "--engines", " , "])
    assert bad.exit_code == 2
    assert "--engines is empty" in bad.output
