"""``anodefree compare``: the same properties from several calculators beside published PBE.

Registered on the main application by :func:`register_compare_commands`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from anodefree.analysis.comparison import ComparisonDocument


def _split(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def print_comparison(document: ComparisonDocument) -> None:
    """Print the comparison as a rich table (values, published, differences)."""
    from rich.console import Console
    from rich.table import Table

    from anodefree.analysis.comparison import format_value

    console = Console()
    table = Table(title="Calculators compared (finished quantities)")
    table.add_column("property")
    table.add_column("unit")
    for column in document.columns:
        table.add_column(column, justify="right")
    table.add_column("published", justify="right")
    table.add_column("differences")
    for row in document.rows:
        cells = []
        for column in document.columns:
            item = row.values[column]
            cells.append(
                format_value(item.value, row.unit) + (" (flagged)" if item.flagged else "")
            )
        published = (
            f"{format_value(row.published, row.unit)} ({row.published_kind})"
            if row.published is not None
            else "-"
        )
        diffs = "\n".join(
            f"{d.column}-{d.against}: {format_value(d.absolute, row.unit, signed=True)}"
            + (f" ({d.percent:+.0f}%)" if d.percent is not None else "")
            for d in row.differences
            if d.absolute is not None
        )
        table.add_row(row.quantity, row.unit, *cells, published, diffs or "-")
    console.print(table)
    for column in document.columns:
        calc = document.calculators.get(column)
        console.print(f"{column}: {calc.label if calc else 'no values in the store'}")
        for line in document.settings_differences(column):
            console.print(f"  [yellow]other settings:[/] {line}")
    for warning in document.warnings:
        console.print(f"[yellow]warning:[/] {warning}")


def compare(
    engines: Annotated[
        str, typer.Option(help="Comma-separated engines to compare, e.g. chgnet,gpaw.")
    ] = "chgnet,gpaw",
    run: Annotated[
        list[str] | None,
        typer.Option(
            "--run",
            help="Only documents of these run ids (repeat the option); default: every run, "
            "the newest settings of each engine.",
        ),
    ] = None,
    store_path: Annotated[
        list[Path] | None,
        typer.Option(
            help="Embedded store folder (repeat to combine stores); default: the configured store."
        ),
    ] = None,
    report_dir: Annotated[
        Path, typer.Option(help="Write comparison.md and comparison.json here.")
    ] = Path("report-comparison"),
) -> None:
    """Compare a0, E_f, the hop barrier, gamma Li(100) and E_form LiAg across calculators."""
    import json

    from rich.console import Console

    from anodefree.analysis.comparison import compare_store
    from anodefree.analysis.report import build_report, render_markdown
    from anodefree.errors import AnodefreeError
    from anodefree.workflows.stores import StoreSettings, make_job_store

    err = Console(stderr=True)
    names = _split(engines)
    if not names:
        err.print("[bold red]error:[/] --engines is empty (e.g. --engines chgnet,gpaw)")
        raise typer.Exit(code=2)
    try:
        stores = []
        for path in store_path or [None]:
            settings = StoreSettings(backend="embedded", path=path) if path else None
            stores.append(make_job_store(settings))
            stores[-1].connect()
        document = compare_store(stores, names, run or None)
    except AnodefreeError as exc:
        err.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(code=2) from exc
    print_comparison(document)
    report_dir.mkdir(parents=True, exist_ok=True)
    built = build_report("comparison " + " vs ".join(names), [document])
    (report_dir / "comparison.md").write_text(render_markdown(built))
    (report_dir / "comparison.json").write_text(
        json.dumps(document.model_dump(mode="json"), indent=2)
    )
    Console().print(f"comparison written to {report_dir / 'comparison.md'}")


def register_compare_commands(app: typer.Typer) -> None:
    """Add ``anodefree compare`` to the command-line application."""
    app.command("compare")(compare)
