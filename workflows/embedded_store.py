"""An embedded (montydb/SQLite) store whose lookups and writes by ``uuid`` use an index.

Why this exists
---------------
maggma's ``MontyStore`` keeps each collection in an SQLite file with one table,
``documents(k, v)``: ``k`` the encoded ``_id``, ``v`` the BSON document. montydb has no
indexes, so every ``find`` reads and decodes *every* document of the collection in
Python before filtering, and so does every ``replace_one``: ``MontyStore.update`` calls
``replace_one(search, doc, upsert=True)`` once per document, so writing one job output
decodes the whole collection. A campaign resolves jobflow references (``{"uuid": ...}``),
looks up cached calculations (``{"output.cache_key": ...}``) and writes one document per
job (``JobStore.update``: key ``["uuid", "index"]`` in the docs store, ``"blob_uuid"`` in
the additional stores), and with a few hundred stored results of tens of MB each these
full scans dominate the run time.

:class:`IndexedMontyStore` keeps an in-memory index of the SQLite rows by the values at
:data:`INDEXED_PATHS` (``uuid``, ``output.cache_key``, ``blob_uuid``) and uses it

* for queries whose criteria hold a plain string equality on one of these paths, or an
  ``{"$in": [...]}`` list of strings (jobflow reads blobs with
  ``{"blob_uuid": {"$in": [...]}}``): only the rows the index names are decoded;
* for ``update`` when the search document built from the ``key`` fields is a plain
  equality (no operator) including a string value at one of these paths: only the rows
  the index names are decoded to find the document to replace, and a new document is
  inserted without reading any other.

Every other query and write is the parent's.

What it guarantees
------------------
* The index only narrows the candidate rows. The candidates are read fresh from the file
  and the *full* criteria are applied with montydb's own filter engine
  (``montydb.engine.queries.QueryFilter``); sorting, ``skip``/``limit`` and the
  ``properties`` projection go through montydb's ``ordering`` and ``Projector`` in the
  order ``MontyCursor`` uses, on the candidates in table order. An indexed query therefore
  returns the same documents, in the same order and with the same fields, as
  ``MontyStore.query``.
* An indexed ``update`` performs the parent's steps (``jsanitize``, validation, search
  document from ``key``) and then ``MontyCollection.replace_one(search, doc,
  upsert=True)``'s: the first matching document in table order (the order of montydb's
  scan) is rewritten by its ``_id`` with the storage's ``update_one`` unless it already
  equals ``doc``; without a match, ``doc`` gets a new ``ObjectId`` unless it has an
  ``_id`` and is inserted with the storage's ``write_one`` (without key checking, like
  the upsert, unlike ``insert_one``). The stored rows are the same as the parent's, up
  to the generated ``ObjectId``.
* Before each indexed query or update the index is brought up to date from the file
  itself, in the same read transaction as the candidate fetch: it lists the
  ``(rowid, k)`` pairs of the table (a scan of SQLite's primary-key index, no document is
  read), drops rows that were deleted and decodes only rows it has not seen. Rows
  inserted or deleted by this store object, another store object or another process are
  therefore never missed, including a rowid reused after a deletion. A row this store
  object rewrites is re-read (an indexed update forgets the row; a parent ``update`` that
  rewrote a row drops the whole index, which is rebuilt at the next indexed call).
* Limitation: a row rewritten in place (same ``_id``) by *another* store object or
  process is not re-indexed, so if that writer *changed* the ``uuid``,
  ``output.cache_key`` or ``blob_uuid`` of an existing document, this store would not
  find it by the new value (a search for the old value is filtered out exactly). jobflow
  and anodefree never do this: a document's ``uuid``, cache key and blob id are fixed
  when it is first written, and rewriting it (``update`` with the same ``uuid`` and
  ``index``) keeps them.
* Like the parent's, an update is not atomic: another process writing the same key
  between the search and the write can leave two documents with that key.

Anything the fast paths do not handle exactly as the parent (extra ``find`` keyword
arguments, an unusual ``skip``/``limit``, a search document with operators, a non-SQLite
montydb storage, a collection file that does not exist yet, an SQLite error) falls back to
``MontyStore.query`` or ``MontyCollection.replace_one``.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from maggma.core import Sort
from maggma.stores import MontyStore
from monty.json import jsanitize
from montydb.base import (
    _fields_list_to_dict,
    _index_document,
    validate_is_mapping,
    validate_ok_for_replace,
)
from montydb.engine.project import Projector
from montydb.engine.queries import QueryFilter, ordering
from montydb.storage.sqlite import SQLITE_DB_EXT, SQLITE_RECORD_TABLE, SQLiteStorage
from montydb.types import bson as monty_bson

if TYPE_CHECKING:
    from collections.abc import Callable

logger = logging.getLogger(__name__)

#: Dotted paths whose plain string equality conditions are answered from the index:
#: a job's ``uuid`` (jobflow's output documents), a calculation's cache key, and the
#: ``blob_uuid`` of the documents jobflow writes to its additional (``data``) stores.
INDEXED_PATHS = ("uuid", "output.cache_key", "blob_uuid")

#: Rows fetched per ``SELECT ... WHERE rowid IN (...)`` (below SQLite's variable limit).
_CHUNK = 500

#: Seconds an SQLite read waits for a lock (montydb's own ``busy_timeout`` is 5 s).
_SQLITE_TIMEOUT = 5.0

# One lock for every index of the process: queries are short, contention is irrelevant,
# and a module-level lock keeps the store instances picklable and deep-copyable.
_LOCK = threading.RLock()

# Sentinels for what a document holds at an indexed path.
_MISSING = object()  # absent, or a value that can never equal a string (number, null)
_ANY = object()  # an array or another value the index does not model: always a candidate


def _value_at(doc: Mapping[str, Any], path: str) -> Any:
    """Return the string at ``path`` in ``doc``, or :data:`_MISSING` or :data:`_ANY`.

    A montydb equality ``{path: "x"}`` matches a document only if the value at ``path``
    compares equal to ``"x"`` (a string), or, through arrays, an element does. Arrays
    anywhere on the path, and any value other than a string, a number, a boolean or
    null, make the document a candidate for every value (:data:`_ANY`).
    """
    value: Any = doc
    for part in path.split("."):
        if isinstance(value, list):
            return _ANY
        if not isinstance(value, Mapping):
            return _MISSING
        try:
            value = value[part]
        except KeyError:
            return _MISSING
    if isinstance(value, str):
        return value
    if value is None or isinstance(value, (bool, int, float)):
        return _MISSING
    return _ANY


class _RowIndex:
    """Index of one SQLite collection file: indexed path -> value -> rowids."""

    def __init__(self, path: Path, fields: tuple[str, ...]) -> None:
        self.path = path
        self.fields = fields
        self.row_keys: dict[int, bytes] = {}  # rowid -> k of every indexed row
        # rowid -> (field, value); value None: the row is in any_rows[field]
        self.row_values: dict[int, list[tuple[str, str | None]]] = {}
        self.postings: dict[str, dict[str, set[int]]] = {f: {} for f in fields}
        self.any_rows: dict[str, set[int]] = {f: set() for f in fields}

    def __reduce__(self) -> tuple:
        """Copy or pickle as an empty index: the copy rebuilds itself from the file."""
        return (type(self), (self.path, self.fields))

    def _drop(self, rowid: int) -> None:
        del self.row_keys[rowid]
        for field, value in self.row_values.pop(rowid):
            if value is None:
                self.any_rows[field].discard(rowid)
                continue
            rows = self.postings[field][value]
            rows.discard(rowid)
            if not rows:
                del self.postings[field][value]

    def forget(self, rowid: int) -> None:
        """Drop a row, if indexed, so that the next :meth:`sync` reads it again."""
        if rowid in self.row_keys:
            self._drop(rowid)

    def _add(self, rowid: int, k: bytes, doc: Mapping[str, Any]) -> None:
        entries = []
        for field in self.fields:
            value = _value_at(doc, field)
            if value is _MISSING:
                continue
            if value is _ANY:
                self.any_rows[field].add(rowid)
                entries.append((field, None))
            else:
                self.postings[field].setdefault(value, set()).add(rowid)
                entries.append((field, value))
        self.row_keys[rowid] = k
        self.row_values[rowid] = entries

    def sync(self, conn: sqlite3.Connection, decode: Callable[[bytes], Mapping]) -> int:
        """Bring the index up to date with the table; return the number of rows decoded."""
        table = SQLITE_RECORD_TABLE
        current = dict(conn.execute(f"SELECT rowid, k FROM [{table}]"))  # noqa: S608
        for rowid in [r for r, k in self.row_keys.items() if current.get(r) != k]:
            self._drop(rowid)
        new = [r for r in current if r not in self.row_keys]
        for start in range(0, len(new), _CHUNK):
            chunk = new[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            sql = f"SELECT rowid, k, v FROM [{table}] WHERE rowid IN ({marks})"  # noqa: S608
            for rowid, k, v in conn.execute(sql, chunk):
                self._add(rowid, k, decode(v))
        return len(new)

    def candidates(self, conditions: Mapping[str, tuple[str, ...]]) -> set[int]:
        """Rowids that may satisfy every condition ``field`` equals one of ``values``."""
        result: set[int] | None = None
        for field, values in conditions.items():
            postings = self.postings[field]
            rows = set(self.any_rows[field])
            for value in values:
                rows |= postings.get(value, set())
            result = rows if result is None else result & rows
        return result or set()


def _index_decoder() -> Callable[[bytes], Mapping]:
    """Return the cheapest decoder of a stored document that still reads its paths.

    With pymongo's BSON (maggma's default, ``use_bson=True``) a ``RawBSONDocument``
    parses only the levels that are accessed: the large nested parts of a job output
    (structures, bands) are never decoded. Without it montydb stores its own encoding,
    which only montydb's decoder reads.
    """
    if monty_bson.bson_used:
        from bson.raw_bson import RawBSONDocument

        return RawBSONDocument
    return monty_bson.document_decode


class IndexedMontyStore(MontyStore):
    """A ``MontyStore`` answering lookups and updates by ``uuid`` and co from an index.

    Same constructor arguments and serialisation (``as_dict``/``from_dict``) as maggma's
    ``MontyStore``. Queries whose criteria hold a plain string equality on one of
    :data:`INDEXED_PATHS`, and updates whose ``key`` fields include one with a string
    value, decode only the candidate documents; every other query and write is
    ``MontyStore``'s. See the module docstring for what is guaranteed.
    """

    def query(  # type: ignore[override]
        self,
        criteria: dict | None = None,
        properties: dict | list | None = None,
        sort: dict[str, Sort | int] | None = None,
        hint: dict[str, Sort | int] | None = None,
        skip: int = 0,
        limit: int = 0,
        **kwargs: Any,
    ) -> Iterator[dict]:
        """Query the store, through the index when the criteria allow it.

        Parameters
        ----------
        criteria
            PyMongo filter. A plain string value, or ``{"$in": [strings]}``, for
            ``uuid``, ``output.cache_key`` or ``blob_uuid`` selects the indexed path.
        properties
            Fields to return (list or projection dict), as for ``MontyStore``.
        sort
            Field -> 1 or -1 (or :class:`maggma.core.Sort`); the store's
            ``default_sort`` when omitted.
        hint
            Ignored by montydb; kept for the signature.
        skip, limit
            Number of documents to skip and to return (0: all).
        **kwargs
            Extra ``find`` arguments; any makes the query take the parent's path.

        Yields
        ------
        dict
            The matching documents, exactly as ``MontyStore.query`` yields them.
        """
        conditions = _indexed_conditions(criteria)
        docs = None
        if conditions and not kwargs and _plain_int(skip) and skip >= 0 and _plain_int(limit):
            docs = self._candidate_documents(conditions)
        if docs is None:
            yield from super().query(
                criteria=criteria,
                properties=properties,
                sort=sort,
                hint=hint,
                skip=skip,
                limit=limit,
                **kwargs,
            )
            return
        yield from self._run_query(docs, criteria or {}, properties, sort, skip, limit)

    def update(self, docs: list[dict] | dict, key: list | str | None = None) -> None:
        """Insert or replace documents, finding existing ones through the index.

        The same steps as ``MontyStore.update``: each document is sanitised
        (``jsanitize(doc, allow_bson=True)``), validated by the store's ``validator``
        if any, and stored with ``replace_one(search, doc, upsert=True)`` where
        ``search`` holds the document's values of the ``key`` fields. When ``search`` is
        a plain equality including a string ``uuid``, ``output.cache_key`` or
        ``blob_uuid``, :meth:`_replace_one` does that ``replace_one`` from the index.

        Parameters
        ----------
        docs
            The document or list of documents to store.
        key
            Field name or list of field names identifying a document; the store's
            ``key`` when omitted.

        Raises
        ------
        ValueError
            When the store's validator is strict and rejects a document.
        KeyError
            When a document lacks a ``key`` field.
        """
        # maggma.stores.MontyStore.update (maggma 0.77), but for the replace_one call.
        if not isinstance(docs, list):
            docs = [docs]
        for raw in docs:
            doc = jsanitize(raw, allow_bson=True)
            validates = True
            if self.validator:
                validates = self.validator.is_valid(doc)
                if not validates:
                    if self.validator.strict:
                        raise ValueError(self.validator.validation_errors(doc))
                    self.logger.error(self.validator.validation_errors(doc))
            if validates:
                key = key or self.key
                search = {k: doc[k] for k in key} if isinstance(key, list) else {key: doc[key]}
                self._replace_one(search, doc)

    def _replace_one(self, search: dict, doc: dict) -> None:
        """``replace_one(search, doc, upsert=True)`` without a whole-collection read.

        montydb's ``MontyCollection.replace_one`` decodes every document of the collection
        to find the first (in table order) matching ``search``; it then rewrites that row
        by its ``_id`` (unless it already equals ``doc``) or, when none matches, gives
        ``doc`` a new ``ObjectId`` if it has no ``_id`` and inserts it. Here the index
        names the candidate rows, montydb's filter picks the first match among them in
        rowid order, and the same storage calls do the write. Searches the index does not
        cover take the parent's ``replace_one``.
        """
        conditions = _indexed_conditions(search) if _plain_equality(search) else {}
        found = self._candidate_rows(conditions) if conditions else None
        coll = self._collection
        if found is None:
            result = coll.replace_one(search, doc, upsert=True)
            if result.modified_count:
                # A row rewritten in place is not re-indexed by sync: rebuild the index.
                with _LOCK:
                    self._row_index = None
            return
        index, rows = found
        # montydb.collection.MontyCollection.replace_one, with the scan restricted to the
        # candidates (any other row fails the indexed equality, hence the filter).
        validate_is_mapping("filter", search)
        validate_ok_for_replace(doc)
        queryfilter = QueryFilter(search)
        codec_options = coll.codec_options
        storage = coll._storage  # noqa: SLF001
        for rowid, v in rows:
            current = monty_bson.document_decode(v, codec_options=codec_options)
            if queryfilter(current):
                if current != doc:
                    doc["_id"] = current["_id"]
                    storage.update_one(coll, doc)
                    with _LOCK:
                        # Re-read this row at the next sync: its indexed values may differ.
                        index.forget(rowid)
                return
        if "_id" not in doc:
            doc["_id"] = monty_bson.ObjectId()
        # Not insert_one: that checks keys ('.', '$'), which the parent's upsert does not.
        storage.write_one(coll, doc, check_keys=False)

    def _sqlite_file(self) -> Path | None:
        """Return the collection's SQLite file, or None if the storage is not SQLite."""
        coll = self._collection  # raises the parent's error when not connected
        storage = coll.database.client._storage  # noqa: SLF001
        if not isinstance(storage, SQLiteStorage):
            return None
        return Path(storage.repository, coll.database.name, coll.name + SQLITE_DB_EXT).absolute()

    def _candidate_documents(self, conditions: dict[str, tuple[str, ...]]) -> list[dict] | None:
        """Decode the rows the index names, in table order; None to use the parent."""
        found = self._candidate_rows(conditions)
        if found is None:
            return None
        codec_options = self._collection.codec_options
        return [monty_bson.document_decode(v, codec_options=codec_options) for _, v in found[1]]

    def _candidate_rows(
        self, conditions: dict[str, tuple[str, ...]]
    ) -> tuple[_RowIndex, list[tuple[int, bytes]]] | None:
        """Return the index and the ``(rowid, v)`` rows it names, in rowid order.

        Returns None, to take the parent's path, when the storage is not SQLite, the
        collection file does not exist yet or SQLite fails.
        """
        path = self._sqlite_file()
        if path is None or not path.is_file():
            return None
        decode_index = _index_decoder()
        with _LOCK:
            index = getattr(self, "_row_index", None)
            if index is None or index.path != path:
                index = _RowIndex(path, INDEXED_PATHS)
                self._row_index = index
            try:
                # Read-only: this connection can never write or change the journal mode.
                uri = f"{path.as_uri()}?mode=ro"
                conn = sqlite3.connect(uri, uri=True, timeout=_SQLITE_TIMEOUT)
            except sqlite3.Error as exc:
                logger.debug("indexed read of %s unavailable (%s): full scan", path, exc)
                return None
            try:
                conn.execute("BEGIN")  # one snapshot for the index update and the fetch
                decoded = index.sync(conn, decode_index)
                rowids = sorted(index.candidates(conditions))
                rows: list[tuple[int, bytes]] = []
                for start in range(0, len(rowids), _CHUNK):
                    chunk = rowids[start : start + _CHUNK]
                    marks = ",".join("?" * len(chunk))
                    sql = (
                        f"SELECT rowid, v FROM [{SQLITE_RECORD_TABLE}] "  # noqa: S608
                        f"WHERE rowid IN ({marks})"
                    )
                    rows.extend(conn.execute(sql, chunk))
            except sqlite3.Error as exc:
                # The parent's scan is always correct; never lose a query to the index.
                logger.warning("indexed read of %s failed (%s): full scan", path, exc)
                self._row_index = None
                return None
            finally:
                conn.close()
        if decoded:
            logger.debug("indexed %d new rows of %s", decoded, path)
        rows.sort()  # table (rowid) order, the order of the parent's scan
        return index, rows

    def _run_query(
        self,
        docs: list[dict],
        criteria: dict,
        properties: dict | list | None,
        sort: dict[str, Sort | int] | None,
        skip: int,
        limit: int,
    ) -> Iterator[dict]:
        """Filter, sort, slice and project ``docs`` as ``MontyStore.query`` does."""
        projection, order = self._find_arguments(properties, sort)
        # montydb.cursor.MontyCursor.__query: the same steps in the same order.
        queryfilter = QueryFilter(criteria)
        projector = Projector(projection, queryfilter) if projection else None
        fieldwalkers = [queryfilter.fieldwalker for doc in docs if queryfilter(doc)]
        if order:
            fieldwalkers = ordering(fieldwalkers, order)
        if skip and not limit:
            fieldwalkers = fieldwalkers[skip:]
        elif limit:
            fieldwalkers = fieldwalkers[skip : skip + abs(limit)]
        if projector:
            for fieldwalker in fieldwalkers:
                projector(fieldwalker)
        for fieldwalker in fieldwalkers:
            yield fieldwalker.doc

    def _find_arguments(
        self, properties: dict | list | None, sort: dict[str, Sort | int] | None
    ) -> tuple[dict | None, dict | None]:
        """Return the projection and ordering ``MontyCursor`` builds for this query."""
        # maggma.stores.MongoStore.query: properties and sort as it passes them to find.
        if isinstance(properties, list):
            properties = dict.fromkeys(properties, 1)
        sort = sort or self.default_sort
        sort_list = (
            [(k, Sort(v).value) if isinstance(v, int) else (k, v.value) for k, v in sort.items()]
            if sort
            else None
        )
        # montydb.cursor.MontyCursor.__init__.
        projection = properties
        if projection is not None:
            if not projection:
                projection = {"_id": 1}
            projection = _fields_list_to_dict(projection, "projection")
        order = (sort_list and _index_document(sort_list)) or None
        return projection, order


def _plain_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _plain_equality(search: Mapping[str, Any]) -> bool:
    """Return True if montydb reads ``search`` as equalities only (no operator)."""
    for field, value in search.items():
        if not isinstance(field, str) or field.startswith("$"):
            return False
        if isinstance(value, Mapping) and any(str(k).startswith("$") for k in value):
            return False
    return True


def _indexed_conditions(criteria: Mapping[str, Any] | None) -> dict[str, tuple[str, ...]]:
    """Return the conditions of ``criteria`` on indexed paths the index can answer.

    A plain string ``"x"`` gives ``("x",)``; ``{"$in": [...]}`` whose elements are all plain
    strings (no regular expression, null or nested list, which montydb matches otherwise)
    gives the tuple of them. Anything else on an indexed path is left to the filter.
    """
    if not isinstance(criteria, Mapping):
        return {}
    conditions = {}
    for field in INDEXED_PATHS:
        if field not in criteria:
            continue
        value = criteria[field]
        if type(value) is str:
            conditions[field] = (value,)
        elif (
            isinstance(value, Mapping)
            and list(value) == ["$in"]
            and isinstance(value["$in"], list)
            and all(type(item) is str for item in value["$in"])
        ):
            conditions[field] = tuple(value["$in"])
    return conditions
