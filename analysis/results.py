"""Queries over the JobStore: runs, property documents and calculations.

Every query is a plain MongoDB filter, so the same code runs on the embedded montydb
store and on MongoDB. Documents are decoded back into their pydantic classes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from monty.json import MontyDecoder

from anodefree.analysis.documents.calculation import CalculationResult

if TYPE_CHECKING:
    from jobflow import JobStore
    from pydantic import BaseModel

#: Outputs of these modules are property documents.
DOCUMENT_MODULES = r"^anodefree\.analysis\.documents\."
#: jobflow stores a replaced job's output twice; the copy is named "store_inputs".
_NOT_COPIES = {"name": {"$ne": "store_inputs"}}


def _decode(output: Any) -> Any:
    return MontyDecoder().process_decoded(output) if isinstance(output, dict) else output


def list_runs(store: JobStore, campaign: str | None = None) -> list[dict[str, Any]]:
    """Return the runs in the store, newest first: campaign, run id, last job time.

    Parameters
    ----------
    store
        A connected JobStore.
    campaign
        Only runs of this campaign.
    """
    criteria: dict[str, Any] = {"metadata.run_id": {"$exists": True}}
    if campaign:
        criteria["metadata.campaign"] = campaign
    runs: dict[str, dict[str, Any]] = {}
    for doc in store.query(criteria, properties=["metadata", "completed_at"]):
        meta = doc.get("metadata", {})
        run = runs.setdefault(
            meta["run_id"],
            {"campaign": meta.get("campaign"), "run_id": meta["run_id"], "last": None, "jobs": 0},
        )
        run["jobs"] += 1
        completed = str(doc.get("completed_at") or "")
        run["last"] = max(run["last"] or "", completed)
    return sorted(runs.values(), key=lambda r: r["last"] or "", reverse=True)


def latest_run_id(store: JobStore, campaign: str) -> str | None:
    """Return the id of the most recent run of ``campaign`` (``None`` if none)."""
    runs = list_runs(store, campaign)
    return runs[0]["run_id"] if runs else None


def run_documents(store: JobStore, run_id: str) -> list[BaseModel]:
    """Return the property documents a run produced (not the single calculations)."""
    criteria = {
        "metadata.run_id": run_id,
        "output.@module": {"$regex": DOCUMENT_MODULES},
        "output.@class": {"$ne": "CalculationResult"},
        **_NOT_COPIES,
    }
    docs = store.query(
        criteria, properties=["output", "completed_at"], sort={"completed_at": 1}, load=True
    )
    return [_decode(doc["output"]) for doc in docs]


def run_calculations(store: JobStore, run_id: str) -> list[CalculationResult]:
    """Return every calculation result a run returned (computed or reused)."""
    return [result for _, result in run_calculations_by_stage(store, run_id)]


def run_calculations_by_stage(
    store: JobStore, run_id: str
) -> list[tuple[str | None, CalculationResult]]:
    """Return (campaign stage, result) for every calculation a run returned."""
    criteria = {"metadata.run_id": run_id, "output.@class": "CalculationResult", **_NOT_COPIES}
    docs = store.query(criteria, properties=["output", "metadata"], load=True)
    pairs = []
    for doc in docs:
        result = _decode(doc["output"])
        if isinstance(result, CalculationResult):
            pairs.append((doc.get("metadata", {}).get("stage"), result))
    return pairs
