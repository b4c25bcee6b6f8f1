"""CHGNet, the default engine: its weights ship inside the ``chgnet`` wheel."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field

from anodefree.provenance import CalculatorProvenance
from anodefree.workflows.engines.base import AseEngine, package_version

if TYPE_CHECKING:
    from ase.calculators.calculator import Calculator


class CHGNetEngine(AseEngine):
    """CHGNet universal potential (MPtrj, PBE/PBE+U), on the CPU."""

    name: Literal["chgnet"] = "chgnet"
    package: ClassVar[str] = "chgnet"

    model: Literal["0.3.0", "0.2.0", "r2scan"] = Field(
        "0.3.0", description="Pretrained CHGNet model shipped in the wheel."
    )

    def provenance(self) -> CalculatorProvenance:
        """Describe CHGNet, its version and model."""
        return CalculatorProvenance(
            engine=self.name,
            package=self.package,
            version=package_version(self.package),
            model=f"CHGNet-{self.model}",
            settings={"device": "cpu"},
        )

    def build_calculator(self) -> Calculator:
        """Load the shipped model (no download)."""
        from chgnet.model import CHGNet
        from chgnet.model.dynamics import CHGNetCalculator

        model = CHGNet.load(model_name=self.model, use_device="cpu", verbose=False)
        return CHGNetCalculator(model=model, use_device="cpu")
