"""Work of adhesion and wetting: the flow against independent direct calculations (toy engine).

The test interface is small on purpose: Li(110) on B2 LiAg(110) with up to 10 % strain
(24 atoms), the pure cell and a Mg solute in L1, a 2 x 2 registry grid. Every energy of the
independent calculation is computed here with the toy pair potential and ASE's optimiser,
not through the flow.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from ase.constraints import FixAtoms
from ase.optimize import BFGS
from jobflow import Flow, run_locally
from pydantic import ValidationError
from pymatgen.io.ase import AseAtomsAdaptor

from anodefree.analysis.documents.adhesion import AdhesionDocument, RigidScan, refine_minimum
from anodefree.analysis.documents.calculation import CalculationResult
from anodefree.analysis.documents.surfaces import SurfaceEnergyDocument
from anodefree.analysis.energetics import EV_PER_A2_TO_J_PER_M2
from anodefree.analysis.report import build_report
from anodefree.errors import ConfigError, MixedCalculatorError, StructureError
from anodefree.structures.bulk import bulk_structure
from anodefree.structures.interface_systems import InterfaceSystem
from anodefree.structures.interfaces import InterfaceBuilder, SolutePlacement
from anodefree.structures.lattice_match import MatchLimits
from anodefree.structures.surface_materials import liag_b2_structure
from anodefree.tasks import RelaxSettings
from anodefree.workflows.adhesion import (
    AdhesionMaker,
    AdhesionSettings,
    AdhesionStage,
    build_adhesion_stage,
)
from anodefree.workflows.calculation import CalculationMaker
from anodefree.workflows.engines.morse import MorsePairCalculator
from anodefree.workflows.engines.registry import get_engine
from anodefree.workflows.surfaces import SurfaceEnergyMaker

RELAX = RelaxSettings(fmax=1e-3, max_steps=2000)
SYSTEM = InterfaceSystem(
    name="Li-Mg/LiAg test",
    film_miller=(1, 1, 0),
    substrate="LiAg",
    substrate_miller=(1, 1, 0),
    solute="Mg",
    placements=(1,),
)
LIMITS = MatchLimits(max_strain=0.1, max_area=60, film_units=4, substrate_units=3)
SETTINGS = AdhesionSettings(
    limits=LIMITS,
    placements=("pure", "L1"),
    registry_grid=(2, 2),
    separations=(1.4, 1.8, 2.2, 2.6, 3.2, 4.0),
)


def _outputs(responses, cls):
    return [r.output for d in responses.values() for r in d.values() if isinstance(r.output, cls)]


def _bulks(engine, store):
    """Static results of fixed bulk cells, so that the direct calculation uses the same cells."""
    static = CalculationMaker(engine=engine, task=RELAX.task("static"))
    jobs = [
        static.make(bulk_structure("Li", a=3.44), label="Li", system="Li"),
        static.make(liag_b2_structure(), label="LiAg", system="LiAg"),
    ]
    results = _outputs(run_locally(Flow(jobs), store=store, log=False), CalculationResult)
    return {r.system: r for r in results}


@pytest.fixture(scope="module")
def flow_run():
    from anodefree.workflows.stores import StoreSettings, make_job_store

    morse = get_engine("morse")
    store = make_job_store(StoreSettings(backend="memory"))
    store.connect()
    bulks = _bulks(morse, store)
    surface = SurfaceEnergyMaker(
        engine=morse, relax=RELAX, material="Li", miller=(1, 1, 0), n_units=(3, 4, 5)
    ).make(bulks["Li"])
    maker = AdhesionMaker(engine=morse, relax=RELAX, system=SYSTEM, settings=SETTINGS)
    flow = maker.make(bulks["Li"], bulks["LiAg"], surface.output)
    responses = run_locally(Flow([surface, flow]), store=store, log=False)
    docs = {d.placement: d for d in _outputs(responses, AdhesionDocument)}
    (gamma,) = _outputs(responses, SurfaceEnergyDocument)
    return {
        "docs": docs,
        "gamma": gamma,
        "bulks": bulks,
        "store": store,
        "flow": flow,
        "responses": responses,
    }


def _builder(bulks):
    builder = InterfaceBuilder(bulks["Li"].structure, (1, 1, 0), bulks["LiAg"].structure, (1, 1, 0))
    return builder, builder.find_matches(LIMITS)[0]


def _cell(bulks, placement, shift, separation):
    builder, candidate = _builder(bulks)
    solutes = [] if placement == "pure" else [SolutePlacement(element="Mg", layer=1)]
    return builder.build(
        candidate,
        shift=shift,
        separation=separation,
        solutes=solutes,
        n_fixed_substrate_planes=len(builder.substrate.planes),
    )


def _energy(structure, fixed=(), relax=False) -> float:
    atoms = AseAtomsAdaptor.get_atoms(structure)
    atoms.set_constraint(FixAtoms(indices=list(fixed)) if fixed else None)
    atoms.calc = MorsePairCalculator()
    if relax:
        BFGS(atoms, logfile=None).run(fmax=1e-4, steps=5000)
    return float(atoms.get_potential_energy())


@pytest.mark.parametrize("placement", ["pure", "L1"])
def test_work_of_adhesion_matches_direct_calculation(flow_run, placement):
    doc = flow_run["docs"][placement]
    build = _cell(flow_run["bulks"], placement, doc.registry_shift_fractional, doc.best_separation)
    fixed = build.record.fixed_indices
    area = build.record.area
    # ideal: rigid interface and unrelaxed slabs, static energies
    e_int = _energy(build.structure)
    e_film = _energy(build.film_slab)
    e_sub = _energy(build.substrate_slab)
    ideal = (e_film + e_sub - e_int) / area * EV_PER_A2_TO_J_PER_M2
    # the static energies are the same numbers computed twice: agreement to rounding
    assert doc.w_ad_ideal == pytest.approx(ideal, abs=1e-8)
    # relaxed: interface and substrate with the bottom unit fixed, film free
    relaxed = (
        (
            _energy(build.film_slab, relax=True)
            + _energy(build.substrate_slab, fixed, relax=True)
            - _energy(build.structure, fixed, relax=True)
        )
        / area
        * EV_PER_A2_TO_J_PER_M2
    )
    # flow relaxed to 1e-3 eV/A, direct to 1e-4 eV/A from the same start with the same
    # optimiser: each energy within ~N f^2 / k ~ 24 * 1e-6 / 0.1 eV = 2.4e-4 eV, i.e.
    # ~1.4e-4 J/m^2 on 28 A^2; three energies enter W_ad
    assert doc.w_ad_relaxed == pytest.approx(relaxed, abs=1e-3)
    assert doc.relaxed_converged
    assert doc.area == pytest.approx(area)
    assert doc.n_atoms == len(build.structure) == 24
    assert doc.n_fixed == len(fixed) > 0


def test_scans_match_direct_energies_and_choose_the_minimum(flow_run):
    doc = flow_run["docs"]["pure"]
    bulks = flow_run["bulks"]
    reg = doc.registry_scan
    assert len(reg.points) == 4
    direct = [
        _energy(_cell(bulks, "pure", p.shift_fractional, SETTINGS.registry_separation).structure)
        for p in reg.points
    ]
    assert reg.energies == pytest.approx(direct, abs=1e-8)
    assert reg.best_index == int(np.argmin(direct))
    sep = doc.separation_scan
    assert [p.separation for p in sep.points] == list(SETTINGS.separations)
    assert all(p.shift_fractional == reg.best_shift_fractional for p in sep.points)
    direct = [
        _energy(_cell(bulks, "pure", reg.best_shift_fractional, d).structure)
        for d in SETTINGS.separations
    ]
    assert sep.energies == pytest.approx(direct, abs=1e-8)
    # best separation: the parabola through the lowest sample and its neighbours
    k = int(np.argmin(direct))
    assert 0 < k < len(direct) - 1  # the scan brackets the minimum for this system
    xs, ys = SETTINGS.separations[k - 1 : k + 2], direct[k - 1 : k + 2]
    a, b, _ = np.polyfit(xs, ys, 2)
    assert doc.best_separation == pytest.approx(-b / (2 * a), abs=1e-9)
    assert sep.refined
    # the separation curve is W(d) with the unrelaxed slabs; its top is the ideal W_ad
    e_slabs = doc.energies["film_static"].energy + doc.energies["substrate_static"].energy
    for point in doc.separation_curve:
        expected = (e_slabs - point.energy) / doc.area * EV_PER_A2_TO_J_PER_M2
        assert point.adhesion_energy == pytest.approx(expected, rel=1e-12)
    assert doc.w_ad_ideal >= max(p.adhesion_energy for p in doc.separation_curve) - 1e-9


def test_wetting_angle_and_verdict(flow_run):
    gamma = flow_run["gamma"]
    bulks = flow_run["bulks"]
    for doc in flow_run["docs"].values():
        assert doc.gamma_metal == gamma.surface_energy
        assert doc.film_facet == gamma.facet == "Li(110)"
        cosine = max(-1.0, min(1.0, doc.w_ad_relaxed / gamma.surface_energy - 1))
        assert doc.theta == pytest.approx(math.degrees(math.acos(cosine)), abs=1e-9)
        assert doc.verdict == ("lithiophobic" if doc.theta > 90 else "lithiophilic")
        assert doc.theta_basis == "relaxed"
    # strained film slab against unstrained bulk Li: pure film only
    pure = flow_run["docs"]["pure"]
    film = pure.energies["film_relaxed"]
    expected = (
        (film.energy - film.n_atoms * bulks["Li"].energy_per_atom)
        / (2 * pure.area)
        * EV_PER_A2_TO_J_PER_M2
    )
    assert pure.gamma_metal_strained == pytest.approx(expected, rel=1e-12)
    assert flow_run["docs"]["L1"].gamma_metal_strained is None
    assert flow_run["docs"]["L1"].solutes == {"L1": 1}


def test_handoff_contract_for_the_interfacial_defect_stage(flow_run):
    from jobflow.core.reference import find_and_resolve_references

    resolved = find_and_resolve_references(flow_run["flow"].output, flow_run["store"])
    assert set(resolved) == {
        "document",
        "interface",
        "film_indices",
        "substrate_indices",
        "placements",
    }
    assert set(resolved["placements"]) == {"pure", "L1"}
    doc, interface = resolved["document"], resolved["interface"]
    assert doc.placement == "pure"  # the primary placement
    assert isinstance(interface, CalculationResult)
    assert interface.task.kind == "relax_positions"
    assert interface.energy == doc.energies["interface_relaxed"].energy
    film, sub = resolved["film_indices"], resolved["substrate_indices"]
    assert sorted(film + sub) == list(range(interface.n_atoms))
    assert max(sub) < min(film)  # substrate first, then film
    assert {interface.structure[i].specie.symbol for i in film} == {"Li"}
    l1 = resolved["placements"]["L1"]
    mg = [i for i in l1["film_indices"] if l1["interface"].structure[i].specie.symbol == "Mg"]
    assert len(mg) == 1


def test_jobs_scan_mode_gives_the_same_scans(flow_run, memory_store):
    morse = get_engine("morse")
    bulks = _bulks(morse, memory_store)
    settings = SETTINGS.model_copy(update={"scan_mode": "jobs", "placements": ("pure",)})
    flow = AdhesionMaker(engine=morse, relax=RELAX, system=SYSTEM, settings=settings).make(
        bulks["Li"], bulks["LiAg"]
    )
    responses = run_locally(flow, store=memory_store, log=False)
    (doc,) = _outputs(responses, AdhesionDocument)
    direct = flow_run["docs"]["pure"]
    assert doc.registry_scan.mode == "jobs"
    assert doc.registry_scan.energies == pytest.approx(direct.registry_scan.energies, abs=1e-8)
    assert all(p.job_uuid for p in doc.registry_scan.points)
    assert doc.w_ad_ideal == pytest.approx(direct.w_ad_ideal, abs=1e-8)
    # no gamma_metal given: W_ad without a wetting angle, said in the warnings
    assert doc.theta is None
    assert any("no gamma_metal" in w for w in doc.warnings)


def test_direct_scans_are_reused_from_the_store(flow_run):
    morse = get_engine("morse")
    bulks = flow_run["bulks"]
    settings = SETTINGS.model_copy(update={"placements": ("pure",)})
    flow = AdhesionMaker(engine=morse, relax=RELAX, system=SYSTEM, settings=settings).make(
        bulks["Li"], bulks["LiAg"]
    )
    responses = run_locally(flow, store=flow_run["store"], log=False)
    scans = _outputs(responses, RigidScan)
    assert len(scans) == 2
    assert all(s.reused for s in scans)
    results = _outputs(responses, CalculationResult)
    assert results
    assert all(r.reused for r in results)


def test_shared_scans_take_the_pure_registry_and_draw_no_mixed_curve(flow_run):
    morse = get_engine("morse")
    bulks = flow_run["bulks"]
    settings = SETTINGS.model_copy(update={"share_scan": True})
    flow = AdhesionMaker(engine=morse, relax=RELAX, system=SYSTEM, settings=settings).make(
        bulks["Li"], bulks["LiAg"], flow_run["gamma"]
    )
    responses = run_locally(flow, store=flow_run["store"], log=False)
    docs = {d.placement: d for d in _outputs(responses, AdhesionDocument)}
    pure, l1 = docs["pure"], docs["L1"]
    assert len(_outputs(responses, RigidScan)) == 2  # one registry and one separation scan
    assert l1.scan_placement == "pure"
    assert l1.registry_shift_fractional == pure.registry_shift_fractional
    assert l1.best_separation == pure.best_separation
    # the pure cell's scan energies must not be combined with the alloy slabs
    assert l1.separation_curve == []
    assert pure.separation_curve
    # W_ad of the alloy at the shared point, from the alloy's own cells
    build = _cell(bulks, "L1", pure.registry_shift_fractional, pure.best_separation)
    ideal = (
        (_energy(build.film_slab) + _energy(build.substrate_slab) - _energy(build.structure))
        / build.record.area
        * EV_PER_A2_TO_J_PER_M2
    )
    assert l1.w_ad_ideal == pytest.approx(ideal, abs=1e-8)
    # relaxed: from the relaxed pure cell with Mg substituted, computed directly
    fixed = build.record.fixed_indices
    pure_build = _cell(bulks, "pure", pure.registry_shift_fractional, pure.best_separation)

    def warm(structure, pure_structure, fixed=()):
        atoms = AseAtomsAdaptor.get_atoms(pure_structure)
        atoms.set_constraint(FixAtoms(indices=list(fixed)) if fixed else None)
        atoms.calc = MorsePairCalculator()
        BFGS(atoms, logfile=None).run(fmax=1e-4, steps=5000)
        atoms.set_chemical_symbols([site.specie.symbol for site in structure])
        BFGS(atoms, logfile=None).run(fmax=1e-4, steps=5000)
        return float(atoms.get_potential_energy())

    relaxed = (
        (
            warm(build.film_slab, pure_build.film_slab)
            + _energy(build.substrate_slab, fixed, relax=True)
            - warm(build.structure, pure_build.structure, fixed)
        )
        / build.record.area
        * EV_PER_A2_TO_J_PER_M2
    )
    # as in test_work_of_adhesion_matches_direct_calculation; the flow's pure relaxation
    # stops at 1e-3 eV/A, so its starting point differs from the direct one by ~1e-3 A
    assert l1.w_ad_relaxed == pytest.approx(relaxed, abs=2e-3)
    starts = {
        r.label: r.metadata.get("start")
        for r in _outputs(responses, CalculationResult)
        if "(relaxed)" in r.label
    }
    assert starts[f"{SYSTEM.name} L1 interface (relaxed)"] == "relaxed pure cell"
    assert starts[f"{SYSTEM.name} L1 film slab (relaxed)"] == "relaxed pure film"


def test_unconverged_relaxation_is_flagged_never_silently_used(flow_run, memory_store):
    morse = get_engine("morse")
    bulks = _bulks(morse, memory_store)
    short = RelaxSettings(fmax=1e-4, max_steps=3)
    settings = SETTINGS.model_copy(update={"placements": ("pure",)})
    flow = AdhesionMaker(engine=morse, relax=short, system=SYSTEM, settings=settings).make(
        bulks["Li"], bulks["LiAg"], flow_run["gamma"]
    )
    (doc,) = _outputs(run_locally(flow, store=memory_store, log=False), AdhesionDocument)
    assert not doc.relaxed_converged
    assert not doc.converged
    assert doc.flagged
    assert any("not converged" in w for w in doc.warnings)
    assert any("unconverged relaxation" in w for w in doc.warnings)
    rows = build_report("t", [doc]).sections[0].rows
    relaxed_row = next(r for r in rows if r.quantity.startswith("W_ad relaxed"))
    theta_row = next(r for r in rows if r.quantity.startswith("theta,"))
    assert relaxed_row.flagged
    assert "NOT CONVERGED" in relaxed_row.note
    assert theta_row.flagged


def test_failed_relaxation_falls_back_to_ideal_and_says_so(flow_run):
    doc = flow_run["docs"]["pure"]
    results = _outputs(flow_run["responses"], CalculationResult)
    by_label = {r.label: r for r in results}

    def get(part, state):
        return by_label[f"{SYSTEM.name} pure {part} ({state})"]

    failed = AdhesionDocument.from_results(
        system=doc.system,
        placement=doc.placement,
        record=doc.interface,
        film_indices=doc.film_indices,
        substrate_indices=doc.substrate_indices,
        registry_scan=doc.registry_scan,
        separation_scan=doc.separation_scan,
        rigid_interface=get("interface", "rigid"),
        film_static=get("film slab", "rigid"),
        substrate_static=get("substrate slab", "rigid"),
        relaxed_interface=None,
        relaxed_film=get("film slab", "relaxed"),
        relaxed_substrate=get("substrate slab", "relaxed"),
        metal_surface=flow_run["gamma"],
    )
    assert failed.w_ad_relaxed is None
    assert failed.w_ad_ideal == doc.w_ad_ideal
    assert failed.theta_basis == "ideal"
    assert failed.theta == failed.theta_ideal
    assert any("relaxation failed (interface)" in w for w in failed.warnings)
    assert failed.flagged
    rows = build_report("t", [failed]).sections[0].rows
    assert next(r for r in rows if r.quantity.startswith("W_ad relaxed")).value is None
    assert all(r.flagged for r in rows if r.quantity.startswith(("W_ad relaxed", "theta")))


def test_energies_of_different_engines_are_refused(flow_run):
    doc = flow_run["docs"]["pure"]
    bulks = flow_run["bulks"]
    other = get_engine("morse", cutoff=5.0)
    foreign_bulk = bulks["Li"].model_copy(update={"calculator": other.provenance()})
    # at once, when the flow is built from a finished result of another engine
    with pytest.raises(MixedCalculatorError, match="film bulk"):
        AdhesionMaker(
            engine=get_engine("morse"), relax=RELAX, system=SYSTEM, settings=SETTINGS
        ).make(foreign_bulk, bulks["LiAg"])
    # and when the document is assembled
    results = {r.label: r for r in _outputs(flow_run["responses"], CalculationResult)}
    name = f"{SYSTEM.name} pure"
    kwargs = {
        "system": doc.system,
        "placement": doc.placement,
        "record": doc.interface,
        "film_indices": doc.film_indices,
        "substrate_indices": doc.substrate_indices,
        "registry_scan": doc.registry_scan,
        "separation_scan": doc.separation_scan,
        "rigid_interface": results[f"{name} interface (rigid)"],
        "film_static": results[f"{name} film slab (rigid)"],
        "substrate_static": results[f"{name} substrate slab (rigid)"],
        "relaxed_interface": results[f"{name} interface (relaxed)"],
        "relaxed_film": results[f"{name} film slab (relaxed)"],
        "relaxed_substrate": results[f"{name} substrate slab (relaxed)"],
        "metal_surface": flow_run["gamma"],
    }
    foreign = kwargs["relaxed_film"].model_copy(update={"calculator": other.provenance()})
    with pytest.raises(MixedCalculatorError, match="work of adhesion"):
        AdhesionDocument.from_results(**{**kwargs, "relaxed_film": foreign})
    foreign_gamma = flow_run["gamma"].model_copy(update={"calculator": other.provenance()})
    with pytest.raises(MixedCalculatorError, match="work of adhesion"):
        AdhesionDocument.from_results(**{**kwargs, "metal_surface": foreign_gamma})
    # and the same inputs from one engine give the flow's own number
    again = AdhesionDocument.from_results(**kwargs)
    assert again.w_ad_relaxed == doc.w_ad_relaxed


def test_bad_input_names_the_value():
    morse = get_engine("morse")
    with pytest.raises(StructureError, match=r"max_strain=0\.001"):
        AdhesionMaker(
            engine=morse,
            system="Li/Li2S",
            settings=AdhesionSettings(limits=MatchLimits(max_strain=0.001)),
        )
    with pytest.raises(StructureError, match=r"\(0, 0, 0\)"):
        AdhesionMaker(engine=morse, system=SYSTEM.model_copy(update={"film_miller": (0, 0, 0)}))
    polar = SYSTEM.model_copy(update={"substrate": "Li2S", "substrate_miller": (1, 0, 0)})
    with pytest.raises(StructureError, match=r"Li2S\(1, 0, 0\) has no acceptable"):
        AdhesionMaker(engine=morse, system=polar)
    with pytest.raises(StructureError, match="'Li/Na2S'"):
        AdhesionMaker(engine=morse, system="Li/Na2S")
    with pytest.raises(StructureError, match="'L0'"):
        AdhesionMaker(engine=morse, system=SYSTEM, settings=AdhesionSettings(placements=("L0",)))
    with pytest.raises(StructureError, match="n_fixed_substrate_units=3"):
        AdhesionMaker(
            engine=morse,
            system=SYSTEM,
            settings=SETTINGS.model_copy(update={"n_fixed_substrate_units": 3}),
        )
    with pytest.raises(ValidationError, match=r"vacuum=6\.0"):
        AdhesionSettings(vacuum=6.0)
    with pytest.raises(ValidationError, match="three distinct positive separations"):
        AdhesionSettings(separations=(2.0, 2.5))
    with pytest.raises(ValidationError, match="Li/Na2S"):
        AdhesionStage(systems=("Li/Na2S",))


def test_direct_scan_mode_needs_an_ase_engine():
    from anodefree.workflows.engines.vasp import VaspEngine

    with pytest.raises(ConfigError, match="'direct'"):
        AdhesionMaker(
            engine=VaspEngine(),
            system=SYSTEM,
            settings=SETTINGS.model_copy(update={"scan_mode": "direct"}),
            check_match=False,
        )


def test_refine_minimum():
    # a parabola sampled at three points is recovered exactly
    x = [1.0, 2.0, 3.0, 4.0]
    y = [(xi - 2.3) ** 2 for xi in x]
    assert refine_minimum(x, y) == (pytest.approx(2.3), True)
    # a minimum at the edge of the scan is not extrapolated
    assert refine_minimum(x, [4.0, 3.0, 2.0, 1.0]) == (4.0, False)


def test_report_section_and_figures(flow_run, tmp_path):
    docs = list(flow_run["docs"].values())
    report = build_report("t", [flow_run["gamma"], *docs], figure_dir=tmp_path / "figures")
    section = next(s for s in report.sections if s.title == "Work of adhesion and wetting")
    for doc in docs:
        w = next(
            r
            for r in section.rows
            if r.quantity.startswith("W_ad relaxed") and r.value == doc.w_ad_relaxed
        )
        assert ("Mg L1" in w.quantity) == (doc.placement == "L1")
        assert w.unit == "J/m^2"
        for text in ("strain on the metal", "area", "atoms"):
            assert text in w.note
    thetas = [r for r in section.rows if r.quantity.startswith("theta,")]
    assert len(thetas) == 2
    assert all(r.unit == "deg" for r in thetas)
    assert all("area" in r.note and "atoms" in r.note for r in thetas)
    names = {f.split("/")[-1] for f in section.figures}
    assert "adhesion_separation_curves.png" in names
    assert any(n.startswith("registry_") for n in names)
    assert sum(n.startswith("interface_") for n in names) == 2
    for f in section.figures:
        assert (tmp_path / f).stat().st_size > 5000
    surfaces = next(s for s in report.sections if s.title == "Surface energies")
    assert any("thickest" in r.quantity for r in surfaces.rows)


def test_stage_builds_every_system_and_counts_calculations():
    morse = get_engine("morse")
    stage = AdhesionStage()
    flows, planned = build_adhesion_stage(stage, morse, RELAX, None, None)
    outputs = flows[0].output
    assert set(outputs) == {"Li/Li2S", "Li-Mg/Li2S", "Li-Ag/Li2S", "Li/LiAg"}
    # direct scans, shared by the placements of a system: 2 scans per system + 6
    # calculations per interface; 6 interfaces (pure, Mg L1/interior, Ag L1/interior,
    # Li/LiAg); the Li, Li2S and LiAg bulks relaxed here (none given); Li(100) and Li(110)
    # series added since no surfaces stage was given
    n_surface = sum(len(v) for v in stage.metal_surface_units.values())
    # the two alloy systems relax the pure cell (interface, film) as their starting point
    assert planned == 4 * 2 + 6 * 6 + 2 * 2 + 3 + n_surface
    flows, planned = build_adhesion_stage(
        stage, morse, RELAX, None, None, None, {"Li(100)": None, "Li(110)": None}
    )
    assert planned == 4 * 2 + 6 * 6 + 2 * 2 + 3
    assert stage.relax_settings(RELAX).fmax == stage.fmax
    cluster = AdhesionStage.cluster()
    assert not cluster.share_scan
    assert cluster.relax_settings(RELAX) == RELAX
