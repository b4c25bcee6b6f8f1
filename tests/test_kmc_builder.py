"""KMC export builder: fields against the stored source documents, missing inputs, calculators."""

from __future__ import annotations

import dataclasses

import pytest
from jobflow import Flow, run_locally
from mesoscale_store import campaign_store, connect

from anodefree.analysis.exports.kmc import MissingKmcInputError
from anodefree.analysis.exports.kmc_builder import (
    build_kmc_export,
    collect_kmc_sources,
    kmc_export_from_sources,
    pure_system,
)
from anodefree.analysis.results import run_documents
from anodefree.errors import MixedCalculatorError


def test_pure_system_of_the_alloys_is_li_on_the_same_electrolyte():
    assert pure_system("Li-Mg/Li2S") == "Li/Li2S"
    assert pure_system("Li-Ag/Li2S") == "Li/Li2S"
    assert pure_system("Li/Li2S") == "Li/Li2S"


def test_an_empty_store_names_every_required_input_and_its_stage(memory_store):
    with pytest.raises(MissingKmcInputError) as caught:
        build_kmc_export(memory_store, "Li-Mg/Li2S")
    message = str(caught.value)
    for name in (
        "lattice_constant",
        "vacancy.formation_by_layer",
        "vacancy.formation_bulk",
        "solute.vacancy_interaction_bulk",
        "barriers.li_vacancy_bulk",
        "barriers.solute_vacancy_exchange",
        "attempt_frequencies.li",
    ):
        assert name in caught.value.missing[0] or any(name in m for m in caught.value.missing)
    assert "`interface_defects`" in message
    assert "`solute_vacancy.solutes` with Mg" in message
    assert "`migration.solutes`" in message


@pytest.fixture(scope="module")
def stored():
    path, run_id = campaign_store()
    store = connect(path)
    documents = run_documents(store, run_id)
    return store, run_id, documents


def _one(documents, class_name, **fields):
    found = [
        d
        for d in documents
        if type(d).__name__ == class_name and all(getattr(d, k) == v for k, v in fields.items())
    ]
    assert len(found) == 1, (class_name, fields, len(found))
    return found[0]


@pytest.mark.slow
def test_every_number_comes_from_its_source_document(stored):
    store, run_id, documents = stored
    export = build_kmc_export(store, "Li-Mg/Li2S")
    defects = _one(documents, "InterfaceDefectDocument", system="Li-Mg/Li2S")
    solute_vacancy = _one(documents, "SoluteVacancyDocument", solute="Mg")
    self_hop = _one(documents, "MigrationBarrierDocument", kind="self")
    exchange = _one(documents, "MigrationBarrierDocument", kind="exchange", solute="Mg")
    near = _one(documents, "MigrationBarrierDocument", kind="dissociation", solute="Mg")

    assert export.source == "workflow"
    assert export.calculator.fingerprint == defects.calculator.fingerprint
    assert export.electrolyte == "Li2S"
    assert export.metal_facet == "100"
    assert export.lattice_constant.value == defects.lattice_constant
    assert defects.chemical_potential_job_uuid in export.lattice_constant.source_job_ids
    l1 = defects.profile_by_layer[1]
    assert export.vacancy.formation_by_layer[0].value == l1.formation_energy
    assert set(l1.job_uuids) <= set(export.vacancy.formation_by_layer[0].source_job_ids)
    assert export.vacancy.formation_bulk.value == defects.interior_formation_energy
    # divacancy binding: KMC sign = -E_b of the document
    bulk_pair = next(p for p in defects.divacancies if p.where == "bulk")
    assert export.vacancy.divacancy_binding_bulk[0].shell == bulk_pair.bcc_shell == 1
    assert export.vacancy.divacancy_binding_bulk[0].value == -bulk_pair.binding_energy
    # the nearest L1-L1 pair of a bcc(100) layer is at a: bcc shell 2
    l1_pair = next(p for p in defects.divacancies if p.name == "L1-L1")
    assert export.vacancy.divacancy_binding_interface[0].shell == 2
    assert export.vacancy.divacancy_binding_interface[0].value == -l1_pair.binding_energy
    solute = export.solute
    assert solute.element == "Mg"
    assert solute.atomic_fraction == 0.03  # the preset's nominal fraction
    seg_l1 = next(s for s in defects.segregation if s.layer == 1 and not s.interior)
    assert solute.segregation_by_layer[0].layer == 1
    assert solute.segregation_by_layer[0].value == seg_l1.segregation_energy
    interaction = next(i for i in defects.interaction if i.shell == 1)
    assert solute.vacancy_interaction_interface[0].shell == 2
    assert solute.vacancy_interaction_interface[0].value == interaction.interaction_energy
    for shell, entry in zip(solute_vacancy.shells, solute.vacancy_interaction_bulk, strict=True):
        assert (entry.shell, entry.value) == (shell.shell, shell.binding_energy)
        assert shell.job_uuid in entry.source_job_ids
    barriers = export.barriers
    assert barriers.li_vacancy_bulk.value == self_hop.forward_barrier
    assert barriers.solute_vacancy_exchange.value == exchange.forward_barrier
    assert barriers.li_vacancy_near_solute.value == pytest.approx(
        0.5 * (near.forward_barrier + near.reverse_barrier), abs=1e-15
    )
    assert self_hop.job_uuids["neb"] in barriers.li_vacancy_bulk.source_job_ids
    # THz in the documents, Hz in the export
    assert export.attempt_frequencies.li.value == pytest.approx(
        self_hop.attempt_frequency_forward * 1e12, rel=1e-15
    )
    assert export.attempt_frequencies.solute.value == pytest.approx(
        exchange.attempt_frequency_forward * 1e12, rel=1e-15
    )
    # no interface NEB in this campaign: named in the notes, an error when strict
    assert barriers.interlayer == []
    assert any("barriers.interlayer" in n and "interface_systems" in n for n in export.notes)
    with pytest.raises(MissingKmcInputError, match=r"barriers\.interlayer"):
        build_kmc_export(store, "Li-Mg/Li2S", strict=True)
    # pure Li: no solute fields
    pure = build_kmc_export(store, "Li/Li2S", run_id=run_id)
    assert pure.solute is None
    assert pure.barriers.solute_vacancy_exchange is None


@pytest.mark.slow
def test_a_system_the_run_lacks_is_refused_with_its_stage(stored):
    store, run_id, _ = stored
    with pytest.raises(MissingKmcInputError) as caught:
        build_kmc_export(store, "Li-Ag/Li2S", run_id=run_id)
    message = str(caught.value)
    assert "vacancy.formation_by_layer" in message
    assert "Li-Ag/Li2S in `systems`" in message
    assert "barriers.solute_vacancy_exchange" in message


@pytest.mark.slow
def test_another_calculator_is_never_mixed(stored, tmp_path):
    """A self hop of the same run from another calculator -> refused; across runs -> ignored."""
    from anodefree.tasks import RelaxSettings
    from anodefree.workflows.bulk import BulkReferenceMaker
    from anodefree.workflows.engines.registry import get_engine
    from anodefree.workflows.migration import MigrationStage, build_migration_stage
    from anodefree.workflows.stores import StoreSettings, make_job_store

    path, run_id = campaign_store()
    # a private copy of the shared store, so the other tests keep a clean run
    import shutil

    shutil.copytree(path, tmp_path / "store")
    store = make_job_store(StoreSettings(backend="embedded", path=tmp_path / "store"))
    store.connect()
    other = get_engine("morse", cutoff=5.0)
    relax = RelaxSettings(fmax=5e-3)
    bulk = BulkReferenceMaker(engine=other, relax=relax, phases=("Li",)).make()
    section = MigrationStage(solutes=(), dissociation_shell=None, attempt_frequency=None)
    flows, _ = build_migration_stage(section, other, relax, bulk.output["results"]["Li"])
    flow = Flow([bulk, *flows])
    flow.update_metadata({"run_id": run_id}, dynamic=True)
    run_locally(flow, store=store, log=False, ensure_success=True)
    with pytest.raises(MixedCalculatorError):
        build_kmc_export(store, "Li/Li2S", run_id=run_id)
    # the same hop tagged with another run: across runs it is left out, named in the notes
    store.docs_store.update(
        [
            {**doc, "metadata": {**doc["metadata"], "run_id": "other-run"}}
            for doc in store.docs_store.query(
                {"metadata.run_id": run_id, "output.calculator.settings.cutoff_A": 5.0}
            )
        ],
        key="uuid",
    )
    export = build_kmc_export(store, "Li/Li2S", across_runs=True)
    assert export.calculator.settings["cutoff_A"] == 4.6
    assert any("another calculator, not mixed" in n for n in export.notes)


@pytest.mark.slow
def test_interlayer_barriers_of_unusable_bands_are_left_out(stored):
    """A converged band between reconstructed endpoints never reaches the KMC model."""
    store, run_id, _ = stored
    sources = collect_kmc_sources(store, "Li/Li2S", run_id=run_id)
    self_hop = next(h for h in sources.hops if h.document.kind == "self")
    kept, dropped = (
        dataclasses.replace(
            self_hop,
            document=self_hop.document.model_copy(
                update={
                    "kind": "interface",
                    "hop": f"L{a} -> L{a + 1}",
                    "metadata": {"from_layer": a, "to_layer": a + 1},
                    "endpoint_mismatch": mismatch,
                    "forward_barrier": 0.1 * a,
                }
            ),
        )
        for a, mismatch in ((1, 0.05), (2, 2.5))
    )
    sources.hops += [kept, dropped]
    export = kmc_export_from_sources(sources)
    interlayer = export.barriers.interlayer
    assert [(b.from_layer, b.to_layer) for b in interlayer] == [(1, 2)]
    assert interlayer[0].forward.value == pytest.approx(0.1)
    assert any("L2 -> L3 left out" in n and "2.50 A" in n for n in export.notes)
    # with an L2 energy in the profile, the kept hop's reaction energy is set beside the
    # layer-energy difference the model uses for its end states
    assert not any(": reaction energy" in n for n in export.notes)
    defects = sources.defects.document
    first = next(e for e in defects.vacancy_profile if e.layer == 1)
    second = first.model_copy(
        update={"layer": 2, "formation_energy": first.formation_energy + 0.05}
    )
    sources.defects = dataclasses.replace(
        sources.defects,
        document=defects.model_copy(update={"vacancy_profile": [*defects.vacancy_profile, second]}),
    )
    export = kmc_export_from_sources(sources)
    expected = (
        f"L1 -> L2: reaction energy {kept.document.reaction_energy:+.4f} eV vs "
        f"E_f(L2) - E_f(L1) = +0.0500 eV"
    )
    assert any(expected in n for n in export.notes)
    assert any("not the interface-defect host" in n for n in export.notes)
    # hops built in the defect host (their metadata name its supercell) are described so
    for item in (kept, dropped):
        item.document.metadata["host_supercell"] = [1, 1]
    export = kmc_export_from_sources(sources)
    assert any("one site pair of the interface-defect host" in n for n in export.notes)
    # a collapsed hop (the hopping atom ends where it started) is left out as well
    kept.document.hop_distance = 0.05
    export = kmc_export_from_sources(sources)
    assert export.barriers.interlayer == []
    assert any("L1 -> L2 left out" in n and "moved 0.05 A" in n for n in export.notes)
