"""Where a number came from: the calculator, its version, its model and its settings.

Every energy anodefree reports carries a :class:`CalculatorProvenance`. Derived
quantities (formation energies, surface energies, works of adhesion) combine several
energies; :func:`require_same_calculator` refuses to combine energies whose provenance
differs in anything that changes an energy (engine, model or settings).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import ConfigDict, Field

from anodefree.errors import MixedCalculatorError
from anodefree.serialization import MSONModel


def stable_hash(payload: Any, length: int = 16) -> str:
    """Hash a JSON-serialisable payload independently of key order.

    Parameters
    ----------
    payload
        Anything ``json.dumps`` accepts (after ``default=str``).
    length
        Number of hexadecimal characters kept.

    Returns
    -------
    str
        The leading ``length`` characters of the SHA-256 digest.
    """
    text = json.dumps(payload, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:length]


class CalculatorProvenance(MSONModel):
    """The calculator behind an energy: engine, package version, model and settings."""

    model_config = ConfigDict(frozen=True)

    engine: str = Field(description="Engine name in the anodefree registry, e.g. 'chgnet'.")
    package: str = Field(description="Python package that computes the energies.")
    version: str = Field(description="Installed version of that package.")
    model: str | None = Field(
        None,
        description="Model or method: a shipped model name, a model file with its "
        "SHA-256, or the DFT functional.",
    )
    settings: dict[str, Any] = Field(
        default_factory=dict,
        description="Every engine setting that changes an energy (units in the keys).",
    )

    @property
    def fingerprint(self) -> str:
        """Hash of everything that changes an energy: engine, version, model, settings."""
        return stable_hash(
            {
                "engine": self.engine,
                "version": self.version,
                "model": self.model,
                "settings": self.settings,
            }
        )

    @property
    def label(self) -> str:
        """Short human-readable label, e.g. ``chgnet 0.4.2 (0.3.0)``."""
        model = f" ({self.model})" if self.model else ""
        return f"{self.engine} {self.version}{model}"


def require_same_calculator(
    provenances: list[CalculatorProvenance], quantity: str
) -> CalculatorProvenance:
    """Check that every energy of one derived quantity comes from one calculator.

    Parameters
    ----------
    provenances
        The provenance of each energy that enters the quantity.
    quantity
        Name of the derived quantity, used in the error message.

    Returns
    -------
    CalculatorProvenance
        The common provenance.

    Raises
    ------
    MixedCalculatorError
        If two energies differ in engine, version, model or settings.
    """
    if not provenances:
        raise MixedCalculatorError(f"{quantity}: no energies to combine")
    first = provenances[0]
    for other in provenances[1:]:
        if other.fingerprint != first.fingerprint:
            differences = [
                f"{field}: {getattr(first, field)!r} vs {getattr(other, field)!r}"
                for field in ("engine", "version", "model", "settings")
                if getattr(first, field) != getattr(other, field)
            ]
            raise MixedCalculatorError(
                f"refusing to compute {quantity} from energies of different "
                f"calculators or settings ({'; '.join(differences)})"
            )
    return first
