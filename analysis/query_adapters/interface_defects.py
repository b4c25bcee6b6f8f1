"""Rows of the interfacial point defects and of the metal-sulfur bond energies.

Kind ``interface_defect`` (:class:`InterfaceDefectDocument`, one per system, e.g.
``"Li-Mg/Li2S"``); all energies in eV, definitions as in
:mod:`anodefree.analysis.documents.interface_defects`:

- ``vacancy_formation_energy``: E_f(L) of the layer profile, one row per layer;
  parameters ``layer`` (1 = L1, touching Li2S), ``layer_label`` ("L1", "L2", ...,
  "interior"), ``interior``, ``site``, ``distance_to_contact_A``, ``supercell`` ("2x1"),
  ``n_atoms`` (pristine supercell) and ``n_free`` (atoms relaxed). Only the profile has this
  name, so ``plot_quantity(table, "vacancy_formation_energy", x="layer", by="system")``
  draws the layer profiles;
- ``vacancy_formation_energy_vs_interior``: E_f(L) - E_f(interior) by layer;
- ``bulk_vacancy_formation_energy`` (bcc Li, the bulk divacancy cell) and
  ``vacancy_formation_energy_interior_vs_bulk``;
- ``segregation_energy``: E_seg(L) by layer and ``solute`` (the interior row is 0);
- ``solute_vacancy_interaction``: E_int in L1 by ``shell`` and ``distance_A`` of the
  solute, with ``vacancy_formation_energy_near_solute`` and
  ``vacancy_formation_energy_without_solute`` (the two E_f behind it);
- ``filling_energy``: E(after) - E(before) by ``case`` ("near"/"far") and ``filler``;
- ``divacancy_binding_energy``: E_b by ``location`` ("bulk"/"interface") and ``pair``;
- ``size_check_vacancy_formation_energy`` and ``size_check_deviation`` (E_f - E_f of the
  largest cell) of the L1 vacancy by ``supercell``; ``radius_check_difference``;
- ``screen_spread``: spread of the unrelaxed site energies of a layer, by ``defect``;
- ``statement``: the deciding energy of each conclusion, by ``topic`` and ``verdict``
  (the sentence is the note).

Kind ``bond_energy`` (:class:`BondEnergyDocument`; system = the compound, e.g. ``"Li2S"``):
``bond_energy`` (eV per M-S bond), ``formation_energy_per_formula_unit`` (eV),
``formation_energy_per_atom`` (eV/atom), ``formation_energy_per_metal`` (eV), and
``reference_energy_per_atom`` of the elemental references (system = the element).

Flags and notes follow the report section
(:mod:`anodefree.analysis.report_sections.interface_defects`): a row is flagged when one of
its calculations did not converge (the size check also when the chosen cell misses the
tolerance, the radius check when the difference exceeds 20 meV).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from anodefree.analysis.queries import PropertyRow, register_family

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from anodefree.analysis.documents.interface_defects import (
        BondEnergyDocument,
        InterfaceDefectDocument,
    )

NOT_CONVERGED = "NOT CONVERGED"


def _ids(*uuids: str | None) -> tuple[str, ...]:
    """Job ids without blanks and repeats, in order."""
    return tuple(dict.fromkeys(u for u in uuids if u))


def _cell(supercell: Sequence[int] | None) -> str | None:
    return None if supercell is None else f"{supercell[0]}x{supercell[1]}"


def _join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


def _converged(converged: bool) -> str:
    return "" if converged else NOT_CONVERGED


def _layer_label(layer: int, interior: bool) -> str:
    return "interior" if interior else f"L{layer}"


# ---------------------------------------------------------------------------------------
# Interface defects


def _profile_rows(doc: InterfaceDefectDocument) -> Iterator[PropertyRow]:
    """Vacancy formation energies of the layer profile, absolute and vs the interior."""
    from anodefree.analysis.report_sections.interface_defects import profile_note

    host_atoms = doc.host.n_atoms
    mu = doc.chemical_potential_job_uuid
    interior = next((p for p in doc.vacancy_profile if p.interior), None)
    for entry in doc.vacancy_profile:
        name = _layer_label(entry.layer, entry.interior)
        parameters = {
            "layer": entry.layer,
            "layer_label": name,
            "interior": entry.interior,
            "site": entry.site,
            "distance_to_contact_A": entry.distance_to_contact,
            "supercell": _cell(entry.supercell),
            "n_atoms": host_atoms * entry.supercell[0] * entry.supercell[1],
            "n_free": entry.n_free,
        }
        note = profile_note(entry, doc)  # the report's wording
        common: dict[str, Any] = {
            "unit": "eV",
            "system": doc.system,
            "parameters": parameters,
            "flagged": not entry.converged,
        }
        yield PropertyRow(
            quantity="vacancy_formation_energy",
            value=entry.formation_energy,
            label=f"{doc.system}: E_f vacancy "
            + (f"L{entry.layer} (interior)" if entry.interior else name),
            note=_join(note, _converged(entry.converged)),
            job_ids=_ids(*entry.job_uuids, mu),
            **common,
        )
        if entry.relative_to_interior is not None and interior is not None:
            converged = entry.converged and interior.converged
            yield PropertyRow(
                quantity="vacancy_formation_energy_vs_interior",
                value=entry.relative_to_interior,
                label=f"{doc.system}: E_f({name}) - E_f(interior)"
                + (
                    " (0 by definition)"
                    if entry.interior
                    else f"; negative: vacancies prefer {name}"
                ),
                note=_converged(converged),
                job_ids=_ids(*entry.job_uuids, *interior.job_uuids),
                **{**common, "flagged": not converged},
            )


def _bulk_rows(doc: InterfaceDefectDocument) -> Iterator[PropertyRow]:
    """E_f in bcc Li and the interior's difference to it."""
    if doc.bulk_formation_energy is None:
        return
    # A bulk divacancy entry lists the pair, the single vacancy and the perfect cell.
    pair = next((d for d in doc.divacancies if d.where == "bulk"), None)
    bulk_ids = _ids(*pair.job_uuids[1:]) if pair is not None else ()
    converged = pair.converged if pair is not None else True
    yield PropertyRow(
        quantity="bulk_vacancy_formation_energy",
        value=doc.bulk_formation_energy,
        unit="eV",
        label="E_f vacancy in bcc Li (bulk divacancy cell)",
        system=doc.system,
        parameters={"location": "bulk"},
        flagged=not converged,
        note=_converged(converged),
        job_ids=bulk_ids,
    )
    interior = next((p for p in doc.vacancy_profile if p.interior), None)
    if doc.interior_minus_bulk is not None and interior is not None:
        yield PropertyRow(
            quantity="vacancy_formation_energy_interior_vs_bulk",
            value=doc.interior_minus_bulk,
            unit="eV",
            label=f"{doc.system}: E_f(interior) - E_f(bcc Li bulk) (strain and film thickness)",
            system=doc.system,
            parameters={
                "layer": interior.layer,
                "layer_label": "interior",
                "interior": True,
                "supercell": _cell(interior.supercell),
            },
            flagged=not (converged and interior.converged),
            note=_converged(converged and interior.converged),
            job_ids=_ids(*interior.job_uuids, *bulk_ids),
        )


def _segregation_rows(doc: InterfaceDefectDocument) -> Iterator[PropertyRow]:
    for entry in doc.segregation:
        name = _layer_label(entry.layer, entry.interior)
        yield PropertyRow(
            quantity="segregation_energy",
            value=entry.segregation_energy,
            unit="eV",
            label=f"{doc.system}: E_seg {doc.solute} in {name}",
            system=doc.system,
            parameters={
                "layer": entry.layer,
                "layer_label": name,
                "interior": entry.interior,
                "solute": doc.solute,
                "site": entry.site,
                "distance_to_contact_A": entry.distance_to_contact,
            },
            flagged=not entry.converged,
            note=_join(
                "the reference (0 by definition)" if entry.interior else "",
                "negative: prefers the layer",
                _converged(entry.converged),
            ),
            job_ids=_ids(*entry.job_uuids),
        )


def _interaction_rows(doc: InterfaceDefectDocument) -> Iterator[PropertyRow]:
    mu = doc.chemical_potential_job_uuid
    for entry in doc.interaction:
        # Jobs: solute cell, solute + vacancy, pristine cell, vacancy without solute.
        with_solute, without = entry.job_uuids[:2], entry.job_uuids[2:]
        shell = f", bcc shell {entry.bcc_shell}" if entry.bcc_shell else ""
        common: dict[str, Any] = {
            "unit": "eV",
            "system": doc.system,
            "parameters": {
                "layer": 1,
                "layer_label": "L1",
                "solute": doc.solute,
                "shell": entry.shell,
                "distance_A": entry.distance,
                "bcc_shell": entry.bcc_shell,
                "site": entry.vacancy_site,
            },
            "flagged": not entry.converged,
        }
        where = f"L1, {entry.distance:.2f} A from {doc.solute}"
        yield PropertyRow(
            quantity="solute_vacancy_interaction",
            value=entry.interaction_energy,
            label=f"{doc.system}: E_int {doc.solute}-vacancy in L1 at {entry.distance:.2f} A",
            note=_join(
                f"E_f = {entry.formation_energy:.3f} eV vs "
                f"{entry.formation_energy_without_solute:.3f} eV without {doc.solute}{shell}",
                "positive: repulsion",
                _converged(entry.converged),
            ),
            job_ids=_ids(*entry.job_uuids),
            **common,
        )
        yield PropertyRow(
            quantity="vacancy_formation_energy_near_solute",
            value=entry.formation_energy,
            label=f"{doc.system}: E_f vacancy in {where}",
            note=_converged(entry.converged),
            job_ids=_ids(*with_solute, mu),
            **common,
        )
        yield PropertyRow(
            quantity="vacancy_formation_energy_without_solute",
            value=entry.formation_energy_without_solute,
            label=f"{doc.system}: E_f vacancy at the same L1 site without {doc.solute}",
            note=_converged(entry.converged),
            job_ids=_ids(*without, mu),
            **common,
        )


def _filling_rows(doc: InterfaceDefectDocument) -> Iterator[PropertyRow]:
    for move in doc.filling:
        initial, by_host, by_solute = move.job_uuids
        for role, filler, value, distance, job in (
            ("host", doc.host_element, move.energy_by_host, move.by_host_distance, by_host),
            ("solute", doc.solute, move.energy_by_solute, move.by_solute_distance, by_solute),
        ):
            yield PropertyRow(
                quantity="filling_energy",
                value=value,
                unit="eV",
                label=f"{doc.system}: L{move.vacancy_layer} vacancy {move.initial_distance:.2f} "
                f"A from {doc.solute} (L{move.solute_layer}) filled by {filler} from "
                f"L{move.solute_layer}",
                system=doc.system,
                parameters={
                    "case": move.case,
                    "filler": filler,
                    "filler_role": role,
                    "solute": doc.solute,
                    "layer": move.vacancy_layer,
                    "layer_label": f"L{move.vacancy_layer}",
                    "solute_layer": move.solute_layer,
                    "distance_A": move.initial_distance,
                    "final_distance_A": distance,
                },
                flagged=not move.converged,
                note=_join(
                    f"solute-vacancy distance after: {distance:.2f} A",
                    "negative: favourable",
                    _converged(move.converged),
                ),
                job_ids=_ids(initial, job),
            )


def _divacancy_rows(doc: InterfaceDefectDocument) -> Iterator[PropertyRow]:
    for pair in doc.divacancies:
        where = "bcc Li" if pair.where == "bulk" else f"interface {pair.name}"
        shell = f", bcc shell {pair.bcc_shell}" if pair.bcc_shell else ""
        yield PropertyRow(
            quantity="divacancy_binding_energy",
            value=pair.binding_energy,
            unit="eV",
            label=f"divacancy binding E_b, {where} ({pair.distance:.2f} A{shell})",
            system=doc.system,
            parameters={
                "location": pair.where,
                "pair": pair.name,
                "layers": None if pair.layers is None else "-".join(map(str, pair.layers)),
                "distance_A": pair.distance,
                "bcc_shell": pair.bcc_shell,
            },
            flagged=not pair.converged,
            note=_join(
                "bound" if pair.binding_energy < 0 else "not bound", _converged(pair.converged)
            ),
            job_ids=_ids(*pair.job_uuids),
        )


def _check_rows(doc: InterfaceDefectDocument) -> Iterator[PropertyRow]:
    """Rows of the in-plane size check and the relaxation-radius check (L1 vacancy)."""
    from anodefree.analysis.documents.interface_defects import WEAK_EFFECT

    mu = doc.chemical_potential_job_uuid
    if doc.size_check is not None:
        check = doc.size_check
        for entry in check.entries:
            chosen = entry.supercell == check.chosen
            cell = _cell(entry.supercell)
            parameters = {
                "layer": 1,
                "layer_label": "L1",
                "supercell": cell,
                "n_atoms": entry.n_atoms,
                "shortest_vector_A": entry.shortest_vector,
                "chosen": chosen,
            }
            used = "used for the layer profiles" if chosen else ""
            yield PropertyRow(
                quantity="size_check_vacancy_formation_energy",
                value=entry.formation_energy,
                unit="eV",
                label=f"size check: E_f(L1) in the {cell} cell ({entry.n_atoms} atoms, images "
                f"{entry.shortest_vector:.1f} A apart)",
                system=doc.system,
                parameters=parameters,
                flagged=not entry.converged,
                note=_join(used, _converged(entry.converged)),
                job_ids=_ids(*entry.job_uuids, mu),
            )
            yield PropertyRow(
                quantity="size_check_deviation",
                value=entry.change,
                unit="eV",
                label=f"size check: E_f(L1, {cell}) - E_f(L1, largest cell)",
                system=doc.system,
                parameters=parameters,
                flagged=not entry.converged or (chosen and abs(entry.change) > check.tolerance),
                note=_join(
                    f"tolerance {1000 * check.tolerance:.0f} meV",
                    used,
                    _converged(entry.converged),
                ),
                job_ids=_ids(*(u for e in check.entries for u in e.job_uuids)),
            )
    if doc.radius_check is not None:
        r = doc.radius_check
        yield PropertyRow(
            quantity="radius_check_difference",
            value=r.difference,
            unit="eV",
            label=f"radius check: E_f(L1), {r.radius} A vs {r.check_radius} A relaxed region",
            system=doc.system,
            parameters={
                "layer": 1,
                "layer_label": "L1",
                "radius_A": r.radius,
                "check_radius_A": r.check_radius,
                "n_free": r.n_free,
                "n_free_check": r.n_free_check,
            },
            flagged=abs(r.difference) > WEAK_EFFECT * 2,
            note=f"E_f {r.formation_energy:.4f} eV ({r.n_free} free atoms) vs "
            f"{r.formation_energy_check:.4f} eV ({r.n_free_check} free atoms)",
            job_ids=_ids(*r.job_uuids),
        )


def _screen_rows(doc: InterfaceDefectDocument) -> Iterator[PropertyRow]:
    interior = doc.host.interior_layer
    for screen in doc.screens:
        name = _layer_label(screen.layer, screen.layer == interior)
        yield PropertyRow(
            quantity="screen_spread",
            value=screen.spread,
            unit="eV",
            label=f"{doc.system}: spread of the unrelaxed {screen.defect} energies over the "
            f"{name} sites",
            system=doc.system,
            parameters={
                "layer": screen.layer,
                "layer_label": name,
                "interior": screen.layer == interior,
                "defect": screen.defect,
                "site": screen.chosen,
                "n_sites": len(screen.sites),
            },
            note="site heterogeneity; the lowest site is the one computed",
        )


def _statement_rows(doc: InterfaceDefectDocument) -> Iterator[PropertyRow]:
    for statement in doc.statements:
        yield PropertyRow(
            quantity="statement",
            value=statement.value,
            unit="eV",
            label=f"{doc.system}: {statement.topic}",
            system=doc.system,
            parameters={"topic": statement.topic, "verdict": statement.verdict},
            note=statement.text,
        )


@register_family(
    "interface_defect",
    "InterfaceDefectDocument",
    description="layer-resolved vacancy formation, segregation, solute-vacancy interaction, "
    "filling and divacancy energies at a metal | Li2S interface",
)
def interface_defect_rows(document: InterfaceDefectDocument) -> Iterator[PropertyRow]:
    """One row per layer, solute shell, filling move, vacancy pair and check of a system."""
    yield from _statement_rows(document)
    yield from _profile_rows(document)
    yield from _bulk_rows(document)
    yield from _segregation_rows(document)
    yield from _interaction_rows(document)
    yield from _filling_rows(document)
    yield from _divacancy_rows(document)
    yield from _check_rows(document)
    yield from _screen_rows(document)


# ---------------------------------------------------------------------------------------
# Bond energies


def _compounds_or_elements(systems: Sequence[str]) -> dict[str, Any]:
    """Select documents holding one of the compounds or elemental references."""
    return {
        "$or": [
            {"output.compounds.compound": {"$in": list(systems)}},
            {"output.references.element": {"$in": list(systems)}},
        ]
    }


@register_family(
    "bond_energy",
    "BondEnergyDocument",
    system_field=_compounds_or_elements,
    description="formation energy per metal-sulfur bond of Li2S, MgS and Ag2S",
)
def bond_energy_rows(document: BondEnergyDocument) -> Iterator[PropertyRow]:
    """Bond and formation energies per compound (system = compound), and the references."""
    reference_ids = {r.element: r.job_uuid for r in document.references}
    for c in document.compounds:
        bonds = c.bonds_per_formula_unit
        common: dict[str, Any] = {
            "system": c.compound,
            "parameters": {
                "compound": c.compound,
                "metal": c.metal,
                "structure_type": c.structure_type,
                "bonds_per_formula_unit": bonds,
                "bond_length_A": c.bond_length,
            },
            "flagged": not c.converged,
            "job_ids": _ids(c.job_uuid, reference_ids.get(c.metal), reference_ids.get("S")),
        }
        experiment = c.experimental_formation_energy
        yield PropertyRow(
            quantity="bond_energy",
            value=c.bond_energy,
            unit="eV",
            label=f"E per {c.metal}-S bond ({c.compound}, {c.structure_type})",
            reference=None if experiment is None else experiment / bonds,
            reference_source=None if experiment is None else "exp. formation enthalpy / bonds",
            note=_join(
                f"formation energy {c.formation_energy:.3f} eV/f.u., {bonds:g} bonds per f.u., "
                f"d(M-S) = {c.bond_length:.3f} A",
                _converged(c.converged),
            ),
            **common,
        )
        yield PropertyRow(
            quantity="formation_energy_per_formula_unit",
            value=c.formation_energy,
            unit="eV",
            label=f"formation energy {c.compound} per formula unit",
            reference=experiment,
            reference_source=None if experiment is None else "exp. standard enthalpy (NBS 1982)",
            note=_converged(c.converged),
            **common,
        )
        for quantity, value, unit, text in (
            ("formation_energy_per_atom", c.formation_energy_per_atom, "eV/atom", "per atom"),
            ("formation_energy_per_metal", c.formation_energy_per_metal, "eV", f"per {c.metal}"),
        ):
            yield PropertyRow(
                quantity=quantity,
                value=value,
                unit=unit,
                label=f"formation energy {c.compound} {text}",
                note=_converged(c.converged),
                **common,
            )
    for r in document.references:
        yield PropertyRow(
            quantity="reference_energy_per_atom",
            value=r.energy_per_atom,
            unit="eV/atom",
            label=f"elemental reference {r.element} ({r.phase})",
            system=r.element,
            parameters={"element": r.element, "phase": r.phase},
            flagged=not r.converged,
            note=_converged(r.converged),
            job_ids=_ids(r.job_uuid),
        )
