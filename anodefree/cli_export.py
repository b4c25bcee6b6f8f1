"""Commands ``anodefree export kmc|continuum`` and ``anodefree mesoscale``.

Register with :func:`register_export_commands` (``register_export_commands(app)`` in
:mod:`anodefree.cli`). Missing inputs end with a message naming them and exit code 2, no
traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from anodefree.errors import AnodefreeError

if TYPE_CHECKING:
    from jobflow import JobStore

console = Console()
err_console = Console(stderr=True)

StorePath = Annotated[
    Path | None, typer.Option(help="Embedded store folder (default: the settings' data_dir).")
]
RunOption = Annotated[
    str | None,
    typer.Option("--run", "--run-id", help="Run id (default: the latest run holding the inputs)."),
]


def _fail(exc: Exception) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
    return typer.Exit(code=2)


def _store(store_path: Path | None) -> JobStore:
    from anodefree.workflows.stores import StoreSettings, make_job_store

    settings = StoreSettings(backend="embedded", path=store_path) if store_path else None
    store = make_job_store(settings)
    store.connect()
    return store


def export_kmc_command(
    system: Annotated[str, typer.Argument(help="Interface system, e.g. 'Li-Mg/Li2S'.")],
    run_id: RunOption = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Output file (default kmc_<system>.json).")
    ] = None,
    store_path: StorePath = None,
    across_runs: Annotated[
        bool,
        typer.Option(help="Also use documents of other runs with the same calculator."),
    ] = False,
    solute_fraction: Annotated[
        float | None, typer.Option(help="Solute atomic fraction (default: the preset's).")
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Refuse to leave out optional inputs.")
    ] = False,
) -> None:
    """Write the KMC parameter file of one system from the stored energetics."""
    from anodefree.analysis.exports.kmc_builder import build_kmc_export

    try:
        store = _store(store_path)
        export = build_kmc_export(
            store,
            system,
            run_id=run_id,
            across_runs=across_runs,
            solute_fraction=solute_fraction,
            strict=strict,
        )
    except AnodefreeError as exc:
        raise _fail(exc) from exc
    path = export.write(out or Path(f"kmc_{system.replace('/', '_')}.json"))
    console.print(
        f"KMC export of [bold]{system}[/] ({export.calculator.label}, {len(export.job_ids())} "
        f"source jobs) written to {path}"
    )
    for name, effect in export.missing_inputs(with_solute=export.solute is not None).items():
        console.print(f"[yellow]not computed:[/] {name}: {effect}")


def export_continuum_command(
    onset: Annotated[
        list[str] | None,
        typer.Option("--onset", help="NAME=VOLTS user-supplied onset, repeatable (Li-Au=0.07)."),
    ] = None,
    run_id: RunOption = None,
    hull_run: Annotated[
        str | None, typer.Option(help="Run of the hull study (default: the latest).")
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output file.")] = Path(
        "continuum_parameters.json"
    ),
    store_path: StorePath = None,
    hull: Annotated[
        bool, typer.Option("--hull/--no-hull", help="Take the Li-Ag onset from the stored hull.")
    ] = True,
    diffusion: Annotated[
        bool,
        typer.Option(
            "--diffusion/--no-diffusion", help="Take solute diffusivities from the store."
        ),
    ] = True,
) -> None:
    """Write the continuum parameter file: computed Li-Ag onset, supplied onsets, diffusivities."""
    from anodefree.analysis.exports.continuum import write_continuum_parameters
    from anodefree.analysis.exports.continuum_builder import (
        build_continuum_parameters,
        parse_onset,
    )

    try:
        supplied = dict(parse_onset(text) for text in onset or [])
        store = _store(store_path)
        parameters = build_continuum_parameters(
            store,
            run_id=run_id,
            hull_run_id=hull_run,
            onsets=supplied,
            hull=hull,
            diffusion=diffusion,
        )
    except AnodefreeError as exc:
        raise _fail(exc) from exc
    path = write_continuum_parameters(parameters, out)
    for item in parameters.onsets:
        console.print(f"onset {item.display_label}: {item.onset:.4f} V ({item.source.summary})")
    for item in parameters.diffusivities:
        console.print(
            f"D({item.solute} in {item.host}) = {item.prefactor:.3g} cm^2/s "
            f"exp(-{item.activation_energy:.3f} eV / kT)"
        )
    console.print(f"continuum parameters written to {path}")


def mesoscale_command(
    run_id: RunOption = None,
    store_path: StorePath = None,
    output_dir: Annotated[
        Path, typer.Option("--output-dir", "-o", help="Folder for exports and model results.")
    ] = Path("mesoscale"),
    report_dir: Annotated[
        Path | None, typer.Option(help="Also rebuild the run's report here.")
    ] = None,
    current_density: Annotated[
        float, typer.Option("--current-density", "-j", help="Current density, mA/cm^2.")
    ] = 1.0,
    temperature: Annotated[float, typer.Option("--temperature", "-T", help="K.")] = 298.15,
    capacity: Annotated[float, typer.Option(help="Stripped capacity, mAh/cm^2.")] = 2e-4,
    size: Annotated[str, typer.Option(help="KMC slab NXxNYxLAYERS.")] = "24x24x40",
    onset: Annotated[
        list[str] | None,
        typer.Option("--onset", help="NAME=VOLTS supplied onset, repeatable (default Li-Au=0.07)."),
    ] = None,
    store: Annotated[
        bool, typer.Option("--store/--no-store", help="Save the result document in the store.")
    ] = True,
) -> None:
    """Run the KMC of the three systems and the continuum map from a stored run."""
    from anodefree.analysis.exports.continuum_builder import parse_onset
    from anodefree.mesoscale import MesoscaleSettings, run_mesoscale, store_mesoscale_document
    from anodefree.models.kmc.command import parse_size

    try:
        onsets = dict(parse_onset(t) for t in onset) if onset else {"Li-Au": 0.07}
        settings = MesoscaleSettings(
            current_density=current_density,
            temperature=temperature,
            capacity=capacity,
            size=parse_size(size),
            onsets=onsets,
        )
        job_store = _store(store_path)
        document = run_mesoscale(
            job_store,
            run_id=run_id,
            settings=settings,
            output_dir=output_dir,
            progress=lambda line: console.print(f"running {line}"),
        )
    except (AnodefreeError, ValueError) as exc:
        raise _fail(exc) from exc
    for curve in document.systems:
        console.print(f"[bold]{curve.system}[/]")
        for line in curve.mechanism:
            console.print(f"  {line}", highlight=False)
    for warning in document.warnings:
        console.print(f"[yellow]warning:[/] {warning}", highlight=False)
    if store:
        uuid = store_mesoscale_document(job_store, document)
        console.print(f"stored as job {uuid} of run {document.run_id}")
    if report_dir is not None:
        from anodefree.analysis.report import build_report, write_report

        report = build_report("mesoscale", [document], None, figure_dir=report_dir / "figures")
        paths = write_report(report, report_dir)
        console.print(f"report written to {paths['markdown']}")
    console.print(f"exports and model results in {output_dir}/")


def register_export_commands(app: typer.Typer) -> None:
    """Attach ``export kmc``, ``export continuum`` and ``mesoscale`` to ``app``."""
    export = typer.Typer(
        name="export",
        help="Write the mesoscale models' parameter files from the stored energetics.",
        no_args_is_help=True,
    )
    export.command("kmc")(export_kmc_command)
    export.command("continuum")(export_continuum_command)
    app.add_typer(export, name="export")
    app.command("mesoscale")(mesoscale_command)
