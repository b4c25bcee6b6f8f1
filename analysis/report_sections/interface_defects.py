"""Report sections of the interfacial point defects and the metal-sulfur bond energies."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from anodefree.analysis.documents.interface_defects import WEAK_EFFECT
from anodefree.analysis.report import ReportRow, Section, register_section

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from anodefree.analysis.documents.interface_defects import (
        BondEnergyDocument,
        InterfaceDefectDocument,
        LayerVacancy,
    )

_DEFINITIONS = (
    "E_f(L) = E(one Li removed from metal layer L) - E(interface) + mu_Li (relaxed bcc Li, same "
    "engine); L1 touches Li2S, the interior is the film's middle layer. E_seg(L) = E(solute in "
    "L) - E(solute in the interior), negative: the solute prefers L. E_int = E_f(vacancy next "
    "to the solute) - E_f(same site without solute), positive: repulsion. Filling: E(after) - "
    "E(before), negative: favourable. Divacancy E_b = E(2 vac) + E(0 vac) - E(vac a) - E(vac b), "
    "negative: bound."
)


def _row(section: Section, doc: InterfaceDefectDocument, **fields: object) -> None:
    section.rows.append(
        ReportRow(section=section.title, unit="eV", calculator=doc.calculator.label, **fields)
    )


def _slug(system: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", system).strip("_")


def _checks(section: Section, doc: InterfaceDefectDocument) -> None:
    """Size and radius checks (once per section: every system shares the host)."""
    if doc.size_check is not None:
        check = doc.size_check
        for entry in check.entries:
            chosen = entry.supercell == check.chosen
            _row(
                section,
                doc,
                quantity=f"size check: E_f(L1) in the {entry.supercell[0]}x{entry.supercell[1]} "
                f"cell ({entry.n_atoms} atoms, images {entry.shortest_vector:.1f} A apart)",
                value=entry.formation_energy,
                note=f"{1000 * entry.change:+.1f} meV vs the largest cell"
                + ("; used for the layer profiles" if chosen else "")
                + ("" if entry.converged else "; NOT CONVERGED"),
                flagged=not entry.converged or (chosen and abs(entry.change) > check.tolerance),
            )
    if doc.radius_check is not None:
        r = doc.radius_check
        _row(
            section,
            doc,
            quantity=f"radius check: E_f(L1), {r.radius} A vs {r.check_radius} A relaxed region",
            value=r.difference,
            note=f"E_f {r.formation_energy:.4f} eV ({r.n_free} free atoms) vs "
            f"{r.formation_energy_check:.4f} eV ({r.n_free_check} free atoms)",
            flagged=abs(r.difference) > WEAK_EFFECT * 2,
        )


def profile_note(entry: LayerVacancy, doc: InterfaceDefectDocument) -> str:
    """Describe one layer of the vacancy profile.

    E_f against the interior (against bcc Li bulk for the interior layer) and the
    unrelaxed spread of the layer's sites.
    """
    parts = []
    if entry.relative_to_interior is not None and not entry.interior:
        parts.append(f"E_f - E_f(interior) = {entry.relative_to_interior:+.3f} eV")
    if entry.interior and doc.interior_minus_bulk is not None:
        parts = [f"E_f - E_f(bcc Li bulk) = {doc.interior_minus_bulk:+.3f} eV"]
    if entry.screen_spread is not None:
        parts.append(f"L{entry.layer} sites spread {entry.screen_spread:.2f} eV unrelaxed")
    return "; ".join(parts)


def _profile_rows(section: Section, doc: InterfaceDefectDocument) -> None:
    for entry in doc.vacancy_profile:
        name = f"L{entry.layer} (interior)" if entry.interior else f"L{entry.layer}"
        note = profile_note(entry, doc)
        _row(
            section,
            doc,
            quantity=f"{doc.system}: E_f vacancy {name}",
            value=entry.formation_energy,
            note=note.strip("; ") + ("" if entry.converged else "; NOT CONVERGED"),
            flagged=not entry.converged,
        )
    for entry in doc.segregation:
        if entry.interior:
            continue
        _row(
            section,
            doc,
            quantity=f"{doc.system}: E_seg {doc.solute} in L{entry.layer}",
            value=entry.segregation_energy,
            note="negative: prefers the layer" + ("" if entry.converged else "; NOT CONVERGED"),
            flagged=not entry.converged,
        )
    for entry in doc.interaction:
        shell = f", bcc shell {entry.bcc_shell}" if entry.bcc_shell else ""
        _row(
            section,
            doc,
            quantity=f"{doc.system}: E_int {doc.solute}-vacancy in L1 at {entry.distance:.2f} A",
            value=entry.interaction_energy,
            note=f"E_f = {entry.formation_energy:.3f} eV vs "
            f"{entry.formation_energy_without_solute:.3f} eV without {doc.solute}{shell}"
            + ("" if entry.converged else "; NOT CONVERGED"),
            flagged=not entry.converged,
        )
    for move in doc.filling:
        for filler, value, distance in (
            (doc.host_element, move.energy_by_host, move.by_host_distance),
            (doc.solute, move.energy_by_solute, move.by_solute_distance),
        ):
            _row(
                section,
                doc,
                quantity=f"{doc.system}: L{move.vacancy_layer} vacancy "
                f"{move.initial_distance:.2f} A from {doc.solute} (L{move.solute_layer}) filled "
                f"by {filler} from L{move.solute_layer}",
                value=value,
                note=f"solute-vacancy distance after: {distance:.2f} A"
                + ("" if move.converged else "; NOT CONVERGED"),
                flagged=not move.converged,
            )


def _divacancy_rows(section: Section, doc: InterfaceDefectDocument, seen: set[str]) -> None:
    for pair in doc.divacancies:
        key = f"{pair.where}:{pair.name}:{pair.binding_energy:.6f}"
        if key in seen:
            continue
        seen.add(key)
        where = "bcc Li" if pair.where == "bulk" else f"interface {pair.name}"
        shell = f", bcc shell {pair.bcc_shell}" if pair.bcc_shell else ""
        _row(
            section,
            doc,
            quantity=f"divacancy binding E_b, {where} ({pair.distance:.2f} A{shell})",
            value=pair.binding_energy,
            note=("bound" if pair.binding_energy < 0 else "not bound")
            + ("" if pair.converged else "; NOT CONVERGED"),
            flagged=not pair.converged,
        )


@register_section("InterfaceDefectDocument")
def interface_defect_section(
    documents: Sequence[InterfaceDefectDocument], figure_dir: Path | None
) -> Section:
    """Layer profiles, segregation, interaction, filling and divacancies, with verdicts."""
    section = Section(title="Interfacial point defects", order=50)
    section.text.append(_DEFINITIONS)
    seen: set[str] = set()
    checks_shown = False
    for doc in documents:
        for statement in doc.statements:
            section.text.append(f"- {statement.text}")
            _row(
                section,
                doc,
                quantity=f"{doc.system}: {statement.topic}",
                value=statement.value,
                note=statement.verdict,
            )
        if not checks_shown:
            _checks(section, doc)
            checks_shown = doc.size_check is not None
        _profile_rows(section, doc)
        _divacancy_rows(section, doc, seen)
        section.warnings += [f"{doc.system}: {w}" for w in doc.warnings]
        if figure_dir is not None and doc.vacancy_profile:
            from anodefree.analysis.plotting.interface_defects import plot_layer_profile

            path = plot_layer_profile(
                doc, figure_dir / f"interface_defects_{_slug(doc.system)}.png"
            )
            section.figures.append(f"{path.parent.name}/{path.name}")
    return section


@register_section("BondEnergyDocument")
def bond_energy_section(
    documents: Sequence[BondEnergyDocument],
    figure_dir: Path | None,  # noqa: ARG001 - the builder signature; no figure here
) -> Section:
    """Report the formation energy per metal-sulfur bond of each sulfide."""
    section = Section(title="Metal-sulfur bond energies", order=55)
    for doc in documents:
        section.text += [f"- {note}" for note in doc.notes]
        calc = doc.calculator.label
        for c in doc.compounds:
            bonds = c.bonds_per_formula_unit
            reference = (
                c.experimental_formation_energy / bonds
                if c.experimental_formation_energy is not None
                else None
            )
            section.rows.append(
                ReportRow(
                    section=section.title,
                    quantity=f"E per {c.metal}-S bond ({c.compound}, {c.structure_type})",
                    value=c.bond_energy,
                    unit="eV",
                    calculator=calc,
                    reference=reference,
                    reference_source="exp. formation enthalpy / bonds" if reference else None,
                    note=f"formation energy {c.formation_energy:.3f} eV/f.u., {bonds:g} bonds "
                    f"per f.u., d(M-S) = {c.bond_length:.3f} A"
                    + ("" if c.converged else "; NOT CONVERGED"),
                    flagged=not c.converged,
                )
            )
            section.rows.append(
                ReportRow(
                    section=section.title,
                    quantity=f"formation energy {c.compound}",
                    value=c.formation_energy,
                    unit="eV",
                    calculator=calc,
                    reference=c.experimental_formation_energy,
                    reference_source="exp. standard enthalpy (NBS 1982)"
                    if c.experimental_formation_energy is not None
                    else None,
                    note=f"per formula unit; {c.formation_energy_per_atom:.3f} eV/atom, "
                    f"{c.formation_energy_per_metal:.3f} eV per {c.metal}",
                    flagged=not c.converged,
                )
            )
        section.warnings += doc.warnings
    return section
