"""The interfacial-defect flow against direct, independent calculations (toy Morse engine).

A small Li(100)/Li2S(111) interface (5 metal layers on one Li-S-Li trilayer, the bottom
plane fixed) is relaxed and handed to the flow as the adhesion stage would. The direct
calculations below use the ASE calculator and optimizers themselves, not the flow: the
bcc Li chemical potential, the host, and the defect cells with the same relaxation region
rebuilt from plain distances.
"""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk
from ase.constraints import FixAtoms
from ase.filters import FrechetCellFilter
from ase.optimize import BFGS, BFGSLineSearch
from jobflow import Flow, run_locally
from pymatgen.core import Structure
from pymatgen.io.ase import AseAtomsAdaptor

from anodefree.analysis.documents.calculation import CalculationResult
from anodefree.analysis.documents.interface_defects import InterfaceDefectDocument
from anodefree.errors import ConfigError, StructureError
from anodefree.structures.interface_defects import DefectHost
from anodefree.structures.interface_systems import system_interfaces
from anodefree.tasks import RelaxSettings
from anodefree.workflows.bulk import BulkReferenceMaker
from anodefree.workflows.calculation import CalculationMaker
from anodefree.workflows.engines.morse import MorsePairCalculator
from anodefree.workflows.engines.registry import get_engine
from anodefree.workflows.interface_defects import (
    HostBuildSettings,
    InterfaceDefectSettings,
    InterfaceDefectsMaker,
    InterfaceDefectsStage,
    build_host,
    build_interface_defects_stage,
    refined_host,
    screened_layers,
)
from anodefree.workflows.stores import StoreSettings, make_job_store

RELAX = RelaxSettings(fmax=1e-3)
RADIUS = 5.0
SETTINGS = InterfaceDefectSettings(
    profile_layers=(1,),
    segregation_layers=(1,),
    radius=RADIUS,
    size_check=((1, 1), (2, 1)),
    pair_supercell=(2, 1),
    interaction_shells=1,
    divacancy_interface=("L1-L1",),
    divacancy_bulk_shells=(1,),
    bulk_repetitions=3,
)


def _clean(structure: Structure) -> Structure:
    return Structure(structure.lattice, structure.species, structure.frac_coords)


@pytest.fixture(scope="module")
def small_interface():
    return system_interfaces(
        "Li/Li2S", film_units=5, substrate_units=1, n_fixed_substrate_planes=1
    )["pure"]


@pytest.fixture(scope="module")
def flow_output(small_interface):
    morse = get_engine("morse")
    build = small_interface
    li_flow = BulkReferenceMaker(engine=morse, relax=RELAX, phases=("Li",)).make()
    li = li_flow.output["results"]["Li"]
    host = CalculationMaker(
        engine=morse, task=RELAX.task("relax_positions", build.record.fixed_indices)
    ).make(_clean(build.structure), label="host")
    maker = InterfaceDefectsMaker(engine=morse, relax=RELAX, system="Li-Mg/Li2S", settings=SETTINGS)
    flow = maker.make(
        host.output,
        build.film_indices,
        build.substrate_indices,
        li,
        layer_reference=_clean(build.structure),
    )
    store = make_job_store(StoreSettings(backend="memory"))
    responses = run_locally(Flow([li_flow, host, flow]), store=store, log=False)
    outputs = [r.output for d in responses.values() for r in d.values()]
    (document,) = [o for o in outputs if isinstance(o, InterfaceDefectDocument)]
    host_result = next(o for o in outputs if isinstance(o, CalculationResult) and o.label == "host")
    return document, host_result


def _direct_mu() -> float:
    atoms = bulk("Li", "bcc", a=3.4)
    atoms.calc = MorsePairCalculator()
    BFGS(FrechetCellFilter(atoms), logfile=None).run(fmax=1e-5)
    return atoms.get_potential_energy() / len(atoms)


@pytest.fixture(scope="module")
def direct_host(small_interface):
    """The host relaxed directly with ASE (same start, same fixed plane, tighter fmax)."""
    atoms = AseAtomsAdaptor.get_atoms(_clean(small_interface.structure))
    atoms.set_constraint(FixAtoms(indices=list(small_interface.record.fixed_indices)))
    atoms.calc = MorsePairCalculator()
    BFGS(atoms, logfile=None).run(fmax=1e-4)
    return atoms


def _direct_defect(
    host_atoms,
    fixed: list[int],
    supercell: tuple[int, int],
    vacancies: list[int],
    solutes: dict[int, str],
) -> float:
    """Relaxed energy of a defect cell: atoms within RADIUS of a defect site move."""
    atoms = host_atoms.copy()
    atoms.set_constraint()
    atoms = atoms.repeat((*supercell, 1))
    n = len(host_atoms)
    fixed_all = {t * n + i for t in range(supercell[0] * supercell[1]) for i in fixed}
    sites = [*vacancies, *solutes]
    near = np.zeros(len(atoms), dtype=bool)
    for site in sites:
        near |= atoms.get_distances(site, range(len(atoms)), mic=True) <= RADIUS
    for site, element in solutes.items():
        atoms[site].symbol = element
    keep = [i for i in range(len(atoms)) if i not in vacancies]
    frozen = [k for k, i in enumerate(keep) if not near[i] or i in fixed_all]
    atoms = atoms[keep]
    atoms.set_constraint(FixAtoms(indices=frozen))
    atoms.calc = MorsePairCalculator()
    BFGSLineSearch(atoms, logfile=None).run(fmax=1e-4)
    return atoms.get_potential_energy()


@pytest.mark.slow
def test_layer_formation_energy_matches_direct_calculation(
    flow_output, small_interface, direct_host
):
    document, _ = flow_output
    mu = _direct_mu()
    fixed = list(small_interface.record.fixed_indices)
    e_host = direct_host.get_potential_energy()
    assert [p.layer for p in document.vacancy_profile] == [1, 3]  # L1 and the interior L3
    assert document.host.interior_layer == 3
    for entry in document.vacancy_profile:
        cells = entry.supercell[0] * entry.supercell[1]
        e_vac = _direct_defect(direct_host, fixed, entry.supercell, [entry.site], {})
        expected = e_vac - cells * e_host + mu  # a pair potential is exactly extensive
        # Flow relaxed to 1e-3 eV/A, direct to 1e-4 eV/A with the same optimizer family:
        # the energies of such points agree to ~1e-5 eV; 5e-4 eV leaves room for the host,
        # whose positions differ by ~1e-3 A between the two relaxations.
        assert entry.formation_energy == pytest.approx(expected, abs=5e-4)
    first = document.profile_by_layer[1]
    assert document.l1_minus_interior == pytest.approx(
        first.formation_energy - document.interior_formation_energy
    )


@pytest.mark.slow
def test_segregation_matches_direct_calculation(flow_output, small_interface, direct_host):
    document, _ = flow_output
    fixed = list(small_interface.record.fixed_indices)
    energies = {}
    for entry in document.segregation:
        cell = document.single_supercell
        energies[entry.layer] = _direct_defect(direct_host, fixed, cell, [], {entry.site: "Mg"})
    (l1,) = [s for s in document.segregation if s.layer == 1]
    assert l1.segregation_energy == pytest.approx(energies[1] - energies[3], abs=5e-4)


@pytest.mark.slow
def test_sites_are_the_lowest_of_a_direct_screen(flow_output):
    document, host_result = flow_output
    host = AseAtomsAdaptor.get_atoms(host_result.structure)
    host.calc = MorsePairCalculator()
    e_host = host.get_potential_energy()
    screen = next(s for s in document.screens if s.defect == "vacancy" and s.layer == 1)
    direct = []
    for site in screen.sites:
        cell = host.copy()
        del cell[site]
        cell.calc = MorsePairCalculator()
        direct.append(cell.get_potential_energy() - e_host)
    # single points of the same structures: equal to rounding
    assert np.allclose(screen.energies, direct, atol=1e-8)
    # the lowest energy, ties within 0.1 meV to the lowest index
    ranked = sorted(zip(screen.sites, direct, strict=True), key=lambda p: (round(p[1], 4), p[0]))
    assert screen.chosen == ranked[0][0]
    assert document.profile_by_layer[1].site == screen.chosen


@pytest.mark.slow
def test_size_check_and_provenance(flow_output):
    document, _ = flow_output
    check = document.size_check
    assert [e.supercell for e in check.entries] == [(1, 1), (2, 1)]
    small, large = check.entries
    assert large.change == 0.0
    # the profile cell is the smallest one within the tolerance of the largest
    expected = (1, 1) if abs(small.change) <= check.tolerance else (2, 1)
    assert document.single_supercell == check.chosen == expected
    assert document.calculator.fingerprint == get_engine("morse").provenance().fingerprint
    assert document.host.job_uuid in document.job_uuids
    assert document.chemical_potential_job_uuid in document.job_uuids
    for entry in document.vacancy_profile:
        assert len(entry.job_uuids) == 2
        assert all(entry.job_uuids)
        assert set(entry.job_uuids) <= set(document.job_uuids)
    # the pair configurations: interaction, near and far filling, divacancies
    assert len(document.interaction) == 1
    assert {f.case for f in document.filling} == {"near", "far"}
    near = next(f for f in document.filling if f.case == "near")
    far = next(f for f in document.filling if f.case == "far")
    assert near.vacancy_layer == 1
    assert near.solute_layer == 2
    assert far.initial_distance > near.initial_distance
    assert {d.where for d in document.divacancies} == {"bulk", "interface"}
    assert not document.warnings


@pytest.mark.slow
def test_bulk_divacancy_matches_direct_calculation(flow_output):
    document, _ = flow_output
    (pair,) = [d for d in document.divacancies if d.where == "bulk"]
    a = document.lattice_constant

    def relaxed(drop: list[int]) -> float:
        atoms = bulk("Li", "bcc", a=a, cubic=True).repeat(3)
        del atoms[drop]
        atoms.calc = MorsePairCalculator()
        BFGS(atoms, logfile=None).run(fmax=1e-4)
        return atoms.get_potential_energy()

    perfect = bulk("Li", "bcc", a=a, cubic=True).repeat(3)
    distances = perfect.get_distances(0, range(len(perfect)), mic=True)
    partner = min(i for i, d in enumerate(distances) if abs(d - 3**0.5 / 2 * a) < 0.05)
    perfect.calc = MorsePairCalculator()
    expected = relaxed([0, partner]) + perfect.get_potential_energy() - 2 * relaxed([0])
    assert pair.bcc_shell == 1
    assert pair.binding_energy == pytest.approx(expected, abs=5e-4)
    assert document.bulk_formation_energy is not None


@pytest.mark.slow
def test_layers_the_film_cannot_hold_fail_clearly(small_interface):
    build = small_interface
    host = DefectHost.from_interface(build.structure, build.film_indices, build.substrate_indices)
    with pytest.raises(StructureError, match="interior layer L3 of this 5-layer film"):
        screened_layers(host, InterfaceDefectSettings(profile_layers=(1, 2, 3)), None)
    settings = InterfaceDefectSettings(profile_layers=(1,), segregation_layers=(9,))
    with pytest.raises(StructureError, match="L9 does not exist"):
        screened_layers(host, settings, "Mg")


def test_settings_are_validated():
    with pytest.raises(ValueError, match="layers are integers >= 1"):
        InterfaceDefectSettings(profile_layers=(0, 1))
    with pytest.raises(ValueError, match="must include L1"):
        InterfaceDefectSettings(profile_layers=(2, 3))
    with pytest.raises(ValueError, match="radius_check"):
        InterfaceDefectSettings(radius=6.0, radius_check=5.0)
    with pytest.raises(ValueError, match="unknown optimizer 'Newton'"):
        InterfaceDefectSettings(optimizer="Newton")
    with pytest.raises(ValueError, match="cannot hold divacancy shell 4"):
        InterfaceDefectSettings(bulk_repetitions=3, divacancy_bulk_shells=(4,))
    with pytest.raises(ValueError, match="'Li/Na2S'"):
        InterfaceDefectsStage(systems=("Li/Na2S",))
    with pytest.raises(ValueError, match="pure interface"):
        InterfaceDefectsStage(host_system="Li-Mg/Li2S")
    with pytest.raises(StructureError, match="'Xx'"):
        InterfaceDefectsMaker(solute="Xx")
    with pytest.raises(StructureError, match="host metal"):
        InterfaceDefectsMaker(solute="Li")
    assert InterfaceDefectsMaker(system="Li-Ag/Li2S").solute == "Ag"
    assert InterfaceDefectsMaker(system="Li/Li2S").solute is None


def test_stage_builder(morse):
    section = InterfaceDefectsStage()
    flows, planned = build_interface_defects_stage(section, morse, RELAX, li_bulk=None)
    names = [f.name for f in flows]
    assert names[0] == "interface defect host"
    assert "bulk divacancies" in names
    assert sum(n.startswith("interface defects ") for n in names) == 3
    assert names[-1] == "bond energies"
    assert planned > 3 * (len(section.profile_layers) + 1)
    with pytest.raises(ConfigError, match="no adhesion outputs"):
        build_interface_defects_stage(
            InterfaceDefectsStage(host="adhesion"), morse, RELAX, li_bulk=None
        )
    cluster = InterfaceDefectsStage.cluster()
    assert cluster.pair_supercell == (2, 2)
    assert cluster.planned_calculations() > section.planned_calculations()


@pytest.mark.slow
def test_host_reproduces_a_template_with_a_thicker_film(small_interface):
    template = small_interface.record  # 5 metal layers, as the adhesion stage's laptop cell
    build = HostBuildSettings(film_units=7, substrate_units=1, n_fixed_substrate_planes=1)
    built, notes = build_host(build, template=template, shift=(0.25, 0.5), separation=2.2)
    record = built.record
    assert record.match == template.match
    assert record.n_film_layers == 7
    assert record.registry_shift_fractional == (0.25, 0.5)
    assert record.separation == 2.2
    assert record.film_termination == template.film_termination
    lattice, reference = built.structure.lattice.matrix, small_interface.structure.lattice.matrix
    assert np.allclose(lattice[:2], reference[:2])
    layers = built.layers()
    assert layers[0].distance_to_contact == pytest.approx(2.2)
    assert "adhesion stage's lattice match" in notes[0]


@pytest.mark.slow
def test_refined_host_relaxes_a_loose_interface_again(small_interface, memory_store):
    morse = get_engine("morse")
    build = small_interface
    fixed = build.record.fixed_indices
    loose = CalculationMaker(
        engine=morse, task=RelaxSettings(fmax=0.1).task("relax_positions", fixed)
    ).make(_clean(build.structure), label="loose host")
    refined = refined_host(loose.output, build.film_indices, build.substrate_indices, morse, RELAX)
    responses = run_locally(Flow([loose, refined]), store=memory_store, log=False)
    outputs = [r.output for d in responses.values() for r in d.values()]
    results = {o.label: o for o in outputs if isinstance(o, CalculationResult)}
    first, second = results["loose host"], results["loose host (refined for defects)"]
    assert second.task.fmax == RELAX.fmax
    assert second.task.fixed_indices == tuple(fixed)
    assert second.converged
    assert second.max_force < RELAX.fmax
    assert second.energy <= first.energy + 1e-9  # relaxing further cannot raise the energy
    # the fixed substrate plane did not move
    moved = np.linalg.norm(second.structure.cart_coords - first.structure.cart_coords, axis=1)
    assert moved[list(fixed)].max() < 1e-8
