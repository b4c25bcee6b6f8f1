"""The continuum parameter file: what the current-constriction model needs, with sources.

The continuum model of a stripping Li island (``anodefree.models.continuum``) reads only this
document. Every physical number in it carries its source: either *computed* (engine
provenance and the job ids of the store documents it was derived from) or *supplied* (a
measured or literature value, or an assumption of the model, with a note saying which).

Defaults and where they come from
---------------------------------
========================  ==============  ================================================
field                     default         source
========================  ==============  ================================================
conductivity              1.8e-3 S/cm     argyrodite Li6PS5Cl, the value of the reference
                                          continuum study (../shared/science.md); measured
exchange_current_density  1.0 mA/cm^2     **assumption**: the order of magnitude of a fresh
                                          Li|argyrodite contact (charge-transfer resistance
                                          R_ct = RT / (F i0) = 26 Ohm cm^2 at 298 K)
alpha_anodic              0.5             **assumption**: symmetric one-electron transfer
alpha_cathodic            0.5             **assumption**: symmetric one-electron transfer
temperature               298.15 K        **assumption**: room temperature
domain_width              50 um           geometry of the reference study
domain_height             15 um           geometry of the reference study
onsets                    Li-Ag 0.05 V,   measured delithiation onsets quoted by the
                          Li-Au 0.07 V    reference study (../shared/science.md); replace
                                          Li-Ag with the computed hull onset
                                          (:meth:`ContinuumParameters.with_onset`)
diffusivities             none            from the migration results when computed
========================  ==============  ================================================

The schema is versioned (:data:`SCHEMA_VERSION`); a file of another major version is refused.
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from anodefree import __version__
from anodefree.errors import ConfigError
from anodefree.provenance import CalculatorProvenance, stable_hash

SCHEMA_VERSION = "1.0"
"""Version of the continuum parameter schema: ``major.minor``; readers refuse another major."""

BOLTZMANN_EV_PER_K = 8.617333262e-5
"""Boltzmann constant (eV/K), CODATA 2018."""


class ContinuumExportError(ConfigError):
    """A continuum parameter file is missing, malformed, or of another schema version."""


# --------------------------------------------------------------------------------------------
# Sources
# --------------------------------------------------------------------------------------------


class ComputedSource(BaseModel):
    """A value derived by anodefree from calculations in the results store."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["computed"] = Field(
        "computed", description="Discriminator: the value was computed (no units)."
    )
    provenance: CalculatorProvenance = Field(
        description="Calculator (engine, version, model, settings) of every energy behind the "
        "value (no units)."
    )
    job_ids: list[str] = Field(
        min_length=1,
        description="Ids (uuids) of the jobflow jobs whose outputs the value was derived from "
        "(no units).",
    )
    method: str = Field(
        min_length=1,
        description="How the value was derived, e.g. 'average voltage of the most Li-rich "
        "two-phase region of the Li-Ag convex hull' (no units).",
    )
    note: str | None = Field(None, description="Free-text remark (no units).")

    @property
    def summary(self) -> str:
        """One-line description, e.g. ``computed (chgnet 0.4.0 (0.3.0), 7 jobs)``."""
        return f"computed ({self.provenance.label}, {len(self.job_ids)} jobs)"


class SuppliedSource(BaseModel):
    """A value supplied by the user: measured, from the literature, or an assumption."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["supplied"] = Field(
        "supplied", description="Discriminator: the value was supplied (no units)."
    )
    note: str = Field(
        min_length=1,
        description="What the value is and where it comes from (no units).",
    )
    reference: str | None = Field(
        None, description="Citation or DOI of the value, when there is one (no units)."
    )
    assumption: bool = Field(
        default=False,
        description="True when the value is an assumption of the model rather than a "
        "measurement or a calculation (no units).",
    )

    @property
    def summary(self) -> str:
        """One-line description, e.g. ``assumption: symmetric transfer``."""
        return f"{'assumption' if self.assumption else 'supplied'}: {self.note}"


ParameterSource = Annotated[ComputedSource | SuppliedSource, Field(discriminator="kind")]


class SourcedValue(BaseModel):
    """A number and where it comes from; its unit is given by the field that holds it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    value: float = Field(description="The number, in the unit of the enclosing field.")
    source: ParameterSource = Field(description="Where the number comes from (no units).")

    @field_validator("value")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError(f"must be a finite number, got {value!r}")
        return value


def supplied(
    value: float, note: str, *, reference: str | None = None, assumption: bool = False
) -> SourcedValue:
    """Build a :class:`SourcedValue` for a user-supplied number.

    Parameters
    ----------
    value
        The number, in the unit of the field it goes into.
    note
        What the value is and where it comes from.
    reference
        Citation or DOI.
    assumption
        True when the value is an assumption rather than a measurement.

    Returns
    -------
    SourcedValue
        The value with a :class:`SuppliedSource`.
    """
    return SourcedValue(
        value=value,
        source=SuppliedSource(note=note, reference=reference, assumption=assumption),
    )


# --------------------------------------------------------------------------------------------
# Alloy delithiation onsets
# --------------------------------------------------------------------------------------------


class VoltagePlateau(BaseModel):
    """One two-phase region of a computed voltage profile (a segment of the convex hull)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    li_fraction_rich: float = Field(
        ge=0.0, le=1.0, description="Li atomic fraction at the Li-rich end (dimensionless)."
    )
    li_fraction_poor: float = Field(
        ge=0.0, le=1.0, description="Li atomic fraction at the Li-poor end (dimensionless)."
    )
    voltage: float = Field(
        description="Average voltage of the region, V = -dE/dx per Li (V vs Li+/Li)."
    )
    phases: list[str] = Field(
        default_factory=list,
        description="Reduced formulas of the two end phases, Li-rich first (no units).",
    )

    @model_validator(mode="after")
    def _ordered(self) -> VoltagePlateau:
        if not self.li_fraction_rich > self.li_fraction_poor:
            raise ValueError(
                f"li_fraction_rich ({self.li_fraction_rich}) must exceed li_fraction_poor "
                f"({self.li_fraction_poor})"
            )
        return self


class AlloyOnset(BaseModel):
    """The potential at which an alloy interlayer starts to release Li on delithiation."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    alloy: str = Field(min_length=1, description="Alloy system, e.g. 'Li-Ag' (no units).")
    onset: float = Field(
        ge=0.0,
        le=5.0,
        description="Delithiation onset of the lithiated alloy (V vs Li+/Li).",
    )
    source: ParameterSource = Field(description="Where the onset comes from (no units).")
    label: str | None = Field(
        None,
        description="Label in plots and tables; defaults to the alloy and the kind of source "
        "(no units).",
    )
    voltage_profile: list[VoltagePlateau] | None = Field(
        None,
        description="The computed voltage profile the onset was taken from, Li-rich first "
        "(V vs Li+/Li); None for supplied onsets.",
    )

    @property
    def display_label(self) -> str:
        """The label, or ``'<alloy> (<engine> hull)'`` / ``'<alloy> (supplied)'``."""
        if self.label:
            return self.label
        if isinstance(self.source, ComputedSource):
            return f"{self.alloy} ({self.source.provenance.engine})"
        return f"{self.alloy} (supplied)"

    @classmethod
    def from_voltage_profile(
        cls,
        alloy: str,
        plateaus: list[VoltagePlateau],
        provenance: CalculatorProvenance,
        job_ids: list[str],
        *,
        label: str | None = None,
        note: str | None = None,
    ) -> AlloyOnset:
        """Take the onset from a computed voltage profile.

        Delithiation of the fully lithiated alloy starts in its most Li-rich two-phase
        region, so the onset is that region's average voltage. Along a convex hull the
        voltage rises as Li is removed; a profile that violates this is refused.

        Parameters
        ----------
        alloy
            Alloy system, e.g. ``"Li-Ag"``.
        plateaus
            The two-phase regions of the hull, in any order.
        provenance
            Calculator of every energy behind the hull.
        job_ids
            Ids of the jobs whose energies built the hull.
        label
            Label in plots and tables.
        note
            Free-text remark.

        Returns
        -------
        AlloyOnset
            The onset with a :class:`ComputedSource` and the profile attached.

        Raises
        ------
        ContinuumExportError
            If the profile is empty or its voltage falls as Li is removed.
        """
        if not plateaus:
            raise ContinuumExportError(f"{alloy}: empty voltage profile, cannot take an onset")
        ordered = sorted(plateaus, key=lambda p: p.li_fraction_rich, reverse=True)
        for richer, poorer in itertools.pairwise(ordered):
            if poorer.voltage < richer.voltage - 1e-9:
                raise ContinuumExportError(
                    f"{alloy}: voltage profile is not that of a convex hull: "
                    f"{poorer.voltage:.4f} V at x_Li <= {poorer.li_fraction_rich:.3f} is below "
                    f"{richer.voltage:.4f} V at x_Li <= {richer.li_fraction_rich:.3f}"
                )
        source = ComputedSource(
            provenance=provenance,
            job_ids=job_ids,
            method="average voltage of the most Li-rich two-phase region of the convex hull",
            note=note,
        )
        return cls(
            alloy=alloy,
            onset=ordered[0].voltage,
            source=source,
            label=label,
            voltage_profile=ordered,
        )


def measured_onsets() -> list[AlloyOnset]:
    """Return the measured delithiation onsets quoted by the reference study.

    Returns
    -------
    list of AlloyOnset
        Li-Ag 0.05 V and Li-Au 0.07 V (V vs Li+/Li), as supplied values.
    """
    return [
        AlloyOnset(
            alloy="Li-Ag",
            onset=0.05,
            label="Li-Ag (measured)",
            source=SuppliedSource(
                note="measured delithiation onset of lithiated Ag quoted by the reference "
                "continuum study (../shared/science.md, 'about 0.05 V')",
                reference="Sandoval et al.",
            ),
        ),
        AlloyOnset(
            alloy="Li-Au",
            onset=0.07,
            label="Li-Au (measured)",
            source=SuppliedSource(
                note="measured delithiation onset of lithiated Au quoted by the reference "
                "continuum study (../shared/science.md, 'about 0.07 V')",
                reference="Sandoval et al.",
            ),
        ),
    ]


# --------------------------------------------------------------------------------------------
# Solute diffusivities
# --------------------------------------------------------------------------------------------


class SoluteDiffusivity(BaseModel):
    """Diffusivity of a substitutional solute in the Li host, at one T or as an Arrhenius law.

    Give either ``diffusivity`` at ``temperature``, or ``prefactor`` and
    ``activation_energy`` (D = D0 exp(-E_a / kT), with E_a = E_f + E_m of the vacancy
    mechanism).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    solute: str = Field(min_length=1, description="Solute element, e.g. 'Ag' (no units).")
    host: str = Field("Li", min_length=1, description="Host metal (no units).")
    diffusivity: float | None = Field(
        None, gt=0.0, description="Diffusivity at `temperature` (cm^2/s)."
    )
    temperature: float | None = Field(
        None, gt=0.0, description="Temperature at which `diffusivity` holds (K)."
    )
    prefactor: float | None = Field(None, gt=0.0, description="Arrhenius prefactor D0 (cm^2/s).")
    activation_energy: float | None = Field(
        None, ge=0.0, description="Arrhenius activation energy E_a = E_f + E_m (eV)."
    )
    source: ParameterSource = Field(description="Where the diffusivity comes from (no units).")

    @model_validator(mode="after")
    def _one_form(self) -> SoluteDiffusivity:
        fixed = self.diffusivity is not None or self.temperature is not None
        arrhenius = self.prefactor is not None or self.activation_energy is not None
        if fixed == arrhenius:
            raise ValueError(
                f"{self.solute} in {self.host}: give either diffusivity and temperature, or "
                "prefactor and activation_energy (exactly one of the two forms)"
            )
        if fixed and (self.diffusivity is None or self.temperature is None):
            raise ValueError(f"{self.solute} in {self.host}: diffusivity needs a temperature")
        if arrhenius and (self.prefactor is None or self.activation_energy is None):
            raise ValueError(f"{self.solute} in {self.host}: prefactor needs an activation_energy")
        return self

    def at(self, temperature: float) -> float:
        """Diffusivity at a temperature (cm^2/s).

        Parameters
        ----------
        temperature
            Temperature (K).

        Returns
        -------
        float
            D(T) (cm^2/s).

        Raises
        ------
        ContinuumExportError
            If only a single-temperature value is known and ``temperature`` differs from it
            by more than 0.01 K.
        """
        if self.prefactor is not None and self.activation_energy is not None:
            return self.prefactor * math.exp(
                -self.activation_energy / (BOLTZMANN_EV_PER_K * temperature)
            )
        assert self.diffusivity is not None
        assert self.temperature is not None
        if abs(self.temperature - temperature) > 0.01:
            raise ContinuumExportError(
                f"diffusivity of {self.solute} in {self.host} is given at "
                f"{self.temperature} K only, not at {temperature} K; give prefactor and "
                "activation_energy instead"
            )
        return self.diffusivity


# --------------------------------------------------------------------------------------------
# The document
# --------------------------------------------------------------------------------------------


def _default_conductivity() -> SourcedValue:
    return supplied(
        1.8e-3,
        "Li-ion conductivity of argyrodite Li6PS5Cl used by the reference continuum study "
        "(../shared/science.md)",
        reference="Sandoval et al.",
    )


def _default_exchange_current() -> SourcedValue:
    return supplied(
        1.0,
        "order of magnitude of a fresh Li|argyrodite contact: charge-transfer resistance "
        "RT/(F i0) = 26 Ohm cm^2 at 298 K",
        assumption=True,
    )


def _default_alpha(which: str) -> SourcedValue:
    return supplied(0.5, f"symmetric one-electron transfer ({which})", assumption=True)


def _default_temperature() -> SourcedValue:
    return supplied(298.15, "room temperature", assumption=True)


class ContinuumParameters(BaseModel):
    """Parameters of the continuum model of current constriction at a stripping Li island."""

    model_config = ConfigDict(extra="forbid")

    schema_version: str = Field(
        SCHEMA_VERSION, description="Version of this schema, 'major.minor' (no units)."
    )
    conductivity: SourcedValue = Field(
        default_factory=_default_conductivity,
        description="Li-ion conductivity kappa of the electrolyte (S/cm).",
    )
    exchange_current_density: SourcedValue = Field(
        default_factory=_default_exchange_current,
        description="Exchange current density i0 of the Li|electrolyte interface (mA/cm^2).",
    )
    alpha_anodic: SourcedValue = Field(
        default_factory=lambda: _default_alpha("anodic"),
        description="Anodic transfer coefficient alpha_a, in (0, 1] (dimensionless).",
    )
    alpha_cathodic: SourcedValue = Field(
        default_factory=lambda: _default_alpha("cathodic"),
        description="Cathodic transfer coefficient alpha_c, in (0, 1] (dimensionless).",
    )
    temperature: SourcedValue = Field(
        default_factory=_default_temperature, description="Temperature T (K)."
    )
    domain_width: float = Field(
        50.0, gt=0.0, description="Width W of the electrolyte domain, x direction (um)."
    )
    domain_height: float = Field(
        15.0,
        gt=0.0,
        description="Height H of the electrolyte domain, between the Li island and the "
        "surface carrying the applied current (um).",
    )
    onsets: list[AlloyOnset] = Field(
        default_factory=measured_onsets,
        description="Delithiation onsets of the alloy interlayers to compare the interfacial "
        "overpotential with (V vs Li+/Li).",
    )
    diffusivities: list[SoluteDiffusivity] = Field(
        default_factory=list,
        description="Solute diffusivities for the interdiffusion length sqrt(4 D t) (cm^2/s).",
    )
    note: str | None = Field(None, description="Free-text remark (no units).")
    created_by: str = Field(
        default_factory=lambda: f"anodefree {__version__}",
        description="Program and version that wrote the file (no units).",
    )

    @field_validator("schema_version")
    @classmethod
    def _known_major(cls, version: str) -> str:
        major = version.split(".", 1)[0]
        if major != SCHEMA_VERSION.split(".", 1)[0]:
            raise ValueError(
                f"schema version {version!r} is not readable by this anodefree "
                f"(reads {SCHEMA_VERSION.split('.', 1)[0]}.x)"
            )
        return version

    @field_validator("conductivity", "exchange_current_density", "temperature")
    @classmethod
    def _positive(cls, quantity: SourcedValue) -> SourcedValue:
        if quantity.value <= 0.0:
            raise ValueError(f"must be > 0, got {quantity.value}")
        return quantity

    @field_validator("alpha_anodic", "alpha_cathodic")
    @classmethod
    def _transfer_coefficient(cls, quantity: SourcedValue) -> SourcedValue:
        if not 0.0 < quantity.value <= 1.0:
            raise ValueError(f"must lie in (0, 1], got {quantity.value}")
        return quantity

    @model_validator(mode="after")
    def _unique_labels(self) -> ContinuumParameters:
        labels = [onset.display_label for onset in self.onsets]
        duplicates = sorted({label for label in labels if labels.count(label) > 1})
        if duplicates:
            raise ValueError(f"onsets: duplicate labels {duplicates}; give each a label")
        return self

    def with_onset(self, onset: AlloyOnset, *, replace_alloy: bool = True) -> ContinuumParameters:
        """Return a copy with one more onset.

        Parameters
        ----------
        onset
            The onset to add.
        replace_alloy
            Drop the onsets of the same alloy first (e.g. the measured Li-Ag onset when a
            computed one is added).

        Returns
        -------
        ContinuumParameters
            A new, validated document.
        """
        kept = [o for o in self.onsets if not (replace_alloy and o.alloy == onset.alloy)]
        data = self.model_dump()
        data["onsets"] = [o.model_dump() for o in [*kept, onset]]
        return ContinuumParameters.model_validate(data)

    @property
    def fingerprint(self) -> str:
        """Hash of every value and source (not of ``created_by`` or ``note``)."""
        return stable_hash(self.model_dump(mode="json", exclude={"created_by", "note"}))


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------


def _describe(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        location = ".".join(str(part) for part in item["loc"]) or "(document)"
        value = item.get("input")
        shown = "" if isinstance(value, dict | list) else f" (got {value!r})"
        lines.append(f"  {location}: {item['msg']}{shown}")
    return "\n".join(lines)


def parse_continuum_parameters(data: dict, origin: str = "<data>") -> ContinuumParameters:
    """Validate a continuum parameter document given as a dict.

    Parameters
    ----------
    data
        The decoded JSON document.
    origin
        Where the data came from, for the error message.

    Returns
    -------
    ContinuumParameters
        The validated document.

    Raises
    ------
    ContinuumExportError
        Naming every invalid field (dotted path, message and offending value).
    """
    if not isinstance(data, dict):
        raise ContinuumExportError(
            f"{origin}: a continuum parameter file holds a JSON object, got {type(data).__name__}"
        )
    if "schema_version" not in data:
        raise ContinuumExportError(
            f"{origin}: schema_version is missing (this anodefree writes {SCHEMA_VERSION!r})"
        )
    try:
        return ContinuumParameters.model_validate(data)
    except ValidationError as error:
        raise ContinuumExportError(
            f"{origin}: invalid continuum parameter file:\n{_describe(error)}"
        ) from error


def write_continuum_parameters(parameters: ContinuumParameters, path: str | Path) -> Path:
    """Write a continuum parameter file (JSON).

    Parameters
    ----------
    parameters
        The document.
    path
        Destination; parent folders are created.

    Returns
    -------
    Path
        The path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(parameters.model_dump_json(indent=2) + "\n")
    return path


def read_continuum_parameters(path: str | Path) -> ContinuumParameters:
    """Read and validate a continuum parameter file.

    Parameters
    ----------
    path
        A file written by :func:`write_continuum_parameters` or by hand.

    Returns
    -------
    ContinuumParameters
        The validated document.

    Raises
    ------
    ContinuumExportError
        If the file is missing, is not JSON, is of another schema major version, or has an
        invalid field (every invalid field is named).
    """
    path = Path(path)
    if not path.is_file():
        raise ContinuumExportError(f"continuum parameter file {path} does not exist")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ContinuumExportError(
            f"{path}: not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})"
        ) from error
    return parse_continuum_parameters(data, origin=str(path))
