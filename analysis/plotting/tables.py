"""Plots of property tables (:mod:`anodefree.analysis.queries`): one quantity against a parameter.

The figures are plain ``matplotlib.figure.Figure`` objects (no pyplot state), so they
display in notebooks and save to files alike::

    table = queries.property_table(store, "solute_vacancy")
    fig = plot_quantity(table, "binding_energy", x="distance_A", by="solute")
    fig.savefig("binding.png")
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


def plot_quantity(
    table: pd.DataFrame,
    quantity: str,
    x: str,
    *,
    by: str | list[str] = "system",
    ax: Axes | None = None,
    xlabel: str | None = None,
    reference: bool = True,
    title: str | None = None,
) -> Figure:
    """Plot one quantity of a property table against a parameter column.

    One line per group of ``by`` (and always per calculator, since numbers of different
    calculators are never mixed on one line). Flagged rows (unconverged inputs, failed
    checks) are drawn as red open circles; references, where the table has them, as
    dashed lines in the colour of their group.

    Parameters
    ----------
    table
        A table of :func:`anodefree.analysis.queries.property_table`.
    quantity
        The ``quantity`` to plot, e.g. ``"vacancy_formation_energy"``.
    x
        Column on the x axis, e.g. ``"n_atoms"``, ``"distance_A"``, ``"layer"``.
    by
        Column(s) grouping the rows into lines.
    ax
        Axes to draw in; default: a new 4.8 x 3.6 inch figure.
    xlabel
        Label of the x axis (default: the column name).
    reference
        Draw the references of the rows.
    title
        Title of the axes.

    Returns
    -------
    Figure
        The figure of the axes.

    Raises
    ------
    ValueError
        If the table has no row of ``quantity`` or no column ``x``.
    """
    rows = table[table["quantity"] == quantity]
    if rows.empty:
        known = ", ".join(sorted(set(table["quantity"]))) or "none"
        raise ValueError(f"no rows of quantity {quantity!r} in the table (it has: {known})")
    if x not in rows:
        raise ValueError(f"no column {x!r} in the table; columns: {', '.join(table.columns)}")
    groups = [by] if isinstance(by, str) else list(by)
    if ax is None:
        from matplotlib.figure import Figure

        fig = Figure(figsize=(4.8, 3.6), constrained_layout=True)
        ax = fig.subplots()
    keys = [*groups, "calculator"]
    for index, (key, group) in enumerate(rows.groupby(keys, dropna=False, sort=True)):
        colour = f"C{index % 10}"
        group = group.sort_values(x)  # noqa: PLW2901
        parts = [str(k) for k in (key if isinstance(key, tuple) else (key,))]
        one_calculator = len(set(rows["calculator"])) == 1
        label = ", ".join(parts[:-1]) if one_calculator else ", ".join(parts)
        ax.plot(group[x], group["value"], "o-", color=colour, label=label)
        flagged = group[group["flagged"]]
        if not flagged.empty:
            ax.plot(flagged[x], flagged["value"], "o", mfc="none", mec="red", ms=11)
        references = group["reference"].dropna().unique() if reference else []
        for value in references:
            ax.axhline(value, color=colour, ls="--", lw=1)
    unit = rows["unit"].iloc[0]
    ax.set_xlabel(xlabel or x)
    ax.set_ylabel(f"{quantity.replace('_', ' ')} ({unit})")
    if title:
        ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    return ax.figure
