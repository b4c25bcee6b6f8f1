"""The GPAW engine's settings, k-point meshes, provenance and Maker (no SCF runs here)."""

from __future__ import annotations

import gzip
import hashlib
import math
import sys

import numpy as np
import pytest
from ase import Atoms
from monty.json import MontyDecoder, MontyEncoder
from pymatgen.core import Lattice, Structure

from anodefree.errors import EngineError
from anodefree.structures.bulk import bulk_structure
from anodefree.tasks import CalculationTask
from anodefree.workflows.engines.gpaw import (
    GPAWEngine,
    GPAWRelaxMaker,
    kpoint_mesh,
    unique_log_path,
)
from anodefree.workflows.engines.registry import get_engine

try:
    import gpaw

    HAVE_GPAW = True
except ImportError:
    HAVE_GPAW = False

needs_gpaw = pytest.mark.skipif(
    not HAVE_GPAW,
    reason="gpaw is not importable: install it with `CC=g++ pip install gpaw gpaw-data` "
    "(after apt-get install libxc-dev libopenblas-dev); `make test` does both",
)


@pytest.mark.parametrize(
    ("settings", "fragments"),
    [
        ({"ecut": -5}, ["ecut", "-5"]),
        ({"ecut": 20}, ["ecut", "20"]),
        ({"kpoint_density": 0}, ["kpoint_density", "0"]),
        ({"kpoint_mesh": (4, 0, 4)}, ["kpoint_mesh", "0"]),
        ({"kpoint_mesh": (4, 4, 4), "kpoint_density": 3.0}, ["3.0", "(4, 4, 4)", "not both"]),
        ({"kpoint_density": None}, ["kpoint_density or kpoint_mesh"]),
        ({"smearing": "cold"}, ["smearing", "'cold'"]),
        ({"smearing_width": 0.0}, ["smearing_width", "0.0"]),
        ({"xc": "PBEsol"}, ["xc", "'PBEsol'"]),
        ({"setups": {"Xx": "paw"}}, ["'Xx'"]),
        ({"max_scf_iterations": 0}, ["max_scf_iterations", "0"]),
        ({"scf_energy": -1e-5}, ["scf_energy", "-1e-05"]),
        ({"log_name": "../escape"}, ["log_name", "../escape"]),
        ({"bogus": 1}, ["bogus"]),
    ],
)
def test_invalid_settings_fail_naming_the_value(settings, fragments):
    with pytest.raises(EngineError) as info:
        get_engine("gpaw", **settings)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message


def test_defaults_are_the_reference_method_where_it_applies():
    engine = get_engine("gpaw")
    assert isinstance(engine, GPAWEngine)
    assert engine.xc == "PBE"
    assert engine.ecut == 500.0  # the reference method's cutoff (science.md)
    assert (engine.smearing, engine.smearing_width) == ("gaussian", 0.1)
    assert engine.spin_polarized is False
    assert engine.kpoint_density is not None
    assert engine.kpoint_mesh is None
    assert GPAWEngine.reusable_calculator is False


def test_a_mesh_replaces_the_default_density():
    engine = get_engine("gpaw", kpoint_mesh=[3, 3, 2])
    assert engine.kpoint_density is None
    assert engine.kpoint_mesh == (3, 3, 2)
    # An explicit mesh is used as given, whatever the cell.
    assert engine.kpoints_for(bulk_structure("Li")) == (3, 3, 2)


def test_kpoint_meshes_from_density_match_hand_computed_values():
    a = 3.44
    # Primitive bcc: |b_i| = sqrt(2)/a -> 2 pi * 4 * 0.4111 = 10.33 -> 11.
    assert kpoint_mesh(bulk_structure("Li", a=a), 4.0) == (11, 11, 11)
    # Conventional cubic cell: |b| = 1/a -> 2 pi * 4 / 3.44 = 7.31 -> 8.
    conventional = bulk_structure("Li", a=a, conventional=True)
    assert kpoint_mesh(conventional, 4.0) == (8, 8, 8)
    # 54-atom 3x3x3 supercell: 2 pi * 4 / 10.32 = 2.44 -> 3; density 5: 3.04 -> 4.
    supercell = conventional.make_supercell(3, in_place=False)
    assert len(supercell) == 54
    assert kpoint_mesh(supercell, 4.0) == (3, 3, 3)
    assert kpoint_mesh(supercell, 5.0) == (4, 4, 4)
    # A slab with 30 A along c: 2 pi * 4 / 30 = 0.84 -> 1 along the normal.
    slab = Structure(Lattice.tetragonal(a, 30.0), ["Li"], [[0, 0, 0]])
    assert kpoint_mesh(slab, 4.0) == (8, 8, 1)
    # Non-periodic axes of ASE atoms get one point whatever the density.
    atoms = Atoms("Li", cell=[a, a, a], pbc=[True, True, False])
    assert kpoint_mesh(atoms, 4.0) == (8, 8, 1)
    # A density that gives exactly 6 points does not round up to 7 on rounding noise.
    assert kpoint_mesh(conventional, 6 * a / (2 * math.pi)) == (6, 6, 6)


def test_kpoint_mesh_agrees_with_ase_on_a_skewed_cell():
    from ase.calculators.calculator import kptdensity2monkhorstpack

    cell = np.array([[4.1, 0.0, 0.0], [1.3, 5.2, 0.0], [0.7, -0.9, 7.7]])
    atoms = Atoms("Li", cell=cell, pbc=True)
    for density in (2.0, 3.7, 5.5):
        expected = tuple(int(n) for n in kptdensity2monkhorstpack(atoms, density, even=False))
        assert kpoint_mesh(atoms, density) == expected


def test_gpaw_parameters_carry_every_setting():
    engine = get_engine(
        "gpaw",
        ecut=420,
        kpoint_density=3.0,
        smearing="gaussian",
        smearing_width=0.05,
        scf_energy=2e-6,
        scf_forces=1e-3,
        max_scf_iterations=120,
        setups={"Ag": "11"},
    )
    li = bulk_structure("Li", a=3.44)
    parameters = engine.gpaw_parameters(li)
    assert parameters["mode"] == {"name": "pw", "ecut": 420}
    assert parameters["xc"] == "PBE"
    # Fixed from the cell: 2 pi * 3 * sqrt(2)/3.44 = 7.75 -> 8, Gamma-centred.
    assert parameters["kpts"] == {"size": (8, 8, 8), "gamma": True}
    # Gaussian smearing is GPAW's Methfessel-Paxton of order 0.
    assert parameters["occupations"] == {"name": "methfessel-paxton", "order": 0, "width": 0.05}
    assert parameters["spinpol"] is False
    assert parameters["convergence"] == {
        "energy": 2e-6,
        "density": 1e-4,
        "eigenstates": 4e-8,
        "forces": 1e-3,
    }
    assert parameters["maxiter"] == 120
    assert parameters["setups"] == {"Ag": "11"}
    assert engine.dataset_filename("Ag") == "Ag.11.PBE"
    assert engine.dataset_filename("Li") == "Li.PBE"
    # Without a structure GPAW derives the mesh from the density for each cell.
    assert engine.gpaw_parameters()["kpts"] == {"density": 3.0, "gamma": True}
    fd = get_engine("gpaw", smearing="fermi-dirac").gpaw_parameters(li)
    assert fd["occupations"] == {"name": "fermi-dirac", "width": 0.1}


def test_unique_log_paths_never_overwrite(tmp_path):
    first = unique_log_path(tmp_path)
    assert first.name == "gpaw.txt"
    first.write_text("x")
    second = unique_log_path(tmp_path)
    assert second.name == "gpaw-2.txt"
    second.write_text("x")
    assert unique_log_path(tmp_path).name == "gpaw-3.txt"


def test_missing_gpaw_is_a_clear_engine_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "gpaw", None)
    with pytest.raises(EngineError, match=r"CC=g\+\+ pip install gpaw gpaw-data"):
        get_engine("gpaw").check_available()


@needs_gpaw
def test_provenance_records_settings_versions_and_dataset_identities():
    import gpaw_data

    engine = get_engine("gpaw", ecut=350, kpoint_density=4.5, smearing_width=0.2)
    provenance = engine.provenance()
    assert provenance.engine == "gpaw"
    assert provenance.version == gpaw.__version__
    settings = provenance.settings
    assert settings["ecut_eV"] == 350
    assert settings["kpoint_density_per_A"] == 4.5
    assert settings["kpoint_mesh"] is None
    assert settings["kpoint_gamma_centred"] is True
    assert settings["smearing"] == "gaussian"
    assert settings["smearing_width_eV"] == 0.2
    assert settings["spin_polarized"] is False
    assert settings["xc"] == "PBE"
    assert settings["scf_energy_eV_per_electron"] == engine.scf_energy
    assert settings["max_scf_iterations"] == engine.max_scf_iterations
    assert settings["gpaw_data_version"] == gpaw_data.__version__
    # The dataset identity is the MD5 of the unzipped file (what GPAW prints as "id").
    for symbol in ("Li", "Mg", "Ag", "S"):
        path = gpaw_data.datapath() / f"{symbol}.PBE.gz"
        md5 = hashlib.md5(gzip.decompress(path.read_bytes())).hexdigest()  # noqa: S324
        assert settings["paw_datasets"][symbol] == f"{symbol}.PBE.gz md5:{md5}"
    # Every energy-changing setting changes the fingerprint; the log name does not.
    assert get_engine("gpaw", ecut=351, kpoint_density=4.5, smearing_width=0.2).provenance() != (
        provenance
    )
    for change in ({"ecut": 351}, {"kpoint_density": 4.6}, {"smearing": "fermi-dirac"}):
        other = engine.model_copy(update=change).provenance()
        assert other.fingerprint != provenance.fingerprint
    renamed = engine.model_copy(update={"log_name": "other"}).provenance()
    assert renamed.fingerprint == provenance.fingerprint


@needs_gpaw
def test_check_available_names_a_missing_dataset():
    get_engine("gpaw").check_available()
    with pytest.raises(EngineError, match=r"'Li\.nonexistent\.PBE'.*gpaw-data"):
        get_engine("gpaw", setups={"Li": "nonexistent"}).check_available()
    engine = get_engine("gpaw", setups={"Mg": "nonexistent"})
    assert engine.provenance().settings["paw_datasets"]["Mg"] == "Mg.nonexistent.PBE missing"
    with pytest.raises(EngineError, match=r"Mg\.nonexistent\.PBE"):
        engine.build_calculator(bulk_structure("Mg"))


def test_relax_maker_is_atomate2s_with_a_gpaw_calculator_and_round_trips():
    engine = get_engine("gpaw", ecut=300, kpoint_density=3.0)
    task = CalculationTask(kind="relax_full", fmax=0.02, max_steps=40, optimizer="FIRE")
    maker = engine.relax_maker(task)
    assert isinstance(maker, GPAWRelaxMaker)
    assert maker.relax_cell is True
    assert maker.steps == 40
    assert maker.relax_kwargs["fmax"] == 0.02
    assert maker.optimizer_kwargs == {"optimizer": "FIRE"}
    static = engine.relax_maker(CalculationTask(kind="static"))
    assert (static.relax_cell, static.steps) == (False, 1)
    decoded = MontyDecoder().decode(MontyEncoder().encode(maker))
    assert isinstance(decoded, GPAWRelaxMaker)
    assert decoded.engine == engine
    assert decoded.relax_kwargs["fmax"] == 0.02
