"""The ``continuum`` command end to end on a small map, and its input errors."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from anodefree.analysis.exports.continuum import (
    AlloyOnset,
    ContinuumParameters,
    SoluteDiffusivity,
    SuppliedSource,
    read_continuum_parameters,
    write_continuum_parameters,
)
from anodefree.models.continuum.command import continuum_command
from anodefree.models.continuum.results import ContinuumMapResult


@pytest.fixture
def app():
    app = typer.Typer()
    app.command("continuum")(continuum_command)

    @app.command("other")
    def other():  # a second command keeps typer in sub-command mode, as in anodefree.cli
        """Do nothing."""

    return app


@pytest.fixture
def export(tmp_path):
    li_au = AlloyOnset(
        alloy="Li-Au",
        onset=0.07,
        label="Li-Au (user)",
        source=SuppliedSource(note="measured onset, given by the user"),
    )
    ag = SoluteDiffusivity(
        solute="Ag", diffusivity=1e-11, temperature=298.15, source=SuppliedSource(note="test")
    )
    parameters = ContinuumParameters(onsets=[li_au], diffusivities=[ag])
    return write_continuum_parameters(parameters, tmp_path / "continuum.json")


def test_command_writes_map_plots_and_parameters(app, export, tmp_path):
    out = tmp_path / "out"
    args = ["continuum", "-e", str(export), "-o", str(out), "--n-widths", "3", "--n-currents",
            "3", "--field", "2:5", "--capacity", "0.5"]  # fmt: skip
    run = CliRunner().invoke(app, args)
    assert run.exit_code == 0, run.output
    result = ContinuumMapResult.read(out / "continuum_map.json")
    assert result.island_widths == pytest.approx([1.0, 50**0.5, 50.0])
    assert result.current_densities == pytest.approx([0.1, 1.0, 10.0])
    assert len(result.eta_island_max) == 3
    assert all(len(row) == 3 for row in result.eta_island_max)
    assert result.max_current_balance_error < 1e-8
    assert {c.label for c in result.crossings} == {"Li-Au (user)"}
    assert {c.metric for c in result.crossings} == {"eta_island_max", "eta_bottom_max"}
    (case,) = result.field_cases
    assert (case.case.island_width, case.case.current_density) == (2.0, 5.0)
    assert (out / case.plot).stat().st_size > 10_000
    assert (out / "overpotential_map.png").stat().st_size > 10_000
    assert (out / "interdiffusion.png").exists()
    # t = 0.5 mAh/cm^2 / 0.1 mA/cm^2 = 5 h; sqrt(4 * 1e-11 * 18000) cm = 8.49 um
    first = result.interdiffusion[0]
    assert first.length == pytest.approx((4 * 1e-11 * 18000) ** 0.5 * 1e4, rel=1e-12)
    used = read_continuum_parameters(out / "continuum_parameters.json")
    assert used.fingerprint == result.parameters_fingerprint
    assert "critical stripping current density" in run.output


def test_command_defaults_without_export_and_without_plots(app, tmp_path):
    out = tmp_path / "out"
    args = ["continuum", "-o", str(out), "--width", "5", "--width", "50", "--current", "1",
            "--no-plots", "--placement", "side"]  # fmt: skip
    run = CliRunner().invoke(app, args)
    assert run.exit_code == 0, run.output
    result = ContinuumMapResult.read(out / "continuum_map.json")
    assert result.placement == "side"
    assert result.island_widths == [5.0, 50.0]
    assert not (out / "overpotential_map.png").exists()
    assert {c.label for c in result.crossings} == {"Li-Ag (measured)", "Li-Au (measured)"}


def test_command_names_the_bad_field_of_the_export(app, tmp_path):
    path = tmp_path / "bad.json"
    data = json.loads(ContinuumParameters().model_dump_json())
    data["conductivity"]["value"] = -1.0
    path.write_text(json.dumps(data))
    run = CliRunner().invoke(app, ["continuum", "-e", str(path), "-o", str(tmp_path / "o")])
    assert run.exit_code == 2
    assert "conductivity" in run.output
    assert "--export" in run.output


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--width", "80"], "must not exceed 50.0 um"),
        (["--field", "3x2"], "WIDTH:CURRENT"),
        (["--current-min", "-1"], "current range"),
        (["--capacity", "0"], "stripping capacity must be > 0"),
    ],
)
def test_command_refuses_bad_ranges(app, tmp_path, args, named):
    run = CliRunner().invoke(app, ["continuum", "-o", str(tmp_path / "o"), "--no-plots", *args])
    assert run.exit_code == 2
    assert named in run.output
