"""MACE from a local model file (foundation models download at run time and fail offline).

A MACE ``.model`` file is a pickled PyTorch module: loading it runs code from the file,
so load only files from a source you trust. The pickle holds e3nn objects, and it loads
only with the e3nn release it was written with: files written by a standard
``pip install mace-torch`` (every public MACE model) need ``e3nn==0.4.4``, which cannot
share an environment with ``sevenn`` (``e3nn>=0.5``). anodefree therefore runs MACE in its
own virtual environment (``.venv-mace``, see the README); an e3nn mismatch is reported as
such rather than as a corrupt file.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, ValidationError, field_validator

from anodefree.errors import EngineError, ModelFileError
from anodefree.provenance import CalculatorProvenance
from anodefree.workflows.engines.base import AseEngine, check_model_file, package_version
from anodefree.workflows.engines.model_files import (
    model_file_identity,
    raise_engine_error_cause,
)

if TYPE_CHECKING:
    from pathlib import Path

    import torch
    from ase.calculators.calculator import Calculator

#: e3nn release that mace-torch pins and that public MACE model files were written with.
MACE_E3NN = "0.4.4"


def import_mace_calculator() -> type:
    """Import mace (before e3nn) and return its ``MACECalculator`` class.

    ``import mace`` sets ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` for the process, which
    e3nn 0.4.4 needs to import its own constants under torch >= 2.6; importing e3nn first
    fails there. Nothing else in anodefree imports e3nn in the MACE environment.

    Raises
    ------
    EngineError
        If mace-torch is not installed or cannot be imported in the running environment.
    """
    try:
        import mace  # noqa: F401  (sets the torch.load switch before e3nn is imported)
        from mace.calculators import MACECalculator
    except Exception as exc:  # ImportError, or e3nn failing to load its constants
        raise EngineError(
            "mace: the mace-torch package is not importable here "
            f"({type(exc).__name__}: {exc}); run MACE in its own environment "
            "(make venv-mace, then .venv-mace/bin/anodefree ...)"
        ) from exc
    return MACECalculator


def _e3nn_version() -> str:
    try:
        return package_version("e3nn")
    except EngineError:
        return "not installed"


def load_mace_model(path: Path | str) -> torch.nn.Module:
    """Load a MACE model file on the CPU.

    Parameters
    ----------
    path
        A ``.model`` file written with ``torch.save(model)`` (what ``mace_run_train``
        writes and the MACE foundation models are).

    Returns
    -------
    torch.nn.Module
        The model, in evaluation mode.

    Raises
    ------
    ModelFileError
        Naming the path, if the file is missing, unreadable, not a PyTorch file, not a
        MACE model, or written with an e3nn release other than the installed one.
    """
    path = check_model_file(path, "mace")
    import_mace_calculator()
    import torch

    try:
        # A MACE model file is a pickled module, not a state dict: weights_only=True
        # cannot read it (mace itself loads with weights_only=False).
        model = torch.load(path, map_location="cpu", weights_only=False)
    except (ValueError, AttributeError, TypeError) as exc:
        # e3nn changed how its modules pickle in 0.5 and 0.5.5; an old file then fails
        # inside e3nn's __setstate__ or at the first use of a missing attribute.
        raise ModelFileError(
            f"mace: cannot unpickle model file {str(path)!r} with e3nn {_e3nn_version()} "
            f"({type(exc).__name__}: {exc}); MACE model files load only with the e3nn "
            f"release they were written with (mace-torch pins e3nn=={MACE_E3NN})"
        ) from exc
    except Exception as exc:  # torch raises many types for a corrupt file
        raise ModelFileError(
            f"mace: cannot read model file {str(path)!r} (corrupt, truncated or not a "
            f"PyTorch file): {type(exc).__name__}: {exc}"
        ) from exc
    if not isinstance(model, torch.nn.Module) or not hasattr(model, "atomic_numbers"):
        kind = type(model).__name__
        hint = (
            " (a state dict? save the whole model with torch.save(model))"
            if isinstance(model, dict)
            else ""
        )
        raise ModelFileError(
            f"mace: model file {str(path)!r} holds a {kind}{hint}, not a MACE model"
        )
    return model.eval()


def model_elements(model: torch.nn.Module) -> list[str]:
    """Return the chemical symbols a MACE model was trained for."""
    from ase.data import chemical_symbols

    return [chemical_symbols[int(z)] for z in model.atomic_numbers]


@cache
def _element_checked(base: type) -> type:
    """Subclass mace's calculator so that an element the model lacks is a clear error.

    mace itself fails deep inside with ``ValueError: np.int64(26) is not in list``.
    """
    from ase.calculators.calculator import all_changes
    from ase.data import chemical_symbols

    class ElementCheckedMACECalculator(base):
        """mace's ``MACECalculator`` that names the elements a model cannot describe."""

        def calculate(
            self,
            atoms: Any = None,
            properties: Any = None,
            system_changes: Any = all_changes,
        ) -> None:
            if atoms is not None:
                known = {int(z) for z in self.z_table.zs}
                unknown = sorted({int(z) for z in atoms.numbers} - known)
                if unknown:
                    raise EngineError(
                        f"mace: the model has no parameters for "
                        f"{', '.join(chemical_symbols[z] for z in unknown)}; it knows "
                        f"{', '.join(chemical_symbols[z] for z in sorted(known))}"
                    )
            super().calculate(atoms, properties, system_changes)

    return ElementCheckedMACECalculator


class MACEEngine(AseEngine):
    """A MACE model loaded from a file the user supplies, on the CPU."""

    name: Literal["mace"] = "mace"
    package: ClassVar[str] = "mace-torch"

    model_path: str = Field(description="Path of a MACE model file (.model).")
    default_dtype: Literal["float32", "float64"] = Field(
        "float64",
        description="Floating-point precision of the evaluation; float64 for relaxations "
        "and energy differences of a few meV.",
    )
    head: str | None = Field(
        None,
        description="Output head of a multi-head model (e.g. a fine-tuned or MACE-MH "
        "model); None selects the model's only or 'Default' head.",
    )

    def __init__(self, **data: Any) -> None:
        """Validate the settings; a missing model file raises :class:`ModelFileError`."""
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise_engine_error_cause(exc)
            raise

    @field_validator("model_path")
    @classmethod
    def _model_file_exists(cls, value: str) -> str:
        return str(check_model_file(value, "mace").resolve())

    def check_available(self) -> None:
        """Raise :class:`EngineError` unless mace imports here (it lives in .venv-mace)."""
        import_mace_calculator()
        package_version(self.package)

    def provenance(self) -> CalculatorProvenance:
        """Describe MACE and identify the model file by its SHA-256."""
        settings: dict[str, Any] = {"default_dtype": self.default_dtype, "device": "cpu"}
        if self.head is not None:
            settings["head"] = self.head
        return CalculatorProvenance(
            engine=self.name,
            package=self.package,
            version=package_version(self.package),
            model=model_file_identity(self.model_path, "mace"),
            settings=settings,
        )

    def build_calculator(self) -> Calculator:
        """Load the model file and wrap it in mace's ASE calculator, on the CPU."""
        mace_calculator = _element_checked(import_mace_calculator())
        model = load_mace_model(self.model_path)
        heads = list(getattr(model, "heads", None) or ["Default"])
        if self.head is not None and self.head not in heads:
            # mace would only warn and fall back to the last head.
            raise EngineError(
                f"mace: head {self.head!r} is not in model file {self.model_path!r}; "
                f"its heads: {', '.join(heads)}"
            )
        kwargs = {"head": self.head} if self.head is not None else {}
        try:
            calculator = mace_calculator(
                models=[model], device="cpu", default_dtype=self.default_dtype, **kwargs
            )
        except Exception as exc:  # a model object mace cannot drive
            raise ModelFileError(
                f"mace: model file {self.model_path!r} cannot drive mace's calculator: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        return calculator
