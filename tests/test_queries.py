"""Queries over the JobStore: tidy tables, filters, and identical results on both back ends.

One small toy-potential campaign (run twice: the second run reuses every calculation) and
a one-calculation campaign with another cutoff fill an embedded (montydb) store; its
documents are copied into a MongoDB store whose driver is mongomock. Every query must give
identical tables on both, and the numbers of the property tables must equal those
recomputed here from the stored single calculations.
"""

from __future__ import annotations

import warnings
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest
from conftest import mongomock_copy

from anodefree.analysis import queries
from anodefree.config import config_from_dict
from anodefree.errors import ConfigError
from anodefree.workflows.campaign import run_campaign
from anodefree.workflows.stores import SecretMongoStore, StoreSettings, make_job_store

CAMPAIGN = {
    "name": "query-test",
    "engine": {"name": "morse"},
    "relax": {"fmax": 0.01},
    "bulk": {"phases": ["Li", "Mg"]},
    "bulk_vacancy": {"repetitions": [2, 3]},
    "solute_vacancy": {"solutes": ["Mg"], "repetitions": 3, "shells": [1, 2]},
    "hull": None,
    "surfaces": None,
    "adhesion": None,
}
OTHER_CUTOFF = {
    "name": "query-cutoff",
    "engine": {"name": "morse", "cutoff": 5.0},
    "relax": {"fmax": 0.01},
    "bulk": {"phases": ["Li"]},
    "bulk_vacancy": None,
    "solute_vacancy": None,
    "hull": None,
    "surfaces": None,
    "adhesion": None,
}


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """The embedded store after three runs, and the run summaries."""
    folder = tmp_path_factory.mktemp("queries")
    store_section = {"backend": "embedded", "path": str(folder / "store")}
    runs = []
    for data in (CAMPAIGN, CAMPAIGN, OTHER_CUTOFF):
        config = config_from_dict({**data, "store": store_section, "work_dir": str(folder)})
        runs.append(run_campaign(config))
    assert all(run.completed for run in runs)
    store = make_job_store(StoreSettings(**store_section))
    store.connect()
    return store, runs


@pytest.fixture(scope="module")
def mongo(stored):
    """The stored documents copied into a mongomock MongoStore (tests/conftest.py)."""
    return mongomock_copy(stored[0])


QUERIES = [
    {},
    {"kind": "vacancy"},
    {"kind": "solute_vacancy", "system": "Li-Mg"},
    {"kind": "bulk", "system": ["Mg", "Li"], "engine": "morse"},
    {"kind": ["bulk", "vacancy"], "settings": {"cutoff_A": 4.6}},
    {"kind": "bulk", "settings": {"cutoff_A": 5.0}},
    {"kind": "bulk", "latest": True},
    {"campaign": "query-test", "since": "30d"},
    {"kind": "solute_vacancy", "criteria": {"output.repetitions": 3}},
    {"kind": "BulkVacancyDocument", "until": "2000-01-01"},
]


@pytest.mark.slow
@pytest.mark.parametrize("query", QUERIES, ids=[str(q) for q in QUERIES])
def test_property_tables_are_identical_on_montydb_and_mongodb(stored, mongo, query):
    embedded, _ = stored
    query = dict(query)
    kind = query.pop("kind", None)
    a = queries.property_table(embedded, kind, **query)
    b = queries.property_table(mongo, kind, **query)
    pd.testing.assert_frame_equal(a, b)
    assert list(a.columns[: len(queries.PROPERTY_COLUMNS)]) == list(queries.PROPERTY_COLUMNS)
    if query.get("until") != "2000-01-01":
        assert len(a) > 0


@pytest.mark.slow
@pytest.mark.parametrize(
    "query",
    [{}, {"distinct": False}, {"system": "Li-Mg"}, {"label_contains": "3x3x3"},
     {"task": "relax_full", "settings": {"cutoff_A": 5.0}}, {"structures": True}],
)  # fmt: skip
def test_calculation_tables_are_identical_on_montydb_and_mongodb(stored, mongo, query):
    embedded, _ = stored
    a = queries.calculations_table(embedded, **query)
    b = queries.calculations_table(mongo, **query)
    if "structure" in a:
        assert all(s1 == s2 for s1, s2 in zip(a.pop("structure"), b.pop("structure"), strict=True))
    pd.testing.assert_frame_equal(a, b)
    assert len(a) > 0


def _energy(calcs: pd.DataFrame, label: str) -> float:
    (value,) = calcs.loc[calcs["label"] == label, "energy"]
    return value


@pytest.mark.slow
def test_property_numbers_equal_those_recomputed_from_the_calculations(stored):
    store, runs = stored
    first = runs[0].run_id
    calcs = queries.calculations_table(store, run_id=first, structures=True)
    vacancy = queries.property_table(store, "vacancy", run_id=first)
    # E_f = E(N-1) - (N-1)/N E(N) from the two single calculations of each cell. Both
    # sides are the same float operations on the same stored energies: 1e-9 eV.
    for n, size in ((16, "2x2x2"), (54, "3x3x3")):
        perfect = _energy(calcs, f"Li {size} perfect")
        expected = _energy(calcs, f"Li {size} vacancy") - (n - 1) / n * perfect
        row = vacancy[(vacancy.quantity == "vacancy_formation_energy") & (vacancy.n_atoms == n)]
        assert row["value"].item() == pytest.approx(expected, abs=1e-9)
        assert row["system"].item() == "Li"
        assert len(row["job_ids"].item()) == 2

    solute = queries.property_table(store, "solute_vacancy", run_id=first)
    mu = _energy(calcs, "Li 3x3x3 perfect") / 54
    pure = _energy(calcs, "Li 3x3x3 vacancy") - _energy(calcs, "Li 3x3x3 perfect") + mu
    solute_cell = _energy(calcs, "Li 3x3x3 + Mg")
    binding = solute[solute.quantity == "binding_energy"].sort_values("shell")
    assert list(binding["shell"]) == [1, 2]
    for _, row in binding.iterrows():
        label = next(lab for lab in calcs["label"] if f"(shell {int(row['shell'])}," in lab)
        e_f = _energy(calcs, label) - solute_cell + mu
        assert row["value"] == pytest.approx(e_f - pure, abs=1e-9)

    # bcc Li: one atom in the primitive cell, the conventional cube holds two, a = (2V)^(1/3).
    # The document reads a from a symmetrised conventional cell: agreement to 1e-6 A.
    li = calcs.loc[calcs["label"] == "Li bulk (bcc)", "structure"].item()
    bulk = queries.property_table(store, "bulk", system="Li", run_id=first)
    a = bulk.loc[bulk.quantity == "lattice_a", "value"].item()
    assert a == pytest.approx((2 * li.volume / len(li)) ** (1 / 3), abs=1e-6)
    assert bulk.loc[bulk.quantity == "lattice_a", "reference"].item() == 3.48


@pytest.mark.slow
def test_filters_select_the_right_rows(stored):
    store, runs = stored
    first, second, cutoff = (run.run_id for run in runs)

    by_system = queries.property_table(store, system="Li-Mg")
    assert set(by_system["kind"]) == {"solute_vacancy"}
    assert set(queries.property_table(store, "bulk", system="Mg")["system"]) == {"Mg"}

    other = queries.property_table(store, settings={"cutoff_A": 5.0})
    assert set(other["run_id"]) == {cutoff}
    assert set(other["quantity"]) >= {"lattice_a", "energy_per_atom"}
    fingerprints = set(queries.property_table(store)["fingerprint"])
    assert len(fingerprints) == 2
    (fp,) = set(other["fingerprint"])
    assert set(queries.property_table(store, fingerprint=fp[:8])["run_id"]) == {cutoff}
    assert queries.property_table(store, engine="chgnet").empty
    assert list(queries.property_table(store, engine="chgnet").columns) == list(
        queries.PROPERTY_COLUMNS
    )

    all_runs = queries.property_table(store, "vacancy")
    assert set(all_runs["run_id"]) == {first, second}
    latest = queries.property_table(store, "vacancy", latest=True)
    assert set(latest["run_id"]) == {second}
    # The second run's documents completed after every document of the first.
    start = all_runs.loc[all_runs.run_id == second, "completed_at"].min()
    assert set(queries.property_table(store, "vacancy", since=start)["run_id"]) == {second}
    assert set(queries.property_table(store, "vacancy", until=start)["run_id"]) == {first}
    future = datetime.now(UTC) + timedelta(days=1)
    assert queries.property_table(store, since=future).empty
    assert set(queries.property_table(store, campaign="query-cutoff")["run_id"]) == {cutoff}

    calcs = queries.calculations_table(store, campaign="query-test", distinct=False)
    assert calcs.groupby("run_id")["reused"].all()[second]  # the second run reused all
    distinct = queries.calculations_table(store, campaign="query-test")
    assert distinct["cache_key"].is_unique
    assert not distinct["reused"].any()  # each calculation listed as computed
    assert len(distinct) == runs[0].computed
    assert set(queries.calculations_table(store, task="static")["task"]) == {"static"}
    table = queries.calculators(store)
    assert sorted(table["calculations"]) == [1, runs[0].computed]


@pytest.mark.slow
def test_a_family_plugs_in_by_an_adapter_and_report_sections_are_a_fallback(stored, monkeypatch):
    store, runs = stored
    families = dict(queries._FAMILIES)
    monkeypatch.setattr(queries, "_FAMILIES", families)

    @queries.register_family("largest_vacancy", "BulkVacancyDocument")
    def largest(doc):
        """Only the largest cell."""
        size = max(doc.sizes, key=lambda s: s.n_atoms)
        yield queries.PropertyRow(
            quantity="E_f", value=size.formation_energy, unit="eV", system=doc.system,
            parameters={"cells": size.n_atoms},
        )  # fmt: skip

    table = queries.property_table(store, "largest_vacancy", run_id=runs[0].run_id)
    reference = queries.property_table(store, "vacancy", run_id=runs[0].run_id)
    expected = reference.loc[reference.n_atoms == 54, "value"].iloc[0]
    assert table["value"].tolist() == [expected]
    assert table["cells"].tolist() == [54]

    # Without an adapter the document is tabled from its report section.
    del families["vacancy"]
    families.pop("largest_vacancy")
    assert "bulk_vacancy" in queries.known_kinds()
    fallback = queries.property_table(store, "bulk_vacancy", run_id=runs[0].run_id)
    assert "E_f vacancy (largest cell)" in set(fallback["quantity"])
    assert fallback.loc[fallback.quantity == "E_f vacancy (largest cell)", "value"].item() == (
        pytest.approx(expected)
    )


def test_unknown_kind_bad_time_and_bad_setting_are_named():
    with pytest.raises(ConfigError, match="'surfacez'"):
        queries.property_criteria("surfacez")
    with pytest.raises(ConfigError, match="'yesterday'"):
        queries.to_utc("yesterday")
    with pytest.raises(ConfigError, match="'\\$where'"):
        queries.common_criteria(settings={"$where": 1})


def test_times_are_utc_and_ages_count_back_from_now():
    now = datetime(2026, 3, 1, 12, tzinfo=UTC)
    assert queries.to_utc("7d", now=now) == datetime(2026, 2, 22, 12, tzinfo=UTC)
    assert queries.to_utc("1.5h", now=now) == datetime(2026, 3, 1, 10, 30, tzinfo=UTC)
    assert queries.to_utc(date(2026, 1, 2)) == datetime(2026, 1, 2, tzinfo=UTC)
    assert queries.to_utc("2026-01-02T03:04") == datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
    aware = datetime(2026, 1, 2, 5, tzinfo=UTC).astimezone()
    assert queries.to_utc(aware) == datetime(2026, 1, 2, 5, tzinfo=UTC)
    # The filter compares with jobflow's stamps: the machine's local time, ISO format.
    stamp = queries.common_criteria(since="2026-01-02T03:04")["completed_at"]["$gte"]
    expected = datetime(2026, 1, 2, 3, 4, tzinfo=UTC).astimezone().replace(tzinfo=None)
    assert stamp == expected.isoformat()


def test_indexes_are_declared_on_mongodb_and_skipped_on_montydb(monkeypatch, embedded_store):
    import mongomock
    from jobflow import JobStore

    client = mongomock.MongoClient()
    monkeypatch.setenv("ANODEFREE_MONGODB_URI", "mongodb://user:pw@mock.example:27017")
    monkeypatch.setattr("maggma.stores.mongolike.MongoClient", lambda *_, **__: client)
    store = JobStore(SecretMongoStore("anodefree", "outputs"))
    store.connect()
    assert queries.ensure_query_indexes(store) == list(queries.QUERY_INDEXES)
    keys = {key for index in client["anodefree"]["outputs"].index_information().values()
            for key, _ in index["key"]}  # fmt: skip
    assert set(queries.QUERY_INDEXES) <= keys
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert queries.ensure_query_indexes(embedded_store) == []


def test_plot_quantity_draws_one_line_per_group_and_names_what_is_missing():
    from anodefree.analysis.plotting.tables import plot_quantity

    table = pd.DataFrame(
        {
            "quantity": ["E_b"] * 4 + ["E_f"],
            "value": [0.1, 0.0, -0.2, -0.1, 0.5],
            "unit": ["eV"] * 5,
            "solute": ["Mg", "Mg", "Ag", "Ag", "Mg"],
            "distance_A": [3.0, 4.9, 3.0, 4.9, 3.0],
            "calculator": ["c"] * 5,
            "flagged": [False, True, False, False, False],
            "reference": [None, None, None, None, 0.5],
        }
    )
    fig = plot_quantity(table, "E_b", x="distance_A", by="solute")
    ax = fig.axes[0]
    lines = {
        line.get_label(): line for line in ax.get_lines() if not line.get_label().startswith("_")
    }
    assert set(lines) == {"Ag", "Mg"}
    assert list(lines["Mg"].get_ydata()) == [0.1, 0.0]
    assert ax.get_ylabel() == "E b (eV)"
    with pytest.raises(ValueError, match="'E_x'"):
        plot_quantity(table, "E_x", x="distance_A")
    with pytest.raises(ValueError, match="'layer'"):
        plot_quantity(table, "E_b", x="layer")
