"""Plots of the continuum current-constriction model (matplotlib, Agg, imported lazily).

* :func:`plot_overpotential_map`: the island-edge overpotential over island width and
  applied current density, with the critical current density of every alloy onset;
* :func:`plot_potential_field`: the electrolyte potential of one case over the full domain,
  with the overpotential and current density along the bottom;
* :func:`plot_interdiffusion`: the solute interdiffusion length per stripping step.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from anodefree.models.continuum.results import ContinuumMapResult
    from anodefree.models.continuum.solver import PotentialField

_METRIC_STYLE = {"eta_island_max": "-", "eta_bottom_max": "--"}
_METRIC_NAME = {
    "eta_island_max": "island edge",
    "eta_bottom_max": "exposed interface",
}


def _pyplot() -> Any:
    import matplotlib as mpl

    mpl.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_overpotential_map(
    result: ContinuumMapResult, path: str | Path, *, metric: str = "eta_island_max"
) -> Path:
    """Plot an overpotential map with the onset crossings.

    The colour map is the chosen metric over island width (x, log) and applied current
    density (y, log). Each onset adds the exact critical current density per width: solid
    for the island-edge overpotential, dashed for phi_metal - phi_electrolyte on the exposed
    interface beside the island. Above a line, that overpotential exceeds the onset and the
    alloy delithiates.

    Parameters
    ----------
    result
        A map from :func:`anodefree.models.continuum.sweep.run_map`.
    path
        Output file (format from the suffix).
    metric
        ``"eta_island_max"``, ``"eta_island_mean"``, ``"eta_bottom_max"`` or
        ``"cell_polarisation"`` for the colours.

    Returns
    -------
    Path
        The file written.
    """
    plt = _pyplot()
    widths = np.asarray(result.island_widths)
    currents = np.asarray(result.current_densities)
    values = np.asarray(getattr(result, metric)) * 1e3  # mV, [width][current]
    fig, ax = plt.subplots(figsize=(6.4, 5.6), constrained_layout=True)
    if widths.size > 1 and currents.size > 1:
        mesh = ax.pcolormesh(widths, currents, values.T, shading="gouraud", cmap="viridis")
        levels = [lvl for lvl in (10, 20, 50, 100, 200, 500) if values.min() < lvl < values.max()]
        if levels:
            lines = ax.contour(
                widths, currents, values.T, levels=levels, colors="white", linewidths=0.6, alpha=0.7
            )
            ax.clabel(lines, fmt="%g mV", fontsize=7)
        fig.colorbar(mesh, ax=ax, label=f"{metric.replace('_', ' ')} (mV)")
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    labels = list(dict.fromkeys(c.label for c in result.crossings))
    for crossing in result.crossings:
        colour = colours[(labels.index(crossing.label) + 1) % len(colours)]
        name = f"{crossing.label}, {crossing.onset * 1e3:.0f} mV ({_METRIC_NAME[crossing.metric]})"
        ax.plot(
            widths,
            crossing.critical_current_density,
            _METRIC_STYLE[crossing.metric],
            color=colour,
            lw=1.8,
            label=name,
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(widths.min(), widths.max())
    ax.set_ylim(currents.min(), currents.max())
    ax.set_xlabel("island width (um)")
    ax.set_ylabel("applied stripping current density (mA/cm$^2$)")
    p = result.parameters
    ax.set_title(
        f"W x H = {p.domain_width:g} x {p.domain_height:g} um, kappa = "
        f"{p.conductivity.value:g} S/cm, i0 = {p.exchange_current_density.value:g} mA/cm$^2$",
        fontsize=8,
    )
    if result.crossings:
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncols=1)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=150)
    plt.close(fig)
    return path


def _mirror(field: PotentialField) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Vertices, triangles and potential over the full domain."""
    x, y, phi, triangles = field.x, field.y, field.phi, field.triangles
    g = field.geometry
    if g.placement != "centre":
        return x, y, triangles, phi
    centre = g.domain_width / 2
    n = x.size
    x_full = np.concatenate([centre + x, centre - x])
    y_full = np.concatenate([y, y])
    tri_full = np.vstack([triangles, triangles[:, ::-1] + n])
    return x_full, y_full, tri_full, np.concatenate([phi, phi])


def plot_potential_field(field: PotentialField, path: str | Path) -> Path:
    """Plot the electrolyte potential of one case and the profiles along the bottom.

    Parameters
    ----------
    field
        From :meth:`anodefree.models.continuum.solver.IslandSolver.potential_field`.
    path
        Output file (format from the suffix).

    Returns
    -------
    Path
        The file written.
    """
    from matplotlib.tri import Triangulation

    from anodefree.models.continuum.sweep import full_domain_profile

    plt = _pyplot()
    g = field.geometry
    m = field.metrics
    x, y, triangles, phi = _mirror(field)
    tri = Triangulation(x, y, triangles)
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(7.5, 5.5), height_ratios=[1.0, 1.0], constrained_layout=True
    )
    drop = -phi * 1e3  # phi_metal - phi (mV)
    filled = top.tricontourf(tri, drop, levels=30, cmap="magma")
    top.tricontour(tri, drop, levels=12, colors="white", linewidths=0.4, alpha=0.6)
    fig.colorbar(filled, ax=top, label="phi_metal - phi (mV)")
    profile = full_domain_profile(field)
    px = np.asarray(profile.x)
    on_island = np.asarray(profile.current_density) > 0.0
    start = (g.domain_width - g.island_width) / 2 if g.placement == "centre" else 0.0
    top.plot(
        [start, start + g.island_width],
        [0, 0],
        color="#3b9cff",
        lw=6,
        solid_capstyle="butt",
        label="Li island",
        clip_on=False,
    )
    top.set_xlim(0, g.domain_width)
    top.set_ylim(0, g.domain_height)
    top.set_xlabel("x (um)")
    top.set_ylabel("y (um)")
    top.legend(loc="upper right", fontsize=7)
    top.set_title(
        f"island {g.island_width:.3g} um, {field.current_density:g} mA/cm$^2$: "
        f"eta max {m.eta_island_max * 1e3:.1f} mV, mean {m.eta_island_mean * 1e3:.1f} mV, "
        f"exposed max {m.eta_bottom_max * 1e3:.1f} mV",
        fontsize=8,
    )
    bottom.plot(px, np.asarray(profile.eta) * 1e3, color="k", label="phi_metal - phi")
    bottom.set_xlabel("x along the bottom (um)")
    bottom.set_ylabel("phi_metal - phi (mV)")
    bottom.set_xlim(0, g.domain_width)
    twin = bottom.twinx()
    current = np.where(on_island, profile.current_density, np.nan)
    twin.plot(px, current, color="#d6604d", label="Butler-Volmer current")
    twin.set_ylabel("island current density (mA/cm$^2$)", color="#d6604d")
    bottom.legend(loc="center left", fontsize=7)
    twin.legend(loc="center right", fontsize=7)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=150)
    plt.close(fig)
    return path


def plot_interdiffusion(result: ContinuumMapResult, path: str | Path) -> Path:
    """Plot the interdiffusion length of every solute against current density.

    Parameters
    ----------
    result
        A map with ``interdiffusion`` entries.
    path
        Output file (format from the suffix).

    Returns
    -------
    Path
        The file written.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.0, 3.8), constrained_layout=True)
    solutes = dict.fromkeys((e.solute, e.host) for e in result.interdiffusion)
    for solute, host in solutes:
        rows = [e for e in result.interdiffusion if (e.solute, e.host) == (solute, host)]
        ax.plot(
            [e.current_density for e in rows],
            [e.length for e in rows],
            "o-",
            ms=3,
            label=f"{solute} in {host}, D = {rows[0].diffusivity:.2e} cm$^2$/s",
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("applied current density (mA/cm$^2$)")
    ax.set_ylabel("sqrt(4 D t) (um)")
    ax.set_title(f"t = time to strip {result.stripping_capacity:g} mAh/cm$^2$", fontsize=8)
    ax.legend(fontsize=7)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=150)
    plt.close(fig)
    return path
