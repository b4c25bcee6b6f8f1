"""The hull flow with VASP (PBEsol hull method) through the input-checking fake runner.

The fake runner (anodefree.workflows.engines.vasp_fake) compares the inputs atomate2
writes for every hull relaxation with reference inputs written by hand from the PBEsol
method of ../shared/science.md: tests/data/vasp/hull_relax_full for B2 LiAg (INCAR, KPOINTS,
POSCAR and POTCAR), and for a 52-atom Li12Ag decoration the same INCAR with the energy
criterion of 52 atoms and the k-mesh worked out below by hand. The outputs are synthetic
with hand-chosen energies, so the hull is checked against numbers worked out by hand.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from jobflow import JobStore, run_locally
from maggma.stores import MemoryStore
from pymatgen.io.vasp import Incar, Kpoints

from anodefree.analysis.documents.calculation import CalculationResult
from anodefree.structures.alloys import (
    gamma_brass_lattice_constant,
    li_ag_candidates,
)
from anodefree.structures.enumeration import enumerate_gamma_decorations
from anodefree.tasks import RelaxSettings
from anodefree.workflows.engines.vasp import VaspEngine
from anodefree.workflows.engines.vasp_fake import FakeVasp, VaspInputMismatchError
from anodefree.workflows.engines.vasp_synthetic_outputs import IonicStepData, write_vasp_outputs
from anodefree.workflows.hull import HullSearch, LiAgHullMaker

DATA = Path(__file__).parent / "data" / "vasp"

pytestmark = pytest.mark.filterwarnings("ignore:Pydantic serializer warnings:UserWarning")

RELAX = RelaxSettings()
# Hand-chosen energies (eV) of the references and of the Li12Ag cell (Li48Ag4).
E_LI_PER_ATOM = -1.90
E_AG_PER_ATOM = -2.70
E_LI12AG = [-99.000, -99.020]  # last ionic change 20 meV < EDIFFG = 52 x 0.5 meV = 26 meV
E_LIAG = -5.2154  # final energy of the committed B2 LiAg fixture (hull_relax_full)


def _reference_result(element: str, engine: VaspEngine) -> CalculationResult:
    """A bulk-stage result as the campaign would pass it (same calculator and task)."""
    candidate = {"Li": li_ag_candidates()[0], "Ag": li_ag_candidates()[1]}[element]
    energy = {"Li": E_LI_PER_ATOM, "Ag": E_AG_PER_ATOM}[element]
    n = len(candidate.structure)
    return CalculationResult(
        label=f"{element} bulk",
        system=element,
        role="bulk reference",
        formula=element,
        n_atoms=n,
        structure=candidate.structure,
        energy=energy * n,
        energy_per_atom=energy,
        converged=True,
        calculator=engine.provenance(),
        task=RELAX.task("relax_full"),
        cache_key=f"bulk-{element}",
        job_uuid=f"bulk-job-{element}",
    )


def _li12ag_reference(folder: Path) -> Path:
    """Reference inputs and synthetic outputs of a full relaxation of a Li12Ag cell."""
    a = gamma_brass_lattice_constant("Li12Ag")
    incar = Incar.from_file(DATA / "hull_relax_full" / "inputs" / "INCAR")
    # EDIFFG > 0 is VASP's energy criterion of the whole cell: 0.5 meV/atom x 52 atoms.
    incar["EDIFFG"] = 52 * 5e-4
    # Gamma-centred mesh, spacing 0.15 1/A with 2 pi included: |b| = 2 pi / a for the cubic
    # cell, n = ceil(|b| / 0.15) (about 5 for a ~ 9.9 A).
    n = math.ceil(2 * math.pi / a / 0.15)
    kpoints = Kpoints.gamma_automatic((n, n, n))
    (folder / "inputs").mkdir(parents=True)
    incar.write_file(folder / "inputs" / "INCAR")
    kpoints.write_file(folder / "inputs" / "KPOINTS")
    (folder / "inputs" / "POTCAR.spec").write_text("Li_sv\nAg\n")
    # A stand-in final structure of the right composition and cell; the POSCAR (which
    # decoration the Ewald prescreen keeps) is not compared for this reference.
    structure = enumerate_gamma_decorations("Li12Ag").candidates[0].structure.get_sorted_structure()
    structure.remove_site_property("gamma_site")
    steps = [IonicStepData(structure, e, np.zeros((52, 3))) for e in E_LI12AG]
    write_vasp_outputs(folder / "outputs", steps, incar, kpoints, ["Li_sv", "Ag"])
    return folder


@pytest.fixture
def fake(monkeypatch, tmp_path) -> FakeVasp:
    fake = FakeVasp()
    fake.add(DATA / "hull_relax_full", method="pbesol_hull", kind="relax_full", formula="LiAg")
    fake.add(
        _li12ag_reference(tmp_path / "li12ag"),
        method="pbesol_hull",
        kind="relax_full",
        formula="Li12Ag",
        check=("incar", "kpoints", "potcar"),
    )
    fake.install(monkeypatch)
    monkeypatch.setattr(VaspEngine, "check_available", lambda _self: None)
    return fake


def test_hull_jobs_carry_the_pbesol_reference_inputs(fake, tmp_path):
    engine = VaspEngine(method="pbesol_hull")
    search = HullSearch(
        lattices=(), gamma_phases=("Li12Ag",), keep_gamma=1, prototypes=("LiAg-B2",)
    )
    maker = LiAgHullMaker(engine=engine, relax=RELAX, search=search)
    flow = maker.make(_reference_result("Li", engine), _reference_result("Ag", engine))
    store = JobStore(MemoryStore(), additional_stores={"data": MemoryStore()})
    responses = run_locally(
        flow,
        store=store,
        create_folders=True,
        root_dir=tmp_path / "run",
        log=False,
        raise_immediately=True,
    )

    # Every VASP run passed the input check against its PBEsol reference.
    assert sorted(run.reference.name for run in fake.runs) == ["hull_relax_full", "li12ag"]
    for run in fake.runs:
        generator = run.maker.input_set_generator
        assert (generator.method, generator.kind) == ("pbesol_hull", "relax_full")

    outputs = [r.output for d in responses.values() for r in d.values()]
    screen = next(o for o in outputs if type(o).__name__ == "HullPrescreenDocument")
    study = next(o for o in outputs if type(o).__name__ == "HullStudyDocument")
    # VASP has no ASE calculator: the prescreen is electrostatic.
    assert (screen.method, screen.calculator) == ("ewald", None)
    assert study.calculator.settings["functional"] == "PBEsol"
    assert study.calculator.settings["ENCUT_eV"] == 520
    assert study.counts.n_relaxed == 4  # Li and Ag given, B2 and one Li12Ag relaxed
    assert study.counts.n_selected == 1
    assert study.job_ids["Li-bcc"] == "bulk-job-Li"

    # By hand, E_f = E/N - c e_Li - (1 - c) e_Ag:
    # for LiAg -5.2154/2 + 0.5 x 1.90 + 0.5 x 2.70 = -2.6077 + 2.30 = -0.3077 eV/atom;
    # for Li12Ag (-99.020 + 48 x 1.90 + 4 x 2.70) / 52 = 2.98 / 52 = +0.0573 eV/atom.
    rows = {row.phase: row for row in study.hull.named_phases}
    assert rows["LiAg"].formation_energy_per_atom == pytest.approx(-0.3077, abs=1e-9)
    assert rows["Li12Ag"].formation_energy_per_atom == pytest.approx(2.98 / 52, abs=1e-9)
    assert rows["LiAg"].on_hull
    # Li12Ag lies above the LiAg-Li chord: at c = 12/13 the chord is -0.3077 x (1/13) / 0.5.
    chord = -0.3077 * (1 / 13) / 0.5
    assert rows["Li12Ag"].e_above_hull == pytest.approx(2.98 / 52 - chord, abs=1e-9)
    # One plateau, Ag -> LiAg: V = -(G(1) - G(0)) / 1 = -2 (-0.3077) = 0.6154 V.
    assert study.delithiation_onset == pytest.approx(0.6154, abs=1e-9)


def test_a_departure_from_the_method_fails_the_hull_job(fake, tmp_path):
    # The same flow with a 500 eV cutoff (the PBE interface value) must not pass the check.
    engine = VaspEngine(method="pbesol_hull", user_incar_settings={"ENCUT": 500})
    search = HullSearch(lattices=(), gamma_phases=(), prototypes=("LiAg-B2",))
    flow = LiAgHullMaker(engine=engine, relax=RELAX, search=search).make(
        _reference_result("Li", engine), _reference_result("Ag", engine)
    )
    store = JobStore(MemoryStore(), additional_stores={"data": MemoryStore()})
    with pytest.raises(VaspInputMismatchError, match=r"INCAR ENCUT = 500(\.0)?, expected 520"):
        run_locally(
            flow,
            store=store,
            create_folders=True,
            root_dir=tmp_path / "run",
            log=False,
            raise_immediately=True,
        )
