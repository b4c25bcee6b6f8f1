"""Documents of the DFT validation stage: convergence studies and compound formation energies."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from anodefree.analysis.documents.common import (
    common_calculator,
    convergence_warnings,
    job_ids,
)
from anodefree.provenance import CalculatorProvenance
from anodefree.workflows.convergence import ConvergenceTable

if TYPE_CHECKING:
    from anodefree.analysis.documents.calculation import CalculationResult


class SettingCheck(BaseModel):
    """Whether the campaign's value of a scanned setting lies in the converged range."""

    quantity: str = Field(description="Quantity of the scan.")
    setting: str = Field(description="Engine field that was scanned, e.g. 'ecut'.")
    campaign_value: Any = Field(description="Value the campaign's engine uses (field's unit).")
    converged_value: Any = Field(
        None, description="Cheapest value converged within the tolerance (None: not shown)."
    )
    within_tolerance: bool | None = Field(
        None,
        description="True if the campaign value was scanned and is within tolerance of the "
        "reference; None if the campaign value is not among the scanned values.",
    )
    difference: float | None = Field(
        None, description="Quantity at the campaign value minus the reference, table unit."
    )
    unit: str = Field(description="Unit of the quantity and of the difference.")


class ConvergenceStudyDocument(BaseModel):
    """Convergence scans of the settings a campaign uses (k-points, cutoff, ...)."""

    schema_version: str = Field("1", description="Version of this document's schema.")
    calculator: CalculatorProvenance = Field(
        description="The campaign's engine (each table records its own reference setting)."
    )
    tables: list[ConvergenceTable] = Field(description="One table per scan.")
    checks: list[SettingCheck] = Field(
        description="The campaign's value of each scanned setting against its scan."
    )
    wall_time: float = Field(description="Wall time of all scans in s.")
    warnings: list[str] = Field(default_factory=list, description="Problems found.")

    @property
    def flagged(self) -> bool:
        """Whether a check failed or a scan did not converge."""
        return bool(self.warnings)


def setting_check(table: ConvergenceTable, campaign_value: Any) -> SettingCheck:
    """Compare the campaign's value of a setting with a convergence table."""
    value = tuple(campaign_value) if isinstance(campaign_value, list) else campaign_value
    row = next((r for r in table.rows if _same(r.value, value)), None)
    return SettingCheck(
        quantity=table.quantity,
        setting=table.setting,
        campaign_value=value,
        converged_value=table.converged_value,
        within_tolerance=None if row is None else row.within_tolerance,
        difference=None if row is None else row.difference,
        unit=table.unit,
    )


def _same(a: Any, b: Any) -> bool:
    """Compare two setting values: meshes element-wise, numbers to 1e-9."""
    if isinstance(a, tuple | list) or isinstance(b, tuple | list):
        return isinstance(a, tuple | list) and isinstance(b, tuple | list) and tuple(a) == tuple(b)
    try:
        return abs(float(a) - float(b)) < 1e-9
    except (TypeError, ValueError):
        return False


class FormationEnergyDocument(BaseModel):
    """Formation energy per atom of an ordered compound against its elemental references."""

    schema_version: str = Field("1", description="Version of this document's schema.")
    compound: str = Field(description="Reduced formula, e.g. 'LiAg'.")
    prototype: str = Field(description="Structure type, e.g. 'B2'.")
    calculator: CalculatorProvenance = Field(description="Calculator of every energy.")
    lattice_constant: float | None = Field(
        None, description="Cubic lattice constant of the relaxed compound in A (cubic cells)."
    )
    energy_per_atom: float = Field(description="Energy per atom of the compound in eV/atom.")
    reference_energies: dict[str, float] = Field(
        description="Energy per atom of each relaxed elemental reference in eV/atom."
    )
    reference_phases: dict[str, str] = Field(
        description="Label of each elemental reference calculation."
    )
    formation_energy_per_atom: float = Field(
        description="E_f = E/N - sum_X x_X e_X in eV/atom (negative: stable against the elements)."
    )
    converged: bool = Field(description="Whether every relaxation converged.")
    job_uuids: list[str] = Field(description="Jobs of the compound and the references.")
    warnings: list[str] = Field(default_factory=list, description="Unconverged inputs.")

    @property
    def flagged(self) -> bool:
        """Whether an input did not converge."""
        return bool(self.warnings)

    @classmethod
    def from_results(
        cls,
        compound: CalculationResult,
        references: dict[str, CalculationResult],
        prototype: str,
        lattice_constant: float | None = None,
    ) -> FormationEnergyDocument:
        """Build the document; refuses energies of different calculators.

        Parameters
        ----------
        compound
            The relaxed compound.
        references
            The relaxed elemental phase of each element of the compound.
        prototype
            Structure type of the compound.
        lattice_constant
            Its cubic lattice constant in A, if cubic.

        Raises
        ------
        MixedCalculatorError
            If the energies come from different calculators or settings.
        KeyError
            If an element of the compound has no reference.
        """
        composition = compound.structure.composition
        formula = composition.reduced_formula
        results = [compound, *references.values()]
        calculator = common_calculator(results, f"the formation energy of {formula}")
        missing = [el.symbol for el in composition if el.symbol not in references]
        if missing:
            raise KeyError(f"formation energy of {formula}: no reference for {missing}")
        e_f = compound.energy_per_atom - sum(
            composition.get_atomic_fraction(symbol) * ref.energy_per_atom
            for symbol, ref in references.items()
        )
        return cls(
            compound=formula,
            prototype=prototype,
            calculator=calculator,
            lattice_constant=lattice_constant,
            energy_per_atom=compound.energy_per_atom,
            reference_energies={s: r.energy_per_atom for s, r in references.items()},
            reference_phases={s: r.label for s, r in references.items()},
            formation_energy_per_atom=e_f,
            converged=all(r.converged for r in results),
            job_uuids=job_ids(results),
            warnings=convergence_warnings(results),
        )
