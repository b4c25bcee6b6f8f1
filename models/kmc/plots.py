"""Plots of stripping KMC results (matplotlib imported lazily, Agg backend)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Sequence

    from anodefree.models.kmc.documents import KmcResult


def _pyplot():  # noqa: ANN202 - matplotlib.pyplot module
    import matplotlib as mpl

    mpl.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _capacity_axis(result: KmcResult) -> tuple[np.ndarray, str]:
    capacity = np.array([s.capacity for s in result.samples])
    return capacity, "stripped capacity (mAh/cm$^2$)"


def plot_contact_and_voids(results: Sequence[KmcResult], path: str | Path) -> Path:
    """Contact fraction, void count and mean void size versus stripped capacity.

    Parameters
    ----------
    results
        One or more runs (e.g. Li/Li2S, Li-Mg/Li2S, Li-Ag/Li2S) drawn on the same axes.
    path
        Image file to write.

    Returns
    -------
    Path
        The file written.
    """
    plt = _pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), constrained_layout=True)
    for result in results:
        x, label = _capacity_axis(result)
        name = result.system
        axes[0].plot(x, [s.contact_fraction for s in result.samples], marker=".", label=name)
        axes[1].plot(x, [s.n_voids for s in result.samples], marker=".", label=name)
        axes[2].plot(x, [s.mean_void_sites for s in result.samples], marker=".", label=name)
    titles = (
        "contact fraction of L1",
        f"interfacial voids (>= {results[0].settings.min_void_sites} sites)",
        "mean void size (sites)",
    )
    for axis, title in zip(axes, titles, strict=True):
        axis.set_xlabel(label)
        axis.ticklabel_format(axis="x", style="sci", scilimits=(0, 0))
        axis.set_title(title, fontsize=10)
        axis.grid(alpha=0.3)
    axes[0].set_ylim(-0.02, 1.02)
    axes[0].legend(fontsize=8)
    first = results[0]
    fig.suptitle(
        f"T = {first.settings.temperature:.0f} K, j = {first.settings.current_density:g} mA/cm$^2$,"
        f" acceleration S = {first.settings.acceleration:.3g}",
        fontsize=10,
    )
    path = Path(path)
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path


def plot_depth_profile(result: KmcResult, path: str | Path, max_layers: int = 20) -> Path:
    """Time-averaged vacancy fraction by layer at several stripped capacities.

    Parameters
    ----------
    result
        One run.
    path
        Image file to write.
    max_layers
        Number of layers shown, from L1.

    Returns
    -------
    Path
        The file written.
    """
    plt = _pyplot()
    fig, axis = plt.subplots(figsize=(5.5, 4), constrained_layout=True)
    samples = result.samples
    picks = sorted(set(np.linspace(0, len(samples) - 1, 5).round().astype(int).tolist()))
    for index in picks:
        sample = samples[index]
        profile = np.array(sample.vacancy_fraction_by_layer_average[:max_layers])
        layers = np.arange(1, len(profile) + 1)
        shown = np.where(profile > 0, profile, np.nan)
        axis.semilogy(
            layers,
            shown,
            marker="o",
            label=f"{sample.capacity:.2e} mAh/cm$^2$ ({sample.monolayers:.1f} ML)",
        )
    axis.set_xlabel("layer (1 = against the electrolyte)")
    axis.set_ylabel("vacancy fraction (time average)")
    axis.set_title(f"{result.system}: vacancy depth profile", fontsize=10)
    axis.grid(alpha=0.3, which="both")
    axis.legend(fontsize=7)
    path = Path(path)
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path


def plot_snapshots(snapshots_file: str | Path, path: str | Path, title: str = "") -> Path:
    """Occupancy maps of L1 (and L2 underneath) at the saved capacities.

    Parameters
    ----------
    snapshots_file
        npz file written by the runner.
    path
        Image file to write.
    title
        Figure title.

    Returns
    -------
    Path
        The file written.
    """
    plt = _pyplot()
    data = np.load(snapshots_file)
    occupancy, capacity = data["occupancy"], data["capacity"]
    positions = data["positions_l1"]
    n = max(len(capacity), 1)
    fig, axes = plt.subplots(1, n, figsize=(3.0 * n, 3.3), constrained_layout=True, squeeze=False)
    per_layer = positions.shape[0]
    colours = {0: "#d62728", 1: "#c7c7c7", 2: "#1f77b4"}
    for axis, occ, cap in zip(axes[0], occupancy, capacity, strict=False):
        l1, l2 = occ[:per_layer], occ[per_layer:]
        colour = [colours.get(int(v), "k") for v in l1]
        size = (0.8 * 200.0 / np.sqrt(per_layer)) ** 2
        axis.scatter(positions[:, 0], positions[:, 1], c=colour, s=size, marker="s", linewidths=0)
        under = (l1 == 0) & (l2[: len(l1)] == 0) if len(l2) >= len(l1) else np.zeros_like(l1, bool)
        axis.scatter(positions[under, 0], positions[under, 1], c="k", s=size * 0.2, marker=".")
        half = 0.5 * float(data["inplane_distance"])
        axis.set_xlim(positions[:, 0].min() - half, positions[:, 0].max() + half)
        axis.set_ylim(positions[:, 1].min() - half, positions[:, 1].max() + half)
        axis.set_aspect("equal")
        axis.set_xticks([])
        axis.set_yticks([])
        axis.set_title(f"{cap:.2e} mAh/cm$^2$\ncontact {np.mean(l1 != 0):.2f}", fontsize=8)
    fig.suptitle(
        (title + "\n" if title else "")
        + "L1 sites: grey Li, blue solute, red vacant (black dot: L2 below also vacant)",
        fontsize=9,
    )
    path = Path(path)
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path


def write_all_plots(result: KmcResult, folder: str | Path) -> list[Path]:
    """Write the standard plots of one run into ``folder``.

    Returns
    -------
    list[Path]
        The files written.
    """
    folder = Path(folder)
    written = [
        plot_contact_and_voids([result], folder / "kmc_contact_voids.png"),
        plot_depth_profile(result, folder / "kmc_depth_profile.png"),
    ]
    if result.snapshots_file:
        written.append(
            plot_snapshots(
                folder / result.snapshots_file, folder / "kmc_snapshots_l1.png", result.system
            )
        )
    return written
