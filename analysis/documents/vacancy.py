"""Bulk vacancies: formation energy versus supercell size, and next to a solute."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from anodefree.analysis.documents.common import common_calculator, convergence_warnings
from anodefree.analysis.energetics import binding_energy, vacancy_formation_energy
from anodefree.analysis.references import PBE_REFERENCE
from anodefree.provenance import CalculatorProvenance

if TYPE_CHECKING:
    from collections.abc import Sequence

    from anodefree.analysis.documents.calculation import CalculationResult

#: Size convergence asked of the bulk vacancy formation energy (eV).
SIZE_TOLERANCE = 0.010


def _uuid(result: CalculationResult) -> str | None:
    return result.source_job_uuid or result.job_uuid


class VacancySize(BaseModel):
    """The vacancy formation energy in one supercell."""

    repetitions: int = Field(description="n of the n x n x n conventional bcc supercell.")
    n_atoms: int = Field(description="Atoms in the perfect supercell.")
    formation_energy: float = Field(
        description="E_f = E(N-1) - (N-1)/N E(N) in eV (relaxed at fixed cell)."
    )
    relaxation_energy: float | None = Field(
        None, description="E(relaxed vacancy) - E(unrelaxed vacancy) in eV, if computed."
    )
    converged: bool = Field(description="Whether both calculations converged.")
    job_uuids: list[str | None] = Field(description="Jobs of the perfect and vacancy cells.")


class BulkVacancyDocument(BaseModel):
    """Li vacancy formation energy in bcc Li over a series of supercell sizes."""

    schema_version: str = Field("1", description="Version of this document's schema.")
    system: str = Field("Li", description="Host metal.")
    lattice_constant: float = Field(description="Relaxed bcc lattice constant used, in A.")
    calculator: CalculatorProvenance = Field(description="Calculator of every energy.")
    sizes: list[VacancySize] = Field(description="One entry per supercell, smallest first.")
    formation_energy: float = Field(description="E_f of the largest converged cell, in eV.")
    size_change: float | None = Field(
        None, description="|E_f(largest) - E_f(second largest)| in eV."
    )
    size_converged: bool = Field(
        description=f"Whether size_change <= {SIZE_TOLERANCE * 1000:.0f} meV."
    )
    reference_pbe: float = Field(
        PBE_REFERENCE["vacancy_formation_Li"].value, description="Published PBE E_f in eV."
    )
    warnings: list[str] = Field(default_factory=list, description="Unconverged inputs.")

    @classmethod
    def from_results(
        cls,
        lattice_constant: float,
        perfect: Sequence[CalculationResult],
        vacancy: Sequence[CalculationResult],
        repetitions: Sequence[int],
    ) -> BulkVacancyDocument:
        """Build the series from perfect and vacancy cells given in the same order."""
        everything = [*perfect, *vacancy]
        calculator = common_calculator(everything, "the vacancy formation energy")
        sizes = []
        for n, p, v in zip(repetitions, perfect, vacancy, strict=True):
            mu = p.energy / p.n_atoms
            sizes.append(
                VacancySize(
                    repetitions=n,
                    n_atoms=p.n_atoms,
                    formation_energy=vacancy_formation_energy(v.energy, p.energy, mu),
                    converged=p.converged and v.converged,
                    job_uuids=[_uuid(p), _uuid(v)],
                )
            )
        sizes.sort(key=lambda s: s.n_atoms)
        usable = [s for s in sizes if s.converged] or sizes
        change = (
            abs(usable[-1].formation_energy - usable[-2].formation_energy)
            if len(usable) > 1
            else None
        )
        return cls(
            lattice_constant=lattice_constant,
            calculator=calculator,
            sizes=sizes,
            formation_energy=usable[-1].formation_energy,
            size_change=change,
            size_converged=change is not None and change <= SIZE_TOLERANCE,
            warnings=convergence_warnings(everything),
        )


class SoluteVacancyShell(BaseModel):
    """A vacancy at one neighbour shell of a solute."""

    shell: int = Field(description="Neighbour shell of the solute (1 = nearest).")
    distance: float = Field(description="Unrelaxed solute-vacancy distance in A.")
    formation_energy: float = Field(
        description="E_f = E(solute+vacancy) - E(solute) + mu_Li in eV."
    )
    binding_energy: float = Field(
        description="E_f(shell) - E_f(pure Li, same cell) in eV; negative = attraction."
    )
    converged: bool = Field(description="Whether the calculation converged.")
    job_uuid: str | None = Field(None, description="Job of the solute-vacancy cell.")


class SoluteVacancyDocument(BaseModel):
    """Vacancy formation energy by neighbour shell of a substitutional solute in bcc Li."""

    schema_version: str = Field("1", description="Version of this document's schema.")
    system: str = Field(description="Alloy system, e.g. 'Li-Mg'.")
    solute: str = Field(description="Solute element.")
    repetitions: int = Field(description="n of the n x n x n conventional bcc supercell.")
    n_atoms: int = Field(description="Atoms in the perfect supercell.")
    calculator: CalculatorProvenance = Field(description="Calculator of every energy.")
    pure_formation_energy: float = Field(
        description="E_f of a vacancy in pure Li in the same supercell, in eV."
    )
    shells: list[SoluteVacancyShell] = Field(description="One entry per shell, nearest first.")
    far_shell_deviation: float = Field(
        description="E_f(farthest shell) - E_f(pure Li) in eV (-> 0 when converged)."
    )
    warnings: list[str] = Field(default_factory=list, description="Unconverged inputs.")

    @classmethod
    def from_results(
        cls,
        solute: str,
        repetitions: int,
        perfect: CalculationResult,
        pure_vacancy: CalculationResult,
        solute_cell: CalculationResult,
        shells: Sequence[tuple[int, float, CalculationResult]],
    ) -> SoluteVacancyDocument:
        """Build the document; ``shells`` holds (shell, distance, result) triples."""
        everything = [perfect, pure_vacancy, solute_cell, *(r for _, _, r in shells)]
        calculator = common_calculator(everything, f"the {solute}-vacancy interaction")
        mu = perfect.energy / perfect.n_atoms
        pure = vacancy_formation_energy(pure_vacancy.energy, perfect.energy, mu)
        entries = []
        for number, distance, result in sorted(shells, key=lambda s: s[0]):
            e_f = vacancy_formation_energy(result.energy, solute_cell.energy, mu)
            entries.append(
                SoluteVacancyShell(
                    shell=number,
                    distance=distance,
                    formation_energy=e_f,
                    binding_energy=binding_energy(e_f, pure),
                    converged=result.converged and solute_cell.converged,
                    job_uuid=_uuid(result),
                )
            )
        return cls(
            system=f"Li-{solute}",
            solute=solute,
            repetitions=repetitions,
            n_atoms=perfect.n_atoms,
            calculator=calculator,
            pure_formation_energy=pure,
            shells=entries,
            far_shell_deviation=entries[-1].formation_energy - pure,
            warnings=convergence_warnings(everything),
        )
