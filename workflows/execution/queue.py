"""One entry point for ``anodefree submit``: send flows to the configured queue back end.

A queue settings file names the back end and its configuration:

.. code-block:: yaml

    backend: jobflow-remote          # or fireworks
    jobflow_remote:
      project: anodefree             # a project defined with `jf project` (~/.jfremote)
    resources: resources.yaml        # per-job-type policy; default: default_policy()

or, for FireWorks, a ``fireworks:`` section with the fields of
:class:`~anodefree.workflows.execution.fireworks.FireWorksSettings`. See
``examples/queue/queue_jobflow_remote.yaml`` and ``examples/queue/queue_fireworks.yaml``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from anodefree.errors import ConfigError
from anodefree.workflows.execution.fireworks import FireWorksSettings
from anodefree.workflows.execution.resources import ResourcePolicy, default_policy

if TYPE_CHECKING:
    from collections.abc import Iterable

    from jobflow import Flow, Job, JobStore


class JobflowRemoteChoice(BaseModel):
    """Which jobflow-remote project to submit to."""

    model_config = ConfigDict(extra="forbid")

    project: str | None = Field(
        None, description="Project name (~/.jfremote/<file>.yaml); None: jobflow-remote's default."
    )


class QueueSettings(BaseModel):
    """The queue section of anodefree's configuration."""

    model_config = ConfigDict(extra="forbid")

    backend: Literal["jobflow-remote", "fireworks"] = Field(description="Workflow manager.")
    jobflow_remote: JobflowRemoteChoice = Field(default_factory=JobflowRemoteChoice)
    fireworks: FireWorksSettings | None = Field(
        None, description="LaunchPad and workers (backend fireworks)."
    )
    resources: Path | None = Field(
        None, description="Resource policy file; None: calculations on 'batch', rest 'local'."
    )
    priority: int = Field(0, description="jobflow-remote priority of the submitted jobs.")

    @model_validator(mode="after")
    def _backend_configured(self) -> QueueSettings:
        if self.backend == "fireworks" and self.fireworks is None:
            raise ValueError("backend 'fireworks' needs a 'fireworks' section")
        return self

    @classmethod
    def from_file(cls, path: str | Path) -> QueueSettings:
        """Read queue settings from YAML; relative paths are relative to the file.

        Raises
        ------
        ConfigError
            If the file is missing or invalid (the message names the field).
        """
        path = Path(path).expanduser()
        if not path.is_file():
            raise ConfigError(f"queue settings file {str(path)!r} does not exist")
        data = yaml.safe_load(path.read_text()) or {}
        try:
            settings = cls.model_validate(data)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()
            )
            raise ConfigError(f"queue settings {str(path)!r}: {problems}") from exc
        if settings.resources is not None and not settings.resources.is_absolute():
            settings = settings.model_copy(update={"resources": path.parent / settings.resources})
        return settings

    def policy(self) -> ResourcePolicy:
        """Return the resource policy (from the file, or the default)."""
        return ResourcePolicy.from_file(self.resources) if self.resources else default_policy()


def submit(
    flows: Flow | Job | Iterable[Flow | Job],
    settings: QueueSettings,
    store: JobStore | None = None,
) -> list[Any]:
    """Send flows to the configured back end; return one submission record per flow.

    Parameters
    ----------
    flows
        The campaign's flows.
    settings
        Back end, its configuration and the resource policy.
    store
        The JobStore (FireWorks: serialised into each Firework; default:
        :func:`anodefree.workflows.stores.make_job_store`). jobflow-remote uses the
        project's own JobStore.

    Returns
    -------
    list
        :class:`~anodefree.workflows.execution.jobflow_remote.SubmittedFlow` or
        :class:`~anodefree.workflows.execution.fireworks.SubmittedWorkflow` records.
    """
    policy = settings.policy()
    if settings.backend == "jobflow-remote":
        from anodefree.workflows.execution import jobflow_remote as jfr

        project = jfr.load_project(settings.jobflow_remote.project)
        return jfr.submit_flows(flows, project, policy, priority=settings.priority)
    from anodefree.workflows.execution import fireworks as fwx
    from anodefree.workflows.stores import make_job_store

    fwx.write_config_files(settings.fireworks)
    return fwx.submit_flows(flows, settings.fireworks, store or make_job_store(), policy)


def status(settings: QueueSettings, ids: list[str] | None = None) -> list[Any]:
    """Return the state of every job, with the errors of failed ones.

    ``ids`` selects flows by uuid (jobflow-remote) or Fireworks by id (FireWorks).
    """
    if settings.backend == "jobflow-remote":
        from anodefree.workflows.execution import jobflow_remote as jfr

        return jfr.queue_report(jfr.load_project(settings.jobflow_remote.project), ids)
    from anodefree.workflows.execution import fireworks as fwx

    return fwx.fireworks_report(settings.fireworks, None if ids is None else map(int, ids))


def rerun(settings: QueueSettings, ids: list[str] | None = None) -> list[str]:
    """Rerun the failed jobs (of the given flows / Fireworks); finished jobs are kept."""
    if settings.backend == "jobflow-remote":
        from anodefree.workflows.execution import jobflow_remote as jfr

        return jfr.rerun_failed(jfr.load_project(settings.jobflow_remote.project), ids)
    from anodefree.workflows.execution import fireworks as fwx

    rerun_ids = fwx.rerun_failed(settings.fireworks, None if ids is None else map(int, ids))
    return [str(i) for i in rerun_ids]
