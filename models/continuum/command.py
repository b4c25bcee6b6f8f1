"""The ``anodefree continuum`` command: overpotential map, onset crossings, field plots.

Register with ``app.command("continuum")(continuum_command)``. The command reads a continuum
parameter file (or uses the documented defaults), computes the map over island width and
applied current density, and writes into the output folder:

* ``continuum_parameters.json``: the parameters used (a valid input file);
* ``continuum_map.json``: the typed result (:class:`ContinuumMapResult`);
* ``overpotential_map.png``: the map with the critical current of every onset;
* ``field_<width>um_<current>mAcm2.png``: potential fields of the chosen cases;
* ``interdiffusion.png``: interdiffusion lengths, when the file gives diffusivities.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from anodefree.analysis.exports.continuum import (
    ContinuumParameters,
    read_continuum_parameters,
    write_continuum_parameters,
)
from anodefree.errors import ConfigError
from anodefree.models.continuum.mesh import MeshSettings
from anodefree.models.continuum.results import ContinuumMapResult  # noqa: TC001 (typer reads hints)


class Placement(StrEnum):
    """Where the island sits under the electrolyte domain."""

    centre = "centre"
    side = "side"


def _axis(
    explicit: list[float] | None, low: float, high: float, count: int, name: str
) -> list[float]:
    if explicit:
        return sorted(explicit)
    if not (0.0 < low <= high) or count < 1:
        raise typer.BadParameter(
            f"{name} range needs 0 < min <= max and a count >= 1, got min={low}, max={high}, "
            f"count={count}",
            param_hint=f"--{name}-min/--{name}-max/--n-{name}s",
        )
    return np.geomspace(low, high, count).tolist() if count > 1 else [low]


def _field_cases(specs: list[str] | None, widths: list[float], currents: list[float]):  # noqa: ANN202
    if not specs:  # default: the smallest island and the middle island, at the top current
        middle = widths[len(widths) // 2]
        return list(dict.fromkeys([(widths[0], currents[-1]), (middle, currents[-1])]))
    cases = []
    for spec in specs:
        try:
            width, current = (float(part) for part in spec.split(":"))
        except ValueError:
            raise typer.BadParameter(
                f"expected WIDTH:CURRENT (um:mA/cm^2), got {spec!r}", param_hint="--field"
            ) from None
        cases.append((width, current))
    return cases


def _summary(result: ContinuumMapResult, console: Console) -> None:
    widths = result.island_widths
    picks = sorted({0, len(widths) // 2, len(widths) - 1})
    table = Table(title="critical stripping current density (mA/cm^2) per island width")
    table.add_column("onset")
    table.add_column("compared with")
    for k in picks:
        table.add_column(f"{widths[k]:.3g} um", justify="right")
    for crossing in result.crossings:
        where = "island edge" if crossing.metric == "eta_island_max" else "exposed interface"
        table.add_row(
            f"{crossing.label} {crossing.onset:.3f} V",
            where,
            *(f"{crossing.critical_current_density[k]:.4g}" for k in picks),
        )
    console.print(table)
    console.print(
        f"{len(widths)} x {len(result.current_densities)} map in {result.wall_time:.2f} s; "
        f"largest current mismatch {result.max_current_balance_error:.1e} (relative)"
    )


def continuum_command(
    export: Annotated[
        Path | None,
        typer.Option(
            "--export",
            "-e",
            help="Continuum parameter file (JSON); default: the documented defaults.",
            dir_okay=False,
        ),
    ] = None,
    output_dir: Annotated[
        Path, typer.Option("--output-dir", "-o", help="Folder for the results and plots.")
    ] = Path("continuum"),
    width_min: Annotated[float, typer.Option(help="Smallest island width (um).")] = 1.0,
    width_max: Annotated[
        float | None, typer.Option(help="Largest island width (um); default: domain width.")
    ] = None,
    n_widths: Annotated[int, typer.Option(help="Island widths, log-spaced (count).")] = 30,
    current_min: Annotated[
        float, typer.Option(help="Smallest applied current density (mA/cm^2).")
    ] = 0.1,
    current_max: Annotated[
        float, typer.Option(help="Largest applied current density (mA/cm^2).")
    ] = 10.0,
    n_currents: Annotated[int, typer.Option(help="Current densities, log-spaced (count).")] = 30,
    width: Annotated[
        list[float] | None,
        typer.Option("--width", help="Island width (um), repeatable; replaces the range."),
    ] = None,
    current: Annotated[
        list[float] | None,
        typer.Option("--current", help="Current density (mA/cm^2), repeatable; replaces range."),
    ] = None,
    field: Annotated[
        list[str] | None,
        typer.Option(
            "--field",
            help="WIDTH:CURRENT (um:mA/cm^2) case whose potential field is plotted, "
            "repeatable; default: smallest and middle width at the largest current.",
        ),
    ] = None,
    placement: Annotated[
        Placement, typer.Option(help="Island centred in the domain or against one side.")
    ] = Placement.centre,
    capacity: Annotated[
        float,
        typer.Option(help="Areal capacity of one stripping step, for sqrt(4 D t) (mAh/cm^2)."),
    ] = 1.0,
    h_edge: Annotated[float, typer.Option(help="Mesh cell size at the island edge (um).")] = 0.1,
    order: Annotated[int, typer.Option(help="Finite-element order (1 or 2).")] = 2,
    refine: Annotated[int, typer.Option(help="Uniform mesh refinements (count).")] = 0,
    plots: Annotated[bool, typer.Option(help="Write the plots.")] = True,
) -> ContinuumMapResult:
    """Map the interfacial overpotential of a stripping Li island against alloy onsets."""
    console = Console()
    if export is None:
        parameters = ContinuumParameters()
        console.print("no --export given: using the documented default parameters")
    else:
        try:
            parameters = read_continuum_parameters(export)
        except ConfigError as error:
            raise typer.BadParameter(str(error), param_hint="--export") from error
    widths = _axis(width, width_min, width_max or parameters.domain_width, n_widths, "width")
    currents = _axis(current, current_min, current_max, n_currents, "current")
    cases = _field_cases(field, widths, currents)
    from anodefree.models.continuum.sweep import run_map  # scikit-fem: only when run

    try:
        mesh = MeshSettings(h_edge=h_edge, h_max=max(2.0, h_edge), order=order, refine=refine)
        result, fields = run_map(
            parameters,
            widths,
            currents,
            placement=placement.value,
            mesh=mesh,
            stripping_capacity=capacity,
            field_cases=cases,
            progress=True,
        )
    except ConfigError as error:
        raise typer.BadParameter(str(error)) from error

    output_dir.mkdir(parents=True, exist_ok=True)
    write_continuum_parameters(parameters, output_dir / "continuum_parameters.json")
    if plots:
        from anodefree.analysis.plotting.continuum import (
            plot_interdiffusion,
            plot_overpotential_map,
            plot_potential_field,
        )

        plot_overpotential_map(result, output_dir / "overpotential_map.png")
        named = []
        for case, data in zip(result.field_cases, fields, strict=True):
            name = f"field_{data.geometry.island_width:.4g}um_{data.current_density:.4g}mAcm2.png"
            plot_potential_field(data, output_dir / name)
            named.append(case.model_copy(update={"plot": name}))
        result = result.model_copy(update={"field_cases": named})
        if result.interdiffusion:
            plot_interdiffusion(result, output_dir / "interdiffusion.png")
    result.write(output_dir / "continuum_map.json")
    _summary(result, console)
    console.print(f"results in {output_dir}")
    return result
