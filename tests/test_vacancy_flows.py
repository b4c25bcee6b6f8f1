"""Bulk reference and vacancy flows against independent direct calculations."""

from __future__ import annotations

import pytest
from ase.build import bulk
from ase.filters import FrechetCellFilter
from ase.optimize import BFGS
from jobflow import Flow, run_locally

from anodefree.analysis.documents.vacancy import BulkVacancyDocument, SoluteVacancyDocument
from anodefree.errors import MixedCalculatorError, StructureError
from anodefree.tasks import RelaxSettings
from anodefree.workflows.bulk import BulkReferenceMaker
from anodefree.workflows.engines.morse import MorsePairCalculator
from anodefree.workflows.engines.registry import get_engine
from anodefree.workflows.vacancy import BulkVacancyMaker, SoluteVacancyMaker

RELAX = RelaxSettings(fmax=1e-3)


def _documents(responses):
    return [
        r.output
        for d in responses.values()
        for r in d.values()
        if hasattr(r.output, "calculator") and type(r.output).__name__.endswith("Document")
    ]


def _direct_relaxed_a() -> float:
    atoms = bulk("Li", "bcc", a=3.4)
    atoms.calc = MorsePairCalculator()
    BFGS(FrechetCellFilter(atoms), logfile=None).run(fmax=1e-5)
    return (2 * atoms.get_volume()) ** (1 / 3)


def _direct_vacancy_energy(
    a: float, n: int, solute: str | None = None, drop: int = 0
) -> tuple[float, float]:
    """E(host) and E(host minus atom ``drop``), relaxed at fixed cell, straight from ASE."""
    host = bulk("Li", "bcc", a=a, cubic=True).repeat(n)
    if solute:
        host.symbols[0] = solute
    host.calc = MorsePairCalculator()
    BFGS(host, logfile=None).run(fmax=1e-4)
    e_host = host.get_potential_energy()
    defect = bulk("Li", "bcc", a=a, cubic=True).repeat(n)
    if solute:
        defect.symbols[0] = solute
    del defect[drop]
    defect.calc = MorsePairCalculator()
    BFGS(defect, logfile=None).run(fmax=1e-4)
    return e_host, defect.get_potential_energy()


@pytest.fixture(scope="module")
def flow_documents():
    from anodefree.workflows.stores import StoreSettings, make_job_store

    morse = get_engine("morse")
    bulk_flow = BulkReferenceMaker(engine=morse, relax=RELAX, phases=("Li", "Ag")).make()
    li = bulk_flow.output["results"]["Li"]
    vacancy = BulkVacancyMaker(engine=morse, relax=RELAX, repetitions=(2, 3)).make(li)
    solute = SoluteVacancyMaker(
        engine=morse, relax=RELAX, solute="Mg", repetitions=3, shells=(1, 2, 3)
    ).make(li)
    store = make_job_store(StoreSettings(backend="memory"))
    responses = run_locally(Flow([bulk_flow, vacancy, solute]), store=store, log=False)
    return {type(d).__name__: d for d in _documents(responses)}


def test_bulk_lattice_constant_matches_direct_relaxation(flow_documents):
    doc = flow_documents["BulkReferenceDocument"]
    # Both relaxations stop at stresses where the lattice constant is within ~1e-4 A.
    assert doc.phases["Li"].a == pytest.approx(_direct_relaxed_a(), abs=2e-3)
    assert doc.phases["Li"].space_group == "Im-3m"
    assert doc.phases["Ag"].space_group == "Fm-3m"
    assert doc.phases["Li"].a_experiment == 3.48


def test_vacancy_formation_energy_matches_direct_calculation(flow_documents):
    doc: BulkVacancyDocument = flow_documents["BulkVacancyDocument"]
    assert [s.n_atoms for s in doc.sizes] == [16, 54]
    for size in doc.sizes:
        n = size.repetitions
        e_host, e_vac = _direct_vacancy_energy(doc.lattice_constant, n)
        expected = e_vac - (2 * n**3 - 1) / (2 * n**3) * e_host
        # Relaxed to 1e-3 (flow) and 1e-4 eV/A (direct): energies agree to ~1e-5 eV.
        assert size.formation_energy == pytest.approx(expected, abs=2e-4)
    assert doc.formation_energy == doc.sizes[-1].formation_energy
    assert doc.size_change == pytest.approx(
        abs(doc.sizes[1].formation_energy - doc.sizes[0].formation_energy)
    )


def test_solute_vacancy_series_matches_direct_calculation(flow_documents):
    doc: SoluteVacancyDocument = flow_documents["SoluteVacancyDocument"]
    assert [s.shell for s in doc.shells] == [1, 2, 3]
    a = flow_documents["BulkVacancyDocument"].lattice_constant
    for shell in doc.shells:
        # rebuild the vacancy site: the site at the shell distance with the lowest index
        atoms = bulk("Li", "bcc", a=a, cubic=True).repeat(3)
        distances = atoms.get_distances(0, range(len(atoms)), mic=True)
        site = min(i for i, d in enumerate(distances) if abs(d - shell.distance) < 0.05)
        e_solute, e_defect = _direct_vacancy_energy(a, 3, solute="Mg", drop=site)
        perfect = bulk("Li", "bcc", a=a, cubic=True).repeat(3)
        perfect.calc = MorsePairCalculator()
        mu = perfect.get_potential_energy() / len(perfect)
        assert shell.formation_energy == pytest.approx(e_defect - e_solute + mu, abs=2e-4)
    # the pure-Li value in the same cell is the 3x3x3 entry of the size series
    assert doc.pure_formation_energy == pytest.approx(
        flow_documents["BulkVacancyDocument"].sizes[1].formation_energy
    )


def test_mixing_engines_in_one_quantity_is_refused(flow_documents):
    from anodefree.analysis.documents.calculation import CalculationResult
    from anodefree.structures.defects import bcc_supercell
    from anodefree.tasks import CalculationTask

    cell = bcc_supercell(3.45, 2)

    def result(engine, energy, n):
        return CalculationResult(
            label="x",
            formula="Li",
            n_atoms=n,
            structure=cell,
            energy=energy,
            energy_per_atom=energy / n,
            converged=True,
            calculator=engine.provenance(),
            task=CalculationTask(kind="static"),
            cache_key="k",
        )

    morse, other = get_engine("morse"), get_engine("morse", cutoff=5.0)
    with pytest.raises(MixedCalculatorError, match="vacancy formation energy"):
        BulkVacancyDocument.from_results(
            3.45, [result(morse, -16.0, 16)], [result(other, -14.5, 15)], [2]
        )


def test_flow_settings_are_validated():
    with pytest.raises(StructureError, match="at least two supercell sizes"):
        BulkVacancyMaker(repetitions=(4,))
    with pytest.raises(StructureError, match="holds only"):
        SoluteVacancyMaker(solute="Mg", repetitions=3, shells=(1, 2, 3, 4, 5))
    with pytest.raises(StructureError, match="'Xy'"):
        SoluteVacancyMaker(solute="Xy")
