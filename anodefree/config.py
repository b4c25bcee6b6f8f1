"""Campaign configuration: systems, engine and settings, store, and report folder.

Loaded from YAML (safe loading) and validated by pydantic; a malformed file fails with
the field and the value named.

A minimal file::

    name: my-campaign
    engine: {name: chgnet}
    bulk_vacancy: {repetitions: [3, 4, 5]}

Every stage section may be omitted (its default applies) or set to ``null`` (skipped);
the expensive stages, ``interface_defects`` and ``migration``, and the DFT ``validation``
stage are opt-in: omitted means skipped, ``{}`` runs them with their defaults.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from anodefree.errors import ConfigError, EngineError
from anodefree.structures.bulk import PROTOTYPES
from anodefree.structures.defects import check_element
from anodefree.tasks import RelaxSettings
from anodefree.workflows.adhesion import AdhesionStage
from anodefree.workflows.engines.base import Engine
from anodefree.workflows.engines.registry import get_engine
from anodefree.workflows.hull import HullStage
from anodefree.workflows.interface_defects import InterfaceDefectsStage
from anodefree.workflows.migration import MigrationStage
from anodefree.workflows.stores import StoreSettings
from anodefree.workflows.surfaces import SurfacesStage
from anodefree.workflows.validation import ValidationStage

PRESETS_DIR = Path(__file__).parent / "presets"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BulkStage(_Section):
    """Full relaxation of the reference phases."""

    phases: tuple[str, ...] = Field(
        ("Li", "Li2S", "MgS", "Mg", "Ag"), description="Reference phases to relax."
    )

    @field_validator("phases")
    @classmethod
    def _known(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [p for p in value if p not in PROTOTYPES]
        if unknown:
            msg = f"unknown phases {unknown}; known: {', '.join(PROTOTYPES)}"
            raise ValueError(msg)
        if "Li" not in value:
            msg = "bcc Li is the reference of every other stage and must be included"
            raise ValueError(msg)
        return value


class BulkVacancyStage(_Section):
    """Li vacancy formation energy over supercell sizes."""

    repetitions: tuple[int, ...] = Field(
        (3, 4, 5), description="n of n x n x n bcc supercells (2 n^3 atoms)."
    )

    @field_validator("repetitions")
    @classmethod
    def _sizes(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if len(value) < 2 or any(n < 2 for n in value) or len(set(value)) != len(value):
            msg = "give at least two distinct supercell sizes, each >= 2"
            raise ValueError(msg)
        return tuple(sorted(value))


class SoluteVacancyStage(_Section):
    """Vacancy formation energy at the neighbour shells of solutes."""

    solutes: tuple[str, ...] = Field(("Mg", "Ag"), description="Solute elements.")
    repetitions: int = Field(4, ge=3, description="n of the n x n x n bcc supercell.")
    shells: tuple[int, ...] = Field((1, 2, 3, 4, 5), description="Neighbour shells.")

    @field_validator("solutes")
    @classmethod
    def _elements(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for symbol in value:
            check_element(symbol)
        return value

    @field_validator("shells")
    @classmethod
    def _shells(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if not value or any(s < 1 for s in value):
            msg = "shells must be integers >= 1"
            raise ValueError(msg)
        return tuple(sorted(set(value)))


class CampaignConfig(BaseModel):
    """Everything a campaign run needs."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    name: str = Field("default", min_length=1, description="Campaign name (tags results).")
    engine: Engine = Field(
        default_factory=lambda: get_engine("chgnet"),
        description="Calculator engine: a name or a mapping with name and settings.",
    )
    relax: RelaxSettings = Field(default_factory=RelaxSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    report_dir: Path = Field(Path("report"), description="Where the report is written.")
    work_dir: Path | None = Field(
        None, description="Where calculations run (default: <data_dir>/runs)."
    )
    bulk: BulkStage = Field(default_factory=BulkStage)
    bulk_vacancy: BulkVacancyStage | None = Field(default_factory=BulkVacancyStage)
    solute_vacancy: SoluteVacancyStage | None = Field(default_factory=SoluteVacancyStage)
    surfaces: SurfacesStage | None = Field(default_factory=SurfacesStage)
    adhesion: AdhesionStage | None = Field(default_factory=AdhesionStage)
    hull: HullStage | None = Field(default_factory=HullStage)
    interface_defects: InterfaceDefectsStage | None = Field(
        None,
        description="Layer-resolved vacancies, segregation, filling, divacancies and bond "
        "energies at the metal/Li2S interfaces (opt-in: ``{}`` for the defaults).",
    )
    migration: MigrationStage | None = Field(
        None,
        description="NEB barriers, attempt frequencies and vacancy diffusivities "
        "(opt-in: ``{}`` for the defaults).",
    )
    validation: ValidationStage | None = Field(
        None,
        description="Cutoff and k-point convergence scans of the campaign settings and the "
        "B2 LiAg formation energy (opt-in: ``{}`` for the GPAW defaults; needs Ag in bulk).",
    )

    @field_validator("engine", mode="before")
    @classmethod
    def _engine(cls, value: Any) -> Engine:
        try:
            return get_engine(value)
        except EngineError as exc:
            raise ValueError(str(exc)) from exc


def _describe(exc: ValidationError, source: str) -> str:
    lines = []
    for error in exc.errors():
        location = ".".join(str(part) for part in error["loc"]) or "(top level)"
        message = error["msg"].removeprefix("Value error, ")
        value = f" (got {error['input']!r})" if error["type"] != "missing" else ""
        lines.append(f"  {location}: {message}{value}")
    return f"invalid campaign configuration {source}:\n" + "\n".join(lines)


def config_from_dict(data: dict[str, Any], source: str = "") -> CampaignConfig:
    """Validate a mapping into a :class:`CampaignConfig` (ConfigError names the fields)."""
    if not isinstance(data, dict):
        raise ConfigError(
            f"campaign configuration {source} must be a mapping, got {type(data).__name__}"
        )
    try:
        return CampaignConfig(**data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, source)) from exc


def load_config(path: Path | str) -> CampaignConfig:
    """Load a campaign YAML file (safe loading) or a preset name (``default``, ``cluster``).

    Raises
    ------
    ConfigError
        For a missing file, invalid YAML or invalid fields, naming them.
    """
    path = Path(path)
    if not path.exists() and (PRESETS_DIR / f"{path.name}.yaml").exists():
        path = PRESETS_DIR / f"{path.name}.yaml"
    if not path.exists():
        presets = ", ".join(sorted(p.stem for p in PRESETS_DIR.glob("*.yaml")))
        raise ConfigError(f"no campaign file {str(path)!r} (presets: {presets})")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from exc
    return config_from_dict(data or {}, source=f"in {path}")
