"""Interface vacancy hops built in the relaxed host and relaxed locally (toy Morse engine).

The structure tests rebuild the relaxation region from plain ASE distances. The flow test
runs the migration stage's interface hop in a Morse-relaxed Li(100)/Li2S(111) host and
compares it with a climbing-image NEB run directly with ASE from the same host, with the
same atoms held by ``FixAtoms``.
"""

from __future__ import annotations

import numpy as np
import pytest
from ase.constraints import FixAtoms
from ase.mep import NEB
from ase.optimize import BFGS
from jobflow import Flow, run_locally
from pydantic import ValidationError
from pymatgen.core import Lattice, Structure
from pymatgen.io.ase import AseAtomsAdaptor

from anodefree.analysis.documents.calculation import CalculationResult
from anodefree.analysis.documents.migration import (
    RECONSTRUCTION_TOLERANCE,
    MigrationBarrierDocument,
    NebCalculation,
)
from anodefree.errors import StructureError
from anodefree.structures.interface_defects import DefectHost
from anodefree.structures.interface_hops import layer_hop, layer_hop_candidates, local_hop
from anodefree.structures.interface_systems import system_interfaces
from anodefree.tasks import RelaxSettings
from anodefree.workflows.calculation import CalculationMaker
from anodefree.workflows.engines.morse import MorsePairCalculator
from anodefree.workflows.engines.registry import get_engine
from anodefree.workflows.migration import MigrationStage, build_migration_stage
from anodefree.workflows.stores import StoreSettings, make_job_store

RADIUS = 4.5
RELAX = RelaxSettings(fmax=1e-3)


def _clean(structure: Structure) -> Structure:
    return Structure(structure.lattice, structure.species, structure.frac_coords)


@pytest.fixture(scope="module")
def build():
    return system_interfaces(
        "Li/Li2S", film_units=5, substrate_units=1, n_fixed_substrate_planes=1
    )["pure"]


@pytest.fixture(scope="module")
def host(build):
    return DefectHost.from_interface(
        _clean(build.structure), build.film_indices, build.substrate_indices,
        fixed_indices=build.record.fixed_indices,
    )  # fmt: skip


def test_layer_hop_moves_one_atom_from_the_next_layer_and_frees_only_the_region(host):
    hop = layer_hop(host, 1, 2, radius=RADIUS, system="Li/Li2S")
    vacancy, hop_site = hop.metadata["vacancy_site"], hop.metadata["hop_site"]
    assert host.layer_of[vacancy] == 1
    assert host.layer_of[hop_site] == 2
    assert vacancy == min(host.layer_sites(1))
    # the partner is the nearest L2 atom (plain ASE distances)
    atoms = AseAtomsAdaptor.get_atoms(host.structure)
    d_l2 = {i: atoms.get_distance(vacancy, i, mic=True) for i in host.layer_sites(2)}
    assert d_l2[hop_site] == pytest.approx(min(d_l2.values()), abs=1e-3)
    assert hop.jump_length == pytest.approx(d_l2[hop_site], abs=1e-6)
    # only the hopping atom differs between the endpoints
    moved = np.linalg.norm(hop.final.cart_coords - hop.initial.cart_coords, axis=1)
    assert np.flatnonzero(moved > 1e-8).tolist() == [hop.moving_index]
    # fixed: farther than RADIUS from both sites, or fixed in the host (endpoint indices)
    near = (atoms.get_distances(vacancy, range(len(atoms)), mic=True) <= RADIUS) | (
        atoms.get_distances(hop_site, range(len(atoms)), mic=True) <= RADIUS
    )
    expected = [
        i - (i > vacancy)
        for i in range(len(atoms))
        if i != vacancy and (not near[i] or i in host.fixed_indices)
    ]
    assert list(hop.fixed_indices) == expected
    assert hop.moving_index not in hop.fixed_indices
    assert 0 < hop.metadata["n_free"] < len(hop.initial)
    assert hop.metadata["n_free"] == len(hop.initial) - len(expected)


def test_layer_hop_next_to_a_solute(host):
    hop = layer_hop(host, 2, 3, solute="Mg", solute_layer=1, radius=RADIUS)
    solute = hop.metadata["solute_site"]
    assert solute == min(host.layer_sites(1))
    assert hop.initial.composition["Mg"] == 1
    vacancy = hop.metadata["vacancy_site"]
    distances = {i: host.distance(solute, i) for i in host.layer_sites(2)}
    assert distances[vacancy] == pytest.approx(min(distances.values()), abs=1e-3)
    assert host.layer_of[hop.metadata["hop_site"]] == 3


def test_candidates_keep_the_vacancy_next_to_the_solute_and_vary_the_partner(host):
    solute = min(host.layer_sites(2))
    pairs = layer_hop_candidates(host, 2, 3, solute_site=solute, max_candidates=24)
    # candidate 0 is the pair layer_hop builds by default
    default = layer_hop(host, 2, 3, solute="Mg", solute_layer=2, radius=RADIUS)
    assert pairs[0] == (default.metadata["vacancy_site"], default.metadata["hop_site"])
    assert default.metadata["candidate"] == 0
    assert default.metadata["n_candidates"] == 6
    atoms = AseAtomsAdaptor.get_atoms(host.structure)
    vacancies = [v for v, _ in pairs]
    # vacancies by distance to the solute (plain ASE distances), never on the solute
    d_solute = [round(atoms.get_distance(solute, v, mic=True), 3) for v in dict.fromkeys(vacancies)]
    assert d_solute == sorted(d_solute)
    assert solute not in vacancies
    for vacancy, partner in pairs:
        assert host.layer_of[vacancy] == 2
        assert host.layer_of[partner] == 3
        d_l3 = [atoms.get_distance(vacancy, i, mic=True) for i in host.layer_sites(3)]
        assert atoms.get_distance(vacancy, partner, mic=True) <= min(d_l3) + 0.35 + 1e-6
    # at most two partners per vacancy, the nearest first
    for vacancy in set(vacancies):
        mine = [p for v, p in pairs if v == vacancy]
        assert 1 <= len(mine) <= 2
        d = [round(atoms.get_distance(vacancy, p, mic=True), 3) for p in mine]
        assert d == sorted(d)
    assert len(layer_hop_candidates(host, 2, 3, solute_site=solute, max_candidates=3)) == 3
    second = layer_hop(host, 2, 3, solute="Mg", solute_layer=2, radius=RADIUS, candidate=1)
    assert (second.metadata["vacancy_site"], second.metadata["hop_site"]) == pairs[1]
    with pytest.raises(StructureError, match="candidate 6 of the L2 -> L3 hop"):
        layer_hop(host, 2, 3, solute="Mg", solute_layer=2, candidate=6)
    with pytest.raises(StructureError, match="must be >= 1"):
        layer_hop_candidates(host, 2, 3, max_candidates=0)


def _result(structure: Structure, label: str) -> CalculationResult:
    morse = get_engine("morse")
    return CalculationResult(
        label=label,
        formula=structure.composition.reduced_formula,
        n_atoms=len(structure),
        structure=structure,
        energy=0.0,
        energy_per_atom=0.0,
        converged=True,
        calculator=morse.provenance(),
        task=RELAX.task("relax_positions"),
        cache_key=label,
    )


def test_gate_tries_the_next_site_pair_when_the_endpoints_collapse(host):
    from anodefree.workflows.migration import (
        HopCandidate,
        MigrationHopMaker,
        candidate_gate,
        describe_hop,
        endpoint_problem,
    )

    hops = [layer_hop(host, 1, 2, radius=RADIUS, system="Li/Li2S", candidate=k) for k in range(3)]
    candidates = [
        HopCandidate.from_hop(h, describe_hop(h, kind="interface", system="Li/Li2S")) for h in hops
    ]
    first = candidates[0]
    m = first.description.moving_index
    # a collapsed pair: the hopping atom sits at its initial site in both endpoints
    collapsed = first.initial.copy()
    collapsed.translate_sites([m], [0.05, 0.0, 0.0], frac_coords=False)
    reason, numbers = endpoint_problem(first.initial, collapsed, m, first.description.jump_length)
    assert "relaxed into one state" in reason
    assert numbers["hop_distance"] == pytest.approx(0.05, abs=1e-9)
    # two reconstructions: an atom that does not hop moved by 1.5 A
    other = next(i for i in range(len(first.final)) if i != m)
    shifted = first.final.copy()
    shifted.translate_sites([other], [1.5, 0.0, 0.0], frac_coords=False)
    reason, _ = endpoint_problem(first.initial, shifted, m, first.description.jump_length)
    assert "two reconstructions" in reason
    assert endpoint_problem(first.initial, first.final, m, first.description.jump_length)[0] is None

    maker = MigrationHopMaker(engine=get_engine("morse"), relax=RELAX, frequencies=None)
    gate = candidate_gate.original
    start = _result(first.initial, "start")
    response = gate(start, _result(collapsed, "end"), maker, first.description,
                    candidates[1:], [])  # fmt: skip
    jobs = response.replace.jobs
    assert [j.function_kwargs.get("label") for j in jobs[:2]] == [
        f"{hops[1].name}: initial endpoint", f"{hops[1].name}: final endpoint",
    ]  # fmt: skip
    assert jobs[2].name == f"{hops[1].name}: endpoint check"
    relax_job = response.replace.jobs[0]
    assert relax_job.function_args[0] == candidates[1].initial
    next_gate = response.replace.jobs[2]
    description, alternatives, rejected = next_gate.function_args[3:6]
    assert alternatives == [candidates[2]]
    assert [r["candidate"] for r in rejected] == [0]
    assert rejected[0]["vacancy_site"] == hops[0].metadata["vacancy_site"]
    assert rejected[0]["hop_distance"] == pytest.approx(0.05, abs=1e-9)
    assert description.metadata["rejected_candidates"] == rejected
    # good endpoints (or no pair left): the band and the analysis
    for alternatives in (candidates[1:], []):
        response = gate(start, _result(first.final, "end"), maker, first.description,
                        alternatives, [])  # fmt: skip
        assert [j.name for j in response.replace.jobs] == [
            f"{hops[0].name}: NEB",
            f"{hops[0].name}: analysis",
        ]
    response = gate(start, _result(collapsed, "end"), maker, first.description, [], [])
    assert next(j.name for j in response.replace.jobs) == f"{hops[0].name}: NEB"


def test_candidate_notes_name_the_rejected_pairs():
    from anodefree.analysis.documents.migration import candidate_notes

    assert candidate_notes({"candidate": 0, "n_candidates": 6}) == []
    notes = candidate_notes(
        {
            "candidate": 1,
            "n_candidates": 6,
            "vacancy_site": 53,
            "hop_site": 60,
            "rejected_candidates": [
                {"candidate": 0, "vacancy_site": 53, "hop_site": 59, "reason": "collapsed"}
            ],
        }
    )
    assert notes == [
        "site pair 1 (vacancy on host site 53, atom from site 59) rejected: collapsed",
        "built from site pair 2 of 6 (vacancy on host site 53, atom from site 60)",
    ]


def test_layer_hop_refuses_bad_requests(host):
    with pytest.raises(StructureError, match="two different layers"):
        layer_hop(host, 2, 2)
    with pytest.raises(StructureError, match="L9 does not exist"):
        layer_hop(host, 1, 9)
    with pytest.raises(StructureError, match="host metal itself"):
        layer_hop(host, 1, 2, solute="Li")
    with pytest.raises(StructureError, match="radius must be positive"):
        layer_hop(host, 1, 2, radius=0.0)
    with pytest.raises(StructureError, match="not a metal"):
        local_hop(host, host.substrate_indices[0], host.layer_sites(1)[0])
    with pytest.raises(ValidationError, match="interface_placement"):
        MigrationStage(interface_systems=("Li/Li2S",), interface_placement="L0")


def _direct_band(host_structure: Structure, hop, fmax: float = 1e-3) -> list[float]:
    """Relax the endpoints and a 3-image climbing band with ASE alone, same fixed atoms."""
    vacancy, hop_site = hop.metadata["vacancy_site"], hop.metadata["hop_site"]
    atoms = AseAtomsAdaptor.get_atoms(host_structure)
    atoms.set_constraint()
    start = atoms.copy()
    del start[vacancy]
    moving = hop_site - (hop_site > vacancy)
    end = start.copy()
    vector = atoms.get_distance(hop_site, vacancy, mic=True, vector=True)
    end.positions[moving] += vector
    frozen = FixAtoms(indices=list(hop.fixed_indices))
    for image in (start, end):
        image.set_constraint(frozen)
        image.calc = MorsePairCalculator()
        BFGS(image, logfile=None).run(fmax=1e-4, steps=2000)
    images = [start] + [start.copy() for _ in range(3)] + [end]
    for image in images[1:-1]:
        image.set_constraint(FixAtoms(indices=list(hop.fixed_indices)))
        image.calc = MorsePairCalculator()
    band = NEB(images, climb=True, method="improvedtangent", k=1.0)
    band.interpolate(mic=True, apply_constraint=False)
    assert BFGS(band, logfile=None).run(fmax=fmax, steps=3000)
    energies = [image.get_potential_energy() for image in images]
    return [e - energies[0] for e in energies]


@pytest.mark.slow
def test_interface_hop_in_the_relaxed_host_matches_a_direct_neb(build):
    morse = get_engine("morse")
    host_job = CalculationMaker(
        engine=morse, task=RELAX.task("relax_positions", build.record.fixed_indices)
    ).make(_clean(build.structure), label="host")
    host_output = {
        "interface": host_job.output,
        "film_indices": build.film_indices,
        "substrate_indices": build.substrate_indices,
        "reference": _clean(build.structure),
    }
    bcc = Structure.from_spacegroup("Im-3m", Lattice.cubic(3.44), ["Li"], [[0, 0, 0]])
    li_bulk = CalculationMaker(engine=morse, task=RELAX.task("relax_full")).make(bcc, label="Li")
    section = MigrationStage(
        solutes=(),
        dissociation_shell=None,
        attempt_frequency=None,
        interface_systems=("Li/Li2S",),
        interface_hops=((1, 2), (2, 3)),
        interface_radius=RADIUS,
        interface_candidates=2,
        neb={"spring_constant": 1.0, "fmax": 1e-3, "max_steps": 3000},
        interface_neb={
            "spring_constant": 1.0,
            "fmax": 1e-3,
            "max_steps": 3000,
            "optimizer": "FIRE",
        },
    )
    flows, _ = build_migration_stage(
        section, morse, RELAX, li_bulk.output, bulk_vacancy=None, interface_host=host_output
    )
    store = make_job_store(StoreSettings(backend="memory"))
    responses = run_locally(Flow([host_job, li_bulk, *flows]), store=store, log=False)
    outputs = [r.output for d in responses.values() for r in d.values()]
    docs = [o for o in outputs if isinstance(o, MigrationBarrierDocument)]
    doc = next(o for o in docs if o.kind == "interface" and o.metadata["from_layer"] == 2)
    first = next(o for o in docs if o.kind == "interface" and o.metadata["from_layer"] == 1)
    # with this toy the L1 vacancy is not a minimum: the L2 atom falls into it and both
    # endpoints relax into one state. The flow rejects that site pair and tries the next
    # one (another L2 partner); there the neighbours rearrange around the vacancy (two
    # reconstructions), and with no pair left (interface_candidates=2) the band is run
    # and flagged rather than given as a barrier.
    rejected = first.metadata["rejected_candidates"]
    assert [r["candidate"] for r in rejected] == [0]
    assert rejected[0]["hop_distance"] < 0.25  # of a 2.5 A jump
    assert "relaxed into one state" in rejected[0]["reason"]
    assert first.metadata["candidate"] == 1
    assert (first.metadata["vacancy_site"], first.metadata["hop_site"]) != (
        rejected[0]["vacancy_site"], rejected[0]["hop_site"],
    )  # fmt: skip
    assert any(n.startswith("site pair 1 (") and "relaxed into one state" in n for n in first.notes)
    assert first.endpoint_mismatch > RECONSTRUCTION_TOLERANCE
    assert any("two different reconstructions" in w for w in first.warnings)
    assert not first.usable_barrier
    assert "rejected_candidates" not in doc.metadata
    neb = next(o for o in outputs if isinstance(o, NebCalculation) and o.label == doc.hop)
    results = [o for o in outputs if isinstance(o, CalculationResult)]
    relaxed_host = next(o for o in results if o.label == "host")
    assert doc.neb_converged
    # both endpoints are the host plus one vacancy: no reconstruction between them
    assert doc.endpoint_mismatch is not None
    assert doc.endpoint_mismatch < RECONSTRUCTION_TOLERANCE
    # the fixed atoms sit at the relaxed host's positions in every image of the band
    relaxed = DefectHost.from_interface(
        relaxed_host.structure, build.film_indices, build.substrate_indices,
        fixed_indices=build.record.fixed_indices, layer_reference=_clean(build.structure),
    )  # fmt: skip
    hop = layer_hop(relaxed, 2, 3, radius=RADIUS, system="Li/Li2S")
    fixed = list(hop.fixed_indices)
    assert fixed
    for image in neb.images:
        assert np.allclose(image.cart_coords[fixed], hop.initial.cart_coords[fixed], atol=1e-8)
    # same barrier as an independent ASE NEB with the same region (Morse: smooth, cheap)
    direct = _direct_band(relaxed_host.structure, hop)

    assert doc.forward_barrier > 0.01  # a real barrier (28 meV with this toy)
    assert doc.forward_barrier == pytest.approx(max(direct), abs=1e-3)
    assert doc.reaction_energy == pytest.approx(direct[-1], abs=1e-3)
    # the report states the relaxation region beside the barrier
    from anodefree.analysis.report_sections.migration import migration_barrier_section

    rows = migration_barrier_section([doc], None).rows
    forward = next(r for r in rows if r.quantity == f"{doc.hop}: forward barrier")
    assert f"({doc.metadata['n_free']} relax, within {RADIUS:g} A of the hop)" in forward.note
