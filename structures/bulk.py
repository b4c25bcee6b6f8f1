"""Bulk prototypes of the reference phases, at their experimental lattice constants.

The starting lattice constants are experimental values (they are also the comparison
values of the bulk-reference report, see :mod:`anodefree.analysis.references`); every
workflow relaxes them with its own engine before use.
"""

from __future__ import annotations

from dataclasses import dataclass

from pymatgen.core import Lattice, Structure

from anodefree.errors import StructureError


@dataclass(frozen=True)
class BulkPrototype:
    """A reference phase: its structure type and experimental lattice parameters."""

    name: str
    formula: str
    structure_type: str
    space_group: str
    a: float  # A
    c: float | None = None  # A, hexagonal phases only
    source: str = ""

    def structure(self, *, conventional: bool = False) -> Structure:
        """Build the structure (primitive cell unless ``conventional``)."""
        builder = _BUILDERS[self.structure_type]
        return builder(self, conventional=conventional)


def _bcc(p: BulkPrototype, *, conventional: bool) -> Structure:
    if conventional:
        return Structure(Lattice.cubic(p.a), [p.formula] * 2, [[0, 0, 0], [0.5, 0.5, 0.5]])
    half = p.a / 2
    lattice = Lattice([[-half, half, half], [half, -half, half], [half, half, -half]])
    return Structure(lattice, [p.formula], [[0, 0, 0]])


def _fcc_lattice(a: float) -> Lattice:
    half = a / 2
    return Lattice([[0, half, half], [half, 0, half], [half, half, 0]])


def _fcc(p: BulkPrototype, *, conventional: bool) -> Structure:
    if conventional:
        coords = [[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]]
        return Structure(Lattice.cubic(p.a), [p.formula] * 4, coords)
    return Structure(_fcc_lattice(p.a), [p.formula], [[0, 0, 0]])


def _hcp(p: BulkPrototype, *, conventional: bool) -> Structure:  # noqa: ARG001
    lattice = Lattice.hexagonal(p.a, p.c)
    return Structure(lattice, [p.formula] * 2, [[1 / 3, 2 / 3, 0.25], [2 / 3, 1 / 3, 0.75]])


def _antifluorite(p: BulkPrototype, *, conventional: bool) -> Structure:
    # Li2S: S on the fcc sites, Li in all tetrahedral holes (Fm-3m).
    cation = p.formula.replace("2S", "")
    if conventional:
        s_sites = [[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]]
        li_sites = [[x, y, z] for x in (0.25, 0.75) for y in (0.25, 0.75) for z in (0.25, 0.75)]
        return Structure(Lattice.cubic(p.a), ["S"] * 4 + [cation] * 8, s_sites + li_sites)
    coords = [[0, 0, 0], [0.25, 0.25, 0.25], [0.75, 0.75, 0.75]]
    return Structure(_fcc_lattice(p.a), ["S", cation, cation], coords)


def _rocksalt(p: BulkPrototype, *, conventional: bool) -> Structure:
    cation = p.formula[:-1]
    if conventional:
        fcc = [[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]]
        shifted = [[(x + 0.5) % 1, y, z] for x, y, z in fcc]
        return Structure(Lattice.cubic(p.a), [cation] * 4 + ["S"] * 4, fcc + shifted)
    return Structure(_fcc_lattice(p.a), [cation, "S"], [[0, 0, 0], [0.5, 0.5, 0.5]])


_BUILDERS = {
    "bcc": _bcc,
    "fcc": _fcc,
    "hcp": _hcp,
    "antifluorite": _antifluorite,
    "rocksalt": _rocksalt,
}

#: The reference phases of the mission with experimental lattice parameters.
PROTOTYPES: dict[str, BulkPrototype] = {
    "Li": BulkPrototype(
        "Li", "Li", "bcc", "Im-3m", 3.48, source="bcc Li at low temperature (~3.48 A)"
    ),
    "Li2S": BulkPrototype("Li2S", "Li2S", "antifluorite", "Fm-3m", 5.69, source="exp."),
    "MgS": BulkPrototype("MgS", "MgS", "rocksalt", "Fm-3m", 5.20, source="exp."),
    "Mg": BulkPrototype("Mg", "Mg", "hcp", "P6_3/mmc", 3.21, c=5.21, source="exp."),
    "Ag": BulkPrototype("Ag", "Ag", "fcc", "Fm-3m", 4.09, source="exp."),
}


def bulk_prototype(name: str) -> BulkPrototype:
    """Return the prototype called ``name``.

    Raises
    ------
    StructureError
        If ``name`` is not a known reference phase; the message lists them.
    """
    if name not in PROTOTYPES:
        raise StructureError(f"unknown bulk phase {name!r}; known phases: {', '.join(PROTOTYPES)}")
    return PROTOTYPES[name]


def bulk_structure(name: str, *, conventional: bool = False, a: float | None = None) -> Structure:
    """Build a reference phase, optionally at another cubic lattice constant ``a`` (A).

    Parameters
    ----------
    name
        One of ``Li``, ``Li2S``, ``MgS``, ``Mg``, ``Ag``.
    conventional
        Return the conventional cubic cell (bcc: 2 atoms, fcc-based: 4 formula units).
    a
        Lattice constant in A replacing the experimental one (cubic phases; the c/a
        ratio is kept for hcp).

    Returns
    -------
    Structure
        The bulk structure.
    """
    prototype = bulk_prototype(name)
    if a is not None:
        if a <= 0:
            raise StructureError(f"lattice constant must be positive, got {a!r} A")
        ratio = prototype.c / prototype.a if prototype.c else None
        prototype = BulkPrototype(
            prototype.name,
            prototype.formula,
            prototype.structure_type,
            prototype.space_group,
            a,
            c=a * ratio if ratio else None,
            source="user",
        )
    return prototype.structure(conventional=conventional)
