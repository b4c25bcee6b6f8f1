"""Plots of the adhesion documents (matplotlib, Agg, imported lazily).

* :func:`plot_separation_curves`: rigid adhesion energy against interfacial separation,
  one curve per interface, the chosen and the relaxed separations marked;
* :func:`plot_registry_map`: rigid interface energy over the in-plane registry (one
  primitive cell, periodic replicas drawn), the chosen registry marked;
* :func:`render_interface`: side views of the relaxed interface (ASE's ``plot_atoms``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from anodefree.analysis.energetics import EV_PER_A2_TO_J_PER_M2

if TYPE_CHECKING:
    from collections.abc import Sequence

    from anodefree.analysis.documents.adhesion import AdhesionDocument, RigidScan


def _pyplot() -> Any:
    import matplotlib as mpl

    mpl.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _name(document: AdhesionDocument) -> str:
    if document.placement == "pure":
        return document.system
    return f"{document.system} ({document.placement})"


def plot_separation_curves(documents: Sequence[AdhesionDocument], path: str | Path) -> Path:
    """Plot the rigid adhesion energy W(d) (J/m^2) against the separation d (A).

    W(d) = (E_film + E_substrate - E_interface(d)) / A with the unrelaxed slabs; its
    maximum is the ideal W_ad. Filled markers: the separation used; open: after relaxation.
    """
    plt = _pyplot()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(5.2, 3.8), constrained_layout=True)
    for i, doc in enumerate(documents):
        d = [p.separation for p in doc.separation_curve]
        w = [p.adhesion_energy for p in doc.separation_curve]
        color = f"C{i % 10}"
        shared = " (scans of the pure cell)" if not doc.separation_curve else ""
        ax.plot(d, w, "o-", ms=3.5, color=color, label=_name(doc) + shared)
        ax.plot([doc.best_separation], [doc.w_ad_ideal], "*", ms=11, color=color, mec="k")
        if doc.relaxed_separation is not None and doc.w_ad_relaxed is not None:
            ax.plot(
                [doc.relaxed_separation], [doc.w_ad_relaxed], "D", ms=6, mfc="none", color=color
            )
    ax.axhline(0.0, color="0.6", lw=0.8)
    ax.set_xlabel("interfacial separation d (A)")
    ax.set_ylabel("rigid adhesion energy W(d) (J/m$^2$)")
    ax.set_title("star: ideal W_ad (rigid); diamond: relaxed W_ad at relaxed d", fontsize=8)
    ax.legend(fontsize=7)
    fig.savefig(path, dpi=150)
    plt.close(fig)
    return path


def plot_registry_map(scan: RigidScan, area: float, path: str | Path, title: str = "") -> Path:
    """Plot the registry scan: energy (mJ/m^2 above the best registry) over one cell.

    Parameters
    ----------
    scan
        A registry scan with ``grid_vectors`` and grid indices.
    area
        Interface area (A^2) to express energies per area.
    path
        Output file.
    title
        Figure title.
    """
    plt = _pyplot()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if scan.grid is None or scan.grid_vectors is None:
        msg = "a registry map needs a registry scan with its grid"
        raise ValueError(msg)
    n_a, n_b = scan.grid
    v = np.array(scan.grid_vectors)
    xy, values = [], []
    for p in scan.points:
        i, j = p.grid_index or (0, 0)
        mj = 1000 * p.relative_energy / area * EV_PER_A2_TO_J_PER_M2
        for di in (-1, 0, 1):  # periodic replicas for a continuous map
            for dj in (-1, 0, 1):
                xy.append(np.array([i / n_a + di, j / n_b + dj]) @ v)
                values.append(mj)
    xy_arr, val = np.array(xy), np.array(values)
    fig, ax = plt.subplots(figsize=(4.6, 4.0), constrained_layout=True)
    corners = np.array([[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]) @ v
    margin = 0.25 * np.linalg.norm(v, axis=1).max()
    keep = (
        (xy_arr[:, 0] > corners[:, 0].min() - margin)
        & (xy_arr[:, 0] < corners[:, 0].max() + margin)
        & (xy_arr[:, 1] > corners[:, 1].min() - margin)
        & (xy_arr[:, 1] < corners[:, 1].max() + margin)
    )
    if len(scan.points) >= 3 and np.ptp(val) > 0:
        contour = ax.tricontourf(xy_arr[keep, 0], xy_arr[keep, 1], val[keep], levels=12)
        fig.colorbar(contour, ax=ax, label="E - E$_{min}$ (mJ/m$^2$)")
    ax.scatter(xy_arr[keep, 0], xy_arr[keep, 1], c="k", s=6)
    ax.plot(corners[:, 0], corners[:, 1], "w--", lw=1)
    best = scan.points[scan.best_index].grid_index or (0, 0)
    star = np.array([best[0] / n_a, best[1] / n_b]) @ v
    ax.plot(*star, "*", ms=14, color="red", mec="k")
    ax.set_aspect("equal")
    ax.set_xlabel("x shift (A)")
    ax.set_ylabel("y shift (A)")
    ax.set_title(title or f"{scan.system}: registry at d = {scan.points[0].separation:.2f} A")
    fig.savefig(path, dpi=150)
    plt.close(fig)
    return path


def render_interface(document: AdhesionDocument, path: str | Path) -> Path:
    """Draw side views (along y and along x) of the relaxed interface as a PNG.

    Atoms are coloured by element (ASE's jmol colours), the cell is outlined; the film is
    on top of the substrate, vacuum above.
    """
    from ase.visualize.plot import plot_atoms
    from pymatgen.io.ase import AseAtomsAdaptor

    plt = _pyplot()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    structure = document.relaxed_structure
    state = "relaxed"
    if structure is None:
        msg = f"{_name(document)}: no relaxed structure to draw"
        raise ValueError(msg)
    atoms = AseAtomsAdaptor.get_atoms(structure)
    atoms.set_constraint()
    fig, axes = plt.subplots(1, 2, figsize=(7.5, 5.0), constrained_layout=True)
    for ax, rotation, view in zip(axes, ("-90x", "-90x,90y"), ("along y", "along x"), strict=True):
        plot_atoms(atoms, ax, rotation=rotation, radii=0.55, show_unit_cell=2)
        ax.set_title(view, fontsize=9)
        ax.set_axis_off()
    symbols = sorted(set(atoms.get_chemical_symbols()))
    fig.suptitle(
        f"{_name(document)} ({state}): {', '.join(symbols)}; {document.n_atoms} atoms, "
        f"{document.area:.1f} A$^2$",
        fontsize=10,
    )
    from ase.data import atomic_numbers
    from ase.data.colors import jmol_colors

    handles = [
        plt.Line2D(
            [], [], marker="o", ls="", ms=8, mec="k", color=jmol_colors[atomic_numbers[s]], label=s
        )
        for s in symbols
    ]
    axes[1].legend(handles=handles, loc="upper right", fontsize=8)
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path
