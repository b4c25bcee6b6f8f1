"""``anodefree kmc``: run the stripping KMC from an export file, with progress."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from anodefree.errors import AnodefreeError, ConfigError

if TYPE_CHECKING:
    from rich.console import Console

    from anodefree.models.kmc.documents import KmcResult
    from anodefree.models.kmc.runner import RunProgress

# The command module imports nothing heavy (numba, scipy, the kernel) until the command runs,
# so that registering it in the CLI costs nothing.


def parse_size(size: str) -> tuple[int, int, int]:
    """Parse ``NXxNYxLAYERS`` (e.g. ``24x24x60``) into three integers.

    Raises
    ------
    ConfigError
        If the text is not three positive integers separated by ``x``.
    """
    match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*[xX]\s*(\d+)\s*", size)
    if not match:
        raise ConfigError(f"size must look like NXxNYxLAYERS (e.g. 24x24x60), got {size!r}")
    nx, ny, layers = (int(v) for v in match.groups())
    return nx, ny, layers


def _summary(result: KmcResult, console: Console) -> None:
    from rich.table import Table

    ts = result.timescale
    table = Table(title=f"KMC stripping of {result.system}", show_header=False)
    final = result.samples[-1]
    rows = [
        ("stopped", result.stop_reason),
        ("stripped", f"{final.capacity:.3g} mAh/cm^2 = {final.monolayers:.2f} monolayers"),
        ("contact fraction of L1", f"{final.contact_fraction:.3f}"),
        (
            "interfacial voids",
            (
                f"{final.n_voids} (mean {final.mean_void_sites:.1f}, largest "
                f"{final.max_void_sites} sites)"
            ),
        ),
        ("vacancies in the slab", f"{final.n_vacancies}"),
        (
            "current density j / simulated S*j",
            f"{ts.current_density:g} / {ts.simulated_current_density:.3g} mA/cm^2",
        ),
        (
            "strip-to-escape ratio",
            f"{ts.strip_to_escape_ratio:.3g} (quasi-static: {ts.quasi_static_interface})",
        ),
        ("steady vacancy excess", f"{ts.steady_vacancy_excess:.3g}"),
        ("equivalent sink distance", f"{ts.equivalent_sink_distance:.3g} um"),
        (
            "simulated time / real-time coverage",
            f"{ts.simulated_time:.3g} s / {ts.real_time_coverage:.3g}",
        ),
        ("atom balance", "ok" if result.bookkeeping.balanced else "VIOLATED"),
        (
            "events",
            f"{result.performance.events:.4g} at {result.performance.events_per_second:.3g}/s",
        ),
    ]
    for key, value in rows:
        table.add_row(key, value)
    console.print(table)
    for assumption in result.assumptions:
        console.print(f"[yellow]assumption:[/] {assumption}")
    if not ts.quasi_static_interface:
        console.print(
            "[yellow]warning:[/] stripping is not slow compared with the escape of vacancies "
            "from L1 (strip-to-escape ratio >= 0.01): the acceleration also speeds up the "
            "interface; check convergence with a smaller --acceleration."
        )


def kmc_command(
    export_file: Annotated[
        Path,
        typer.Argument(
            help="KMC parameter export (JSON) written by `anodefree export kmc`.",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ],
    current_density: Annotated[
        float, typer.Option("--current-density", "-j", help="Stripping current density, mA/cm^2.")
    ] = 1.0,
    temperature: Annotated[
        float, typer.Option("--temperature", "-T", help="Temperature, K.")
    ] = 298.15,
    capacity: Annotated[
        float,
        typer.Option(
            help="Stripped capacity to simulate, mAh/cm^2 (one bcc(100) monolayer is about "
            "3.7e-5 mAh/cm^2)."
        ),
    ] = 2e-4,
    size: Annotated[
        str, typer.Option(help="Slab size NXxNYxLAYERS: in-plane cells and metal layers.")
    ] = "24x24x60",
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    output_dir: Annotated[
        Path, typer.Option("--output-dir", "-o", help="Folder for result, snapshots, plots.")
    ] = Path("kmc_out"),
    acceleration: Annotated[
        float,
        typer.Option(
            help="Factor S on the stripping rate (hop rates untouched); the result reports "
            "its real-time mapping and validity."
        ),
    ] = 1e6,
    solute_fraction: Annotated[
        float | None,
        typer.Option(help="Solute atomic fraction; default: the export's value."),
    ] = None,
    facet: Annotated[
        str | None, typer.Option(help="bcc facet '100' or '110'; default: the export's.")
    ] = None,
    sink: Annotated[
        bool, typer.Option("--sink/--no-sink", help="Li reservoir (vacancy sink) below the slab.")
    ] = True,
    max_events: Annotated[int, typer.Option(help="Event budget.")] = 4_000_000_000,
    max_wall_seconds: Annotated[float | None, typer.Option(help="Wall-time budget, s.")] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Refuse fallbacks for missing optional inputs.")
    ] = False,
    plots: Annotated[bool, typer.Option("--plots/--no-plots", help="Write plots.")] = True,
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")
    ] = True,
) -> None:
    """Run the kinetic Monte Carlo model of stripping from an export file."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from anodefree.models.kmc.documents import KmcSettings
    from anodefree.models.kmc.runner import run_kmc

    console = Console()
    try:
        nx, ny, n_layers = parse_size(size)
        settings = KmcSettings(
            temperature=temperature,
            current_density=current_density,
            capacity=capacity,
            acceleration=acceleration,
            nx=nx,
            ny=ny,
            n_layers=n_layers,
            facet=facet,
            sink=sink,
            solute_fraction=solute_fraction,
            max_events=max_events,
            max_wall_seconds=max_wall_seconds,
            seed=seed,
            strict=strict,
        )
    except (AnodefreeError, ValueError) as error:
        console.print(f"[red]error:[/] {error}")
        raise typer.Exit(code=2) from error

    bar = Progress(
        TextColumn("[bold]KMC[/]"),
        BarColumn(),
        TextColumn("{task.fields[ml]:.2f} ML"),
        TextColumn("{task.fields[events]:.3g} events"),
        TextColumn("{task.fields[rate]:.3g} ev/s"),
        TextColumn("contact {task.fields[contact]:.2f}"),
        TimeElapsedColumn(),
        console=console,
        disable=not progress,
        transient=False,
    )
    with bar:
        task = bar.add_task("strip", total=1.0, ml=0.0, events=0, rate=0.0, contact=1.0)

        def update(state: RunProgress) -> None:
            bar.update(
                task,
                completed=state.stripped / state.target,
                ml=state.monolayers,
                events=state.events,
                rate=state.events / state.wall_time if state.wall_time > 0 else 0.0,
                contact=state.contact_fraction,
            )

        try:
            result = run_kmc(
                export_file, settings, output_dir=output_dir, progress=update, plots=plots
            )
        except AnodefreeError as error:
            console.print(f"[red]error:[/] {error}")
            raise typer.Exit(code=2) from error
    _summary(result, console)
    console.print(f"written to {output_dir}/")
