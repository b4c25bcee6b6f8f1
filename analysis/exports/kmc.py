"""The kinetic Monte Carlo parameter file: every number the stripping model needs.

One :class:`KmcExport` per system (Li/Li2S, Li-Mg/Li2S, Li-Ag/Li2S, ...) holds the
layer-resolved vacancy formation energies, the solute segregation and solute-vacancy
energies, the divacancy binding, the hop barriers and the attempt frequencies, each as a
small typed quantity that carries its value, its unit and the ids of the jobs that
produced it. The whole document carries one :class:`~anodefree.provenance.CalculatorProvenance`:
the builder that fills it from the results store must check with
:func:`~anodefree.provenance.require_same_calculator` that every source job used the same
calculator and settings, because the model combines all of these numbers.

The file is versioned (:data:`KMC_SCHEMA_VERSION`); :meth:`KmcExport.read` refuses files of
another major version and turns validation errors into a :class:`KmcExportError` that names
each missing or bad field. :meth:`KmcExport.from_numbers` builds a document from plain
numbers (tests, or users who bring their own energetics).

Sign conventions (also in every field description):

- vacancy formation energy E_f(L): E(slab with one Li removed from layer L) - E(slab)
  + mu_Li(bcc), positive; layer 1 (L1) touches the electrolyte;
- solute segregation energy: E(solute in layer L) - E(solute deep in the slab); negative
  means the solute prefers layer L;
- solute-vacancy interaction at neighbour shell k: E_f(vacancy at shell k of the solute)
  - E_f(vacancy far from it); positive means repulsion;
- divacancy binding at shell k: 2 E_f(one vacancy) - E_f(pair at shell k); positive means
  the pair is bound (the lattice model uses the pair interaction -binding);
- interlayer barrier from layer i to layer j: barrier for the vacancy to move from layer i
  to layer j (a Li atom of layer j hops into the vacancy in layer i), with the reverse
  barrier when the NEB provides it.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from anodefree import __version__ as anodefree_version
from anodefree.errors import ConfigError
from anodefree.provenance import CalculatorProvenance

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

KMC_SCHEMA_VERSION = "1.0"
"""Version of the KMC parameter file. Readers accept files of the same major version."""

BCC_FIRST_NEIGHBOURS = 8
"""Coordination number z of the bcc lattice."""


class KmcExportError(ConfigError):
    """A KMC parameter file is missing, malformed or lacks inputs a model run needs."""


class KmcExportFileNotFoundError(KmcExportError, FileNotFoundError):
    """The KMC parameter file does not exist."""


class MissingKmcInputError(KmcExportError):
    """A model run needs inputs the export does not hold; the message names each one."""

    def __init__(self, missing: Sequence[str], context: str) -> None:
        self.missing = list(missing)
        super().__init__(
            f"{context} needs inputs the KMC export does not provide: " + ", ".join(self.missing)
        )


def bcc_shell_distances(lattice_constant: float, n_shells: int) -> list[float]:
    """Radii of the first neighbour shells of the bcc lattice.

    Parameters
    ----------
    lattice_constant
        Cubic lattice constant a, in angstrom.
    n_shells
        Number of shells.

    Returns
    -------
    list[float]
        Shell radii in angstrom: sqrt(3)/2 a, a, sqrt(2) a, sqrt(11)/2 a, sqrt(3) a, ...
    """
    # Lattice vectors (a/2)(h, k, l) with h, k, l all even or all odd.
    squares: set[int] = set()
    span = 2 * n_shells + 2
    for h in range(-span, span + 1):
        for k in range(-span, span + 1):
            for m in range(-span, span + 1):
                if (h % 2 == k % 2 == m % 2) and (h, k, m) != (0, 0, 0):
                    squares.add(h * h + k * k + m * m)
    return [0.5 * lattice_constant * math.sqrt(s) for s in sorted(squares)[:n_shells]]


class _Quantity(BaseModel):
    """A number with its unit and the ids of the jobs that produced it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    value: float = Field(description="The value, in the unit of the `unit` field.")
    source_job_ids: list[str] = Field(
        default_factory=list,
        description="Ids (jobflow uuids) of the jobs whose outputs give this number; empty "
        "only for numbers a user supplied.",
    )
    note: str | None = Field(None, description="Free text: method, cell, convergence remark.")

    @field_validator("value")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError(f"must be a finite number, got {value!r}")
        return value


class Energy(_Quantity):
    """An energy in eV."""

    unit: Literal["eV"] = Field("eV", description="Unit of `value`: electronvolt.")


class Frequency(_Quantity):
    """A frequency in Hz (1/s)."""

    unit: Literal["Hz"] = Field("Hz", description="Unit of `value`: hertz (1/s).")

    @field_validator("value")
    @classmethod
    def _positive(cls, value: float) -> float:
        if value <= 0:
            raise ValueError(f"an attempt frequency must be positive, got {value!r} Hz")
        return value


class Length(_Quantity):
    """A length in angstrom."""

    unit: Literal["angstrom"] = Field("angstrom", description="Unit of `value`: angstrom.")

    @field_validator("value")
    @classmethod
    def _positive(cls, value: float) -> float:
        if value <= 0:
            raise ValueError(f"a length must be positive, got {value!r} angstrom")
        return value


class LayerEnergy(Energy):
    """An energy (eV) that belongs to one metal layer counted from the electrolyte."""

    layer: int = Field(
        ge=1, description="Metal layer index; 1 is the layer touching the electrolyte."
    )


class ShellEnergy(Energy):
    """A pair energy (eV) at one bcc neighbour shell."""

    shell: int = Field(ge=1, description="bcc neighbour shell: 1 first neighbours, 2 second, ...")
    distance: float | None = Field(
        None, gt=0, description="Pair distance in the relaxed cell, in angstrom (informative)."
    )


class InterlayerBarrier(BaseModel):
    """A vacancy hop barrier between two adjacent layers near the electrolyte (eV)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    from_layer: int = Field(
        ge=1, description="Layer the vacancy leaves (1 touches the electrolyte)."
    )
    to_layer: int = Field(ge=1, description="Layer the vacancy enters; adjacent to `from_layer`.")
    forward: Energy = Field(
        description="Barrier of the vacancy move from_layer -> to_layer, in eV."
    )
    reverse: Energy | None = Field(
        None,
        description="Barrier of the reverse move (to_layer -> from_layer), in eV, when the NEB "
        "gives it; the kinetically resolved barrier is then (forward + reverse) / 2.",
    )

    @model_validator(mode="after")
    def _adjacent(self) -> InterlayerBarrier:
        if abs(self.from_layer - self.to_layer) != 1:
            raise ValueError(
                f"from_layer={self.from_layer} and to_layer={self.to_layer} are not adjacent layers"
            )
        return self


class VacancyEnergetics(BaseModel):
    """Vacancy formation energies by layer and divacancy binding, in eV."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    formation_by_layer: list[LayerEnergy] = Field(
        description="Vacancy formation energy E_f(L) in eV for layers 1..n counted from the "
        "electrolyte, against the chemical potential of bcc Li; layers 1..n without gaps."
    )
    formation_bulk: Energy = Field(
        description="Vacancy formation energy in eV of the bulk-like interior (deeper than the "
        "listed layers), against bcc Li."
    )
    divacancy_binding_bulk: list[ShellEnergy] = Field(
        default_factory=list,
        description="Divacancy binding in eV in the bulk by neighbour shell: "
        "2 E_f(single) - E_f(pair); positive means bound. Shells not listed bind by 0 eV.",
    )
    divacancy_binding_interface: list[ShellEnergy] = Field(
        default_factory=list,
        description="Divacancy binding in eV for pairs with at least one vacancy in layer 1, "
        "by shell; positive means bound. Empty: the model falls back to the bulk values.",
    )

    @field_validator("formation_by_layer")
    @classmethod
    def _contiguous_layers(cls, values: list[LayerEnergy]) -> list[LayerEnergy]:
        layers = [entry.layer for entry in values]
        if layers != list(range(1, len(layers) + 1)):
            raise ValueError(f"layers must be 1, 2, ..., n in order without gaps; got {layers}")
        return values

    @field_validator("divacancy_binding_bulk", "divacancy_binding_interface")
    @classmethod
    def _unique_shells(cls, values: list[ShellEnergy]) -> list[ShellEnergy]:
        return _check_unique_shells(values)


class SoluteEnergetics(BaseModel):
    """A substitutional solute (Mg, Ag) in bcc Li: segregation and vacancy interaction, in eV."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    element: str = Field(description="Chemical symbol of the solute, e.g. 'Mg'.")
    atomic_fraction: float = Field(
        ge=0.0,
        lt=1.0,
        description="Nominal solute atomic fraction of the alloy (dimensionless, e.g. 0.03).",
    )
    segregation_by_layer: list[LayerEnergy] = Field(
        default_factory=list,
        description="Segregation energy in eV: E(solute in layer L) - E(solute deep in the "
        "slab); negative means the solute prefers layer L. Layers not listed: 0 eV.",
    )
    vacancy_interaction_bulk: list[ShellEnergy] = Field(
        default_factory=list,
        description="Solute-vacancy interaction in eV in the bulk by neighbour shell: "
        "E_f(vacancy at shell k of the solute) - E_f(far); positive means repulsion.",
    )
    vacancy_interaction_interface: list[ShellEnergy] = Field(
        default_factory=list,
        description="Solute-vacancy interaction in eV for pairs with at least one member in "
        "layer 1, by shell; positive means repulsion. Empty: the model falls back to bulk.",
    )

    @field_validator("vacancy_interaction_bulk", "vacancy_interaction_interface")
    @classmethod
    def _unique_shells(cls, values: list[ShellEnergy]) -> list[ShellEnergy]:
        return _check_unique_shells(values)

    @field_validator("segregation_by_layer")
    @classmethod
    def _unique_layers(cls, values: list[LayerEnergy]) -> list[LayerEnergy]:
        layers = [entry.layer for entry in values]
        if len(set(layers)) != len(layers):
            raise ValueError(f"a layer is listed twice: {layers}")
        return values


class HopBarriers(BaseModel):
    """Migration barriers from climbing-image NEB, in eV."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    li_vacancy_bulk: Energy = Field(
        description="Barrier in eV of a Li hop into a nearest-neighbour vacancy in bulk bcc Li."
    )
    li_vacancy_near_solute: Energy | None = Field(
        None,
        description="Barrier in eV of a Li hop into a vacancy when a solute is a first "
        "neighbour of the initial or the final site (kinetically resolved: the mean of the "
        "two directions if they differ).",
    )
    solute_vacancy_exchange: Energy | None = Field(
        None, description="Barrier in eV of a solute hop into a nearest-neighbour vacancy."
    )
    interlayer: list[InterlayerBarrier] = Field(
        default_factory=list,
        description="Vacancy hop barriers in eV between layers near the electrolyte "
        "(L1->L2, L2->L3, ...); missing pairs fall back to the bulk barrier.",
    )

    @field_validator("interlayer")
    @classmethod
    def _unique_pairs(cls, values: list[InterlayerBarrier]) -> list[InterlayerBarrier]:
        pairs = [tuple(sorted((b.from_layer, b.to_layer))) for b in values]
        if len(set(pairs)) != len(pairs):
            raise ValueError(f"a layer pair is listed twice: {pairs}")
        return values


class AttemptFrequencies(BaseModel):
    """Attempt frequencies (harmonic transition-state theory), in Hz."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    li: Frequency = Field(description="Attempt frequency in Hz of a Li-vacancy exchange.")
    solute: Frequency | None = Field(
        None, description="Attempt frequency in Hz of a solute-vacancy exchange."
    )


class KmcExport(BaseModel):
    """Versioned parameter file of the kinetic Monte Carlo model of stripping (one system)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: str = Field(
        KMC_SCHEMA_VERSION, description="Version of this file format (major.minor)."
    )
    kind: Literal["anodefree.kmc-parameters"] = Field(
        "anodefree.kmc-parameters", description="Document kind, for readers that sniff files."
    )
    system: str = Field(description="System name, e.g. 'Li/Li2S' or 'Li-Mg/Li2S'.")
    host: Literal["Li"] = Field("Li", description="Host metal of the bcc lattice.")
    electrolyte: str | None = Field(
        None, description="Electrolyte (interphase) phase, e.g. 'Li2S'."
    )
    metal_facet: Literal["100", "110"] = Field(
        "100", description="Miller index of the bcc metal facet against the electrolyte."
    )
    source: Literal["workflow", "user"] = Field(
        description="'workflow': every number comes from jobs in a results store and carries "
        "their ids; 'user': numbers supplied by hand."
    )
    calculator: CalculatorProvenance = Field(
        description="The one calculator (engine, version, model, settings) behind every energy."
    )
    created_at: datetime = Field(
        default_factory=lambda: datetime.now(UTC), description="Creation time (UTC, ISO 8601)."
    )
    anodefree_version: str = Field(
        anodefree_version, description="Version of anodefree that wrote the file."
    )
    lattice_constant: Length = Field(
        description="Cubic lattice constant a of bcc Li, in angstrom, from the same calculator."
    )
    vacancy: VacancyEnergetics = Field(description="Vacancy energetics, in eV.")
    solute: SoluteEnergetics | None = Field(
        None, description="Solute energetics in eV; None for pure Li."
    )
    barriers: HopBarriers = Field(description="Hop barriers, in eV.")
    attempt_frequencies: AttemptFrequencies = Field(description="Attempt frequencies, in Hz.")
    notes: list[str] = Field(default_factory=list, description="Free-text remarks.")

    @field_validator("schema_version")
    @classmethod
    def _same_major(cls, version: str) -> str:
        if version.split(".", maxsplit=1)[0] != KMC_SCHEMA_VERSION.split(".", maxsplit=1)[0]:
            raise ValueError(
                f"schema_version {version!r} is not readable by this anodefree "
                f"(reads {KMC_SCHEMA_VERSION.split('.', maxsplit=1)[0]}.x)"
            )
        return version

    @model_validator(mode="after")
    def _workflow_numbers_have_job_ids(self) -> KmcExport:
        if self.source == "workflow":
            lacking = [path for path, quantity in self.quantities() if not quantity.source_job_ids]
            if lacking:
                raise ValueError(
                    "source='workflow' but these numbers carry no source_job_ids: "
                    + ", ".join(lacking)
                )
        return self

    # ------------------------------------------------------------------ queries

    def quantities(self) -> list[tuple[str, _Quantity]]:
        """Every number of the document with its dotted field path.

        Returns
        -------
        list[tuple[str, _Quantity]]
            Pairs (path, quantity), e.g. ``("vacancy.formation_by_layer[0]", Energy(...))``.
        """
        found: list[tuple[str, _Quantity]] = []

        def walk(node: object, path: str) -> None:
            if isinstance(node, _Quantity):
                found.append((path, node))
            elif isinstance(node, BaseModel):
                for name in type(node).model_fields:
                    if name == "calculator":
                        continue
                    walk(getattr(node, name), f"{path}.{name}" if path else name)
            elif isinstance(node, list):
                for index, item in enumerate(node):
                    walk(item, f"{path}[{index}]")

        walk(self, "")
        return found

    def job_ids(self) -> list[str]:
        """All source job ids of the document, sorted and without duplicates."""
        return sorted({job for _, q in self.quantities() for job in q.source_job_ids})

    def missing_inputs(self, *, with_solute: bool) -> dict[str, str]:  # noqa: C901 - a flat checklist
        """List the optional inputs a model run would need but the document lacks.

        Parameters
        ----------
        with_solute
            Whether the run places solute atoms.

        Returns
        -------
        dict[str, str]
            Field path -> what the model does without it (``"required"`` when it cannot run).
        """
        missing: dict[str, str] = {}
        if not self.vacancy.divacancy_binding_interface and self.vacancy.divacancy_binding_bulk:
            missing["vacancy.divacancy_binding_interface"] = (
                "falls back to the bulk divacancy binding"
            )
        if not self.barriers.interlayer:
            missing["barriers.interlayer"] = "interlayer hops use the bulk Li-vacancy barrier"
        if with_solute:
            if self.solute is None:
                missing["solute"] = "required"
                return missing
            if self.barriers.solute_vacancy_exchange is None:
                missing["barriers.solute_vacancy_exchange"] = "required"
            if not self.solute.vacancy_interaction_bulk:
                missing["solute.vacancy_interaction_bulk"] = "required"
            if not self.solute.segregation_by_layer:
                missing["solute.segregation_by_layer"] = "solute energy taken equal in every layer"
            if not self.solute.vacancy_interaction_interface:
                missing["solute.vacancy_interaction_interface"] = (
                    "falls back to the bulk solute-vacancy interaction"
                )
            if self.barriers.li_vacancy_near_solute is None:
                missing["barriers.li_vacancy_near_solute"] = (
                    "Li hops next to a solute use the bulk Li-vacancy barrier"
                )
            if self.attempt_frequencies.solute is None:
                missing["attempt_frequencies.solute"] = "solute hops use the Li attempt frequency"
        return missing

    # ------------------------------------------------------------------ files

    def write(self, path: str | Path) -> Path:
        """Write the document as indented JSON.

        Parameters
        ----------
        path
            Destination file; parent folders are created.

        Returns
        -------
        Path
            The path written.
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.model_dump_json(indent=2) + "\n")
        return path

    @classmethod
    def read(cls, path: str | Path) -> KmcExport:
        """Read and validate a KMC parameter file.

        Parameters
        ----------
        path
            A JSON file written by :meth:`write` (or by hand, following the schema).

        Returns
        -------
        KmcExport
            The validated document.

        Raises
        ------
        KmcExportFileNotFoundError
            If the file does not exist.
        KmcExportError
            If the file is not JSON, has another major schema version, or a field is missing
            or invalid; the message names every offending field.
        """
        path = Path(path)
        if not path.is_file():
            raise KmcExportFileNotFoundError(f"KMC export file not found: {path}")
        try:
            payload = json.loads(path.read_text())
        except json.JSONDecodeError as error:
            raise KmcExportError(f"{path} is not valid JSON: {error}") from error
        return cls.from_dict(payload, origin=str(path))

    @classmethod
    def from_dict(cls, payload: object, origin: str = "KMC export") -> KmcExport:
        """Validate a decoded JSON payload.

        Parameters
        ----------
        payload
            The decoded JSON object.
        origin
            Where the payload came from, for error messages.

        Returns
        -------
        KmcExport
            The validated document.
        """
        if not isinstance(payload, dict):
            raise KmcExportError(f"{origin}: expected a JSON object, got {type(payload).__name__}")
        try:
            return cls.model_validate(payload)
        except ValidationError as error:
            raise KmcExportError(_describe_validation_error(error, origin)) from error

    # ------------------------------------------------------------------ plain numbers

    @classmethod
    def from_numbers(
        cls,
        *,
        system: str,
        lattice_constant: float,
        vacancy_formation_by_layer: Sequence[float],
        vacancy_formation_bulk: float,
        li_hop_barrier: float,
        attempt_frequency: float,
        metal_facet: Literal["100", "110"] = "100",
        electrolyte: str | None = None,
        divacancy_binding_bulk: Mapping[int, float] | None = None,
        divacancy_binding_interface: Mapping[int, float] | None = None,
        solute: str | None = None,
        solute_fraction: float = 0.0,
        segregation_by_layer: Sequence[float] = (),
        solute_vacancy_bulk: Mapping[int, float] | None = None,
        solute_vacancy_interface: Mapping[int, float] | None = None,
        li_hop_barrier_near_solute: float | None = None,
        solute_hop_barrier: float | None = None,
        interlayer_barriers: Mapping[tuple[int, int], float | tuple[float, float]] | None = None,
        solute_attempt_frequency: float | None = None,
        calculator: CalculatorProvenance | None = None,
        notes: Sequence[str] = (),
    ) -> KmcExport:
        """Build a document from plain numbers (eV, Hz, angstrom), without job ids.

        Parameters
        ----------
        system
            System name.
        lattice_constant
            bcc lattice constant a in angstrom.
        vacancy_formation_by_layer
            E_f of layers 1, 2, ... in eV.
        vacancy_formation_bulk
            E_f of the interior in eV.
        li_hop_barrier
            Li-vacancy hop barrier in bulk, eV.
        attempt_frequency
            Li attempt frequency, Hz.
        metal_facet
            bcc facet against the electrolyte.
        electrolyte
            Electrolyte phase name.
        divacancy_binding_bulk, divacancy_binding_interface
            Shell -> binding energy in eV (positive = bound).
        solute
            Solute element, or None for pure Li.
        solute_fraction
            Solute atomic fraction.
        segregation_by_layer
            Segregation energies of layers 1, 2, ... in eV (negative = solute prefers it).
        solute_vacancy_bulk, solute_vacancy_interface
            Shell -> solute-vacancy interaction in eV (positive = repulsion).
        li_hop_barrier_near_solute
            Li hop barrier next to a solute, eV.
        solute_hop_barrier
            Solute-vacancy exchange barrier, eV.
        interlayer_barriers
            (from_layer, to_layer) -> forward barrier, or (forward, reverse), in eV.
        solute_attempt_frequency
            Solute attempt frequency, Hz.
        calculator
            Provenance of the numbers; default: a 'user' placeholder.
        notes
            Free-text remarks.

        Returns
        -------
        KmcExport
            A validated document with ``source='user'``.
        """
        distances = bcc_shell_distances(lattice_constant, 12)

        def shells(mapping: Mapping[int, float] | None) -> list[dict]:
            if not mapping:
                return []
            return [
                {
                    "shell": int(k),
                    "value": float(v),
                    "distance": distances[k - 1] if 1 <= k <= len(distances) else None,
                }
                for k, v in sorted(mapping.items())
            ]

        def layers(values: Sequence[float]) -> list[dict]:
            return [{"layer": i + 1, "value": float(v)} for i, v in enumerate(values)]

        interlayer = []
        for (i, j), barrier in (interlayer_barriers or {}).items():
            forward, reverse = barrier if isinstance(barrier, tuple) else (barrier, None)
            interlayer.append(
                {
                    "from_layer": i,
                    "to_layer": j,
                    "forward": {"value": forward},
                    "reverse": None if reverse is None else {"value": reverse},
                }
            )
        payload = {
            "system": system,
            "electrolyte": electrolyte,
            "metal_facet": metal_facet,
            "source": "user",
            "calculator": (
                calculator or CalculatorProvenance(engine="user", package="user", version="n/a")
            ).model_dump(),
            "lattice_constant": {"value": lattice_constant},
            "vacancy": {
                "formation_by_layer": layers(vacancy_formation_by_layer),
                "formation_bulk": {"value": vacancy_formation_bulk},
                "divacancy_binding_bulk": shells(divacancy_binding_bulk),
                "divacancy_binding_interface": shells(divacancy_binding_interface),
            },
            "solute": None
            if solute is None
            else {
                "element": solute,
                "atomic_fraction": solute_fraction,
                "segregation_by_layer": layers(segregation_by_layer),
                "vacancy_interaction_bulk": shells(solute_vacancy_bulk),
                "vacancy_interaction_interface": shells(solute_vacancy_interface),
            },
            "barriers": {
                "li_vacancy_bulk": {"value": li_hop_barrier},
                "li_vacancy_near_solute": None
                if li_hop_barrier_near_solute is None
                else {"value": li_hop_barrier_near_solute},
                "solute_vacancy_exchange": None
                if solute_hop_barrier is None
                else {"value": solute_hop_barrier},
                "interlayer": interlayer,
            },
            "attempt_frequencies": {
                "li": {"value": attempt_frequency},
                "solute": None
                if solute_attempt_frequency is None
                else {"value": solute_attempt_frequency},
            },
            "notes": list(notes),
        }
        return cls.from_dict(payload, origin=f"numbers for {system!r}")


def _check_unique_shells(values: list[ShellEnergy]) -> list[ShellEnergy]:
    shells = [entry.shell for entry in values]
    if len(set(shells)) != len(shells):
        raise ValueError(f"a neighbour shell is listed twice: {shells}")
    return values


def _describe_validation_error(error: ValidationError, origin: str) -> str:
    lines = []
    for item in error.errors():
        location = ""
        for part in item["loc"]:
            location += (
                f"[{part}]" if isinstance(part, int) else (f".{part}" if location else str(part))
            )
        kind = "missing" if item["type"] == "missing" else "invalid"
        lines.append(f"  {location or '<document>'}: {kind}: {item['msg']}")
    return f"{origin}: {error.error_count()} bad field(s) in the KMC export:\n" + "\n".join(lines)
