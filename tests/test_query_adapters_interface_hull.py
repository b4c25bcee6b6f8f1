"""Property tables of the interfacial defects, the bond energies and the Li-Ag hull.

One small toy-potential campaign (the hull stage and the interfacial-defect stage of
``examples/04_hull_and_layer_profiles.ipynb``, here with a thinner film, two systems, the
solute parts and the bond energies switched on; about 40 s) fills an embedded store once
per module. The tables must reproduce every number of the documents, the layer-resolved
E_f and the hull formation energies must equal those recomputed here from the stored
single calculations, the filters must select in the database, and a MongoDB store
(mongomock driver) holding the same documents must give identical tables.
"""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest
from conftest import mongomock_copy

from anodefree.analysis import queries
from anodefree.analysis.documents.hull import PhaseEnergy
from anodefree.analysis.documents.hull_study import HullStudyDocument
from anodefree.analysis.documents.interface_defects import (
    BondEnergyDocument,
    InterfaceDefectDocument,
)
from anodefree.analysis.hull import li_ag_hull
from anodefree.analysis.plotting.tables import plot_quantity
from anodefree.analysis.results import run_documents
from anodefree.config import config_from_dict
from anodefree.workflows.campaign import run_campaign
from anodefree.workflows.stores import StoreSettings, make_job_store

pytestmark = pytest.mark.slow

SYSTEMS = ("Li/Li2S", "Li-Ag/Li2S")
CAMPAIGN = {
    "name": "adapter-test",
    "engine": {"name": "morse"},
    "relax": {"fmax": 0.01},
    "bulk": {"phases": ["Li", "Ag", "Li2S"]},
    "bulk_vacancy": None,
    "solute_vacancy": None,
    "surfaces": None,
    "adhesion": None,
    "hull": {"max_size": 3, "keep_derivatives": 1, "keep_gamma": 1},
    "interface_defects": {
        "systems": list(SYSTEMS),
        "build": {"film_units": 5},  # L1, L2 and the interior L3
        "profile_layers": [1, 2],
        "segregation_layers": [1],
        "size_check": [[1, 1], [2, 1]],
        "pair_supercell": [2, 1],
        "interaction_shells": 1,
        "filling": True,
        "divacancy_interface": ["L1-L1"],
        "divacancy_bulk_shells": [1],
        "bulk_repetitions": 3,
        "bond_energies": True,
    },
}


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """The embedded store after the campaign, and its documents by class."""
    folder = tmp_path_factory.mktemp("adapters")
    section = {"backend": "embedded", "path": str(folder / "store")}
    run = run_campaign(config_from_dict({**CAMPAIGN, "store": section, "work_dir": str(folder)}))
    assert run.completed
    store = make_job_store(StoreSettings(**section))
    store.connect()
    documents = run_documents(store, run.run_id)
    interfaces = {d.system: d for d in documents if isinstance(d, InterfaceDefectDocument)}
    (study,) = [d for d in documents if isinstance(d, HullStudyDocument)]
    (bonds,) = [d for d in documents if isinstance(d, BondEnergyDocument)]
    assert set(interfaces) == set(SYSTEMS)
    return store, interfaces, study, bonds


@pytest.fixture(scope="module")
def mongo(stored):
    """The stored documents copied into a mongomock MongoStore (tests/conftest.py)."""
    return mongomock_copy(stored[0])


def _energies(store) -> dict[str, pd.Series]:
    """Stored calculations by the job id the documents cite (source job, else job)."""
    calcs = queries.calculations_table(store, distinct=False, structures=True)
    keys = calcs["source_job_uuid"].fillna(calcs["job_uuid"])
    out: dict[str, pd.Series] = {}
    for key, (_, row) in zip(keys, calcs.iterrows(), strict=True):
        if key not in out or not row["reused"]:  # the computed copy names its own role
            out[key] = row
    return out


def _rows(table: pd.DataFrame, quantity: str, system: str | None = None) -> pd.DataFrame:
    rows = table[table["quantity"] == quantity]
    return rows if system is None else rows[rows["system"] == system]


# ---------------------------------------------------------------------------------------
# Interfacial defects


def test_every_layer_appears_once_with_the_document_value(stored):
    store, interfaces, _, _ = stored
    table = queries.property_table(store, "interface_defect")
    assert set(table["kind"]) == {"interface_defect"}
    assert table["layer"].dtype == "Int64"
    for system, doc in interfaces.items():
        rows = _rows(table, "vacancy_formation_energy", system)
        assert sorted(rows["layer"]) == sorted(p.layer for p in doc.vacancy_profile)
        assert len(rows) == len(doc.vacancy_profile) == 3
        for entry in doc.vacancy_profile:
            (row,) = rows[rows["layer"] == entry.layer].itertuples()
            assert row.value == entry.formation_energy
            assert row.unit == "eV"
            assert row.layer_label == ("interior" if entry.interior else f"L{entry.layer}")
            assert row.interior == entry.interior
            assert row.supercell == "2x1"
            assert row.n_atoms == 2 * doc.host.n_atoms
            assert row.flagged == (not entry.converged)
            assert set(row.job_ids) == {*entry.job_uuids, doc.chemical_potential_job_uuid}
        relative = _rows(table, "vacancy_formation_energy_vs_interior", system)
        assert dict(zip(relative["layer"], relative["value"], strict=True)) == {
            p.layer: p.relative_to_interior for p in doc.vacancy_profile
        }
        (l1,) = relative.loc[relative["layer"] == 1, "value"]
        assert l1 == doc.l1_minus_interior
        (bulk,) = _rows(table, "bulk_vacancy_formation_energy", system)["value"]
        assert bulk == doc.bulk_formation_energy


def test_layer_energies_equal_those_recomputed_from_the_stored_calculations(stored):
    """E_f(L) = E(vacancy cell) - E(pristine cell) + mu_Li (energy per atom of bcc Li)."""
    store, interfaces, _, _ = stored
    table = queries.property_table(store, "interface_defect", system="Li/Li2S")
    energies = _energies(store)
    rows = _rows(table, "vacancy_formation_energy")
    assert len(rows) == len(interfaces["Li/Li2S"].vacancy_profile)
    for row in rows.itertuples():
        calcs = {energies[j]["role"]: energies[j] for j in row.job_ids}
        assert set(calcs) == {"interface vacancy", "pristine interface supercell", "bulk reference"}
        vacancy, pristine = calcs["interface vacancy"], calcs["pristine interface supercell"]
        assert vacancy["n_atoms"] == pristine["n_atoms"] - 1 == row.n_atoms - 1
        mu = calcs["bulk reference"]["energy_per_atom"]
        assert row.value == pytest.approx(vacancy["energy"] - pristine["energy"] + mu, abs=1e-9)


def test_solute_rows_checks_and_statements_reproduce_the_document(stored):
    store, interfaces, _, _ = stored
    table = queries.property_table(store, "interface_defect")
    doc = interfaces["Li-Ag/Li2S"]
    seg = _rows(table, "segregation_energy", "Li-Ag/Li2S")
    assert dict(zip(seg["layer"], seg["value"], strict=True)) == {
        s.layer: s.segregation_energy for s in doc.segregation
    }
    assert set(seg["solute"]) == {"Ag"}
    assert _rows(table, "segregation_energy", "Li/Li2S").empty  # no solute

    (interaction,) = doc.interaction
    for quantity, value in (
        ("solute_vacancy_interaction", interaction.interaction_energy),
        ("vacancy_formation_energy_near_solute", interaction.formation_energy),
        ("vacancy_formation_energy_without_solute", interaction.formation_energy_without_solute),
    ):
        (row,) = _rows(table, quantity, "Li-Ag/Li2S").itertuples()
        assert (row.value, row.shell, row.distance_A, row.layer) == (
            value,
            interaction.shell,
            interaction.distance,
            1,
        )
    near_solute = _rows(table, "vacancy_formation_energy_near_solute", "Li-Ag/Li2S")
    assert set(near_solute["job_ids"].iloc[0]) >= {doc.chemical_potential_job_uuid}

    filling = _rows(table, "filling_energy", "Li-Ag/Li2S")
    expected = {}
    for move in doc.filling:
        expected[move.case, "Li"] = move.energy_by_host
        expected[move.case, "Ag"] = move.energy_by_solute
    keys = zip(filling["case"], filling["filler"], strict=True)
    assert dict(zip(keys, filling["value"], strict=True)) == expected

    for system, item in interfaces.items():
        pairs = _rows(table, "divacancy_binding_energy", system)
        assert sorted(zip(pairs["location"], pairs["pair"], pairs["value"], strict=True)) == sorted(
            (p.where, p.name, p.binding_energy) for p in item.divacancies
        )
        check = item.size_check
        deviation = _rows(table, "size_check_deviation", system)
        assert dict(zip(deviation["supercell"], deviation["value"], strict=True)) == {
            f"{e.supercell[0]}x{e.supercell[1]}": e.change for e in check.entries
        }
        assert deviation.loc[deviation["chosen"].astype(bool), "supercell"].tolist() == ["2x1"]
        statements = _rows(table, "statement", system)
        assert sorted(zip(statements["topic"], statements["value"], strict=True)) == sorted(
            (s.topic, s.value) for s in item.statements
        )
        assert set(statements["note"]) == {s.text for s in item.statements}


def test_the_layer_profile_recipe_plots_one_line_per_system(stored):
    from matplotlib.figure import Figure

    store = stored[0]
    fig = plot_quantity(
        queries.property_table(store, "interface_defect"),
        "vacancy_formation_energy",
        x="layer",
        by="system",
    )
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    assert sorted(t.get_text() for t in ax.get_legend().get_texts()) == sorted(SYSTEMS)
    assert all(len(line.get_xdata()) == 3 for line in ax.get_lines())  # L1, L2, interior


def test_bond_energy_rows_reproduce_the_document(stored):
    store, _, _, bonds = stored
    table = queries.property_table(store, "bond_energy")
    rows = _rows(table, "bond_energy")
    assert dict(zip(rows["system"], rows["value"], strict=True)) == {
        c.compound: c.bond_energy for c in bonds.compounds
    }
    li2s = next(c for c in bonds.compounds if c.compound == "Li2S")
    (row,) = rows[rows["system"] == "Li2S"].itertuples()
    assert row.reference == pytest.approx(
        li2s.experimental_formation_energy / li2s.bonds_per_formula_unit
    )
    references = {r.element: r.job_uuid for r in bonds.references}
    assert set(row.job_ids) == {li2s.job_uuid, references["Li"], references["S"]}
    mgs = queries.property_table(store, "bond_energy", system="MgS")
    assert set(mgs["system"]) == {"MgS"}
    assert len(mgs) == 4


# ---------------------------------------------------------------------------------------
# The hull


def test_hull_rows_reproduce_every_candidate_and_the_search(stored):
    store, _, study, _ = stored
    table = queries.property_table(store, "hull_study")
    hull = study.hull
    assert set(table["system"]) == {"Li-Ag"}
    for quantity, field in (
        ("formation_energy", "formation_energy_per_atom"),
        ("energy_above_hull", "e_above_hull"),
    ):
        rows = _rows(table, quantity).set_index("candidate")
        assert sorted(rows.index) == sorted(r.label for r in hull.rows)
        assert set(rows["unit"]) == {"eV/atom"}
        for r in hull.rows:
            assert rows.loc[r.label, "value"] == getattr(r, field)
            assert rows.loc[r.label, "on_hull"] == r.on_hull
            assert rows.loc[r.label, "x_li"] == r.li_fraction
            assert rows.loc[r.label, "flagged"] == (not r.converged)
            origin = rows.loc[r.label, "origin"]
            assert rows.loc[r.label, "source"] == (
                "enumerated" if origin.endswith(("derivative", "decoration")) else "named"
            )
        representatives = rows[rows["representative"].astype(bool)]
        assert sorted(representatives["phase"]) == sorted(n.phase for n in hull.named_phases)
        for named in hull.named_phases:
            assert representatives.loc[named.best_label, "value"] == getattr(named, field)
    counts = _rows(table, "structure_count")
    totals = counts[counts["enumeration"].isna()].set_index("stage")["value"]
    assert totals["enumerated"] == study.counts.n_enumerated
    assert totals["relaxed"] == study.counts.n_relaxed == len(study.job_ids)
    # The toy potential puts no compound on the hull: no voltage step, onset None (flagged).
    (onset,) = _rows(table, "delithiation_onset").itertuples()
    assert pd.isna(onset.value)
    assert onset.flagged
    assert onset.reference == 0.05
    assert _rows(table, "voltage").empty


def test_hull_formation_energies_equal_those_recomputed_from_the_calculations(stored):
    """E_f = (E - n_Li mu_Li - n_Ag mu_Ag) / N, every energy read from the calculations."""
    store, _, study, _ = stored
    energies = _energies(store)
    rows = _rows(queries.property_table(store, "hull_study"), "formation_energy")
    references = study.hull.references  # element -> candidate label
    mu = {
        element: energies[study.job_ids[label]]["energy_per_atom"]
        for element, label in references.items()
    }
    for row in rows.itertuples():
        calc = energies[study.job_ids[row.candidate]]
        composition = calc["structure"].composition
        expected = (
            calc["energy"] - composition["Li"] * mu["Li"] - composition["Ag"] * mu["Ag"]
        ) / composition.num_atoms
        assert row.value == pytest.approx(expected, abs=1e-9)
        assert set(row.job_ids) == {
            study.job_ids[row.candidate],
            *(study.job_ids[label] for label in references.values()),
        }


def _adapter_table(kind: str, document) -> pd.DataFrame:
    """The rows the registered adapter makes of a document, parameters as columns."""
    rows = queries.families()[kind].adapter(document)
    return pd.DataFrame([{**r.model_dump(exclude={"parameters"}), **r.parameters} for r in rows])


def test_voltage_steps_and_onset_of_a_hull_with_compounds(stored):
    """A hull with LiAg and Li3Ag on it: V = -dE/dx per Li between hull neighbours."""
    _, _, study, _ = stored
    mu_li, mu_ag = -1.9, -2.8
    entries = [
        ("Li-bcc", "Li", {"Li": 2.0}, 2 * mu_li, True),
        ("Ag-fcc", "Ag", {"Ag": 1.0}, mu_ag, True),
        ("LiAg-B2", "LiAg", {"Li": 1.0, "Ag": 1.0}, mu_li + mu_ag - 2 * 0.2, True),
        ("Li3Ag-D03", "Li3Ag", {"Li": 3.0, "Ag": 1.0}, 3 * mu_li + mu_ag - 4 * 0.15, True),
        ("bcc-3-4-Li2Ag", "Li2Ag", {"Li": 2.0, "Ag": 1.0}, 2 * mu_li + mu_ag, False),
    ]
    hull = li_ag_hull(
        [
            PhaseEnergy(label=label, phase=phase, composition=composition, energy=energy,
                        calculator=study.calculator, converged=converged,
                        origin="bcc-derivative" if label.startswith("bcc") else "prototype")
            for label, phase, composition, energy, converged in entries
        ]
    )  # fmt: skip
    document = study.model_copy(
        update={"hull": hull, "job_ids": {e[0]: f"job-{e[0]}" for e in entries}}
    )
    rows = _adapter_table("hull_study", document)
    steps = _rows(rows, "voltage").sort_values("step")
    # Ag -> LiAg: V = -(E(LiAg) - E(Ag) - mu_Li) = 0.4 V; LiAg -> Li3Ag: -(E(Li3Ag) -
    # E(LiAg) - 2 mu_Li) / 2 = 0.1 V.
    assert steps["value"].tolist() == pytest.approx([0.4, 0.1])
    assert steps["li_per_ag_start"].tolist() == pytest.approx([0.0, 1.0])
    assert steps["li_per_ag_end"].tolist() == pytest.approx([1.0, 3.0])
    assert steps["li_rich_phase"].tolist() == ["LiAg-B2", "Li3Ag-D03"]
    assert set(steps["unit"]) == {"V vs Li+/Li"}
    assert set(steps.iloc[1]["job_ids"]) == {
        "job-LiAg-B2", "job-Li3Ag-D03", "job-Li-bcc", "job-Ag-fcc"
    }  # fmt: skip
    (onset,) = _rows(rows, "delithiation_onset").itertuples()
    assert onset.value == pytest.approx(0.1) == hull.voltage_profile.delithiation_onset
    assert not onset.flagged
    assert (onset.li_poor_phase, onset.li_rich_phase) == ("LiAg-B2", "Li3Ag-D03")
    hull_rows = _rows(rows, "energy_above_hull")
    # Named phases without a candidate are listed, as in the report, without a value.
    missing = hull_rows[hull_rows["candidate"].isna()]
    assert sorted(missing["phase"]) == sorted(
        n.phase for n in hull.named_phases if n.best_label is None
    )
    assert missing["value"].isna().all()
    assert set(missing["note"]) == {"no candidate computed"}
    hull_rows = hull_rows.dropna(subset=["candidate"]).set_index("candidate")
    assert hull_rows["on_hull"].to_dict() == {r.label: r.on_hull for r in hull.rows}
    assert hull_rows.loc["bcc-3-4-Li2Ag", "flagged"]
    assert "NOT CONVERGED" in hull_rows.loc["bcc-3-4-Li2Ag", "note"]
    assert hull_rows.loc["bcc-3-4-Li2Ag", "source"] == "enumerated"
    assert set(hull_rows.loc["bcc-3-4-Li2Ag", "job_ids"]) == {
        "job-bcc-3-4-Li2Ag", "job-LiAg-B2", "job-Li3Ag-D03", "job-Li-bcc", "job-Ag-fcc"
    }  # fmt: skip


def test_unconverged_inputs_flag_their_rows(stored):
    _, interfaces, _, _ = stored
    doc = interfaces["Li-Ag/Li2S"]
    profile = [p.model_copy(update={"converged": p.layer != 2}) for p in doc.vacancy_profile]
    segregation = [s.model_copy(update={"converged": False}) for s in doc.segregation]
    changed = doc.model_copy(update={"vacancy_profile": profile, "segregation": segregation})
    rows = list(queries.families()["interface_defect"].adapter(changed))
    flagged = {(r.quantity, r.parameters.get("layer")) for r in rows if r.flagged}
    assert ("vacancy_formation_energy", 2) in flagged
    assert ("vacancy_formation_energy", 1) not in flagged
    assert ("vacancy_formation_energy_vs_interior", 2) in flagged
    assert {("segregation_energy", s.layer) for s in doc.segregation} <= flagged
    assert all("NOT CONVERGED" in r.note for r in rows if r.flagged)


# ---------------------------------------------------------------------------------------
# Kinds, filters, back ends


def test_kinds_are_listed_with_their_adapters(stored):
    store = stored[0]
    kinds = queries.stored_kinds(store).set_index("kind")
    for kind in ("interface_defect", "hull_study", "bond_energy"):
        assert kinds.loc[kind, "queryable"]
        assert "report section" not in kinds.loc[kind, "description"]
        assert queries.known_kinds()[kind].adapter.__module__.startswith(
            "anodefree.analysis.query_adapters."
        )


def test_known_kinds_are_the_same_on_the_first_call_of_a_fresh_process():
    code = (
        "from anodefree.analysis import queries\n"
        "first = sorted(queries.known_kinds()); second = sorted(queries.known_kinds())\n"
        "assert first == second, set(first) ^ set(second)\n"
        "assert 'bulk_reference' not in first and 'interface_defect' in first\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)  # noqa: S603 - our code


def test_system_and_engine_filters_run_in_the_database(stored):
    store = stored[0]
    criteria = queries.property_criteria("interface_defect", system="Li-Ag/Li2S")
    assert criteria["output.system"] == {"$in": ["Li-Ag/Li2S"]}
    one = queries.property_table(store, "interface_defect", system="Li-Ag/Li2S")
    assert set(one["system"]) == {"Li-Ag/Li2S"}
    assert len(one) > 0
    assert queries.property_table(store, "interface_defect", system="Li-Mg/Li2S").empty
    assert queries.property_table(store, "hull_study", system="Li-Mg").empty
    assert set(queries.property_table(store, "hull_study", system="Li-Ag")["system"]) == {"Li-Ag"}
    assert queries.property_table(store, ["interface_defect", "hull_study"], engine="chgnet").empty
    both = queries.property_table(store, ["interface_defect", "hull_study"], engine="morse")
    assert set(both["kind"]) == {"interface_defect", "hull_study"}


@pytest.mark.parametrize(
    "query",
    [
        {"kind": "interface_defect"},
        {"kind": "interface_defect", "system": "Li/Li2S", "engine": "morse"},
        {"kind": "hull_study", "settings": {"cutoff_A": 4.6}},
        {"kind": "bond_energy", "system": ["Li2S", "S"]},
        {"kind": ["interface_defect", "hull_study", "bond_energy"], "since": "1d"},
    ],
    ids=str,
)
def test_tables_are_identical_on_montydb_and_mongodb(stored, mongo, query):
    query = dict(query)
    kind = query.pop("kind")
    a = queries.property_table(stored[0], kind, **query)
    b = queries.property_table(mongo, kind, **query)
    pd.testing.assert_frame_equal(a, b)
    assert len(a) > 0
