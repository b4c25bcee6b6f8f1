"""The export and mesoscale commands on a toy-engine campaign store (typer's CliRunner)."""

from __future__ import annotations

import json

import pytest
import typer
from mesoscale_store import campaign_store, connect
from typer.testing import CliRunner

from anodefree.analysis.exports.continuum import read_continuum_parameters
from anodefree.analysis.exports.continuum_builder import parse_onset
from anodefree.analysis.exports.kmc import KmcExport
from anodefree.analysis.results import run_documents
from anodefree.cli_export import register_export_commands
from anodefree.errors import ConfigError

runner = CliRunner()


@pytest.fixture(scope="module")
def app():
    application = typer.Typer()

    @application.command()
    def noop() -> None:  # a second command, so that subcommand names are required
        """Do nothing."""

    register_export_commands(application)
    return application


def test_onsets_are_parsed_and_bad_ones_named():
    assert parse_onset("Li-Au=0.07") == ("Li-Au", 0.07)
    with pytest.raises(ConfigError, match="NAME=VOLTS"):
        parse_onset("Li-Au:0.07")


def test_missing_inputs_exit_with_their_names_and_no_traceback(app, tmp_path):
    result = runner.invoke(app, ["export", "kmc", "Li/Li2S", "--store-path", str(tmp_path)])
    assert result.exit_code == 2
    assert isinstance(result.exception, SystemExit)
    assert "vacancy.formation_by_layer" in result.output
    assert "barriers.li_vacancy_bulk" in result.output
    result = runner.invoke(app, ["export", "continuum", "--store-path", str(tmp_path)])
    assert result.exit_code == 2
    assert "hull stage" in result.output
    assert "vacancy diffusion document" in result.output


@pytest.mark.slow
def test_export_commands_write_the_documents(app, tmp_path):
    path, run_id = campaign_store()
    out = tmp_path / "mg.json"
    result = runner.invoke(
        app, ["export", "kmc", "Li-Mg/Li2S", "--store-path", str(path), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    export = KmcExport.read(out)
    assert export.system == "Li-Mg/Li2S"
    assert export.job_ids()
    # the toy campaign has no hull: asking for it is an error, --no-hull takes the rest
    result = runner.invoke(app, ["export", "continuum", "--store-path", str(path)])
    assert result.exit_code == 2
    assert "hull" in result.output
    out = tmp_path / "continuum.json"
    result = runner.invoke(
        app,
        ["export", "continuum", "--store-path", str(path), "--no-hull", "--onset",
         "Li-Au=0.07", "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    parameters = read_continuum_parameters(out)
    assert [(o.alloy, o.onset, o.source.kind) for o in parameters.onsets] == [
        ("Li-Au", 0.07, "supplied")
    ]
    diffusion = next(
        d
        for d in run_documents(connect(path), run_id)
        if type(d).__name__ == "VacancyDiffusionDocument"
    )
    mg = diffusion.get("Mg")
    (entry,) = parameters.diffusivities
    assert entry.solute == "Mg"
    assert entry.prefactor == pytest.approx(mg.fitted_prefactor * 1e4, rel=1e-12)  # m^2 -> cm^2
    assert entry.activation_energy == mg.fitted_activation_energy
    # the fit reproduces the document's D at 25 C within the curvature of f(T) (< 5 %)
    assert entry.at(298.15) == pytest.approx(mg.at(25.0).diffusivity * 1e4, rel=0.05)


@pytest.mark.slow
def test_mesoscale_runs_stores_and_reports(app, tmp_path):
    import shutil

    path, run_id = campaign_store()
    shutil.copytree(path, tmp_path / "store")  # the stored document goes into a private copy
    result = runner.invoke(
        app,
        ["mesoscale", "--store-path", str(tmp_path / "store"), "--size", "8x8x10",
         "--capacity", "3e-5", "-o", str(tmp_path / "out"), "--report-dir",
         str(tmp_path / "report")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    documents = run_documents(connect(tmp_path / "store"), run_id)
    meso = [d for d in documents if type(d).__name__ == "MesoscaleDocument"]
    assert len(meso) == 1
    document = meso[0]
    # the campaign computed Li/Li2S and Li-Mg/Li2S only: Li-Ag/Li2S is named as missing
    assert [c.system for c in document.systems] == ["Li/Li2S", "Li-Mg/Li2S"]
    export = KmcExport.read(document.systems[1].export_file)
    d = export.vacancy.formation_by_layer[0].value - export.vacancy.formation_bulk.value
    assert f"by {abs(d):.3f} eV" in document.systems[1].mechanism[0]
    assert document.continuum is not None
    assert {c.label for c in document.continuum.crossings} == {"Li-Au (supplied)"}
    report = (tmp_path / "report" / "report.md").read_text()
    assert "Mesoscale" in report
    assert (tmp_path / "report" / "figures" / "mesoscale_stripping.png").is_file()
    assert (tmp_path / "report" / "figures" / "mesoscale_continuum_map.png").is_file()
    assert json.loads((tmp_path / "out" / "continuum_parameters.json").read_text())["onsets"]
