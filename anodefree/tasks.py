"""What a single calculation does: a static energy, a fixed-cell or a full relaxation."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, field_validator

from anodefree.serialization import MSONModel

#: Optimizers that atomate2's ASE relaxer accepts by name.
OPTIMIZERS = ("BFGS", "LBFGS", "FIRE", "BFGSLineSearch", "LBFGSLineSearch", "MDMin")

CalculationKind = Literal["static", "relax_positions", "relax_full"]


class CalculationTask(MSONModel):
    """Settings of one calculation that change its result.

    ``relax_positions`` relaxes the atoms at fixed cell (defect supercells, slabs,
    interfaces); ``relax_full`` also relaxes the cell (bulk references).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: CalculationKind = Field(description="static, relax_positions or relax_full.")
    fmax: float = Field(
        0.01,
        gt=0,
        description="Force convergence criterion in eV/A (the reference method uses 0.01 eV/A).",
    )
    max_steps: int = Field(500, ge=1, description="Maximum number of ionic steps before giving up.")
    optimizer: str = Field("BFGS", description=f"One of {', '.join(OPTIMIZERS)}.")
    fixed_indices: tuple[int, ...] = Field(
        (),
        description="Indices of atoms held fixed during a relaxation (e.g. the middle "
        "layers of a slab).",
    )

    @field_validator("optimizer")
    @classmethod
    def _known_optimizer(cls, value: str) -> str:
        if value not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {value!r}; choose one of {', '.join(OPTIMIZERS)}")
        return value

    @property
    def is_relaxation(self) -> bool:
        """Whether atoms move during the calculation."""
        return self.kind != "static"


class RelaxSettings(MSONModel):
    """Relaxation settings shared by every calculation of a flow or campaign."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    fmax: float = Field(0.01, gt=0, description="Force criterion in eV/A.")
    max_steps: int = Field(500, ge=1, description="Maximum ionic steps.")
    optimizer: str = Field("BFGS", description=f"One of {', '.join(OPTIMIZERS)}.")

    @field_validator("optimizer")
    @classmethod
    def _known_optimizer(cls, value: str) -> str:
        return CalculationTask._known_optimizer(value)  # noqa: SLF001

    def task(self, kind: CalculationKind, fixed_indices: tuple[int, ...] = ()) -> CalculationTask:
        """Return the :class:`CalculationTask` of ``kind`` with these settings."""
        return CalculationTask(
            kind=kind,
            fmax=self.fmax,
            max_steps=self.max_steps,
            optimizer=self.optimizer,
            fixed_indices=tuple(fixed_indices),
        )
