"""Plots of the Li-Ag convex hull and its voltage profile (matplotlib, Agg, imported lazily).

* :func:`plot_hull`: formation energy per atom against Li fraction, the hull through its
  vertices, every candidate coloured by its origin, the named phases labelled;
* :func:`plot_voltage_profile`: the step-wise voltage versus Li per Ag (or Li fraction),
  with the delithiation onset marked.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from anodefree.analysis.documents.hull import HullDocument, VoltageProfile


def _pyplot() -> Any:
    import matplotlib as mpl

    mpl.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_hull(document: HullDocument, path: str | Path, *, show_unstable: bool = True) -> Path:
    """Plot the formation-energy diagram with its convex hull.

    Parameters
    ----------
    document
        A hull from :func:`anodefree.analysis.hull.li_ag_hull`.
    path
        Output file (format from the suffix).
    show_unstable
        Also draw the candidates above the hull.

    Returns
    -------
    Path
        The file written.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.6), constrained_layout=True)
    by_label = {row.label: row for row in document.rows}
    vertices = [by_label[label] for label in document.stable]
    ax.plot(
        [r.li_fraction for r in vertices],
        [1000 * r.formation_energy_per_atom for r in vertices],
        "-",
        color="black",
        lw=1.2,
        zorder=2,
        label="convex hull",
    )
    origins = sorted({row.origin or "other" for row in document.rows})
    markers = dict(zip(origins, "os^Dvp<>h*", strict=False))
    for origin in origins:
        rows = [
            r
            for r in document.rows
            if (r.origin or "other") == origin and (show_unstable or r.on_hull)
        ]
        if not rows:
            continue
        ax.scatter(
            [r.li_fraction for r in rows],
            [1000 * r.formation_energy_per_atom for r in rows],
            marker=markers.get(origin, "o"),
            s=28,
            alpha=0.75,
            zorder=3,
            label=origin,
        )
    for named in document.named_phases:
        if named.formation_energy_per_atom is None:
            continue
        colour = "black" if named.on_hull else "tab:red"
        ax.annotate(
            f"{named.phase}\n{1000 * (named.e_above_hull or 0):.0f}"
            if not named.on_hull
            else named.phase,
            (named.li_fraction, 1000 * named.formation_energy_per_atom),
            textcoords="offset points",
            xytext=(0, -14 if named.on_hull else 6),
            ha="center",
            va="top" if named.on_hull else "bottom",
            fontsize=8,
            color=colour,
        )
    ax.axhline(0, color="grey", lw=0.6)
    ax.set_xlim(-0.02, 1.02)
    ax.set_xlabel("Li fraction  x_Li = N_Li / (N_Li + N_Ag)")
    ax.set_ylabel("formation energy (meV/atom)")
    ax.set_title(f"Li-Ag hull, {document.calculator.label} (red: meV/atom above hull)", fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    path = Path(path)
    fig.savefig(path, dpi=150)
    plt.close(fig)
    return path


def plot_voltage_profile(
    profile: VoltageProfile,
    path: str | Path,
    *,
    x_axis: Literal["li_per_ag", "li_fraction"] = "li_per_ag",
    x_max: float | None = None,
) -> Path:
    """Plot the equilibrium voltage profile of Ag lithiation.

    Parameters
    ----------
    profile
        The voltage profile of a hull document.
    path
        Output file (format from the suffix).
    x_axis
        ``"li_per_ag"`` (x in Li_xAg) or ``"li_fraction"`` (Li atoms per atom).
    x_max
        Right end of the axis; beyond the last alloy step Li metal forms at 0 V (default:
        10 % beyond the last step).

    Returns
    -------
    Path
        The file written.
    """
    plt = _pyplot()
    if x_axis not in ("li_per_ag", "li_fraction"):
        msg = f"x_axis must be 'li_per_ag' or 'li_fraction', got {x_axis!r}"
        raise ValueError(msg)
    fig, ax = plt.subplots(figsize=(6.4, 4.2), constrained_layout=True)
    xs: list[float] = []
    vs: list[float] = []
    for step in profile.steps:
        start, end = (
            (step.x_start, step.x_end)
            if x_axis == "li_per_ag"
            else (step.li_fraction_start, step.li_fraction_end)
        )
        xs += [start, end]
        vs += [step.voltage, step.voltage]
    last = xs[-1] if xs else 0.0
    right = x_max if x_max is not None else (1.0 if x_axis == "li_fraction" else 1.1 * last + 0.5)
    xs += [last, right]
    vs += [0.0, 0.0]
    ax.plot(xs, vs, "-", color="tab:blue", lw=1.6)
    for step in profile.steps:
        middle = (
            (step.x_start + step.x_end) / 2
            if x_axis == "li_per_ag"
            else (step.li_fraction_start + step.li_fraction_end) / 2
        )
        ax.annotate(
            f"{1000 * step.voltage:.0f} mV",
            (middle, step.voltage),
            textcoords="offset points",
            xytext=(0, 4),
            ha="center",
            fontsize=7,
        )
    if profile.delithiation_onset is not None:
        ax.axhline(
            profile.delithiation_onset,
            color="tab:red",
            ls="--",
            lw=0.9,
            label=f"delithiation onset {1000 * profile.delithiation_onset:.0f} mV "
            f"({' / '.join(profile.onset_region)})",
        )
        ax.legend(fontsize=7)
    ax.set_xlabel("x in Li_xAg" if x_axis == "li_per_ag" else "Li fraction")
    ax.set_ylabel("voltage (V vs Li+/Li)")
    ax.set_xlim(0, right)
    ax.set_title(f"Ag lithiation at 0 K, {profile.calculator.label}", fontsize=9)
    path = Path(path)
    fig.savefig(path, dpi=150)
    plt.close(fig)
    return path
