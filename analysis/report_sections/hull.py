"""Report section of the Li-Ag convex hull: table, search counts, onset and plots."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from anodefree.analysis.report import ReportRow, Section, register_section

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from anodefree.analysis.documents.hull import NamedPhaseRow
    from anodefree.analysis.documents.hull_study import HullStudyDocument

#: What the PBEsol reference study found for each named compound (../shared/science.md):
#: on the hull (True) or slightly above it (False), configurational entropy not included.
PBESOL_ON_HULL: dict[str, bool] = {
    "LiAg": True,
    "Li9Ag4": True,
    "Li3Ag": True,
    "Li10Ag3": False,
    "Li12Ag": False,
}
PBESOL_SOURCE = "PBEsol reference study (VASP, PAW, 520 eV)"
PBESOL_SUMMARY = (
    "The PBEsol reference study (VASP, PAW, 520 eV, gamma-brass orderings enumerated with "
    "pymatgen) finds LiAg, Li9Ag4 and Li3Ag on the Li-Ag hull and Li10Ag3 and Li12Ag slightly "
    "above it (configurational entropy not included)."
)
#: Measured delithiation onset of lithiated Ag (../shared/science.md, continuum model).
MEASURED_ONSET_V = 0.05
MEASURED_ONSET_SOURCE = "measured, Li-Ag interlayer (as quoted by the continuum study)"


def _yes_no(value: bool | None) -> str:
    return "n/a" if value is None else ("yes" if value else "no")


def _pbesol(phase: str) -> str:
    if phase in ("Li", "Ag"):
        return "reference"
    if phase not in PBESOL_ON_HULL:
        return "-"
    return "on hull" if PBESOL_ON_HULL[phase] else "slightly above"


def _agreement(named: NamedPhaseRow) -> str:
    if named.phase not in PBESOL_ON_HULL or named.on_hull is None:
        return ""
    same = named.on_hull == PBESOL_ON_HULL[named.phase]
    return "agrees with PBEsol" if same else "differs from PBEsol"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower()


def hull_table_markdown(document: HullStudyDocument) -> str:
    """Markdown table of the named phases: E_f, E above hull (meV/atom), on hull, PBEsol."""
    rows = {row.label: row for row in document.hull.rows}
    lines = [
        (
            "| phase | lowest candidate | E_f (meV/atom) | E above hull (meV/atom) | on hull "
            "| PBEsol reference |"
        ),
        "|---|---|---:|---:|---|---|",
    ]
    for named in document.hull.named_phases:
        if named.best_label is None:
            lines.append(f"| {named.phase} | not computed | | | n/a | {_pbesol(named.phase)} |")
            continue
        converged = rows[named.best_label].converged
        flag = "" if converged else " (NOT CONVERGED)"
        group = document.space_groups.get(named.best_label)
        group = f", {group}" if group else ""
        lines.append(
            f"| {named.phase} | {named.best_label}{group}{flag} (of {named.n_candidates}) | "
            f"{1000 * named.formation_energy_per_atom:.1f} | {1000 * named.e_above_hull:.1f} | "
            f"{_yes_no(named.on_hull)} | {_pbesol(named.phase)} |"
        )
    return "\n".join(lines)


def _prototypes_text(document: HullStudyDocument) -> str | None:
    """One line: every relaxed named prototype and its energy above the hull."""
    parts = []
    for row in document.hull.rows:
        if row.origin not in ("prototype", "gamma-parent"):
            continue
        group = document.space_groups.get(row.label)
        parts.append(
            f"{row.label}{f' ({group})' if group else ''} {1000 * row.e_above_hull:.1f} meV/atom"
        )
    if not parts:
        return None
    return "Named prototypes, energy above the hull: " + ", ".join(parts) + "."


def _counts_text(document: HullStudyDocument) -> str:
    counts = document.counts
    per_source = "; ".join(
        f"{s.source}: {s.n_enumerated} of {s.n_distinct} distinct"
        + (
            f", {s.n_duplicates_of_named} equal to a named prototype"
            if s.n_duplicates_of_named
            else ""
        )
        + f", {s.n_selected} kept ({s.keep_per_composition} per composition)"
        for s in counts.sources
    )
    method = (
        f"single points of the ideal structures with {document.prescreen_calculator.label}"
        if document.prescreen_calculator is not None
        else f"{document.prescreen_method} energies"
    )
    return (
        f"Search: {counts.n_enumerated} structures enumerated, {counts.n_prescreened} "
        f"prescreened ({method}), {counts.n_selected} selected; {counts.n_relaxed} full "
        f"relaxations ({counts.n_named} named prototypes + {counts.n_selected} selected): "
        f"{counts.n_computed} computed, {counts.n_reused} reused from the store, "
        f"{counts.n_unconverged} not converged, {counts.n_failed} failed. {per_source}."
    )


def _count_rows(document: HullStudyDocument, title: str, calc: str) -> list[ReportRow]:
    counts = document.counts
    values = [
        ("structures enumerated (derivatives + gamma decorations)", counts.n_enumerated, ""),
        ("structures prescreened", counts.n_prescreened, document.prescreen_method),
        ("structures selected by the prescreen", counts.n_selected, ""),
        (
            "structures relaxed (named + selected)",
            counts.n_relaxed,
            (
                f"{counts.n_computed} computed, {counts.n_reused} reused, "
                f"{counts.n_unconverged} unconverged, {counts.n_failed} failed"
            ),
        ),
    ]
    return [
        ReportRow(
            section=title,
            quantity=quantity,
            value=float(value),
            unit="count",
            calculator=calc,
            note=note,
            flagged=quantity.startswith("structures relaxed")
            and bool(counts.n_unconverged or counts.n_failed),
        )
        for quantity, value, note in values
    ]


def _phase_rows(document: HullStudyDocument, title: str, calc: str) -> list[ReportRow]:
    rows = {row.label: row for row in document.hull.rows}
    out = []
    for named in document.hull.named_phases:
        if named.best_label is None:
            out.append(
                ReportRow(
                    section=title,
                    quantity=f"E above hull, {named.phase}",
                    value=None,
                    unit="meV/atom",
                    calculator=calc,
                    note="no candidate computed",
                )
            )
            continue
        unconverged = not rows[named.best_label].converged
        base = f"{named.best_label} (lowest of {named.n_candidates})"
        if unconverged:
            base += "; NOT CONVERGED"
        out.append(
            ReportRow(
                section=title,
                quantity=f"E_f, {named.phase}",
                value=1000 * named.formation_energy_per_atom,
                unit="meV/atom",
                calculator=calc,
                note=base,
                flagged=unconverged,
            )
        )
        agreement = _agreement(named)
        out.append(
            ReportRow(
                section=title,
                quantity=f"E above hull, {named.phase}",
                value=1000 * named.e_above_hull,
                unit="meV/atom",
                calculator=calc,
                note=f"on hull: {_yes_no(named.on_hull)}; PBEsol reference: "
                f"{_pbesol(named.phase)}" + (f" ({agreement})" if agreement else ""),
                flagged=unconverged,
            )
        )
    return out


def _onset_row(document: HullStudyDocument, title: str, calc: str) -> ReportRow:
    profile = document.hull.voltage_profile
    rows = {row.label: row for row in document.hull.rows}
    region = " / ".join(rows[label].formula for label in profile.onset_region if label in rows)
    return ReportRow(
        section=title,
        quantity="delithiation onset (most Li-rich two-phase region)",
        value=profile.delithiation_onset,
        unit="V vs Li+/Li",
        calculator=calc,
        reference=MEASURED_ONSET_V,
        reference_source=MEASURED_ONSET_SOURCE,
        note=f"region {region} ({' / '.join(profile.onset_region)}); 0 K"
        if profile.onset_region
        else "no Li-Ag compound on the hull",
        flagged=profile.delithiation_onset is None,
    )


@register_section("HullStudyDocument")
def hull_section(documents: Sequence[HullStudyDocument], figure_dir: Path | None) -> Section:
    """Build the Li-Ag hull section: named-phase table, counts, onset and plots."""
    section = Section(title="Li-Ag convex hull and voltage profile", order=70)
    section.text.append(
        "Formation energies per atom against bcc Li and fcc Ag; every candidate fully relaxed "
        "(cell and positions) with one calculator; each named phase is represented by its "
        "lowest-energy candidate. The onset is the average voltage of the most Li-rich "
        "two-phase region of the hull (0 K, no configurational entropy). " + PBESOL_SUMMARY
    )
    for number, document in enumerate(documents):
        calc = document.calculator.label
        if len(documents) > 1:
            section.text.append(f"**{calc}**")
        section.text.append(hull_table_markdown(document))
        profile = document.hull.voltage_profile
        if profile.steps:
            steps = ", ".join(
                f"{s.li_poor_phase} -> {s.li_rich_phase} {1000 * s.voltage:.0f} mV"
                for s in profile.steps
            )
            section.text.append(f"Voltage profile ({calc}): {steps}.")
        prototypes = _prototypes_text(document)
        if prototypes:
            section.text.append(prototypes)
        section.text.append(_counts_text(document))
        section.rows += _phase_rows(document, section.title, calc)
        section.rows.append(_onset_row(document, section.title, calc))
        section.rows += _count_rows(document, section.title, calc)
        section.warnings += document.warnings
        if figure_dir is not None:
            from anodefree.analysis.plotting.hull import plot_hull, plot_voltage_profile

            suffix = "" if len(documents) == 1 else f"_{number}_{_slug(calc)}"
            figure_dir.mkdir(parents=True, exist_ok=True)
            paths = [plot_hull(document.hull, figure_dir / f"li_ag_hull{suffix}.png")]
            if profile.steps:
                paths.append(
                    plot_voltage_profile(profile, figure_dir / f"li_ag_voltage{suffix}.png")
                )
            section.figures += [f"{p.parent.name}/{p.name}" for p in paths]
    # One paragraph per text item: the Markdown renderer joins them with single newlines.
    section.text = [f"{paragraph}\n" for paragraph in section.text]
    return section
