"""Send flows through jobflow-remote to SLURM, PBS or local shell workers.

jobflow-remote keeps the state of every job in a *queue store* (a MongoDB collection) and
runs a *Runner* daemon that uploads jobs to workers, submits them to the worker's
scheduler, polls ``squeue``/``qstat`` and stores the outputs in the JobStore. This module

* builds a jobflow-remote ``Project`` from anodefree settings (:func:`build_project`) and
  writes it where ``jf`` finds it (:func:`write_project`), or loads a project the user
  manages with ``jf project`` (:func:`load_project`);
* submits flows with worker and resources chosen per job type by a
  :class:`~anodefree.workflows.execution.resources.ResourcePolicy` (:func:`submit_flows`);
* reports job states and errors (:func:`queue_report`) and reruns failed jobs without
  repeating finished ones (:func:`rerun_failed`);
* reads outputs back from the JobStore (:func:`read_outputs`);
* can drive the Runner inside the current process (:func:`run_in_process`) for tests and
  for a queue store that lives in this process (:class:`SharedMongomockStore`).

The MongoDB credentials never enter a project file: the queue store is anodefree's
``SecretMongoStore``, which records only the name of the environment variable holding
the URI and reads it when connecting.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import yaml
from maggma.stores import MemoryStore
from pydantic import BaseModel, ConfigDict, Field, field_validator

from anodefree.errors import ConfigError, StoreError
from anodefree.settings import URI_ENV
from anodefree.workflows.execution.resources import (
    Assignment,
    ResourcePolicy,
    Scheduler,
    apply_policy,
)
from anodefree.workflows.execution.shell_io import QuotingShellIO, scheduler_kind

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from jobflow import Flow, Job, JobStore
    from jobflow_remote.config.base import Project
    from jobflow_remote.jobs.jobcontroller import JobController

logger = logging.getLogger(__name__)

#: States after which a job will not change without a user action.
FINAL_STATES = ("COMPLETED", "FAILED", "REMOTE_ERROR", "STOPPED", "USER_STOPPED", "PAUSED")
#: States a rerun brings back to READY.
RERUN_STATES = ("FAILED", "REMOTE_ERROR")


class SharedMongomockStore(MemoryStore):
    """A queue store held in this process: instances with one ``server`` share their data.

    maggma's ``MemoryStore`` gives each connection its own empty mongomock server, but
    jobflow-remote builds several stores from the same project (submission, Runner,
    reports). This subclass keeps one mongomock server per ``server`` name for the life
    of the process, and names the collection exactly ``collection_name`` (jobflow-remote
    joins on that name). Separate processes (``jf`` commands) cannot see it.
    """

    _servers: ClassVar[dict[str, Any]] = {}

    def __init__(
        self, collection_name: str = "jobs", server: str = "anodefree", **kwargs: Any
    ) -> None:
        self.server = server
        super().__init__(collection_name=collection_name, **kwargs)

    def connect(self, force_reset: bool = False) -> None:
        """Connect to the process-wide mongomock server named ``server``."""
        if self._coll is None or force_reset:
            import mongomock_ng
            from mongomock_ng.store import ServerStore

            store = self._servers.setdefault(self.server, ServerStore())
            client = mongomock_ng.MongoClient(_store=store)
            self._coll = client.db[self.collection_name]

    def close(self) -> None:
        """Keep the data: closing a mongomock client would not, and others share it."""

    @property
    def name(self) -> str:
        """Name of the store."""
        return f"mongomock://{self.server}/{self.collection_name}"

    def __hash__(self) -> int:
        """Hash on the name (as MemoryStore)."""
        return hash((self.name, self.last_updated_field))

    @classmethod
    def drop_server(cls, server: str) -> None:
        """Forget every collection of ``server``."""
        cls._servers.pop(server, None)


class WorkerSettings(BaseModel):
    """One jobflow-remote worker: where jobs run and how they are submitted."""

    model_config = ConfigDict(extra="forbid")

    scheduler: Scheduler = Field(description="slurm, pbs, or shell (run directly, no queue).")
    work_dir: Path = Field(description="Absolute folder on the worker for the job folders.")
    python_env: Path | None = Field(
        default_factory=lambda: Path(sys.prefix),
        description="Virtual environment activated in every job script (batch scripts "
        "start a login shell that resets PATH); default: the one running anodefree. "
        "None to activate nothing.",
    )
    pre_run: str | None = Field(
        None, description="Extra shell commands before each job (e.g. 'module load gcc')."
    )
    max_jobs: int | None = Field(
        None, ge=1, description="Most jobs submitted to this worker at once; count."
    )
    host: str | None = Field(None, description="SSH host of a remote worker; None: this machine.")
    user: str | None = Field(None, description="SSH user of a remote worker.")
    key_filename: str | None = Field(None, description="SSH private key of a remote worker.")
    timeout_execute: int = Field(
        60, ge=1, description="Timeout of a scheduler command (sbatch, squeue) in s."
    )

    @field_validator("work_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        if not value.is_absolute():
            raise ValueError(f"work_dir must be an absolute path, got {str(value)!r}")
        return value

    def pre_run_script(self) -> str | None:
        """Shell commands run before each job: activate the environment, then ``pre_run``."""
        lines = []
        if self.python_env is not None:
            lines.append(f"source {self.python_env}/bin/activate")
        if self.pre_run:
            lines.append(self.pre_run)
        return "\n".join(lines) or None

    def project_entry(self) -> dict[str, Any]:
        """Return the worker as a jobflow-remote project entry."""
        entry: dict[str, Any] = {
            "type": "local" if self.host is None else "remote",
            # shell workers quote the job name (see shell_io.QuotingShellIO)
            "scheduler_type": QuotingShellIO().as_dict()
            if self.scheduler == "shell"
            else self.scheduler,
            "work_dir": str(self.work_dir),
            "pre_run": self.pre_run_script(),
            "max_jobs": self.max_jobs,
            "timeout_execute": self.timeout_execute,
        }
        if self.host is not None:
            entry.update(host=self.host, user=self.user, key_filename=self.key_filename)
        return {k: v for k, v in entry.items() if v is not None}


class MongoQueue(BaseModel):
    """Queue store on a MongoDB server; the URI comes from an environment variable."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["mongodb"] = "mongodb"
    database: str = Field("anodefree", description="Database of the queue collections.")
    collection: str = Field("jobs", description="Collection of the job documents.")
    uri_env: str = Field(URI_ENV, description="Environment variable holding the MongoDB URI.")

    def store_spec(self) -> dict[str, Any]:
        """Return the serialized queue store: the URI's variable name, never its value."""
        from anodefree.workflows.stores import SecretMongoStore

        return SecretMongoStore(self.database, self.collection, uri_env=self.uri_env).as_dict()


class InProcessQueue(BaseModel):
    """Queue store in this process's memory (tests, single-process runs)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["in-process"] = "in-process"
    server: str = Field("anodefree", description="Name shared by the stores of one queue.")
    collection: str = Field("jobs", description="Collection of the job documents.")

    def store_spec(self) -> dict[str, Any]:
        """Return the serialized queue store."""
        return SharedMongomockStore(self.collection, server=self.server).as_dict()


class RemoteSettings(BaseModel):
    """What anodefree needs to build a jobflow-remote project."""

    model_config = ConfigDict(extra="forbid")

    project: str = Field("anodefree", description="jobflow-remote project name.")
    base_dir: Path = Field(description="Folder of the Runner's logs, downloads and daemon files.")
    queue: MongoQueue | InProcessQueue = Field(
        default_factory=MongoQueue, discriminator="kind", description="The queue store."
    )
    workers: dict[str, WorkerSettings] = Field(description="Workers by name.")
    runner_delay_s: float = Field(
        30, gt=0, description="Delay between the Runner's polls of the DB and the queue; s."
    )
    retry_delays_s: tuple[float, ...] = Field(
        (30, 300, 1200), description="Waits before retrying a failed upload/submit; s."
    )

    @field_validator("workers")
    @classmethod
    def _some_worker(cls, value: dict[str, WorkerSettings]) -> dict[str, WorkerSettings]:
        if not value:
            raise ValueError("at least one worker is needed")
        return value

    def schedulers(self) -> dict[str, Scheduler]:
        """Worker name -> scheduler type."""
        return {name: worker.scheduler for name, worker in self.workers.items()}


class SubmittedFlow(BaseModel):
    """One flow added to the queue."""

    flow_uuid: str = Field(description="uuid of the flow.")
    name: str = Field(description="Name of the flow.")
    db_ids: list[str] = Field(description="jobflow-remote ids of the flow's jobs.")
    assignments: dict[str, Assignment] = Field(description="Job uuid -> worker and resources.")


class QueueJobReport(BaseModel):
    """State of one job on the queue, with its error if it failed."""

    db_id: str = Field(description="jobflow-remote id.")
    uuid: str = Field(description="Job uuid (the JobStore key).")
    index: int = Field(description="Job index (reruns of replaced jobs increase it).")
    name: str = Field(description="Job name.")
    worker: str = Field(description="Worker it was sent to.")
    state: str = Field(description="jobflow-remote state, e.g. COMPLETED, FAILED.")
    error: str | None = Field(None, description="Traceback of the job, or the Runner's error.")
    process_id: str | None = Field(None, description="Scheduler job id (SLURM/PBS).")
    run_dir: str | None = Field(None, description="Folder of the run on the worker.")

    @property
    def error_summary(self) -> str | None:
        """The last non-empty line of the error (the exception and its message)."""
        if not self.error:
            return None
        lines = [line for line in self.error.strip().splitlines() if line.strip()]
        return lines[-1].strip() if lines else None


def build_project(settings: RemoteSettings, jobstore: JobStore | dict[str, Any]) -> Project:
    """Return the jobflow-remote project for ``settings``.

    Parameters
    ----------
    settings
        Workers, queue store and Runner delays.
    jobstore
        The JobStore outputs go to (e.g. from
        :func:`anodefree.workflows.stores.make_job_store`), or its serialized form.

    Raises
    ------
    ConfigError
        If jobflow-remote rejects the configuration (the message names the field).
    """
    from jobflow_remote.config.base import Project
    from pydantic import ValidationError

    base_dir = settings.base_dir.expanduser().resolve()
    jobstore_dict = jobstore if isinstance(jobstore, dict) else jobstore.as_dict()
    delay = settings.runner_delay_s
    try:
        return Project(
            name=settings.project,
            base_dir=str(base_dir),
            queue={"store": settings.queue.store_spec()},
            jobstore=jobstore_dict,
            workers={name: w.project_entry() for name, w in settings.workers.items()},
            runner={
                "delay_checkout": delay,
                "delay_check_run_status": delay,
                "delay_advance_status": delay,
                "delta_retry": settings.retry_delays_s,
            },
        )
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"jobflow-remote project {settings.project!r}: {problems}") from exc


def write_project(project: Project, folder: str | Path | None = None) -> Path:
    """Write ``project`` as YAML where ``jf`` looks for projects; return the file.

    Parameters
    ----------
    project
        The project (it holds no credentials, see the module docstring).
    folder
        Projects folder; default: jobflow-remote's (``$JFREMOTE_PROJECTS_FOLDER`` or
        ``~/.jfremote``).
    """
    import jobflow_remote

    folder = Path(folder or jobflow_remote.SETTINGS.projects_folder).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{project.name}.yaml"
    data = project.model_dump(mode="json", exclude_none=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    path.chmod(0o600)
    return path


def load_project(name: str | None = None) -> Project:
    """Load a project defined with ``jf project`` (``~/.jfremote/<name>.yaml``).

    Raises
    ------
    ConfigError
        If the project does not exist or cannot be parsed.
    """
    from jobflow_remote import ConfigManager
    from jobflow_remote.config.base import ConfigError as JfrConfigError

    try:
        return ConfigManager(warn=True).get_project(name)
    except JfrConfigError as exc:
        raise ConfigError(f"jobflow-remote project {name!r}: {exc}") from exc


def job_controller(project: Project) -> JobController:
    """Return a JobController of ``project``, initialising an empty queue store.

    Raises
    ------
    StoreError
        If the queue store holds data but was not initialised by jobflow-remote.
    """
    from jobflow_remote.jobs.jobcontroller import JobController

    try:
        controller = JobController.from_project(project)
    except Exception as exc:
        raise StoreError(f"cannot open the queue store of project {project.name!r}: {exc}") from exc
    if controller.auxiliary.find_one({"next_id": {"$exists": True}}) is None:
        if controller.jobs.count_documents({}) or controller.flows.count_documents({}):
            raise StoreError(
                f"the queue store of project {project.name!r} holds jobs but no counter; "
                f"inspect it with `jf -p {project.name} job list`, or reset it (deleting "
                f"its jobs) with `jf -p {project.name} admin reset`"
            )
        # montydb (the embedded JobStore) has no indexes: jobflow-remote would log a
        # traceback for each one it tries to build. Nothing is lost by skipping them.
        silent = "MontyStore" in {
            cls.__name__ for cls in type(controller.jobstore.docs_store).__mro__
        }
        jfr_logger = logging.getLogger("jobflow_remote.jobs.jobcontroller")
        level = jfr_logger.level
        if silent:
            jfr_logger.setLevel(logging.CRITICAL)
        try:
            controller.reset()
        finally:
            jfr_logger.setLevel(level)
    return controller


def submit_flows(
    flows: Flow | Job | Iterable[Flow | Job],
    project: Project,
    policy: ResourcePolicy | None = None,
    priority: int = 0,
) -> list[SubmittedFlow]:
    """Add flows to the queue of ``project``, each job routed by ``policy``.

    Nothing runs until a Runner picks the jobs up (``jf runner start``, or
    :func:`run_in_process`).

    Parameters
    ----------
    flows
        One flow (or job) or several.
    project
        The jobflow-remote project (:func:`build_project` or :func:`load_project`).
    policy
        Worker and resources per job type; default: every job on the project's first
        worker with one process.
    priority
        jobflow-remote priority of the jobs (higher runs first).

    Returns
    -------
    list of SubmittedFlow
        One entry per flow, with the jobflow-remote ids and the assignments.

    Raises
    ------
    ConfigError
        If the policy names a worker the project does not define, or a job needs an
        additional store the JobStore lacks.
    """
    from jobflow import Flow, Job
    from jobflow.core.flow import get_flow
    from jobflow_remote.remote.data import check_additional_stores

    if isinstance(flows, Flow | Job):
        flows = [flows]
    schedulers = {name: scheduler_kind(w.scheduler_type) for name, w in project.workers.items()}
    if not schedulers:
        raise ConfigError(f"jobflow-remote project {project.name!r} has no workers")
    for name, scheduler in schedulers.items():
        if scheduler not in ("slurm", "pbs", "shell"):
            raise ConfigError(
                f"worker {name!r}: scheduler {scheduler!r} is not supported by anodefree's "
                "resource policies (slurm, pbs, shell)"
            )
    policy = policy or ResourcePolicy(default_worker=next(iter(schedulers)))
    unknown = policy.workers() - set(schedulers)
    if unknown:
        raise ConfigError(
            f"the resource policy uses worker(s) {', '.join(sorted(unknown))} that project "
            f"{project.name!r} does not define (it has {', '.join(sorted(schedulers))})"
        )
    controller = job_controller(project)
    jobstore = project.get_jobstore()
    submitted = []
    try:
        for item in flows:
            flow = get_flow(item)
            for job, _ in flow.iterflow():
                missing = check_additional_stores(job, jobstore)
                if missing:
                    raise ConfigError(
                        f"job {job.name!r} needs additional store(s) {missing}, which the "
                        f"JobStore of project {project.name!r} lacks"
                    )
            assignments = apply_policy(flow, policy, "jobflow-remote", schedulers)
            db_ids = controller.add_flow(flow, worker=policy.default_worker, priority=priority)
            logger.info("submitted flow %s (%s): %d jobs", flow.name, flow.uuid, len(db_ids))
            submitted.append(
                SubmittedFlow(
                    flow_uuid=flow.uuid, name=flow.name, db_ids=db_ids, assignments=assignments
                )
            )
    finally:
        controller.close()
    return submitted


@contextlib.contextmanager
def _projects_folder(project: Project) -> Iterator[None]:
    """Make ``project`` the one jobflow-remote's ConfigManager finds, for this block."""
    import jobflow_remote
    from jobflow_remote.config.settings import JobflowRemoteSettings

    folder = Path(project.base_dir) / "projects"
    write_project(project, folder)
    previous = jobflow_remote.SETTINGS
    jobflow_remote.SETTINGS = JobflowRemoteSettings(
        projects_folder=str(folder), project=project.name, config_file=str(folder / "none.yaml")
    )
    try:
        yield
    finally:
        jobflow_remote.SETTINGS = previous


def run_in_process(project: Project, max_seconds: float | None = 600) -> None:
    """Run the jobflow-remote Runner in this process until no job can advance.

    For tests and for an in-process queue store; production runs use the daemon
    (``jf -p <project> runner start``). Jobs still go through the workers' schedulers
    (e.g. ``sbatch``). Returns when every job is COMPLETED, FAILED, in REMOTE_ERROR or
    waits on a failed parent.

    Raises
    ------
    TimeoutError
        If jobs are still running after ``max_seconds``.
    """
    from jobflow_remote.jobs.runner import Runner

    job_controller(project).close()  # initialise an empty queue store
    with _host_logging_kept():
        with _projects_folder(project):
            runner = Runner(project_name=project.name)
        try:
            runner.run_all_jobs(max_seconds=max_seconds)
        except RuntimeError as exc:
            if "within the selected amount of time" in str(exc):
                raise TimeoutError(f"jobs still running after {max_seconds} s") from exc
            raise
        finally:
            runner.cleanup()


@contextlib.contextmanager
def _host_logging_kept() -> Iterator[None]:
    """Undo the Runner's logging set-up when it returns.

    The Runner configures logging with ``dictConfig(disable_existing_loggers=True)``:
    in the calling process (a notebook, a test session) every logger created before it,
    anodefree's progress and warning loggers included, would stay silent afterwards.
    """
    manager = logging.Logger.manager
    disabled = {
        name: logger.disabled
        for name, logger in manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        for name, was_disabled in disabled.items():
            logger = manager.loggerDict.get(name)
            if isinstance(logger, logging.Logger):
                logger.disabled = was_disabled
        root.handlers[:] = handlers
        root.setLevel(level)


def queue_report(
    project: Project, flow_uuids: str | list[str] | None = None
) -> list[QueueJobReport]:
    """Return the state of every job (of the given flows), with errors of failed ones."""
    controller = job_controller(project)
    try:
        infos = controller.get_jobs_info(flow_ids=flow_uuids)
    finally:
        controller.close()
    infos.sort(key=lambda i: (len(str(i.db_id)), str(i.db_id)))  # numeric order of ids
    reports = []
    for info in infos:
        error = info.error or info.remote.error
        reports.append(
            QueueJobReport(
                db_id=str(info.db_id),
                uuid=info.uuid,
                index=info.index,
                name=info.name,
                worker=info.worker,
                state=info.state.value,
                error=error,
                process_id=info.remote.process_id,
                run_dir=info.run_dir,
            )
        )
    return reports


def rerun_failed(project: Project, flow_uuids: str | list[str] | None = None) -> list[str]:
    """Bring FAILED and REMOTE_ERROR jobs (of the given flows) back to READY.

    Completed jobs are not touched, so the next Runner pass only runs the failed jobs
    and the jobs waiting on them. Returns the db_ids of the jobs whose state changed.
    """
    from jobflow_remote.jobs.state import JobState

    controller = job_controller(project)
    try:
        return controller.rerun_jobs(
            flow_ids=flow_uuids,
            states=[JobState(state) for state in RERUN_STATES],
            raise_on_error=True,
        )
    finally:
        controller.close()


def read_outputs(
    store: Project | JobStore, uuids: Iterable[str], load: bool = True
) -> dict[str, Any]:
    """Return ``{uuid: output}`` of finished jobs from the JobStore (latest index).

    Raises
    ------
    StoreError
        If a job has no output in the store (not finished, or another store).
    """
    from jobflow_remote.config.base import Project

    jobstore = store.get_jobstore() if isinstance(store, Project) else store
    jobstore.connect()
    outputs = {}
    try:
        for uuid in uuids:
            try:
                outputs[uuid] = jobstore.get_output(uuid, which="last", load=load)
            except ValueError as exc:
                raise StoreError(f"no output for job {uuid} in {jobstore.docs_store.name}") from exc
    finally:
        jobstore.close()
    return outputs


def default_local_settings(
    base_dir: str | Path,
    scheduler: Scheduler = "slurm",
    queue: MongoQueue | InProcessQueue | None = None,
    runner_delay_s: float = 30,
) -> RemoteSettings:
    """Return settings with two workers here: ``batch`` (``scheduler``) and ``local``.

    ``local`` runs bookkeeping jobs directly in a shell; ``batch`` submits calculations
    to the queue. Both run in folders under ``base_dir``.
    """
    base = Path(base_dir).expanduser().resolve()
    return RemoteSettings(
        base_dir=base,
        queue=queue or MongoQueue(),
        workers={
            "batch": WorkerSettings(scheduler=scheduler, work_dir=base / "runs" / "batch"),
            "local": WorkerSettings(scheduler="shell", work_dir=base / "runs" / "local"),
        },
        runner_delay_s=runner_delay_s,
    )
