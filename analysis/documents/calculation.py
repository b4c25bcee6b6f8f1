"""The result of one calculation: energy, final structure, convergence and provenance."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pymatgen.core import Structure

from anodefree.provenance import CalculatorProvenance
from anodefree.tasks import CalculationTask


class CalculationResult(BaseModel):
    """One calculation of one structure with one calculator, as stored and reused.

    ``cache_key`` identifies the calculation (structure, calculator and task settings);
    a later request with the same key reuses this result instead of recomputing it.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    schema_version: str = Field("1", description="Version of this document's schema.")
    label: str = Field(description="Human-readable name of the calculation.")
    system: str | None = Field(None, description="System the calculation belongs to.")
    role: str | None = Field(
        None, description="Role in its flow, e.g. 'pristine supercell' or 'vacancy'."
    )
    formula: str = Field(description="Reduced formula of the final structure.")
    n_atoms: int = Field(description="Number of atoms.")
    structure: Structure = Field(description="Final (relaxed) structure; lengths in A.")
    energy: float = Field(description="Total energy in eV.")
    energy_per_atom: float = Field(description="Total energy per atom in eV/atom.")
    converged: bool = Field(
        description="Whether the calculation reached its convergence criteria "
        "(forces below fmax for relaxations); unconverged results are flagged "
        "everywhere they are used."
    )
    convergence_messages: list[str] = Field(
        default_factory=list, description="Why the calculation is not converged."
    )
    max_force: float | None = Field(None, description="Largest residual force in eV/A.")
    n_ionic_steps: int | None = Field(
        None, description="Ionic steps taken (one force call each for BFGS/FIRE)."
    )
    wall_time: float | None = Field(None, description="Wall time of the calculation in s.")
    calculator: CalculatorProvenance = Field(description="Calculator, version, settings.")
    task: CalculationTask = Field(description="What the calculation did and its settings.")
    cache_key: str = Field(description="Identity of (structure, calculator, task).")
    reused: bool = Field(
        default=False, description="True when taken from the store instead of computed now."
    )
    job_uuid: str | None = Field(None, description="Job that returned this document.")
    source_job_uuid: str | None = Field(
        None, description="atomate2 job that actually computed the energy."
    )
    completed_at: datetime = Field(
        default_factory=lambda: datetime.now(UTC), description="When it was computed (UTC)."
    )
    metadata: dict[str, Any] = Field(
        default_factory=dict, description="Free-form tags (site indices, shells, ...)."
    )
