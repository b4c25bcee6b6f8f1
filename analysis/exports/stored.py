"""Property documents in a results store, with the job and the run that produced them.

The export builders (:mod:`.kmc_builder`, :mod:`.continuum_builder`) need, besides a
document, the id of the job that returned it (a number derived inside a document job
carries that job's id) and the run it belongs to (exports are built from one run by
default). :func:`stored_documents` returns both, newest first, with plain MongoDB filters
that run on the embedded montydb store and on MongoDB alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from monty.json import MontyDecoder
from pydantic import BaseModel

from anodefree.errors import StoreError

if TYPE_CHECKING:
    from jobflow import JobStore

#: jobflow stores a replaced job's output twice; the copy is named "store_inputs".
_NOT_COPIES = {"name": {"$ne": "store_inputs"}}


@dataclass(frozen=True)
class StoredDocument:
    """A property document and where it came from."""

    document: Any
    job_uuid: str
    run_id: str | None
    campaign: str | None
    completed_at: str

    @property
    def fingerprint(self) -> str:
        """Calculator fingerprint of the document (``calculator.fingerprint``)."""
        return self.document.calculator.fingerprint


def _decode(output: Any, class_name: str) -> Any:
    if not isinstance(output, dict):
        return output
    decoded = MontyDecoder().process_decoded(output)
    if isinstance(decoded, BaseModel):
        return decoded
    msg = f"a stored {class_name} could not be decoded into its class"
    raise StoreError(msg)


def stored_documents(
    store: JobStore,
    class_name: str,
    *,
    run_id: str | None = None,
    criteria: dict[str, Any] | None = None,
) -> list[StoredDocument]:
    """Return the stored documents of one class, newest first.

    Parameters
    ----------
    store
        A connected JobStore.
    class_name
        Document class name, e.g. ``"InterfaceDefectDocument"``.
    run_id
        Only documents of this campaign run.
    criteria
        Further filters on the job documents (e.g. ``{"output.system": "Li/Li2S"}``).

    Returns
    -------
    list[StoredDocument]
        The documents with their job id, run id, campaign and completion time.
    """
    query: dict[str, Any] = {"output.@class": class_name, **_NOT_COPIES, **(criteria or {})}
    if run_id is not None:
        query["metadata.run_id"] = run_id
    docs = store.query(
        query,
        properties=["uuid", "output", "metadata", "completed_at"],
        sort={"completed_at": -1},
        load=True,
    )
    found = []
    for doc in docs:
        meta = doc.get("metadata") or {}
        found.append(
            StoredDocument(
                document=_decode(doc["output"], class_name),
                job_uuid=str(doc["uuid"]),
                run_id=meta.get("run_id"),
                campaign=meta.get("campaign"),
                completed_at=str(doc.get("completed_at") or ""),
            )
        )
    return found
