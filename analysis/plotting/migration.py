"""Plots of migration: NEB energy profiles and Arrhenius plots of diffusivities."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from anodefree.analysis.documents.migration import (
        MigrationBarrierDocument,
        VacancyDiffusionDocument,
    )


def _pyplot():  # noqa: ANN202
    import matplotlib as mpl

    mpl.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_energy_profiles(documents: Sequence[MigrationBarrierDocument], path: Path) -> Path:
    """Plot the NEB energy profile of every hop against the normalised path coordinate.

    Markers are the images (the climbing image filled black), lines a monotone cubic
    interpolation between them; the dashed grey ticks are the PBE reference barriers.
    """
    from scipy.interpolate import PchipInterpolator

    plt = _pyplot()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(5.2, 3.8), constrained_layout=True)
    for i, doc in enumerate(documents):
        s = np.asarray(doc.reaction_coordinate) / doc.reaction_coordinate[-1]
        e = 1000 * np.asarray(doc.energies)
        fine = np.linspace(0, 1, 200)
        color = f"C{i % 10}"
        label = doc.hop + ("" if doc.neb_converged else " (NOT CONVERGED)")
        ax.plot(fine, PchipInterpolator(s, e)(fine), color=color, lw=1.2)
        ax.plot(s, e, "o", color=color, ms=4, label=label)
        ax.plot(s[doc.climbing_index], e[doc.climbing_index], "o", color="k", ms=4)
        if doc.reference is not None:
            ax.plot([0.42, 0.58], [1000 * doc.reference] * 2, "--", color=color, lw=1)
    ax.set_xlabel("normalised path coordinate")
    ax.set_ylabel("energy relative to the initial state (meV)")
    calc = documents[0].calculator.label if documents else ""
    ax.set_title(f"NEB profiles ({calc}); dashes: PBE reference", fontsize=8)
    ax.legend(fontsize=6, loc="best")
    fig.savefig(path, dpi=150)
    plt.close(fig)
    return path


def plot_arrhenius(document: VacancyDiffusionDocument, path: Path) -> Path:
    """Plot log10 D against 1000/T for every species, with the reported temperatures marked."""
    plt = _pyplot()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(4.8, 3.6), constrained_layout=True)
    for i, entry in enumerate(document.species):
        color = f"C{i % 10}"
        x = [1000 / p.temperature for p in entry.points]
        y = [p.diffusivity for p in entry.points]
        label = f"{entry.species} ({entry.kind}), Q = {entry.activation_energy:.3f} eV" + (
            " (flagged)" if entry.flagged else ""
        )
        ax.semilogy(x, y, "-", color=color, label=label)
        ax.semilogy(
            [1000 / p.temperature for p in entry.reported],
            [p.diffusivity for p in entry.reported],
            "o",
            color=color,
            ms=4,
        )
    for p in document.species[0].reported if document.species else []:
        ax.axvline(1000 / p.temperature, color="0.7", lw=0.8, ls=":")
    ax.set_xlabel("1000 / T (1/K)")
    ax.set_ylabel("D (m$^2$/s)")
    ax.set_title(
        f"vacancy-mediated diffusion in bcc {document.host} ({document.calculator.label})",
        fontsize=8,
    )
    ax.legend(fontsize=6)
    fig.savefig(path, dpi=150)
    plt.close(fig)
    return path
