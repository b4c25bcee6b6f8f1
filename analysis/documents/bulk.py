"""Bulk reference phases: relaxed lattice constants and energies."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, Field
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

from anodefree.analysis.documents.common import common_calculator, convergence_warnings
from anodefree.analysis.references import EXPERIMENTAL_LATTICE
from anodefree.provenance import CalculatorProvenance

if TYPE_CHECKING:
    from anodefree.analysis.documents.calculation import CalculationResult


class BulkPhase(BaseModel):
    """One relaxed reference phase."""

    phase: str = Field(description="Phase name, e.g. 'Li' (bcc) or 'Li2S'.")
    formula: str = Field(description="Reduced formula.")
    space_group: str = Field(description="Space group of the relaxed structure.")
    a: float = Field(description="Conventional lattice constant a in A.")
    c: float | None = Field(None, description="Lattice constant c in A (hexagonal phases).")
    a_experiment: float | None = Field(None, description="Experimental a in A.")
    a_deviation_percent: float | None = Field(
        None, description="(a - a_experiment) / a_experiment in percent."
    )
    c_experiment: float | None = Field(None, description="Experimental c in A.")
    energy_per_atom: float = Field(description="Energy per atom in eV/atom.")
    energy_per_formula_unit: float = Field(description="Energy per formula unit in eV.")
    volume_per_atom: float = Field(description="Volume per atom in A^3.")
    converged: bool = Field(description="Whether the relaxation converged.")
    job_uuid: str | None = Field(None, description="Job that computed the energy.")

    @classmethod
    def from_result(cls, phase: str, result: CalculationResult) -> BulkPhase:
        """Read lattice constants from the conventional cell of the relaxed structure."""
        analyzer = SpacegroupAnalyzer(result.structure, symprec=0.01)
        conventional = analyzer.get_conventional_standard_structure()
        a, _, c = conventional.lattice.abc
        hexagonal = analyzer.get_crystal_system() == "hexagonal"
        reference = EXPERIMENTAL_LATTICE.get(phase, {})
        a_exp = reference["a"].value if "a" in reference else None
        composition = result.structure.composition
        composition.get_reduced_composition_and_factor()[1]
        return cls(
            phase=phase,
            formula=composition.reduced_formula,
            space_group=analyzer.get_space_group_symbol(),
            a=a,
            c=c if hexagonal else None,
            a_experiment=a_exp,
            a_deviation_percent=100 * (a - a_exp) / a_exp if a_exp else None,
            c_experiment=reference["c"].value if "c" in reference else None,
            energy_per_atom=result.energy_per_atom,
            energy_per_formula_unit=result.energy
            / composition.get_reduced_composition_and_factor()[1],
            volume_per_atom=result.structure.volume / len(result.structure),
            converged=result.converged,
            job_uuid=result.source_job_uuid or result.job_uuid,
        )


class BulkReferenceDocument(BaseModel):
    """The relaxed reference phases of one calculator."""

    schema_version: str = Field("1", description="Version of this document's schema.")
    calculator: CalculatorProvenance = Field(description="Calculator of every energy.")
    phases: dict[str, BulkPhase] = Field(description="Relaxed phases by name.")
    warnings: list[str] = Field(default_factory=list, description="Unconverged inputs.")

    @classmethod
    def from_results(cls, results: dict[str, CalculationResult]) -> BulkReferenceDocument:
        """Build the document from full relaxations keyed by phase name."""
        calculator = common_calculator(list(results.values()), "bulk references")
        return cls(
            calculator=calculator,
            phases={p: BulkPhase.from_result(p, r) for p, r in results.items()},
            warnings=convergence_warnings(list(results.values())),
        )
