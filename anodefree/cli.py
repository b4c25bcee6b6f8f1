"""The ``anodefree`` command line.

``anodefree run`` runs a campaign (the default preset when no file is given) on the
embedded store, shows progress, prints the report table and writes ``report/``.
"""

from __future__ import annotations

import logging
import sys
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from anodefree.errors import AnodefreeError

if TYPE_CHECKING:
    from anodefree.analysis.report import Report
    from anodefree.config import CampaignConfig

app = typer.Typer(
    name="anodefree",
    help="Energetics of anode-free solid-state battery interfaces, and the models they feed.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)

ConfigArg = Annotated[
    str,
    typer.Argument(help="Campaign YAML file or preset name (default, cluster)."),
]


def _quiet_libraries(verbose: bool = False) -> None:
    """Keep library chatter (deprecations, torch notices) out of the user's terminal.

    With ``verbose`` every calculation event (started, computed, reused) is logged.
    """
    warnings.filterwarnings("ignore")
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.setLevel(logging.INFO if verbose else logging.WARNING)
    for noisy in ("jobflow", "atomate2", "maggma", "pymatgen", "chgnet", "sevenn"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    logging.getLogger("anodefree").setLevel(logging.INFO)


def _fail(exc: Exception) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {exc}")
    return typer.Exit(code=2)


def _load(
    config: str, engine: str | None, store_path: Path | None, report_dir: Path | None
) -> CampaignConfig:
    from anodefree.config import config_from_dict, load_config

    loaded = load_config(config)
    overrides = {}
    if engine:
        overrides["engine"] = {"name": engine}
    if store_path:
        overrides["store"] = {
            **loaded.store.model_dump(),
            "backend": "embedded",
            "path": store_path,
        }
    if report_dir:
        overrides["report_dir"] = report_dir
    if not overrides:
        return loaded
    data = loaded.model_dump(exclude={"engine"})
    data["engine"] = loaded.engine
    data.update(overrides)
    updated = config_from_dict(data, source=f"{config} with command-line overrides")
    if engine and updated.validation is not None:
        # A preset's convergence scans belong to its engine (GPAW's cutoff, k-points).
        validation, dropped = updated.validation.for_engine(updated.engine)
        for item in dropped:
            console.print(f"[yellow]note:[/] {engine} has no such setting; skipped: {item}")
        updated = updated.model_copy(update={"validation": validation})
    return updated


def print_report(report: Report) -> None:
    """Print the report rows as a table."""
    table = Table(title=f"anodefree report: {report.campaign}", show_lines=False)
    for column, justify in (
        ("quantity", "left"),
        ("value", "right"),
        ("unit", "left"),
        ("calculator", "left"),
        ("reference", "right"),
        ("note", "left"),
    ):
        table.add_column(column, justify=justify, overflow="fold")
    from anodefree.analysis.report import _format

    for section in report.sections:
        table.add_section()
        table.add_row(f"[bold]{section.title}[/]", "", "", "", "", "")
        for row in section.rows:
            ref = (
                f"{_format(row.reference, row.unit)} ({row.reference_source})"
                if row.reference is not None
                else ""
            )
            style = "bold red" if row.flagged else None
            table.add_row(
                row.quantity,
                _format(row.value, row.unit),
                row.unit,
                row.calculator,
                ref,
                ("FLAGGED " if row.flagged else "") + row.note,
                style=style,
            )
    console.print(table)


@app.command()
def run(
    config: ConfigArg = "default",
    engine: Annotated[str | None, typer.Option(help="Override the campaign's engine name.")] = None,
    store_path: Annotated[
        Path | None, typer.Option(help="Use an embedded store in this folder.")
    ] = None,
    report_dir: Annotated[Path | None, typer.Option(help="Write the report here.")] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log every calculation event.")
    ] = False,
) -> None:
    """Run a campaign, reusing finished calculations, and write its report."""
    _quiet_libraries(verbose)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from anodefree.analysis.report import build_report, write_report
    from anodefree.analysis.results import run_documents
    from anodefree.workflows.campaign import run_campaign
    from anodefree.workflows.stores import make_job_store

    try:
        cfg = _load(config, engine, store_path, report_dir)
        job_store = make_job_store(cfg.store)
        cfg.engine.check_available()
    except AnodefreeError as exc:
        raise _fail(exc) from exc
    console.print(f"campaign [bold]{cfg.name}[/] with [bold]{cfg.engine.provenance().label}[/]")
    bar = Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        console=console,
        disable=not progress or not console.is_terminal,
    )
    task = bar.add_task("calculations", total=None, status="")
    # Batch jobs and redirected output get one plain line per finished calculation instead
    # of a live bar (which a log file would only show at the end).
    plain = progress and not console.is_terminal
    reported = [0]

    def on_progress(counts, planned) -> None:  # noqa: ANN001
        status = f"{counts.computed} computed, {counts.reused} reused"
        if counts.unconverged:
            status += f", {len(counts.unconverged)} unconverged"
        if counts.failed:
            status += f", {len(counts.failed)} failed"
        if plain and counts.finished != reported[0]:
            reported[0] = counts.finished
            stamp = time.strftime("%H:%M:%S")
            console.print(
                f"{stamp} {counts.finished}/{planned} calculations ({status}; latest started: "
                f"{counts.current})",
                highlight=False,
                soft_wrap=True,
            )
            return
        bar.update(
            task,
            total=planned,
            completed=counts.finished,
            status=f"{status} | {counts.current}",
        )

    try:
        with bar:
            summary = run_campaign(cfg, job_store=job_store, on_progress=on_progress)
    except KeyboardInterrupt:
        err_console.print(
            "[yellow]interrupted:[/] finished calculations are in the store; run the same "
            "command again to resume without recomputing them"
        )
        raise typer.Exit(code=130) from None
    except AnodefreeError as exc:
        raise _fail(exc) from exc
    documents = run_documents(job_store, summary.run_id)
    report = build_report(cfg.name, documents, summary, figure_dir=cfg.report_dir / "figures")
    paths = write_report(report, cfg.report_dir)
    print_report(report)
    console.print(
        f"[bold]{summary.computed}[/] calculations computed, [bold]{summary.reused}[/] reused "
        f"from the store, {len(summary.unconverged)} not converged, {len(summary.failed)} "
        f"failed jobs; {summary.wall_time:.0f} s"
    )
    for name, error in summary.failed.items():
        err_console.print(f"[red]failed:[/] {name}: {error}")
    console.print(f"report written to {paths['markdown']} and {paths['json']}")
    if summary.failed:
        raise typer.Exit(code=1)


@app.command()
def report(
    campaign: Annotated[str, typer.Option(help="Campaign name.")] = "default",
    run_id: Annotated[str | None, typer.Option(help="Run id (default: the latest).")] = None,
    store_path: Annotated[Path | None, typer.Option(help="Embedded store folder.")] = None,
    report_dir: Annotated[Path, typer.Option(help="Write the report here.")] = Path("report"),
) -> None:
    """Rebuild the report of a stored run without computing anything."""
    _quiet_libraries()
    from anodefree.analysis.report import build_report, write_report
    from anodefree.analysis.results import latest_run_id, run_documents
    from anodefree.workflows.stores import StoreSettings, make_job_store

    try:
        settings = StoreSettings(backend="embedded", path=store_path) if store_path else None
        job_store = make_job_store(settings)
        job_store.connect()
    except AnodefreeError as exc:
        raise _fail(exc) from exc
    run_id = run_id or latest_run_id(job_store, campaign)
    if run_id is None:
        raise _fail(AnodefreeError(f"no run of campaign {campaign!r} in the store"))
    documents = run_documents(job_store, run_id)
    built = build_report(campaign, documents, None, figure_dir=report_dir / "figures")
    paths = write_report(built, report_dir)
    print_report(built)
    console.print(f"report of run {run_id} written to {paths['markdown']}")


@app.command()
def engines() -> None:
    """List the calculator engines and whether they can run here."""
    _quiet_libraries()
    from anodefree.workflows.engines.registry import ENGINES, engine_class, get_engine

    table = Table(title="calculator engines")
    table.add_column("name")
    table.add_column("status")
    table.add_column("description")
    for name in sorted(ENGINES):
        cls = engine_class(name)
        doc = (cls.__doc__ or "").strip().splitlines()[0]
        try:
            engine = get_engine(name)
            engine.check_available()
            status = f"[green]available[/] ({engine.provenance().label})"
        except AnodefreeError as exc:
            status = f"[yellow]{exc}[/]"
        except Exception as exc:  # noqa: BLE001 (report anything an optional engine raises)
            status = f"[yellow]{type(exc).__name__}: {exc}[/]"
        table.add_row(name, status, doc)
    console.print(table)


@app.command("config")
def show_config(config: ConfigArg = "default") -> None:
    """Validate a campaign file and print it with every default filled in."""
    import yaml

    from anodefree.config import load_config

    try:
        cfg = load_config(config)
    except AnodefreeError as exc:
        raise _fail(exc) from exc
    data = cfg.model_dump(mode="json")
    data["engine"] = {
        "name": cfg.engine.name,
        **cfg.engine.model_dump(mode="json", exclude={"name"}),
    }
    console.print(yaml.safe_dump(data, sort_keys=False))


def _register_model_commands() -> None:
    """Attach the mesoscale-model commands (they import nothing heavy until run)."""
    from anodefree.models.continuum.command import continuum_command
    from anodefree.models.kmc.command import kmc_command

    app.command("continuum")(continuum_command)
    app.command("kmc")(kmc_command)


_register_model_commands()


def _register_queue_commands() -> None:
    """Attach the results query and batch-queue commands."""
    from anodefree.cli_queue import (
        queue_status_command,
        rerun_command,
        results_command,
        submit_command,
    )

    app.command("results")(results_command)
    app.command("submit")(submit_command)
    app.command("queue-status")(queue_status_command)
    app.command("rerun")(rerun_command)


_register_queue_commands()


def _register_export_commands() -> None:
    """Attach ``export kmc|continuum`` and ``mesoscale`` (store -> models -> report)."""
    from anodefree.cli_export import register_export_commands

    register_export_commands(app)


_register_export_commands()


def _register_compare_commands() -> None:
    """Attach ``compare`` (one property table across calculators and published PBE)."""
    from anodefree.cli_compare import register_compare_commands

    register_compare_commands(app)


_register_compare_commands()


def main() -> None:
    """Entry point that turns anodefree errors into clean messages."""
    try:
        app()
    except AnodefreeError as exc:
        err_console.print(f"[bold red]error:[/] {exc}")
        sys.exit(2)


if __name__ == "__main__":
    main()
