"""Bulk phases that slabs and interfaces are cut from, and their formal ionic charges.

A *material* is either a pymatgen :class:`~pymatgen.core.Structure` (for example a bulk
cell relaxed with the engine of the campaign, which is what production flows should pass)
or the name of a reference phase:

==========  =========================================================================
name        structure
==========  =========================================================================
``Li``      bcc Li, :func:`anodefree.structures.bulk.bulk_structure`
``Li2S``    antifluorite Li2S, same source
``MgS``     rock-salt MgS, same source
``Mg``      hcp Mg, same source
``Ag``      fcc Ag, same source
``LiAg``    B2 (CsCl-type) beta-LiAg, a = 3.168 A (experimental)
==========  =========================================================================

Formal charges decide which terminations are polar (Tasker type III). Metals and
intermetallics (every element a metal) carry zero charge; ionic compounds get the first
oxidation-state guess of pymatgen (Li2S: Li +1, S -2) unless the structure is already
decorated with oxidation states or the caller passes ``charges``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pymatgen.core import Composition, Element, Lattice, Structure

from anodefree.errors import StructureError
from anodefree.structures.bulk import PROTOTYPES, bulk_structure

if TYPE_CHECKING:
    from collections.abc import Mapping

#: B2 beta-LiAg lattice constant in A (experimental, Pearson's Handbook).
A_LIAG_B2 = 3.168

#: Names accepted wherever a material is expected.
MATERIAL_NAMES: tuple[str, ...] = (*PROTOTYPES, "LiAg")


def liag_b2_structure(a: float = A_LIAG_B2) -> Structure:
    """Build B2 (CsCl-type) LiAg: Li at (0, 0, 0), Ag at (1/2, 1/2, 1/2), lattice ``a`` (A)."""
    if a <= 0:
        raise StructureError(f"lattice constant must be positive, got {a!r} A")
    return Structure(Lattice.cubic(a), ["Li", "Ag"], [[0, 0, 0], [0.5, 0.5, 0.5]])


def resolve_bulk(material: str | Structure) -> Structure:
    """Return the bulk structure of ``material`` (a reference-phase name or a Structure).

    Raises
    ------
    StructureError
        If ``material`` is an unknown name (the message lists the known ones), an empty or
        disordered structure, or neither a name nor a Structure.
    """
    if isinstance(material, Structure):
        if len(material) == 0:
            raise StructureError("the bulk structure is empty")
        if not material.is_ordered:
            raise StructureError(
                f"the bulk structure {material.composition.formula!r} is disordered; "
                "slabs are cut from ordered cells (order it first)"
            )
        return material.copy()
    if not isinstance(material, str):
        raise StructureError(
            f"a material is a phase name or a pymatgen Structure, got {type(material).__name__}"
        )
    if material == "LiAg":
        return liag_b2_structure()
    if material not in PROTOTYPES:
        raise StructureError(
            f"unknown material {material!r}; known names: {', '.join(MATERIAL_NAMES)} "
            "(or pass a pymatgen Structure)"
        )
    return bulk_structure(material, conventional=True)


def check_element(symbol: str) -> Element:
    """Return the pymatgen Element for ``symbol``.

    Raises
    ------
    StructureError
        If ``symbol`` is not a chemical element.
    """
    if not isinstance(symbol, str) or not Element.is_valid_symbol(symbol):
        raise StructureError(f"unknown element {symbol!r}")
    return Element(symbol)


def formal_charges(bulk: Structure, charges: Mapping[str, float] | None = None) -> dict[str, float]:
    """Formal ionic charge (e) of each element of ``bulk``.

    Parameters
    ----------
    bulk
        The bulk structure.
    charges
        Explicit charges by element symbol; they take precedence and must cover every
        element of ``bulk``.

    Returns
    -------
    dict
        Charge in units of the elementary charge, by element symbol.

    Raises
    ------
    StructureError
        If ``charges`` misses an element or names an unknown one, or no charge-balanced
        oxidation states exist for an ionic compound.
    """
    symbols = sorted({el.symbol for el in bulk.composition.elements})
    if charges is not None:
        for symbol in charges:
            check_element(symbol)
        missing = [s for s in symbols if s not in charges]
        if missing:
            raise StructureError(f"charges {dict(charges)!r} miss the element(s) {missing}")
        return {s: float(charges[s]) for s in symbols}
    species = bulk.composition.elements
    if all(getattr(sp, "oxi_state", None) is not None for sp in species):
        result: dict[str, float] = {}
        for sp in species:
            result[sp.symbol] = float(sp.oxi_state)
        return result
    if all(Element(s).is_metal for s in symbols):
        return dict.fromkeys(symbols, 0.0)
    guesses = Composition(bulk.composition.reduced_formula).oxi_state_guesses()
    if not guesses:
        raise StructureError(
            f"no charge-balanced oxidation states for {bulk.composition.reduced_formula!r}; "
            "pass charges={element: charge}"
        )
    return {s: float(guesses[0][s]) for s in symbols}
