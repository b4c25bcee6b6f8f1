"""The results, submit, queue-status and rerun commands, through typer's CliRunner."""

from __future__ import annotations

import io
import json
import subprocess
import uuid

import pandas as pd
import pytest
import typer
import yaml
from typer.testing import CliRunner

from anodefree.analysis import queries
from anodefree.cli_queue import (
    queue_status_command,
    rerun_command,
    results_command,
    runtime_assignment,
    submit_command,
)
from anodefree.config import config_from_dict
from anodefree.workflows.campaign import run_campaign
from anodefree.workflows.execution.resources import default_policy
from anodefree.workflows.stores import StoreSettings, make_job_store

SMALL = {
    "name": "cli-queue",
    "engine": {"name": "morse"},
    "relax": {"fmax": 0.01},
    "bulk": {"phases": ["Li"]},
    "bulk_vacancy": {"repetitions": [2, 3]},
    "solute_vacancy": None,
    "hull": None,
    "surfaces": None,
    "adhesion": None,
}

runner = CliRunner()


@pytest.fixture
def app():
    app = typer.Typer()
    app.command("results")(results_command)
    app.command("submit")(submit_command)
    app.command("queue-status")(queue_status_command)
    app.command("rerun")(rerun_command)
    return app


@pytest.fixture(scope="module")
def store_path(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli_store")
    config = config_from_dict(
        {**SMALL, "store": {"backend": "embedded", "path": str(folder)}, "work_dir": str(folder)}
    )
    assert run_campaign(config).completed
    return folder


def invoke(app, *args):
    result = runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "250"})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


@pytest.mark.slow
def test_results_overview_tables_and_exports(app, store_path, tmp_path):
    overview = invoke(app, "results", "--store-path", store_path)
    assert overview.exit_code == 0, overview.output
    for text in ("vacancy", "BulkVacancyDocument", "bulk", "calculations", "morse 0.1.0"):
        assert text in overview.output

    table = invoke(app, "results", "vacancy", "--store-path", store_path)
    assert table.exit_code == 0, table.output
    assert "E_f vacancy, 16-atom cell" in table.output
    assert "n_atoms=54" in table.output

    store = make_job_store(StoreSettings(backend="embedded", path=store_path))
    store.connect()
    expected = queries.property_table(store, "vacancy")
    csv = invoke(app, "results", "vacancy", "--store-path", store_path, "--format", "csv")
    assert csv.exit_code == 0, csv.output
    read = pd.read_csv(io.StringIO(csv.output))
    assert read["value"].tolist() == pytest.approx(expected["value"].tolist(), rel=1e-12)
    assert read["n_atoms"].tolist() == expected["n_atoms"].tolist()
    assert read["job_ids"].iloc[0].split() == list(expected["job_ids"].iloc[0])

    out = tmp_path / "rows.json"
    written = invoke(app, "results", "vacancy", "--store-path", store_path, "-f", "json",
                     "-o", out, "--quantity", "vacancy_formation_energy", "-s", "Li",
                     "-e", "morse", "--setting", "cutoff_A=4.6", "--since", "1d")  # fmt: skip
    assert written.exit_code == 0, written.output
    rows = json.loads(out.read_text())
    assert [r["n_atoms"] for r in rows] == [16, 54]
    assert {r["quantity"] for r in rows} == {"vacancy_formation_energy"}
    none = invoke(app, "results", "vacancy", "--store-path", store_path, "-f", "json",
                  "--setting", "cutoff_A=5.0")  # fmt: skip
    assert json.loads(none.output) == []

    calcs = invoke(app, "results", "calculations", "--store-path", store_path, "-s", "Li")
    assert calcs.exit_code == 0, calcs.output
    for label in ("Li bulk (bcc)", "Li 2x2x2 vacancy", "Li 3x3x3 perfect", "relax_positions"):
        assert label in calcs.output


def test_results_errors_name_the_bad_value(app, tmp_path):
    bad_kind = invoke(app, "results", "nonsense", "--store-path", tmp_path)
    assert bad_kind.exit_code == 2
    assert "'nonsense'" in bad_kind.output
    bad_setting = invoke(app, "results", "vacancy", "--store-path", tmp_path, "--setting", "x")
    assert bad_setting.exit_code == 2
    assert "KEY=VALUE" in bad_setting.output
    bad_time = invoke(app, "results", "vacancy", "--store-path", tmp_path, "--since", "soon")
    assert bad_time.exit_code == 2
    assert "'soon'" in bad_time.output


def write_campaign(tmp_path, **changes):
    path = tmp_path / "campaign.yaml"
    path.write_text(yaml.safe_dump({**SMALL, **changes}))
    return path


def test_dry_run_prints_every_job_with_the_resources_it_would_get(app, tmp_path):
    resources = tmp_path / "resources.yaml"
    resources.write_text(yaml.safe_dump({
        "rules": [
            {"name_contains": "relax_full", "worker": "batch",
             "resources": {"threads_per_process": 8, "time_limit_min": 90,
                           "partition": "big"}},
            {"name_contains": "static", "worker": "batch",
             "resources": {"threads_per_process": 2, "time_limit_min": 20}},
        ],
        "default_worker": "local",
    }))  # fmt: skip
    queue_file = tmp_path / "queue.yaml"
    queue_file.write_text(yaml.safe_dump({"backend": "jobflow-remote",
                                          "resources": "resources.yaml"}))  # fmt: skip
    result = invoke(app, "submit", write_campaign(tmp_path), "--queue", queue_file, "--dry-run")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    engine_line = next(line for line in lines if "Li bulk (bcc) [morse relax_full]" in line)
    assert "batch" in engine_line
    assert "1 proc x 8 thr, 90 min, partition big" in engine_line
    collect_line = next(line for line in lines if "collect Li bulk (bcc)" in line)
    assert "local" in collect_line
    assert "inherits" in collect_line
    assert "bulk vacancy" in result.output  # a job that creates its calculations at run time
    assert "static" in result.output  # the name rule that will route them
    assert "5 calculations planned" in result.output
    assert "Nothing was submitted" in result.output


def test_submit_refuses_fireworks_without_settings_and_bad_queue_files(app, tmp_path):
    campaign = write_campaign(tmp_path)
    result = invoke(app, "submit", campaign, "--backend", "fireworks", "--dry-run")
    assert result.exit_code == 2
    assert "fireworks" in result.output
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"backend": "slurm-direct"}))
    result = invoke(app, "submit", campaign, "--queue", bad, "--dry-run")
    assert result.exit_code == 2
    assert "backend" in result.output
    fireworks = tmp_path / "fw.yaml"
    section = {
        "workers": {"local": {"scheduler": "shell"}},
        "config_dir": str(tmp_path / "fw"),
        "launch_dir": str(tmp_path / "launches"),
    }
    fireworks.write_text(yaml.safe_dump({"backend": "fireworks", "fireworks": section}))
    result = invoke(app, "queue-status", "--queue", fireworks, "--flow", "not-a-number")
    assert result.exit_code == 2
    assert "'not-a-number'" in result.output


def test_runtime_routing_follows_name_rules_then_the_creator():
    policy = default_policy()
    parent = policy.resolve(type("J", (), {"name": "calculation", "function": None})())
    assert parent.worker == "local"
    engine_job = runtime_assignment("Li bcc [morse relax_full]", parent, policy)
    assert engine_job.worker == "batch"
    assert engine_job.rule is not None
    assert runtime_assignment("collect Li bcc", parent, policy) is parent


def _bash_syntax_ok(script: str) -> bool:
    proc = subprocess.run(["bash", "-n"], input=script, text=True, capture_output=True, check=False)  # noqa: S607
    return proc.returncode == 0


def test_shell_worker_scripts_survive_job_names_with_parentheses(tmp_path):
    pytest.importorskip("jobflow_remote")
    from anodefree.workflows.execution import jobflow_remote as jfr

    settings = jfr.default_local_settings(tmp_path, scheduler="shell",
                                          queue=jfr.InProcessQueue(server="names"))  # fmt: skip
    project = jfr.build_project(settings, make_job_store(StoreSettings(backend="memory")))
    io_ = project.workers["local"].get_scheduler_io()
    options = {"job_name": "collect_Li_bulk_(bcc)", "qout_path": "o", "qerr_path": "e"}
    assert _bash_syntax_ok(io_.get_submission_script("true", options))


@pytest.mark.slow
def test_submit_runs_on_jobflow_remote_and_results_are_queried(app, tmp_path, monkeypatch):
    """A campaign submitted by the command runs on an in-process jobflow-remote queue."""
    pytest.importorskip("jobflow_remote")
    import jobflow_remote
    from jobflow_remote.config.settings import JobflowRemoteSettings

    from anodefree.workflows.execution import jobflow_remote as jfr

    store_dir = tmp_path / "store"
    settings = jfr.default_local_settings(
        tmp_path / "jfr",
        scheduler="shell",
        queue=jfr.InProcessQueue(server=f"cli-{uuid.uuid4().hex}"),
        runner_delay_s=1,
    ).model_copy(update={"retry_delays_s": (1, 1, 1), "project": "cli-test"})
    store = make_job_store(StoreSettings(backend="embedded", path=store_dir))
    project = jfr.build_project(settings, store)
    folder = tmp_path / "projects"
    jfr.write_project(project, folder)
    monkeypatch.setattr(
        jobflow_remote,
        "SETTINGS",
        JobflowRemoteSettings(projects_folder=str(folder), config_file=str(folder / "x.yaml")),
    )
    queue_file = tmp_path / "queue.yaml"
    queue_file.write_text(yaml.safe_dump({"backend": "jobflow-remote"}))
    campaign = write_campaign(tmp_path, bulk_vacancy=None)

    submitted = invoke(app, "submit", campaign, "--queue", queue_file, "--project", "cli-test")
    assert submitted.exit_code == 0, submitted.output
    assert "submitted flow" in submitted.output
    run_id = submitted.output.split("run id")[1].split(";")[0].strip()

    jfr.run_in_process(project, max_seconds=300)
    status = invoke(app, "queue-status", "--queue", queue_file, "--project", "cli-test")
    assert status.exit_code == 0, status.output
    assert "COMPLETED" in status.output
    assert "FAILED" not in status.output
    reports = {r.name: r for r in jfr.queue_report(project)}
    engine_job = next(r for name, r in reports.items() if "[morse relax_full]" in name)
    assert engine_job.worker == "batch"  # as the dry run predicts with the default policy
    assert reports["collect Li bulk (bcc)"].worker == "local"
    rerun = invoke(app, "rerun", "--queue", queue_file, "--project", "cli-test")
    assert rerun.exit_code == 0, rerun.output
    assert "no failed jobs" in rerun.output

    rows = invoke(app, "results", "bulk", "--store-path", store_dir, "--run-id", run_id,
                  "-f", "json")  # fmt: skip
    assert rows.exit_code == 0, rows.output
    values = {r["quantity"]: r["value"] for r in json.loads(rows.output)}
    # The stored bulk document and the stored calculation agree: a = (2 V)^(1/3) for bcc.
    store.connect()
    calc = queries.calculations_table(store, run_id=run_id, structures=True)
    structure = calc["structure"].item()
    assert values["lattice_a"] == pytest.approx((2 * structure.volume) ** (1 / 3), abs=1e-6)
