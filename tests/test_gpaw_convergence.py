"""Convergence scans: the table against direct calculations, the quantities, the errors,
and a real GPAW cutoff and k-point scan."""

from __future__ import annotations

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure
from pymatgen.io.ase import AseAtomsAdaptor

from anodefree.errors import ConfigError, EngineError
from anodefree.structures.bulk import bulk_structure
from anodefree.workflows.convergence import (
    EV_PER_A2_TO_J_PER_M2,
    ConvergenceQuantity,
    ConvergenceTable,
    convergence_scan,
)
from anodefree.workflows.engines.morse import MorsePairCalculator
from anodefree.workflows.engines.registry import get_engine


def _morse_energy(structure: Structure, cutoff: float) -> float:
    atoms = AseAtomsAdaptor.get_atoms(structure)
    atoms.calc = MorsePairCalculator(cutoff=cutoff)
    return atoms.get_potential_energy()


@pytest.fixture
def li16():
    return bulk_structure("Li", conventional=True).make_supercell(2, in_place=False)


def test_scan_matches_direct_calculations_and_flags_convergence(morse, li16, tmp_path):
    defect = li16.copy()
    defect.remove_sites([0])
    quantity = ConvergenceQuantity.vacancy_formation(li16, defect)
    cutoffs = [5.0, 6.0, 7.0, 8.0, 9.0]
    # The vacancy formation energy computed independently, formula by hand.
    expected = np.array(
        [_morse_energy(defect, c) - 15 / 16 * _morse_energy(li16, c) for c in cutoffs]
    )
    differences = expected - expected[-1]
    tolerance = float(np.median(np.abs(differences[:-1])))  # some rows in, some out
    table = convergence_scan(
        quantity, morse, "cutoff", cutoffs, tolerance=tolerance, directory=tmp_path
    )
    assert isinstance(table, ConvergenceTable)
    assert [row.value for row in table.rows] == cutoffs
    np.testing.assert_allclose([row.quantity for row in table.rows], expected, atol=1e-10)
    np.testing.assert_allclose([row.difference for row in table.rows], differences, atol=1e-10)
    np.testing.assert_allclose(
        [row.change for row in table.rows[1:]], np.diff(expected), atol=1e-10
    )
    flags = [row.within_tolerance for row in table.rows]
    assert flags == list(np.abs(differences) <= tolerance)
    assert True in flags[:-1]
    assert False in flags
    first = next(i for i in range(len(flags) - 1) if all(flags[i:]))
    assert table.converged_value == cutoffs[first]
    assert table.unit == "eV"
    assert table.provenance.settings["cutoff_A"] == 9.0  # the reference setting
    assert table.rows[0].kpoint_meshes is None
    markdown = table.to_markdown()
    assert "| cutoff |" in markdown
    assert f"converged from cutoff = {cutoffs[first]:g}" in markdown


def test_a_scan_that_only_the_reference_satisfies_says_so(morse, li16):
    quantity = ConvergenceQuantity.energy_per_atom(li16)
    table = convergence_scan(quantity, morse, "cutoff", [5.0, 9.0], tolerance=1e-9)
    assert [row.within_tolerance for row in table.rows] == [False, True]
    assert table.converged_value is None
    assert "not shown to converge" in table.to_markdown()


def test_formation_and_surface_energies_follow_their_definitions(morse):
    li = bulk_structure("Li")
    ag = bulk_structure("Ag")
    liag = Structure(Lattice.cubic(3.17), ["Li", "Ag"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    formation = ConvergenceQuantity.formation_energy_per_atom(liag, {"Li": li, "Ag": ag})
    table = convergence_scan(formation, morse, "cutoff", [5.5, 6.0], tolerance=1.0)
    e_f = _morse_energy(liag, 6.0) / 2 - 0.5 * _morse_energy(li, 6.0) - 0.5 * _morse_energy(ag, 6.0)
    assert table.rows[-1].quantity == pytest.approx(e_f, abs=1e-10)
    assert table.unit == "eV/atom"

    # A Li(100) slab of 5 layers with 12 A of vacuum; bulk reference: conventional cell.
    bulk = bulk_structure("Li", conventional=True)
    a = bulk.lattice.a
    layers = 5
    coords = [[0.5 * (k % 2), 0.5 * (k % 2), k * a / 2] for k in range(layers)]
    height = (layers - 1) * a / 2 + 12.0
    slab = Structure(
        Lattice.tetragonal(a, height), ["Li"] * layers, coords, coords_are_cartesian=True
    )
    surface = ConvergenceQuantity.surface_energy(slab, bulk)
    table = convergence_scan(surface, morse, "cutoff", [5.5, 6.0], tolerance=1.0)
    gamma = (_morse_energy(slab, 6.0) - layers * _morse_energy(bulk, 6.0) / 2) / (2 * a * a)
    assert table.rows[-1].quantity == pytest.approx(gamma * EV_PER_A2_TO_J_PER_M2, abs=1e-10)
    assert table.unit == "J/m^2"
    assert table.rows[-1].quantity > 0  # breaking bonds costs energy


def test_bad_quantities_and_scans_fail_naming_the_value(morse, li16):
    with pytest.raises(ConfigError, match="16 atoms, defect cell 16"):
        ConvergenceQuantity.vacancy_formation(li16, li16)
    liag = Structure(Lattice.cubic(3.17), ["Li", "Ag"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    with pytest.raises(ConfigError, match="'Ag'"):
        ConvergenceQuantity.formation_energy_per_atom(liag, {"Li": bulk_structure("Li")})
    with pytest.raises(ConfigError, match="'Li'"):
        ConvergenceQuantity.formation_energy_per_atom(
            liag, {"Li": bulk_structure("Ag"), "Ag": bulk_structure("Ag")}
        )
    quantity = ConvergenceQuantity.energy_per_atom(li16)
    with pytest.raises(EngineError, match=r"'ecut'.*valid: cutoff"):
        convergence_scan(quantity, morse, "ecut", [300, 400], tolerance=1e-3)
    with pytest.raises(EngineError, match=r"cutoff=-1\.0"):
        convergence_scan(quantity, morse, "cutoff", [-1.0, 6.0], tolerance=1e-3)
    with pytest.raises(ConfigError, match="at least two values"):
        convergence_scan(quantity, morse, "cutoff", [6.0], tolerance=1e-3)
    with pytest.raises(ConfigError, match="repeated"):
        convergence_scan(quantity, morse, "cutoff", [6.0, 6.0], tolerance=1e-3)
    with pytest.raises(ConfigError, match=r"-0\.1"):
        convergence_scan(quantity, morse, "cutoff", [5.0, 6.0], tolerance=-0.1)
    gpaw_engine = get_engine("gpaw")
    with pytest.raises(EngineError, match=r"ecut=50"):
        convergence_scan(quantity, gpaw_engine, "ecut", [50, 300], tolerance=1e-3)


@pytest.mark.gpaw
@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Using OMP_NUM_THREADS:UserWarning")
def test_gpaw_kpoint_and_cutoff_scans_on_bcc_li(tmp_path):
    pytest.importorskip(
        "gpaw",
        reason="gpaw is not importable: install it with `CC=g++ pip install gpaw gpaw-data`",
    )
    li = bulk_structure("Li", a=3.44)
    quantity = ConvergenceQuantity.energy_per_atom(li)
    engine = get_engine("gpaw", ecut=200, kpoint_density=2.0)
    # Densities 1.0 and 1.1 both give a 3x3x3 mesh (2 pi * d * sqrt(2)/3.44 = 2.6, 2.8):
    # computed once. 2.0 gives 6x6x6 (5.2).
    table = convergence_scan(
        quantity, engine, "kpoint_density", [1.0, 1.1, 2.0], tolerance=0.01, directory=tmp_path
    )
    meshes = [row.kpoint_meshes for row in table.rows]
    assert meshes == [[(3, 3, 3)], [(3, 3, 3)], [(6, 6, 6)]]
    assert [row.reused for row in table.rows] == [False, True, False]
    assert table.rows[0].quantity == table.rows[1].quantity
    assert len(list(tmp_path.glob("kpoint_density-*.txt"))) == 2
    assert table.provenance.settings["kpoint_density_per_A"] == 2.0

    # The plane-wave basis grows with the cutoff: at fixed mesh and smearing the total
    # energy falls monotonically, by less and less.
    mesh_engine = get_engine("gpaw", ecut=200, kpoint_mesh=(4, 4, 4), scf_energy=1e-7)
    table = convergence_scan(
        quantity, mesh_engine, "ecut", [150, 250, 350], tolerance=0.005, directory=tmp_path
    )
    energies = [row.quantity for row in table.rows]
    assert energies[0] > energies[1] > energies[2]
    assert abs(energies[2] - energies[1]) < abs(energies[1] - energies[0])
    assert table.rows[-1].kpoint_meshes == [(4, 4, 4)]
