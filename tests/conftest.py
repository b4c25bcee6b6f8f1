"""Shared fixtures: isolated settings, stores and the cheap toy engine."""

from __future__ import annotations

import logging
import os
import warnings

import pytest

# Keep tests independent of the developer's own settings and MongoDB.
os.environ["ANODEFREE_SETTINGS"] = os.devnull + ".absent"
os.environ.pop("ANODEFREE_MONGODB_URI", None)
# A fixed thread count for torch and numba makes timings and numbers reproducible.
os.environ.setdefault("OMP_NUM_THREADS", "2")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

warnings.filterwarnings("ignore", category=DeprecationWarning)
logging.getLogger("jobflow").setLevel(logging.ERROR)


@pytest.fixture(autouse=True)
def _isolated_data_dir(tmp_path, monkeypatch):
    """Every test gets its own data folder (embedded store, run folders)."""
    monkeypatch.setenv("ANODEFREE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def morse():
    """The toy pair-potential engine (milliseconds per calculation)."""
    from anodefree.workflows.engines.registry import get_engine

    return get_engine("morse")


@pytest.fixture
def memory_store():
    """A connected in-memory JobStore."""
    from anodefree.workflows.stores import StoreSettings, make_job_store

    store = make_job_store(StoreSettings(backend="memory"))
    store.connect()
    return store


@pytest.fixture
def embedded_store(tmp_path):
    """A connected embedded (montydb) JobStore in a temporary folder."""
    from anodefree.workflows.stores import StoreSettings, make_job_store

    store = make_job_store(StoreSettings(backend="embedded", path=tmp_path / "store"))
    store.connect()
    return store


def mongomock_copy(embedded):
    """A JobStore on SecretMongoStore (mongomock driver) holding copies of every document
    of ``embedded``: the same queries must give the same tables on both."""
    import mongomock
    from jobflow import JobStore

    from anodefree.workflows.stores import SecretMongoStore

    client = mongomock.MongoClient()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ANODEFREE_MONGODB_URI", "mongodb://user:pw@mock.example:27017")
        patch.setattr("maggma.stores.mongolike.MongoClient", lambda *_, **__: client)
        store = JobStore(SecretMongoStore("anodefree", "outputs"))
        store.connect()
    docs = []
    for doc in embedded.docs_store.query({}):
        doc.pop("_id", None)
        docs.append(doc)
    store.docs_store.update(docs, key=["uuid", "index"])
    assert store.docs_store.count() == embedded.docs_store.count() > 0
    return store
