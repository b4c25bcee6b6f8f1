"""Plots of the convergence scans (k-points, cutoff) of the validation stage."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from anodefree.analysis.documents.validation import ConvergenceStudyDocument


def _pyplot():  # noqa: ANN202
    import matplotlib as mpl

    mpl.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _axis_value(value: object, index: int) -> float:
    """Numeric x of a scanned value: a mesh becomes its number of points along a."""
    if isinstance(value, tuple | list):
        return float(value[0])
    return float(value) if isinstance(value, int | float) else float(index)


def plot_convergence_study(document: ConvergenceStudyDocument, path: Path) -> Path:
    """Plot |difference to the reference| of every scan on a log scale, with its tolerance."""
    plt = _pyplot()
    path.parent.mkdir(parents=True, exist_ok=True)
    n = len(document.tables)
    fig, axes = plt.subplots(1, n, figsize=(3.6 * n, 3.2), constrained_layout=True, squeeze=False)
    for ax, table in zip(axes[0], document.tables, strict=True):
        rows = table.rows[:-1]  # the reference itself has zero difference
        xs = [_axis_value(r.value, i) for i, r in enumerate(rows)]
        ys = [max(abs(r.difference), 1e-6) for r in rows]
        ax.semilogy(xs, ys, "o-", color="C0")
        ax.axhline(table.tolerance, color="C3", ls="--", label=f"tolerance {table.tolerance:g}")
        label = "k-mesh (points along a)" if table.setting == "kpoint_mesh" else table.setting
        ax.set_xlabel(label)
        ax.set_ylabel(f"|difference to reference| ({table.unit})")
        ax.set_title(table.quantity, fontsize=8)
        ax.legend(fontsize=7)
    fig.suptitle(document.calculator.label, fontsize=8)
    fig.savefig(path, dpi=150)
    plt.close(fig)
    return path
