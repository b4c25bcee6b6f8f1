"""Validation stage: settings, builder, convergence study and compound formation energies
with the toy engine (checked against direct calculations)."""

from __future__ import annotations

import pytest
from jobflow import run_locally
from pydantic import ValidationError

from anodefree.analysis.documents.calculation import CalculationResult
from anodefree.analysis.documents.validation import (
    ConvergenceStudyDocument,
    FormationEnergyDocument,
)
from anodefree.errors import ConfigError, EngineError, MixedCalculatorError
from anodefree.structures.bulk import bulk_structure
from anodefree.tasks import RelaxSettings
from anodefree.workflows.calculation import CalculationMaker
from anodefree.workflows.convergence import static_energy
from anodefree.workflows.engines.registry import get_engine
from anodefree.workflows.validation import (
    ConvergenceScanSettings,
    ValidationStage,
    build_validation_stage,
    run_convergence_study,
    scan_quantity,
)

CUTOFF_SCAN = ConvergenceScanSettings(
    quantity="liag_formation", setting="cutoff", values=(4.0, 4.6, 6.0, 7.0), tolerance=1e-3
)


def test_settings_are_validated_with_the_value_named():
    with pytest.raises(ValidationError, match="Li2Ag"):
        ValidationStage(compounds=("Li2Ag",))
    with pytest.raises(ValidationError, match="at least two distinct values"):
        ConvergenceScanSettings(quantity="li_energy_per_atom", setting="ecut", values=(300, 300),
                                tolerance=0.01)  # fmt: skip
    with pytest.raises(ValidationError, match="neither scans nor compounds"):
        ValidationStage(scans=(), compounds=())
    default = ValidationStage()
    assert {s.setting for s in default.scans} == {"ecut", "kpoint_density"}
    assert ValidationStage.cluster().scans[-1].repetitions == 4
    # round trip through monty (FireWorks / jobflow-remote serialise Makers' settings)
    assert ValidationStage.from_dict(default.as_dict()) == default


def test_builder_needs_ag_and_counts_calculations(morse):
    li = bulk_structure("Li")
    with pytest.raises(ConfigError, match="needs fcc Ag"):
        build_validation_stage(ValidationStage(), morse, RelaxSettings(), li, None)
    flows, planned = build_validation_stage(
        ValidationStage(scans=(), compound_settings={"cutoff": 5.0}), morse, RelaxSettings(),
        li, bulk_structure("Ag"),
    )  # fmt: skip
    assert len(flows) == 1
    assert planned == 1 + 2  # LiAg and its two references with the changed engine
    with pytest.raises(EngineError, match="no setting 'ecut'"):
        build_validation_stage(
            ValidationStage(scans=(), compound_settings={"ecut": 500}), morse, RelaxSettings(),
            li, bulk_structure("Ag"),
        )  # fmt: skip


def test_convergence_study_checks_the_campaign_value(morse, tmp_path):
    li, ag = bulk_structure("Li"), bulk_structure("Ag")
    document = run_convergence_study(morse, (CUTOFF_SCAN,), li, ag, directory=str(tmp_path))
    assert isinstance(document, ConvergenceStudyDocument)
    table = document.tables[0]
    quantity = scan_quantity(CUTOFF_SCAN, li, ag)
    # every row against a direct evaluation with that cutoff
    for row in table.rows:
        engine = get_engine("morse", cutoff=row.value)
        energies = [static_energy(engine, t.structure) for t in quantity.terms]
        assert row.quantity == pytest.approx(quantity.evaluate(energies), abs=1e-10)
    check = document.checks[0]
    assert check.campaign_value == morse.cutoff == 4.6
    assert check.difference == pytest.approx(table.rows[1].difference)
    assert check.within_tolerance == table.rows[1].within_tolerance
    # a value outside the scan is reported as not scanned, not as converged
    other = run_convergence_study(
        get_engine("morse", cutoff=5.0), (CUTOFF_SCAN,), li, ag, directory=str(tmp_path)
    )
    assert other.checks[0].within_tolerance is None


def test_compound_formation_against_direct_energies(morse, memory_store, tmp_path):
    relax = RelaxSettings(fmax=0.005)
    calc = CalculationMaker(engine=morse, task=relax.task("relax_full"))
    li = calc.make(bulk_structure("Li"), label="Li bulk", system="Li", role="bulk reference")
    ag = calc.make(bulk_structure("Ag"), label="Ag bulk", system="Ag", role="bulk reference")
    run_locally(li, store=memory_store, create_folders=True, root_dir=tmp_path, log=False)
    run_locally(ag, store=memory_store, create_folders=True, root_dir=tmp_path, log=False)
    li_result = memory_store.get_output(li.uuid)
    ag_result = memory_store.get_output(ag.uuid)
    flows, _ = build_validation_stage(ValidationStage(scans=()), morse, relax, li_result, ag_result)
    responses = run_locally(
        flows[0], store=memory_store, create_folders=True, root_dir=tmp_path, log=False
    )
    outputs = [r.output for job in responses.values() for r in job.values()]
    documents = [o for o in outputs if isinstance(o, FormationEnergyDocument)]
    assert len(documents) == 1
    doc = documents[0]
    assert doc.compound == "LiAg"
    assert doc.prototype == "B2"
    compound = next(
        o for o in outputs if isinstance(o, CalculationResult) and o.label.startswith("LiAg")
    )
    # direct: the relaxed LiAg energy per atom minus the references' (same engine)
    direct = static_energy(morse, compound.structure) / len(compound.structure)
    expected = direct - 0.5 * li_result.energy_per_atom - 0.5 * ag_result.energy_per_atom
    assert doc.formation_energy_per_atom == pytest.approx(expected, abs=1e-8)
    assert doc.reference_energies == {
        "Li": li_result.energy_per_atom,
        "Ag": ag_result.energy_per_atom,
    }
    assert doc.lattice_constant == pytest.approx(compound.structure.lattice.a, abs=1e-6)


def test_formation_energy_refuses_mixed_calculators(morse, memory_store, tmp_path):
    relax = RelaxSettings(fmax=0.01)
    other = get_engine("morse", cutoff=5.0)
    jobs = {
        "Li": CalculationMaker(engine=morse, task=relax.task("relax_full")).make(
            bulk_structure("Li"), label="Li"
        ),
        "Ag": CalculationMaker(engine=other, task=relax.task("relax_full")).make(
            bulk_structure("Ag"), label="Ag"
        ),
    }
    results = {}
    for symbol, job in jobs.items():
        run_locally(job, store=memory_store, create_folders=True, root_dir=tmp_path, log=False)
        results[symbol] = memory_store.get_output(job.uuid)
    with pytest.raises(MixedCalculatorError, match="formation energy"):
        FormationEnergyDocument.from_results(results["Li"], results, "B2")


def test_gpaw_validation_preset_settings():
    """The preset's documented choices: 3x3x3 k-points on the 54-site cell, one NEB image."""
    import yaml

    from anodefree.config import PRESETS_DIR, config_from_dict, load_config
    from anodefree.structures.defects import bcc_supercell
    from anodefree.workflows.campaign import build_campaign

    data = yaml.safe_load((PRESETS_DIR / "gpaw-validation.yaml").read_text())
    section = ValidationStage(**data["validation"])
    assert section.compound_settings == {"ecut": 500.0}
    config = config_from_dict(data)
    assert config.validation == section
    assert load_config("gpaw-validation").validation == section
    engine = config.engine
    assert engine.name == "gpaw"
    assert engine.ecut == 300.0
    # PBE a0 of bcc Li is about 3.43-3.44 A: the 54-site cell gets 3x3x3, the 16-site 5x5x5
    for a in (3.42, 3.44):
        assert engine.kpoints_for(bcc_supercell(a, 3)) == (3, 3, 3)
        assert engine.kpoints_for(bcc_supercell(a, 2)) == (5, 5, 5)
    assert config.migration.neb.n_images == 1
    assert config.migration.solutes == ()
    assert config.migration.attempt_frequency is None
    assert [f.label for f in config.surfaces.facets] == ["Li(100)"]
    # The stage is part of the campaign: scans + LiAg + the two 500 eV references.
    plan = build_campaign(config)
    assert plan.stages["validation"] == len(section.scans) + 1 + 2
    assert "validation" in {job.metadata.get("stage") for job, _ in plan.flow.iterflow()}


def test_compound_settings_relax_their_own_references(morse, memory_store, tmp_path):
    """With an override, LiAg, Li and Ag are all relaxed with the changed engine."""
    relax = RelaxSettings(fmax=0.005)
    section = ValidationStage(scans=(), compound_settings={"cutoff": 5.0})
    flows, planned = build_validation_stage(section, morse, relax, "unused", "unused")
    assert planned == 3
    responses = run_locally(
        flows[0], store=memory_store, create_folders=True, root_dir=tmp_path, log=False
    )
    outputs = [r.output for job in responses.values() for r in job.values()]
    doc = next(o for o in outputs if isinstance(o, FormationEnergyDocument))
    assert doc.calculator.settings["cutoff_A"] == 5.0
    results = {o.formula: o for o in outputs if isinstance(o, CalculationResult)}
    assert {r.calculator.settings["cutoff_A"] for r in results.values()} == {5.0}
    expected = (
        results["LiAg"].energy_per_atom
        - 0.5 * results["Li"].energy_per_atom
        - 0.5 * results["Ag"].energy_per_atom
    )
    assert doc.formation_energy_per_atom == pytest.approx(expected, abs=1e-12)
    # no second bulk reference document (the campaign's a0 stays the bulk stage's)
    assert not any(type(o).__name__ == "BulkReferenceDocument" for o in outputs)


def test_engine_override_drops_the_scans_the_engine_lacks():
    """`anodefree run gpaw-validation --engine chgnet`: GPAW's scans are skipped, named."""
    from anodefree.cli import _load

    gpaw = _load("gpaw-validation", None, None, None)
    assert {s.setting for s in gpaw.validation.scans} == {"ecut", "kpoint_density"}
    chgnet = _load("gpaw-validation", "chgnet", None, None)
    assert chgnet.engine.name == "chgnet"
    assert chgnet.validation.scans == ()
    assert chgnet.validation.compound_settings == {}
    assert chgnet.validation.compounds == ("LiAg",)
    stage, dropped = gpaw.validation.for_engine(get_engine("morse"))
    assert stage.scans == ()
    assert stage.compounds == ("LiAg",)
    assert "compound setting ecut=500.0" in dropped
    assert len(dropped) == len(gpaw.validation.scans) + 1
    only_scans = ValidationStage(compounds=())
    assert only_scans.for_engine(get_engine("morse"))[0] is None
