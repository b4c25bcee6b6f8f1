"""Send flows through FireWorks: a LaunchPad, ``qlaunch`` with a queue adapter, ``rlaunch``.

jobflow's ``flow_to_workflow`` turns each job into a Firework whose spec carries the job's
``manager_config``; a :class:`~anodefree.workflows.execution.resources.ResourcePolicy`
writes there the FireWorks category (``_category``, which FireWorker runs it) and the
queue-adapter overrides (``_queueadapter``, the job's resources; honoured by
``qlaunch -r``, reservation mode).

This module

* writes the FireWorks configuration files (``my_launchpad.yaml``, one
  ``my_fworker_<worker>.yaml`` and ``my_qadapter_<worker>.yaml`` per worker;
  :func:`write_config_files`);
* adds flows to the LaunchPad (:func:`submit_flows`), reports their state with errors
  (:func:`fireworks_report`) and reruns failed ones (:func:`rerun_failed`);
* launches jobs: ``qlaunch`` on batch workers and ``rlaunch`` on local ones
  (:func:`qlaunch`, :func:`rlaunch`), and a driver that does both until nothing is ready
  (:func:`run_until_done`, for tests and single-machine runs; clusters run
  ``qlaunch rapidfire`` themselves).

Two LaunchPads are supported: MongoDB (the URI comes from an environment variable and is
written only into the ``0600`` launchpad file FireWorks reads), and a mongomock file
(``MONGOMOCK_SERVERSTORE_FILE``, no server) for tests. Every FireWorks process loads that
file at start and rewrites it at exit, so in file mode each LaunchPad operation runs in a
short child process, strictly one at a time, and batch jobs are submitted on hold and
released only after ``qlaunch`` has exited.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from anodefree.errors import ConfigError, StoreError
from anodefree.settings import URI_ENV
from anodefree.workflows.execution.resources import (
    Assignment,
    JobResources,
    ResourcePolicy,
    Scheduler,
    apply_policy,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from fireworks import LaunchPad
    from jobflow import Flow, Job, JobStore

logger = logging.getLogger(__name__)

MONGOMOCK_ENV = "MONGOMOCK_SERVERSTORE_FILE"
#: FireWorks states after which a Firework will not change without a user action.
FINAL_STATES = ("COMPLETED", "FIZZLED", "DEFUSED", "PAUSED", "ARCHIVED")
#: SLURM job states after which a batch job is over.
SLURM_DONE = (
    "COMPLETED",
    "FAILED",
    "CANCELLED",
    "TIMEOUT",
    "NODE_FAIL",
    "OUT_OF_MEMORY",
    "BOOT_FAIL",
    "DEADLINE",
    "PREEMPTED",
)


class LaunchPadSettings(BaseModel):
    """Where the FireWorks database is."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["mongodb", "mongomock-file"] = Field(
        "mongodb", description="A MongoDB server, or a mongomock file (tests; no server)."
    )
    database: str = Field("anodefree_fireworks", description="FireWorks database name.")
    uri_env: str = Field(URI_ENV, description="Environment variable holding the MongoDB URI.")
    path: Path | None = Field(None, description="The mongomock file (kind mongomock-file).")

    def launchpad_dict(self) -> dict[str, Any]:
        """Return the contents of ``my_launchpad.yaml``.

        Raises
        ------
        ConfigError
            If the URI variable is unset (kind mongodb) or no path is given.
        """
        if self.kind == "mongomock-file":
            if self.path is None:
                raise ConfigError("a mongomock-file LaunchPad needs a path")
            return {"host": "localhost", "name": self.database, "strm_lvl": "INFO"}
        uri = os.environ.get(self.uri_env)
        if not uri:
            raise ConfigError(f"no MongoDB URI: set the environment variable ${self.uri_env}")
        return {"host": uri, "uri_mode": True, "name": self.database, "strm_lvl": "INFO"}


class FireWorksWorker(BaseModel):
    """One FireWorks worker: a category, and a queue adapter unless it runs locally."""

    model_config = ConfigDict(extra="forbid")

    scheduler: Scheduler = Field(description="slurm or pbs (qlaunch), shell (rlaunch here).")
    python_env: Path | None = Field(
        default_factory=lambda: Path(sys.prefix),
        description="Virtual environment activated in each batch script (the login shell "
        "of '#!/bin/bash -l' resets PATH); None to activate nothing.",
    )
    pre_rocket: str | None = Field(None, description="Extra shell commands before rlaunch.")
    resources: JobResources = Field(
        default_factory=JobResources,
        description="Queue-adapter defaults; a job's policy resources override them.",
    )


class FireWorksSettings(BaseModel):
    """What anodefree needs to drive FireWorks."""

    model_config = ConfigDict(extra="forbid")

    launchpad: LaunchPadSettings = Field(default_factory=LaunchPadSettings)
    workers: dict[str, FireWorksWorker] = Field(description="Workers (categories) by name.")
    config_dir: Path = Field(description="Folder of the generated FireWorks files.")
    launch_dir: Path = Field(description="Folder under which jobs run (launcher_* folders).")

    @field_validator("workers")
    @classmethod
    def _some_worker(cls, value: dict[str, FireWorksWorker]) -> dict[str, FireWorksWorker]:
        if not value:
            raise ValueError("at least one worker is needed")
        return value

    @property
    def file_mode(self) -> bool:
        """Whether the LaunchPad is a mongomock file (one FireWorks process at a time)."""
        return self.launchpad.kind == "mongomock-file"

    def schedulers(self) -> dict[str, Scheduler]:
        """Worker name -> scheduler type."""
        return {name: worker.scheduler for name, worker in self.workers.items()}


class ConfigFiles(BaseModel):
    """Paths of the FireWorks files of one worker."""

    launchpad: Path
    fworker: Path
    qadapter: Path | None = None


class SubmittedWorkflow(BaseModel):
    """One flow added to the LaunchPad."""

    flow_uuid: str = Field(description="uuid of the flow.")
    name: str = Field(description="Name of the flow.")
    fw_ids: list[int] = Field(description="Firework ids of the flow's jobs.")
    assignments: dict[str, Assignment] = Field(description="Job uuid -> worker and resources.")


class FireworkReport(BaseModel):
    """State of one Firework, with its error if it fizzled."""

    fw_id: int = Field(description="Firework id.")
    name: str = Field(description="Firework (= job) name.")
    state: str = Field(description="FireWorks state, e.g. COMPLETED, FIZZLED, READY.")
    category: str | None = Field(None, description="Worker category.")
    job_uuid: str | None = Field(None, description="uuid of the jobflow job (JobStore key).")
    error: str | None = Field(None, description="Stack trace of the last failed launch.")
    launch_dir: str | None = Field(None, description="Folder of the last launch.")

    @property
    def error_summary(self) -> str | None:
        """The last non-empty line of the error (the exception and its message)."""
        if not self.error:
            return None
        lines = [line for line in self.error.strip().splitlines() if line.strip()]
        return lines[-1].strip() if lines else None


# --------------------------------------------------------------------------- files


def write_config_files(settings: FireWorksSettings) -> dict[str, ConfigFiles]:
    """Write the FireWorks files of every worker into ``settings.config_dir``.

    The launchpad file may hold the MongoDB URI (FireWorks reads no environment): it is
    written with mode ``0600`` and never logged.

    Returns
    -------
    dict
        Worker name -> its files.
    """
    config_dir = settings.config_dir.expanduser().resolve()
    (config_dir / "logs").mkdir(parents=True, exist_ok=True)
    settings.launch_dir.expanduser().resolve().mkdir(parents=True, exist_ok=True)
    launchpad = config_dir / "my_launchpad.yaml"
    _write_private(launchpad, yaml.safe_dump(settings.launchpad.launchpad_dict()))
    files = {}
    for name, worker in settings.workers.items():
        fworker = config_dir / f"my_fworker_{name}.yaml"
        fworker.write_text(yaml.safe_dump({"name": name, "category": name, "query": "{}"}))
        qadapter = None
        if worker.scheduler != "shell":
            qadapter = config_dir / f"my_qadapter_{name}.yaml"
            data = qadapter_dict(settings, name, launchpad, fworker)
            if settings.file_mode:
                template = config_dir / f"template_{name}.txt"
                template.write_text(held_template(worker.scheduler))
                data["_fw_template_file"] = str(template)
            qadapter.write_text(yaml.safe_dump(data, sort_keys=False))
        files[name] = ConfigFiles(launchpad=launchpad, fworker=fworker, qadapter=qadapter)
    return files


def qadapter_dict(
    settings: FireWorksSettings, worker_name: str, launchpad: Path, fworker: Path
) -> dict[str, Any]:
    """Return the contents of the queue-adapter file of one batch worker."""
    worker = settings.workers[worker_name]
    pre = []
    if worker.python_env is not None:
        pre.append(f"source {worker.python_env}/bin/activate")
    if settings.file_mode:
        pre.append(f"export {MONGOMOCK_ENV}={settings.launchpad.path}")
    if worker.pre_rocket:
        pre.append(worker.pre_rocket)
    if worker.scheduler == "slurm":
        # Threads follow each job's own --cpus-per-task (reservation mode overrides it).
        pre.append("export OMP_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1}")
    data: dict[str, Any] = {
        # The explicit class path spares FireWorks a scan of all its modules.
        "_fw_name": "{{fireworks.user_objects.queue_adapters.common_adapter.CommonAdapter}}",
        "_fw_q_type": {"slurm": "SLURM", "pbs": "PBS"}[worker.scheduler],
        "rocket_launch": f"rlaunch -l {launchpad} -w {fworker} singleshot",
        "pre_rocket": "; ".join(pre) or None,
        "job_name": f"fw_{worker_name}",
        # With a log folder the adapter also logs the submitted job id to the stream.
        "logdir": str(launchpad.parent / "logs"),
    }
    data.update(worker.resources.to_fireworks_qadapter(worker.scheduler))
    return {k: v for k, v in data.items() if v is not None}


def held_template(scheduler: Scheduler) -> str:
    """Return FireWorks' template for ``scheduler`` with a submit-on-hold line added."""
    import fireworks.user_objects.queue_adapters as adapters

    name = {"slurm": "SLURM", "pbs": "PBS"}[scheduler]
    text = (Path(adapters.__file__).parent / f"{name}_template.txt").read_text()
    hold = "#SBATCH --hold" if scheduler == "slurm" else "#PBS -h"
    first, rest = text.split("\n", 1)
    return f"{first}\n{hold}\n{rest}"


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by the owner only."""
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(text)


# ------------------------------------------------------------ LaunchPad operations


def _launchpad(settings: FireWorksSettings) -> LaunchPad:
    from fireworks import LaunchPad

    return LaunchPad.from_dict(settings.launchpad.launchpad_dict())


def _ensure_initialised(lp: LaunchPad) -> None:
    """Create the FireWorks collections of an empty database (a no-op otherwise)."""
    if lp.fw_id_assigner.find_one({}) is None:
        if lp.fireworks.count_documents({}):
            raise StoreError(f"FireWorks database {lp.name!r} has Fireworks but no id counter")
        lp.reset("", require_password=False)


def _op_add(lp: LaunchPad, workflow_files: list[str]) -> list[list[int]]:
    from fireworks import Workflow

    _ensure_initialised(lp)
    ids = []
    for path in workflow_files:
        mapping = lp.add_wf(Workflow.from_file(path))
        ids.append(sorted(mapping.values()))
    return ids


def _op_report(lp: LaunchPad, fw_ids: list[int] | None) -> list[dict[str, Any]]:
    _ensure_initialised(lp)
    query = {} if fw_ids is None else {"fw_id": {"$in": list(fw_ids)}}
    reports = []
    for doc in lp.fireworks.find(query).sort("fw_id", 1):
        spec = doc.get("spec", {})
        tasks = spec.get("_tasks") or [{}]
        job = tasks[0].get("job") or {}
        error, launch_dir = None, None
        launch_ids = doc.get("launches", []) + doc.get("archived_launches", [])
        if launch_ids:
            launch = lp.launches.find_one(
                {"launch_id": {"$in": launch_ids}}, sort=[("launch_id", -1)]
            )
            if launch:
                launch_dir = launch.get("launch_dir")
                stored = (launch.get("action") or {}).get("stored_data") or {}
                exception = stored.get("_exception") or {}
                error = exception.get("_stacktrace") or stored.get("_message")
        reports.append(
            {
                "fw_id": doc["fw_id"],
                "name": doc.get("name", ""),
                "state": doc["state"],
                "category": spec.get("_category"),
                "job_uuid": job.get("uuid") if isinstance(job, dict) else None,
                "error": error if doc["state"] == "FIZZLED" else None,
                "launch_dir": launch_dir,
            }
        )
    return reports


def _op_rerun(lp: LaunchPad, fw_ids: list[int] | None) -> list[int]:
    query: dict[str, Any] = {"state": "FIZZLED"}
    if fw_ids is not None:
        query["fw_id"] = {"$in": list(fw_ids)}
    rerun: list[int] = []
    for doc in lp.fireworks.find(query, {"fw_id": 1}).sort("fw_id", 1):
        rerun.extend(lp.rerun_fw(doc["fw_id"]))
    return sorted(set(rerun))


def _op_ready(lp: LaunchPad) -> dict[str, int]:
    _ensure_initialised(lp)
    counts: dict[str, int] = {}
    for doc in lp.fireworks.find({"state": "READY"}, {"spec._category": 1}):
        category = str(doc.get("spec", {}).get("_category"))
        counts[category] = counts.get(category, 0) + 1
    return counts


_OPS: dict[str, Callable[..., Any]] = {
    "add": _op_add,
    "report": _op_report,
    "rerun": _op_rerun,
    "ready": _op_ready,
}


def _call(settings: FireWorksSettings, op: str, **kwargs: Any) -> Any:
    """Run one LaunchPad operation: here, or in a child process in file mode."""
    if not settings.file_mode:
        return _OPS[op](_launchpad(settings), **kwargs)
    start = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        request = Path(tmp) / "request.json"
        result = Path(tmp) / "result.json"
        request.write_text(
            json.dumps(
                {
                    "settings": settings.model_dump(mode="json"),
                    "op": op,
                    "kwargs": kwargs,
                    "result": str(result),
                }
            )
        )
        proc = _run(
            [sys.executable, "-m", __name__, str(request)], env=_file_mode_env(settings), cwd=tmp
        )
        if proc.returncode or not result.exists():
            raise StoreError(
                f"FireWorks operation {op!r} failed (exit {proc.returncode}): "
                f"{proc.stderr.strip()[-2000:]}"
            )
        logger.debug("FireWorks %s in a child process: %.1f s", op, time.monotonic() - start)
        return json.loads(result.read_text())


def _file_mode_env(settings: FireWorksSettings) -> dict[str, str]:
    env = dict(os.environ)
    if settings.file_mode:
        path = Path(settings.launchpad.path).expanduser().resolve()
        if not path.exists() or not path.read_text().strip():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("{}")
        env[MONGOMOCK_ENV] = str(path)
    return env


def _child_main(request_file: str) -> None:
    """Entry point of a child process (file mode): run one operation, write its result."""
    request = json.loads(Path(request_file).read_text())
    settings = FireWorksSettings.model_validate(request["settings"])
    result = _OPS[request["op"]](_launchpad(settings), **request["kwargs"])
    Path(request["result"]).write_text(json.dumps(result))


# ---------------------------------------------------------------- public API


def flow_to_fireworks(
    flow: Flow | Job,
    store: JobStore,
    policy: ResourcePolicy,
    schedulers: dict[str, Scheduler],
) -> tuple[Any, dict[str, Assignment]]:
    """Return the FireWorks Workflow of ``flow`` with the policy in each spec.

    Raises
    ------
    ConfigError
        If the policy names a worker ``schedulers`` lacks.
    """
    from jobflow.core.flow import get_flow
    from jobflow.managers.fireworks import flow_to_workflow

    unknown = policy.workers() - set(schedulers)
    if unknown:
        raise ConfigError(
            f"the resource policy uses worker(s) {', '.join(sorted(unknown))} that are not "
            f"configured (configured: {', '.join(sorted(schedulers))})"
        )
    flow = get_flow(flow)
    assignments = apply_policy(flow, policy, "fireworks", schedulers)
    workflow = flow_to_workflow(flow, store=store)
    check_serialisation(workflow)
    return workflow, assignments


def check_serialisation(workflow: Any) -> None:
    """Fail now if a job would reach FireWorks with parts of its Maker turned into text.

    jobflow's ``JobFiretask`` serialises a job loosely (``jsanitize`` without
    ``strict``): a Maker field holding an object without ``as_dict()`` (e.g. a plain
    pydantic model) becomes its ``str()``, and the job fails when it runs. jobflow-remote
    serialises strictly and is not affected.

    Raises
    ------
    ConfigError
        Naming the job, the field and the class.
    """
    from monty.json import MontyEncoder

    for firework in workflow.fws:
        for task in firework.tasks:
            if "job" not in task:
                continue
            job = task["job"]
            strict = json.loads(json.dumps(job, cls=MontyEncoder))
            loose = task.to_dict()["job"]
            problem = _first_stringified(strict, loose, "job")
            if problem:
                path, cls = problem
                raise ConfigError(
                    f"job {job.name!r}: {path} ({cls}) would reach FireWorks as a string, "
                    f"because {cls} has no as_dict(); give it as_dict()/from_dict() (MSONable) "
                    "or use the jobflow-remote back end"
                )


def _first_stringified(strict: Any, loose: Any, path: str) -> tuple[str, str] | None:
    """Find where ``loose`` holds a string in place of a serialised object of ``strict``."""
    if isinstance(strict, dict):
        if isinstance(loose, str) and "@class" in strict:
            return path, strict["@class"]
        if isinstance(loose, dict):
            for key, value in strict.items():
                if key in loose:
                    found = _first_stringified(value, loose[key], f"{path}.{key}")
                    if found:
                        return found
    elif isinstance(strict, list) and isinstance(loose, list):
        for index, (a, b) in enumerate(zip(strict, loose, strict=False)):
            found = _first_stringified(a, b, f"{path}[{index}]")
            if found:
                return found
    return None


def submit_flows(
    flows: Flow | Job | Iterable[Flow | Job],
    settings: FireWorksSettings,
    store: JobStore,
    policy: ResourcePolicy | None = None,
) -> list[SubmittedWorkflow]:
    """Add flows to the LaunchPad, each job routed and sized by ``policy``.

    Parameters
    ----------
    flows
        One flow (or job) or several.
    settings
        LaunchPad and workers.
    store
        The JobStore the jobs write their outputs to (serialised into each Firework:
        the process running a job connects to it, so use a store it can reach).
    policy
        Worker (category) and resources per job type; default: all on the first worker.
    """
    from jobflow import Flow, Job

    if isinstance(flows, Flow | Job):
        flows = [flows]
    schedulers = settings.schedulers()
    policy = policy or ResourcePolicy(default_worker=next(iter(schedulers)))
    prepared = []
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for index, item in enumerate(flows):
            workflow, assignments = flow_to_fireworks(item, store, policy, schedulers)
            path = Path(tmp) / f"wf_{index}.json"
            workflow.to_file(str(path))
            files.append(str(path))
            flow_uuid = item.uuid
            prepared.append((flow_uuid, item.name, assignments))
        ids = _call(settings, "add", workflow_files=files)
    submitted = [
        SubmittedWorkflow(flow_uuid=uuid, name=name, fw_ids=fw_ids, assignments=assignments)
        for (uuid, name, assignments), fw_ids in zip(prepared, ids, strict=True)
    ]
    for item in submitted:
        logger.info("added workflow %s: Fireworks %s", item.name, item.fw_ids)
    return submitted


def fireworks_report(
    settings: FireWorksSettings, fw_ids: Iterable[int] | None = None
) -> list[FireworkReport]:
    """Return the state of every Firework (or of ``fw_ids``), with errors of fizzled ones."""
    ids = None if fw_ids is None else [int(i) for i in fw_ids]
    return [FireworkReport(**row) for row in _call(settings, "report", fw_ids=ids)]


def rerun_failed(settings: FireWorksSettings, fw_ids: Iterable[int] | None = None) -> list[int]:
    """Bring FIZZLED Fireworks (of ``fw_ids``) back to READY; completed ones stay as they are.

    Returns the ids of the Fireworks whose state changed (the failed ones and their
    waiting children).
    """
    ids = None if fw_ids is None else [int(i) for i in fw_ids]
    return _call(settings, "rerun", fw_ids=ids)


def qlaunch(
    settings: FireWorksSettings,
    worker: str,
    files: dict[str, ConfigFiles] | None = None,
    reserve: bool = True,
    wait: bool = True,
    timeout_s: float = 600,
) -> str | None:
    """Submit one batch job with ``qlaunch singleshot`` on ``worker``; return its job id.

    Parameters
    ----------
    settings
        LaunchPad and workers.
    worker
        A worker whose scheduler is slurm or pbs.
    files
        Its configuration files (default: written now by :func:`write_config_files`).
    reserve
        Reservation mode (``-r``): the job is tied to one Firework, whose
        ``_queueadapter`` resources apply.
    wait
        Wait until the batch job has finished (always the case in file mode, where no
        other FireWorks process may run meanwhile).
    timeout_s
        Longest wait for the batch job; s.

    Returns
    -------
    str or None
        The scheduler's job id, or None if nothing was ready for this worker.

    Raises
    ------
    ConfigError
        If ``worker`` is unknown or runs locally.
    StoreError
        If ``qlaunch`` fails.
    TimeoutError
        If the batch job is still queued or running after ``timeout_s``.
    """
    spec = settings.workers.get(worker)
    if spec is None or spec.scheduler == "shell":
        raise ConfigError(f"qlaunch needs a batch worker (slurm or pbs); got {worker!r}")
    files = files or write_config_files(settings)
    # One folder per batch job: a singleshot launch runs where it was submitted.
    launch_dir = _new_launcher_dir(settings.launch_dir)
    command = [
        str(Path(sys.executable).parent / "qlaunch"),
        "-l",
        str(files[worker].launchpad),
        "-w",
        str(files[worker].fworker),
        "-q",
        str(files[worker].qadapter),
        "--launch_dir",
        str(launch_dir),
        *(["-r"] if reserve else []),
        "singleshot",
    ]
    proc = _run(command, env=_file_mode_env(settings), cwd=launch_dir, timeout=300)
    output = proc.stdout + proc.stderr
    if proc.returncode:
        raise StoreError(f"qlaunch failed (exit {proc.returncode}): {output.strip()[-2000:]}")
    match = re.search(r"job_id is (\S+)", output)
    if match is None:
        if "No jobs exist in the LaunchPad" in output:
            return None
        raise StoreError(f"qlaunch submitted no job: {output.strip()[-2000:]}")
    job_id = match.group(1)
    logger.info("qlaunch: %s job %s on worker %s", spec.scheduler, job_id, worker)
    if settings.file_mode:
        # qlaunch has exited and written the LaunchPad file: the job may start now.
        _release(spec.scheduler, job_id)
    if wait or settings.file_mode:
        start = time.monotonic()
        state = wait_for_batch_job(spec.scheduler, job_id, timeout_s)
        logger.info(
            "%s job %s %s after %.1f s", spec.scheduler, job_id, state, time.monotonic() - start
        )
    return job_id


def _new_launcher_dir(parent: Path) -> Path:
    """Create and return a fresh ``launcher_<UTC time>`` folder under ``parent``."""
    parent = parent.expanduser().resolve()
    parent.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d-%H-%M-%S-%f")
    path = parent / f"launcher_{stamp}"
    path.mkdir()
    return path


def rlaunch(
    settings: FireWorksSettings, worker: str, files: dict[str, ConfigFiles] | None = None
) -> str:
    """Run every ready Firework of ``worker`` here with ``rlaunch rapidfire``; return its log."""
    if worker not in settings.workers:
        raise ConfigError(f"unknown worker {worker!r}; configured: {', '.join(settings.workers)}")
    files = files or write_config_files(settings)
    launch_dir = settings.launch_dir.expanduser().resolve()
    launch_dir.mkdir(parents=True, exist_ok=True)
    command = [
        str(Path(sys.executable).parent / "rlaunch"),
        "-l",
        str(files[worker].launchpad),
        "-w",
        str(files[worker].fworker),
        "rapidfire",
    ]
    env = _file_mode_env(settings)
    env.update(settings.workers[worker].resources.environment())
    start = time.monotonic()
    proc = _run(command, env=env, cwd=launch_dir)
    logger.info("rlaunch rapidfire on %s: %.1f s", worker, time.monotonic() - start)
    if proc.returncode:
        raise StoreError(f"rlaunch failed (exit {proc.returncode}): {proc.stderr[-2000:]}")
    return proc.stdout + proc.stderr


def run_until_done(settings: FireWorksSettings, max_seconds: float = 900) -> list[FireworkReport]:
    """Launch ready Fireworks (qlaunch on batch workers, rlaunch on local ones) until none is.

    One process at a time, so it is safe in file mode. For tests and single-machine runs;
    on a cluster run ``qlaunch rapidfire`` (cron or a screen session) instead.

    Returns
    -------
    list of FireworkReport
        The final state of every Firework.

    Raises
    ------
    TimeoutError
        If Fireworks are still ready after ``max_seconds``.
    """
    files = write_config_files(settings)
    start = time.monotonic()
    while True:
        ready = _call(settings, "ready")
        stray = set(ready) - set(settings.workers)
        if stray:
            raise ConfigError(
                f"ready Fireworks of unknown worker(s) {', '.join(sorted(stray))}; "
                f"configured: {', '.join(settings.workers)}"
            )
        launched = False
        for name, worker in settings.workers.items():
            if not ready.get(name):
                continue
            launched = True
            if worker.scheduler == "shell":
                rlaunch(settings, name, files)
            else:
                remaining = max(1.0, max_seconds - (time.monotonic() - start))
                qlaunch(settings, name, files, reserve=True, wait=True, timeout_s=remaining)
        if not launched:
            return fireworks_report(settings)
        if time.monotonic() - start > max_seconds:
            raise TimeoutError(f"Fireworks still ready after {max_seconds} s")


def read_outputs(store: JobStore, uuids: Iterable[str], load: bool = True) -> dict[str, Any]:
    """Return ``{uuid: output}`` of finished jobs from the JobStore (latest index)."""
    from anodefree.workflows.execution.jobflow_remote import read_outputs as _read

    return _read(store, uuids, load=load)


# --------------------------------------------------------------- batch jobs


def _run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run an argument list (never a shell string) and capture its output."""
    # The programs are FireWorks' scripts next to this Python and the scheduler's
    # commands found on PATH (as qlaunch itself does); the arguments are paths and ids.
    return subprocess.run(command, capture_output=True, text=True, check=False, **kwargs)  # noqa: S603


def _release(scheduler: Scheduler, job_id: str) -> None:
    command = ["scontrol", "release", job_id] if scheduler == "slurm" else ["qrls", job_id]
    proc = _run(command)
    if proc.returncode:
        raise StoreError(f"could not release held job {job_id}: {proc.stderr.strip()}")


def batch_job_state(scheduler: Scheduler, job_id: str) -> str | None:
    """Return the scheduler's state of ``job_id`` (e.g. RUNNING), or None once it is gone."""
    if scheduler == "slurm":
        proc = _run(["scontrol", "show", "job", "-o", job_id])
        match = re.search(r"JobState=(\S+)", proc.stdout)
        return match.group(1) if match else None
    proc = _run(["qstat", "-f", job_id])
    match = re.search(r"job_state = (\S+)", proc.stdout)
    if not match or match.group(1) in ("C", "F"):
        return None
    return match.group(1)


def wait_for_batch_job(scheduler: Scheduler, job_id: str, timeout_s: float = 600) -> str | None:
    """Wait until batch job ``job_id`` has finished; return its last known state.

    Raises
    ------
    TimeoutError
        If it is still queued or running after ``timeout_s``.
    """
    start = time.monotonic()
    state = None
    while time.monotonic() - start < timeout_s:
        current = batch_job_state(scheduler, job_id)
        if current is None or current in SLURM_DONE:
            return current or state
        state = current
        time.sleep(1)
    raise TimeoutError(f"{scheduler} job {job_id} still {state} after {timeout_s} s")


if __name__ == "__main__":
    _child_main(sys.argv[1])
