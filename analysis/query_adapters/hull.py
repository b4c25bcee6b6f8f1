"""Rows of the Li-Ag hull study: every candidate, the voltage steps, the onset and the search.

Kind ``hull_study`` (:class:`HullStudyDocument`, system ``"Li-Ag"``):

- ``formation_energy`` and ``energy_above_hull`` (eV/atom; the report shows meV/atom), one
  row per relaxed candidate; parameters ``candidate`` (its label), ``phase`` (the named
  phase or the reduced formula), ``formula``, ``x_li`` (Li atoms per atom: 0 = Ag, 1 = Li),
  ``li_per_ag`` (x in Li_xAg; None for Li), ``on_hull``, ``origin`` (reference,
  prototype, gamma-parent, bcc-derivative, fcc-derivative, gamma-decoration), ``source``
  ("named": a reference or named prototype; "enumerated": from the derivative or
  gamma-decoration search), ``representative`` (the lowest candidate of a named phase, the
  one the report tables) and ``space_group`` (relaxed). A named phase without any
  candidate gives rows with value None;
- ``voltage`` (V vs Li+/Li), one row per two-phase step from Ag; parameters ``step`` (1 =
  the Ag end), ``li_poor_phase``, ``li_rich_phase``, ``li_per_ag_start``, ``li_per_ag_end``,
  ``x_li_start``, ``x_li_end``, ``capacity_start_mAh_g``, ``capacity_end_mAh_g``;
- ``delithiation_onset`` (V vs Li+/Li, the most Li-rich step; None and flagged without a
  Li-Ag compound on the hull), with the measured onset as reference;
- ``structure_count`` (count) of each ``stage`` of the search (enumerated, prescreened,
  selected, relaxed, ...), in total (``enumeration`` None) and per ``enumeration``.

Job ids: a formation energy lists the candidate and the two references; an energy above
the hull also the hull phases it decomposes into; a voltage step its two end phases and
the references.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from anodefree.analysis.queries import PropertyRow, register_family

if TYPE_CHECKING:
    from collections.abc import Iterator

    from anodefree.analysis.documents.hull import HullRow, NamedPhaseRow
    from anodefree.analysis.documents.hull_study import HullStudyDocument

#: Candidate origins of the enumerated search; every other origin is a named structure.
ENUMERATED_ORIGINS = frozenset({"bcc-derivative", "fcc-derivative", "gamma-decoration"})
NOT_CONVERGED = "NOT CONVERGED"
VOLT = "V vs Li+/Li"


def _ids(document: HullStudyDocument, *labels: str) -> tuple[str, ...]:
    """Job ids of candidates, without blanks and repeats."""
    ids = (document.job_ids.get(label) for label in labels)
    return tuple(dict.fromkeys(i for i in ids if i))


def _source(origin: str | None, enumerated: set[str]) -> str | None:
    if origin is None:
        return None
    return "enumerated" if origin in enumerated else "named"


def _pbesol_note(named: NamedPhaseRow) -> str:
    """Compare with the PBEsol reference study, as the report does."""
    from anodefree.analysis.report_sections.hull import PBESOL_ON_HULL

    if named.phase in ("Li", "Ag"):
        return "PBEsol reference: reference"
    if named.phase not in PBESOL_ON_HULL:
        return ""
    expected = PBESOL_ON_HULL[named.phase]
    text = f"PBEsol reference: {'on hull' if expected else 'slightly above'}"
    if named.on_hull is not None:
        text += f" ({'agrees with' if named.on_hull == expected else 'differs from'} PBEsol)"
    return text


def _candidate_rows(document: HullStudyDocument) -> Iterator[PropertyRow]:
    hull = document.hull
    references = tuple(hull.references.values())
    enumerated = set(ENUMERATED_ORIGINS) | {s.kind for s in document.counts.sources}
    representing = {n.best_label: n for n in hull.named_phases if n.best_label is not None}
    for row in hull.rows:
        named = representing.get(row.label)
        parameters = {
            "candidate": row.label,
            "phase": row.phase,
            "formula": row.formula,
            "x_li": row.li_fraction,
            "li_per_ag": row.li_per_ag,
            "on_hull": row.on_hull,
            "origin": row.origin,
            "source": _source(row.origin, enumerated),
            "representative": named is not None,
            "space_group": document.space_groups.get(row.label),
        }
        flag = "" if row.converged else NOT_CONVERGED
        lowest = f"lowest of {named.n_candidates} {named.phase} candidates" if named else ""
        yield from _phase_pair(
            document,
            row,
            parameters,
            formation_note="; ".join(p for p in (lowest, flag) if p),
            hull_note="; ".join(
                p
                for p in (
                    f"on hull: {'yes' if row.on_hull else 'no'}",
                    "decomposes into " + " + ".join(row.decomposition)
                    if not row.on_hull and row.decomposition
                    else "",
                    _pbesol_note(named) if named else "",
                    flag,
                )
                if p
            ),
            formation_ids=_ids(document, row.label, *references),
            hull_ids=_ids(document, row.label, *row.decomposition, *references),
        )


def _phase_pair(
    document: HullStudyDocument,
    row: HullRow,
    parameters: dict[str, Any],
    *,
    formation_note: str,
    hull_note: str,
    formation_ids: tuple[str, ...],
    hull_ids: tuple[str, ...],
) -> Iterator[PropertyRow]:
    where = f"{row.label} ({row.formula}, x_Li = {row.li_fraction:.3f})"
    common: dict[str, Any] = {
        "unit": "eV/atom",
        "system": document.system,
        "parameters": parameters,
        "flagged": not row.converged,
    }
    yield PropertyRow(
        quantity="formation_energy",
        value=row.formation_energy_per_atom,
        label=f"E_f per atom, {where}",
        note=formation_note,
        job_ids=formation_ids,
        **common,
    )
    yield PropertyRow(
        quantity="energy_above_hull",
        value=row.e_above_hull,
        label=f"E above hull, {where}",
        note=hull_note,
        job_ids=hull_ids,
        **common,
    )


def _missing_phase_rows(document: HullStudyDocument) -> Iterator[PropertyRow]:
    """Named phases without a computed candidate (value None), as the report lists them."""
    for named in document.hull.named_phases:
        if named.best_label is not None:
            continue
        parameters = {
            "candidate": None,
            "phase": named.phase,
            "formula": named.formula,
            "x_li": named.li_fraction,
            "source": "named",
            "representative": True,
        }
        for quantity, text in (("formation_energy", "E_f"), ("energy_above_hull", "E above hull")):
            yield PropertyRow(
                quantity=quantity,
                value=None,
                unit="eV/atom",
                label=f"{text}, {named.phase}",
                system=document.system,
                parameters=parameters,
                note="no candidate computed",
            )


def _voltage_rows(document: HullStudyDocument) -> Iterator[PropertyRow]:
    from anodefree.analysis.report_sections.hull import MEASURED_ONSET_SOURCE, MEASURED_ONSET_V

    hull = document.hull
    rows = {row.label: row for row in hull.rows}
    references = tuple(hull.references.values())
    profile = hull.voltage_profile
    for number, step in enumerate(profile.steps, start=1):
        ends = (step.li_poor_phase, step.li_rich_phase)
        converged = all(rows[label].converged for label in ends if label in rows)
        yield PropertyRow(
            quantity="voltage",
            value=step.voltage,
            unit=VOLT,
            label=f"voltage {step.li_poor_phase} -> {step.li_rich_phase} "
            f"(x = {step.x_start:.3f} to {step.x_end:.3f} in Li_xAg)",
            system=document.system,
            parameters={
                "step": number,
                "li_poor_phase": step.li_poor_phase,
                "li_rich_phase": step.li_rich_phase,
                "li_per_ag_start": step.x_start,
                "li_per_ag_end": step.x_end,
                "x_li_start": step.li_fraction_start,
                "x_li_end": step.li_fraction_end,
                "capacity_start_mAh_g": step.capacity_start,
                "capacity_end_mAh_g": step.capacity_end,
            },
            flagged=not converged,
            note="0 K two-phase region" + ("" if converged else f"; {NOT_CONVERGED}"),
            job_ids=_ids(document, *ends, *references),
        )
    region = profile.onset_region
    formulas = " / ".join(rows[label].formula for label in region if label in rows)
    converged = all(rows[label].converged for label in region if label in rows)
    yield PropertyRow(
        quantity="delithiation_onset",
        value=profile.delithiation_onset,
        unit=VOLT,
        label="delithiation onset (most Li-rich two-phase region)",
        system=document.system,
        parameters={
            "li_poor_phase": region[0] if region else None,
            "li_rich_phase": region[1] if region else None,
        },
        reference=MEASURED_ONSET_V,
        reference_source=MEASURED_ONSET_SOURCE,
        flagged=profile.delithiation_onset is None or not converged,
        note=f"region {formulas} ({' / '.join(region)}); 0 K"
        + ("" if converged else f"; {NOT_CONVERGED}")
        if region
        else "no Li-Ag compound on the hull",
        job_ids=_ids(document, *region, *references) if region else (),
    )


def _count_rows(document: HullStudyDocument) -> Iterator[PropertyRow]:
    counts = document.counts
    relaxed_ids = tuple(dict.fromkeys(i for i in document.job_ids.values() if i))
    totals = (
        ("enumerated", counts.n_enumerated, ""),
        ("duplicates_of_named", counts.n_duplicates_of_named, ""),
        ("prescreened", counts.n_prescreened, document.prescreen_method),
        ("selected", counts.n_selected, ""),
        ("named", counts.n_named, ""),
        (
            "relaxed",
            counts.n_relaxed,
            (
                f"{counts.n_computed} computed, {counts.n_reused} reused, "
                f"{counts.n_unconverged} unconverged, {counts.n_failed} failed"
            ),
        ),
        ("computed", counts.n_computed, ""),
        ("reused", counts.n_reused, ""),
        ("unconverged", counts.n_unconverged, ""),
        ("failed", counts.n_failed, ""),
    )
    for stage, value, note in totals:
        yield PropertyRow(
            quantity="structure_count",
            value=float(value),
            unit="count",
            label=f"structures {stage.replace('_', ' ')}",
            system=document.system,
            parameters={"stage": stage, "enumeration": None, "enumeration_kind": None},
            flagged=stage in ("relaxed", "unconverged", "failed")
            and bool(counts.n_unconverged or counts.n_failed),
            note=note,
            job_ids=relaxed_ids if stage == "relaxed" else (),
        )
    for source in counts.sources:
        for stage, value in (
            ("distinct", source.n_distinct),
            ("enumerated", source.n_enumerated),
            ("duplicates_of_named", source.n_duplicates_of_named),
            ("prescreened", source.n_prescreened),
            ("selected", source.n_selected),
        ):
            yield PropertyRow(
                quantity="structure_count",
                value=float(value),
                unit="count",
                label=f"{source.source}: structures {stage.replace('_', ' ')}",
                system=document.system,
                parameters={
                    "stage": stage,
                    "enumeration": source.source,
                    "enumeration_kind": source.kind,
                },
                note=(
                    ("exhaustive" if source.exhaustive else "not exhaustive")
                    if stage == "enumerated"
                    else f"{source.keep_per_composition} per composition"
                    if stage == "selected"
                    else ""
                ),
            )


@register_family(
    "hull_study",
    "HullStudyDocument",
    description="Li-Ag hull: formation energy and energy above hull per candidate, voltage "
    "steps, delithiation onset, search counts",
)
def hull_study_rows(document: HullStudyDocument) -> Iterator[PropertyRow]:
    """Candidates (Li-poor to Li-rich), voltage steps, the onset, then the search counts."""
    yield from _candidate_rows(document)
    yield from _missing_phase_rows(document)
    yield from _voltage_rows(document)
    yield from _count_rows(document)
