"""The Li-Ag convex hull: input energies, hull table, named phases and voltage profile.

Conventions: ``li_fraction`` is Li atoms per atom (0 = Ag, 1 = Li); ``li_per_ag`` is x in
Li_xAg (None for pure Li); formation energies are per atom against the designated bcc Li
and fcc Ag references; voltages are in V versus Li+/Li (bcc Li).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from anodefree.provenance import CalculatorProvenance

if TYPE_CHECKING:
    from anodefree.analysis.documents.calculation import CalculationResult


class PhaseEnergy(BaseModel):
    """The energy of one candidate structure, the input of the hull."""

    label: str = Field(description="Unique name of the candidate, e.g. 'Li3Ag-D03'.")
    phase: str = Field(
        description="Phase the candidate represents (a named phase such as 'Li9Ag4', or "
        "the reduced formula for enumerated structures)."
    )
    composition: dict[str, float] = Field(
        description="Number of atoms of each element in the calculated cell."
    )
    energy: float = Field(description="Total energy of the cell in eV.")
    calculator: CalculatorProvenance = Field(description="Calculator, version and settings.")
    converged: bool = Field(default=True, description="Whether the relaxation converged.")
    origin: str | None = Field(
        None, description="Where the structure came from (prototype, bcc-derivative, ...)."
    )
    multiplicity: int | None = Field(
        None, description="Symmetry-equivalent configurations it stands for (decorations)."
    )

    @property
    def n_atoms(self) -> float:
        """Atoms in the cell."""
        return sum(self.composition.values())

    @property
    def energy_per_atom(self) -> float:
        """Energy per atom in eV/atom."""
        return self.energy / self.n_atoms

    @property
    def li_fraction(self) -> float:
        """Li atoms per atom."""
        return self.composition.get("Li", 0.0) / self.n_atoms

    @classmethod
    def from_result(
        cls,
        result: CalculationResult,
        *,
        phase: str | None = None,
        label: str | None = None,
        origin: str | None = None,
        multiplicity: int | None = None,
    ) -> PhaseEnergy:
        """Read a relaxed :class:`CalculationResult` (energy, structure, calculator)."""
        composition = result.structure.composition
        return cls(
            label=label or result.label,
            phase=phase or composition.reduced_formula,
            composition={el.symbol: float(n) for el, n in composition.items()},
            energy=result.energy,
            calculator=result.calculator,
            converged=result.converged,
            origin=origin,
            multiplicity=multiplicity,
        )


class HullRow(BaseModel):
    """One candidate on the formation-energy diagram."""

    label: str = Field(description="Candidate name.")
    phase: str = Field(description="Phase it represents.")
    formula: str = Field(description="Reduced formula.")
    li_fraction: float = Field(description="Li atoms per atom (0 = Ag, 1 = Li).")
    li_per_ag: float | None = Field(description="x in Li_xAg (None for pure Li).")
    energy_per_atom: float = Field(description="Total energy per atom in eV/atom.")
    formation_energy_per_atom: float = Field(
        description="Formation energy per atom against bcc Li and fcc Ag in eV/atom."
    )
    e_above_hull: float = Field(
        description="Energy above the convex hull in eV/atom (negative only for an elemental "
        "polymorph below its designated reference)."
    )
    on_hull: bool = Field(description="Whether e_above_hull is within the on-hull tolerance.")
    decomposition: list[str] = Field(
        default_factory=list,
        description="Labels of the hull phases it decomposes into (itself if on the hull).",
    )
    converged: bool = Field(description="Whether its relaxation converged.")
    origin: str | None = Field(None, description="Where the structure came from.")


class NamedPhaseRow(BaseModel):
    """A named phase of the Li-Ag system, represented by its lowest-energy candidate."""

    phase: str = Field(description="Phase name, e.g. 'Li10Ag3'.")
    formula: str = Field(description="Reduced formula.")
    li_fraction: float = Field(description="Li atoms per atom.")
    best_label: str | None = Field(
        None, description="Label of the lowest-energy candidate (None if none was computed)."
    )
    n_candidates: int = Field(0, description="Number of candidates computed for the phase.")
    formation_energy_per_atom: float | None = Field(
        None, description="Formation energy per atom of the best candidate in eV/atom."
    )
    e_above_hull: float | None = Field(
        None, description="Energy above the hull of the best candidate in eV/atom."
    )
    on_hull: bool | None = Field(None, description="Whether the best candidate is on the hull.")


class VoltageStep(BaseModel):
    """The two-phase region between two neighbouring hull phases."""

    li_poor_phase: str = Field(description="Label of the Li-poor end phase.")
    li_rich_phase: str = Field(description="Label of the Li-rich end phase.")
    x_start: float = Field(description="Li per Ag at the Li-poor end (x in Li_xAg).")
    x_end: float = Field(description="Li per Ag at the Li-rich end (x in Li_xAg).")
    li_fraction_start: float = Field(description="Li atoms per atom at the Li-poor end.")
    li_fraction_end: float = Field(description="Li atoms per atom at the Li-rich end.")
    capacity_start: float = Field(description="Li stored at the Li-poor end in mAh per g Ag.")
    capacity_end: float = Field(description="Li stored at the Li-rich end in mAh per g Ag.")
    voltage: float = Field(
        description="Average voltage of the region, V = -dE/dx per Li, in V vs Li+/Li."
    )


class VoltageProfile(BaseModel):
    """The equilibrium (0 K) voltage profile of Ag lithiation from the hull."""

    calculator: CalculatorProvenance = Field(description="Calculator of every energy.")
    steps: list[VoltageStep] = Field(
        default_factory=list,
        description="Two-phase regions from Ag to the most Li-rich hull compound; beyond "
        "it Li metal forms (0 V).",
    )
    delithiation_onset: float | None = Field(
        None,
        description="Voltage in V vs Li+/Li of the most Li-rich two-phase region: where a "
        "fully lithiated alloy starts to delithiate (None without a hull compound).",
    )
    onset_region: list[str] = Field(
        default_factory=list,
        description="Labels of the two phases of the delithiation-onset region (Li-poor, Li-rich).",
    )


class HullDocument(BaseModel):
    """The Li-Ag convex hull of one calculator."""

    schema_version: str = Field("1", description="Version of this document's schema.")
    system: str = Field("Li-Ag", description="Chemical system.")
    calculator: CalculatorProvenance = Field(description="Calculator of every energy.")
    references: dict[str, str] = Field(
        description="Label of the reference entry of each element (bcc Li, fcc Ag)."
    )
    reference_energies: dict[str, float] = Field(
        description="Energy per atom of each reference in eV/atom."
    )
    on_hull_tolerance: float = Field(
        description="Largest e_above_hull in eV/atom still counted as on the hull."
    )
    rows: list[HullRow] = Field(description="Every candidate, Li-poor to Li-rich.")
    named_phases: list[NamedPhaseRow] = Field(
        description="The named phases, each by its lowest-energy candidate."
    )
    stable: list[str] = Field(description="Labels of the hull vertices, Li-poor to Li-rich.")
    voltage_profile: VoltageProfile = Field(description="Voltage profile from the hull.")
    warnings: list[str] = Field(default_factory=list, description="Unconverged inputs etc.")

    def row(self, label: str) -> HullRow:
        """Return the row of candidate ``label``."""
        for row in self.rows:
            if row.label == label:
                return row
        raise KeyError(f"no hull row {label!r}; rows: {', '.join(r.label for r in self.rows)}")

    def named(self, phase: str) -> NamedPhaseRow:
        """Return the row of named phase ``phase``."""
        for row in self.named_phases:
            if row.phase == phase:
                return row
        names = ", ".join(r.phase for r in self.named_phases)
        raise KeyError(f"no named phase {phase!r}; named phases: {names}")
