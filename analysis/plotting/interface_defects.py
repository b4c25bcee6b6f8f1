"""Plots of the interfacial point defects: layer profiles and the solute-vacancy interaction."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from anodefree.analysis.documents.interface_defects import InterfaceDefectDocument


def _pyplot():  # noqa: ANN202
    import matplotlib as mpl

    mpl.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_layer_profile(document: InterfaceDefectDocument, path: Path) -> Path:
    """Plot E_f by metal layer (and the solute's segregation and interaction) of one system.

    Left: the vacancy formation energy against the layer (L1 touches Li2S), the interior
    (dashed) and bulk bcc Li (dotted) as lines. Middle (with a solute): the segregation
    energy by layer. Right (with a solute): the L1 solute-vacancy interaction against the
    distance.
    """
    plt = _pyplot()
    path.parent.mkdir(parents=True, exist_ok=True)
    panels = 1 + bool(document.segregation) + bool(document.interaction)
    fig, axes = plt.subplots(1, panels, figsize=(3.6 * panels, 3.3), constrained_layout=True)
    axes = list(axes) if panels > 1 else [axes]
    ax = axes[0]
    from matplotlib.ticker import MaxNLocator

    layers = sorted(document.vacancy_profile, key=lambda p: p.layer)
    ax.plot(
        [p.layer for p in layers],
        [p.formation_energy for p in layers],
        "o-",
        color="C0",
        label="vacancy in layer L",
    )
    interior = next((p for p in document.vacancy_profile if p.interior), None)
    if interior is not None:
        ax.plot([interior.layer], [interior.formation_energy], "s", color="C0")
        ax.axhline(
            interior.formation_energy, color="C0", ls="--", lw=1,
            label=f"interior (L{interior.layer})",
        )  # fmt: skip
    if document.bulk_formation_energy is not None:
        ax.axhline(document.bulk_formation_energy, color="0.4", ls=":", lw=1, label="bcc Li bulk")
    ax.set_xlabel("metal layer (1 = touching Li2S)")
    ax.set_ylabel("vacancy formation energy (eV)")
    ax.set_title(f"{document.system}", fontsize=9)
    ax.legend(fontsize=7)
    k = 1
    if document.segregation:
        ax = axes[k]
        k += 1
        entries = sorted(document.segregation, key=lambda s: s.layer)
        ax.plot(
            [s.layer for s in entries],
            [s.segregation_energy for s in entries],
            "o-",
            color="C1",
        )
        ax.axhline(0.0, color="0.5", lw=0.8)
        ax.set_xlabel("metal layer of the solute")
        ax.set_ylabel(f"{document.solute} segregation energy (eV)")
        ax.set_title("negative: prefers the layer", fontsize=8)
    if document.interaction:
        ax = axes[k]
        entries = sorted(document.interaction, key=lambda i: i.distance)
        ax.plot(
            [i.distance for i in entries],
            [i.interaction_energy for i in entries],
            "o-",
            color="C2",
        )
        ax.axhline(0.0, color="0.5", lw=0.8)
        ax.set_xlabel(f"{document.solute}-vacancy distance in L1 (A)")
        ax.set_ylabel("interaction energy (eV)")
        ax.set_title("positive: repulsion", fontsize=8)
    for axis in axes[: 1 + bool(document.segregation)]:
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.savefig(path, dpi=150)
    plt.close(fig)
    return path
