"""GPAW pieces of the validation campaign on seconds-sized cells: the shared calculator of
NEB images and phonon displacements, and a real convergence study."""

from __future__ import annotations

import pytest
from ase.build import bulk

from anodefree.structures.bulk import bulk_structure
from anodefree.workflows.engines.registry import get_engine
from anodefree.workflows.validation import ConvergenceScanSettings, run_convergence_study

pytest.importorskip("gpaw")

pytestmark = [
    pytest.mark.gpaw,
    pytest.mark.filterwarnings("ignore:Using OMP_NUM_THREADS:UserWarning"),
]


def test_shared_calculator_restarts_when_the_point_group_breaks(tmp_path, monkeypatch):
    """A displaced atom breaks bcc symmetry: GPAW alone raises SymmetryBrokenError."""
    monkeypatch.chdir(tmp_path)
    engine = get_engine("gpaw", ecut=200.0, kpoint_mesh=(2, 2, 2))
    calc = engine.calculator()
    perfect = bulk("Li", "bcc", a=3.44, cubic=True)
    perfect.calc = calc
    perfect.get_potential_energy()
    displaced = perfect.copy()
    displaced.positions[0] += [0.1, 0.05, 0.0]
    displaced.calc = calc
    energy, forces = displaced.get_potential_energy(), displaced.get_forces()
    assert calc.rebuilds == 1
    fresh = displaced.copy()
    fresh.calc = engine.build_calculator(fresh, log_file=tmp_path / "fresh.txt")
    # same inputs, new SCF from scratch: equal to the SCF tolerance (1e-5 eV/electron)
    assert energy == pytest.approx(fresh.get_potential_energy(), abs=1e-4)
    assert forces == pytest.approx(fresh.get_forces(), abs=2e-3)
    # the displaced atom is pulled back (restoring force against the displacement)
    assert forces[0][0] < 0


def test_convergence_study_with_gpaw_checks_the_campaign_cutoff(tmp_path):
    """E/atom of bcc Li vs cutoff: the Li PAW dataset is soft, 250 eV is within 2 meV/atom.

    The tolerance (5 meV/atom) is the usual total-energy criterion; the 150 eV row must
    differ from 250 eV by more than the 200 eV row (the energy converges from above in a
    variational plane-wave basis).
    """
    engine = get_engine("gpaw", ecut=200.0, kpoint_mesh=(4, 4, 4))
    scan = ConvergenceScanSettings(
        quantity="li_energy_per_atom", setting="ecut", values=(150.0, 200.0, 250.0),
        tolerance=0.005,
    )  # fmt: skip
    document = run_convergence_study(engine, (scan,), bulk_structure("Li"), None, str(tmp_path))
    table = document.tables[0]
    differences = [row.difference for row in table.rows]
    assert differences[0] > differences[1] > 0 == differences[2]
    assert document.checks[0].campaign_value == 200.0
    assert document.checks[0].difference == pytest.approx(differences[1])
    assert document.calculator.engine == "gpaw"
    assert table.provenance.settings["ecut_eV"] == 250.0
    assert list(tmp_path.glob("ecut-*.txt"))  # GPAW logs next to the scan
