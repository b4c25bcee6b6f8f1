"""Tiny jobs that check a queue set-up end to end before a campaign is sent through it.

They run in milliseconds, need no calculator, and report where and how they ran (host,
scheduler job id, CPUs granted), so a user can see that a worker routes jobs to the
batch queue with the resources asked for. The test suite uses them as payloads.

They live in an importable module (not in a test file) because a batch job on another
process or node must be able to import the function it runs.
"""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime
from pathlib import Path

from jobflow import Flow, Response, job

#: Environment variables that batch schedulers set inside a job.
SCHEDULER_VARIABLES = (
    "SLURM_JOB_ID",
    "SLURM_CPUS_ON_NODE",
    "SLURM_JOB_CPUS_PER_NODE",
    "PBS_JOBID",
    "PBS_NP",
    "OMP_NUM_THREADS",
)


@job
def add(a: float, b: float, log_file: str | None = None) -> float:
    """Return ``a + b``; append one line to ``log_file`` (if given) each time it runs."""
    if log_file:
        with Path(log_file).open("a") as handle:
            handle.write(f"add {a} {b} {datetime.now(UTC).isoformat()}\n")
    return a + b


@job
def fail_once(value: float, marker: str) -> float:
    """Fail the first time (creating ``marker``), then return ``value``.

    Raises
    ------
    RuntimeError
        When ``marker`` does not exist yet (it is created before raising).
    """
    path = Path(marker)
    if not path.exists():
        path.write_text("failed once\n")
        raise RuntimeError(f"planned failure: marker {str(path)!r} did not exist")
    return value


@job
def where_am_i() -> dict[str, str | int | None]:
    """Return the host, process id, usable CPUs and the scheduler's job variables."""
    info: dict[str, str | int | None] = {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "usable_cpus": len(os.sched_getaffinity(0)),
    }
    info.update({name: os.environ.get(name) for name in SCHEDULER_VARIABLES})
    return info


@job
def spawn(names: list[str]) -> Response:
    """Replace itself by one :func:`where_am_i` job per name (a run-time generated flow)."""
    children = []
    for name in names:
        child = where_am_i()
        child.name = name
        children.append(child)
    return Response(replace=Flow(children, output=[c.output for c in children]))


def probe_flow(marker: str | None = None, log_file: str | None = None) -> Flow:
    """Return a small flow: ``where_am_i``, ``add(1, 2)`` and ``add(sum, 4)``.

    Parameters
    ----------
    marker
        If given, a :func:`fail_once` job sits between the two additions: the flow fails
        on its first run and completes when the failed job is rerun.
    log_file
        Passed to the additions, which log each run (to check that a rerun does not
        repeat finished work).
    """
    info = where_am_i()
    first = add(1, 2, log_file=log_file)
    first.name = "add first"
    jobs = [info, first]
    value = first.output
    if marker is not None:
        gate = fail_once(value, marker)
        jobs.append(gate)
        value = gate.output
    second = add(value, 4, log_file=log_file)
    second.name = "add second"
    jobs.append(second)
    return Flow(jobs, output=second.output, name="queue probe")
