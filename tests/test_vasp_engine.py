"""The VASP engine without running anything: input sets, availability checks, provenance.

VASP and its POTCARs are licensed and absent here. POTCAR folders below are built by
``_write_test_only_potcars`` from one-line headers: they are NOT usable POTCARs and
exist only to exercise the engine's directory checks.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest
from pymatgen.core import Lattice, Structure

from anodefree.errors import EngineError, MixedCalculatorError
from anodefree.provenance import require_same_calculator
from anodefree.tasks import CalculationTask
from anodefree.workflows.engines.registry import get_engine
from anodefree.workflows.engines.vasp import VaspEngine, custodian_handlers
from anodefree.workflows.engines.vasp_fake import (
    VaspInputMismatchError,
    check_vasp_inputs,
    compare_vasp_inputs,
)
from anodefree.workflows.engines.vasp_sets import ReferenceMethodSetGenerator, gamma_mesh

DATA = Path(__file__).parent / "data" / "vasp"


def interface_cell() -> Structure:
    """The toy Li/Li2S cell of tests/data/vasp/interface_*/inputs/POSCAR."""
    lattice = Lattice.tetragonal(4.02, 14.0)
    sites = [
        ("S", (0.0, 0.0, 0.0)),
        ("Li", (0.5, 0.0, 0.1)),
        ("Li", (0.0, 0.5, 0.1)),
        ("S", (0.5, 0.5, 0.2)),
        ("Li", (0.5, 0.0, 0.3)),
        ("Li", (0.0, 0.5, 0.3)),
        ("Li", (0.0, 0.0, 0.45)),
        ("Li", (0.5, 0.5, 0.575)),
        ("Li", (0.0, 0.0, 0.7)),
    ]
    return Structure(lattice, [s for s, _ in sites], [c for _, c in sites])


def lithium_silver_b2(a: float = 3.168) -> Structure:
    return Structure(Lattice.cubic(a), ["Li", "Ag"], [[0, 0, 0], [0.5, 0.5, 0.5]])


INTERFACE_TASK = CalculationTask(kind="relax_positions", fixed_indices=(0, 1, 2))
HULL_TASK = CalculationTask(kind="relax_full")


def write_inputs(engine: VaspEngine, task: CalculationTask, structure: Structure, folder: Path):
    """Write the inputs atomate2 would write for this job (POTCAR.spec, no POTCARs)."""
    from atomate2.vasp.files import write_vasp_input_set

    folder.mkdir(parents=True, exist_ok=True)
    write_vasp_input_set(
        structure, engine.input_set_generator(task), directory=folder, potcar_spec=True
    )
    return folder


def _write_test_only_potcars(root: Path, symbols: dict[str, str]) -> Path:
    """TEST ONLY: a POTCAR folder whose files hold just a header line, not potentials."""
    folder = root / "POT_GGA_PAW_PBE_54"
    for symbol, header in symbols.items():
        (folder / symbol).mkdir(parents=True, exist_ok=True)
        (folder / symbol / "POTCAR").write_text(f"  {header}\n  TEST-ONLY FAKE, NOT A POTCAR\n")
    return root


FAKE_HEADERS = {
    "Li_sv": "PAW_PBE Li_sv 10Sep2004",
    "Mg_pv": "PAW_PBE Mg_pv 13Apr2007",
    "S": "PAW_PBE S 06Sep2000",
    "Ag": "PAW_PBE Ag 02Apr2005",
}


@pytest.fixture
def fake_vasp_executable(tmp_path: Path) -> str:
    """A stand-in ``vasp_std`` on disk (never run): the PATH check only needs a file."""
    path = tmp_path / "bin" / "vasp_std"
    path.parent.mkdir()
    path.write_text("#!/bin/sh\nexit 1\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


# --- the reference settings ------------------------------------------------------------


def test_interface_job_inputs_are_exactly_the_reference_settings(tmp_path):
    # inputs/INCAR is handwritten from science.md: PBE, 500 eV, EDIFF 1e-6, EDIFFG -0.01,
    # Gaussian 0.1 eV, plus the documented technical settings; the comparison requires
    # the same tag set in both directions, the Gamma-only KPOINTS, the POSCAR with the
    # bottom layer fixed and the POTCAR symbols.
    engine = VaspEngine(method="pbe_interface")
    run = write_inputs(engine, INTERFACE_TASK, interface_cell(), tmp_path / "run")
    check_vasp_inputs(DATA / "interface_relax_positions" / "inputs", run)


def test_hull_job_inputs_are_exactly_the_reference_settings(tmp_path):
    # PBEsol (GGA = PS), 520 eV, ISIF 3, EDIFFG = +0.5 meV x 2 atoms = +0.001 eV,
    # 14x14x14 Gamma mesh (2 pi / 3.168 A / 0.15 1/A = 13.2 -> 14), LMAXMIX 4 for Ag.
    engine = VaspEngine(method="pbesol_hull")
    run = write_inputs(engine, HULL_TASK, lithium_silver_b2(), tmp_path / "run")
    check_vasp_inputs(DATA / "hull_relax_full" / "inputs", run)


def test_input_check_names_every_departure(tmp_path):
    engine = VaspEngine(method="pbe_interface", user_incar_settings={"ENCUT": 450, "NCORE": 4})
    run = write_inputs(engine, INTERFACE_TASK, interface_cell(), tmp_path / "run")
    problems = compare_vasp_inputs(DATA / "interface_relax_positions" / "inputs", run)
    assert any("ENCUT" in p and "450" in p for p in problems)
    assert any("unexpected NCORE" in p for p in problems)
    with pytest.raises(VaspInputMismatchError, match="ENCUT"):
        check_vasp_inputs(DATA / "interface_relax_positions" / "inputs", run)


def test_input_check_catches_wrong_kpoints_and_fixed_atoms(tmp_path):
    engine = VaspEngine(method="pbe_interface", kpoint_spacing=0.5)
    task = CalculationTask(kind="relax_positions", fixed_indices=(0,))
    run = write_inputs(engine, task, interface_cell(), tmp_path / "run")
    problems = compare_vasp_inputs(DATA / "interface_relax_positions" / "inputs", run)
    assert any("KPOINTS divisions" in p for p in problems)
    assert any("fixed sites [0], expected [0, 1, 2]" in p for p in problems)


def test_static_task_has_no_ionic_relaxation_settings():
    generator = VaspEngine(method="pbe_interface").input_set_generator(
        CalculationTask(kind="static")
    )
    incar = generator.get_input_set(interface_cell(), potcar_spec=True)["INCAR"]
    assert incar["NSW"] == 0
    assert incar["IBRION"] == -1
    assert "EDIFFG" not in incar
    assert "ISIF" not in incar
    assert incar["ENCUT"] == 500
    assert incar["SIGMA"] == 0.1


def test_task_fmax_maps_to_ediffg_for_the_force_criterion():
    engine = VaspEngine(method="pbe_interface")
    task = CalculationTask(kind="relax_positions", fmax=0.02, max_steps=120)
    incar = engine.input_set_generator(task).get_input_set(interface_cell(), potcar_spec=True)[
        "INCAR"
    ]
    assert incar["EDIFFG"] == -0.02
    assert incar["NSW"] == 120


def test_hull_energy_criterion_scales_with_the_number_of_atoms():
    engine = VaspEngine(method="pbesol_hull")
    cell = lithium_silver_b2()
    cell.make_supercell([2, 2, 2])  # 16 atoms -> 16 x 0.5 meV = 8 meV
    incar = engine.input_set_generator(HULL_TASK).get_input_set(cell, potcar_spec=True)["INCAR"]
    assert incar["EDIFFG"] == pytest.approx(0.008, rel=1e-12)


def test_hull_keeps_its_energy_criterion_and_flags_a_force_request(caplog):
    engine = VaspEngine(method="pbesol_hull")
    generator = engine.input_set_generator(CalculationTask(kind="relax_full", fmax=0.05))
    incar = generator.get_input_set(lithium_silver_b2(), potcar_spec=True)["INCAR"]
    assert incar["EDIFFG"] == pytest.approx(0.001, rel=1e-12)  # 2 atoms x 0.5 meV
    assert "fmax=0.05 eV/A is not used" in caplog.text


def test_interface_force_criterion_comes_only_from_the_task():
    with pytest.raises(EngineError, match="set the task's fmax instead"):
        get_engine("vasp", method="pbe_interface", user_incar_settings={"EDIFFG": -0.05})
    # The hull method may change its stopping criterion (here: 0.25 meV/atom on 2 atoms).
    engine = VaspEngine(method="pbesol_hull", user_incar_settings={"EDIFFG": 0.0005})
    incar = engine.input_set_generator(HULL_TASK).get_input_set(
        lithium_silver_b2(), potcar_spec=True
    )["INCAR"]
    assert incar["EDIFFG"] == 0.0005


def test_hull_kpoint_mesh_from_spacing():
    # Simple cubic a = 3.44 A: |b| = 2 pi / 3.44 = 1.8265 1/A; / 0.15 = 12.18 -> 13.
    # Hexagonal Mg (a = 3.21, c = 5.21 A): |b1| = 4 pi / (sqrt 3 a) = 2.2602 -> 15.07 -> 16;
    # |b3| = 2 pi / c = 1.2060 -> 8.04 -> 9 (always rounded up: spacing <= 0.15 1/A).
    cubic = Structure(Lattice.cubic(3.44), ["Li"], [[0, 0, 0]])
    assert gamma_mesh(cubic, 0.15) == (13, 13, 13)
    hexagonal = Structure(Lattice.hexagonal(3.21, 5.21), ["Mg"], [[0, 0, 0]])
    assert gamma_mesh(hexagonal, 0.15) == (16, 16, 9)
    kpoints = (
        VaspEngine(method="pbesol_hull")
        .input_set_generator(HULL_TASK)
        .get_input_set(hexagonal, potcar_spec=True)["KPOINTS"]
    )
    assert kpoints.style.name == "Gamma"
    assert tuple(kpoints.kpts[0]) == (16, 16, 9)


def test_site_order_is_kept_and_potcars_follow_the_species_blocks():
    generator = VaspEngine().input_set_generator(INTERFACE_TASK)
    vasp_input = generator.get_input_set(interface_cell(), potcar_spec=True)
    assert vasp_input["POSCAR"].site_symbols == ["S", "Li", "S", "Li"]
    assert generator.potcar_symbols == ["S", "Li_sv", "S", "Li_sv"]


def test_generator_survives_serialisation():
    from monty.json import MontyDecoder

    generator = VaspEngine(method="pbesol_hull", kpoint_spacing=0.2).input_set_generator(HULL_TASK)
    clone = MontyDecoder().process_decoded(generator.as_dict())
    assert isinstance(clone, ReferenceMethodSetGenerator)
    cell = lithium_silver_b2()
    assert (
        clone.get_input_set(cell, potcar_spec=True)["INCAR"]
        == generator.get_input_set(cell, potcar_spec=True)["INCAR"]
    )


# --- settings validation ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"method": "hse_interface"}, "hse_interface"),
        ({"user_incar_settings": {"ENCUTT": 500}}, "ENCUTT"),
        ({"user_incar_settings": {"NSW": 10}}, "NSW"),
        ({"user_incar_settings": {"KSPACING": 0.2}}, "kpoint_spacing"),
        ({"kpoint_spacing": -0.1}, "kpoint_spacing"),
    ],
)
def test_bad_settings_name_the_value(settings, message):
    with pytest.raises(EngineError, match=message):
        get_engine("vasp", **settings)


def test_calculator_is_refused():
    with pytest.raises(EngineError, match="runs through atomate2 Makers"):
        VaspEngine().calculator()


# --- availability ----------------------------------------------------------------------


def test_missing_vasp_command_is_named(tmp_path):
    engine = VaspEngine(vasp_cmd="vasp_std_not_installed_here", potcar_dir=str(tmp_path))
    with pytest.raises(EngineError, match="'vasp_std_not_installed_here' not found on PATH"):
        engine.check_available()


def test_missing_vasp_program_behind_a_launcher_is_named(tmp_path):
    # The launcher exists (this Python); the VASP binary after it does not.
    engine = VaspEngine(vasp_cmd=f"{sys.executable} /opt/vasp/bin/vasp_gam_missing")
    with pytest.raises(EngineError, match="/opt/vasp/bin/vasp_gam_missing"):
        engine.check_available()


def test_atomate2_vasp_cmd_is_the_default(monkeypatch):
    from atomate2 import SETTINGS

    monkeypatch.setattr(SETTINGS, "VASP_CMD", "site_vasp_std_absent")
    with pytest.raises(EngineError, match=r"site_vasp_std_absent.*atomate2's VASP_CMD"):
        VaspEngine().check_available()


def test_missing_potcar_directory_is_named(tmp_path, fake_vasp_executable):
    missing = tmp_path / "no_potcars_here"
    engine = VaspEngine(vasp_cmd=fake_vasp_executable, potcar_dir=str(missing))
    with pytest.raises(EngineError, match=rf"POTCAR directory '{missing}'.*does not exist"):
        engine.check_available()


def test_unset_potcar_directory_is_reported(monkeypatch, fake_vasp_executable):
    from pymatgen.core import SETTINGS as PMG_SETTINGS

    monkeypatch.delitem(PMG_SETTINGS, "PMG_VASP_PSP_DIR", raising=False)
    with pytest.raises(EngineError, match=r"no POTCAR directory configured.*PMG_VASP_PSP_DIR"):
        VaspEngine(vasp_cmd=fake_vasp_executable).check_available()


def test_pymatgen_potcar_directory_is_the_default(monkeypatch, tmp_path, fake_vasp_executable):
    from pymatgen.core import SETTINGS as PMG_SETTINGS

    monkeypatch.setitem(PMG_SETTINGS, "PMG_VASP_PSP_DIR", str(tmp_path / "site_potcars"))
    with pytest.raises(EngineError, match=r"site_potcars.*PMG_VASP_PSP_DIR.*does not exist"):
        VaspEngine(vasp_cmd=fake_vasp_executable).check_available()


def test_potcar_directory_without_the_pbe54_set(tmp_path, fake_vasp_executable):
    (tmp_path / "potcars" / "POT_GGA_PAW_PBE").mkdir(parents=True)
    engine = VaspEngine(vasp_cmd=fake_vasp_executable, potcar_dir=str(tmp_path / "potcars"))
    with pytest.raises(EngineError, match="has no 'POT_GGA_PAW_PBE_54' folder"):
        engine.check_available()


def test_potcar_directory_lacking_an_element(tmp_path, fake_vasp_executable):
    headers = {k: v for k, v in FAKE_HEADERS.items() if k != "Ag"}
    root = _write_test_only_potcars(tmp_path / "potcars", headers)
    engine = VaspEngine(vasp_cmd=fake_vasp_executable, potcar_dir=str(root))
    with pytest.raises(EngineError, match=r"POT_GGA_PAW_PBE_54' lacks the POTCAR 'Ag'.*element Ag"):
        engine.check_available()
    engine.check_available(elements=["Li", "S"])  # a Li/Li2S campaign needs no Ag


def test_potcar_file_with_the_wrong_potential(tmp_path, fake_vasp_executable):
    root = _write_test_only_potcars(
        tmp_path / "potcars", {**FAKE_HEADERS, "Li_sv": "PAW_PBE Li 17Jan2003"}
    )
    engine = VaspEngine(vasp_cmd=fake_vasp_executable, potcar_dir=str(root))
    with pytest.raises(EngineError, match=r"should hold the 'Li_sv' POTCAR for Li"):
        engine.check_available()


def test_writing_inputs_without_potcars_names_the_directory(tmp_path):
    # At run time (a real job, not the fake runner) the POTCAR is assembled from files.
    missing = tmp_path / "absent_potcars"
    generator = VaspEngine(method="pbesol_hull", potcar_dir=str(missing)).input_set_generator(
        HULL_TASK
    )
    with pytest.raises(EngineError, match=r"cannot assemble the POTCAR \['Li_sv', 'Ag'\].*absent"):
        generator.get_input_set(lithium_silver_b2())


def test_complete_setup_passes(tmp_path, fake_vasp_executable, monkeypatch):
    root = _write_test_only_potcars(tmp_path / "potcars", FAKE_HEADERS)
    # Found on PATH by name too, not only by absolute path.
    monkeypatch.setenv(
        "PATH", f"{Path(fake_vasp_executable).parent}{os.pathsep}{os.environ['PATH']}"
    )
    VaspEngine(vasp_cmd="vasp_std", potcar_dir=str(root)).check_available()


# --- Makers and provenance -------------------------------------------------------------


def test_relax_maker_is_atomate2s_with_custodian_handlers():
    from atomate2.vasp.jobs.core import RelaxMaker, StaticMaker

    engine = VaspEngine(vasp_cmd="srun vasp_std", wall_time=86_000, custodian_max_errors=3)
    maker = engine.relax_maker(INTERFACE_TASK)
    assert isinstance(maker, RelaxMaker)
    assert isinstance(engine.relax_maker(CalculationTask(kind="static")), StaticMaker)
    kwargs = maker.run_vasp_kwargs
    assert kwargs["vasp_cmd"] == "srun vasp_std"
    assert kwargs["max_errors"] == 3
    names = {type(h).__name__ for h in kwargs["handlers"]}
    assert "LargeSigmaHandler" not in names
    assert "KspacingMetalHandler" not in names
    assert {"VaspErrorHandler", "UnconvergedErrorHandler", "WalltimeHandler"} <= names
    assert maker.stop_children_kwargs == {"handle_unsuccessful": False}
    assert len(custodian_handlers()) == len(names) - 1  # all but the WalltimeHandler


def test_provenance_records_method_settings_and_versions():
    from importlib.metadata import version

    provenance = VaspEngine(method="pbe_interface", vasp_version="6.4.2").provenance()
    assert provenance.engine == "vasp"
    assert provenance.package == "vasp"
    assert provenance.version == "6.4.2"
    assert provenance.model == "PBE PAW (pbe_interface)"
    settings = provenance.settings
    assert settings["functional"] == "PBE"
    assert settings["ENCUT_eV"] == 500
    assert settings["EDIFF_eV"] == 1e-6
    assert "-0.01" in settings["EDIFFG"]
    assert settings["smearing"] == {"ISMEAR": 0, "SIGMA_eV": 0.1}
    assert settings["kpoints"] == "Gamma point only (KPOINTS Gamma 1x1x1)"
    assert settings["potcar_symbols"]["Li"] == "Li_sv"
    assert settings["atomate2_version"] == version("atomate2")
    assert settings["pymatgen_version"] == version("pymatgen")

    hull = VaspEngine(method="pbesol_hull").provenance()
    assert hull.version == "unspecified"
    assert hull.settings["functional"] == "PBEsol"
    assert hull.settings["ENCUT_eV"] == 520
    assert "0.5 meV/atom" in hull.settings["EDIFFG"]
    assert hull.settings["smearing"] == {"ISMEAR": 1, "SIGMA_eV": 0.1}
    assert "0.15 1/A" in hull.settings["kpoints"]


def test_energies_of_the_two_methods_are_never_combined():
    with pytest.raises(MixedCalculatorError, match="functional"):
        require_same_calculator(
            [
                VaspEngine(method="pbe_interface").provenance(),
                VaspEngine(method="pbesol_hull").provenance(),
            ],
            "formation energy",
        )
    overridden = VaspEngine(user_incar_settings={"ENCUT": 600}).provenance()
    assert overridden.settings["ENCUT_eV"] == 600
    assert overridden.fingerprint != VaspEngine().provenance().fingerprint
