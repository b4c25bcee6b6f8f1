"""SevenNet: the models shipped in the ``sevenn`` wheel, or a checkpoint file.

Only SevenNet-0 (both releases), SevenNet-l3i5 and SevenNet-MF-0 ship their weights in
the wheel. The newer pretrained models (``7net-omat``, ``7net-omni``, ``7net-mf-ompa``,
...) are downloaded by ``sevenn`` on first use, which is impossible on an offline
machine and not reproducible on any: they are refused here with a message that says so.
Download such a checkpoint once elsewhere and give its file path instead.

>>> from anodefree.workflows.engines.sevenn import SevenNetEngine
>>> SevenNetEngine(model="SevenNet-0").model
'7net-0'
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, ValidationError, ValidationInfo, field_validator

from anodefree.errors import EngineError, ModelFileError
from anodefree.provenance import CalculatorProvenance
from anodefree.workflows.engines.base import AseEngine, package_version
from anodefree.workflows.engines.model_files import (
    model_file_identity,
    model_file_sha256,
    raise_engine_error_cause,
)

if TYPE_CHECKING:
    from ase.calculators.calculator import Calculator

#: Models whose weights ship inside the sevenn wheel (sevenn 0.11 to 0.13), by the
#: canonical name sevenn uses; ``7net-0`` is the 11 July 2024 release of SevenNet-0.
SHIPPED_MODELS = ("7net-0", "7net-0_22may2024", "7net-l3i5", "7net-mf-0")
#: The other spellings sevenn accepts for the shipped models.
_ALIASES = {
    **{f"{head}-0": "7net-0" for head in ("7net", "sevennet")},
    **{f"{head}-0_11{m}2024": "7net-0" for head in ("7net", "sevennet") for m in ("jul", "july")},
    **{f"{head}-0_22may2024": "7net-0_22may2024" for head in ("7net", "sevennet")},
    **{f"{head}-l3i5": "7net-l3i5" for head in ("7net", "sevennet")},
    **{f"{head}-mf-0": "7net-mf-0" for head in ("7net", "sevennet")},
}
#: Pretrained models sevenn knows but downloads at run time (sevenn 0.13).
DOWNLOAD_ONLY_MODELS = ("7net-mf-ompa", "7net-omat", "7net-omni", "7net-omni-i8", "7net-omni-i12")
#: Fidelities (training functionals) of the shipped multi-fidelity model.
SHIPPED_MODALS = {"7net-mf-0": ("PBE", "R2SCAN")}


def _looks_pretrained(name: str) -> bool:
    lowered = name.strip().lower()
    return (
        lowered.startswith(("7net-", "sevennet-"))
        and not Path(lowered).suffix
        and ("/" not in lowered)
    )


class SevenNetEngine(AseEngine):
    """SevenNet universal potential from a shipped model or a local checkpoint, on the CPU."""

    name: Literal["sevenn"] = "sevenn"
    package: ClassVar[str] = "sevenn"

    model: str = Field(
        "7net-0",
        description=f"A model shipped in the sevenn wheel ({', '.join(SHIPPED_MODELS)}) or "
        "the path of a SevenNet checkpoint file (.pth).",
    )
    modal: str | None = Field(
        None,
        validate_default=True,
        description="Fidelity of a multi-fidelity model: PBE or R2SCAN for 7net-mf-0.",
    )

    def __init__(self, **data: Any) -> None:
        """Validate the settings; a missing checkpoint raises :class:`ModelFileError`."""
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise_engine_error_cause(exc)
            raise

    @field_validator("model")
    @classmethod
    def _known_model_or_file(cls, value: str) -> str:
        lowered = value.strip().lower()
        if lowered in _ALIASES:
            return _ALIASES[lowered]
        path = Path(value).expanduser()
        if path.is_file():
            return str(path.resolve())
        shipped = ", ".join(SHIPPED_MODELS)
        if _looks_pretrained(value):
            raise EngineError(
                f"sevenn: model {value!r} is not shipped in the sevenn wheel; sevenn would "
                "download its weights at run time, which anodefree does not do (offline "
                "machines, reproducibility). Download the checkpoint once and give its file "
                f"path as model, or use a shipped model: {shipped}"
            )
        if path.exists():
            raise ModelFileError(f"sevenn: model path {str(path)!r} is not a file")
        raise ModelFileError(
            f"sevenn: model {value!r} is neither a shipped model ({shipped}) nor an "
            "existing checkpoint file"
        )

    @field_validator("modal")
    @classmethod
    def _valid_modal(cls, value: str | None, info: ValidationInfo) -> str | None:
        model = info.data.get("model")
        if model in SHIPPED_MODALS:
            valid = SHIPPED_MODALS[model]
            if value is None or value.upper() not in valid:
                raise EngineError(
                    f"sevenn: model {model!r} is multi-fidelity; modal must be one of "
                    f"{', '.join(valid)} (got {value!r})"
                )
            return value.upper()
        if model in SHIPPED_MODELS and value is not None:
            raise EngineError(
                f"sevenn: model {model!r} has a single fidelity; remove modal ({value!r})"
            )
        return value

    @property
    def is_shipped(self) -> bool:
        """Whether the model's weights come from the sevenn wheel."""
        return self.model in SHIPPED_MODELS

    def checkpoint_path(self) -> Path:
        """Return the checkpoint file: inside the wheel for a shipped model.

        Raises
        ------
        EngineError
            If a shipped model's file is missing from the installed wheel (never
            downloaded).
        ModelFileError
            If a checkpoint file given by path has gone.
        """
        if not self.is_shipped:
            path = Path(self.model).expanduser()
            model_file_sha256(path, "sevenn")  # checks that it exists and is readable
            return path
        package_version(self.package)
        from sevenn.util import pretrained_name_to_path

        # Shipped checkpoints have no download address in sevenn: this only looks up
        # the file in the wheel (or ~/.cache/sevennet) and raises if it is not there.
        try:
            return Path(pretrained_name_to_path(self.model))
        except (FileNotFoundError, ValueError) as exc:
            raise EngineError(
                f"sevenn: the installed sevenn {package_version(self.package)} does not ship "
                f"the weights of {self.model!r} ({exc}); install sevenn>=0.11,<0.14 or give "
                "a checkpoint file path"
            ) from exc

    def provenance(self) -> CalculatorProvenance:
        """Describe SevenNet: version, model name or file, and the checkpoint's SHA-256."""
        path = self.checkpoint_path()
        if self.is_shipped:
            model = f"{self.model} sha256:{model_file_sha256(path, 'sevenn')}"
        else:
            model = model_file_identity(path, "sevenn")
        settings: dict[str, Any] = {"device": "cpu"}
        if self.modal:
            settings["modal"] = self.modal
        return CalculatorProvenance(
            engine=self.name,
            package=self.package,
            version=package_version(self.package),
            model=model,
            settings=settings,
        )

    def build_calculator(self) -> Calculator:
        """Load the checkpoint on the CPU; shipped weights are read from the wheel."""
        path = self.checkpoint_path()
        from sevenn.calculator import SevenNetCalculator

        kwargs = {"modal": self.modal} if self.modal else {}
        try:
            with warnings.catch_warnings():
                # No GPU here, so no tensor-product accelerator to enable.
                warnings.filterwarnings("ignore", message="No tensor product accelerator")
                return SevenNetCalculator(model=str(path), device="cpu", **kwargs)
        except Exception as exc:  # torch and pickle raise many types for a bad file
            if self.is_shipped:
                raise EngineError(f"sevenn: cannot load model {self.model!r}: {exc}") from exc
            raise ModelFileError(
                f"sevenn: cannot load checkpoint file {str(path)!r} (not a SevenNet "
                f"checkpoint, corrupt, or a multi-fidelity model without modal?): "
                f"{type(exc).__name__}: {exc}"
            ) from exc
