"""Tidy tables of stored results: any property, filtered by system, engine, settings and date.

Every filter is a plain MongoDB query over the JobStore, so the same code runs on the
embedded montydb store and on MongoDB; the one exception is the calculator
*fingerprint* (a hash that the store does not hold), which is checked on the decoded
calculator after a query narrowed by engine, version and model.

>>> from anodefree.analysis import queries
>>> queries.property_table(store, kind="vacancy", engine="chgnet", since="7d")
>>> queries.calculations_table(store, system="Li-Mg", settings={"cutoff_A": 4.6})

Property tables are long ("tidy"): one row per number, with ``quantity``, ``value`` and
``unit``; the calculator (label, engine, version, model, fingerprint, settings); the
system; the campaign, run id and job uuid of the document; the job ids of the
calculations behind the number; ``completed_at`` (UTC); ``flagged`` and ``note``; and
one column per *parameter* that identifies the number within its document (e.g.
``n_atoms`` of a vacancy supercell, ``shell`` of a solute-vacancy pair).

Document families plug in by an adapter: a function turning one document into
:class:`PropertyRow` objects, registered with :func:`register_family` in a module of
:mod:`anodefree.analysis.query_adapters` (loaded automatically)::

    @register_family("surface", "SurfaceEnergyDocument", system_field="material")
    def surface_rows(doc: SurfaceEnergyDocument) -> Iterator[PropertyRow]:
        for slab in doc.slabs:
            yield PropertyRow(quantity="surface_energy", value=slab.surface_energy,
                              unit="J/m^2", system=doc.material,
                              parameters={"facet": doc.facet, "n_units": slab.n_units},
                              job_ids=(slab.job_uuid,), flagged=not slab.converged)

A document class without an adapter but with a report section
(:func:`anodefree.analysis.report.register_section`) is still tabled, from its report
rows (``quantity`` is then the report's text label and there are no parameters); its
kind is the snake-case class name without ``Document`` (``AdhesionDocument`` ->
``adhesion``).

Times: jobflow stamps ``completed_at`` in the local time of the machine that ran the
job; tables give it in UTC, and ``since``/``until`` accept datetimes (naive ones are
taken as UTC), dates, ISO strings or ages such as ``"12h"``, ``"7d"``, ``"2w"``.
"""

from __future__ import annotations

import importlib
import json
import logging
import pkgutil
import re
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from anodefree.errors import ConfigError
from anodefree.provenance import CalculatorProvenance
from anodefree.workflows.stores import INDEXED_FIELDS

if TYPE_CHECKING:
    import pandas as pd
    from jobflow import JobStore

logger = logging.getLogger(__name__)

#: Fields the queries of this module filter or sort on; :func:`ensure_query_indexes`
#: declares them as single-field indexes (MongoDB; montydb has no indexes).
QUERY_INDEXES: tuple[str, ...] = tuple(
    dict.fromkeys(
        (
            *INDEXED_FIELDS,
            "metadata.run_id",
            "output.calculator.version",
            "output.calculator.model",
            "output.label",
        )
    )
)

#: Outputs of these modules are anodefree documents.
DOCUMENT_MODULES = r"^anodefree\.analysis\.documents\."
#: jobflow stores a replaced job's output twice; the copy is named "store_inputs".
_NOT_COPIES = {"name": {"$ne": "store_inputs"}}

#: Columns of every property table, in order; parameter columns follow.
PROPERTY_COLUMNS: tuple[str, ...] = (
    "kind",
    "system",
    "quantity",
    "label",
    "value",
    "unit",
    "reference",
    "reference_source",
    "flagged",
    "note",
    "calculator",
    "engine",
    "version",
    "model",
    "fingerprint",
    "settings",
    "campaign",
    "run_id",
    "job_uuid",
    "job_ids",
    "completed_at",
    "document",
)

#: Columns of the calculations table, in order.
CALCULATION_COLUMNS: tuple[str, ...] = (
    "label",
    "system",
    "role",
    "formula",
    "n_atoms",
    "energy",
    "energy_per_atom",
    "converged",
    "flagged",
    "note",
    "max_force",
    "n_ionic_steps",
    "wall_time",
    "task",
    "fmax",
    "calculator",
    "engine",
    "version",
    "model",
    "fingerprint",
    "settings",
    "cache_key",
    "reused",
    "computed_at",
    "campaign",
    "run_id",
    "job_uuid",
    "source_job_uuid",
    "completed_at",
)

_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([mhdw])\s*$")
_AGE_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}

Parameter = str | int | float | bool | None
TimeLike = datetime | date | str


class PropertyRow(BaseModel):
    """One number of a property document, as an adapter reports it."""

    model_config = ConfigDict(frozen=True)

    quantity: str = Field(
        description="Machine-friendly name of the quantity, e.g. 'vacancy_formation_energy'."
    )
    value: float | None = Field(description="The number, in ``unit`` (None if unavailable).")
    unit: str = Field(description="Unit of value and reference, e.g. 'eV', 'A', 'J/m^2'.")
    label: str = Field("", description="Human-readable description of this number.")
    system: str | None = Field(None, description="System the number belongs to, e.g. 'Li-Mg'.")
    parameters: dict[str, Parameter] = Field(
        default_factory=dict,
        description="What identifies the number within its document (cell size, shell, "
        "facet, ...); each becomes a column. Units in the names where they have one "
        "(e.g. 'distance_A').",
    )
    reference: float | None = Field(None, description="Experimental or published value, in unit.")
    reference_source: str | None = Field(None, description="Where the reference comes from.")
    flagged: bool = Field(
        default=False, description="True when an input did not converge or a check failed."
    )
    note: str = Field("", description="Convergence or other remarks.")
    job_ids: tuple[str, ...] = Field(
        (), description="Jobs that computed the energies behind the number."
    )


Adapter = Callable[[Any], Iterable[PropertyRow]]
SystemCriteria = Callable[[Sequence[str]], dict[str, Any]]


@dataclass(frozen=True)
class PropertyFamily:
    """A document class and how it becomes table rows."""

    kind: str
    document_class: str
    adapter: Adapter
    system_criteria: SystemCriteria | None
    description: str = ""


_FAMILIES: dict[str, PropertyFamily] = {}


def register_family(
    kind: str,
    document_class: str,
    *,
    system_field: str | SystemCriteria | None = "system",
    description: str = "",
) -> Callable[[Adapter], Adapter]:
    """Register the adapter of a document family (decorator).

    Parameters
    ----------
    kind
        Name users query by, e.g. ``"vacancy"`` (lower case, underscores).
    document_class
        Class name of the document (the ``@class`` stored with it).
    system_field
        Where the document holds its system, so that a system filter runs in the
        database: a field name (``"system"``, ``"material"``), a function of the
        requested systems returning a MongoDB filter, or ``None`` (documents are then
        filtered on the rows' ``system`` only). Rows are always filtered on their
        ``system`` as well.
    description
        One line shown by ``anodefree results`` without a kind.
    """
    if not re.fullmatch(r"[a-z][a-z0-9_]*", kind):
        raise ValueError(f"family kind {kind!r}: use lower-case letters, digits, underscores")

    if system_field is None or callable(system_field):
        criteria = system_field
    else:
        field = f"output.{system_field}"

        def criteria(systems: Sequence[str]) -> dict[str, Any]:
            return {field: {"$in": list(systems)}}

    def decorate(adapter: Adapter) -> Adapter:
        _FAMILIES[kind] = PropertyFamily(
            kind=kind,
            document_class=document_class,
            adapter=adapter,
            system_criteria=criteria,
            description=description or (adapter.__doc__ or "").strip().split("\n")[0],
        )
        return adapter

    return decorate


def _load_adapters() -> None:
    package = importlib.import_module("anodefree.analysis.query_adapters")
    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{module.name}")


def default_kind(document_class: str) -> str:
    """Kind of a document class without adapter: ``AdhesionDocument`` -> ``adhesion``."""
    name = document_class.removesuffix("Document") or document_class
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def families() -> dict[str, PropertyFamily]:
    """Every registered family by kind (adapters are loaded on first use)."""
    _load_adapters()
    return dict(_FAMILIES)


def _report_families() -> dict[str, PropertyFamily]:
    """Families for document classes that only have a report section."""
    from anodefree.analysis import report

    registered = {f.document_class for f in _FAMILIES.values()}
    out = {}
    for document_class in report.section_builders():
        if document_class in registered:
            continue
        kind = default_kind(document_class)
        out[kind] = PropertyFamily(
            kind=kind,
            document_class=document_class,
            adapter=_report_adapter,
            system_criteria=None,
            description=f"{document_class} (from its report section)",
        )
    return out


def _report_adapter(document: BaseModel) -> list[PropertyRow]:
    from anodefree.analysis.report import build_report

    system = getattr(document, "system", None)
    return [
        PropertyRow(
            quantity=row.quantity,
            label=row.quantity,
            value=row.value,
            unit=row.unit,
            system=system if isinstance(system, str) else None,
            reference=row.reference,
            reference_source=row.reference_source,
            flagged=row.flagged,
            note=row.note,
        )
        for row in build_report("query", [document]).rows
    ]


def known_kinds() -> dict[str, PropertyFamily]:
    """Every kind :func:`property_table` accepts: registered adapters and report sections."""
    adapters = families()  # first: the report fallbacks leave out classes with an adapter
    return {**_report_families(), **adapters}


def _resolve_kinds(kind: str | Sequence[str] | None) -> list[PropertyFamily]:
    known = known_kinds()
    if kind is None:
        return list(known.values())
    by_class = {f.document_class: f for f in known.values()}
    wanted = [kind] if isinstance(kind, str) else list(kind)
    out = []
    for name in wanted:
        family = known.get(name) or by_class.get(name)
        if family is None:
            raise ConfigError(f"unknown result kind {name!r}; known: {', '.join(sorted(known))}")
        out.append(family)
    return out


# ---------------------------------------------------------------------------------------
# Times


def to_utc(value: TimeLike, now: datetime | None = None) -> datetime:
    """Return ``value`` as an aware UTC datetime.

    Parameters
    ----------
    value
        A datetime (naive: UTC), a date (midnight UTC), an ISO string, or an age
        ``"<number><m|h|d|w>"`` (minutes, hours, days, weeks before ``now``).
    now
        Reference time of ages (default: now).

    Raises
    ------
    ConfigError
        If a string is neither an ISO date/time nor an age.
    """
    if hasattr(value, "to_pydatetime"):  # a pandas Timestamp, e.g. from a table
        value = value.to_pydatetime()
    if isinstance(value, str):
        match = _AGE.match(value)
        if match:
            delta = timedelta(**{_AGE_UNITS[match[2]]: float(match[1])})
            return (now or datetime.now(UTC)) - delta
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError as exc:
            raise ConfigError(
                f"time {value!r}: give an ISO date or time (2026-01-31, "
                "2026-01-31T12:00) or an age such as 12h, 7d, 2w"
            ) from exc
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    raise ConfigError(f"time {value!r}: expected a datetime, a date or a string")


def _stamp(value: TimeLike) -> str:
    """Return a time in its stored form: jobflow's local naive ISO string."""
    return to_utc(value).astimezone().replace(tzinfo=None).isoformat()


def _stored_time(value: Any) -> datetime | None:
    """Parse a stored ``completed_at`` (local naive ISO string, or a datetime) into UTC."""
    if isinstance(value, datetime):  # BSON datetimes come back naive in UTC
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if not value or not isinstance(value, str):
        return None
    return datetime.fromisoformat(value).astimezone(UTC)  # naive: the machine's local time


def _bson_time(value: Any) -> datetime | None:
    """Return a datetime of a document in UTC at BSON's millisecond precision.

    BSON stores datetimes in UTC with milliseconds and returns them naive.
    """
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        return None
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


# ---------------------------------------------------------------------------------------
# Criteria


def _as_list(value: str | Sequence[str] | None) -> list[str] | None:
    if value is None:
        return None
    return [value] if isinstance(value, str) else list(value)


def _one_or_in(values: list[str]) -> Any:
    return values[0] if len(values) == 1 else {"$in": values}


def _calculator_criteria(
    engine: str | Sequence[str] | None,
    version: str | None,
    model: str | None,
    settings: Mapping[str, Any] | None,
) -> dict[str, Any]:
    criteria: dict[str, Any] = {}
    engines = _as_list(engine)
    if engines:
        criteria["output.calculator.engine"] = _one_or_in(engines)
    if version is not None:
        criteria["output.calculator.version"] = version
    if model is not None:
        criteria["output.calculator.model"] = model
    for key, value in (settings or {}).items():
        if not key or key.startswith(("$", ".")):
            raise ConfigError(f"calculator setting name {key!r} is not a field name")
        criteria[f"output.calculator.settings.{key}"] = value
    return criteria


def common_criteria(
    *,
    engine: str | Sequence[str] | None = None,
    version: str | None = None,
    model: str | None = None,
    settings: Mapping[str, Any] | None = None,
    since: TimeLike | None = None,
    until: TimeLike | None = None,
    campaign: str | Sequence[str] | None = None,
    run_id: str | Sequence[str] | None = None,
) -> dict[str, Any]:
    """Return the MongoDB filter of the calculator, date and campaign filters.

    Parameters
    ----------
    engine
        Engine name(s) of the calculator, e.g. ``"chgnet"``.
    version
        Version of the engine's package.
    model
        Model or method (exact text, as in the calculator provenance).
    settings
        Calculator settings that must have these values, e.g. ``{"cutoff_A": 4.6}``;
        nested settings by dotted key (``{"pairs.Li-Li": [0.2, 1.0, 2.9]}``).
    since, until
        Completion time window (see :func:`to_utc`); ``until`` is exclusive.
    campaign, run_id
        Campaign name(s) and run id(s) the jobs are tagged with.
    """
    criteria = _calculator_criteria(engine, version, model, settings)
    window: dict[str, str] = {}
    if since is not None:
        window["$gte"] = _stamp(since)
    if until is not None:
        window["$lt"] = _stamp(until)
    if window:
        criteria["completed_at"] = window
    campaigns = _as_list(campaign)
    if campaigns:
        criteria["metadata.campaign"] = _one_or_in(campaigns)
    runs = _as_list(run_id)
    if runs:
        criteria["metadata.run_id"] = _one_or_in(runs)
    return criteria


def property_criteria(
    kind: str | Sequence[str] | None = None,
    *,
    system: str | Sequence[str] | None = None,
    criteria: Mapping[str, Any] | None = None,
    **filters: Any,
) -> dict[str, Any]:
    """Return the MongoDB filter :func:`property_table` runs (to inspect or reuse it).

    Parameters are those of :func:`property_table`, except ``fingerprint``.
    """
    selected = _resolve_kinds(kind)
    systems = _as_list(system)
    clauses = []
    for family in selected:
        clause: dict[str, Any] = {"output.@class": family.document_class}
        if systems and family.system_criteria is not None:
            clause.update(family.system_criteria(systems))
        clauses.append(clause)
    query: dict[str, Any] = {
        "output.@module": {"$regex": DOCUMENT_MODULES},
        **_NOT_COPIES,
        **common_criteria(**filters),
    }
    if len(clauses) == 1:
        query.update(clauses[0])
    else:
        query["$or"] = clauses
    if criteria:
        query = {"$and": [query, dict(criteria)]}
    return query


def calculation_criteria(
    *,
    system: str | Sequence[str] | None = None,
    label_contains: str | None = None,
    role: str | None = None,
    task: str | None = None,
    criteria: Mapping[str, Any] | None = None,
    **filters: Any,
) -> dict[str, Any]:
    """Return the MongoDB filter :func:`calculations_table` runs (to inspect or reuse it)."""
    query: dict[str, Any] = {
        "output.@class": "CalculationResult",
        **_NOT_COPIES,
        **common_criteria(**filters),
    }
    systems = _as_list(system)
    if systems:
        query["output.system"] = _one_or_in(systems)
    if label_contains:
        query["output.label"] = {"$regex": re.escape(label_contains)}
    if role is not None:
        query["output.role"] = role
    if task is not None:
        query["output.task.kind"] = task
    if criteria:
        query = {"$and": [query, dict(criteria)]}
    return query


# ---------------------------------------------------------------------------------------
# Helpers shared by the tables


def _calculator_columns(calculator: Any) -> dict[str, Any]:
    if isinstance(calculator, dict):
        calculator = CalculatorProvenance.model_validate(
            {k: v for k, v in calculator.items() if not k.startswith("@")}
        )
    if not isinstance(calculator, CalculatorProvenance):
        return dict.fromkeys(
            ("calculator", "engine", "version", "model", "fingerprint", "settings")
        )
    return {
        "calculator": calculator.label,
        "engine": calculator.engine,
        "version": calculator.version,
        "model": calculator.model,
        "fingerprint": calculator.fingerprint,
        "settings": json.dumps(calculator.settings, sort_keys=True, default=str),
    }


def _latest_index(docs: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One document per job uuid (its highest index), in completion then uuid order."""
    latest: dict[str, dict[str, Any]] = {}
    for doc in docs:
        kept = latest.get(doc["uuid"])
        if kept is None or doc.get("index", 1) > kept.get("index", 1):
            latest[doc["uuid"]] = doc
    return sorted(latest.values(), key=lambda d: (str(d.get("completed_at") or ""), d["uuid"]))


def _fingerprint_matches(fingerprint: str | None, columns: dict[str, Any]) -> bool:
    if not fingerprint:
        return True
    return bool(columns["fingerprint"]) and columns["fingerprint"].startswith(fingerprint.lower())


def _frame(rows: list[dict[str, Any]], columns: Sequence[str]) -> pd.DataFrame:
    import pandas as pd

    extra = list(dict.fromkeys(k for row in rows for k in row if k not in columns))
    frame = pd.DataFrame(rows, columns=[*columns, *extra])
    for column in extra:  # integer parameters stay integers where other rows lack them
        # Judged on the rows: the frame has already turned ints next to gaps into floats.
        values = [row[column] for row in rows if row.get(column) is not None]
        if values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            frame[column] = pd.array([row.get(column) for row in rows], dtype="Int64")
    for column in ("completed_at", "computed_at"):
        if column in frame:
            frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def _keep_latest_runs(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Keep, per campaign, the rows of its most recent run (rows without a run stay)."""
    newest: dict[Any, tuple[datetime, str]] = {}
    for row in rows:
        if row["run_id"] is None:
            continue
        stamp = row["completed_at"] or datetime.min.replace(tzinfo=UTC)
        current = newest.get(row["campaign"])
        if current is None or stamp > current[0]:
            newest[row["campaign"]] = (stamp, row["run_id"])
    return [r for r in rows if r["run_id"] is None or newest[r["campaign"]][1] == r["run_id"]]


# ---------------------------------------------------------------------------------------
# Public tables


def property_table(
    store: JobStore,
    kind: str | Sequence[str] | None = None,
    *,
    system: str | Sequence[str] | None = None,
    engine: str | Sequence[str] | None = None,
    version: str | None = None,
    model: str | None = None,
    fingerprint: str | None = None,
    settings: Mapping[str, Any] | None = None,
    since: TimeLike | None = None,
    until: TimeLike | None = None,
    campaign: str | Sequence[str] | None = None,
    run_id: str | Sequence[str] | None = None,
    latest: bool = False,
    criteria: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Return one row per number of the stored property documents.

    Parameters
    ----------
    store
        A connected JobStore (embedded or MongoDB).
    kind
        Family or families (``"bulk"``, ``"vacancy"``, ``"solute_vacancy"``, ... see
        :func:`known_kinds`) or document class names; ``None``: every family.
    system
        System(s), e.g. ``"Li"``, ``"Li-Mg"``, ``"Li/Li2S"`` (exact names).
    engine, version, model, settings, since, until, campaign, run_id
        See :func:`common_criteria`.
    fingerprint
        Calculator fingerprint (``CalculatorProvenance.fingerprint``), or a prefix of it.
    latest
        Keep only the most recent run of each campaign (among the matching rows).
    criteria
        Any further MongoDB filter on the job documents (e.g.
        ``{"output.repetitions": 4}``), combined with the others by ``$and``.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`PROPERTY_COLUMNS`, then one per parameter; ``completed_at`` in UTC.
    """
    from monty.json import MontyDecoder

    families_by_class = {f.document_class: f for f in _resolve_kinds(kind)}
    query = property_criteria(
        kind,
        system=system,
        criteria=criteria,
        engine=engine,
        version=version,
        model=model,
        settings=settings,
        since=since,
        until=until,
        campaign=campaign,
        run_id=run_id,
    )
    docs = store.query(query, properties=["output", "metadata", "completed_at", "name"], load=False)
    systems = set(_as_list(system) or [])
    reserved = set(PROPERTY_COLUMNS)
    decoder = MontyDecoder()
    rows: list[dict[str, Any]] = []
    for doc in _latest_index(docs):
        output = doc.get("output") or {}
        family = families_by_class.get(output.get("@class"))
        if family is None:
            continue
        try:
            document = decoder.process_decoded(output)
        except Exception as exc:  # noqa: BLE001 (any import or validation failure)
            warnings.warn(
                f"skipped {output.get('@class')} of job {doc['uuid']}: cannot decode ({exc})",
                stacklevel=2,
            )
            continue
        calc = _calculator_columns(getattr(document, "calculator", None))
        if not _fingerprint_matches(fingerprint, calc):
            continue
        meta = doc.get("metadata") or {}
        shared = {
            "kind": family.kind,
            **calc,
            "campaign": meta.get("campaign"),
            "run_id": meta.get("run_id"),
            "job_uuid": doc["uuid"],
            "completed_at": _stored_time(doc.get("completed_at")),
            "document": family.document_class,
        }
        for row in _rows(family, document, doc["uuid"]):
            if systems and row.system not in systems:
                continue
            clash = reserved & set(row.parameters)
            if clash:
                raise ValueError(
                    f"adapter of {family.kind!r} uses reserved column name(s) {sorted(clash)}"
                )
            rows.append(
                {
                    **shared,
                    "system": row.system,
                    "quantity": row.quantity,
                    "label": row.label or row.quantity,
                    "value": row.value,
                    "unit": row.unit,
                    "reference": row.reference,
                    "reference_source": row.reference_source,
                    "flagged": row.flagged,
                    "note": row.note,
                    "job_ids": tuple(j for j in row.job_ids if j),
                    **row.parameters,
                }
            )
    if latest:
        rows = _keep_latest_runs(rows)
    return _frame(rows, PROPERTY_COLUMNS)


def _rows(family: PropertyFamily, document: Any, job_uuid: str) -> Iterable[PropertyRow]:
    """Return the adapter's rows; skip a failing report-section fallback with a warning."""
    if family.adapter is not _report_adapter:
        return family.adapter(document)
    try:
        return list(family.adapter(document))
    except Exception as exc:  # noqa: BLE001 (report builders are not written for single docs)
        warnings.warn(
            f"skipped {family.document_class} of job {job_uuid}: its report section failed "
            f"({type(exc).__name__}: {exc}); register a query adapter for it",
            stacklevel=3,
        )
        return []


def calculations_table(
    store: JobStore,
    *,
    system: str | Sequence[str] | None = None,
    engine: str | Sequence[str] | None = None,
    version: str | None = None,
    model: str | None = None,
    fingerprint: str | None = None,
    settings: Mapping[str, Any] | None = None,
    since: TimeLike | None = None,
    until: TimeLike | None = None,
    campaign: str | Sequence[str] | None = None,
    run_id: str | Sequence[str] | None = None,
    label_contains: str | None = None,
    role: str | None = None,
    task: str | None = None,
    distinct: bool = True,
    structures: bool = False,
    criteria: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Return one row per stored calculation (:class:`CalculationResult`).

    Parameters
    ----------
    store
        A connected JobStore.
    system, engine, version, model, fingerprint, settings, since, until, campaign, run_id
        As in :func:`property_table`; dates filter on when the returning job finished.
    label_contains
        Text the calculation label contains (e.g. ``"vacancy"``).
    role
        Role in its flow (exact), e.g. ``"bulk reference"``.
    task
        Calculation kind: ``static``, ``relax_positions`` or ``relax_full``.
    distinct
        One row per calculation identity (``cache_key``): a result reused by later runs
        or other flows is listed once, as computed (the reused copies carry the same
        numbers). ``False``: one row per job that returned a result.
    structures
        Add a ``structure`` column with the final pymatgen ``Structure``.
    criteria
        Any further MongoDB filter, combined by ``$and``.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`CALCULATION_COLUMNS` (energies in eV, forces in eV/A, wall time
        in s, ``computed_at`` and ``completed_at`` in UTC).
    """
    query = calculation_criteria(
        system=system,
        label_contains=label_contains,
        role=role,
        task=task,
        criteria=criteria,
        engine=engine,
        version=version,
        model=model,
        settings=settings,
        since=since,
        until=until,
        campaign=campaign,
        run_id=run_id,
    )
    fields = [
        "label", "system", "role", "formula", "n_atoms", "energy", "energy_per_atom",
        "converged", "convergence_messages", "max_force", "n_ionic_steps", "wall_time",
        "calculator", "task", "cache_key", "reused", "source_job_uuid", "completed_at",
    ]  # fmt: skip
    if structures:
        fields.append("structure")
    properties = [f"output.{f}" for f in fields] + ["metadata", "completed_at", "name"]
    rows = []
    for doc in _latest_index(store.query(query, properties=properties, load=False)):
        out = doc.get("output") or {}
        calc = _calculator_columns(out.get("calculator"))
        if not _fingerprint_matches(fingerprint, calc):
            continue
        meta = doc.get("metadata") or {}
        task_doc = out.get("task") or {}
        row = {
            **{f: out.get(f) for f in ("label", "system", "role", "formula", "n_atoms")},
            "energy": out.get("energy"),
            "energy_per_atom": out.get("energy_per_atom"),
            "converged": out.get("converged"),
            "flagged": not out.get("converged", False),
            "note": "; ".join(out.get("convergence_messages") or []),
            "max_force": out.get("max_force"),
            "n_ionic_steps": out.get("n_ionic_steps"),
            "wall_time": out.get("wall_time"),
            "task": task_doc.get("kind"),
            "fmax": task_doc.get("fmax"),
            **calc,
            "cache_key": out.get("cache_key"),
            "reused": bool(out.get("reused", False)),
            "computed_at": _bson_time(out.get("completed_at")),
            "campaign": meta.get("campaign"),
            "run_id": meta.get("run_id"),
            "job_uuid": doc["uuid"],
            "source_job_uuid": out.get("source_job_uuid"),
            "completed_at": _stored_time(doc.get("completed_at")),
        }
        if structures:
            from pymatgen.core import Structure

            raw = out.get("structure")
            row["structure"] = Structure.from_dict(raw) if isinstance(raw, dict) else raw
        rows.append(row)
    if distinct:
        rows = _distinct_calculations(rows)
    return _frame(rows, CALCULATION_COLUMNS)


def _distinct_calculations(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Keep one row per cache key: the computed one, else the earliest reused copy."""
    kept: dict[str, dict[str, Any]] = {}
    order: list[str] = []
    for row in rows:
        key = row["cache_key"] or row["job_uuid"]
        current = kept.get(key)
        if current is None:
            kept[key] = row
            order.append(key)
        elif current["reused"] and not row["reused"]:
            kept[key] = row
    return [kept[key] for key in order]


def calculators(store: JobStore, **filters: Any) -> pd.DataFrame:
    """List the calculators of the stored calculations, with their fingerprints.

    Parameters
    ----------
    store
        A connected JobStore.
    **filters
        Filters of :func:`calculations_table` (e.g. ``campaign="default"``).

    Returns
    -------
    pandas.DataFrame
        One row per fingerprint: calculator label, engine, version, model, settings
        (JSON) and the number of distinct calculations.
    """
    import pandas as pd

    table = calculations_table(store, **filters)
    columns = ["fingerprint", "calculator", "engine", "version", "model", "settings"]
    if table.empty:
        return pd.DataFrame(columns=[*columns, "calculations"])
    grouped = table.groupby(columns, dropna=False, sort=True).size()
    return grouped.rename("calculations").reset_index()


def stored_kinds(store: JobStore, campaign: str | None = None) -> pd.DataFrame:
    """Which property families the store holds: kind, document class, count, description."""
    import pandas as pd

    query: dict[str, Any] = {"output.@module": {"$regex": DOCUMENT_MODULES}, **_NOT_COPIES}
    if campaign:
        query["metadata.campaign"] = campaign
    counts: dict[str, set[str]] = {}
    for doc in store.query(query, properties=["output.@class"], load=False):
        name = (doc.get("output") or {}).get("@class")
        if name:
            counts.setdefault(name, set()).add(doc["uuid"])
    by_class = {f.document_class: f for f in known_kinds().values()}
    rows = []
    for name in sorted(counts):
        family = by_class.get(name)
        if name == "CalculationResult":
            kind, description = "calculations", "single calculations (calculations_table)"
        elif family is None:
            kind, description = default_kind(name), "no adapter and no report section"
        else:
            kind, description = family.kind, family.description
        rows.append(
            {
                "kind": kind,
                "document": name,
                "documents": len(counts[name]),
                "queryable": name == "CalculationResult" or family is not None,
                "description": description,
            }
        )
    return pd.DataFrame(rows, columns=["kind", "document", "documents", "queryable", "description"])


def ensure_query_indexes(store: JobStore) -> list[str]:
    """Declare the indexes of :data:`QUERY_INDEXES` on the JobStore's documents.

    Returns the fields indexed; an empty list on stores without indexes (montydb).
    """
    docs = store.docs_store
    done = []
    for field in QUERY_INDEXES:
        try:
            if docs.ensure_index(field):
                done.append(field)
        except (NotImplementedError, AttributeError, TypeError):
            return []
    return done
