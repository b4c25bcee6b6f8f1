"""Failure handling of the queue back ends without a batch scheduler.

A flow whose middle job fails on its first run (``fail_once`` and a marker file) must be
reported with the job's error, and a rerun must finish it without running the finished
jobs again (their runs are counted in a log file written by the jobs themselves).
The same is checked through SLURM in ``test_queue_slurm.py``.
"""

from __future__ import annotations

import functools
import logging
from typing import TYPE_CHECKING

import pytest

from anodefree.workflows.execution.probes import probe_flow
from anodefree.workflows.execution.resources import ResourcePolicy
from anodefree.workflows.stores import StoreSettings, make_job_store

if TYPE_CHECKING:
    from pathlib import Path

pytest.importorskip("jobflow_remote")
pytest.importorskip("fireworks")

from anodefree.workflows.execution import fireworks as fwx
from anodefree.workflows.execution import jobflow_remote as jfr


def run_counts(log_file: Path) -> dict[str, int]:
    """How many times each addition ran (one log line per run)."""
    counts: dict[str, int] = {}
    for line in log_file.read_text().splitlines():
        key = " ".join(line.split()[:3])
        counts[key] = counts.get(key, 0) + 1
    return counts


@pytest.fixture
def shared_mongomock(monkeypatch):
    """Give every FireWorks LaunchPad of this test the same in-memory MongoDB server.

    This replaces only the database driver (mongomock is what FireWorks itself uses
    without a server); every LaunchPad operation is FireWorks' own.
    """
    import fireworks.core.launchpad
    import mongomock
    from mongomock.store import ServerStore

    client = functools.partial(mongomock.MongoClient, _store=ServerStore())
    monkeypatch.setattr(fireworks.core.launchpad, "MongoClient", client)
    # FireWorks' size-overflow GridFS collection needs a real server; its own setting
    # switches it off (None).
    monkeypatch.setattr(fireworks.core.launchpad, "GRIDFS_FALLBACK_COLLECTION", None)


def test_fireworks_failure_is_reported_and_rerun_in_process(
    tmp_path, shared_mongomock, monkeypatch
):
    from fireworks import FWorker
    from fireworks.core.rocket_launcher import rapidfire

    monkeypatch.setenv("ANODEFREE_MONGODB_URI", "mongodb://localhost:27017/unused")
    settings = fwx.FireWorksSettings(
        launchpad=fwx.LaunchPadSettings(kind="mongodb", database="fw_failures"),
        workers={"local": fwx.FireWorksWorker(scheduler="shell")},
        config_dir=tmp_path / "fw",
        launch_dir=tmp_path / "launches",
    )
    store = make_job_store(StoreSettings(backend="embedded", path=tmp_path / "store"))
    log = tmp_path / "runs.log"
    flow = probe_flow(marker=str(tmp_path / "marker"), log_file=str(log))
    submitted = fwx.submit_flows(flow, settings, store, ResourcePolicy(default_worker="local"))
    assert len(submitted[0].fw_ids) == 4

    def launch_all():
        rapidfire(fwx._launchpad(settings), FWorker(name="local", category="local"),
                  strm_lvl="ERROR")  # fmt: skip

    launch_all()
    states = {r.name: r for r in fwx.fireworks_report(settings)}
    assert states["fail_once"].state == "FIZZLED"
    assert "RuntimeError: planned failure" in states["fail_once"].error_summary
    assert states["add second"].state == "WAITING"
    assert states["add first"].state == "COMPLETED"
    assert states["where_am_i"].state == "COMPLETED"
    assert states["fail_once"].job_uuid == flow.jobs[2].uuid

    rerun = fwx.rerun_failed(settings)
    assert states["fail_once"].fw_id in rerun
    assert states["add first"].fw_id not in rerun
    launch_all()
    final = {r.name: r.state for r in fwx.fireworks_report(settings)}
    assert set(final.values()) == {"COMPLETED"}
    outputs = fwx.read_outputs(store, [job.uuid for job in flow])
    assert outputs[flow.jobs[-1].uuid] == 1 + 2 + 4
    assert run_counts(log) == {"add 1 2": 1, "add 3 4": 1}


@pytest.mark.slow
def test_jobflow_remote_failure_is_reported_and_rerun_on_a_shell_worker(tmp_path):
    watched = logging.getLogger("anodefree.workflows.calculation")  # exists before the Runner
    settings = jfr.RemoteSettings(
        base_dir=tmp_path / "jfr",
        queue=jfr.InProcessQueue(server=f"failures-{tmp_path.name}"),
        workers={"local": jfr.WorkerSettings(scheduler="shell", work_dir=tmp_path / "runs")},
        runner_delay_s=1,
        retry_delays_s=(1, 1, 1),
    )
    store = make_job_store(StoreSettings(backend="embedded", path=tmp_path / "store"))
    project = jfr.build_project(settings, store)
    log = tmp_path / "runs.log"
    flow = probe_flow(marker=str(tmp_path / "marker"), log_file=str(log))
    jfr.submit_flows(flow, project)

    jfr.run_in_process(project, max_seconds=300)
    states = {r.name: r for r in jfr.queue_report(project, flow.uuid)}
    assert states["fail_once"].state == "FAILED"
    assert "RuntimeError: planned failure" in states["fail_once"].error_summary
    assert "fail_once" in states["fail_once"].error  # the full traceback
    assert states["add second"].state == "WAITING"
    assert states["add first"].state == "COMPLETED"

    rerun = jfr.rerun_failed(project, flow.uuid)
    assert states["fail_once"].db_id in rerun
    assert states["add first"].db_id not in rerun
    jfr.run_in_process(project, max_seconds=300)
    assert {r.state for r in jfr.queue_report(project, flow.uuid)} == {"COMPLETED"}
    outputs = jfr.read_outputs(project, [job.uuid for job in flow])
    assert outputs[flow.jobs[-1].uuid] == 1 + 2 + 4
    assert run_counts(log) == {"add 1 2": 1, "add 3 4": 1}
    # The Runner's dictConfig(disable_existing_loggers=True) is undone: anodefree's
    # progress events still reach their handlers in this process afterwards.
    assert not watched.disabled
