"""Worker resources per job type: which worker runs a job and what it asks the scheduler for.

A campaign mixes cheap bookkeeping jobs (collecting energies, building a hull, writing
exports; seconds on one core) with heavy calculations (relaxations, NEB, phonons; minutes
to hours on many cores). A :class:`ResourcePolicy` routes each job to a worker and gives it
:class:`JobResources`, by rules on the job's name or on the class of the Maker that made it:

>>> policy = ResourcePolicy(
...     rules=[ResourceRule(maker="AseMaker", worker="batch",
...                         resources=JobResources(processes=1, threads_per_process=2))],
...     default_worker="local",
... )

The same policy drives both back ends: :func:`apply_policy` writes it into each job's
``JobConfig.manager_config`` in the keys jobflow-remote (``worker``, ``resources``,
``exec_config``) or FireWorks (``_category``, ``_queueadapter``) read.

Jobs created at run time (a job that returns ``Response(replace=...)``) are not known at
submission. For them, name rules are propagated through jobflow's dynamic config updates;
a new job that matches no name rule inherits the configuration of the job that made it.
Maker rules only apply to the jobs present at submission.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from anodefree.errors import ConfigError

if TYPE_CHECKING:
    from jobflow import Flow, Job

Backend = Literal["jobflow-remote", "fireworks"]
Scheduler = Literal["slurm", "pbs", "shell"]

#: Base classes of the Makers that run calculations (matched anywhere in a Maker's MRO):
#: every ASE-calculator Maker of atomate2 (all anodefree engines but VASP) and VASP.
CALCULATION_MAKERS = ("AseMaker", "BaseVaspMaker")
#: Text in the names of calculation jobs: the calculation kinds of
#: :class:`anodefree.tasks.CalculationTask`, which engine Makers put in their job names
#: (e.g. ``"Li bcc [morse relax_full]"``).
CALCULATION_NAME_MARKERS = ("relax_full", "relax_positions", "static")


class JobResources(BaseModel):
    """What one job asks the batch scheduler for."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    processes: int = Field(1, ge=1, description="Processes (MPI ranks) of the job; count.")
    threads_per_process: int = Field(
        1,
        ge=1,
        description="CPU cores per process (OpenMP/PyTorch threads); count. Exported as "
        "OMP_NUM_THREADS to the job.",
    )
    nodes: int | None = Field(
        None, ge=1, description="Nodes; count. None lets the scheduler place the processes."
    )
    memory_per_cpu_mb: int | None = Field(
        None, ge=1, description="Memory per CPU core in MB; None takes the queue's default."
    )
    time_limit_min: float | None = Field(
        None, gt=0, description="Wall-time limit in minutes; None takes the queue's default."
    )
    partition: str | None = Field(None, description="Partition (SLURM) or queue (PBS) name.")
    account: str | None = Field(None, description="Account charged for the job.")
    qos: str | None = Field(None, description="Quality of service.")
    gpus: int | None = Field(None, ge=1, description="GPUs for the whole job; count.")
    scheduler_options: dict[str, str | int] = Field(
        default_factory=dict,
        description="Extra scheduler header options passed verbatim (e.g. {'constraint': "
        "'cpu'} for SLURM); keys as in the back end's template.",
    )

    @property
    def cpus(self) -> int:
        """CPU cores of the whole job (processes x threads per process)."""
        return self.processes * self.threads_per_process

    @property
    def time_limit_s(self) -> int | None:
        """Wall-time limit in whole seconds (rounded up), or None."""
        return None if self.time_limit_min is None else math.ceil(self.time_limit_min * 60)

    def environment(self) -> dict[str, str]:
        """Environment variables the job should see (thread counts)."""
        return {"OMP_NUM_THREADS": str(self.threads_per_process)}

    def to_qresources(self, scheduler: Scheduler) -> Any:
        """Return the resources for jobflow-remote (a qtoolkit ``QResources`` or ``{}``).

        A ``shell`` worker runs jobs directly, without a scheduler header: it gets an
        empty dictionary, so that qtoolkit does not reject unsupported keys.
        """
        if scheduler == "shell":
            return {}
        from qtoolkit.core.data_objects import QResources

        kwargs: dict[str, Any] = {
            "threads_per_process": self.threads_per_process,
            "memory_per_thread": self.memory_per_cpu_mb,
            "time_limit": self.time_limit_s,
            "queue_name": self.partition,
            "account": self.account,
            "qos": self.qos,
            "gpus_per_job": self.gpus,
            "scheduler_kwargs": dict(self.scheduler_options) or None,
        }
        if self.nodes is not None:
            if self.processes % self.nodes:
                raise ConfigError(
                    f"processes={self.processes} is not a multiple of nodes={self.nodes}"
                )
            return QResources.evenly_distributed(
                nodes=self.nodes, processes_per_node=self.processes // self.nodes, **kwargs
            )
        return QResources.no_constraints(processes=self.processes, **kwargs)

    def to_fireworks_qadapter(self, scheduler: Scheduler) -> dict[str, Any]:
        """Return the keys of FireWorks' SLURM or PBS queue-adapter template."""
        walltime = None
        if self.time_limit_s is not None:
            hours, rest = divmod(self.time_limit_s, 3600)
            walltime = f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"
        if scheduler == "slurm":
            keys: dict[str, Any] = {
                "ntasks": self.processes,
                "cpus_per_task": self.threads_per_process,
                "nodes": self.nodes,
                "mem_per_cpu": self.memory_per_cpu_mb,
                "walltime": walltime,
                "queue": self.partition,
                "account": self.account,
                "qos": self.qos,
                "gpus": self.gpus,
            }
        elif scheduler == "pbs":
            nodes = self.nodes or 1
            keys = {
                "nnodes": nodes,
                "ppnode": math.ceil(self.cpus / nodes),
                "walltime": walltime,
                "queue": self.partition,
                "account": self.account,
                "pmem": f"{self.memory_per_cpu_mb}mb" if self.memory_per_cpu_mb else None,
            }
        else:
            raise ConfigError(
                f"FireWorks queue adapters exist for 'slurm' and 'pbs', not {scheduler!r}"
            )
        keys.update(self.scheduler_options)
        return {k: v for k, v in keys.items() if v is not None}


class ResourceRule(BaseModel):
    """Route the jobs matching a name or a Maker class to a worker with given resources."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name_contains: str | None = Field(
        None,
        description="Match jobs whose name contains this text (jobflow's name_filter "
        "semantics); also applied to jobs created at run time.",
    )
    maker: str | None = Field(
        None,
        description="Match jobs made by a Maker with this class name anywhere in its "
        "class hierarchy (e.g. 'AseMaker' matches every ASE-calculator Maker).",
    )
    worker: str = Field(
        "batch", description="Worker name (jobflow-remote) or category (FireWorks)."
    )
    resources: JobResources = Field(default_factory=JobResources)

    @model_validator(mode="after")
    def _has_a_criterion(self) -> ResourceRule:
        if not self.name_contains and not self.maker:
            raise ValueError("a rule needs name_contains or maker (or both)")
        return self

    def matches(self, job: Job) -> bool:
        """Whether ``job`` matches every criterion this rule sets."""
        if self.name_contains and self.name_contains not in (job.name or ""):
            return False
        return not self.maker or self.maker in maker_classes(job)


class Assignment(BaseModel):
    """The worker and resources chosen for one job, and why."""

    model_config = ConfigDict(frozen=True)

    worker: str = Field(description="Worker name or FireWorks category.")
    resources: JobResources
    rule: int | None = Field(
        None, description="Index of the matching rule in the policy; None for the default."
    )


class ResourcePolicy(BaseModel):
    """Ordered rules (first match wins) and the default for jobs no rule matches."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rules: list[ResourceRule] = Field(default_factory=list)
    default_worker: str = Field("batch", description="Worker of jobs that no rule matches.")
    default_resources: JobResources = Field(default_factory=JobResources)

    @classmethod
    def from_file(cls, path: str | Path) -> ResourcePolicy:
        """Read a policy from a YAML file (see ``examples/queue/resources.yaml``).

        Raises
        ------
        ConfigError
            If the file is missing or a field is invalid; the message names the field.
        """
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"resource policy file {str(path)!r} does not exist")
        data = yaml.safe_load(path.read_text()) or {}
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()
            )
            raise ConfigError(f"resource policy {str(path)!r}: {problems}") from exc

    def workers(self) -> set[str]:
        """Every worker name the policy can assign."""
        return {self.default_worker, *(rule.worker for rule in self.rules)}

    def resolve(self, job: Job) -> Assignment:
        """Return the worker and resources of ``job``."""
        for index, rule in enumerate(self.rules):
            if rule.matches(job):
                return Assignment(worker=rule.worker, resources=rule.resources, rule=index)
        return Assignment(worker=self.default_worker, resources=self.default_resources)


def default_policy(
    calculation: JobResources | None = None, bookkeeping_worker: str = "local"
) -> ResourcePolicy:
    """Return a policy: calculations on ``batch``, every other job on ``bookkeeping_worker``.

    A calculation is a job made by a Maker in :data:`CALCULATION_MAKERS`, or (also for
    jobs created at run time, such as the engine jobs of anodefree's
    ``CalculationMaker``) a job whose name contains a calculation kind
    (:data:`CALCULATION_NAME_MARKERS`).

    Parameters
    ----------
    calculation
        Resources of a calculation job; by default one process with one thread for
        60 minutes.
    bookkeeping_worker
        Worker of every other job (cache look-ups, collecting, analysing, exporting).
    """
    calculation = calculation or JobResources(time_limit_min=60)
    rules = [
        ResourceRule(maker=name, worker="batch", resources=calculation)
        for name in CALCULATION_MAKERS
    ]
    rules += [
        ResourceRule(name_contains=marker, worker="batch", resources=calculation)
        for marker in CALCULATION_NAME_MARKERS
    ]
    return ResourcePolicy(
        rules=rules, default_worker=bookkeeping_worker, default_resources=JobResources()
    )


def maker_classes(job: Job) -> list[str]:
    """Class names in the MRO of the Maker whose ``make`` created ``job`` (empty if none)."""
    maker = job.maker if getattr(job, "maker", None) is not None else None
    if maker is None:
        maker = getattr(job.function, "__self__", None)
    if maker is None:
        return []
    return [cls.__name__ for cls in type(maker).__mro__]


def manager_config(
    assignment: Assignment,
    backend: Backend,
    scheduler: Scheduler | dict[str, Scheduler],
) -> dict[str, Any]:
    """Return the ``JobConfig.manager_config`` for one job on ``backend``.

    Parameters
    ----------
    assignment
        The job's worker and resources.
    backend
        ``jobflow-remote`` (keys ``worker``, ``resources``, ``exec_config``) or
        ``fireworks`` (keys ``_category``, ``_queueadapter``).
    scheduler
        The scheduler type of the workers, or a mapping worker name -> scheduler type.
    """
    if isinstance(scheduler, dict):
        if assignment.worker not in scheduler:
            raise ConfigError(
                f"the resource policy sends jobs to worker {assignment.worker!r}, which is "
                f"not configured; configured workers: {', '.join(sorted(scheduler))}"
            )
        scheduler = scheduler[assignment.worker]
    resources = assignment.resources
    if backend == "jobflow-remote":
        # exec_config as a plain mapping: jobflow-remote validates it into its
        # ExecutionConfig, and it serialises with the job without custom encoders.
        return {
            "worker": assignment.worker,
            "resources": resources.to_qresources(scheduler),
            "exec_config": {"export": resources.environment()},
        }
    if backend == "fireworks":
        config: dict[str, Any] = {"_category": assignment.worker}
        if scheduler != "shell":
            config["_queueadapter"] = resources.to_fireworks_qadapter(scheduler)
        return config
    raise ConfigError(f"unknown back end {backend!r}; use 'jobflow-remote' or 'fireworks'")


def apply_policy(
    flow: Flow | Job,
    policy: ResourcePolicy,
    backend: Backend,
    scheduler: Scheduler | dict[str, Scheduler],
) -> dict[str, Assignment]:
    """Write the policy into every job's ``manager_config`` (in place).

    Each job also gets dynamic config updates, so that jobs it creates at run time are
    routed by the name rules, or else inherit its own configuration.

    Parameters
    ----------
    flow
        The flow (or a single job) to configure.
    policy
        The rules.
    backend
        ``jobflow-remote`` or ``fireworks``.
    scheduler
        Scheduler type of the workers (one for all, or a mapping worker -> type).

    Returns
    -------
    dict
        Job uuid -> the assignment made (for reports and dry runs).
    """
    from jobflow import Flow

    jobs = [job for job, _ in flow.iterflow()] if isinstance(flow, Flow) else [flow]
    assignments: dict[str, Assignment] = {}
    name_rules = [
        (
            rule,
            manager_config(
                Assignment(worker=rule.worker, resources=rule.resources), backend, scheduler
            ),
        )
        for rule in policy.rules
        if rule.name_contains and not rule.maker
    ]
    for job in jobs:
        assignment = policy.resolve(job)
        own = manager_config(assignment, backend, scheduler)
        job.config.manager_config = own
        # jobflow would otherwise copy this config onto every job created at run time,
        # after (and over) the name-rule updates below.
        job.config.pass_manager_config = False
        updates = [_dynamic_update(own, name_filter=None)]
        # Applied in order: the first rule must come last to win, as in resolve().
        updates += [
            _dynamic_update(config, name_filter=rule.name_contains)
            for rule, config in reversed(name_rules)
        ]
        job.config_updates.extend(updates)
        assignments[job.uuid] = assignment
    return assignments


def _dynamic_update(config: dict[str, Any], name_filter: str | None) -> dict[str, Any]:
    """One entry of ``Job.config_updates`` (the format of ``Job.update_config``)."""
    return {
        "config": {"manager_config": config, "pass_manager_config": False},
        "name_filter": name_filter,
        "function_filter": None,
        "attributes": ["manager_config", "pass_manager_config"],
        "dict_mod": False,
    }
