"""Plots of the mesoscale step: contact fraction and voids versus stripped capacity."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from anodefree.analysis.documents.mesoscale import MesoscaleDocument


def _pyplot() -> Any:
    import matplotlib as mpl

    mpl.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_stripping(document: MesoscaleDocument, path: str | Path) -> Path:
    """Plot contact fraction and void count of every system versus stripped capacity.

    Parameters
    ----------
    document
        The mesoscale document.
    path
        Output file (format from the suffix).

    Returns
    -------
    Path
        The file written.
    """
    plt = _pyplot()
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(6.0, 6.0), sharex=True)
    for curve in document.systems:
        top.plot(curve.capacity, curve.contact_fraction, marker="o", ms=3, label=curve.system)
        bottom.plot(curve.capacity, curve.n_voids, marker="o", ms=3, label=curve.system)
    top.set_ylabel("contact fraction of L1")
    bottom.set_ylabel("interfacial voids (count)")
    bottom.set_xlabel("stripped capacity (mAh/cm$^2$)")
    top.legend(frameon=False)
    top.set_title(
        f"KMC, {document.current_density:g} mA/cm$^2$, {document.temperature:g} K, "
        f"{document.calculator.label}",
        fontsize=9,
    )
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path
