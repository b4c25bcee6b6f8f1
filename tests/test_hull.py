"""The Li-Ag hull and voltage profile against values worked out by hand."""

from __future__ import annotations

import pytest
from pymatgen.core import Lattice, Structure

from anodefree.analysis.documents.calculation import CalculationResult
from anodefree.analysis.documents.hull import PhaseEnergy
from anodefree.analysis.hull import (
    HullError,
    capacity_per_gram_ag,
    formation_energy_per_atom,
    hull_table,
    li_ag_hull,
    voltage_steps,
)
from anodefree.errors import MixedCalculatorError
from anodefree.provenance import CalculatorProvenance
from anodefree.tasks import CalculationTask

CALC = CalculatorProvenance(engine="toy", package="none", version="0", settings={"x": 1})
OTHER = CalculatorProvenance(engine="toy", package="none", version="0", settings={"x": 2})

# Hand-made energies. References: e_Li = -3.80 / 2 = -1.90 eV/atom (bcc, 2-atom cell),
# e_Ag = -2.80 eV/atom (fcc, 1 atom). Formation energy per atom
# E_f = E/N - c e_Li - (1 - c) e_Ag, c = Li fraction:
#   LiAg-B2   Li1Ag1  -5.10 -> -2.550 - (-2.350)   = -0.200
#   LiAg-L10  Li1Ag1  -5.00 -> -2.500 - (-2.350)   = -0.150
#   Li3Ag-D03 Li3Ag1  -8.98 -> -2.245 - (-2.125)   = -0.120
#   Li3Ag-L12 Li3Ag1  -8.90 -> -2.225 - (-2.125)   = -0.100
#   Li2Ag     Li2Ag1  -7.02 -> -2.340 - (-2.200)   = -0.140
#   LiAg3     Li1Ag3 -10.50 -> -2.625 - (-2.575)   = -0.050
#   Li12Ag    Li12Ag1 -25.99 -> -1.99923 - (-1.96923) = -0.030
#   Li-fcc    Li1     -1.89 -> -1.890 - (-1.900)   = +0.010
# Lower hull (c, E_f): Ag (0, 0) - LiAg-B2 (1/2, -0.2) - Li3Ag-D03 (3/4, -0.12) - Li (1, 0);
# Li3Ag-D03 is below the LiAg-Li chord at c = 3/4 (-0.10), so it is a vertex.
# Energies above the hull (chord values at the entry's c):
#   LiAg-L10:  -0.15 - (-0.20)                                = 0.05
#   Li3Ag-L12: -0.10 - (-0.12)                                = 0.02
#   Li2Ag:     chord LiAg-Li3Ag at 2/3: -0.2 + (1/6)/(1/4)*0.08 = -0.146667 -> 0.006667
#   LiAg3:     chord Ag-LiAg at 1/4: -0.1                       -> 0.05
#   Li12Ag:    chord Li3Ag-Li at 12/13: -0.12 * (1/13)/(1/4) = -0.48/13 -> 0.09/13 = 0.006923
#   Li-fcc:    the hull is 0 at c = 1                          -> 0.01
ENERGIES = {
    "Li-bcc": ({"Li": 2}, -3.80),
    "Ag-fcc": ({"Ag": 1}, -2.80),
    "LiAg-B2": ({"Li": 1, "Ag": 1}, -5.10),
    "LiAg-L10": ({"Li": 1, "Ag": 1}, -5.00),
    "Li3Ag-D03": ({"Li": 3, "Ag": 1}, -8.98),
    "Li3Ag-L12": ({"Li": 3, "Ag": 1}, -8.90),
    "Li2Ag": ({"Li": 2, "Ag": 1}, -7.02),
    "LiAg3": ({"Li": 1, "Ag": 3}, -10.50),
    "Li12Ag-gamma-0": ({"Li": 12, "Ag": 1}, -25.99),
    "Li-fcc": ({"Li": 1}, -1.89),
}


def _entries(energies=ENERGIES, calculator=CALC) -> list[PhaseEnergy]:
    return [
        PhaseEnergy(
            label=label,
            phase=label.split("-")[0],
            composition=composition,
            energy=energy,
            calculator=calculator,
        )
        for label, (composition, energy) in energies.items()
    ]


# Float tolerance: the hand values are exact decimals; 1e-9 eV/atom covers round-off.
TOL = 1e-9


def test_formation_energies_and_hull_distances_match_hand_values():
    doc = li_ag_hull(_entries())
    expected = {
        "Li-bcc": (0.0, 0.0),
        "Ag-fcc": (0.0, 0.0),
        "LiAg-B2": (-0.20, 0.0),
        "LiAg-L10": (-0.15, 0.05),
        "Li3Ag-D03": (-0.12, 0.0),
        "Li3Ag-L12": (-0.10, 0.02),
        "Li2Ag": (-0.14, 0.02 / 3),
        "LiAg3": (-0.05, 0.05),
        "Li12Ag-gamma-0": (-0.03, 0.09 / 13),
        "Li-fcc": (0.01, 0.01),
    }
    for label, (e_form, e_hull) in expected.items():
        row = doc.row(label)
        assert row.formation_energy_per_atom == pytest.approx(e_form, abs=TOL), label
        assert row.e_above_hull == pytest.approx(e_hull, abs=TOL), label
        assert row.on_hull == (e_hull == 0.0), label
    assert doc.stable == ["Ag-fcc", "LiAg-B2", "Li3Ag-D03", "Li-bcc"]
    assert doc.row("Li2Ag").decomposition == ["LiAg-B2", "Li3Ag-D03"]
    assert doc.row("LiAg3").decomposition == ["Ag-fcc", "LiAg-B2"]
    assert doc.reference_energies == pytest.approx({"Li": -1.9, "Ag": -2.8})
    assert doc.row("Li2Ag").li_per_ag == pytest.approx(2.0)
    assert doc.row("Li-bcc").li_per_ag is None


def test_voltage_profile_matches_hand_values():
    # G(x) = (1 + x) E_f per Li_xAg: Ag 0, LiAg 2(-0.2) = -0.4, Li3Ag 4(-0.12) = -0.48 eV.
    # V(Ag -> LiAg) = -(-0.4 - 0)/1 = 0.40 V; V(LiAg -> Li3Ag) = -(-0.48 + 0.4)/2 = 0.04 V.
    profile = li_ag_hull(_entries()).voltage_profile
    assert [(s.li_poor_phase, s.li_rich_phase) for s in profile.steps] == [
        ("Ag-fcc", "LiAg-B2"),
        ("LiAg-B2", "Li3Ag-D03"),
    ]
    assert [s.voltage for s in profile.steps] == pytest.approx([0.40, 0.04], abs=TOL)
    assert [(s.x_start, s.x_end) for s in profile.steps] == [(0.0, 1.0), (1.0, 3.0)]
    assert profile.steps[1].li_fraction_end == pytest.approx(0.75)
    # The most Li-rich alloy region gives the delithiation onset.
    assert profile.delithiation_onset == pytest.approx(0.04, abs=TOL)
    assert profile.onset_region == ["LiAg-B2", "Li3Ag-D03"]
    assert profile.calculator == CALC
    # 3 Li per Ag: 3 * 96485.33 C/mol / 3.6 C/mAh / 107.8682 g/mol = 80404.44 / 107.8682
    # = 745.395 mAh/g.
    assert profile.steps[1].capacity_end == pytest.approx(745.395, abs=0.001)


def test_a_new_hull_phase_moves_the_onset():
    # Li12Ag at E_f = -0.05 eV/atom: total -26.25 eV (-26.25/13 + 25.6/13 = -0.05). It lies
    # below the Li3Ag-Li chord (-0.0369) and Li3Ag stays below the LiAg-Li12Ag chord at 3/4
    # (-0.2 + (0.25 / 0.42308) * 0.15 = -0.1114). New last region Li3Ag -> Li12Ag:
    # G(3) = -0.48, G(12) = 13 (-0.05) = -0.65 eV -> V = 0.17 / 9 = 0.018889 V.
    energies = {**ENERGIES, "Li12Ag-gamma-0": ({"Li": 12, "Ag": 1}, -26.25)}
    doc = li_ag_hull(_entries(energies))
    assert doc.stable == ["Ag-fcc", "LiAg-B2", "Li3Ag-D03", "Li12Ag-gamma-0", "Li-bcc"]
    assert doc.voltage_profile.delithiation_onset == pytest.approx(0.17 / 9, abs=TOL)
    assert doc.voltage_profile.onset_region == ["Li3Ag-D03", "Li12Ag-gamma-0"]


def test_named_phases_take_the_lowest_candidate():
    doc = li_ag_hull(_entries())
    li3ag = doc.named("Li3Ag")
    assert li3ag.best_label == "Li3Ag-D03"
    assert li3ag.n_candidates == 2
    assert li3ag.on_hull
    assert doc.named("LiAg").best_label == "LiAg-B2"
    li12ag = doc.named("Li12Ag")
    assert li12ag.best_label == "Li12Ag-gamma-0"
    assert li12ag.e_above_hull == pytest.approx(0.09 / 13, abs=TOL)
    assert li12ag.on_hull is False
    # The reference, not the lower-index polymorph list, represents pure Li.
    assert doc.named("Li").best_label == "Li-bcc"
    missing = doc.named("Li9Ag4")
    assert missing.best_label is None
    assert missing.n_candidates == 0
    assert missing.li_fraction == pytest.approx(9 / 13)
    table = hull_table(doc)
    assert [r["phase"] for r in table] == [p.phase for p in doc.named_phases]
    assert next(r for r in table if r["phase"] == "Li12Ag")["E_hull (meV/atom)"] == 6.9


def test_on_hull_tolerance_is_applied():
    doc = li_ag_hull(_entries(), on_hull_tolerance=0.01)
    assert doc.row("Li2Ag").on_hull  # 6.7 meV/atom above
    assert not doc.row("Li3Ag-L12").on_hull  # 20 meV/atom above
    with pytest.raises(HullError, match="on_hull_tolerance"):
        li_ag_hull(_entries(), on_hull_tolerance=-1)


def test_mixed_calculators_are_refused():
    entries = _entries()
    entries[3] = entries[3].model_copy(update={"calculator": OTHER})
    with pytest.raises(MixedCalculatorError, match="settings"):
        li_ag_hull(entries)


def test_bad_inputs_are_named():
    entries = _entries()
    with pytest.raises(HullError, match="'Li-bcc' for Li is missing; elemental Li entries: Li-fcc"):
        li_ag_hull([e for e in entries if e.label != "Li-bcc"])
    with pytest.raises(HullError, match="duplicate candidate labels: LiAg-B2"):
        li_ag_hull([*entries, entries[2]])
    foreign = PhaseEnergy(
        label="LiMg", phase="LiMg", composition={"Li": 1, "Mg": 1}, energy=-3, calculator=CALC
    )
    with pytest.raises(HullError, match="LiMg"):
        li_ag_hull([*entries, foreign])
    with pytest.raises(HullError, match="no energies"):
        li_ag_hull([])
    # A polymorph below its reference is reported, not hidden.
    low = {**ENERGIES, "Li-fcc": ({"Li": 1}, -1.95)}
    doc = li_ag_hull(_entries(low))
    assert doc.row("Li-fcc").e_above_hull == pytest.approx(-0.05)
    assert any("below the designated reference Li-bcc" in w for w in doc.warnings)


def test_references_can_be_renamed_and_unconverged_inputs_are_flagged():
    energies = {("Li-hcp" if k == "Li-bcc" else k): v for k, v in ENERGIES.items()}
    entries = _entries(energies)
    entries[0] = entries[0].model_copy(update={"converged": False})
    doc = li_ag_hull(entries, references={"Li": "Li-hcp"})
    assert doc.references == {"Li": "Li-hcp", "Ag": "Ag-fcc"}
    assert any("Li-hcp" in w and "not converged" in w for w in doc.warnings)


def test_no_compound_on_the_hull_gives_no_plateau():
    energies = {k: ENERGIES[k] for k in ("Li-bcc", "Ag-fcc")}
    energies["LiAg-B2"] = ({"Li": 1, "Ag": 1}, -4.60)  # E_f = +0.05 eV/atom
    doc = li_ag_hull(_entries(energies))
    assert doc.voltage_profile.steps == []
    assert doc.voltage_profile.delithiation_onset is None
    assert any("no Li-Ag compound" in w for w in doc.warnings)


def test_plain_formulas():
    assert formation_energy_per_atom(-2.55, 0.5, -1.9, -2.8) == pytest.approx(-0.2)
    steps = voltage_steps([("Ag", 0.0, 0.0), ("LiAg", 0.5, -0.2), ("Li", 1.0, 0.0)])
    assert len(steps) == 1  # the Li end is the plating region, not an alloy step
    assert steps[0].voltage == pytest.approx(0.4)
    assert capacity_per_gram_ag(1.0) == pytest.approx(26801.48 / 107.8682, abs=0.01)


def test_phase_energy_from_calculation_result():
    structure = Structure(Lattice.cubic(3.17), ["Li", "Ag"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    result = CalculationResult(
        label="LiAg-B2 relax",
        formula="LiAg",
        n_atoms=2,
        structure=structure,
        energy=-5.1,
        energy_per_atom=-2.55,
        converged=True,
        calculator=CALC,
        task=CalculationTask(kind="relax_full"),
        cache_key="k",
    )
    entry = PhaseEnergy.from_result(result, label="LiAg-B2", origin="prototype")
    assert entry.phase == "LiAg"
    assert entry.composition == {"Li": 1.0, "Ag": 1.0}
    assert entry.energy_per_atom == pytest.approx(-2.55)
    assert entry.calculator == CALC


def test_hull_and_voltage_plots_are_written(tmp_path):
    import matplotlib.image as mpimg

    from anodefree.analysis.plotting.hull import plot_hull, plot_voltage_profile

    doc = li_ag_hull(_entries())
    hull_png = plot_hull(doc, tmp_path / "hull.png")
    profile_png = plot_voltage_profile(doc.voltage_profile, tmp_path / "voltage.png")
    fraction_png = plot_voltage_profile(
        doc.voltage_profile, tmp_path / "voltage_fraction.png", x_axis="li_fraction"
    )
    for path in (hull_png, profile_png, fraction_png):
        image = mpimg.imread(path)
        # A real figure: 150 dpi x 6.4 in = 960 px wide and not a blank canvas.
        assert image.shape[1] == 960
        assert image[..., :3].std() > 0.01
    with pytest.raises(ValueError, match="x_axis"):
        plot_voltage_profile(doc.voltage_profile, tmp_path / "bad.png", x_axis="capacity")
