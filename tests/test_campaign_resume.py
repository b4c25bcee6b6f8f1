"""Campaign runs: summary counts, reuse on re-run, and resume after a hard kill."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from anodefree.analysis.results import latest_run_id, run_calculations, run_documents
from anodefree.config import config_from_dict
from anodefree.workflows.campaign import build_campaign, run_campaign
from anodefree.workflows.stores import make_job_store

if TYPE_CHECKING:
    from pathlib import Path

SMALL = {
    "name": "small",
    "engine": {"name": "morse"},
    "relax": {"fmax": 0.005},
    "bulk": {"phases": ["Li", "Ag"]},
    "bulk_vacancy": {"repetitions": [2, 3]},
    "solute_vacancy": {"solutes": ["Mg", "Ag"], "repetitions": 3, "shells": [1, 2, 3]},
    "hull": None,
    "surfaces": None,
    "adhesion": None,
}
# 2 bulk + 4 size-series + per solute (perfect, pure vacancy, solute cell, 3 shells) = 18
PLANNED = 2 + 4 + 2 * 6
# the 3x3x3 perfect and vacancy cells of the solute series equal those of the size series
UNIQUE = PLANNED - 2 * 2


def _numbers(documents) -> dict[str, float]:
    """Every energy-like number in the documents, keyed by document and field path."""
    out: dict[str, float] = {}

    def walk(prefix: str, value: object) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}.{k}", v)
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(f"{prefix}[{i}]", v)
        elif isinstance(value, float):
            out[prefix] = value

    for doc in documents:
        walk(
            type(doc).__name__ + getattr(doc, "solute", ""), doc.model_dump(exclude={"calculator"})
        )
    return out


def _config(tmp_path: Path, **changes):
    data = {**SMALL, "store": {"backend": "embedded", "path": str(tmp_path / "store")}, **changes}
    return config_from_dict(data)


def test_plan_counts_the_calculations():
    plan = build_campaign(config_from_dict(SMALL))
    assert plan.planned_calculations == PLANNED
    assert plan.stages == {"bulk": 2, "bulk vacancy": 4, "solute-vacancy": 12}


def test_rerun_reuses_everything_and_gives_identical_numbers(tmp_path):
    config = _config(tmp_path)
    first = run_campaign(config)
    assert first.completed
    assert (first.computed, first.reused) == (UNIQUE, PLANNED - UNIQUE)
    second = run_campaign(config)
    assert (second.computed, second.reused) == (0, PLANNED)
    store = make_job_store(config.store)
    store.connect()
    assert latest_run_id(store, "small") == second.run_id
    assert _numbers(run_documents(store, first.run_id)) == _numbers(
        run_documents(store, second.run_id)
    )
    assert len(run_calculations(store, second.run_id)) == PLANNED


@pytest.mark.slow
def test_killed_run_resumes_without_recomputing(tmp_path):
    config_file = tmp_path / "campaign.yaml"
    store_dir = tmp_path / "killed-store"
    import yaml

    config_file.write_text(
        yaml.safe_dump({**SMALL, "store": {"backend": "embedded", "path": str(store_dir)}})
    )
    command = [
        sys.executable,
        "-m",
        "anodefree.cli",
        "run",
        str(config_file),
        "--no-progress",
        "-v",
    ]
    process = subprocess.Popen(  # noqa: S603 (fixed argument list, no shell)
        command, stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=os.environ
    )
    computed = 0
    for line in process.stderr:
        if " computed " in line:
            computed += 1
        if computed == 5:
            process.send_signal(signal.SIGKILL)
            break
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL
    assert not (tmp_path / "report" / "report.json").exists()

    resumed = run_campaign(
        config_from_dict({**SMALL, "store": {"backend": "embedded", "path": str(store_dir)}})
    )
    assert resumed.completed
    # A calculation logs "computed" just before jobflow stores it, so at least the first
    # four of the five logged ones were in the store when the process died.
    assert resumed.reused >= 4 + (PLANNED - UNIQUE)
    assert resumed.computed + resumed.reused == PLANNED
    assert resumed.computed < UNIQUE

    # An uninterrupted run in a fresh store gives the same numbers.
    clean = run_campaign(_config(tmp_path / "clean"))
    killed_store = make_job_store(
        config_from_dict({**SMALL, "store": {"backend": "embedded", "path": str(store_dir)}}).store
    )
    killed_store.connect()
    clean_store = make_job_store(_config(tmp_path / "clean").store)
    clean_store.connect()
    assert _numbers(run_documents(killed_store, resumed.run_id)) == _numbers(
        run_documents(clean_store, clean.run_id)
    )


def test_unconverged_calculations_are_counted_and_flagged(tmp_path):
    config = _config(tmp_path, relax={"fmax": 1e-6, "max_steps": 2})
    run = run_campaign(config)
    assert run.unconverged
    store = make_job_store(config.store)
    store.connect()
    docs = {type(d).__name__: d for d in run_documents(store, run.run_id)}
    assert docs["BulkVacancyDocument"].warnings
    assert not any(s.converged for s in docs["BulkVacancyDocument"].sizes)
