"""The report and the command line, end to end on the toy engine."""

from __future__ import annotations

import json

import yaml
from typer.testing import CliRunner

from anodefree.cli import app

runner = CliRunner(env={"COLUMNS": "250"})

CAMPAIGN = {
    "name": "cli-test",
    "engine": {"name": "morse"},
    "relax": {"fmax": 0.005},
    "bulk": {"phases": ["Li", "Li2S", "MgS", "Mg", "Ag"]},
    "bulk_vacancy": {"repetitions": [2, 3]},
    "solute_vacancy": {"solutes": ["Mg"], "repetitions": 3, "shells": [1, 2, 3]},
    "hull": None,
    "surfaces": None,
    "adhesion": None,
}


def test_run_prints_the_table_and_writes_the_report(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(CAMPAIGN))
    result = runner.invoke(
        app, ["run", str(config), "--no-progress", "--store-path", str(tmp_path / "s")]
    )
    assert result.exit_code == 0, result.output
    for text in (
        "a (Li, Im-3m)",
        "a (Li2S, Fm-3m)",
        "c (Mg, P6_3/mmc)",
        "E_f vacancy",
        "shell 1 of Mg",
        "computed",
        "reused",
    ):
        assert text in result.output
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    rows = {row["quantity"]: row for row in report["rows"]}
    li = rows["a (Li, Im-3m)"]
    assert li["unit"] == "A"
    assert li["reference"] == 3.48
    assert li["calculator"].startswith("morse")
    assert report["run"]["computed"] > 0
    markdown = (tmp_path / "report" / "report.md").read_text()
    assert "vacancy_size_series.png" in markdown
    assert (tmp_path / "report" / "figures" / "solute_vacancy.png").stat().st_size > 1000

    again = runner.invoke(
        app, ["run", str(config), "--no-progress", "--store-path", str(tmp_path / "s")]
    )
    assert again.exit_code == 0
    assert "0 calculations computed" in again.output

    rebuilt = runner.invoke(
        app,
        [
            "report",
            "--campaign",
            "cli-test",
            "--store-path",
            str(tmp_path / "s"),
            "--report-dir",
            str(tmp_path / "r2"),
        ],
    )
    assert rebuilt.exit_code == 0, rebuilt.output
    assert json.loads((tmp_path / "r2" / "report.json").read_text())["rows"] == report["rows"]


def test_unconverged_rows_are_flagged(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({**CAMPAIGN, "relax": {"fmax": 1e-7, "max_steps": 2}}))
    result = runner.invoke(app, ["run", str(config), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "FLAGGED" in result.output
    markdown = (tmp_path / "report" / "report.md").read_text()
    assert "Not converged" in markdown
    assert "**FLAGGED**" in markdown


def test_bad_config_exits_with_the_field_named(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("engine: {name: chgnet, model: '7.7'}\n")
    result = runner.invoke(app, ["run", str(config)])
    assert result.exit_code == 2
    assert "engine" in result.output
    assert "7.7" in result.output


def test_engines_and_config_commands():
    result = runner.invoke(app, ["engines"])
    assert result.exit_code == 0
    assert "chgnet" in result.output
    assert "available" in result.output
    shown = runner.invoke(app, ["config", "default"])
    assert shown.exit_code == 0
    assert yaml.safe_load(shown.output)["bulk_vacancy"]["repetitions"] == [3, 4, 5]


def test_tiny_and_huge_values_keep_their_digits():
    from anodefree.analysis.report import _format

    assert _format(8.385e-14, "m^2/s") == "8.385e-14"
    assert _format(0.0, "eV") == "0.0000"
    assert _format(0.0790, "eV") == "0.0790"
    assert _format(-0.0004, "eV") == "-0.0004"
    assert _format(2.34e6, "1/s") == "2.34e+06"
