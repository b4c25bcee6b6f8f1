"""Endpoints of vacancy hops for nudged-elastic-band (NEB) calculations.

A vacancy hop is described by a defect-free host structure, the site that is vacant and
the site of the atom that jumps into it. :func:`vacancy_hop` turns these into the two NEB
endpoints with one ordering of the sites:

- *initial*: the host without the vacant site; the hopping atom sits on its own site;
- *final*: the same atoms in the same order, with the hopping atom moved onto the vacant
  site along the shortest periodic vector (so the vacancy now sits where the atom was).

Keeping the site order identical in both endpoints is what an NEB needs (image ``k``
interpolates atom ``i`` between its two positions). The bulk builders below choose every
site deterministically (the lowest index that qualifies), so the same request always
builds the same structures and finished calculations are reused from the store:

- :func:`bcc_vacancy_hop`: a host atom into a nearest-neighbour vacancy (self-diffusion);
  its initial endpoint is exactly the vacancy cell of
  :class:`~anodefree.workflows.vacancy.BulkVacancyMaker` (site 0 removed);
- :func:`solute_exchange_hop`: a substitutional solute into a nearest-neighbour vacancy
  (the solute-vacancy exchange, "w2" in the five-frequency model); its initial endpoint is
  the shell-1 configuration of :func:`~anodefree.structures.defects.solute_vacancy_configurations`;
- :func:`solute_neighbour_hop`: a host atom next to a solute hopping into the vacancy
  that sits next to the solute; forward = the vacancy leaves the first shell of the
  solute (dissociation, "w3"), reverse = it returns (association, "w4").

Vacancy hops between the metal layers of an interface are built in the relaxed interface
host by :mod:`~anodefree.structures.interface_hops`.

Any other cell can use :func:`vacancy_hop` directly with its own site indices.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pymatgen.analysis.structure_matcher import StructureMatcher
from pymatgen.core import Structure

from anodefree.errors import StructureError
from anodefree.structures.defects import (
    bcc_supercell,
    check_element,
    neighbour_shells,
    remove_site,
    substitute,
)

if TYPE_CHECKING:
    import numpy as np


#: Largest allowed jump (A): longer "hops" are almost certainly a wrong site pair.
MAX_JUMP_LENGTH = 6.0


@dataclass(frozen=True)
class VacancyHop:
    """The two endpoints of one vacancy hop, with the same site order.

    Attributes
    ----------
    name
        Short identifier, e.g. ``"Li-vacancy hop in bcc Li"``.
    initial, final
        Endpoint structures (unrelaxed); site ``moving_index`` is the hopping atom.
    moving_index
        Index of the hopping atom in both endpoints.
    moving_species
        Element of the hopping atom.
    jump_length
        Unrelaxed distance between the two sites in A.
    symmetric
        Whether the endpoints are equivalent by a symmetry of the host (then the forward
        and reverse barriers must agree).
    vacancy_site, hop_site
        Indices of the vacant site and of the hopping atom in the defect-free host.
    metadata
        Tags copied into the documents (shells, solute, cell size, ...).
    fixed_indices
        Atoms (endpoint indices) held at their positions in both endpoints and in every
        image of the band; empty: all atoms relax.
    """

    name: str
    initial: Structure
    final: Structure
    moving_index: int
    moving_species: str
    jump_length: float
    symmetric: bool
    vacancy_site: int
    hop_site: int
    metadata: dict[str, Any] = field(default_factory=dict)
    fixed_indices: tuple[int, ...] = ()

    @property
    def jump_vector(self) -> np.ndarray:
        """Cartesian displacement of the hopping atom from initial to final (A)."""
        return (
            self.final.cart_coords[self.moving_index] - self.initial.cart_coords[self.moving_index]
        )


def endpoints_equivalent(initial: Structure, final: Structure) -> bool:
    """Whether two endpoints are the same structure up to a symmetry operation.

    Uses pymatgen's ``StructureMatcher`` without scaling or supercells (tight tolerances:
    the endpoints come from one host lattice).
    """
    matcher = StructureMatcher(
        ltol=1e-3, stol=1e-3, angle_tol=0.1, primitive_cell=False, scale=False,
        attempt_supercell=False,
    )  # fmt: skip
    return bool(matcher.fit(initial, final))


def vacancy_hop(
    host: Structure,
    vacancy_site: int,
    hop_site: int,
    *,
    name: str = "",
    symmetric: bool | None = None,
    metadata: dict[str, Any] | None = None,
) -> VacancyHop:
    """Build the two endpoints of the atom at ``hop_site`` jumping into ``vacancy_site``.

    Parameters
    ----------
    host
        Defect-free structure (any cell: bulk supercell, slab, interface).
    vacancy_site
        Index of the site that is vacant before the hop.
    hop_site
        Index of the atom that jumps into the vacancy.
    name
        Short identifier of the hop (defaults to a description of the sites).
    symmetric
        Whether the endpoints are symmetry-equivalent; detected with
        :func:`endpoints_equivalent` when ``None``.
    metadata
        Tags kept with the hop.

    Returns
    -------
    VacancyHop
        The endpoints, with the hopping atom at the same index in both.

    Raises
    ------
    StructureError
        If a site index is outside the host, both are the same site, or the jump is
        longer than :data:`MAX_JUMP_LENGTH`.
    """
    n_sites = len(host)
    for label, index in (("vacancy_site", vacancy_site), ("hop_site", hop_site)):
        if int(index) != index or not 0 <= index < n_sites:
            msg = f"{label} {index!r} outside a host of {n_sites} sites"
            raise StructureError(msg)
    if vacancy_site == hop_site:
        msg = f"vacancy_site and hop_site are the same site ({hop_site})"
        raise StructureError(msg)
    distance, image = host[hop_site].distance_and_image(host[vacancy_site])
    if distance > MAX_JUMP_LENGTH:
        msg = (
            f"sites {hop_site} and {vacancy_site} are {distance:.2f} A apart; a vacancy hop "
            f"longer than {MAX_JUMP_LENGTH} A is almost certainly the wrong site pair"
        )
        raise StructureError(msg)
    target_frac = host[vacancy_site].frac_coords + image
    jump = host.lattice.get_cartesian_coords(target_frac) - host[hop_site].coords
    initial = remove_site(host, vacancy_site)
    moving = hop_site - 1 if hop_site > vacancy_site else hop_site
    final = initial.copy()
    species = initial[moving].species_string
    final.replace(
        moving,
        species,
        coords=initial[moving].coords + jump,
        coords_are_cartesian=True,
        properties=initial[moving].properties,
    )
    if symmetric is None:
        symmetric = endpoints_equivalent(initial, final)
    return VacancyHop(
        name=name or f"{species} from site {hop_site} into a vacancy at site {vacancy_site}",
        initial=initial,
        final=final,
        moving_index=moving,
        moving_species=species,
        jump_length=float(distance),
        symmetric=bool(symmetric),
        vacancy_site=vacancy_site,
        hop_site=hop_site,
        metadata=dict(metadata or {}),
    )


def bcc_vacancy_hop(a: float, n: int = 3, element: str = "Li") -> VacancyHop:
    """Build a host atom jumping into a nearest-neighbour vacancy in a bcc supercell.

    Parameters
    ----------
    a
        Cubic lattice constant in A.
    n
        The supercell is ``n x n x n`` conventional cells (``2 n^3`` sites; 3 -> 54).
    element
        The bcc metal.

    Returns
    -------
    VacancyHop
        Vacancy at site 0; the hopping atom is the lowest-index nearest neighbour. The
        initial endpoint equals the vacancy cell of the bulk vacancy flow.
    """
    host = bcc_supercell(a, n, element)
    nearest = neighbour_shells(host, 0, 1)[0]
    return vacancy_hop(
        host,
        0,
        nearest.indices[0],
        name=f"{element}-vacancy hop in bcc {element}",
        metadata={"repetitions": n, "host": element, "kind": "self"},
    )


def solute_exchange_hop(a: float, solute: str, n: int = 3, host_element: str = "Li") -> VacancyHop:
    """Build a substitutional solute jumping into a nearest-neighbour vacancy.

    Parameters
    ----------
    a
        Cubic lattice constant of the host in A.
    solute
        Solute element (``"Mg"``, ``"Ag"``, ...).
    n
        Size of the ``n x n x n`` conventional bcc supercell.
    host_element
        The bcc host.

    Returns
    -------
    VacancyHop
        Solute at host site 0, vacancy at the lowest-index nearest neighbour of it (the
        shell-1 configuration of the solute-vacancy flow); the solute hops.
    """
    check_element(solute)
    if solute == host_element:
        msg = f"the solute must differ from the host element {host_element!r}"
        raise StructureError(msg)
    host = substitute(bcc_supercell(a, n, host_element), 0, solute)
    nearest = neighbour_shells(host, 0, 1)[0]
    return vacancy_hop(
        host,
        nearest.indices[0],
        0,
        name=f"{solute}-vacancy exchange in bcc {host_element}",
        metadata={"repetitions": n, "host": host_element, "solute": solute, "kind": "exchange"},
    )


def solute_neighbour_hop(
    a: float,
    solute: str,
    n: int = 3,
    target_shell: int = 2,
    host_element: str = "Li",
) -> VacancyHop:
    """Build a host atom next to a solute jumping into the vacancy beside the solute.

    The vacancy starts in the first neighbour shell of the solute (the configuration of
    :func:`solute_exchange_hop`); a host atom of shell ``target_shell`` of the solute
    that is a nearest neighbour of the vacancy jumps into it, so the vacancy moves out
    to ``target_shell``. Forward barrier: dissociation (w3 of the five-frequency
    model); reverse barrier: association (w4).

    Parameters
    ----------
    a
        Cubic lattice constant of the host in A.
    solute
        Solute element.
    n
        Size of the ``n x n x n`` conventional bcc supercell.
    target_shell
        Shell of the solute the vacancy moves to: in bcc a first-shell vacancy can move
        to shells 2, 3 or 5 by one nearest-neighbour jump.
    host_element
        The bcc host.

    Raises
    ------
    StructureError
        If no site of ``target_shell`` is a nearest neighbour of the first-shell vacancy,
        or the supercell is too small for the shell.
    """
    check_element(solute)
    if solute == host_element:
        msg = f"the solute must differ from the host element {host_element!r}"
        raise StructureError(msg)
    if int(target_shell) != target_shell or target_shell < 2:
        msg = f"target_shell must be an integer >= 2, got {target_shell!r}"
        raise StructureError(msg)
    host = substitute(bcc_supercell(a, n, host_element), 0, solute)
    shells = neighbour_shells(host, 0, target_shell)
    vacancy = shells[0].indices[0]
    nn_distance = shells[0].distance
    distances = host.distance_matrix[vacancy]
    candidates = [
        i for i in shells[target_shell - 1].indices if abs(distances[i] - nn_distance) < 0.05
    ]
    if not candidates:
        msg = (
            f"no site of shell {target_shell} of the solute is a nearest neighbour of a "
            f"first-shell vacancy; in bcc the vacancy can move to shells 2, 3 and 5"
        )
        raise StructureError(msg)
    return vacancy_hop(
        host,
        vacancy,
        candidates[0],
        name=f"{host_element} hop next to {solute} (vacancy shell 1 -> {target_shell})",
        metadata={
            "repetitions": n,
            "host": host_element,
            "solute": solute,
            "kind": "dissociation",
            "vacancy_shell_initial": 1,
            "vacancy_shell_final": target_shell,
        },
    )
