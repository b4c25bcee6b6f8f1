"""IndexedMontyStore: the same answers and writes as maggma's MontyStore, without full scans."""

from __future__ import annotations

import copy
import datetime as dt
import json
import pickle
import sqlite3

import pytest
from bson import ObjectId
from jobflow import Flow, JobStore, job, run_locally
from maggma.stores import MontyStore
from monty.json import MontyDecoder
from montydb.storage.sqlite import SQLiteKVEngine

from anodefree.workflows import embedded_store
from anodefree.workflows.embedded_store import IndexedMontyStore

COLLECTION = "outputs"


def _doc(uuid, index, key=None, **extra):
    output = {"@class": "CalculationResult", "cache_key": key, "energy": -float(index)}
    output.update(extra.pop("output", {}))
    return {"uuid": uuid, "index": index, "output": output, **extra}


DOCS = [
    _doc("u1", 1, "k1", group=2),
    _doc("u1", 2, "k1", group=1),
    _doc("u1", 3, "k2", group=2),
    _doc("u2", 1, "k2", group=1),
    _doc("u2", 2, "k3", group=2, output={"@class": "Other"}),
    _doc("u3", 1, None, group=1),
    {"uuid": "u4", "index": 1, "output": None, "group": 3},
    {"uuid": "u5", "index": 1, "output": [{"cache_key": "k1"}, {"cache_key": "k9"}]},
    {"uuid": ["u1", "u6"], "index": 7, "output": {"cache_key": "k2"}, "group": 2},
    {"uuid": "u7", "index": 1, "output": {"cache_key": ["k3", "k4"]}},
    # Documents of a jobflow additional store, keyed by blob_uuid.
    {"blob_uuid": "b1", "data": [1, 2], "job_uuid": "u1", "job_index": 1},
    {"blob_uuid": ["b2", "b3"], "data": [3], "job_uuid": "u2", "job_index": 1},
    {"blob_uuid": "b1", "data": [4], "job_uuid": "u1", "job_index": 2},
    {"uuid": "u8", "index": 1, "output": {"cache_key": 5}, "group": 1},  # keep last
]

# Each query: criteria, properties, sort, skip and limit.
QUERIES = [
    ({"uuid": "u1"}, ["output"], {"index": -1}, 0, 0),
    ({"uuid": "u1"}, ["output"], {"index": 1}, 0, 0),
    ({"uuid": "u1", "index": 2}, ["output"], None, 0, 0),
    ({"uuid": "u1", "index": {"$gte": 2}}, None, None, 0, 0),
    ({"uuid": "u2"}, ["output.energy", "index"], {"index": -1}, 0, 1),
    ({"uuid": "u1"}, {"output.cache_key": 1, "_id": 0}, {"group": 1}, 0, 0),
    ({"uuid": "u1"}, {"output": 0}, {"group": -1}, 1, 0),
    ({"uuid": "u1"}, [], None, 0, 0),
    ({"uuid": "u1"}, None, {"group": 1}, 1, 2),
    ({"uuid": "u6"}, None, None, 0, 0),
    ({"uuid": "no-such-uuid"}, ["output"], {"index": -1}, 0, 0),
    ({"output.cache_key": "k1", "output.@class": "CalculationResult"}, ["output"], None, 0, 0),
    ({"output.cache_key": "k2"}, ["uuid", "index"], {"index": 1}, 1, 1),
    ({"output.cache_key": "k3"}, None, None, 0, 0),
    ({"output.cache_key": "k4"}, None, None, 0, 0),
    ({"output.cache_key": "k9"}, ["uuid"], None, 0, 0),
    ({"output.cache_key": "missing"}, ["output"], None, 0, 0),
    ({"output.cache_key": "k2", "output.@class": "CalculationResult"}, None, None, 0, 0),
    ({"uuid": "u1", "output.cache_key": "k2"}, None, None, 0, 0),
    ({"uuid": "u2", "$or": [{"index": 2}, {"group": 1}]}, ["index"], {"index": -1}, 0, 0),
    ({"uuid": "u1", "output.cache_key": {"$ne": "k1"}}, ["index"], None, 0, 0),
    ({"blob_uuid": "b1"}, ["data"], None, 0, 0),
    ({"blob_uuid": "b1"}, ["data", "job_index"], {"job_index": -1}, 0, 1),
    ({"blob_uuid": "b3"}, None, None, 0, 0),
    ({"blob_uuid": "missing"}, ["data"], None, 0, 0),
    # $in lists of strings (jobflow reads blobs this way).
    ({"blob_uuid": {"$in": ["b1", "b3", "missing"]}}, ["blob_uuid", "data"], None, 0, 0),
    ({"blob_uuid": {"$in": []}}, None, None, 0, 0),
    ({"uuid": {"$in": ["u2", "u6"]}}, ["index"], {"index": -1}, 0, 0),
    ({"uuid": {"$in": ["u3", "u7"]}, "index": 1}, None, None, 0, 0),
    ({"output.cache_key": {"$in": ["k1", "k4"]}}, ["uuid", "index"], {"index": 1}, 0, 0),
    ({"uuid": {"$in": ["u1"]}, "output.cache_key": {"$in": ["k2", "k3"]}}, None, None, 0, 0),
]


def _store(cls, path, collection=COLLECTION):
    store = cls(collection, database_path=str(path), database_name="db")
    store.connect()
    return store


def _seed(store, docs=DOCS):
    """Write ``docs`` one by one, in order, each under the key that identifies it."""
    for doc in copy.deepcopy(docs):
        store.update(doc, key=["uuid", "index"] if "uuid" in doc else ["blob_uuid", "job_index"])


@pytest.fixture
def stores(tmp_path):
    """An IndexedMontyStore and a plain MontyStore on the same collection file."""
    indexed = _store(IndexedMontyStore, tmp_path)
    plain = _store(MontyStore, tmp_path)
    _seed(plain)
    yield indexed, plain
    indexed.close()
    plain.close()


@pytest.fixture
def full_scans(monkeypatch):
    """Count montydb's whole-collection reads (the scans the index avoids)."""
    calls = []
    read_all = SQLiteKVEngine.read_all

    def counting(self, db_file, limit):
        calls.append(db_file)
        return read_all(self, db_file, limit)

    monkeypatch.setattr(SQLiteKVEngine, "read_all", counting)
    return calls


def _run(store, criteria, properties, sort, skip, limit):
    return list(
        store.query(
            criteria=copy.deepcopy(criteria),
            properties=copy.deepcopy(properties),
            sort=sort,
            skip=skip,
            limit=limit,
        )
    )


@pytest.mark.parametrize("query", QUERIES, ids=[repr(q[0]) for q in QUERIES])
def test_indexed_queries_equal_montystore(stores, full_scans, query):
    indexed, plain = stores
    expected = _run(plain, *query)
    full_scans.clear()
    got = _run(indexed, *query)
    assert full_scans == [], "the indexed query scanned the whole collection"
    # Same documents, same order, same fields in the same order.
    assert repr(got) == repr(expected)
    criteria, properties, sort = query[:3]
    assert repr(indexed.query_one(criteria, properties, sort)) == repr(
        plain.query_one(criteria, properties, sort)
    )


def test_expected_answers(stores):
    """Pin a few answers, so the equivalence test cannot pass with both stores wrong."""
    indexed, _ = stores
    latest = indexed.query_one({"uuid": "u1"}, properties=["output"], sort={"index": -1})
    assert set(latest) == {"_id", "output"}
    assert latest["output"] == {"cache_key": "k2"}  # index 7: uuid ["u1", "u6"]
    assert [d["index"] for d in indexed.query({"uuid": "u1"}, sort={"index": -1})] == [7, 3, 2, 1]
    hits = indexed.query({"output.cache_key": "k1", "output.@class": "CalculationResult"})
    assert sorted(d["index"] for d in hits) == [1, 2]
    assert indexed.query_one({"uuid": "no-such-uuid"}) is None


def test_other_queries_use_the_parent(stores, full_scans):
    indexed, plain = stores
    for criteria in (
        {"uuid": {"$in": ["u1", None]}},  # null matches a missing uuid
        {"uuid": {"$in": ["u1", ["u1", "u6"]]}},  # an array element matches a whole array
        {"uuid": {"$in": ["u1"], "$ne": "u2"}},
        {"uuid": {"$nin": ["u1"]}},
        {"index": 1},
        {"output": {"cache_key": "k2"}},
        {"$and": [{"uuid": "u1"}]},
        {},
    ):
        full_scans.clear()
        got = list(indexed.query(criteria, sort={"index": 1}))
        assert full_scans, criteria
        assert repr(got) == repr(list(plain.query(criteria, sort={"index": 1})))
    assert indexed.count({"uuid": "u1"}) == plain.count({"uuid": "u1"}) == 4
    assert indexed.distinct("uuid") == plain.distinct("uuid")


def test_writes_are_seen_by_the_next_indexed_query(stores):
    indexed, plain = stores
    assert indexed.query_one({"uuid": "new"}) is None  # builds the index
    indexed.update(_doc("new", 1, "knew"), key=["uuid", "index"])
    assert indexed.query_one({"uuid": "new"})["output"]["cache_key"] == "knew"
    assert indexed.query_one({"output.cache_key": "knew"})["uuid"] == "new"
    # A write through another store object (another process would be the same).
    plain.update(_doc("other", 1, "kother"), key=["uuid", "index"])
    assert indexed.query_one({"output.cache_key": "kother"})["uuid"] == "other"
    assert indexed.query_one({"uuid": "other"}, ["index"])["index"] == 1


def test_update_in_place_returns_the_new_document(stores):
    indexed, _ = stores
    assert indexed.query_one({"uuid": "u2", "index": 1})["output"]["energy"] == -1.0
    indexed.update(_doc("u2", 1, "k2", output={"energy": -42.0}), key=["uuid", "index"])
    assert indexed.query_one({"uuid": "u2", "index": 1})["output"]["energy"] == -42.0
    assert indexed.count({"uuid": "u2"}) == 2


def test_removed_documents_are_not_returned(stores):
    indexed, _ = stores
    assert indexed.query_one({"uuid": "u3"}) is not None
    indexed.remove_docs({"uuid": "u3"})
    assert indexed.query_one({"uuid": "u3"}) is None
    k1 = {"output.cache_key": "k1", "output.@class": "CalculationResult"}
    assert [d["index"] for d in indexed.query(k1, ["index"])] == [1, 2]
    indexed.remove_docs({"uuid": "u1", "index": 1})
    assert [d["index"] for d in indexed.query(k1, ["index"])] == [2]


def test_reused_rowid_is_indexed(stores, tmp_path):
    """Deleting the last row then inserting gives the new row the same SQLite rowid."""
    indexed, plain = stores
    file = tmp_path / "db" / f"{COLLECTION}.collection"

    def last_rowid():
        with sqlite3.connect(file) as conn:
            return conn.execute("SELECT max(rowid) FROM documents").fetchone()[0]

    before = last_rowid()
    assert indexed.query_one({"uuid": "u8"})["index"] == 1  # index knows the last row
    plain.remove_docs({"uuid": "u8"})
    plain.update(_doc("replacement", 1, "kr"), key=["uuid", "index"])
    assert last_rowid() == before  # the situation under test really happened
    assert indexed.query_one({"uuid": "u8"}) is None
    assert indexed.query_one({"uuid": "replacement"})["output"]["cache_key"] == "kr"
    assert indexed.query_one({"output.cache_key": "kr"})["uuid"] == "replacement"


def test_empty_and_unconnected(tmp_path):
    store = IndexedMontyStore("empty", database_path=str(tmp_path), database_name="db")
    with pytest.raises(Exception, match="connect"):
        store.query_one({"uuid": "x"})
    store.connect()
    assert store.query_one({"uuid": "x"}) is None  # no collection file yet
    store.update({"uuid": "x", "index": 1}, key=["uuid", "index"])
    assert store.query_one({"uuid": "x"}, ["index"])["index"] == 1


def test_serialisation_round_trip(stores):
    indexed, _ = stores
    indexed.query_one({"uuid": "u1"})  # an index exists: it must not leak into the dict
    data = indexed.as_dict()
    assert data["@class"] == "IndexedMontyStore"
    assert data["@module"] == "anodefree.workflows.embedded_store"
    json.dumps(data)
    for clone in (
        IndexedMontyStore.from_dict(data),
        MontyDecoder().process_decoded(json.loads(json.dumps(data))),
        pickle.loads(pickle.dumps(indexed)),  # noqa: S301
        copy.deepcopy(indexed),
    ):
        assert type(clone) is IndexedMontyStore
        assert clone.as_dict() == data
        clone.connect(force_reset=True)
        assert clone.query_one({"uuid": "u1"}, ["index"], {"index": -1})["index"] == 7
        assert clone.query_one({"uuid": "u7"})["output"]["cache_key"] == ["k3", "k4"]
        clone.close()
    # The original's index still follows the file after its copies were used.
    indexed.remove_docs({"uuid": "u7"})
    assert indexed.query_one({"uuid": "u7"}) is None
    assert indexed.query_one({"output.cache_key": "k4"}) is None


@job
def _add(a, b):
    return a + b


@job(data="values")
def _values(n):
    return {"values": list(range(n)), "n": n}


@job
def _total(values, offset):
    return sum(values) + offset


def test_jobflow_round_trip(tmp_path, full_scans):
    def monty(collection):
        return IndexedMontyStore(collection, database_path=str(tmp_path), database_name="db")

    store = JobStore(monty(COLLECTION), additional_stores={"data": monty(f"{COLLECTION}_data")})
    first = _add(1, 2)
    second = _add(first.output, 10)
    values = _values(5)
    total = _total(values.output["values"], second.output)
    responses = run_locally(Flow([first, second, values, total]), store=store, ensure_success=True)
    # Writing and resolving the outputs read each collection whole only for its first
    # write, which creates the file through the parent's path; the blobs are read with a
    # {"blob_uuid": {"$in": [...]}} query, which the index answers.
    assert len([f for f in full_scans if f.endswith(f"/{COLLECTION}.collection")]) == 1
    full_scans.clear()
    assert responses[second.uuid][1].output == 13
    assert responses[total.uuid][1].output == 10 + 13
    store.connect()
    assert store.get_output(second.uuid) == 13
    assert store.get_output(total.uuid) == 23
    assert store.get_output(values.uuid, load=True)["values"] == [0, 1, 2, 3, 4]
    assert full_scans == [], "reading outputs and blobs scanned a whole collection"
    assert store.additional_stores["data"].count() == 1
    assert store.count() == 4
    # The same file read by a plain MontyStore agrees.
    plain = JobStore(
        _store(MontyStore, tmp_path),
        additional_stores={"data": _store(MontyStore, tmp_path, f"{COLLECTION}_data")},
    )
    assert plain.get_output(total.uuid) == 23


# --- update -------------------------------------------------------------------------------

# The seed of the update tests: DOCS with fixed ids, so that every stored row but those
# given a generated ObjectId can be compared byte for byte between two files.
SEED = [{"_id": f"id{i}", **doc} for i, doc in enumerate(DOCS)]

# Each case: documents passed to one update call, key, and whether the index serves it.
UPDATES = {
    "insert": (
        [_doc("n1", 1, "kn1", when=dt.datetime(2024, 5, 1, tzinfo=dt.UTC))],
        ["uuid", "index"],
        True,
    ),
    "insert-string-key": ([_doc("n1", 1, "kn1")], "uuid", True),
    "insert-list": (
        [_doc("n1", 1, "kn1"), _doc("n2", 1, "kn2"), _doc("n1", 1, "kn1b"), _doc("n1", 2)],
        ["uuid", "index"],
        True,
    ),
    "insert-explicit-id": ([{"_id": "fixed", "uuid": "n1", "index": 1}], ["uuid", "index"], True),
    "insert-dotted-and-dollar-keys": (
        [{"uuid": "n1", "index": 1, "output": {"a.b": 1, "$c": (2, 3)}}],
        ["uuid", "index"],
        True,
    ),
    "replace": ([_doc("u2", 1, "k2", output={"energy": -42.0})], ["uuid", "index"], True),
    "replace-list": (
        [_doc("u2", 1, "k2", x=1), _doc("n1", 1), _doc("u2", 1, "k2", x=2), _doc("u1", 3, "k5")],
        ["uuid", "index"],
        True,
    ),
    "replace-first-of-several": ([_doc("u1", 9, "k9")], "uuid", True),
    "replace-array-match": ([{"uuid": "u6", "index": 0}], "uuid", True),
    "replace-blob": (
        [{"blob_uuid": "b1", "data": [9]}, {"blob_uuid": "b3", "data": []}, {"blob_uuid": "bn"}],
        "blob_uuid",
        True,
    ),
    "key-not-indexed-replace": ([_doc("u9", 2, "kx", group=2)], ["index", "group"], False),
    "key-not-indexed-insert": ([_doc("u9", 5, "kx", group=9)], "group", False),
    "uuid-not-a-string": ([{"uuid": 5, "index": 1}], ["uuid", "index"], False),
    "operator-in-search": ([{"uuid": "u1", "index": {"$gte": 2}}], ["uuid", "index"], False),
}


def _rows(directory, collection=COLLECTION):
    file = directory / "db" / f"{collection}.collection"
    with sqlite3.connect(file) as conn:
        return conn.execute("SELECT rowid, k, v FROM documents ORDER BY rowid").fetchall()


def _assert_same_collections(indexed_dir, parent_dir, collection=COLLECTION):
    """Assert both files hold the same rows, read back alike by a plain MontyStore.

    Rows whose ``_id`` was not generated must be byte-identical (same rowid, ``k`` and
    BSON ``v``); the others must hold the same document but for the ``_id``.
    """
    got = list(_store(MontyStore, indexed_dir, collection).query())
    expected = list(_store(MontyStore, parent_dir, collection).query())
    assert len(got) == len(expected)
    assert [repr({**d, "_id": None}) for d in got] == [repr({**d, "_id": None}) for d in expected]
    generated = 0
    for (rowid, k, v), (e_rowid, e_k, e_v), doc, e_doc in zip(
        _rows(indexed_dir, collection), _rows(parent_dir, collection), got, expected, strict=True
    ):
        assert rowid == e_rowid
        if isinstance(e_doc["_id"], ObjectId):
            assert isinstance(doc["_id"], ObjectId)
            assert doc["_id"] not in {d["_id"] for d in SEED}
            generated += 1
        else:
            assert (k, v) == (e_k, e_v)
    return got, generated


@pytest.fixture
def twin_dirs(tmp_path):
    """Two directories holding the same seeded collection, with the same ids."""
    dirs = tmp_path / "indexed", tmp_path / "parent"
    for directory in dirs:
        _seed(_store(MontyStore, directory), SEED)
    return dirs


@pytest.mark.parametrize("case", UPDATES)
def test_update_writes_what_montystore_writes(twin_dirs, full_scans, case):
    docs, key, fast = UPDATES[case]
    indexed_dir, parent_dir = twin_dirs
    indexed = _store(IndexedMontyStore, indexed_dir)
    indexed.query_one({"uuid": "u1"})  # an up-to-date index, as in a running campaign
    full_scans.clear()
    indexed.update(copy.deepcopy(docs), key=key)
    assert (full_scans == []) is fast, "the indexed path was (not) taken"
    _store(MontyStore, parent_dir).update(copy.deepcopy(docs), key=key)
    _assert_same_collections(indexed_dir, parent_dir)
    # The indexed store reads back what the plain store reads, through its index too.
    plain = _store(MontyStore, indexed_dir)
    for field, value in (
        [("uuid", v) for v in ("u1", "u2", "u6", "n1", "n2", "u9")]
        + [("output.cache_key", v) for v in ("k1", "k2", "k5", "k9", "kn1", "kn1b", "kx")]
        + [("blob_uuid", v) for v in ("b1", "b3", "bn")]
    ):
        full_scans.clear()
        got = list(indexed.query({field: value}))
        assert full_scans == []
        assert repr(got) == repr(list(plain.query({field: value})))


def test_update_cases_change_the_collection(twin_dirs):
    """Pin what the update cases do, so that both stores cannot agree on a wrong write."""
    indexed_dir, _ = twin_dirs
    store = _store(IndexedMontyStore, indexed_dir)
    ids = [d["_id"] for d in SEED]

    def state():
        return [(d["_id"], d.get("uuid"), d.get("index")) for d in store.query()]

    store.update(_doc("u1", 9, "k9"), key="uuid")  # the first u1 in table order
    assert state()[0] == ("id0", "u1", 9)
    store.update({"uuid": "u6", "index": 0}, key="uuid")  # matches uuid ["u1", "u6"]
    assert state()[8] == ("id8", "u6", 0)
    store.update([_doc("n1", 1, "a"), _doc("n1", 1, "b")], key=["uuid", "index"])
    assert len(state()) == len(SEED) + 1  # the second replaced the first
    new = store.query_one({"uuid": "n1"})
    assert isinstance(new["_id"], ObjectId)
    assert new["output"]["cache_key"] == "b"
    assert [i for i, *_ in state()][: len(SEED)] == ids  # replaced in place, ids kept
    store.update({"uuid": "n2", "output": {"x.y": 1}}, key="uuid")
    assert store.query_one({"uuid": "n2"})["output"] == {"x.y": 1}


def test_update_index_follows_rewritten_rows(twin_dirs):
    """A rewrite by this store that changes an indexed value is seen by the next query."""
    indexed_dir, _ = twin_dirs
    store = _store(IndexedMontyStore, indexed_dir)
    assert store.query_one({"output.cache_key": "k3"})["uuid"] == "u2"
    # Indexed update (key uuid, index): the cache key of u2/2 changes from k3 to k7.
    store.update(_doc("u2", 2, "k7"), key=["uuid", "index"])
    assert store.query_one({"output.cache_key": "k7"})["uuid"] == "u2"
    assert store.query_one({"output.cache_key": "k3"})["uuid"] == "u7"  # k3 in a list
    # Parent's update (key not indexed): insert a document, then rewrite it with a new
    # uuid and cache key.
    store.update({**_doc("u3b", 1, "k8"), "group": 1, "tag": "t"}, key=["tag"])
    assert store.query_one({"output.cache_key": "k8"})["tag"] == "t"  # inserted
    store.update({**_doc("u3c", 1, "k10"), "tag": "t"}, key=["tag"])  # rewrites that row
    assert store.query_one({"output.cache_key": "k10"})["uuid"] == "u3c"
    assert store.query_one({"uuid": "u3c"})["output"]["cache_key"] == "k10"
    assert store.query_one({"uuid": "u3b"}) is None
    assert store.query_one({"output.cache_key": "k8"}) is None


def test_update_of_an_unchanged_document_writes_nothing(twin_dirs, monkeypatch):
    writes = []
    update_one = SQLiteKVEngine.update_one

    def counting(self, db_file, params, wconcern=None):
        writes.append(db_file)
        return update_one(self, db_file, params, wconcern)

    monkeypatch.setattr(SQLiteKVEngine, "update_one", counting)
    for directory, cls in zip(twin_dirs, (IndexedMontyStore, MontyStore), strict=True):
        store = _store(cls, directory)
        before = _rows(directory)
        doc = store.query_one({"uuid": "u2", "index": 1})  # with its _id: equal, no write
        store.update(doc, key=["uuid", "index"])
        assert writes == []
        assert _rows(directory) == before
        store.update({**doc, "energy": 1}, key=["uuid", "index"])
        assert len(writes) == 1
        writes.clear()
    _assert_same_collections(*twin_dirs)


def test_update_insert_reads_only_the_new_rows(twin_dirs, full_scans, monkeypatch):
    """Inserting decodes no stored document: only the index reads the row it has not seen."""
    indexed_dir, parent_dir = twin_dirs
    store = _store(IndexedMontyStore, indexed_dir)
    decoded = []
    real_decode = embedded_store.monty_bson.document_decode

    def counting(value, **kwargs):
        decoded.append(value)
        return real_decode(value, **kwargs)

    monkeypatch.setattr(embedded_store.monty_bson, "document_decode", counting)
    # The only candidates of a new uuid or blob_uuid: the seed's rows holding an array.
    arrays = [r for r in _rows(indexed_dir) if b"u6" in r[2] or b"b3" in r[2]]
    for i in range(3):
        store.update(_doc(f"n{i}", 1, f"kn{i}"), key=["uuid", "index"])
        store.update({"blob_uuid": f"bn{i}", "data": [i]}, key="blob_uuid")
    assert full_scans == []
    assert sorted(decoded) == sorted(v for _, _, v in arrays for _ in range(3))
    decoded.clear()
    store.update(_doc("n1", 1, "again"), key=["uuid", "index"])
    assert full_scans == []
    assert len(decoded) == 2  # n1/1 and the array
    parent = _store(MontyStore, parent_dir)
    for i in range(3):
        parent.update(_doc(f"n{i}", 1, f"kn{i}"), key=["uuid", "index"])
        parent.update({"blob_uuid": f"bn{i}", "data": [i]}, key="blob_uuid")
    parent.update(_doc("n1", 1, "again"), key=["uuid", "index"])
    assert full_scans  # the parent reads the whole collection for each document
    _assert_same_collections(indexed_dir, parent_dir)


def test_update_keeps_montystore_checks(twin_dirs):
    indexed_dir, parent_dir = twin_dirs

    class Validator:
        strict = False

        def is_valid(self, doc):
            return doc.get("ok", True)

        def validation_errors(self, doc):
            return [f"invalid {doc['uuid']}"]

    outcomes = []
    for directory, cls in ((indexed_dir, IndexedMontyStore), (parent_dir, MontyStore)):
        store = _store(cls, directory)
        outcome = []
        store.validator = Validator()
        store.update([{"uuid": "n1", "index": 1, "ok": False}, _doc("n2", 1)], ["uuid", "index"])
        store.validator.strict = True
        for docs, key in (
            ([_doc("n3", 1), {"uuid": "n4", "index": 1, "ok": False}], ["uuid", "index"]),
            ([{"uuid": "n5"}], ["uuid", "index"]),  # no index field
            ([_doc("n5", 1, "k1")], ["output.cache_key"]),  # not a top-level field
            ([{"_id": "dup", "uuid": "n6"}, {"_id": "dup", "uuid": "n7"}], "uuid"),
            ([{"$set": 1, "uuid": "n8"}], "uuid"),
        ):
            with pytest.raises(Exception) as error:  # noqa: PT011
                store.update(docs, key=key)
            outcome.append((error.type, str(error.value)))
        outcomes.append(outcome)
        store.validator = None
        store.key = "uuid"
        store.update({"uuid": "n9", "index": 1})  # the store's key
        store.update({"uuid": "n9", "index": 2})
    assert outcomes[0] == outcomes[1]
    assert [t for t, _ in outcomes[0]][:2] == [ValueError, KeyError]
    _assert_same_collections(indexed_dir, parent_dir)


def test_update_first_write_and_unconnected(tmp_path):
    """No collection file yet: the parent creates it; an unconnected store fails alike."""
    store = IndexedMontyStore("fresh", database_path=str(tmp_path), database_name="db")
    with pytest.raises(Exception, match="connect"):
        store.update({"uuid": "x", "index": 1}, key=["uuid", "index"])
    store.connect()
    store.update({"uuid": "x", "index": 1}, key=["uuid", "index"])
    store.update({"uuid": "y", "index": 1}, key=["uuid", "index"])  # indexed insert
    plain = _store(MontyStore, tmp_path, "fresh")
    assert [d["uuid"] for d in plain.query()] == ["x", "y"]


def test_parent_update_is_still_the_one_copied():
    """IndexedMontyStore.update repeats MontyStore.update: revisit it if maggma changes it."""
    import inspect

    source = inspect.getsource(MontyStore.update)
    for line in (
        "d = jsanitize(d, allow_bson=True)",
        "validates = self.validator.is_valid(d)",
        "key = key or self.key",
        "search_doc = {k: d[k] for k in key} if isinstance(key, list) else {key: d[key]}",
        "self._collection.replace_one(search_doc, d, upsert=True)",
    ):
        assert line in source
    assert source.count("self._collection") == 1
