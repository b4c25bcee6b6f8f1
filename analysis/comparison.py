"""Side-by-side comparison of finished properties from several calculators and published PBE.

For each validation property (bcc Li lattice constant, Li vacancy formation energy, Li
hop barrier, Li(100) surface energy, B2 LiAg formation energy) the comparison takes the
*finished* value each calculator produced - every one derived from energies of that
calculator alone - and puts them beside each other and beside the published value, with
absolute and relative differences. No energy of one calculator ever enters a quantity
of another: only finished quantities are compared.

Within one column every value must come from one code and model
(:class:`~anodefree.errors.MixedCalculatorError` otherwise); a property computed with
other settings of that code is kept and its differing settings are listed under the
table. A property a calculator has not computed is shown as missing, never as zero.

>>> doc = build_comparison({"chgnet": chgnet_documents, "gpaw": gpaw_documents})  # doctest: +SKIP
>>> print(doc.to_markdown())  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import combinations
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from anodefree.analysis.references import EXPERIMENTAL_LATTICE, PBE_REFERENCE, ReferenceValue
from anodefree.errors import AnodefreeError, MixedCalculatorError
from anodefree.provenance import CalculatorProvenance, require_same_calculator

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from jobflow import JobStore


@dataclass(frozen=True)
class PropertySpec:
    """A property of the comparison: name, unit, published value and extractor."""

    key: str
    quantity: str
    unit: str
    reference: ReferenceValue | None
    reference_kind: str | None  # "PBE" or "experiment"
    extract: Callable[[BaseModel], tuple[float, bool, str] | None]


def _a0_li(doc: BaseModel) -> tuple[float, bool, str] | None:
    if type(doc).__name__ != "BulkReferenceDocument" or "Li" not in doc.phases:
        return None
    phase = doc.phases["Li"]
    return phase.a, not phase.converged, "relaxed bcc Li (conventional cell)"


def _vacancy(doc: BaseModel) -> tuple[float, bool, str] | None:
    if type(doc).__name__ != "BulkVacancyDocument" or doc.system != "Li":
        return None
    largest = max((s for s in doc.sizes if s.converged), key=lambda s: s.n_atoms, default=None)
    size = f"{largest.n_atoms}-site cell" if largest else "no converged cell"
    change = f", size change {doc.size_change:+.3f} eV" if doc.size_change is not None else ""
    note = f"{size}{change}{'' if doc.size_converged else ', not size-converged'}"
    return doc.formation_energy, bool(doc.warnings) or not doc.size_converged, note


def _hop(doc: BaseModel) -> tuple[float, bool, str] | None:
    if type(doc).__name__ != "MigrationBarrierDocument" or doc.kind != "self" or doc.system != "Li":
        return None
    note = f"{doc.n_atoms}-atom ({doc.n_atoms + 1}-site) cell, {len(doc.energies) - 2} images"
    return doc.forward_barrier, bool(doc.warnings) or not doc.neb_converged, note


def _gamma_li100(doc: BaseModel) -> tuple[float, bool, str] | None:
    if type(doc).__name__ != "SurfaceEnergyDocument" or doc.facet != "Li(100)":
        return None
    thickest = doc.slabs[-1].n_planes if doc.slabs else 0
    note = f"up to {thickest} planes{'' if doc.thickness_converged else ', not converged'}"
    return doc.surface_energy, bool(doc.warnings) or not doc.thickness_converged, note


def _liag(doc: BaseModel) -> tuple[float, bool, str] | None:
    name = type(doc).__name__
    if name == "FormationEnergyDocument" and doc.compound == "LiAg" and doc.prototype == "B2":
        return doc.formation_energy_per_atom, bool(doc.warnings), "B2 LiAg, fully relaxed"
    if name == "HullDocument":
        for row in doc.rows:
            if row.label == "LiAg-B2":
                return row.formation_energy_per_atom, bool(doc.warnings), "B2 row of the hull"
    return None


#: The compared properties, in report order.
PROPERTIES: tuple[PropertySpec, ...] = (
    PropertySpec(
        "a0_Li",
        "bcc Li lattice constant a0",
        "A",
        EXPERIMENTAL_LATTICE["Li"]["a"],
        "experiment",
        _a0_li,
    ),
    PropertySpec(
        "vacancy_formation_Li",
        "Li vacancy formation energy E_f (bcc Li)",
        "eV",
        PBE_REFERENCE["vacancy_formation_Li"],
        "PBE",
        _vacancy,
    ),
    PropertySpec(
        "hop_barrier_Li",
        "Li vacancy hop barrier E_m (bcc Li)",
        "eV",
        PBE_REFERENCE["hop_barrier_Li"],
        "PBE",
        _hop,
    ),
    PropertySpec(
        "surface_energy_Li100", "Li(100) surface energy gamma", "J/m^2", None, None, _gamma_li100
    ),
    PropertySpec(
        "formation_energy_LiAg_B2",
        "B2 LiAg formation energy (vs bcc Li, fcc Ag)",
        "eV/atom",
        None,
        None,
        _liag,
    ),
)
PROPERTY_KEYS = tuple(p.key for p in PROPERTIES)


class PropertyValue(BaseModel):
    """One calculator's value of one property."""

    value: float | None = Field(None, description="The value in the row's unit; None if missing.")
    calculator: CalculatorProvenance | None = Field(
        None, description="Calculator (name, version, settings) that produced it."
    )
    source: str | None = Field(None, description="Document class it was read from.")
    note: str = Field("", description="Cell size, convergence or where the value comes from.")
    flagged: bool = Field(
        default=False, description="True if the source document flags an input or a check."
    )

    @property
    def label(self) -> str:
        """Calculator label with version (``missing`` if there is no value)."""
        return self.calculator.label if self.calculator else "missing"


class Difference(BaseModel):
    """``value - reference`` of one column against another column or the published value."""

    column: str = Field(description="Column whose value is compared.")
    against: str = Field(description="Column (or 'published') it is compared with.")
    absolute: float | None = Field(
        None, description="value - reference in the row's unit; None if either is missing."
    )
    percent: float | None = Field(
        None, description="100 (value - reference) / |reference| in %; None if undefined."
    )


class ComparisonRow(BaseModel):
    """One property across calculators."""

    key: str = Field(description="Property key, e.g. 'vacancy_formation_Li'.")
    quantity: str = Field(description="What the property is.")
    unit: str = Field(description="Unit of every value and absolute difference.")
    values: dict[str, PropertyValue] = Field(description="Column label -> value.")
    published: float | None = Field(None, description="Published value in the row's unit.")
    published_kind: str | None = Field(None, description="'PBE' or 'experiment'.")
    published_source: str | None = Field(None, description="Where the published value is from.")
    differences: list[Difference] = Field(
        default_factory=list,
        description="Each column against the published value, then every pair of columns "
        "(later column minus earlier column's reference).",
    )

    def difference(self, column: str, against: str) -> Difference:
        """Return the difference of ``column`` against ``against`` (column or 'published')."""
        for item in self.differences:
            if item.column == column and item.against == against:
                return item
        raise KeyError(f"{self.key}: no difference {column} vs {against}")


class ComparisonDocument(BaseModel):
    """Validation properties from several calculators beside the published values."""

    schema_version: str = Field("1", description="Version of this document's schema.")
    columns: list[str] = Field(description="Column labels (calculator engines), in order.")
    calculators: dict[str, CalculatorProvenance | None] = Field(
        description="The one calculator behind each column (None: no value at all)."
    )
    runs: dict[str, list[str]] = Field(
        default_factory=dict, description="Run ids each column's documents came from."
    )
    rows: list[ComparisonRow] = Field(description="One row per property.")
    warnings: list[str] = Field(default_factory=list, description="Missing values etc.")

    def row(self, key: str) -> ComparisonRow:
        """Return the row of property ``key``."""
        for row in self.rows:
            if row.key == key:
                return row
        raise KeyError(f"no comparison row {key!r}; rows: {', '.join(PROPERTY_KEYS)}")

    def to_markdown(self) -> str:
        """Render the table: values with calculators, published value, differences."""
        head = [*self.columns, "published"]
        lines = [
            "| property | unit | " + " | ".join(head) + " | differences |",
            "|---|---|" + "---:|" * len(head) + "---|",
        ]
        for row in self.rows:
            cells = []
            for column in self.columns:
                item = row.values[column]
                text = "missing" if item.value is None else format_value(item.value, row.unit)
                cells.append(f"{text}{' (flagged)' if item.flagged else ''}")
            published = (
                f"{format_value(row.published, row.unit)} ({row.published_kind})"
                if row.published is not None
                else "-"
            )
            diffs = "; ".join(
                f"{d.column} - {d.against}: {format_value(d.absolute, row.unit, signed=True)}"
                f"{f' ({d.percent:+.0f}%)' if d.percent is not None else ''}"
                for d in row.differences
                if d.absolute is not None
            )
            lines.append(
                f"| {row.quantity} | {row.unit} | {' | '.join(cells)} | {published} | "
                f"{diffs or '-'} |"
            )
        lines.append("")
        for column in self.columns:
            calc = self.calculators.get(column)
            lines.append(
                f"- {column}: {calc.label if calc else 'no values'}"
                + (f", settings `{_settings_text(calc)}`" if calc else "")
                + (f", runs {', '.join(self.runs[column])}" if self.runs.get(column) else "")
            )
            lines += [f"  - {line}" for line in self.settings_differences(column)]
        return "\n".join(lines)

    def settings_differences(self, column: str) -> list[str]:
        """Describe the properties of ``column`` computed with other settings than listed.

        A column keeps one code and model; a property may come from a run with other
        settings (e.g. a k-point check): each such property is named with the settings
        that differ from the column's listed ones.
        """
        listed = self.calculators.get(column)
        if listed is None:
            return []
        lines = []
        for row in self.rows:
            calc = row.values[column].calculator
            if calc is None or calc.settings == listed.settings:
                continue
            changed = {
                k: v
                for k, v in calc.settings.items()
                if listed.settings.get(k) != v and k != "paw_datasets"
            }
            changed.update({k: None for k in listed.settings if k not in calc.settings})
            text = ", ".join(f"{k}={v}" for k, v in changed.items())
            lines.append(f"{row.quantity}: computed with {text}")
        return lines


def _settings_text(calc: CalculatorProvenance) -> str:
    keep = {k: v for k, v in calc.settings.items() if k != "paw_datasets"}
    return ", ".join(f"{k}={v}" for k, v in keep.items())


def format_value(value: float | None, unit: str, signed: bool = False) -> str:
    """Format a value of the table in its unit (``missing`` for None)."""
    if value is None:
        return "missing"
    digits = 3 if unit in {"A", "J/m^2", "eV"} else 4
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def _difference(column: str, against: str, value: float | None, ref: float | None) -> Difference:
    if value is None or ref is None:
        return Difference(column=column, against=against)
    absolute = value - ref
    percent = 100.0 * absolute / abs(ref) if ref != 0 else None
    return Difference(column=column, against=against, absolute=absolute, percent=percent)


def column_values(documents: Sequence[BaseModel]) -> dict[str, PropertyValue]:
    """Read every property from one calculator's documents (the first match wins).

    Pass documents newest first to prefer the latest run.

    Raises
    ------
    MixedCalculatorError
        If the values found come from different calculators or settings.
    """
    found: dict[str, PropertyValue] = {}
    for spec in PROPERTIES:
        for doc in documents:
            extracted = spec.extract(doc)
            if extracted is None:
                continue
            value, flagged, note = extracted
            found[spec.key] = PropertyValue(
                value=value,
                calculator=doc.calculator,
                source=type(doc).__name__,
                note=note,
                flagged=flagged,
            )
            break
    calculators = [v.calculator for v in found.values() if v.calculator is not None]
    if calculators:
        require_same_code(calculators, "one column of the comparison")
    return {key: found.get(key, PropertyValue(note="not computed")) for key in PROPERTY_KEYS}


def require_same_code(
    provenances: Sequence[CalculatorProvenance], what: str
) -> CalculatorProvenance:
    """Check that values come from one code: engine, package version and model.

    Settings may differ between properties of one column (each value keeps its own
    calculator record, shown in the table); a different version or model may not.

    Raises
    ------
    MixedCalculatorError
        Naming the two calculators.
    """
    identities = [
        CalculatorProvenance(engine=p.engine, package=p.package, version=p.version, model=p.model)
        for p in provenances
    ]
    try:
        require_same_calculator(identities, what)
    except MixedCalculatorError as exc:
        labels = sorted({p.label for p in provenances})
        raise MixedCalculatorError(f"{exc}; calculators: {', '.join(labels)}") from exc
    return provenances[0]


def build_comparison(
    columns: Mapping[str, Sequence[BaseModel]], runs: Mapping[str, list[str]] | None = None
) -> ComparisonDocument:
    """Compare the finished properties of several calculators and the published values.

    Parameters
    ----------
    columns
        Column label (e.g. the engine name) -> that calculator's property documents,
        newest first.
    runs
        Column label -> run ids the documents came from (recorded only).

    Returns
    -------
    ComparisonDocument
        One row per property; missing values stay ``None``.

    Raises
    ------
    MixedCalculatorError
        If one column's values come from different calculators or settings.
    AnodefreeError
        For no columns.
    """
    if not columns:
        raise AnodefreeError("a comparison needs at least one column of documents")
    values = {label: column_values(docs) for label, docs in columns.items()}
    labels = list(columns)
    calculators: dict[str, CalculatorProvenance | None] = {}
    for label in labels:
        calcs = [v.calculator for v in values[label].values() if v.calculator is not None]
        calculators[label] = calcs[0] if calcs else None
    rows, warnings = [], []
    for spec in PROPERTIES:
        row_values = {label: values[label][spec.key] for label in labels}
        ref = spec.reference.value if spec.reference else None
        differences = (
            [_difference(label, "published", row_values[label].value, ref) for label in labels]
            if ref is not None
            else []
        )
        differences += [
            _difference(b, a, row_values[b].value, row_values[a].value)
            for a, b in combinations(labels, 2)
        ]
        rows.append(
            ComparisonRow(
                key=spec.key,
                quantity=spec.quantity,
                unit=spec.unit,
                values=row_values,
                published=ref,
                published_kind=spec.reference_kind,
                published_source=spec.reference.source if spec.reference else None,
                differences=differences,
            )
        )
        warnings += [
            f"{spec.quantity}: no {label} value"
            for label in labels
            if row_values[label].value is None
        ]
    return ComparisonDocument(
        columns=labels,
        calculators=calculators,
        runs={k: list(v) for k, v in (runs or {}).items()},
        rows=rows,
        warnings=warnings,
    )


def engine_documents(
    stores: JobStore | Sequence[JobStore], engine: str, run_ids: Sequence[str] | None = None
) -> tuple[list[BaseModel], list[str]]:
    """Return the property documents of one engine in one or more stores, newest first.

    Parameters
    ----------
    stores
        Connected JobStores (e.g. the CHGNet campaigns' store and a GPAW store).
    engine
        Engine name (``chgnet``, ``gpaw``, ...), as recorded in every document's calculator.
    run_ids
        Only these runs (default: every run in the stores).

    Returns
    -------
    tuple
        The documents (only those whose calculator is ``engine``) and their run ids. When
        runs of the engine used different codes or models (another version, another
        model file), only documents of the newest one's are kept (the newest run wins;
        pass ``run_ids`` to choose). Different *settings* of one code are kept, each
        value with its own calculator record.
    """
    from monty.json import MontyDecoder

    from anodefree.analysis.results import DOCUMENT_MODULES

    if not isinstance(stores, list | tuple):
        stores = [stores]
    criteria: dict[str, Any] = {
        "output.@module": {"$regex": DOCUMENT_MODULES},
        "output.@class": {"$ne": "CalculationResult"},
        "output.calculator.engine": engine,
        "name": {"$ne": "store_inputs"},
        "metadata.run_id": {"$exists": True},
    }
    if run_ids:
        criteria["metadata.run_id"] = {"$in": list(run_ids)}
    found = []
    for store in stores:
        found += store.query(criteria, properties=["output", "metadata", "completed_at"], load=True)
    found.sort(key=lambda doc: str(doc.get("completed_at") or ""), reverse=True)
    decoder = MontyDecoder()
    documents, runs, code = [], [], None
    for doc in found:
        decoded = decoder.process_decoded(doc["output"])
        calculator = getattr(decoded, "calculator", None)
        if not isinstance(calculator, CalculatorProvenance):
            continue
        identity = (calculator.package, calculator.version, calculator.model)
        code = code or identity
        if identity != code:
            continue
        documents.append(decoded)
        run_id = doc.get("metadata", {}).get("run_id")
        if run_id and run_id not in runs:
            runs.append(run_id)
    return documents, runs


def compare_store(
    stores: JobStore | Sequence[JobStore],
    engines: Sequence[str],
    run_ids: Sequence[str] | None = None,
) -> ComparisonDocument:
    """Build the comparison of ``engines`` from the documents in one or more stores."""
    columns, runs = {}, {}
    for engine in engines:
        columns[engine], runs[engine] = engine_documents(stores, engine, run_ids)
    return build_comparison(columns, runs)


__all__ = [
    "PROPERTIES",
    "ComparisonDocument",
    "ComparisonRow",
    "Difference",
    "MixedCalculatorError",
    "PropertyValue",
    "build_comparison",
    "column_values",
    "compare_store",
    "engine_documents",
]
