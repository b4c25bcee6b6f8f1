"""Interfacial-defect documents: the formulas, refusal of mixed engines, report statements.

The results are made by hand with chosen energies, so that every derived number has an
exact expected value (the flow against real calculations is tested in
``test_interface_defects_flow.py``).
"""

from __future__ import annotations

import pytest
from pymatgen.core import Lattice, Structure

from anodefree.analysis.documents.calculation import CalculationResult
from anodefree.analysis.documents.interface_defects import (
    FillingSpec,
    InteractionSpec,
    InterfaceDefectDocument,
    InterfaceDefectSpec,
    LayerSpec,
)
from anodefree.analysis.report import build_report, render_markdown
from anodefree.errors import MixedCalculatorError
from anodefree.structures.interface_defects import DefectRecord, DefectSite, FillingSites
from anodefree.tasks import CalculationTask
from anodefree.workflows.engines.registry import get_engine

MU = -1.9  # eV/atom of the hand-made bcc Li
E_HOST = -400.0  # eV, 1x1 host
E_HOST_2X1 = -800.0  # eV, 2x1 pristine


def _result(label: str, energy: float, engine=None, n_atoms: int = 100) -> CalculationResult:
    engine = engine or get_engine("morse")
    structure = Structure(Lattice.cubic(3.0), ["Li"], [[0, 0, 0]])
    return CalculationResult(
        label=label,
        formula="Li",
        n_atoms=n_atoms,
        structure=structure,
        energy=energy,
        energy_per_atom=energy / n_atoms,
        converged=True,
        calculator=engine.provenance(),
        task=CalculationTask(kind="relax_positions"),
        cache_key=label,
        job_uuid=f"job-{label}",
        source_job_uuid=f"src-{label}",
    )


def _site(index: int, layer: int, element: str = "Li") -> DefectSite:
    return DefectSite(
        index=index,
        primitive_index=index % 100,
        element=element,
        layer=layer,
        distance_to_contact=2.5 + 1.7 * (layer - 1),
    )


def _record(label, cell, vacancies=(), solutes=(), distance=None) -> DefectRecord:
    return DefectRecord(
        label=label,
        supercell=cell,
        n_atoms=99,
        vacancies=tuple(vacancies),
        solutes=tuple(solutes),
        radius=6.0,
        n_free=30,
        fixed_indices=(),
        pair_distance=distance,
    )


def _spec() -> InterfaceDefectSpec:
    one, two = (1, 1), (2, 1)
    records = {
        "v1": _record("v1", one, [_site(10, 1)]),
        "v2": _record("v2", one, [_site(20, 2)]),
        "v5": _record("v5", one, [_site(50, 5)]),
        "s1": _record("s1", one, solutes=[_site(11, 1, "Mg")]),
        "s5": _record("s5", one, solutes=[_site(51, 5, "Mg")]),
        "s1 2x1": _record("s1 2x1", two, solutes=[_site(11, 1, "Mg")]),
        "pair": _record("pair", two, [_site(12, 1)], [_site(11, 1, "Mg")], distance=3.48),
        "bare": _record("bare", two, [_site(12, 1)]),
        "initial": _record("initial", two, [_site(10, 1)], [_site(21, 2, "Mg")], distance=3.0),
        "by_host": _record("by_host", two, [_site(22, 2)], [_site(21, 2, "Mg")], distance=3.5),
        "by_solute": _record("by_solute", two, [_site(21, 2)], [_site(10, 1, "Mg")], 3.0),
    }
    sites = FillingSites(
        vacancy=10,
        solute=21,
        filler=22,
        initial_distance=3.0,
        by_host_distance=3.5,
        by_solute_distance=3.0,
    )
    return InterfaceDefectSpec(
        system="Li-Mg/Li2S",
        solute="Mg",
        lattice_constant=3.44,
        n_layers=9,
        interior_layer=5,
        area=98.1,
        radius=6.0,
        size_tolerance=0.02,
        single_supercell=one,
        pair_supercell=two,
        pristine={"1x1": "host", "2x1": "pristine 2x1"},
        records=records,
        profile=(
            LayerSpec(layer=1, label="v1"),
            LayerSpec(layer=2, label="v2"),
            LayerSpec(layer=5, label="v5", interior=True),
        ),
        segregation=(LayerSpec(layer=1, label="s1"), LayerSpec(layer=5, label="s5", interior=True)),
        interaction_solute="s1 2x1",
        interaction=(InteractionSpec(shell=1, pair="pair", bare="bare"),),  # noqa: S604 - a neighbour shell
        filling=(
            FillingSpec(
                case="near",
                sites=sites,
                initial="initial",
                by_host="by_host",
                by_solute="by_solute",
            ),
        ),
    )


def _results(e_f1: float, e_seg: float, e_int: float, fill_host: float, fill_solute: float):
    """Results whose derived quantities are the given numbers (E_f(interior) = 0.5 eV)."""
    e_f2, e_f5, e_bare = 0.45, 0.5, 0.4
    e_s5 = -401.0
    e_s_2x1 = -801.0
    energies = {
        "host": E_HOST,
        "pristine 2x1": E_HOST_2X1,
        "v1": E_HOST + e_f1 - MU,
        "v2": E_HOST + e_f2 - MU,
        "v5": E_HOST + e_f5 - MU,
        "s1": e_s5 + e_seg,
        "s5": e_s5,
        "s1 2x1": e_s_2x1,
        "bare": E_HOST_2X1 + e_bare - MU,
        "pair": e_s_2x1 + e_bare + e_int - MU,
        "initial": -798.0,
        "by_host": -798.0 + fill_host,
        "by_solute": -798.0 + fill_solute,
    }
    results = {label: _result(label, e) for label, e in energies.items()}
    results["li_bulk"] = _result("li_bulk", MU, n_atoms=1)
    return results


def test_formulas():
    document = InterfaceDefectDocument.from_results(
        _spec(), _results(e_f1=0.3, e_seg=-0.2, e_int=0.05, fill_host=-0.1, fill_solute=-0.25)
    )
    profile = document.profile_by_layer
    assert profile[1].formation_energy == pytest.approx(0.3)
    assert profile[2].formation_energy == pytest.approx(0.45)
    assert profile[5].interior
    assert document.interior_formation_energy == pytest.approx(0.5)
    assert document.l1_minus_interior == pytest.approx(-0.2)
    assert profile[1].relative_to_interior == pytest.approx(-0.2)
    (seg_l1,) = [s for s in document.segregation if s.layer == 1]
    assert seg_l1.segregation_energy == pytest.approx(-0.2)
    (interaction,) = document.interaction
    assert interaction.interaction_energy == pytest.approx(0.05)
    assert interaction.formation_energy == pytest.approx(0.45)
    assert interaction.formation_energy_without_solute == pytest.approx(0.4)
    assert interaction.bcc_shell == 2  # 3.48 A ~ a
    (move,) = document.filling
    assert move.energy_by_host == pytest.approx(-0.1)
    assert move.energy_by_solute == pytest.approx(-0.25)
    assert move.preferred == "solute"
    assert document.chemical_potential == MU
    assert "src-li_bulk" in document.job_uuids
    assert "src-v1" in document.job_uuids
    assert profile[1].job_uuids == ["src-host", "src-v1"]


def test_mixing_engines_is_refused():
    results = _results(0.3, -0.2, 0.05, -0.1, -0.25)
    other = get_engine("morse", cutoff=5.0)
    results["v2"] = _result("v2", results["v2"].energy, engine=other)
    with pytest.raises(MixedCalculatorError, match="interfacial defect energies"):
        InterfaceDefectDocument.from_results(_spec(), results)


def test_failed_inputs_become_warnings():
    results = _results(0.3, -0.2, 0.05, -0.1, -0.25)
    results["v2"] = None
    document = InterfaceDefectDocument.from_results(_spec(), results)
    assert 2 not in document.profile_by_layer
    assert "v2: calculation failed" in document.warnings
    with pytest.raises(RuntimeError, match="missing"):
        InterfaceDefectDocument.from_results(_spec(), {**results, "host": None})


@pytest.mark.parametrize(
    ("e_f1", "e_seg", "e_int", "fill_host", "fill_solute"),
    [
        (0.3, -0.2, 0.05, -0.1, -0.25),  # attracted, prefers L1, repels, filled by Mg
        (0.7, 0.15, -0.03, -0.3, -0.05),  # repelled, avoids L1, attracts, filled by Li
        (0.495, -0.004, 0.002, -0.1, -0.1001),  # weak effects of each sign
    ],
)
def test_statements_follow_the_signs(e_f1, e_seg, e_int, fill_host, fill_solute):
    document = InterfaceDefectDocument.from_results(
        _spec(), _results(e_f1, e_seg, e_int, fill_host, fill_solute)
    )
    statements = {s.topic: s for s in document.statements}
    vacancy = statements["vacancy and L1"]
    assert vacancy.value == pytest.approx(e_f1 - 0.5)
    assert vacancy.verdict == ("attracted to L1" if e_f1 < 0.5 else "repelled from L1")
    assert f"{e_f1:.3f} eV" in vacancy.text
    solute = statements["solute and L1"]
    assert solute.value == pytest.approx(e_seg)
    assert solute.verdict == ("prefers L1" if e_seg < 0 else "avoids L1")
    pair = statements["solute and vacancy at the interface"]
    assert pair.verdict == ("repels" if e_int > 0 else "attracts")
    next_to = statements["vacancy next to solute and L1"]
    assert next_to.value == pytest.approx(0.4 + e_int - 0.5)
    filling = statements["filling"]
    assert filling.value == pytest.approx(fill_solute - fill_host)
    assert filling.verdict == ("filled by Mg" if fill_solute < fill_host else "filled by Li")
    for statement in document.statements:
        weak = abs(statement.value) < 0.01
        assert ("weakly" in statement.text) == weak
    # the report carries each statement with its number and verdict
    report = build_report("test", [document])
    (section,) = report.sections
    rows = {r.quantity: r for r in section.rows}
    for statement in document.statements:
        row = rows[f"Li-Mg/Li2S: {statement.topic}"]
        assert row.value == pytest.approx(statement.value)
        assert row.note == statement.verdict
        assert row.unit == "eV"
    markdown = render_markdown(report)
    assert vacancy.text in markdown
    assert solute.text in markdown
