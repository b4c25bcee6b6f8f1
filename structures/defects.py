"""Point defects in bulk: supercells, neighbour shells, vacancies and solutes.

Sites are chosen deterministically (the lowest index of a shell), so the same request
always builds the same structure, which is what lets finished calculations be reused.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pymatgen.core import Element, Structure

from anodefree.errors import StructureError
from anodefree.structures.bulk import bulk_structure

#: Tolerance (A) for grouping neighbours into one shell.
SHELL_TOLERANCE = 0.05


def check_element(symbol: str) -> str:
    """Return ``symbol`` if it names a chemical element, else raise :class:`StructureError`."""
    try:
        Element(symbol)
    except (ValueError, KeyError) as exc:
        raise StructureError(f"unknown element {symbol!r}") from exc
    return symbol


def bcc_supercell(a: float, n: int, element: str = "Li") -> Structure:
    """Return an ``n x n x n`` supercell of the conventional bcc cell (``2 n^3`` atoms).

    Parameters
    ----------
    a
        Cubic lattice constant in A.
    n
        Repetitions along each cubic axis (>= 2).
    element
        The element on the lattice.
    """
    if int(n) != n or n < 2:
        raise StructureError(f"supercell size must be an integer >= 2, got {n!r}")
    check_element(element)
    cell = bulk_structure("Li", conventional=True, a=a)
    cell.replace_species({"Li": element})
    cell.make_supercell([int(n)] * 3)
    return cell


@dataclass(frozen=True)
class NeighbourShell:
    """Sites at one distance from a centre site."""

    number: int  # 1 for nearest neighbours
    distance: float  # A
    indices: tuple[int, ...]


def neighbour_shells(structure: Structure, centre: int, n_shells: int) -> list[NeighbourShell]:
    """Group the sites around ``centre`` into the first ``n_shells`` distance shells.

    Only shells closer than half the shortest supercell height are returned, because
    farther "shells" mix periodic images of the centre.

    Raises
    ------
    StructureError
        If the supercell is too small to hold ``n_shells`` distinct shells.
    """
    if not 0 <= centre < len(structure):
        raise StructureError(f"site index {centre} outside a structure of {len(structure)} sites")
    matrix = structure.lattice.matrix
    volume = abs(np.linalg.det(matrix))
    heights = [volume / np.linalg.norm(np.cross(matrix[i - 2], matrix[i - 1])) for i in range(3)]
    limit = min(heights) / 2
    distances = structure.distance_matrix[centre]
    shells: list[NeighbourShell] = []
    remaining = [i for i in np.argsort(distances, kind="stable") if i != centre]
    while remaining and len(shells) < n_shells:
        d0 = distances[remaining[0]]
        members = tuple(sorted(int(i) for i in remaining if distances[i] - d0 < SHELL_TOLERANCE))
        if d0 >= limit - SHELL_TOLERANCE:
            break
        shells.append(NeighbourShell(len(shells) + 1, float(d0), members))
        remaining = [i for i in remaining if i not in members]
    if len(shells) < n_shells:
        raise StructureError(
            f"a supercell with heights {min(heights):.2f} A holds only {len(shells)} "
            f"neighbour shells without periodic images; {n_shells} were requested"
        )
    return shells


def substitute(structure: Structure, index: int, element: str) -> Structure:
    """Return a copy with site ``index`` replaced by ``element``."""
    check_element(element)
    if not 0 <= index < len(structure):
        raise StructureError(f"site index {index} outside a structure of {len(structure)} sites")
    new = structure.copy()
    new.replace(index, element)
    return new


def remove_site(structure: Structure, index: int) -> Structure:
    """Return a copy with site ``index`` removed (a vacancy)."""
    if not 0 <= index < len(structure):
        raise StructureError(f"site index {index} outside a structure of {len(structure)} sites")
    new = structure.copy()
    new.remove_sites([index])
    return new


@dataclass(frozen=True)
class SoluteVacancyConfiguration:
    """A solute and a vacancy at one neighbour shell of it."""

    structure: Structure
    shell: int
    distance: float  # A, unrelaxed solute-vacancy distance
    solute_index: int  # index of the solute in ``structure``
    vacancy_site: int  # index the vacancy had in the defect-free supercell


def solute_vacancy_configurations(
    supercell: Structure, solute: str, shells: list[int], solute_site: int = 0
) -> tuple[Structure, list[SoluteVacancyConfiguration]]:
    """Build a solute supercell and one vacancy at each requested neighbour shell.

    Parameters
    ----------
    supercell
        Defect-free host supercell (e.g. :func:`bcc_supercell`).
    solute
        Solute element, e.g. ``"Mg"``.
    shells
        Shell numbers (1 = nearest neighbours).
    solute_site
        Host site that becomes the solute.

    Returns
    -------
    tuple
        The solute supercell (no vacancy) and the configurations, in shell order.
    """
    if not shells or any(int(s) != s or s < 1 for s in shells):
        raise StructureError(f"neighbour shells must be integers >= 1, got {shells!r}")
    with_solute = substitute(supercell, solute_site, solute)
    found = {s.number: s for s in neighbour_shells(with_solute, solute_site, max(shells))}
    configurations = []
    for number in sorted(shells):
        shell = found[number]
        site = shell.indices[0]
        structure = remove_site(with_solute, site)
        solute_index = solute_site if solute_site < site else solute_site - 1
        configurations.append(
            SoluteVacancyConfiguration(structure, number, shell.distance, solute_index, site)
        )
    return with_solute, configurations
