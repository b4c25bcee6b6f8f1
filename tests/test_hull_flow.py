"""The Li-Ag hull flow on the toy Morse engine against independent direct calculations.

The flow (enumerate, prescreen, relax through CalculationMaker, build the hull) runs once
per module. Every number it reports is checked against a calculation made here without
the flow: the same structures regenerated from the enumeration functions, single points
and BFGS/FrechetCellFilter relaxations straight from ASE with the Morse calculator, and
the hull from pymatgen's PhaseDiagram.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

import pytest
from ase.filters import FrechetCellFilter
from ase.optimize import BFGS
from jobflow import Flow, run_locally
from pydantic import ValidationError
from pymatgen.analysis.phase_diagram import PDEntry, PhaseDiagram
from pymatgen.analysis.structure_matcher import StructureMatcher
from pymatgen.io.ase import AseAtomsAdaptor
from threadpoolctl import threadpool_limits

from anodefree.analysis.documents.calculation import CalculationResult
from anodefree.analysis.documents.hull import PhaseEnergy
from anodefree.analysis.exports.continuum import ContinuumExportError
from anodefree.analysis.exports.onsets import find_hull_study, onset_from_store, study_onset
from anodefree.analysis.hull import li_ag_hull
from anodefree.analysis.report import build_report, render_markdown
from anodefree.analysis.results import run_documents
from anodefree.errors import ConfigError
from anodefree.structures.alloys import li_ag_candidates, liag_b2
from anodefree.structures.enumeration import (
    enumerate_derivative_superstructures,
    enumerate_gamma_decorations,
)
from anodefree.tasks import RelaxSettings
from anodefree.workflows.bulk import BulkReferenceMaker
from anodefree.workflows.engines.morse import MorsePairCalculator
from anodefree.workflows.engines.registry import get_engine
from anodefree.workflows.hull import (
    PROTOTYPE_LABELS,
    HullSearch,
    HullStage,
    LiAgHullMaker,
    build_hull_stage,
    candidate_pool,
    hull_engine,
)

if TYPE_CHECKING:
    from anodefree.analysis.documents.hull_study import HullStudyDocument

RELAX = RelaxSettings(fmax=1e-3)
# bcc and fcc derivatives up to 3 atoms and the Li12Ag decorations: every branch of the
# flow (duplicate removal, two parent lattices, a gamma phase) in about 20 relaxations.
SEARCH = HullSearch(max_size=3, gamma_phases=("Li12Ag",), keep_derivatives=1, keep_gamma=2)


def _outputs(responses, class_name):
    return [
        r.output
        for d in responses.values()
        for r in d.values()
        if type(r.output).__name__ == class_name
    ]


@pytest.fixture(scope="module")
def run():
    """Bulk Li and Ag, then the hull flow sharing them, in one store (run once)."""
    from anodefree.workflows.stores import StoreSettings, make_job_store

    morse = get_engine("morse")
    store = make_job_store(StoreSettings(backend="memory"))
    store.connect()
    bulk = BulkReferenceMaker(engine=morse, relax=RELAX, phases=("Li", "Ag")).make()
    results = bulk.output["results"]
    flows, planned = build_hull_stage(
        HullStage(**SEARCH.model_dump()), morse, RELAX, results["Li"], results["Ag"]
    )
    # One BLAS thread: the cell filter's 3x3 algebra is far slower multithreaded on shared cores.
    flow = Flow([bulk, *flows])
    flow.update_metadata({"run_id": "hull-test"}, dynamic=True)  # as the campaign tags jobs
    with threadpool_limits(1, "blas"):
        responses = run_locally(flow, store=store, log=False, ensure_success=True)
    return {
        "store": store,
        "planned": planned,
        "study": _outputs(responses, "HullStudyDocument")[0],
        "screen": _outputs(responses, "HullPrescreenDocument")[0],
        "results": _outputs(responses, "CalculationResult"),
    }


def _independent_candidates() -> dict[str, tuple[str, object]]:
    """label -> (source kind, structure), regenerated from the enumeration functions."""
    out = {}
    for lattice in ("bcc", "fcc"):
        for c in enumerate_derivative_superstructures(lattice, SEARCH.max_size).candidates:
            out[c.label] = (f"{lattice}-derivative", c.structure)
    for c in enumerate_gamma_decorations("Li12Ag").candidates:
        out[c.label] = ("gamma-decoration", c.structure)
    for c in li_ag_candidates(include_alternatives=True):
        out[c.label] = ("named", c.structure)
    return out


def _direct_relaxed_energy(structure) -> float:
    atoms = AseAtomsAdaptor().get_atoms(structure)
    atoms.calc = MorsePairCalculator()
    with threadpool_limits(1, "blas"):
        BFGS(FrechetCellFilter(atoms), logfile=None).run(fmax=RELAX.fmax, steps=RELAX.max_steps)
    return float(atoms.get_potential_energy())


def _single_point(structure) -> float:
    atoms = AseAtomsAdaptor().get_atoms(structure)
    atoms.calc = MorsePairCalculator()
    return float(atoms.get_potential_energy()) / len(atoms)


@pytest.mark.slow
def test_counts_match_the_enumeration_functions(run):
    study: HullStudyDocument = run["study"]
    sources = {s.source: s for s in study.counts.sources}
    expected = [
        enumerate_derivative_superstructures("bcc", 3).counts,
        enumerate_derivative_superstructures("fcc", 3).counts,
        enumerate_gamma_decorations("Li12Ag").counts,
    ]
    assert list(sources) == [c.source for c in expected]
    for counts in expected:
        got = sources[counts.source]
        assert (got.n_distinct, got.n_enumerated, got.per_size) == (
            counts.n_distinct,
            counts.n_enumerated,
            counts.per_size,
        )
    # Known counts: binary bcc/fcc derivatives with 2 and 3 atoms per cell (Hart-Forcade,
    # both species orders kept): 2 and 6; Li12Ag has 6 distinct decorations of its
    # 4 Ag on the 8 OT sites (70 raw) under I-43m.
    assert sources[expected[0].source].per_size == {1: 0, 2: 2, 3: 6}
    assert sources[expected[2].source].n_distinct == 6
    # B2 LiAg is a 2-atom bcc derivative and the only named prototype with <= 3 atoms of
    # two species: dropped once from the bcc list, never from fcc or the gamma list.
    assert [s.n_duplicates_of_named for s in study.counts.sources] == [1, 0, 0]
    n_generated = 8 + 8 + 6
    assert study.counts.n_enumerated == n_generated
    assert study.counts.n_prescreened == n_generated - 1
    # Compositions <= 3 atoms: LiAg, Li2Ag, LiAg2 per lattice, one kept each; 2 of Li12Ag.
    assert study.counts.n_selected == 3 + 3 + 2
    assert study.counts.n_named == len(PROTOTYPE_LABELS)
    assert study.counts.n_relaxed == len(PROTOTYPE_LABELS) + 8
    hull_jobs = [r for r in run["results"] if r.role == "hull candidate"]
    assert run["planned"] == len(hull_jobs) == study.counts.n_relaxed - 2
    assert (study.counts.n_failed, study.counts.n_unconverged) == (0, 0)


@pytest.mark.slow
def test_prescreen_keeps_the_lowest_direct_single_points(run):
    screen = run["screen"]
    assert screen.method == "single_point"
    assert screen.calculator.fingerprint == get_engine("morse").provenance().fingerprint
    structures = _independent_candidates()
    b2 = liag_b2()
    matcher = StructureMatcher(scale=True)
    groups = defaultdict(list)
    for label, (kind, structure) in structures.items():
        if kind == "named" or matcher.fit(structure, b2):  # the B2 duplicate is not screened
            continue
        groups[(kind, structure.composition.reduced_formula)].append(label)
    assert {(r.source, r.group) for r in screen.scores} == set(groups)
    expected_selected = set()
    for (kind, _), labels in groups.items():
        keep = SEARCH.keep_gamma if kind == "gamma-decoration" else SEARCH.keep_derivatives
        energies = {label: _single_point(structures[label][1]) for label in labels}
        expected_selected |= set(sorted(labels, key=energies.get)[:keep])
        for row in (r for r in screen.scores if r.label in energies):
            # Same calculator, same structure: equal to float round-off.
            assert row.score == pytest.approx(energies[row.label], abs=1e-10)
    assert {c.label for c in screen.selected} == expected_selected


@pytest.mark.slow
def test_hull_matches_direct_relaxations(run):
    study: HullStudyDocument = run["study"]
    structures = _independent_candidates()
    energies = {label: _direct_relaxed_energy(structures[label][1]) for label in study.job_ids}
    compositions = {label: structures[label][1].composition for label in study.job_ids}
    e_li = energies["Li-bcc"] / compositions["Li-bcc"].num_atoms
    e_ag = energies["Ag-fcc"] / compositions["Ag-fcc"].num_atoms
    entries = [PDEntry(compositions[label], e, name=label) for label, e in energies.items()]
    diagram = PhaseDiagram(entries)
    # Both relaxations are BFGS on a FrechetCellFilter from the same start to the same fmax
    # (1e-3 eV/A): the remaining energy error is of order fmax^2 / stiffness, far below
    # 1e-4 eV/atom, which is itself far below the meV/atom differences between candidates.
    tol = 1e-4
    for label, energy in energies.items():
        composition = compositions[label]
        c_li = composition.get_atomic_fraction("Li")
        e_form = energy / composition.num_atoms - c_li * e_li - (1 - c_li) * e_ag
        row = study.hull.row(label)
        assert row.formation_energy_per_atom == pytest.approx(e_form, abs=tol), label
        e_hull = diagram.get_e_above_hull(next(e for e in entries if e.name == label))
        assert row.e_above_hull == pytest.approx(e_hull, abs=tol), label
    stable = {e.name for e in diagram.stable_entries}
    assert set(study.hull.stable) == stable
    assert study.calculator.fingerprint == get_engine("morse").provenance().fingerprint


@pytest.mark.slow
def test_bulk_references_are_shared(run):
    study: HullStudyDocument = run["study"]
    bulk = {r.system: r for r in run["results"] if r.role == "bulk reference"}
    for element, label in (("Li", "Li-bcc"), ("Ag", "Ag-fcc")):
        assert study.job_ids[label] == bulk[element].source_job_uuid
        assert study.hull.reference_energies[element] == pytest.approx(
            bulk[element].energy_per_atom
        )
    labels = [r.metadata.get("candidate") for r in run["results"] if r.role == "hull candidate"]
    assert "Li-bcc" not in labels
    assert "Ag-fcc" not in labels


@pytest.mark.slow
def test_rerun_reuses_every_relaxation(run):
    morse = get_engine("morse")
    flow = LiAgHullMaker(engine=morse, relax=RELAX, search=SEARCH).make()
    with threadpool_limits(1, "blas"):
        responses = run_locally(flow, store=run["store"], log=False, ensure_success=True)
    study = _outputs(responses, "HullStudyDocument")[0]
    screen = _outputs(responses, "HullPrescreenDocument")[0]
    assert screen.reused
    assert screen.cache_key == run["screen"].cache_key
    assert not run["screen"].reused
    assert [c.label for c in screen.selected] == [c.label for c in run["screen"].selected]
    # Same structures, calculator and task: all 14 relaxations (Li and Ag included, which
    # the bulk flow computed with the same task) come from the store.
    assert (study.counts.n_reused, study.counts.n_computed) == (study.counts.n_relaxed, 0)
    assert study.hull.stable == run["study"].hull.stable


@pytest.mark.slow
def test_report_section_shows_table_counts_and_plots(run, tmp_path):
    study: HullStudyDocument = run["study"]
    report = build_report("t", [study], figure_dir=tmp_path / "figures")
    (section,) = report.sections
    by_quantity = {row.quantity: row for row in section.rows}
    for named in study.hull.named_phases:
        row = by_quantity[f"E above hull, {named.phase}"]
        if named.best_label is None:
            assert row.value is None
            continue
        assert row.value == pytest.approx(1000 * named.e_above_hull)
        assert row.unit == "meV/atom"
        assert f"on hull: {'yes' if named.on_hull else 'no'}" in row.note
        assert by_quantity[f"E_f, {named.phase}"].value == pytest.approx(
            1000 * named.formation_energy_per_atom
        )
    assert by_quantity["structures enumerated (derivatives + gamma decorations)"].value == 22
    assert by_quantity["structures relaxed (named + selected)"].value == study.counts.n_relaxed
    # The Morse toy has no stable Li-Ag compound: no onset, flagged.
    onset = by_quantity["delithiation onset (most Li-rich two-phase region)"]
    assert onset.value is None
    assert onset.flagged
    assert [f.split("/")[-1] for f in section.figures] == ["li_ag_hull.png"]
    assert (tmp_path / "figures" / "li_ag_hull.png").stat().st_size > 0
    markdown = render_markdown(report)
    assert "| Li9Ag4 | not computed |" in markdown
    # Cubic prototypes keep their symmetry in a relaxation (the forces and the stress
    # anisotropy vanish by symmetry): B2 stays Pm-3m, bcc Li Im-3m.
    assert (study.space_groups["LiAg-B2"], study.space_groups["Li-bcc"]) == ("Pm-3m", "Im-3m")
    assert "LiAg-B2 (Pm-3m)" in markdown
    assert "LiAg, Li9Ag4 and Li3Ag on the Li-Ag hull" in markdown


@pytest.mark.slow
def test_report_reads_the_study_from_the_store(run):
    documents = run_documents(run["store"], "hull-test")
    names = sorted(type(d).__name__ for d in documents)
    assert names == ["BulkReferenceDocument", "HullPrescreenDocument", "HullStudyDocument"]
    report = build_report("t", documents)  # dumps every document to JSON
    screen = next(d for d in documents if type(d).__name__ == "HullPrescreenDocument")
    again = type(screen).model_validate_json(screen.model_dump_json())
    assert [c.structure for c in again.selected] == [c.structure for c in screen.selected]
    titles = [section.title for section in report.sections]
    assert "Li-Ag convex hull and voltage profile" in titles


@pytest.mark.slow
def test_onset_export_refuses_a_hull_without_compounds(run):
    study = find_hull_study(run["store"])
    assert study.hull.stable == run["study"].hull.stable
    with pytest.raises(ContinuumExportError, match="no Li-Ag compound lies on the hull"):
        onset_from_store(run["store"])
    with pytest.raises(ContinuumExportError, match="no Li-Ag hull study of run 'nope'"):
        find_hull_study(run["store"], run_id="nope")


@pytest.mark.slow
def test_onset_export_from_a_hand_made_study(run, tmp_path):
    # The hand-made hull of tests/test_hull.py: Ag - LiAg (-0.2 eV/atom) - Li3Ag (-0.12) - Li;
    # G(LiAg) = 2 (-0.2) = -0.4 eV, G(Li3Ag) = 4 (-0.12) = -0.48 eV per Li_xAg;
    # V(LiAg -> Li3Ag) = -(-0.48 + 0.4) / (3 - 1) = 0.04 V, V(Ag -> LiAg) = 0.40 V.
    calc = get_engine("morse").provenance()
    energies = {
        "Li-bcc": ({"Li": 2}, -3.80),
        "Ag-fcc": ({"Ag": 1}, -2.80),
        "LiAg-B2": ({"Li": 1, "Ag": 1}, -5.10),
        "Li3Ag-D03": ({"Li": 3, "Ag": 1}, -8.98),
    }
    hull = li_ag_hull(
        [
            PhaseEnergy(label=k, phase=k.split("-")[0], composition=c, energy=e, calculator=calc)
            for k, (c, e) in energies.items()
        ]
    )
    study = run["study"].model_copy(
        update={"hull": hull, "job_ids": {k: f"job-{k}" for k in energies}}
    )
    onset = study_onset(study)
    assert onset.onset == pytest.approx(0.04, abs=1e-9)
    assert onset.alloy == "Li-Ag"
    assert onset.source.provenance.fingerprint == calc.fingerprint
    assert sorted(onset.source.job_ids) == sorted(f"job-{k}" for k in energies)
    assert [p.phases for p in onset.voltage_profile] == [["Li3Ag", "LiAg"], ["LiAg", "Ag"]]
    assert [p.voltage for p in onset.voltage_profile] == pytest.approx([0.04, 0.40], abs=1e-9)
    assert "LiAg-B2 / Li3Ag-D03" in onset.source.note

    # The report shows this onset beside the measured 0.05 V, and both plots.
    report = build_report("t", [study], figure_dir=tmp_path / "figures")
    (section,) = report.sections
    row = next(r for r in section.rows if r.quantity.startswith("delithiation onset"))
    assert (row.value, row.reference, row.unit) == (pytest.approx(0.04), 0.05, "V vs Li+/Li")
    assert "LiAg / Li3Ag" in row.note
    assert [f.split("/")[-1] for f in section.figures] == ["li_ag_hull.png", "li_ag_voltage.png"]
    assert "LiAg-B2 -> Li3Ag-D03 40 mV" in render_markdown(report)


# --- settings and engines -------------------------------------------------------------


def test_prototype_labels_match_the_builders():
    assert tuple(c.label for c in li_ag_candidates(include_alternatives=True)) == PROTOTYPE_LABELS


def test_bad_settings_are_named():
    with pytest.raises(ValidationError, match="unknown gamma-brass phases \\['Li7Ag'\\]"):
        HullSearch(gamma_phases=("Li7Ag",))
    with pytest.raises(ValidationError, match="unknown prototypes \\['LiAg-B3'\\]"):
        HullSearch(prototypes=("LiAg-B3",))
    with pytest.raises(ValidationError, match="keep_gamma"):
        HullSearch(keep_gamma=0)
    with pytest.raises(ValidationError, match="unknown engine 'nope'"):
        HullStage(engine="nope")
    vasp = get_engine("vasp", method="pbesol_hull")
    with pytest.raises(ConfigError, match=r"'single_point' needs an ASE calculator.*'vasp'"):
        LiAgHullMaker(engine=vasp, search=HullSearch(prescreen="single_point"))
    # The references are always part of the prototypes.
    assert HullSearch(prototypes=("LiAg-B2",)).prototypes == ("Li-bcc", "Ag-fcc", "LiAg-B2")


def test_prescreen_method_follows_the_engine():
    assert HullSearch().method_for(get_engine("morse")) == "single_point"
    assert HullSearch().method_for(get_engine("vasp", method="pbesol_hull")) == "ewald"
    assert HullSearch(prescreen="ewald").method_for(get_engine("morse")) == "ewald"


def test_hull_engine_uses_the_pbesol_method_with_vasp():
    stage = HullStage()
    campaign = get_engine("vasp", method="pbe_interface", vasp_cmd="srun vasp_std")
    engine = hull_engine(campaign, stage)
    assert engine.method == "pbesol_hull"
    assert engine.vasp_cmd == "srun vasp_std"
    assert engine.provenance().settings["ENCUT_eV"] == 520
    morse = get_engine("morse")
    assert hull_engine(morse, stage) is morse
    assert hull_engine(morse, HullStage(engine={"name": "morse", "cutoff": 5.0})).cutoff == 5.0
    # Another engine than the campaign's: the bulk-stage references are not shared.
    bulk = BulkReferenceMaker(engine=campaign, phases=("Li", "Ag")).make()
    _, planned = build_hull_stage(
        HullStage(lattices=(), gamma_phases=()),
        campaign,
        RelaxSettings(),
        bulk.output["results"]["Li"],
        bulk.output["results"]["Ag"],
    )
    assert planned == len(PROTOTYPE_LABELS)


def test_default_and_cluster_stage_sizes():
    pool = candidate_pool(HullStage().search())
    # bcc/fcc derivatives <= 4 atoms: 27 each; B2 and D0_3 (bcc) and L1_2 (fcc) removed;
    # compositions LiAg, Li2Ag, LiAg2, Li3Ag, LiAg3 per lattice; 20 + 20 + 6 decorations.
    assert [len(s.enumeration.candidates) for s in pool.sources] == [27, 27, 20, 20, 6]
    assert [s.n_duplicates_of_named for s in pool.sources] == [2, 1, 0, 0, 0]
    assert [s.n_to_select for s in pool.sources] == [5, 5, 3, 3, 3]
    cluster = HullStage.cluster()
    assert cluster.max_size > HullStage().max_size
    assert cluster.keep_gamma > HullStage().keep_gamma


def test_unusable_bulk_reference_is_relaxed_here():
    from anodefree.workflows.hull import _usable_reference

    morse = get_engine("morse")
    other = get_engine("morse", cutoff=5.0)
    li = li_ag_candidates()[0].structure
    result = CalculationResult(
        label="Li bulk",
        formula="Li",
        n_atoms=1,
        structure=li,
        energy=-1.0,
        energy_per_atom=-1.0,
        converged=True,
        calculator=other.provenance(),
        task=RELAX.task("relax_full"),
        cache_key="x",
    )
    usable, note = _usable_reference(result, "Li", morse, RELAX)
    assert usable is None
    assert "Li-bcc: bulk-stage result not used (calculator" in note
    same = result.model_copy(update={"calculator": morse.provenance()})
    assert _usable_reference(same, "Li", morse, RELAX) == (same, None)
    looser = RelaxSettings(fmax=0.05)
    assert "relaxation settings differ" in _usable_reference(same, "Li", morse, looser)[1]
