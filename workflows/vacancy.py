"""Bulk vacancy flows: the supercell-size series and the solute-vacancy series.

Both start from the relaxed bcc Li of :class:`~anodefree.workflows.bulk.BulkReferenceMaker`
and relax every defect cell at fixed cell (the lattice constant of the relaxed bulk).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from jobflow import Flow, Maker, Response, job
from jobflow.core.job import JobConfig
from jobflow.core.reference import OnMissing
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

from anodefree.analysis.documents.vacancy import BulkVacancyDocument, SoluteVacancyDocument
from anodefree.errors import StructureError
from anodefree.structures.defects import (
    bcc_supercell,
    check_element,
    remove_site,
    solute_vacancy_configurations,
)
from anodefree.tasks import RelaxSettings
from anodefree.workflows.calculation import CalculationMaker, _default_engine
from anodefree.workflows.engines.base import Engine

if TYPE_CHECKING:
    from pymatgen.core import Structure

    from anodefree.analysis.documents.calculation import CalculationResult


def cubic_lattice_constant(structure: Structure) -> float:
    """Return the conventional cubic lattice constant (A) of a relaxed cubic phase."""
    conventional = SpacegroupAnalyzer(structure, symprec=0.01).get_conventional_standard_structure()
    return float(conventional.lattice.a)


@dataclass
class BulkVacancyMaker(Maker):
    """Li vacancy formation energy in bcc Li over a series of supercell sizes.

    Parameters
    ----------
    repetitions
        Sizes n of the n x n x n conventional supercells (2 n^3 atoms); the default
        (3, 4, 5) gives 54, 128 and 250 atoms.
    """

    name: str = "bulk vacancy"
    engine: Engine = field(default_factory=_default_engine)
    relax: RelaxSettings = field(default_factory=RelaxSettings)
    repetitions: tuple[int, ...] = (3, 4, 5)

    def __post_init__(self) -> None:
        """Validate the supercell sizes."""
        if len(self.repetitions) < 2 or any(int(n) != n or n < 2 for n in self.repetitions):
            msg = (
                f"need at least two supercell sizes, each an integer >= 2; got {self.repetitions!r}"
            )
            raise StructureError(msg)

    def make(self, li_bulk: CalculationResult) -> Flow:
        """Return the flow for the relaxed bcc Li ``li_bulk`` (a CalculationResult)."""
        series = vacancy_series(li_bulk, self.engine, self.relax, tuple(sorted(self.repetitions)))
        series.name = self.name
        return Flow([series], output=series.output, name=self.name)


@job
def vacancy_series(
    li_bulk: CalculationResult, engine: Engine, relax: RelaxSettings, repetitions: tuple[int, ...]
) -> Response:
    """Build the perfect and vacancy supercells at the relaxed lattice constant."""
    a = cubic_lattice_constant(li_bulk.structure)
    perfect_calc = CalculationMaker(engine=engine, task=relax.task("static"))
    vacancy_calc = CalculationMaker(engine=engine, task=relax.task("relax_positions"))
    jobs, perfect, vacancy = [], [], []
    for n in repetitions:
        cell = bcc_supercell(a, n)
        p = perfect_calc.make(
            cell,
            label=f"Li {n}x{n}x{n} perfect",
            system="Li",
            role="perfect supercell",
            metadata={"repetitions": n},
        )
        v = vacancy_calc.make(
            remove_site(cell, 0),
            label=f"Li {n}x{n}x{n} vacancy",
            system="Li",
            role="vacancy",
            metadata={"repetitions": n},
        )
        jobs += [p, v]
        perfect.append(p.output)
        vacancy.append(v.output)
    document = bulk_vacancy_document(a, perfect, vacancy, list(repetitions))
    document.name = "bulk vacancy document"
    return Response(replace=Flow([*jobs, document], output=document.output))


@job(config=JobConfig(on_missing_references=OnMissing.NONE))
def bulk_vacancy_document(
    a: float,
    perfect: list[CalculationResult | None],
    vacancy: list[CalculationResult | None],
    repetitions: list[int],
) -> BulkVacancyDocument:
    """Assemble the size series from the sizes whose calculations finished."""
    done = [(n, p, v) for n, p, v in zip(repetitions, perfect, vacancy, strict=True) if p and v]
    if not done:
        msg = "every vacancy supercell calculation failed"
        raise RuntimeError(msg)
    n_done, p_done, v_done = zip(*done, strict=True)
    document = BulkVacancyDocument.from_results(a, p_done, v_done, n_done)
    document.warnings += [
        f"{n}x{n}x{n}: calculation failed" for n in repetitions if n not in n_done
    ]
    return document


@dataclass
class SoluteVacancyMaker(Maker):
    """Vacancy formation energy at the neighbour shells of a substitutional solute.

    Parameters
    ----------
    solute
        Solute element (``"Mg"`` or ``"Ag"``; any element is accepted).
    repetitions
        n of the n x n x n conventional bcc supercell (4 -> 128 sites, which holds the
        first five shells without periodic images).
    shells
        Neighbour shells of the solute that receive the vacancy.
    """

    name: str = "solute-vacancy"
    engine: Engine = field(default_factory=_default_engine)
    relax: RelaxSettings = field(default_factory=RelaxSettings)
    solute: str = "Mg"
    repetitions: int = 4
    shells: tuple[int, ...] = (1, 2, 3, 4, 5)

    def __post_init__(self) -> None:
        """Validate the solute and check the supercell holds the shells."""
        check_element(self.solute)
        solute_vacancy_configurations(
            bcc_supercell(3.5, self.repetitions), self.solute, list(self.shells)
        )

    def make(self, li_bulk: CalculationResult) -> Flow:
        """Return the flow for the relaxed bcc Li ``li_bulk`` (a CalculationResult)."""
        series = solute_vacancy_series(
            li_bulk, self.engine, self.relax, self.solute, self.repetitions, tuple(self.shells)
        )
        series.name = f"{self.name} {self.solute}"
        return Flow([series], output=series.output, name=f"{self.name} {self.solute}")


@job
def solute_vacancy_series(
    li_bulk: CalculationResult,
    engine: Engine,
    relax: RelaxSettings,
    solute: str,
    repetitions: int,
    shells: tuple[int, ...],
) -> Response:
    """Build the solute supercell and a vacancy at each shell, at the relaxed a."""
    a = cubic_lattice_constant(li_bulk.structure)
    n = repetitions
    cell = bcc_supercell(a, n)
    with_solute, configurations = solute_vacancy_configurations(cell, solute, list(shells))
    static = CalculationMaker(engine=engine, task=relax.task("static"))
    relaxed = CalculationMaker(engine=engine, task=relax.task("relax_positions"))
    system = f"Li-{solute}"
    size = f"{n}x{n}x{n}"
    perfect = static.make(
        cell,
        label=f"Li {size} perfect",
        system="Li",
        role="perfect supercell",
        metadata={"repetitions": n},
    )
    pure = relaxed.make(
        remove_site(cell, 0),
        label=f"Li {size} vacancy",
        system="Li",
        role="vacancy",
        metadata={"repetitions": n},
    )
    solute_job = relaxed.make(
        with_solute, label=f"Li {size} + {solute}", system=system, role="solute"
    )
    shell_jobs = [
        relaxed.make(
            c.structure,
            label=f"Li {size} + {solute} + vacancy (shell {c.shell}, {c.distance:.2f} A)",
            system=system,
            role="solute-vacancy",
            metadata={"shell": c.shell, "distance_A": c.distance},
        )
        for c in configurations
    ]
    document = solute_vacancy_document(
        solute,
        n,
        perfect.output,
        pure.output,
        solute_job.output,
        [c.shell for c in configurations],
        [c.distance for c in configurations],
        [j.output for j in shell_jobs],
    )
    document.name = f"{solute}-vacancy document"
    jobs = [perfect, pure, solute_job, *shell_jobs, document]
    return Response(replace=Flow(jobs, output=document.output))


@job(config=JobConfig(on_missing_references=OnMissing.NONE))
def solute_vacancy_document(
    solute: str,
    repetitions: int,
    perfect: CalculationResult | None,
    pure_vacancy: CalculationResult | None,
    solute_cell: CalculationResult | None,
    shells: list[int],
    distances: list[float],
    results: list[CalculationResult | None],
) -> SoluteVacancyDocument:
    """Assemble the shell series from the shells whose calculations finished."""
    if perfect is None or pure_vacancy is None or solute_cell is None:
        msg = f"{solute}-vacancy: a reference calculation (perfect, vacancy or solute cell) failed"
        raise RuntimeError(msg)
    done = [(s, d, r) for s, d, r in zip(shells, distances, results, strict=True) if r is not None]
    if not done:
        msg = f"{solute}-vacancy: every shell calculation failed"
        raise RuntimeError(msg)
    document = SoluteVacancyDocument.from_results(
        solute, repetitions, perfect, pure_vacancy, solute_cell, done
    )
    document.warnings += [
        f"shell {s}: calculation failed"
        for s, _, r in zip(shells, distances, results, strict=True)
        if r is None
    ]
    return document
