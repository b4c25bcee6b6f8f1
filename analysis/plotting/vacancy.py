"""Plots of the bulk vacancy series."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from anodefree.analysis.documents.vacancy import BulkVacancyDocument, SoluteVacancyDocument


def _pyplot():  # noqa: ANN202
    import matplotlib as mpl

    mpl.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_vacancy_size_series(document: BulkVacancyDocument, path: Path) -> Path:
    """Plot E_f against 1/N (the finite-size error falls roughly as 1/N)."""
    plt = _pyplot()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(4.5, 3.4), constrained_layout=True)
    inverse = [1 / s.n_atoms for s in document.sizes]
    energies = [s.formation_energy for s in document.sizes]
    ax.plot(inverse, energies, "o-", color="C0", label=document.calculator.label)
    for s, x, y in zip(document.sizes, inverse, energies, strict=True):
        ax.annotate(f"{s.n_atoms}", (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
    ax.axhline(document.reference_pbe, color="0.5", ls="--", label="PBE reference")
    ax.set_xlabel("1 / N (atoms$^{-1}$)")
    ax.set_ylabel("vacancy formation energy (eV)")
    ax.set_xlim(left=0)
    ax.legend(fontsize=8)
    fig.savefig(path, dpi=150)
    plt.close(fig)
    return path


def plot_solute_vacancy(documents: Sequence[SoluteVacancyDocument], path: Path) -> Path:
    """Plot E_f of a vacancy against its distance from each solute."""
    plt = _pyplot()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(4.5, 3.4), constrained_layout=True)
    for i, doc in enumerate(documents):
        distances = [s.distance for s in doc.shells]
        energies = [s.formation_energy for s in doc.shells]
        ax.plot(distances, energies, "o-", color=f"C{i}", label=f"next to {doc.solute}")
        ax.axhline(doc.pure_formation_energy, color=f"C{i}", ls=":", lw=1)
    ax.set_xlabel("solute-vacancy distance (A)")
    ax.set_ylabel("vacancy formation energy (eV)")
    ax.set_title("dotted: pure Li, same cell", fontsize=8)
    ax.legend(fontsize=8)
    fig.savefig(path, dpi=150)
    plt.close(fig)
    return path
