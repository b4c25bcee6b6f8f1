"""Migration flows against independent direct ASE calculations (toy Morse engine)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from ase.build import bulk
from ase.mep import NEB
from ase.optimize import BFGS
from jobflow import Flow, run_locally
from pydantic import ValidationError

from anodefree.analysis.documents.migration import (
    AttemptFrequencySettings,
    MigrationBarrierDocument,
    NebCalculation,
    NebSettings,
    VacancyDiffusionDocument,
    band_minima,
)
from anodefree.errors import EngineError, MixedCalculatorError
from anodefree.structures.neb import bcc_vacancy_hop
from anodefree.tasks import RelaxSettings
from anodefree.workflows.engines.morse import MorsePairCalculator
from anodefree.workflows.engines.registry import get_engine
from anodefree.workflows.migration import (
    MigrationHopMaker,
    MigrationStage,
    NebMaker,
    compute_normal_modes,
    describe_hop,
    refinement_reason,
)

A = 3.45  # A; any fixed lattice constant: flow and direct calculation use the same one
RELAX = RelaxSettings(fmax=1e-3)


def _direct_converged_barrier(a: float, calculator_factory, n_images: int = 5) -> float:
    """Climbing-image NEB straight from ASE: ase.build endpoints, BFGS to 1e-3 eV/A."""
    from ase.geometry import find_mic

    start = bulk("Li", "bcc", a=a, cubic=True).repeat(3)
    vacant = start.positions[0].copy()
    del start[0]
    vectors, lengths = find_mic(vacant - start.positions, start.cell, pbc=True)
    # any nearest neighbour of the vacancy: all are equivalent by symmetry
    hopper = int(np.flatnonzero(np.isclose(lengths, a * math.sqrt(3) / 2, atol=1e-6))[0])
    end = start.copy()
    end.positions[hopper] += vectors[hopper]
    for atoms in (start, end):
        atoms.calc = calculator_factory()
        BFGS(atoms, logfile=None).run(fmax=1e-4, steps=2000)
    images = [start] + [start.copy() for _ in range(n_images)] + [end]
    for image in images[1:-1]:
        image.calc = calculator_factory()
    band = NEB(images, climb=True, method="improvedtangent", k=1.0)
    band.interpolate(mic=True, apply_constraint=False)
    BFGS(band, logfile=None).run(fmax=1e-3, steps=2000)
    energies = [image.get_potential_energy() for image in images]
    return max(energies) - energies[0]


@pytest.fixture(scope="module")
def li_hop():
    """The Li hop flow run twice against one store (second run: everything reused)."""
    from anodefree.workflows.stores import StoreSettings, make_job_store

    morse = get_engine("morse")
    hop = bcc_vacancy_hop(A, 3)
    description = describe_hop(hop, kind="self", system="Li", reference_key="hop_barrier_Li")
    maker = MigrationHopMaker(
        engine=morse,
        relax=RELAX,
        frequencies=AttemptFrequencySettings(method="vineyard_local", cutoff=3.0),
    )
    store = make_job_store(StoreSettings(backend="memory"))
    runs = []
    for _ in range(2):
        flow = maker.make_hop(hop, description)
        responses = run_locally(flow, store=store, log=False)
        nebs = [
            r.output
            for d in responses.values()
            for r in d.values()
            if isinstance(r.output, NebCalculation)
        ]
        runs.append({"document": flow.output.resolve(store), "nebs": nebs, "responses": responses})
    return {"hop": hop, "runs": runs, "store": store}


def test_li_hop_barrier_matches_an_independent_converged_neb(li_hop):
    doc: MigrationBarrierDocument = li_hop["runs"][0]["document"]
    direct = _direct_converged_barrier(A, MorsePairCalculator)
    # Acceptance: within 5 meV of a converged band (the flow stops at 0.01 eV/A with 3
    # images; on this hop that was measured to be ~0.2 meV from a 0.001 eV/A band).
    assert doc.forward_barrier == pytest.approx(direct, abs=0.005)
    # symmetric hop: forward = reverse (the NEB only converges forces to 0.01 eV/A, and
    # the endpoints are relaxed separately to 1e-3 eV/A: 1 meV is generous)
    assert doc.symmetric
    assert doc.forward_barrier == pytest.approx(doc.reverse_barrier, abs=1e-3)
    assert doc.neb_converged
    assert doc.neb_max_force <= doc.neb_settings.fmax
    assert doc.climbing_index == 2
    assert doc.energies[0] == 0.0
    assert doc.reference == 0.055
    assert doc.neb_force_calls > 0
    assert set(doc.job_uuids) >= {"initial endpoint", "final endpoint", "neb"}


def test_second_run_reuses_the_neb_and_the_modes(li_hop):
    first, second = li_hop["runs"]
    assert [n.reused for n in first["nebs"]] == [False]
    assert [n.reused for n in second["nebs"]] == [True]
    assert second["document"].forward_barrier == first["document"].forward_barrier
    names = [
        job_name
        for d in second["responses"].values()
        for r in d.values()
        for job_name in [getattr(r, "job_name", "")]
    ]
    assert not any("[morse NEB]" in str(n) for n in names)
    reused_modes = [
        r.output.reused
        for d in second["responses"].values()
        for r in d.values()
        if type(r.output).__name__ == "NormalModes"
    ]
    assert reused_modes
    assert all(reused_modes)


def test_unconverged_neb_is_flagged(li_hop):
    from anodefree.workflows.stores import StoreSettings, make_job_store

    store = li_hop["store"]
    doc = li_hop["runs"][0]["document"]
    endpoints = [
        r.output
        for d in li_hop["runs"][0]["responses"].values()
        for r in d.values()
        if type(r.output).__name__ == "CalculationResult"
    ]
    initial = next(r for r in endpoints if r.metadata.get("endpoint") == "initial")
    final = next(r for r in endpoints if r.metadata.get("endpoint") == "final")
    del store, doc
    maker = NebMaker(engine=get_engine("morse"), settings=NebSettings(max_steps=2))
    job = maker.make(initial, final, label="short NEB")
    fresh = make_job_store(StoreSettings(backend="memory"))
    run_locally(Flow([job]), store=fresh, log=False)
    neb = job.output.resolve(fresh)
    assert not neb.converged
    assert any("fmax" in m for m in neb.convergence_messages)
    # The unconverged 3-image band was kept and refined once, with 7 images.
    assert len(neb.images) == 7 + 2
    assert neb.refinement.startswith("the 3-image band")
    assert "did not converge" in neb.refinement
    stored = fresh.query({"output.@class": "NebCalculation"}, properties=["output"])
    assert sorted(len(d["output"]["images"]) for d in stored) == [5, 9]
    # A rerun takes both bands from the store: nothing is computed again.
    job = maker.make(initial, final, label="short NEB")
    run_locally(Flow([job]), store=fresh, log=False)
    again = job.output.resolve(fresh)
    assert again.reused
    assert again.refinement == neb.refinement
    assert fresh.count({"output.@class": "NebCalculation", "output.reused": False}) == 2
    # A converged band with an interior minimum (two humps) is refined too; no further
    # refinement once refined.
    humped = neb.model_copy(
        update={"converged": True, "convergence_messages": [], "refinement": None,
                "energies": [0.0, 0.179, 0.118, 0.163, 0.0] + [0.0] * 4,
                "settings": NebSettings(n_images=3)}
    )  # fmt: skip
    assert band_minima(humped.energies[:5]) == [(2, pytest.approx(0.045))]
    reason = refinement_reason(humped, 7)
    assert "image 2 45.0 meV below its neighbours" in reason
    assert refinement_reason(humped, 3) is None
    assert refinement_reason(humped, None) is None
    # Endpoints that differ beyond the hop (a reconstruction): more images cannot help.
    first, last = humped.images[0], humped.images[-1]
    mover = int(np.argmax([first[i].distance(last[i]) for i in range(len(first))]))
    humped = humped.model_copy(update={"moving_index": mover})
    assert refinement_reason(humped, 7) == reason  # the hop alone: still refined
    other = (mover + 1) % len(first)
    moved = last.copy()
    moved.translate_sites([other], [2.0, 0.0, 0.0], frac_coords=False)
    broken = humped.model_copy(update={"images": [*humped.images[:-1], moved]})
    assert refinement_reason(broken, 7) is None
    document = MigrationBarrierDocument.from_results(
        hop="short",
        system="Li",
        kind="self",
        moving_species="Li",
        jump_length=2.98,
        symmetric=True,
        initial=initial,
        final=final,
        neb=neb,
    )
    assert document.flagged
    assert any("NEB not converged" in w for w in document.warnings)
    assert any(n.startswith("band refined: the 3-image band") for n in document.notes)


def test_settings_are_validated():
    with pytest.raises(ValidationError, match="aseneb"):
        NebSettings(method="aseneb")
    with pytest.raises(ValidationError, match="unknown NEB optimizer"):
        NebSettings(optimizer="LBFGSLineSearch")
    with pytest.raises(ValidationError, match="shells 2, 3 or 5"):
        MigrationStage(dissociation_shell=4)
    with pytest.raises(ValidationError, match="cannot hold shell 5"):
        MigrationStage(repetitions=3, dissociation_shell=5)
    with pytest.raises(ValidationError, match="host"):
        MigrationStage(solutes=("Li",))
    with pytest.raises(ValidationError, match="temperature_range"):
        MigrationStage(temperature_range=(400.0, 300.0))
    with pytest.raises(EngineError, match="ASE calculator"):
        NebMaker(engine=get_engine("vasp"))
    with pytest.raises(ValidationError, match="unknown interface system"):
        MigrationStage(interface_systems=("Li/Xx",))
    with pytest.raises(ValidationError, match="adjacent layers"):
        MigrationStage(interface_systems=("Li/Li2S",), interface_hops=((1, 3),))
    # planned work grows with the optional interface hops (3 calculations per hop)
    base = MigrationStage().planned_calculations()
    with_interfaces = MigrationStage(interface_systems=("Li/Li2S",)).planned_calculations()
    assert with_interfaces == base + 2 * 3


def test_mixed_calculators_are_refused_in_a_hop():
    from anodefree.analysis.documents.calculation import CalculationResult
    from anodefree.tasks import CalculationTask

    hop = bcc_vacancy_hop(A, 3)
    morse, other = get_engine("morse"), get_engine("morse", cutoff=5.0)

    def result(engine, structure):
        return CalculationResult(
            label="x", formula="Li", n_atoms=len(structure), structure=structure, energy=-1.0,
            energy_per_atom=-1.0 / len(structure), converged=True,
            calculator=engine.provenance(), task=CalculationTask(kind="relax_positions"),
            cache_key="k",
        )  # fmt: skip

    neb = NebCalculation(
        label="x", calculator=other.provenance(), settings=NebSettings(),
        images=[hop.initial, hop.final], energies=[-1.0, -1.0], reaction_coordinate=[0, 3],
        climbing_index=0, forward_barrier=0.0, reverse_barrier=0.0, converged=True,
        cache_key="n",
    )  # fmt: skip
    with pytest.raises(MixedCalculatorError, match="barrier of x"):
        MigrationBarrierDocument.from_results(
            hop="x", system="Li", kind="self", moving_species="Li", jump_length=2.98,
            symmetric=True, initial=result(morse, hop.initial), final=result(morse, hop.final),
            neb=neb,
        )  # fmt: skip


def test_phonopy_and_central_differences_give_the_same_modes():
    # Two independent routes to the Hessian of a small periodic cell: phonopy's
    # symmetry-reduced displacements and central differences of every atom.
    from pymatgen.io.ase import AseAtomsAdaptor

    atoms = bulk("Li", "bcc", a=A, cubic=True).repeat(2)
    del atoms[0]
    atoms.calc = MorsePairCalculator()
    BFGS(atoms, logfile=None).run(fmax=1e-5, steps=1000)
    structure = AseAtomsAdaptor().get_structure(atoms)
    engine = get_engine("morse")
    settings = AttemptFrequencySettings(displacement=0.005)
    full = compute_normal_modes(structure, engine, settings)
    local = compute_normal_modes(structure, engine, settings, moving_atoms=list(range(15)))
    assert full.zero_modes == 3
    assert full.method == "phonopy"
    assert full.n_force_calls < local.n_force_calls  # symmetry pays off
    f_full = np.sort(full.frequencies)
    f_local = np.sort(local.frequencies)
    # One-sided (phonopy) vs central differences with 0.005 A: both O(1e-3) relative;
    # translational sum rule and symmetrisation move the smallest modes most.
    big = np.abs(f_full) > 0.5
    assert np.allclose(f_full[big], f_local[big], rtol=0.02)
    assert np.sort(np.abs(f_full))[:3] == pytest.approx([0, 0, 0], abs=1e-3)


def test_stage_on_the_toy_engine_gives_hops_and_diffusivities(tmp_path):
    from anodefree.analysis.report import build_report, write_report
    from anodefree.workflows.bulk import BulkReferenceMaker
    from anodefree.workflows.migration import build_migration_stage
    from anodefree.workflows.stores import StoreSettings, make_job_store

    morse = get_engine("morse")
    relax = RelaxSettings(fmax=5e-3)
    bulk_flow = BulkReferenceMaker(engine=morse, relax=relax, phases=("Li",)).make()
    section = MigrationStage(
        solutes=("Mg",), attempt_frequency=AttemptFrequencySettings(method="einstein")
    )
    flows, planned = build_migration_stage(section, morse, relax, bulk_flow.output["results"]["Li"])
    store = make_job_store(StoreSettings(backend="memory"))
    responses = run_locally(Flow([bulk_flow, *flows]), store=store, log=False)
    outputs = [r.output for d in responses.values() for r in d.values()]
    hops = [o for o in outputs if isinstance(o, MigrationBarrierDocument)]
    diffusion = next(o for o in outputs if isinstance(o, VacancyDiffusionDocument))
    assert {h.kind for h in hops} == {"self", "exchange", "dissociation"}
    assert planned >= len(hops)
    # the exchange and dissociation hops share their initial endpoint: relaxed once
    endpoint_results = [
        o for o in outputs if type(o).__name__ == "CalculationResult" and o.role == "NEB endpoint"
    ]
    assert sum(not r.reused for r in endpoint_results) == 5  # 2 + 2 + 1
    # E_f from the NEB supercell (no vacancy document given), formula by hand
    perfect = next(
        o
        for o in outputs
        if type(o).__name__ == "CalculationResult" and o.role == "perfect supercell"
    )
    vacancy = next(
        r
        for r in endpoint_results
        if r.metadata["hop"].startswith("Li-vacancy") and r.metadata["endpoint"] == "initial"
    )
    assert diffusion.formation_energy == pytest.approx(vacancy.energy - 53 / 54 * perfect.energy)
    li, mg = diffusion.get("Li"), diffusion.get("Mg")
    self_hop = next(h for h in hops if h.kind == "self")
    # D(25 C) of Li self-diffusion by hand from the document's inputs
    kt = 8.617333262e-5 * 298.15
    hand = (
        8 / 6 * (self_hop.jump_length * 1e-10) ** 2 * li.attempt_frequency * 1e12 * 0.7272
        * math.exp(-(diffusion.formation_energy + self_hop.forward_barrier) / kt)
    )  # fmt: skip
    assert li.at(25.0).diffusivity == pytest.approx(hand, rel=1e-9)
    assert li.fitted_activation_energy == pytest.approx(li.activation_energy, abs=1e-9)
    assert mg.binding_energy is not None
    assert 0 < mg.at(25.0).correlation_factor <= 1
    assert mg.at(60.0).diffusivity > mg.at(25.0).diffusivity
    # Every document the stage stores (NEB calculations with their Structures included)
    # goes into the report and its JSON file.
    stored = [o for o in outputs if type(o).__name__ in {"NebCalculation", "NormalModes"}]
    assert stored
    report = build_report("test", [*stored, *hops, diffusion], figure_dir=tmp_path / "figures")
    written = write_report(report, tmp_path / "report")
    assert "NebCalculation" in written["json"].read_text()
    titles = [s.title for s in report.sections]
    assert "Migration barriers (climbing-image NEB)" in titles
    assert (tmp_path / "figures" / "neb_profiles.png").exists()
    assert (tmp_path / "figures" / "arrhenius.png").exists()
    rows = {r.quantity: r for r in report.rows}
    assert rows["Li-vacancy hop in bcc Li: forward barrier"].reference == 0.055
    assert "D(Mg in Li, 60 C)" in rows


def test_band_with_an_intermediate_minimum_is_flagged():
    from anodefree.analysis.documents.calculation import CalculationResult
    from anodefree.tasks import CalculationTask

    hop = bcc_vacancy_hop(A, 3)
    morse = get_engine("morse")

    def result(structure):
        return CalculationResult(
            label="x", formula="Li", n_atoms=len(structure), structure=structure, energy=-1.0,
            energy_per_atom=-1.0 / len(structure), converged=True,
            calculator=morse.provenance(), task=CalculationTask(kind="relax_positions"),
            cache_key="k",
        )  # fmt: skip

    # the profile of the Ag exchange with CHGNet: a metastable state between two humps
    energies = [-1.0, -0.85, -0.87, -0.83, -1.0]
    neb = NebCalculation(
        label="x", calculator=morse.provenance(), settings=NebSettings(),
        images=[hop.initial] * 5, energies=energies, reaction_coordinate=[0, 1, 2, 3, 4],
        climbing_index=3, forward_barrier=0.17, reverse_barrier=0.17, converged=True,
        cache_key="n",
    )  # fmt: skip
    document = MigrationBarrierDocument.from_results(
        hop="x", system="Li", kind="exchange", moving_species="Mg", jump_length=2.98,
        symmetric=True, initial=result(hop.initial), final=result(hop.final), neb=neb,
    )  # fmt: skip
    assert document.flagged
    assert any("image 2 is a local minimum" in w for w in document.warnings)
