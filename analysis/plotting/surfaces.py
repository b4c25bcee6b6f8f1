"""Plot of the surface-energy thickness series (matplotlib, Agg, imported lazily)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence

    from anodefree.analysis.documents.surfaces import SurfaceEnergyDocument


def _pyplot() -> Any:
    import matplotlib as mpl

    mpl.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_surface_series(documents: Sequence[SurfaceEnergyDocument], path: str | Path) -> Path:
    """Plot gamma (J/m^2) against slab thickness, one curve per facet.

    The band around each converged value is the convergence tolerance; open markers are
    slabs whose relaxation did not converge.
    """
    plt = _pyplot()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(5.0, 3.6), constrained_layout=True)
    for i, doc in enumerate(documents):
        color = f"C{i % 10}"
        x = [s.thickness for s in doc.slabs]
        y = [s.surface_energy for s in doc.slabs]
        ax.plot(x, y, "-", color=color, label=f"{doc.facet} ({doc.termination})")
        for s in doc.slabs:
            ax.plot(
                s.thickness,
                s.surface_energy,
                "o",
                color=color,
                mfc=color if s.converged else "none",
            )
        ax.axhspan(
            doc.surface_energy - doc.tolerance,
            doc.surface_energy + doc.tolerance,
            color=color,
            alpha=0.12,
            lw=0,
        )
    ax.set_xlabel("slab thickness (A, unrelaxed)")
    ax.set_ylabel("surface energy (J/m$^2$)")
    ax.set_title("bands: converged value +/- tolerance", fontsize=8)
    ax.legend(fontsize=7)
    fig.savefig(path, dpi=150)
    plt.close(fig)
    return path
