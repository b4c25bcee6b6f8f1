"""Generated and example configurations of the queue back ends (no scheduler needed).

The MongoDB paths cannot connect here (no server); these tests check what they generate:
projects and launchpad files that jobflow-remote and FireWorks accept, with credentials
only where FireWorks requires them and never in logs.
"""

from __future__ import annotations

import logging
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from anodefree.errors import ConfigError
from anodefree.settings import URI_ENV, Settings
from anodefree.workflows.execution.probes import add, where_am_i
from anodefree.workflows.execution.resources import JobResources, ResourcePolicy, ResourceRule
from anodefree.workflows.execution.shell_io import scheduler_kind
from anodefree.workflows.stores import SecretMongoStore, StoreSettings, make_job_store

pytest.importorskip("jobflow_remote")
pytest.importorskip("fireworks")

from anodefree.workflows.execution import fireworks as fwx
from anodefree.workflows.execution import jobflow_remote as jfr_module

EXAMPLES = Path(__file__).parents[1] / "examples" / "queue"
SECRET = "s3cr3t-Pa55"  # noqa: S105 (a fake credential whose leaks the tests look for)
URI = f"mongodb://alice:{SECRET}@db.example.org:27017/anodefree"


@pytest.fixture
def mongo_uri(monkeypatch):
    monkeypatch.setenv(URI_ENV, URI)
    return URI


def mongodb_settings(tmp_path):
    return jfr_module.RemoteSettings(
        project="campaign-x",
        base_dir=tmp_path / "jfr",
        queue=jfr_module.MongoQueue(database="anodefree", collection="jobs"),
        workers={
            "batch": jfr_module.WorkerSettings(
                scheduler="slurm", work_dir=tmp_path / "scratch", pre_run="module load gcc"
            ),
            "local": jfr_module.WorkerSettings(scheduler="shell", work_dir=tmp_path / "local"),
        },
        runner_delay_s=15,
    )


def test_mongodb_project_holds_no_credentials_and_reloads(tmp_path, mongo_uri, caplog):
    caplog.set_level(logging.DEBUG)
    jobstore = make_job_store(StoreSettings(backend="mongodb"), Settings())
    project = jfr_module.build_project(mongodb_settings(tmp_path), jobstore)
    path = jfr_module.write_project(project, tmp_path / "projects")

    text = path.read_text()
    assert SECRET not in text
    assert "db.example.org" not in text
    assert URI_ENV in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert all(SECRET not in record.getMessage() for record in caplog.records)

    from jobflow_remote.config.base import Project

    reloaded = Project.model_validate(yaml.safe_load(text))
    queue_store = reloaded.get_queue_store()
    assert isinstance(queue_store, SecretMongoStore)
    assert (queue_store.database, queue_store.collection_name) == ("anodefree", "jobs")
    assert queue_store.uri_env == URI_ENV
    docs = reloaded.get_jobstore().docs_store
    assert isinstance(docs, SecretMongoStore)
    assert docs.collection_name == "outputs"
    batch = reloaded.workers["batch"]
    assert batch.scheduler_type == "slurm"
    assert batch.pre_run.splitlines() == [f"source {sys.prefix}/bin/activate", "module load gcc"]
    local = reloaded.workers["local"]
    assert scheduler_kind(local.scheduler_type) == "shell"
    # the shell scheduler quotes job names such as "collect Li bulk (bcc)"
    script = local.get_scheduler_io().get_submission_script(
        "true", {"job_name": "collect_Li_bulk_(bcc)", "qout_path": "o", "qerr_path": "e"}
    )
    bash = subprocess.run(["bash", "-n"], input=script, text=True, check=False)  # noqa: S607
    assert bash.returncode == 0
    assert reloaded.runner.delay_check_run_status == 15


def test_load_project_through_jobflow_remote_settings(tmp_path, mongo_uri, monkeypatch):
    import jobflow_remote
    from jobflow_remote.config.settings import JobflowRemoteSettings

    project = jfr_module.build_project(
        mongodb_settings(tmp_path), make_job_store(StoreSettings(backend="mongodb"), Settings())
    )
    folder = tmp_path / "projects"
    jfr_module.write_project(project, folder)
    monkeypatch.setattr(
        jobflow_remote,
        "SETTINGS",
        JobflowRemoteSettings(projects_folder=str(folder), config_file=str(folder / "x.yaml")),
    )
    loaded = jfr_module.load_project("campaign-x")
    assert loaded.name == "campaign-x"
    assert set(loaded.workers) == {"batch", "local"}
    with pytest.raises(ConfigError, match="'nope'"):
        jfr_module.load_project("nope")


def test_worker_settings_validate_and_remote_workers_use_ssh(tmp_path):
    with pytest.raises(ValueError, match="absolute path"):
        jfr_module.WorkerSettings(scheduler="slurm", work_dir=Path("relative/dir"))
    remote = jfr_module.WorkerSettings(
        scheduler="pbs",
        work_dir=Path("/scratch/me"),
        host="login.example.org",
        user="me",
        python_env=None,
    )
    entry = remote.project_entry()
    assert entry["type"] == "remote"
    assert (entry["host"], entry["user"], entry["scheduler_type"]) == (
        "login.example.org",
        "me",
        "pbs",
    )
    assert "pre_run" not in entry


@pytest.mark.parametrize(
    "name", ["jobflow_remote_slurm.yaml", "jobflow_remote_pbs.yaml", "jobflow_remote_local.yaml"]
)
def test_example_projects_are_valid_jobflow_remote_projects(name):
    from jobflow_remote.config.base import Project

    data = yaml.safe_load((EXAMPLES / name).read_text())
    project = Project.model_validate(data)
    assert isinstance(project.get_queue_store(), SecretMongoStore)
    assert isinstance(project.get_jobstore().docs_store, SecretMongoStore)
    for worker in project.workers.values():
        assert "bin/activate" in worker.pre_run
    assert not credential_keys(data)


def credential_keys(data):
    """Keys that would hold credentials (password, uri) anywhere in a nested mapping."""
    found = []
    if isinstance(data, dict):
        for key, value in data.items():
            if str(key).lower() in {"password", "uri", "passphrase"}:
                found.append(key)
            found += credential_keys(value)
    elif isinstance(data, list):
        for value in data:
            found += credential_keys(value)
    return found


def test_submission_routes_jobs_to_workers_in_the_queue_store(tmp_path):
    settings = jfr_module.default_local_settings(
        tmp_path, queue=jfr_module.InProcessQueue(server=f"config-{tmp_path.name}")
    )
    jobstore = make_job_store(StoreSettings(backend="embedded", path=tmp_path / "store"))
    project = jfr_module.build_project(settings, jobstore)
    big, small = where_am_i(), add(1, 2)
    big.name = "probe big"
    policy = ResourcePolicy(
        rules=[ResourceRule(name_contains="big", worker="batch",
                            resources=JobResources(threads_per_process=2, time_limit_min=3))],
        default_worker="local",
    )  # fmt: skip
    from jobflow import Flow

    submitted = jfr_module.submit_flows(Flow([big, small]), project, policy)
    assert len(submitted[0].db_ids) == 2
    reports = {r.name: r for r in jfr_module.queue_report(project)}
    assert reports["probe big"].worker == "batch"
    assert reports["add"].worker == "local"
    assert {r.state for r in reports.values()} == {"READY"}
    controller = jfr_module.job_controller(project)
    doc = controller.get_jobs_doc(db_ids=reports["probe big"].db_id)[0]
    controller.close()
    assert doc.resources.threads_per_process == 2
    assert doc.resources.time_limit == 180
    assert doc.exec_config.export == {"OMP_NUM_THREADS": "2"}

    with pytest.raises(ConfigError, match="worker\\(s\\) gpu"):
        jfr_module.submit_flows(add(1, 1), project, ResourcePolicy(default_worker="gpu"))


def test_fireworks_mongodb_files(tmp_path, mongo_uri, caplog):
    caplog.set_level(logging.DEBUG)
    settings = fwx.FireWorksSettings(
        launchpad=fwx.LaunchPadSettings(kind="mongodb", database="fw_db"),
        workers={
            "batch": fwx.FireWorksWorker(
                scheduler="slurm", resources=JobResources(time_limit_min=30, partition="short")
            ),
            "local": fwx.FireWorksWorker(scheduler="shell"),
        },
        config_dir=tmp_path / "fw",
        launch_dir=tmp_path / "launches",
    )
    files = fwx.write_config_files(settings)
    launchpad = yaml.safe_load(files["batch"].launchpad.read_text())
    # FireWorks reads no environment: the URI must be in its (private) launchpad file.
    assert launchpad == {"host": URI, "uri_mode": True, "name": "fw_db", "strm_lvl": "INFO"}
    assert stat.S_IMODE(files["batch"].launchpad.stat().st_mode) == 0o600
    assert all(SECRET not in record.getMessage() for record in caplog.records)
    assert files["local"].qadapter is None

    from fireworks import FWorker
    from fireworks.utilities.fw_serializers import load_object_from_file

    assert FWorker.from_file(str(files["local"].fworker)).category == "local"
    adapter = load_object_from_file(str(files["batch"].qadapter))
    script = adapter.get_script_str(str(tmp_path))
    lines = script.splitlines()
    assert lines[0] == "#!/bin/bash -l"
    assert "#SBATCH --time=00:30:00" in lines
    assert "#SBATCH --partition=short" in lines
    assert "--hold" not in script
    assert f"source {sys.prefix}/bin/activate" in script
    assert f"rlaunch -l {files['batch'].launchpad} -w {files['batch'].fworker} singleshot" in script


def test_fireworks_file_mode_submits_on_hold_and_needs_no_uri(tmp_path, monkeypatch):
    monkeypatch.delenv(URI_ENV, raising=False)
    with pytest.raises(ConfigError, match=URI_ENV):
        fwx.LaunchPadSettings(kind="mongodb").launchpad_dict()
    settings = fwx.FireWorksSettings(
        launchpad=fwx.LaunchPadSettings(kind="mongomock-file", path=tmp_path / "lp.json"),
        workers={"batch": fwx.FireWorksWorker(scheduler="slurm")},
        config_dir=tmp_path / "fw",
        launch_dir=tmp_path / "launches",
    )
    files = fwx.write_config_files(settings)
    from fireworks.utilities.fw_serializers import load_object_from_file

    script = load_object_from_file(str(files["batch"].qadapter)).get_script_str(str(tmp_path))
    assert script.splitlines()[:2] == ["#!/bin/bash -l", "#SBATCH --hold"]
    assert f"export MONGOMOCK_SERVERSTORE_FILE={tmp_path / 'lp.json'}" in script


def test_example_fireworks_files_load(tmp_path):
    from fireworks import FWorker
    from fireworks.utilities.fw_serializers import load_object_from_file

    folder = EXAMPLES / "fireworks"
    assert FWorker.from_file(str(folder / "my_fworker.yaml")).category == "batch"
    launchpad = yaml.safe_load((folder / "my_launchpad.yaml").read_text())
    assert launchpad["uri_mode"] is True
    for name, first_header in (("my_qadapter.yaml", "#SBATCH"), ("my_qadapter_pbs.yaml", "#PBS")):
        script = load_object_from_file(str(folder / name)).get_script_str(str(tmp_path))
        assert script.startswith("#!/bin/bash")
        assert first_header in script
        assert "bin/activate" in script
        assert "rlaunch" in script


def test_fireworks_submission_rejects_makers_that_would_lose_fields():
    from dataclasses import dataclass, field

    from jobflow import Maker, job
    from pydantic import BaseModel

    class Setting(BaseModel):  # a pydantic model without as_dict()
        value: int = 1

    @dataclass
    class SettingMaker(Maker):
        name: str = "maker with a model"
        setting: Setting = field(default_factory=Setting)

        @job
        def make(self, x):
            return x + self.setting.value

    policy = ResourcePolicy(default_worker="batch")
    with pytest.raises(ConfigError, match=r"'maker with a model'.*@bound\.setting \(Setting\)"):
        fwx.flow_to_fireworks(SettingMaker().make(1), None, policy, {"batch": "slurm"})
    workflow, _ = fwx.flow_to_fireworks(add(1, 2), None, policy, {"batch": "slurm"})
    assert len(workflow.fws) == 1


def test_queue_settings_files_and_dispatch(tmp_path, monkeypatch):
    import jobflow_remote
    from jobflow_remote.config.settings import JobflowRemoteSettings

    from anodefree.workflows.execution import queue

    jfr_example = queue.QueueSettings.from_file(EXAMPLES / "queue_jobflow_remote.yaml")
    assert jfr_example.resources == EXAMPLES / "resources.yaml"
    assert jfr_example.policy().default_worker == "local"
    fw_example = queue.QueueSettings.from_file(EXAMPLES / "queue_fireworks.yaml")
    assert fw_example.fireworks.workers["batch"].resources.partition == "standard"
    bad = tmp_path / "queue.yaml"
    bad.write_text("backend: fireworks\n")
    with pytest.raises(ConfigError, match="needs a 'fireworks' section"):
        queue.QueueSettings.from_file(bad)

    # Dispatch to a jobflow-remote project found through jobflow-remote's settings.
    settings = jfr_module.default_local_settings(
        tmp_path, queue=jfr_module.InProcessQueue(server=f"dispatch-{tmp_path.name}")
    )
    store = make_job_store(StoreSettings(backend="embedded", path=tmp_path / "store"))
    project = jfr_module.build_project(settings, store)
    jfr_module.write_project(project, tmp_path / "projects")
    monkeypatch.setattr(
        jobflow_remote,
        "SETTINGS",
        JobflowRemoteSettings(projects_folder=str(tmp_path / "projects"), config_file="none"),
    )
    chosen = queue.QueueSettings(backend="jobflow-remote", jobflow_remote={"project": "anodefree"})
    submitted = queue.submit(add(1, 2), chosen)
    assert len(submitted[0].db_ids) == 1
    rows = queue.status(chosen)
    assert [(r.name, r.worker, r.state) for r in rows] == [("add", "local", "READY")]
    assert queue.rerun(chosen) == []  # nothing failed


def test_queue_store_is_initialised_once_and_foreign_data_is_refused(tmp_path):
    from anodefree.errors import StoreError

    server = f"init-{tmp_path.name}"
    settings = jfr_module.default_local_settings(
        tmp_path, queue=jfr_module.InProcessQueue(server=server)
    )
    store = make_job_store(StoreSettings(backend="embedded", path=tmp_path / "store"))
    project = jfr_module.build_project(settings, store)
    controller = jfr_module.job_controller(project)  # empty store: initialised
    assert controller.auxiliary.find_one({"next_id": {"$exists": True}})["next_id"] == 1
    controller.close()
    # A store holding jobs but no id counter was not made by jobflow-remote: refuse it.
    other = jfr_module.SharedMongomockStore("jobs", server=f"{server}-foreign")
    other.connect()
    other._collection.insert_one({"uuid": "x", "state": "READY"})
    foreign = jfr_module.build_project(
        settings.model_copy(
            update={"queue": jfr_module.InProcessQueue(server=f"{server}-foreign")}
        ),
        store,
    )
    with pytest.raises(StoreError, match="holds jobs but no counter"):
        jfr_module.job_controller(foreign)
