"""MACE from a local model file (foundation models download at run time and fail offline)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field, field_validator

from anodefree.errors import EngineError, ModelFileError
from anodefree.provenance import CalculatorProvenance
from anodefree.workflows.engines.base import (
    AseEngine,
    check_model_file,
    file_sha256,
    package_version,
)

if TYPE_CHECKING:
    from ase.calculators.calculator import Calculator


class MACEEngine(AseEngine):
    """A MACE model loaded from a file the user supplies."""

    name: Literal["mace"] = "mace"
    package: ClassVar[str] = "mace-torch"

    model_path: str = Field(description="Path of a MACE model file (.model).")
    default_dtype: Literal["float32", "float64"] = Field(
        "float64", description="Floating-point precision of the model evaluation."
    )

    @field_validator("model_path")
    @classmethod
    def _model_file_exists(cls, value: str) -> str:
        return str(check_model_file(value, "mace"))

    def provenance(self) -> CalculatorProvenance:
        """Describe MACE and identify the model file by its SHA-256."""
        path = Path(self.model_path)
        return CalculatorProvenance(
            engine=self.name,
            package=self.package,
            version=package_version(self.package),
            model=f"{path.name} sha256:{file_sha256(path)}",
            settings={"default_dtype": self.default_dtype, "device": "cpu"},
        )

    def build_calculator(self) -> Calculator:
        """Load the model file on the CPU."""
        check_model_file(self.model_path, "mace")
        try:
            from mace.calculators import MACECalculator
        except ImportError as exc:
            raise EngineError(
                "mace: the mace-torch package is not installed (pip install 'anodefree[mace]')"
            ) from exc
        try:
            return MACECalculator(
                model_paths=self.model_path,
                device="cpu",
                default_dtype=self.default_dtype,
            )
        except Exception as exc:  # torch raises many types for a corrupt file
            raise ModelFileError(
                f"mace: cannot load model file {self.model_path!r}: {exc}"
            ) from exc
