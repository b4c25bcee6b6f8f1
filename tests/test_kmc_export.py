"""The KMC parameter document: round trip, validation errors that name the field."""

from __future__ import annotations

import json
import math

import pytest

from anodefree.analysis.exports.kmc import (
    KMC_SCHEMA_VERSION,
    KmcExport,
    KmcExportError,
    KmcExportFileNotFoundError,
    MissingKmcInputError,
    bcc_shell_distances,
)
from anodefree.errors import ConfigError
from anodefree.provenance import CalculatorProvenance

CHGNET = CalculatorProvenance(
    engine="chgnet", package="chgnet", version="0.3.0", model="0.3.0", settings={"fmax_eV/A": 0.02}
)


def li_mg_export(**overrides):
    numbers = {
        "system": "Li-Mg/Li2S",
        "lattice_constant": 3.44,
        "vacancy_formation_by_layer": [0.35, 0.46, 0.49],
        "vacancy_formation_bulk": 0.50,
        "li_hop_barrier": 0.055,
        "attempt_frequency": 5e12,
        "electrolyte": "Li2S",
        "divacancy_binding_bulk": {1: 0.02, 2: 0.05},
        "divacancy_binding_interface": {2: 0.08},
        "solute": "Mg",
        "solute_fraction": 0.03,
        "segregation_by_layer": [-0.2, -0.05],
        "solute_vacancy_bulk": {1: 0.03, 3: 0.01},
        "solute_vacancy_interface": {1: 0.10},
        "li_hop_barrier_near_solute": 0.061,
        "solute_hop_barrier": 0.102,
        "interlayer_barriers": {(1, 2): (0.20, 0.09), (2, 3): 0.06},
        "solute_attempt_frequency": 4e12,
        "calculator": CHGNET,
    }
    numbers.update(overrides)
    return KmcExport.from_numbers(**numbers)


def test_round_trip_through_json_keeps_every_number(tmp_path):
    export = li_mg_export()
    path = export.write(tmp_path / "sub" / "kmc.json")
    again = KmcExport.read(path)
    assert again == export
    assert again.schema_version == KMC_SCHEMA_VERSION
    assert again.calculator.fingerprint == CHGNET.fingerprint
    # Every number carries its unit in the file itself.
    payload = json.loads(path.read_text())
    assert payload["vacancy"]["formation_by_layer"][0]["unit"] == "eV"
    assert payload["attempt_frequencies"]["li"]["unit"] == "Hz"
    assert payload["lattice_constant"]["unit"] == "angstrom"
    assert payload["barriers"]["interlayer"][0]["reverse"]["value"] == pytest.approx(0.09)


def test_from_numbers_records_shell_distances_of_bcc():
    export = li_mg_export()
    shells = {e.shell: e.distance for e in export.vacancy.divacancy_binding_bulk}
    # bcc: first neighbours at sqrt(3)/2 a, second at a, third at sqrt(2) a.
    assert shells[1] == pytest.approx(math.sqrt(3) / 2 * 3.44)
    assert shells[2] == pytest.approx(3.44)
    assert bcc_shell_distances(2.0, 5) == pytest.approx(
        [math.sqrt(3), 2.0, 2 * math.sqrt(2), math.sqrt(11), 2 * math.sqrt(3)]
    )


def test_quantities_and_job_ids_are_listed_with_their_paths():
    export = li_mg_export()
    paths = dict(export.quantities())
    assert "vacancy.formation_by_layer[2]" in paths
    assert "barriers.interlayer[0].forward" in paths
    assert "attempt_frequencies.solute" in paths
    assert export.job_ids() == []


def test_missing_field_is_named(tmp_path):
    payload = json.loads(li_mg_export().model_dump_json())
    del payload["vacancy"]["formation_bulk"]
    payload["attempt_frequencies"]["li"]["value"] = -1.0
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(payload))
    with pytest.raises(KmcExportError) as info:
        KmcExport.read(path)
    message = str(info.value)
    assert "vacancy.formation_bulk: missing" in message
    assert "attempt_frequencies.li.value: invalid" in message
    assert str(path) in message
    assert isinstance(info.value, ConfigError)


def test_wrong_unit_and_non_finite_value_are_rejected():
    payload = json.loads(li_mg_export().model_dump_json())
    payload["barriers"]["li_vacancy_bulk"]["unit"] = "kJ/mol"
    payload["vacancy"]["formation_by_layer"][1]["value"] = float("nan")
    with pytest.raises(KmcExportError) as info:
        KmcExport.from_dict(payload)
    message = str(info.value)
    assert "barriers.li_vacancy_bulk.unit" in message
    assert "vacancy.formation_by_layer[1].value" in message


def test_layers_must_be_contiguous_and_interlayer_pairs_adjacent():
    payload = json.loads(li_mg_export().model_dump_json())
    payload["vacancy"]["formation_by_layer"][1]["layer"] = 5
    payload["barriers"]["interlayer"][1]["to_layer"] = 4
    with pytest.raises(KmcExportError) as info:
        KmcExport.from_dict(payload)
    message = str(info.value)
    assert "vacancy.formation_by_layer" in message
    assert "not adjacent" in message


def test_other_major_schema_version_is_refused():
    payload = json.loads(li_mg_export().model_dump_json())
    payload["schema_version"] = "2.0"
    with pytest.raises(KmcExportError, match=r"schema_version.*'2.0'"):
        KmcExport.from_dict(payload)
    payload["schema_version"] = KMC_SCHEMA_VERSION.split(".")[0] + ".7"
    assert KmcExport.from_dict(payload).schema_version.endswith(".7")


def test_workflow_source_needs_job_ids_on_every_number():
    payload = json.loads(li_mg_export().model_dump_json())
    payload["source"] = "workflow"
    for path, _ in li_mg_export().quantities():
        if path != "lattice_constant":
            node = payload
            for part in path.replace("]", "").replace("[", ".").split("."):
                node = node[int(part)] if part.isdigit() else node[part]
            node["source_job_ids"] = ["job-1"]
    with pytest.raises(KmcExportError, match="carry no source_job_ids: lattice_constant"):
        KmcExport.from_dict(payload)
    payload["lattice_constant"]["source_job_ids"] = ["job-2", "job-1"]
    export = KmcExport.from_dict(payload)
    assert export.job_ids() == ["job-1", "job-2"]


def test_missing_file_and_bad_json_are_clear(tmp_path):
    with pytest.raises(KmcExportFileNotFoundError, match="not found"):
        KmcExport.read(tmp_path / "nowhere.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{ not json")
    with pytest.raises(KmcExportError, match="not valid JSON"):
        KmcExport.read(broken)


def test_missing_inputs_name_what_a_solute_run_needs():
    pure = KmcExport.from_numbers(
        system="Li/Li2S",
        lattice_constant=3.44,
        vacancy_formation_by_layer=[0.3],
        vacancy_formation_bulk=0.5,
        li_hop_barrier=0.055,
        attempt_frequency=5e12,
    )
    assert pure.missing_inputs(with_solute=True)["solute"] == "required"
    half = li_mg_export(solute_hop_barrier=None, solute_vacancy_bulk=None)
    missing = half.missing_inputs(with_solute=True)
    assert missing["barriers.solute_vacancy_exchange"] == "required"
    assert missing["solute.vacancy_interaction_bulk"] == "required"
    assert "barriers.interlayer" not in missing
    assert li_mg_export().missing_inputs(with_solute=True) == {}


def test_model_refuses_to_run_without_required_inputs():
    from anodefree.models.kmc.parameters import compile_tables

    half = li_mg_export(solute_hop_barrier=None)
    with pytest.raises(MissingKmcInputError, match=r"barriers\.solute_vacancy_exchange"):
        compile_tables(half, temperature=300, n_layers=8, with_solute=True)
    # Without solute the same document runs; the strict mode names every fallback.
    tables = compile_tables(half, temperature=300, n_layers=8, with_solute=False)
    assert not tables.has_solute
    sparse = li_mg_export(interlayer_barriers=None, divacancy_binding_interface=None)
    with pytest.raises(MissingKmcInputError) as info:
        compile_tables(sparse, temperature=300, n_layers=8, with_solute=True, strict=True)
    assert "barriers.interlayer" in str(info.value)
    assert "vacancy.divacancy_binding_interface" in str(info.value)
    relaxed = compile_tables(sparse, temperature=300, n_layers=8, with_solute=True)
    assert any("barriers.interlayer" in text for text in relaxed.assumptions)
