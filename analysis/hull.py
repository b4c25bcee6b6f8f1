"""The Li-Ag convex hull and the voltage profile of Ag lithiation.

Definitions (../shared/science.md):

- formation energy per atom of Li_nAg_m against bcc Li and fcc Ag,
  ``E_f = [E - n e_Li - m e_Ag] / (n + m)``, with ``e_Li``, ``e_Ag`` the energies per atom of
  the designated references;
- energy above the hull from pymatgen's :class:`~pymatgen.analysis.phase_diagram.PhaseDiagram`
  built from the references and every compound;
- the voltage of the two-phase region between neighbouring hull phases Li_x1Ag and Li_x2Ag
  (x Li per Ag), ``V = -[G(x2) - G(x1)] / (x2 - x1)`` with ``G(x) = (1 + x) E_f`` the
  formation energy per Li_xAg formula unit (eV), so that V is in volts against bcc Li
  (one electron per Li);
- the delithiation onset: the voltage of the most Li-rich two-phase region among the alloy
  phases, where a fully lithiated interlayer starts to give Li back.

Every energy must come from one calculator (:func:`anodefree.provenance.require_same_calculator`).
"""

from __future__ import annotations

from collections import defaultdict
from itertools import pairwise
from typing import TYPE_CHECKING

from pymatgen.analysis.phase_diagram import PDEntry, PhaseDiagram
from pymatgen.core import Composition

from anodefree.analysis.documents.hull import (
    HullDocument,
    HullRow,
    NamedPhaseRow,
    PhaseEnergy,
    VoltageProfile,
    VoltageStep,
)
from anodefree.errors import AnodefreeError
from anodefree.provenance import CalculatorProvenance, require_same_calculator
from anodefree.structures.alloys import NAMED_PHASES

if TYPE_CHECKING:
    from collections.abc import Sequence

#: Faraday constant over 3.6 C/mAh: charge of one mole of Li+ in mAh.
MAH_PER_MOL = 96485.33212 / 3.6
#: Molar mass of Ag in g/mol.
M_AG = 107.8682
#: Default on-hull tolerance in eV/atom: numerical zero of pymatgen's hull construction.
ON_HULL_TOLERANCE = 1e-6
#: Default labels of the reference entries (as built by
#: :func:`anodefree.structures.alloys.li_ag_candidates`).
DEFAULT_REFERENCES = {"Li": "Li-bcc", "Ag": "Ag-fcc"}


class HullError(AnodefreeError, ValueError):
    """The entries cannot form a Li-Ag hull (missing reference, foreign element, ...)."""


def formation_energy_per_atom(
    energy_per_atom: float, li_fraction: float, e_li: float, e_ag: float
) -> float:
    """E_f = e - c e_Li - (1 - c) e_Ag in eV/atom (c the Li atomic fraction)."""
    return energy_per_atom - li_fraction * e_li - (1.0 - li_fraction) * e_ag


def li_per_ag(li_fraction: float) -> float | None:
    """Return x in Li_xAg for a Li atomic fraction (None for pure Li)."""
    if li_fraction >= 1.0:
        return None
    return li_fraction / (1.0 - li_fraction)


def capacity_per_gram_ag(x: float) -> float:
    """Li stored by Li_xAg in mAh per g of Ag."""
    return x * MAH_PER_MOL / M_AG


def voltage_steps(vertices: Sequence[tuple[str, float, float]]) -> list[VoltageStep]:
    """Voltages of the two-phase regions between consecutive hull compounds.

    Parameters
    ----------
    vertices
        ``(label, li_fraction, formation energy per atom in eV/atom)`` of the hull vertices,
        including pure Ag (fraction 0); pure Li (fraction 1) is ignored (beyond the most
        Li-rich compound Li metal forms at 0 V).

    Returns
    -------
    list[VoltageStep]
        One step per pair of neighbouring vertices, Li-poor first.
    """
    points = sorted((v for v in vertices if v[1] < 1.0), key=lambda v: v[1])
    steps = []
    for (label1, c1, ef1), (label2, c2, ef2) in pairwise(points):
        x1, x2 = c1 / (1 - c1), c2 / (1 - c2)
        g1, g2 = (1 + x1) * ef1, (1 + x2) * ef2  # eV per Li_xAg formula unit
        steps.append(
            VoltageStep(
                li_poor_phase=label1,
                li_rich_phase=label2,
                x_start=x1,
                x_end=x2,
                li_fraction_start=c1,
                li_fraction_end=c2,
                capacity_start=capacity_per_gram_ag(x1),
                capacity_end=capacity_per_gram_ag(x2),
                voltage=-(g2 - g1) / (x2 - x1),
            )
        )
    return steps


def _check_entries(entries: Sequence[PhaseEnergy]) -> None:
    if not entries:
        raise HullError("no energies given for the Li-Ag hull")
    labels = [e.label for e in entries]
    duplicates = sorted({label for label in labels if labels.count(label) > 1})
    if duplicates:
        raise HullError(f"duplicate candidate labels: {', '.join(duplicates)}")
    for entry in entries:
        foreign = set(entry.composition) - {"Li", "Ag"}
        if foreign or entry.n_atoms <= 0:
            raise HullError(
                f"entry {entry.label!r} is not a Li-Ag cell (composition {entry.composition})"
            )


def _reference(entries: Sequence[PhaseEnergy], element: str, label: str) -> PhaseEnergy:
    by_label = {e.label: e for e in entries}
    if label not in by_label:
        elemental = [e.label for e in entries if set(e.composition) == {element}]
        raise HullError(
            f"reference {label!r} for {element} is missing; elemental {element} entries: "
            f"{', '.join(elemental) or 'none'}"
        )
    reference = by_label[label]
    if set(reference.composition) != {element}:
        raise HullError(f"reference {label!r} is not pure {element}: {reference.composition}")
    return reference


def li_ag_hull(
    entries: Sequence[PhaseEnergy],
    *,
    references: dict[str, str] | None = None,
    named_phases: Sequence[str] = NAMED_PHASES,
    on_hull_tolerance: float = ON_HULL_TOLERANCE,
) -> HullDocument:
    """Build the Li-Ag hull table, the named-phase table and the voltage profile.

    Parameters
    ----------
    entries
        Relaxed energies of every candidate, all from one calculator.
    references
        Labels of the reference entries, ``{"Li": ..., "Ag": ...}`` (default: ``Li-bcc``
        and ``Ag-fcc``). Other pure-element entries (e.g. fcc Li) are reported against the
        reference but kept out of the hull.
    named_phases
        Phases reported in :attr:`HullDocument.named_phases`; a compound is represented by
        the lowest-energy entry with its reduced formula, whatever its origin.
    on_hull_tolerance
        Largest energy above the hull in eV/atom counted as on the hull.

    Returns
    -------
    HullDocument
        The hull with units and the calculator.

    Raises
    ------
    MixedCalculatorError
        If the entries come from different calculators or settings.
    HullError
        For missing references, duplicate labels or non Li-Ag entries.
    """
    _check_entries(entries)
    calculator: CalculatorProvenance = require_same_calculator(
        [e.calculator for e in entries], "the Li-Ag convex hull"
    )
    if on_hull_tolerance < 0:
        raise HullError(f"on_hull_tolerance must be >= 0 eV/atom, got {on_hull_tolerance!r}")
    references = {**DEFAULT_REFERENCES, **(references or {})}
    ref_li = _reference(entries, "Li", references["Li"])
    ref_ag = _reference(entries, "Ag", references["Ag"])
    e_li, e_ag = ref_li.energy_per_atom, ref_ag.energy_per_atom
    warnings = [
        f"{e.label}: relaxation not converged; its energy is an upper bound"
        for e in entries
        if not e.converged
    ]

    compounds = [e for e in entries if len([n for n in e.composition.values() if n > 0]) == 2]
    pd_entries = {
        e.label: PDEntry(Composition(e.composition), e.energy, name=e.label)
        for e in [ref_li, ref_ag, *compounds]
    }
    diagram = PhaseDiagram(list(pd_entries.values()))

    rows: list[HullRow] = []
    for entry in entries:
        fraction = entry.li_fraction
        e_form = formation_energy_per_atom(entry.energy_per_atom, fraction, e_li, e_ag)
        if entry.label in pd_entries:
            decomposition, e_hull = diagram.get_decomp_and_e_above_hull(
                pd_entries[entry.label], allow_negative=True
            )
            parts = sorted(decomposition, key=lambda d: d.composition.get_atomic_fraction("Li"))
            names = [d.name for d in parts]
        else:  # an elemental polymorph that is not the reference: the hull is 0 there
            e_hull = e_form
            names = [ref_li.label if fraction == 1.0 else ref_ag.label]
            if e_form < -on_hull_tolerance:
                warnings.append(
                    f"{entry.label} lies {-e_form:.4f} eV/atom below the designated reference "
                    f"{names[0]}; formation energies refer to the designated reference"
                )
        rows.append(
            HullRow(
                label=entry.label,
                phase=entry.phase,
                formula=Composition(entry.composition).reduced_formula,
                li_fraction=fraction,
                li_per_ag=li_per_ag(fraction),
                energy_per_atom=entry.energy_per_atom,
                formation_energy_per_atom=e_form,
                e_above_hull=float(e_hull),
                on_hull=bool(e_hull <= on_hull_tolerance),
                decomposition=names,
                converged=entry.converged,
                origin=entry.origin,
            )
        )
    rows.sort(key=lambda r: (r.li_fraction, r.formation_energy_per_atom))

    stable = sorted(
        (e for e in diagram.stable_entries),
        key=lambda e: e.composition.get_atomic_fraction("Li"),
    )
    row_by_label = {r.label: r for r in rows}
    vertices = [
        (e.name, row_by_label[e.name].li_fraction, row_by_label[e.name].formation_energy_per_atom)
        for e in stable
    ]
    steps = voltage_steps(vertices)
    profile = VoltageProfile(
        calculator=calculator,
        steps=steps,
        delithiation_onset=steps[-1].voltage if steps else None,
        onset_region=[steps[-1].li_poor_phase, steps[-1].li_rich_phase] if steps else [],
    )
    if not steps or len(stable) < 3:
        warnings.append("no Li-Ag compound lies on the hull: no alloy voltage plateau")

    return HullDocument(
        calculator=calculator,
        references={"Li": ref_li.label, "Ag": ref_ag.label},
        reference_energies={"Li": e_li, "Ag": e_ag},
        on_hull_tolerance=on_hull_tolerance,
        rows=rows,
        named_phases=_named_rows(rows, named_phases, {"Li": ref_li.label, "Ag": ref_ag.label}),
        stable=[e.name for e in stable],
        voltage_profile=profile,
        warnings=warnings,
    )


def _named_rows(
    rows: list[HullRow], named_phases: Sequence[str], references: dict[str, str]
) -> list[NamedPhaseRow]:
    by_formula: dict[str, list[HullRow]] = defaultdict(list)
    for row in rows:
        by_formula[row.formula].append(row)
    named = []
    for phase in named_phases:
        composition = Composition(phase)
        formula = composition.reduced_formula
        if phase in references:
            candidates = [r for r in rows if r.label == references[phase]]
        else:
            candidates = by_formula.get(formula, [])
        best = min(candidates, key=lambda r: r.energy_per_atom) if candidates else None
        named.append(
            NamedPhaseRow(
                phase=phase,
                formula=formula,
                li_fraction=composition.get_atomic_fraction("Li"),
                best_label=best.label if best else None,
                n_candidates=len(candidates),
                formation_energy_per_atom=best.formation_energy_per_atom if best else None,
                e_above_hull=best.e_above_hull if best else None,
                on_hull=best.on_hull if best else None,
            )
        )
    return named


def hull_table(document: HullDocument) -> list[dict[str, object]]:
    """Rows of the named-phase table for printing: phase, E_f, E_hull (meV/atom), on hull."""
    return [
        {
            "phase": row.phase,
            "candidate": row.best_label or "-",
            "n_candidates": row.n_candidates,
            "E_f (meV/atom)": None
            if row.formation_energy_per_atom is None
            else round(1000 * row.formation_energy_per_atom, 1),
            "E_hull (meV/atom)": None
            if row.e_above_hull is None
            else round(1000 * row.e_above_hull, 1),
            "on hull": row.on_hull,
        }
        for row in document.named_phases
    ]
