"""The JobStore factory: an embedded on-disk store by default, MongoDB when configured.

=========  ====================================================================
backend    what it is
=========  ====================================================================
embedded   :class:`~anodefree.workflows.embedded_store.IndexedMontyStore` (maggma's
           ``MontyStore``, montydb on SQLite, with indexed lookups) under a data folder
mongodb    MongoDB through :class:`SecretMongoStore` (URI from the environment or
           the settings file, never serialised or logged)
memory     maggma ``MemoryStore`` (tests)
auto       ``mongodb`` if a URI is configured, else ``embedded``
=========  ====================================================================

Every backend is a jobflow ``JobStore`` with a ``data`` additional store for large
objects (atomate2 puts trajectories there).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Literal

from jobflow import JobStore
from maggma.stores import GridFSStore, MemoryStore, MongoStore
from pydantic import BaseModel, ConfigDict, Field

from anodefree.errors import StoreError
from anodefree.settings import URI_ENV, Settings, load_settings, redact_uri
from anodefree.workflows.embedded_store import IndexedMontyStore

logger = logging.getLogger(__name__)

#: Fields the queries of anodefree filter on; declared as indexes on MongoDB.
INDEXED_FIELDS = (
    "uuid",
    "output.cache_key",
    "output.@class",
    "output.system",
    "output.calculator.engine",
    "metadata.campaign",
    "metadata.run_id",
    "output.calculator.version",
    "output.calculator.model",
    "output.label",
    "completed_at",
)


class StoreSettings(BaseModel):
    """Where a campaign keeps its results."""

    model_config = ConfigDict(extra="forbid")

    backend: Literal["auto", "embedded", "mongodb", "memory"] = Field(
        "auto", description="auto: MongoDB if a URI is configured, else embedded."
    )
    path: Path | None = Field(
        None, description="Folder of the embedded store (default: the settings' data_dir)."
    )
    database: str | None = Field(None, description="Database name (default from settings).")
    collection: str = Field("outputs", description="Collection of job documents.")


class _SecretURIMixin:
    """Resolve a MongoDB URI from the environment or settings file at connect time."""

    uri_env: str

    def _resolve_uri(self) -> str:
        uri = os.environ.get(self.uri_env)
        if not uri:
            secret = load_settings().mongodb_uri
            uri = secret.get_secret_value() if secret else None
        if not uri:
            msg = f"no MongoDB URI: set ${self.uri_env} or mongodb_uri in the settings file"
            raise StoreError(msg)
        return uri

    @property
    def name(self) -> str:
        """Redacted name: the URI without its password."""
        try:
            uri = redact_uri(self._resolve_uri())
        except StoreError:
            uri = f"${self.uri_env}"
        return f"{uri}/{self.database}/{self.collection_name}"  # type: ignore[attr-defined]


class SecretMongoStore(_SecretURIMixin, MongoStore):
    """A ``MongoStore`` whose URI is read from the environment, not stored.

    Serialising this store (for FireWorks or jobflow-remote) records only the name of
    the environment variable, so credentials never reach a document or a log.
    """

    def __init__(
        self,
        database: str,
        collection_name: str,
        uri_env: str = URI_ENV,
        **kwargs: Any,
    ) -> None:
        self.uri_env = uri_env
        kwargs.pop("uri", None)
        super().__init__(database=database, collection_name=collection_name, **kwargs)

    def connect(self, force_reset: bool = False) -> None:
        """Connect with the URI resolved now."""
        self.uri = self._resolve_uri()
        try:
            super().connect(force_reset=force_reset)
        finally:
            self.uri = None  # keep it out of as_dict()/name


class SecretGridFSStore(_SecretURIMixin, GridFSStore):
    """A ``GridFSStore`` (large data) whose URI is read from the environment."""

    def __init__(
        self,
        database: str,
        collection_name: str,
        uri_env: str = URI_ENV,
        **kwargs: Any,
    ) -> None:
        self.uri_env = uri_env
        kwargs.pop("uri", None)
        super().__init__(database=database, collection_name=collection_name, **kwargs)

    def connect(self, force_reset: bool = False) -> None:
        """Connect with the URI resolved now."""
        self.uri = self._resolve_uri()
        try:
            super().connect(force_reset=force_reset)
        finally:
            self.uri = None


def resolve_backend(store: StoreSettings, settings: Settings) -> str:
    """Return the concrete backend (``auto`` becomes ``mongodb`` or ``embedded``)."""
    if store.backend != "auto":
        return store.backend
    return "mongodb" if settings.mongodb_uri or os.environ.get(URI_ENV) else "embedded"


def make_job_store(
    store: StoreSettings | None = None, settings: Settings | None = None
) -> JobStore:
    """Build the JobStore a campaign runs against.

    Parameters
    ----------
    store
        The campaign's store section (default: ``auto``).
    settings
        Machine settings (default: :func:`~anodefree.settings.load_settings`).

    Returns
    -------
    JobStore
        Not yet connected; jobflow connects it when running.
    """
    store = store or StoreSettings()
    settings = settings or load_settings()
    backend = resolve_backend(store, settings)
    if backend == "memory":
        return JobStore(MemoryStore(store.collection), additional_stores={"data": MemoryStore()})
    if backend == "embedded":
        path = Path(store.path or settings.data_dir).expanduser().resolve()
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the data folder {str(path)!r}: {exc}") from exc
        database = store.database or "anodefree"
        logger.info("embedded store at %s", path)

        def monty(collection: str) -> IndexedMontyStore:
            return IndexedMontyStore(
                collection,
                database_path=str(path),
                database_name=database,
                storage="sqlite",
            )

        return JobStore(
            monty(store.collection),
            additional_stores={"data": monty(f"{store.collection}_data")},
        )
    database = store.database or settings.mongodb_database
    docs = SecretMongoStore(database, store.collection)
    logger.info("MongoDB store %s", docs.name)
    return JobStore(
        docs, additional_stores={"data": SecretGridFSStore(database, f"{store.collection}_data")}
    )


def ensure_indexes(job_store: JobStore) -> None:
    """Declare the indexes of the fields anodefree queries (no-op where unsupported)."""
    for field in INDEXED_FIELDS:
        try:
            job_store.docs_store.ensure_index(field)
        except (NotImplementedError, AttributeError, TypeError):  # montydb has no indexes
            return
