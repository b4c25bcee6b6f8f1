"""Commands for stored results and batch queues: results, submit, queue-status, rerun.

The functions are typer commands; :mod:`anodefree.cli` registers them::

    app.command("results")(results_command)
    app.command("submit")(submit_command)
    app.command("queue-status")(queue_status_command)
    app.command("rerun")(rerun_command)

Heavy packages (pandas, jobflow, the queue back ends) are imported when a command runs.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path  # noqa: TC003 (typer reads the annotations at run time)
from types import SimpleNamespace
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from anodefree.errors import AnodefreeError, ConfigError

if TYPE_CHECKING:
    import pandas as pd
    from jobflow import Job, JobStore

    from anodefree.config import CampaignConfig
    from anodefree.workflows.execution.queue import QueueSettings
    from anodefree.workflows.execution.resources import Assignment, JobResources, ResourcePolicy

console = Console()
err_console = Console(stderr=True)


class OutputFormat(StrEnum):
    """How ``results`` prints a table."""

    table = "table"
    csv = "csv"
    json = "json"


class Backend(StrEnum):
    """Queue back ends of ``submit``."""

    jobflow_remote = "jobflow-remote"
    fireworks = "fireworks"


def _fail(exc: Exception) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {exc}")
    return typer.Exit(code=2)


def _quiet() -> None:
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    for noisy in ("jobflow", "maggma", "pymatgen", "jobflow_remote", "fireworks"):
        logging.getLogger(noisy).setLevel(logging.ERROR)


def _open_store(store_path: Path | None) -> JobStore:
    from anodefree.workflows.stores import StoreSettings, make_job_store

    settings = StoreSettings(backend="embedded", path=store_path) if store_path else None
    store = make_job_store(settings)
    store.connect()
    return store


def _parse_settings(pairs: list[str] | None) -> dict[str, Any]:
    """``["cutoff_A=4.6", "model=x"]`` -> ``{"cutoff_A": 4.6, "model": "x"}`` (YAML values)."""
    import yaml

    settings: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, text = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--setting {pair!r}: write KEY=VALUE, e.g. cutoff_A=4.6")
        try:
            settings[key.strip()] = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ConfigError(f"--setting {pair!r}: the value is not valid YAML") from exc
    return settings


def _add_row(table: Table, *cells: Any, style: str | None = None) -> None:
    """Add a row of plain text (brackets in job names are not rich markup)."""
    table.add_row(*(escape(str(cell)) for cell in cells), style=style)


# ------------------------------------------------------------------------------ results


def _format_value(value: Any, unit: str | None = None) -> str:
    if _missing(value):
        return ""
    if isinstance(value, float):
        digits = 2 if unit in {"%", "deg"} else 3 if unit in {"A", "A^3", "J/m^2"} else 4
        return f"{value:.{digits}f}"
    return str(value)


def _missing(value: Any) -> bool:
    import pandas as pd

    return value is None or (not isinstance(value, (list, tuple)) and bool(pd.isna(value)))


def _parameters_text(row: pd.Series, columns: list[str]) -> str:
    return ", ".join(
        f"{column}={_format_value(row[column])}" for column in columns if not _missing(row[column])
    )


def _print_property_table(frame: pd.DataFrame, title: str) -> None:
    from anodefree.analysis.queries import PROPERTY_COLUMNS

    parameters = [c for c in frame.columns if c not in PROPERTY_COLUMNS]
    table = Table(title=title)
    for column in ("system", "quantity", "value", "unit", "parameters", "calculator", "run",
                   "completed (UTC)", "note"):  # fmt: skip
        table.add_column(column, justify="right" if column == "value" else "left", overflow="fold")
    for _, row in frame.iterrows():
        _add_row(
            table,
            row["system"] or "",
            row["label"],
            _format_value(row["value"], row["unit"]),
            row["unit"],
            _parameters_text(row, parameters),
            row["calculator"] or "",
            row["run_id"] or "",
            f"{row['completed_at']:%Y-%m-%d %H:%M}" if row["completed_at"] is not None else "",
            ("FLAGGED " if row["flagged"] else "") + (row["note"] or ""),
            style="bold red" if row["flagged"] else None,
        )
    console.print(table)


def _print_calculations(frame: pd.DataFrame, title: str) -> None:
    table = Table(title=title)
    for column, justify in (("label", "left"), ("system", "left"), ("task", "left"),
                            ("atoms", "right"), ("energy (eV)", "right"),
                            ("eV/atom", "right"), ("converged", "left"),
                            ("calculator", "left"), ("run", "left"),
                            ("completed (UTC)", "left")):  # fmt: skip
        table.add_column(column, justify=justify, overflow="fold")
    for _, row in frame.iterrows():
        _add_row(
            table,
            row["label"] or "",
            row["system"] or "",
            row["task"] or "",
            str(row["n_atoms"]),
            _format_value(row["energy"]),
            _format_value(row["energy_per_atom"]),
            "yes" if row["converged"] else f"NO {row['note']}",
            row["calculator"] or "",
            row["run_id"] or "",
            f"{row['completed_at']:%Y-%m-%d %H:%M}" if row["completed_at"] is not None else "",
            style="bold red" if row["flagged"] else None,
        )
    console.print(table)


def _print_overview(store: JobStore, campaign: str | None) -> None:
    from anodefree.analysis import queries

    kinds = queries.stored_kinds(store, campaign)
    table = Table(title="results in the store (anodefree results KIND)")
    for column in ("kind", "document", "documents", "description"):
        table.add_column(column, overflow="fold")
    for _, row in kinds.iterrows():
        _add_row(
            table,
            row["kind"],
            row["document"],
            str(row["documents"]),
            row["description"],
            style=None if row["queryable"] else "dim",
        )
    console.print(table)
    calcs = queries.calculators(store, campaign=campaign)
    table = Table(title="calculators (filter with --engine, --fingerprint, --setting)")
    for column in ("fingerprint", "calculator", "settings", "calculations"):
        table.add_column(column, overflow="fold")
    for _, row in calcs.iterrows():
        _add_row(table, row["fingerprint"], row["calculator"], row["settings"],
                      str(row["calculations"]))  # fmt: skip
    console.print(table)


def _serialisable(frame: pd.DataFrame) -> pd.DataFrame:
    """Make list/tuple/object columns printable in CSV (space-separated job ids)."""
    frame = frame.copy()
    if "job_ids" in frame:
        frame["job_ids"] = frame["job_ids"].map(lambda ids: " ".join(ids) if ids else "")
    if "structure" in frame:
        frame["structure"] = frame["structure"].map(lambda s: json.dumps(s.as_dict()))
    return frame


def write_table(frame: pd.DataFrame, output_format: OutputFormat, output: Path | None) -> str:
    """Render ``frame`` as CSV or JSON (records, ISO times); write it to ``output`` if given."""
    if output_format == OutputFormat.csv:
        text = _serialisable(frame).to_csv(index=False)
    else:
        records = json.loads(frame.to_json(orient="records", date_format="iso"))
        text = json.dumps(records, indent=1) + "\n"
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text)
    return text


def results_command(
    kind: Annotated[
        str | None,
        typer.Argument(
            help="bulk, vacancy, solute_vacancy, ... or 'calculations' (single calculations); "
            "omit to list what the store holds."
        ),
    ] = None,
    system: Annotated[
        list[str] | None, typer.Option("--system", "-s", help="System, e.g. Li-Mg (repeatable).")
    ] = None,
    engine: Annotated[
        list[str] | None, typer.Option("--engine", "-e", help="Engine name (repeatable).")
    ] = None,
    fingerprint: Annotated[
        str | None, typer.Option(help="Calculator fingerprint or a prefix of it.")
    ] = None,
    setting: Annotated[
        list[str] | None,
        typer.Option(help="Calculator setting KEY=VALUE, e.g. cutoff_A=4.6 (repeatable)."),
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Completed at or after: ISO date/time or age (7d, 12h).")
    ] = None,
    until: Annotated[str | None, typer.Option(help="Completed before (same forms).")] = None,
    campaign: Annotated[str | None, typer.Option(help="Campaign name.")] = None,
    run_id: Annotated[str | None, typer.Option(help="Run id.")] = None,
    latest: Annotated[
        bool,
        typer.Option("--latest", help="Only the latest run of each campaign (property kinds)."),
    ] = False,
    quantity: Annotated[
        str | None, typer.Option(help="Only this quantity, e.g. vacancy_formation_energy.")
    ] = None,
    store_path: Annotated[
        Path | None,
        typer.Option(help="Embedded store folder (default: the configured store)."),
    ] = None,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="table, csv or json.")
    ] = OutputFormat.table,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write csv/json to this file.")
    ] = None,
) -> None:
    """Query stored results as a table, filtered by system, engine, settings and date."""
    _quiet()
    from anodefree.analysis import queries

    try:
        store = _open_store(store_path)
        if kind is None:
            _print_overview(store, campaign)
            return
        filters: dict[str, Any] = {
            "system": system or None,
            "engine": engine or None,
            "fingerprint": fingerprint,
            "settings": _parse_settings(setting),
            "since": since,
            "until": until,
            "campaign": campaign,
            "run_id": run_id,
        }
        if kind == "calculations":
            frame = queries.calculations_table(store, **filters)
        else:
            frame = queries.property_table(store, kind, latest=latest, **filters)
            if quantity:
                frame = frame[frame["quantity"] == quantity].reset_index(drop=True)
    except AnodefreeError as exc:
        raise _fail(exc) from exc
    if output_format != OutputFormat.table:
        text = write_table(frame, output_format, output)
        if output is None:
            sys.stdout.write(text)
        else:
            console.print(f"{len(frame)} rows written to {output}")
        return
    title = f"{kind}: {len(frame)} rows"
    if kind == "calculations":
        _print_calculations(frame, title)
    else:
        _print_property_table(frame, title)


# ------------------------------------------------------------------------------- submit


def _load_campaign(config: str, engine: str | None, store_path: Path | None) -> CampaignConfig:
    from anodefree.config import config_from_dict, load_config

    loaded = load_config(config)
    if not engine and not store_path:
        return loaded
    data = loaded.model_dump(exclude={"engine"})
    data["engine"] = {"name": engine} if engine else loaded.engine
    if store_path:
        data["store"] = {**loaded.store.model_dump(), "backend": "embedded", "path": store_path}
    return config_from_dict(data, source=f"{config} with command-line overrides")


def queue_settings(
    queue_file: Path | None,
    backend: Backend | None = None,
    project: str | None = None,
    resources: Path | None = None,
) -> QueueSettings:
    """Read the queue settings file (if any) and apply the command-line overrides.

    Raises
    ------
    ConfigError
        If the file is invalid, or FireWorks is chosen without a ``fireworks`` section.
    """
    from pydantic import ValidationError

    from anodefree.workflows.execution.queue import QueueSettings

    if queue_file is not None:
        settings = QueueSettings.from_file(queue_file)
    elif backend == Backend.fireworks:
        raise ConfigError(
            "FireWorks needs a queue settings file with a 'fireworks' section (--queue; see "
            "examples/queue/queue_fireworks.yaml)"
        )
    else:
        settings = QueueSettings(backend="jobflow-remote")
    data = settings.model_dump()
    if backend is not None:
        data["backend"] = backend.value
    if project is not None:
        data["jobflow_remote"] = {"project": project}
    if resources is not None:
        data["resources"] = resources.expanduser().resolve()
    try:
        return QueueSettings.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"queue settings: {problems}") from exc


def describe_resources(resources: JobResources) -> str:
    """One line: processes x threads, memory, time, partition, account, GPUs."""
    parts = [f"{resources.processes} proc x {resources.threads_per_process} thr"]
    if resources.nodes:
        parts.append(f"{resources.nodes} node(s)")
    if resources.memory_per_cpu_mb:
        parts.append(f"{resources.memory_per_cpu_mb} MB/cpu")
    if resources.time_limit_min:
        parts.append(f"{resources.time_limit_min:g} min")
    parts += [
        f"{name} {getattr(resources, name)}"
        for name in ("partition", "account", "qos")
        if getattr(resources, name)
    ]
    if resources.gpus:
        parts.append(f"{resources.gpus} GPU")
    parts += [f"{k}={v}" for k, v in resources.scheduler_options.items()]
    return ", ".join(parts)


def _rule_text(policy: ResourcePolicy, assignment: Assignment) -> str:
    if assignment.rule is None:
        return "default"
    rule = policy.rules[assignment.rule]
    criteria = [f"maker {rule.maker}" if rule.maker else "",
                f"name contains {rule.name_contains!r}" if rule.name_contains else ""]  # fmt: skip
    return f"rule {assignment.rule + 1}: " + " and ".join(c for c in criteria if c)


def runtime_assignment(name: str, parent: Assignment, policy: ResourcePolicy) -> Assignment:
    """Worker and resources of a job created at run time with ``name`` by a job routed ``parent``.

    As :func:`~anodefree.workflows.execution.resources.apply_policy` arranges it: the
    first name-only rule matching ``name``, else the creating job's own assignment.
    """
    from anodefree.workflows.execution.resources import Assignment

    probe = SimpleNamespace(name=name, maker=None, function=None)
    for index, rule in enumerate(policy.rules):
        if rule.name_contains and not rule.maker and rule.matches(probe):
            return Assignment(worker=rule.worker, resources=rule.resources, rule=index)
    return parent


def _calculation_job_names(job: Job) -> tuple[str, list[str]] | None:
    """Label and names of the jobs a CalculationMaker job creates at run time.

    ``None`` for other jobs. The names are those :class:`CalculationMaker` gives.
    """
    from anodefree.workflows.calculation import CalculationMaker

    maker = getattr(job.function, "__self__", None)
    if not isinstance(maker, CalculationMaker):
        return None
    label = job.function_kwargs.get("label") or ""
    structure = job.function_args[0] if job.function_args else None
    title = label or getattr(getattr(structure, "composition", None), "reduced_formula", "")
    return title, [f"{title} [{maker.engine.name} {maker.task.kind}]", f"collect {label}"]


def dry_run_rows(flow: Any, policy: ResourcePolicy) -> list[dict[str, str]]:
    """Rows of the dry run: each job at submission, and the jobs calculations create.

    Returns
    -------
    list of dict
        ``job``, ``when`` (``submission`` or ``run time``), ``worker``, ``resources``
        and ``rule`` of every job.
    """
    rows = []
    for job, _ in flow.iterflow():
        assignment = policy.resolve(job)
        calculation = _calculation_job_names(job)
        rows.append(
            {
                "job": f"{job.name}: {calculation[0]}" if calculation else job.name,
                "when": "submission",
                "worker": assignment.worker,
                "resources": describe_resources(assignment.resources),
                "rule": _rule_text(policy, assignment),
            }
        )
        for name in calculation[1] if calculation else []:
            created = runtime_assignment(name, assignment, policy)
            rows.append(
                {
                    "job": f"  -> {name}",
                    "when": "run time",
                    "worker": created.worker,
                    "resources": describe_resources(created.resources),
                    "rule": _rule_text(policy, created)
                    if created is not assignment
                    else "inherits its creator's",
                }
            )
    return rows


def _print_dry_run(plan: Any, config: CampaignConfig, settings: QueueSettings) -> None:
    policy = settings.policy()
    rows = dry_run_rows(plan.flow, policy)
    table = Table(title=f"dry run: campaign {config.name} through {settings.backend}")
    for column in ("job", "worker", "resources", "rule"):
        table.add_column(column, overflow="fold")
    for row in rows:
        style = "dim" if row["when"] == "run time" else None
        _add_row(table, row["job"], row["worker"], row["resources"], row["rule"], style=style)
    console.print(table)
    name_rules = [(i, r) for i, r in enumerate(policy.rules) if r.name_contains and not r.maker]
    if name_rules:
        rules = Table(title="jobs created at run time (e.g. the calculations of later stages)")
        for column in ("rule", "name contains", "worker", "resources"):
            rules.add_column(column, overflow="fold")
        for index, rule in name_rules:
            _add_row(rules, str(index + 1), rule.name_contains, rule.worker,
                          describe_resources(rule.resources))  # fmt: skip
        console.print(rules)
    stages = ", ".join(f"{name} {count}" for name, count in plan.stages.items())
    console.print(
        f"{sum(r['when'] == 'submission' for r in rows)} jobs at submission; "
        f"{plan.planned_calculations} calculations planned ({stages}); any other job "
        f"created at run time inherits its creator's worker. Nothing was submitted."
    )


def submit_command(
    config: Annotated[
        str, typer.Argument(help="Campaign YAML file or preset name (default, cluster).")
    ] = "default",
    queue_file: Annotated[
        Path | None,
        typer.Option(
            "--queue",
            "-q",
            help="Queue settings YAML (see examples/queue/queue_jobflow_remote.yaml).",
        ),
    ] = None,
    backend: Annotated[
        Backend | None,
        typer.Option(help="jobflow-remote or fireworks (overrides the queue file)."),
    ] = None,
    project: Annotated[
        str | None, typer.Option(help="jobflow-remote project (overrides the queue file).")
    ] = None,
    resources: Annotated[
        Path | None, typer.Option(help="Resource policy YAML (overrides the queue file).")
    ] = None,
    engine: Annotated[str | None, typer.Option(help="Override the campaign's engine.")] = None,
    store_path: Annotated[
        Path | None,
        typer.Option(help="FireWorks: an embedded JobStore in this folder for the outputs."),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Print the jobs and their resources; submit nothing."),
    ] = False,
) -> None:
    """Submit a campaign to a batch queue through jobflow-remote or FireWorks."""
    _quiet()
    from anodefree.workflows.campaign import build_campaign

    try:
        cfg = _load_campaign(config, engine, store_path)
        settings = queue_settings(queue_file, backend, project, resources)
        plan = build_campaign(cfg)
        if dry_run:
            _print_dry_run(plan, cfg, settings)
            return
        from anodefree.workflows.execution import queue
        from anodefree.workflows.stores import make_job_store

        store = make_job_store(cfg.store) if settings.backend == "fireworks" else None
        records = queue.submit(plan.flow, settings, store)
    except AnodefreeError as exc:
        raise _fail(exc) from exc
    for record in records:
        ids = getattr(record, "db_ids", None) or getattr(record, "fw_ids", [])
        console.print(
            f"submitted flow [bold]{record.name}[/] ({record.flow_uuid}): {len(ids)} jobs"
        )
    console.print(
        f"campaign {cfg.name}, run id [bold]{plan.run_id}[/]; query its results with "
        f"`anodefree results KIND --run-id {plan.run_id}`"
    )
    if settings.backend == "jobflow-remote":
        name = settings.jobflow_remote.project or "<default project>"
        console.print(f"start the runner with `jf -p {name} runner start` if it is not running")
    else:
        console.print(
            "launch with qlaunch/rlaunch and the files in " + str(settings.fireworks.config_dir)
        )


# ------------------------------------------------------------------------- status, rerun


def _ids(settings: QueueSettings, ids: list[str] | None) -> list[str] | None:
    """Check that FireWorks ids are integers (jobflow-remote takes flow uuids)."""
    if not ids:
        return None
    if settings.backend == "fireworks":
        bad = [i for i in ids if not i.strip().isdigit()]
        if bad:
            raise ConfigError(f"FireWorks ids are integers (Firework ids), got {bad}")
    return ids


def queue_status_command(
    queue_file: Annotated[
        Path | None, typer.Option("--queue", "-q", help="Queue settings YAML.")
    ] = None,
    backend: Annotated[Backend | None, typer.Option(help="Overrides the queue file.")] = None,
    project: Annotated[str | None, typer.Option(help="jobflow-remote project.")] = None,
    flow: Annotated[
        list[str] | None,
        typer.Option(help="Flow uuid (jobflow-remote) or Firework id (FireWorks); repeatable."),
    ] = None,
    failed: Annotated[bool, typer.Option("--failed", help="Only failed jobs.")] = False,
) -> None:
    """Show the state of every queued job, with the error of each failed one."""
    _quiet()
    from anodefree.workflows.execution import queue

    try:
        settings = queue_settings(queue_file, backend, project)
        reports = queue.status(settings, _ids(settings, flow))
    except AnodefreeError as exc:
        raise _fail(exc) from exc
    bad = {"FAILED", "REMOTE_ERROR", "FIZZLED"}
    table = Table(title=f"{settings.backend} jobs")
    for column in ("id", "name", "worker", "state", "error"):
        table.add_column(column, overflow="fold")
    counts: dict[str, int] = {}
    for report in reports:
        counts[report.state] = counts.get(report.state, 0) + 1
        if failed and report.state not in bad:
            continue
        _add_row(
            table,
            str(getattr(report, "db_id", None) or getattr(report, "fw_id", "")),
            report.name,
            getattr(report, "worker", None) or getattr(report, "category", None) or "",
            report.state,
            report.error_summary or "",
            style="bold red" if report.state in bad else None,
        )
    console.print(table)
    console.print(", ".join(f"{n} {state}" for state, n in sorted(counts.items())) or "no jobs")
    if any(state in bad for state in counts):
        console.print("rerun the failed jobs (finished ones are kept) with `anodefree rerun`")


def rerun_command(
    queue_file: Annotated[
        Path | None, typer.Option("--queue", "-q", help="Queue settings YAML.")
    ] = None,
    backend: Annotated[Backend | None, typer.Option(help="Overrides the queue file.")] = None,
    project: Annotated[str | None, typer.Option(help="jobflow-remote project.")] = None,
    flow: Annotated[
        list[str] | None,
        typer.Option(help="Flow uuid (jobflow-remote) or Firework id (FireWorks); repeatable."),
    ] = None,
) -> None:
    """Put failed jobs back in the queue; finished jobs are neither repeated nor duplicated."""
    _quiet()
    from anodefree.workflows.execution import queue

    try:
        settings = queue_settings(queue_file, backend, project)
        ids = queue.rerun(settings, _ids(settings, flow))
    except AnodefreeError as exc:
        raise _fail(exc) from exc
    if ids:
        console.print(f"{len(ids)} jobs back to READY: {', '.join(map(str, ids))}")
    else:
        console.print("no failed jobs")
