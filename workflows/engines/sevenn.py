"""SevenNet: the models shipped in the ``sevenn`` wheel, or a checkpoint file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field, model_validator

from anodefree.errors import EngineError
from anodefree.provenance import CalculatorProvenance
from anodefree.workflows.engines.base import (
    AseEngine,
    check_model_file,
    file_sha256,
    package_version,
)

if TYPE_CHECKING:
    from ase.calculators.calculator import Calculator

#: Models whose weights ship inside the sevenn wheel (others download and fail offline).
SHIPPED_MODELS = ("7net-0", "7net-0_22may2024", "7net-l3i5", "7net-mf-0")
#: Multi-fidelity models need a modal (the training functional).
MULTI_FIDELITY = ("7net-mf-0",)


class SevenNetEngine(AseEngine):
    """SevenNet universal potential from a shipped model or a local checkpoint."""

    name: Literal["sevenn"] = "sevenn"
    package: ClassVar[str] = "sevenn"

    model: str = Field(
        "7net-0",
        description=f"A shipped model ({', '.join(SHIPPED_MODELS)}) or the path of a "
        "checkpoint file.",
    )
    modal: str | None = Field(
        None,
        description="Fidelity of a multi-fidelity model, e.g. 'PBE' for 7net-mf-0.",
    )

    @model_validator(mode="after")
    def _check_model(self) -> SevenNetEngine:
        if self.model not in SHIPPED_MODELS:
            check_model_file(self.model, "sevenn")
        if self.model in MULTI_FIDELITY and self.modal is None:
            raise EngineError(
                f"sevenn: model {self.model!r} is multi-fidelity; set modal "
                "(for example modal: PBE)"
            )
        return self

    @property
    def _is_file(self) -> bool:
        return self.model not in SHIPPED_MODELS

    def provenance(self) -> CalculatorProvenance:
        """Describe SevenNet, its version and model (file models by SHA-256)."""
        if self._is_file:
            path = Path(self.model).expanduser()
            model = f"{path.name} sha256:{file_sha256(path)}"
        else:
            model = self.model
        settings = {"modal": self.modal} if self.modal else {}
        return CalculatorProvenance(
            engine=self.name,
            package=self.package,
            version=package_version(self.package),
            model=model,
            settings={**settings, "device": "cpu"},
        )

    def build_calculator(self) -> Calculator:
        """Load the model on the CPU (shipped weights are read from the wheel)."""
        from sevenn.calculator import SevenNetCalculator

        model = str(Path(self.model).expanduser()) if self._is_file else self.model
        kwargs = {"modal": self.modal} if self.modal else {}
        try:
            return SevenNetCalculator(model=model, device="cpu", **kwargs)
        except (OSError, RuntimeError, KeyError, ValueError) as exc:
            raise EngineError(f"sevenn: cannot load model {self.model!r}: {exc}") from exc
