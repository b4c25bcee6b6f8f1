"""The machine-learned-potential engines: SevenNet (shipped models, checkpoint files) and MACE.

SevenNet and MACE cannot share an environment (mace-torch pins e3nn==0.4.4, sevenn needs
e3nn>=0.5), so the SevenNet tests run in the main ``.venv`` and the MACE tests in
``.venv-mace``; each group skips, naming the reason, where its package is not importable.
The MACE tests build and save their own small random-weight model: the checks are exact
properties of any MACE model (isolated-atom energies, forces and stress as derivatives
of the energy, rotational invariance) and agreement between the ways of evaluating it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk

from anodefree.errors import EngineError, ModelFileError
from anodefree.tasks import CalculationTask
from anodefree.workflows.engines.registry import get_engine

HAS_SEVENN = importlib.util.find_spec("sevenn") is not None
needs_sevenn = pytest.mark.skipif(
    not HAS_SEVENN,
    reason="sevenn is not installed in this environment (the MACE environment .venv-mace "
    "has no sevenn; run these tests with .venv/bin/pytest)",
)


def _mace_import_problem() -> str | None:
    if importlib.util.find_spec("mace") is None:
        return "mace-torch is not installed in this environment"
    from anodefree.workflows.engines.mace import import_mace_calculator

    try:
        import_mace_calculator()
    except EngineError as exc:
        return str(exc)
    return None


MACE_PROBLEM = _mace_import_problem()
needs_mace = pytest.mark.skipif(
    MACE_PROBLEM is not None,
    reason=f"{MACE_PROBLEM}; MACE (e3nn==0.4.4) runs in its own environment: "
    "make venv-mace && .venv-mace/bin/pytest tests/test_engines_ml.py",
)


def sha256_16(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def rattled(atoms: Atoms, seed: int, amplitude: float = 0.08, strain: float = 0.02) -> Atoms:
    """A copy with random displacements and a random cell strain (non-zero forces, stress)."""
    rng = np.random.default_rng(seed)
    atoms = atoms.copy()
    atoms.positions += amplitude * rng.standard_normal(atoms.positions.shape)
    deformation = np.eye(3) + strain * rng.standard_normal((3, 3))
    atoms.set_cell(atoms.cell @ deformation, scale_atoms=True)
    return atoms


# ----------------------------------------------------------------------------- SevenNet


@pytest.fixture(autouse=True)
def _no_downloads(monkeypatch):
    """Fail any test in which sevenn tries to download a checkpoint."""
    if HAS_SEVENN:
        import sevenn.util

        def refuse(path, url):
            pytest.fail(f"sevenn tried to download {url}")

        monkeypatch.setattr(sevenn.util, "download_checkpoint", refuse)


@needs_sevenn
def test_sevenn_shipped_list_matches_the_installed_wheel():
    from sevenn import _const, util

    from anodefree.workflows.engines.sevenn import DOWNLOAD_ONLY_MODELS, SHIPPED_MODELS

    # Every pretrained model sevenn knows is either shipped or refused as download-only.
    assert set(util.get_available_pretrained_models()) == {
        *SHIPPED_MODELS,
        *DOWNLOAD_ONLY_MODELS,
    }
    download_paths = set(_const.CHECKPOINT_DOWNLOAD_LINKS)
    assert len(download_paths) == len(DOWNLOAD_ONLY_MODELS)
    for name in SHIPPED_MODELS:
        path = util.pretrained_name_to_path(name)  # no download address: a local lookup
        assert Path(path).is_file(), name
        assert path not in download_paths, name
    for path in download_paths:
        assert not Path(path).exists(), f"{path} ships after all: add it to SHIPPED_MODELS"


@needs_sevenn
@pytest.mark.parametrize(
    "model",
    [
        "7net-omat",
        "7net-omni",
        "7net-mf-ompa",
        "7net-omni-i8",
        "7net-omni-i12",
        "SevenNet-omni",
        "7net-future-model",
    ],
)
def test_sevenn_refuses_models_that_would_download(model):
    with pytest.raises(EngineError, match="not shipped in the sevenn wheel") as info:
        get_engine("sevenn", model=model)
    assert repr(model) in str(info.value)
    assert "7net-0" in str(info.value)  # the message lists what can be used


@needs_sevenn
def test_sevenn_missing_or_invalid_checkpoint_path(tmp_path):
    from anodefree.workflows.engines.sevenn import SevenNetEngine

    missing = tmp_path / "absent.pth"
    for make in (
        lambda: get_engine("sevenn", model=str(missing)),
        lambda: SevenNetEngine(model=str(missing)),
    ):
        with pytest.raises(ModelFileError, match=str(missing)):
            make()
    with pytest.raises(ModelFileError, match="not a file"):
        get_engine("sevenn", model=str(tmp_path))


@needs_sevenn
def test_sevenn_corrupt_checkpoint_is_a_model_file_error(tmp_path):
    from sevenn.util import pretrained_name_to_path

    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"this is not a checkpoint" * 10)
    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes(Path(pretrained_name_to_path("7net-0")).read_bytes()[:200_000])
    for path in (garbage, truncated):
        engine = get_engine("sevenn", model=str(path))  # the file exists: accepted
        with pytest.raises(ModelFileError, match=str(path)):
            engine.build_calculator()


@needs_sevenn
def test_sevenn_modal_rules():
    engine = get_engine("sevenn", model="7net-mf-0", modal="pbe")
    assert engine.modal == "PBE"
    with pytest.raises(EngineError, match="modal must be one of PBE, R2SCAN"):
        get_engine("sevenn", model="7net-mf-0")
    with pytest.raises(EngineError, match="modal must be one of PBE, R2SCAN"):
        get_engine("sevenn", model="7net-mf-0", modal="HSE")
    with pytest.raises(EngineError, match="single fidelity"):
        get_engine("sevenn", model="7net-0", modal="PBE")


@needs_sevenn
def test_sevenn_aliases_share_one_provenance():
    from sevenn.util import pretrained_name_to_path

    shipped = get_engine("sevenn")
    alias = get_engine("sevenn", model="SevenNet-0_11July2024")
    assert alias.model == "7net-0"
    assert alias.provenance() == shipped.provenance()
    digest = sha256_16(Path(pretrained_name_to_path("7net-0")))
    assert shipped.provenance().model == f"7net-0 sha256:{digest}"
    assert shipped.provenance().version == version("sevenn")


# The MPtrj (PBE, MP input set) energy of bcc Li, the data SevenNet is trained on, is
# -1.909 eV/atom (Materials Project mp-135). SevenNet's energy error on MPtrj is about
# 10-30 meV/atom, so 30 meV/atom tells a correctly loaded model from anything else
# (random or wrongly mapped weights are off by eV).
MPTRJ_LI_EV_PER_ATOM = -1.909
LI_TOLERANCE = 0.030


@needs_sevenn
@pytest.mark.parametrize(
    ("model", "modal"),
    [
        ("7net-0", None),
        pytest.param("7net-0_22may2024", None, marks=pytest.mark.slow),
        pytest.param("7net-l3i5", None, marks=pytest.mark.slow),
        pytest.param("7net-mf-0", "PBE", marks=pytest.mark.slow),
    ],
)
def test_sevenn_shipped_model_bcc_li(model, modal):
    calculator = get_engine("sevenn", model=model, modal=modal).calculator()
    energies = {}
    for a in (3.20, 3.44, 3.70):
        atoms = bulk("Li", "bcc", a=a, cubic=True)
        atoms.calc = calculator
        energies[a] = atoms.get_potential_energy() / len(atoms)
        # Every atom of bcc sits on an inversion centre: the force vanishes by symmetry.
        assert np.abs(atoms.get_forces()).max() < 1e-4
    assert energies[3.44] == pytest.approx(MPTRJ_LI_EV_PER_ATOM, abs=LI_TOLERANCE)
    # The PBE lattice constant of bcc Li is 3.43-3.44 A: 7 % away the energy is higher.
    assert energies[3.44] < min(energies[3.20], energies[3.70])


@needs_sevenn
@pytest.mark.slow
def test_sevenn_multi_fidelity_modals_differ():
    atoms = bulk("Li", "bcc", a=3.44, cubic=True)
    per_atom = {}
    for modal in ("PBE", "R2SCAN"):
        atoms.calc = get_engine("sevenn", model="7net-mf-0", modal=modal).calculator()
        per_atom[modal] = atoms.get_potential_energy() / len(atoms)
    # Different functionals have different total-energy zeros; the modal must matter.
    assert abs(per_atom["PBE"] - per_atom["R2SCAN"]) > 0.05


@needs_sevenn
def test_sevenn_checkpoint_file_gives_the_shipped_energies(tmp_path, monkeypatch):
    from sevenn.util import pretrained_name_to_path

    copy = tmp_path / "my-sevennet.pth"
    shutil.copyfile(pretrained_name_to_path("7net-0"), copy)
    monkeypatch.chdir(tmp_path)
    from_file = get_engine("sevenn", model="my-sevennet.pth")
    assert from_file.model == str(copy.resolve())  # stored absolute: independent of cwd
    shipped = get_engine("sevenn")
    assert from_file.provenance().model == f"my-sevennet.pth sha256:{sha256_16(copy)}"
    # Same weights, so same fingerprint hash input apart from the file name.
    assert from_file.provenance().model.split()[1] == shipped.provenance().model.split()[1]

    atoms = rattled(bulk("Li", "bcc", a=3.44, cubic=True).repeat(2), seed=1, strain=0.0)
    atoms.calc = from_file.build_calculator()
    energy, forces = atoms.get_potential_energy(), atoms.get_forces()
    atoms.calc = shipped.calculator()
    # The same float32 network on the same input: equal up to float32 round-off.
    assert energy == pytest.approx(atoms.get_potential_energy(), abs=1e-5)
    np.testing.assert_allclose(forces, atoms.get_forces(), atol=1e-5)
    assert np.abs(forces).max() > 0.01  # the rattled cell has forces worth comparing


# ----------------------------------------------------------------------------- MACE

ELEMENTS = {"Li": -1.9, "Mg": -1.5, "S": -4.1, "Ag": -2.8}  # atomic reference energies E0, eV
R_MAX = 4.0  # A


@pytest.fixture(scope="module")
def tiny_mace(tmp_path_factory):
    """A small random-weight ScaleShiftMACE for Li, Mg, S and Ag, saved as a .model file."""
    if MACE_PROBLEM is not None:
        pytest.skip(MACE_PROBLEM)
    import torch
    from ase.data import atomic_numbers
    from e3nn import o3
    from mace import modules

    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        torch.manual_seed(11)
        interaction = modules.interaction_classes["RealAgnosticResidualInteractionBlock"]
        model = modules.ScaleShiftMACE(
            r_max=R_MAX,
            num_bessel=6,
            num_polynomial_cutoff=5,
            max_ell=2,
            interaction_cls=interaction,
            interaction_cls_first=interaction,
            num_interactions=2,
            num_elements=len(ELEMENTS),
            hidden_irreps=o3.Irreps("8x0e+8x1o"),
            MLP_irreps=o3.Irreps("8x0e"),
            gate=torch.nn.functional.silu,
            atomic_energies=np.array(list(ELEMENTS.values())),
            avg_num_neighbors=10.0,
            atomic_numbers=[atomic_numbers[s] for s in ELEMENTS],
            correlation=2,
            radial_type="bessel",
            atomic_inter_scale=2.0,
            atomic_inter_shift=0.0,
        )
    finally:
        torch.set_default_dtype(previous)
    path = tmp_path_factory.mktemp("mace") / "tiny.model"
    torch.save(model, path)
    return path


def li_mg_ag_cell() -> Atoms:
    atoms = bulk("Li", "bcc", a=3.44, cubic=True).repeat(2)
    atoms.numbers[0] = 12  # Mg
    atoms.numbers[9] = 47  # Ag
    return rattled(atoms, seed=2)


def li2s_cell() -> Atoms:
    s = [[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]]
    li = [[x, y, z] for x in (0.25, 0.75) for y in (0.25, 0.75) for z in (0.25, 0.75)]
    atoms = Atoms("S4Li8", scaled_positions=s + li, cell=5.69 * np.eye(3), pbc=True)
    return rattled(atoms, seed=3)


def evaluate_model_directly(path: Path, atoms: Atoms) -> dict[str, np.ndarray]:
    """Run the model's forward pass on mace's graph of ``atoms`` (no ASE calculator)."""
    import torch
    from mace import data
    from mace.tools import torch_geometric, torch_tools, utils

    model = torch.load(path, weights_only=False, map_location="cpu")
    table = utils.AtomicNumberTable([int(z) for z in model.atomic_numbers])
    with torch_tools.default_dtype(torch.float64):
        config = data.config_from_atoms(atoms)
        graph = data.AtomicData.from_config(config, z_table=table, cutoff=float(model.r_max))
    batch = torch_geometric.Batch.from_data_list([graph])
    out = model(batch.to_dict(), compute_force=True, compute_stress=True)
    return {
        "energy": out["energy"].detach().numpy()[0],
        "forces": out["forces"].detach().numpy(),
        "stress": out["stress"].detach().numpy()[0],
    }


@needs_mace
@pytest.mark.parametrize("make_atoms", [li_mg_ag_cell, li2s_cell])
def test_mace_engine_and_calculator_match_the_model(tiny_mace, make_atoms):
    from ase.stress import voigt_6_to_full_3x3_stress
    from mace.calculators import MACECalculator

    atoms = make_atoms()
    direct = evaluate_model_directly(tiny_mace, atoms)
    assert np.abs(direct["forces"]).max() > 1e-3  # non-trivial forces to compare
    engine_calculator = get_engine("mace", model_path=str(tiny_mace)).calculator()
    mace_calculator = MACECalculator(
        model_paths=str(tiny_mace), device="cpu", default_dtype="float64"
    )
    for calculator in (engine_calculator, mace_calculator):
        atoms.calc = calculator
        # All float64 evaluations of one model on one graph: equal to round-off.
        assert atoms.get_potential_energy() == pytest.approx(direct["energy"], abs=1e-8)
        np.testing.assert_allclose(atoms.get_forces(), direct["forces"], atol=1e-8)
        np.testing.assert_allclose(
            voigt_6_to_full_3x3_stress(atoms.get_stress()), direct["stress"], atol=1e-8
        )


@needs_mace
def test_mace_atoms_beyond_the_cutoff_do_not_interact(tiny_mace):
    # MACE is local: the energy of atoms farther apart than r_max is the sum of the
    # energies of each alone, and the forces vanish.
    calculator = get_engine("mace", model_path=str(tiny_mace)).calculator()

    def energy(symbols, positions):
        atoms = Atoms(symbols, positions=positions, cell=[30, 30, 30], pbc=False)
        atoms.calc = calculator
        return atoms.get_potential_energy(), atoms.get_forces()

    e_li, _ = energy("Li", [[0, 0, 0]])
    e_s, _ = energy("S", [[0, 0, 0]])
    e_pair, forces = energy("LiS", [[0, 0, 0], [0, 0, 1.5 * R_MAX]])
    assert e_pair == pytest.approx(e_li + e_s, abs=1e-10)
    assert np.abs(forces).max() < 1e-12
    e_close, forces_close = energy("LiS", [[0, 0, 0], [0, 0, 0.6 * R_MAX]])
    assert abs(e_close - e_pair) > 1e-4  # within the cutoff they do interact
    assert np.abs(forces_close).max() > 1e-4


@needs_mace
def test_mace_forces_and_stress_are_energy_derivatives(tiny_mace):
    atoms = li_mg_ag_cell()
    atoms.calc = get_engine("mace", model_path=str(tiny_mace)).calculator()
    forces, stress = atoms.get_forces(), atoms.get_stress(voigt=False)
    # Central differences in float64: truncation ~h^2 * E''' ~ 1e-8 eV/A and round-off
    # ~1e-16 * |E| / h ~ 1e-10 eV/A, far below the 1e-6 tolerance.
    h = 1e-4
    for index in (0, 9, 5):  # Mg, Ag, Li
        for axis in range(3):
            shifted = atoms.copy()
            shifted.calc = atoms.calc
            shifted.positions[index, axis] += h
            e_plus = shifted.get_potential_energy()
            shifted.positions[index, axis] -= 2 * h
            e_minus = shifted.get_potential_energy()
            assert -(e_plus - e_minus) / (2 * h) == pytest.approx(forces[index, axis], abs=1e-6)
    # Stress = (1/V) dE/d(strain), the strain applied symmetrically to cell and atoms.
    volume = atoms.get_volume()
    for i, j in ((0, 0), (1, 2)):
        energies = []
        for sign in (1, -1):
            strain = np.eye(3)
            strain[i, j] += sign * h / (1 + (i != j))
            strain[j, i] += sign * h / (1 + (i != j)) * (i != j)
            strained = atoms.copy()
            strained.calc = atoms.calc
            strained.set_cell(atoms.cell @ strain, scale_atoms=True)
            energies.append(strained.get_potential_energy())
        assert (energies[0] - energies[1]) / (2 * h) / volume == pytest.approx(
            stress[i, j], abs=1e-6
        )


@needs_mace
def test_mace_energy_is_rotation_invariant(tiny_mace):
    from scipy.spatial.transform import Rotation

    atoms = li2s_cell()
    atoms.calc = get_engine("mace", model_path=str(tiny_mace)).calculator()
    energy, forces = atoms.get_potential_energy(), atoms.get_forces()
    rotation = Rotation.from_euler("zyx", [0.4, 1.1, -0.7]).as_matrix()
    rotated = atoms.copy()
    rotated.calc = atoms.calc
    rotated.set_cell(atoms.cell @ rotation.T, scale_atoms=True)
    assert rotated.get_potential_energy() == pytest.approx(energy, abs=1e-9)
    np.testing.assert_allclose(rotated.get_forces(), forces @ rotation.T, atol=1e-9)


@needs_mace
def test_mace_engine_settings_and_provenance(tiny_mace):
    import torch

    engine = get_engine("mace", model_path=str(tiny_mace))
    assert engine.default_dtype == "float64"
    calculator = engine.calculator()
    assert all(p.dtype == torch.float64 for p in calculator.models[0].parameters())
    provenance = engine.provenance()
    assert provenance.model == f"tiny.model sha256:{sha256_16(tiny_mace)}"
    assert provenance.version == version("mace-torch")
    assert provenance.settings == {"default_dtype": "float64", "device": "cpu"}

    single = get_engine("mace", model_path=str(tiny_mace), default_dtype="float32")
    assert single.provenance().fingerprint != provenance.fingerprint
    atoms = li_mg_ag_cell()
    atoms.calc = calculator
    e64 = atoms.get_potential_energy()
    atoms.calc = single.calculator()
    # float32 carries ~7 significant digits: 1e-5 relative of a ~-36 eV total energy.
    assert atoms.get_potential_energy() == pytest.approx(e64, rel=1e-5)


@needs_mace
@pytest.mark.parametrize("kind", ["relax_positions", "relax_full"])
def test_mace_runs_through_the_atomate2_relax_maker(tiny_mace, kind):
    from jobflow import run_locally
    from pymatgen.io.ase import AseAtomsAdaptor

    engine = get_engine("mace", model_path=str(tiny_mace))
    atoms = li_mg_ag_cell()
    atoms.calc = engine.calculator()
    initial_energy = atoms.get_potential_energy()
    structure = AseAtomsAdaptor.get_structure(atoms)

    task = CalculationTask(kind=kind, fmax=0.01, max_steps=300)
    job = engine.relax_maker(task).make(structure)
    responses = run_locally(job, log=False, ensure_success=True)
    parsed = engine.parse_output(responses[job.uuid][1].output, task)

    assert parsed.energy < initial_energy  # a relaxation lowers the energy
    assert parsed.n_ionic_steps < task.max_steps
    assert parsed.structure.composition == structure.composition
    # The relaxed energy is the model's energy of the relaxed structure.
    relaxed = AseAtomsAdaptor.get_atoms(parsed.structure)
    relaxed.calc = engine.calculator()
    assert relaxed.get_potential_energy() == pytest.approx(parsed.energy, abs=1e-6)
    if kind == "relax_positions":
        assert parsed.converged, parsed.messages
        assert parsed.max_force < task.fmax
        assert parsed.structure.volume == pytest.approx(structure.volume, rel=1e-10)
    else:
        # ASE's FrechetCellFilter stops when its generalised forces are below fmax: the
        # cell part is stress * volume / n_atoms, the atomic part the forces expressed
        # in the deformed frame, which differ from the Cartesian forces by the cell
        # deformation (here up to ~10 %).
        stress = relaxed.get_stress(voigt=False)
        assert np.abs(stress).max() * relaxed.get_volume() / len(relaxed) < task.fmax
        assert parsed.max_force < 1.15 * task.fmax


def test_mace_missing_model_file_names_the_path(tmp_path):
    from anodefree.workflows.engines.mace import MACEEngine

    missing = tmp_path / "missing.model"
    with pytest.raises(ModelFileError, match=str(missing)):
        get_engine("mace", model_path=str(missing))
    with pytest.raises(ModelFileError, match=str(missing)):
        MACEEngine(model_path=str(missing))


@needs_mace
def test_mace_unreadable_model_files_name_the_path(tmp_path, tiny_mace):
    import torch

    garbage = tmp_path / "garbage.model"
    garbage.write_bytes(np.random.default_rng(0).bytes(4096))
    truncated = tmp_path / "truncated.model"
    truncated.write_bytes(tiny_mace.read_bytes()[: tiny_mace.stat().st_size // 2])
    for path in (garbage, truncated):
        engine = get_engine("mace", model_path=str(path))  # it exists: accepted
        with pytest.raises(ModelFileError, match=str(path)):
            engine.build_calculator()

    state_dict = tmp_path / "weights.pt"
    torch.save(torch.load(tiny_mace, weights_only=False).state_dict(), state_dict)
    with pytest.raises(ModelFileError, match="state dict"):
        get_engine("mace", model_path=str(state_dict)).build_calculator()


@needs_mace
def test_mace_unknown_head_and_element_are_clear_errors(tiny_mace):
    with pytest.raises(EngineError, match=r"head 'omat_pbe'.*Default"):
        get_engine("mace", model_path=str(tiny_mace), head="omat_pbe").build_calculator()
    atoms = li_mg_ag_cell()
    atoms.numbers[3] = 26  # Fe
    atoms.calc = get_engine("mace", model_path=str(tiny_mace)).calculator()
    with pytest.raises(EngineError, match="no parameters for Fe"):
        atoms.get_potential_energy()


@pytest.mark.skipif(MACE_PROBLEM is None, reason="mace-torch is importable here")
def test_mace_engine_without_mace_says_where_to_run_it(tmp_path):
    model = tmp_path / "some.model"
    model.write_bytes(b"\x00")
    engine = get_engine("mace", model_path=str(model))  # settings are valid without mace
    for call in (engine.check_available, engine.build_calculator, engine.calculator):
        with pytest.raises(EngineError, match="venv-mace"):
            call()
