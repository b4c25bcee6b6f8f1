"""Metal-sulfur bond energies: reference structures, bond counting, the flow and its document."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from ase.neighborlist import neighbor_list
from jobflow import run_locally
from pymatgen.io.ase import AseAtomsAdaptor

from anodefree.analysis.documents.calculation import CalculationResult
from anodefree.analysis.documents.interface_defects import BondEnergyDocument, count_bonds
from anodefree.errors import MixedCalculatorError, StructureError
from anodefree.structures.bulk import bulk_structure
from anodefree.tasks import RelaxSettings
from anodefree.workflows.bond_energies import (
    AG2S_PROTOTYPE,
    BondEnergyMaker,
    alpha_sulfur,
    reference_structure,
)
from anodefree.workflows.engines.morse import MorsePairCalculator
from anodefree.workflows.engines.registry import get_engine


def test_alpha_sulfur_reproduces_the_published_molecule():
    s8 = alpha_sulfur()
    assert len(s8) == 32  # primitive cell of Fddd with Z = 16 S8 in the conventional cell
    atoms = AseAtomsAdaptor.get_atoms(s8)
    i, j, d = neighbor_list("ijd", atoms, 2.3)
    # every S has two bonded neighbours, S-S 2.046 A on average (Rettig and Trotter 1987:
    # 2.037-2.055 A); 0.01 A covers the rounding of the published coordinates
    assert np.bincount(i, minlength=32).tolist() == [2] * 32
    assert d.mean() == pytest.approx(2.046, abs=0.01)
    # the bonds form four crowned S8 rings
    graph = nx.Graph(list(zip(i.tolist(), j.tolist(), strict=True)))
    assert sorted(len(c) for c in nx.connected_components(graph)) == [8, 8, 8, 8]
    angles = [
        atoms.get_angle(a, centre, b, mic=True)
        for centre in range(32)
        for a, b in [tuple(j[i == centre])]
    ]
    # published S-S-S angles 106-110 degrees (mean 108)
    assert min(angles) > 106
    assert max(angles) < 110
    # molecules are separated by van der Waals contacts (shortest 3.3-3.4 A)
    assert neighbor_list("d", atoms, 3.2).max() < 2.1


@pytest.mark.parametrize(
    ("structure", "metal", "bonds"),
    [
        (bulk_structure("Li2S", conventional=True), "Li", 8),  # 2 tetrahedral Li x 4 S
        (bulk_structure("MgS", conventional=True), "Mg", 6),  # octahedral Mg
        (AG2S_PROTOTYPE.structure(conventional=True), "Ag", 8),
        (bulk_structure("Li2S"), "Li", 8),  # the primitive cell counts the same
    ],
)
def test_bond_counting(structure, metal, bonds):
    assert count_bonds(structure, metal) == bonds


def test_reference_structures():
    assert reference_structure("Ag2S").composition.reduced_formula == "Ag2S"
    assert reference_structure("Mg").composition.reduced_formula == "Mg"
    with pytest.raises(StructureError, match="'Na2S'"):
        reference_structure("Na2S")
    with pytest.raises(StructureError, match="'CuS'"):
        BondEnergyMaker(compounds=("CuS",))
    with pytest.raises(StructureError, match="bond_tolerance"):
        BondEnergyMaker(bond_tolerance=0.6)
    assert BondEnergyMaker(compounds=("MgS",)).elements() == ["Mg", "S"]


def test_flow_matches_direct_energies_and_counts(morse, memory_store):
    relax = RelaxSettings(fmax=0.05, max_steps=60)
    flow = BondEnergyMaker(engine=morse, relax=relax, compounds=("Li2S", "MgS")).make()
    responses = run_locally(flow, store=memory_store, log=False)
    outputs = [r.output for d in responses.values() for r in d.values()]
    results = {r.system: r for r in outputs if isinstance(r, CalculationResult)}
    (document,) = [o for o in outputs if isinstance(o, BondEnergyDocument)]
    assert set(results) == {"Li", "Mg", "S", "Li2S", "MgS"}

    def direct(name: str) -> tuple[float, int]:
        """Energy per reduced formula unit of the returned structure, straight from ASE."""
        atoms = AseAtomsAdaptor.get_atoms(results[name].structure)
        atoms.calc = MorsePairCalculator()
        units = results[name].structure.composition.get_reduced_composition_and_factor()[1]
        return atoms.get_potential_energy() / units, atoms

    mu = {e: direct(e)[0] for e in ("Li", "Mg", "S")}  # elements: per atom
    for compound, metal, x in (("Li2S", "Li", 2), ("MgS", "Mg", 1)):
        per_fu, atoms = direct(compound)
        entry = next(c for c in document.compounds if c.compound == compound)
        expected = per_fu - x * mu[metal] - mu["S"]
        # the same structures evaluated again: agreement to rounding
        assert entry.formation_energy == pytest.approx(expected, abs=1e-6)
        # independent bond count: M-S pairs within 15 % of the shortest M-S distance
        i, j, d = neighbor_list("ijd", atoms, 4.0)
        symbols = np.array(atoms.get_chemical_symbols())
        ms = (symbols[i] == metal) & (symbols[j] == "S")
        count = int((d[ms] <= 1.15 * d[ms].min()).sum())
        units = len(atoms) // (x + 1)
        assert entry.bonds_per_formula_unit == count / units
        assert entry.bond_energy == pytest.approx(expected / (count / units), abs=1e-6)
        assert entry.formation_energy_per_metal == pytest.approx(expected / x, abs=1e-6)
    assert {r.element for r in document.references} == {"Li", "Mg", "S"}
    assert document.calculator.fingerprint == morse.provenance().fingerprint
    for entry in document.compounds:
        assert entry.job_uuid == results[entry.compound].source_job_uuid


def test_mixing_engines_is_refused():
    def result(name: str, engine_name: str, **settings: float) -> CalculationResult:
        engine = get_engine(engine_name, **settings)
        structure = reference_structure(name)
        return CalculationResult(
            label=name,
            formula=structure.composition.reduced_formula,
            n_atoms=len(structure),
            structure=structure,
            energy=-3.0 * len(structure),
            energy_per_atom=-3.0,
            converged=True,
            calculator=engine.provenance(),
            task=relax_task(),
            cache_key=name,
        )

    def relax_task():
        return RelaxSettings().task("relax_full")

    elements = {"Li": ("bcc", result("Li", "morse")), "S": ("alpha-S8", result("S", "morse"))}
    compounds = {"Li2S": ("antifluorite", result("Li2S", "morse", cutoff=5.0))}
    with pytest.raises(MixedCalculatorError, match="bond energies"):
        BondEnergyDocument.from_results(elements, compounds)
