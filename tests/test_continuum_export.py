"""The continuum parameter file: defaults, sources, validation, JSON round trip."""

from __future__ import annotations

import json
import math

import pytest

from anodefree.analysis.exports.continuum import (
    SCHEMA_VERSION,
    AlloyOnset,
    ComputedSource,
    ContinuumExportError,
    ContinuumParameters,
    SoluteDiffusivity,
    SuppliedSource,
    VoltagePlateau,
    read_continuum_parameters,
    write_continuum_parameters,
)
from anodefree.errors import ConfigError
from anodefree.provenance import CalculatorProvenance

CHGNET = CalculatorProvenance(engine="chgnet", package="chgnet", version="0.4.0", model="0.3.0")


def _li_ag_profile():
    # Two illustrative hull segments, Li-rich first; the numbers are not physics results.
    return [
        VoltagePlateau(li_fraction_rich=0.75, li_fraction_poor=9 / 13, voltage=0.12),
        VoltagePlateau(li_fraction_rich=12 / 13, li_fraction_poor=0.75, voltage=0.04),
    ]


def test_defaults_carry_the_reference_values_and_flag_assumptions():
    p = ContinuumParameters()
    assert p.schema_version == SCHEMA_VERSION
    assert p.conductivity.value == pytest.approx(1.8e-3)  # argyrodite, science.md
    assert not p.conductivity.source.assumption
    assert (p.domain_width, p.domain_height) == (50.0, 15.0)
    for name in ("exchange_current_density", "alpha_anodic", "alpha_cathodic", "temperature"):
        assert getattr(p, name).source.assumption, name
    onsets = {o.alloy: o.onset for o in p.onsets}
    assert onsets == {"Li-Ag": 0.05, "Li-Au": 0.07}
    assert all(isinstance(o.source, SuppliedSource) for o in p.onsets)
    assert p.diffusivities == []


def test_json_round_trip_keeps_every_value_and_source(tmp_path):
    onset = AlloyOnset.from_voltage_profile("Li-Ag", _li_ag_profile(), CHGNET, ["job-a", "job-b"])
    diffusivity = SoluteDiffusivity(
        solute="Ag",
        prefactor=2e-3,
        activation_energy=0.62,
        source=ComputedSource(provenance=CHGNET, job_ids=["neb-1"], method="vacancy mechanism"),
    )
    p = ContinuumParameters(diffusivities=[diffusivity]).with_onset(onset)
    path = write_continuum_parameters(p, tmp_path / "sub" / "continuum.json")
    back = read_continuum_parameters(path)
    assert back == p
    assert back.fingerprint == p.fingerprint
    computed = next(o for o in back.onsets if o.alloy == "Li-Ag")
    assert computed.source.provenance == CHGNET
    assert computed.source.job_ids == ["job-a", "job-b"]


def test_onset_from_voltage_profile_is_the_most_li_rich_plateau():
    onset = AlloyOnset.from_voltage_profile("Li-Ag", _li_ag_profile(), CHGNET, ["job-a"])
    assert onset.onset == 0.04
    assert onset.voltage_profile[0].li_fraction_rich == pytest.approx(12 / 13)
    assert onset.display_label == "Li-Ag (chgnet)"
    assert "chgnet" in onset.source.summary


def test_non_convex_voltage_profile_is_refused():
    bad = [
        VoltagePlateau(li_fraction_rich=0.9, li_fraction_poor=0.75, voltage=0.10),
        VoltagePlateau(li_fraction_rich=0.75, li_fraction_poor=0.5, voltage=0.05),
    ]
    with pytest.raises(ContinuumExportError, match=r"not that of a convex hull"):
        AlloyOnset.from_voltage_profile("Li-Ag", bad, CHGNET, ["job-a"])
    with pytest.raises(ContinuumExportError, match="empty voltage profile"):
        AlloyOnset.from_voltage_profile("Li-Ag", [], CHGNET, ["job-a"])


def test_computed_source_needs_job_ids():
    with pytest.raises(ValueError, match="job_ids"):
        ComputedSource(provenance=CHGNET, job_ids=[], method="hull")


def test_with_onset_replaces_the_same_alloy_and_keeps_user_li_au():
    li_au = AlloyOnset(
        alloy="Li-Au",
        onset=0.07,
        label="Li-Au (user)",
        source=SuppliedSource(note="measured onset given by the user"),
    )
    computed = AlloyOnset.from_voltage_profile("Li-Ag", _li_ag_profile(), CHGNET, ["job-a"])
    p = ContinuumParameters(onsets=[li_au]).with_onset(computed)
    assert [o.display_label for o in p.onsets] == ["Li-Au (user)", "Li-Ag (chgnet)"]
    both = ContinuumParameters().with_onset(computed, replace_alloy=False)
    assert sorted(o.display_label for o in both.onsets) == [
        "Li-Ag (chgnet)",
        "Li-Ag (measured)",
        "Li-Au (measured)",
    ]


def test_duplicate_onset_labels_are_refused():
    onset = AlloyOnset(alloy="Li-Au", onset=0.07, source=SuppliedSource(note="x"))
    with pytest.raises(ValueError, match="duplicate labels"):
        ContinuumParameters(onsets=[onset, onset])


def _written(tmp_path, mutate):
    data = json.loads(ContinuumParameters().model_dump_json())
    mutate(data)
    path = tmp_path / "params.json"
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize(
    ("mutate", "named"),
    [
        (lambda d: d["conductivity"].update(value=-1.0), "conductivity"),
        (lambda d: d["exchange_current_density"].update(value=0.0), "exchange_current_density"),
        (lambda d: d["alpha_anodic"].update(value=1.5), "alpha_anodic"),
        (lambda d: d["temperature"].update(value=float("nan")), "temperature.value"),
        (lambda d: d.update(domain_width=-5), "domain_width"),
        (lambda d: d["onsets"][1].update(onset="high"), "onsets.1.onset"),
        (lambda d: d["onsets"][0]["source"].update(note=""), "onsets.0.source.supplied.note"),
        (lambda d: d.update(conductivty=1.0), "conductivty"),
        (lambda d: d.update(schema_version="2.0"), "schema_version"),
    ],
)
def test_invalid_field_is_named(tmp_path, mutate, named):
    path = _written(tmp_path, mutate)
    with pytest.raises(ContinuumExportError) as error:
        read_continuum_parameters(path)
    assert named in str(error.value)
    assert str(path) in str(error.value)
    assert isinstance(error.value, ConfigError)


def test_missing_schema_version_missing_file_and_bad_json(tmp_path):
    path = _written(tmp_path, lambda d: d.pop("schema_version"))
    with pytest.raises(ContinuumExportError, match="schema_version is missing"):
        read_continuum_parameters(path)
    with pytest.raises(ContinuumExportError, match="does not exist"):
        read_continuum_parameters(tmp_path / "absent.json")
    broken = tmp_path / "broken.json"
    broken.write_text('{"schema_version": "1.0",\n "conductivity": }')
    with pytest.raises(ContinuumExportError, match=r"line 2, column"):
        read_continuum_parameters(broken)


def test_minor_schema_version_is_accepted(tmp_path):
    path = _written(tmp_path, lambda d: d.update(schema_version="1.7"))
    assert read_continuum_parameters(path).schema_version == "1.7"


def test_diffusivity_forms():
    source = SuppliedSource(note="test value")
    arrhenius = SoluteDiffusivity(solute="Ag", prefactor=1e-3, activation_energy=0.5, source=source)
    # Independent evaluation of D0 exp(-Ea / kT) with k_B = 8.617333e-5 eV/K.
    expected = 1e-3 * math.exp(-0.5 / (8.617333262e-5 * 300.0))
    assert arrhenius.at(300.0) == pytest.approx(expected, rel=1e-12)
    fixed = SoluteDiffusivity(solute="Mg", diffusivity=3e-11, temperature=298.15, source=source)
    assert fixed.at(298.15) == 3e-11
    with pytest.raises(ContinuumExportError, match="not at 350"):
        fixed.at(350.0)
    with pytest.raises(ValueError, match="exactly one of the two forms"):
        SoluteDiffusivity(
            solute="Ag", diffusivity=1e-11, temperature=300, prefactor=1e-3,
            activation_energy=0.5, source=source,
        )  # fmt: skip
    with pytest.raises(ValueError, match="needs an activation_energy"):
        SoluteDiffusivity(solute="Ag", prefactor=1e-3, source=source)
