"""Vacancy hops between the metal layers of a relaxed interface host, relaxed locally.

A hop at an interface is built from a :class:`~anodefree.structures.interface_defects.DefectHost`
(the relaxed interface that the layer-resolved vacancy energies use), not from the
as-built cell: relaxing a 90-atom interface with every atom free from the unrelaxed
geometry lets the Li film reconstruct differently in each endpoint, and the band then
joins two different structures rather than two vacancy positions.

:func:`layer_hop` puts the vacancy on a site of one layer and lets the nearest host-metal
atom of the next layer jump into it. Only atoms within ``radius`` (A, minimum image, in the
host) of the vacant site or of the hopping atom's site relax; all others keep their host
positions in both endpoints and in every image of the band (``VacancyHop.fixed_indices``,
the same indices in both endpoints). Both endpoints are then the host plus one vacancy,
relaxed in the same region, and their energy difference is the difference of the two
sites' vacancy formation energies.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from anodefree.errors import StructureError
from anodefree.structures.defects import check_element
from anodefree.structures.interface_defects import check_radius, fixed_outside
from anodefree.structures.neb import vacancy_hop

if TYPE_CHECKING:
    from anodefree.structures.interface_defects import DefectHost, LayerRequest
    from anodefree.structures.neb import VacancyHop


def local_hop(
    host: DefectHost,
    vacancy: int,
    hop_site: int,
    *,
    solutes: tuple[tuple[int, str], ...] = (),
    radius: float | None = 6.0,
    name: str = "",
    metadata: dict | None = None,
) -> VacancyHop:
    """Build a vacancy hop in a host, relaxing only near the two sites.

    Parameters
    ----------
    host
        The relaxed host (film sites only may take part).
    vacancy
        Host site that is vacant before the hop.
    hop_site
        Host site of the atom that jumps into the vacancy.
    solutes
        ``(site, element)`` substitutions made in the host first.
    radius
        Atoms within this distance (A) of either site relax; None frees every atom the
        host does not fix.
    name, metadata
        Name and tags of the hop.

    Returns
    -------
    VacancyHop
        Endpoints with ``fixed_indices`` (indices in the endpoints, the host's fixed atoms
        included).

    Raises
    ------
    StructureError
        For a site that is not a film site, a solute on either hop site, an unknown
        element or a non-positive radius.
    """
    check_radius(radius)
    vacancy, hop_site = host.check_film_site(vacancy), host.check_film_site(hop_site)
    structure = host.structure.copy()
    for index, element in solutes:
        site = host.check_film_site(index)
        if site in (vacancy, hop_site):
            raise StructureError(f"solute site {site} is one of the hop's sites")
        structure.replace(site, check_element(element))
    n = len(structure)
    fixed = fixed_outside(host, [vacancy, hop_site], radius, removed=[vacancy])
    tags = {**(metadata or {}), "n_free": n - 1 - len(fixed)}
    hop = vacancy_hop(structure, vacancy, hop_site, name=name, symmetric=False, metadata=tags)
    return replace(hop, fixed_indices=tuple(fixed))


def layer_hop(
    host: DefectHost,
    from_layer: LayerRequest,
    to_layer: LayerRequest,
    *,
    solute: str | None = None,
    solute_layer: LayerRequest = 1,
    radius: float | None = 6.0,
    system: str = "",
) -> VacancyHop:
    """Build the vacancy hop from ``from_layer`` to ``to_layer`` (1 = L1, at the substrate).

    The vacancy starts on the ``from_layer`` site of the host metal nearest the solute (the
    lowest-index such site when there is no solute); the nearest host-metal atom of
    ``to_layer`` jumps into it. The solute, if any, sits on the lowest-index site of
    ``solute_layer``.

    Parameters
    ----------
    host
        The relaxed pure host.
    from_layer, to_layer
        Layers of the vacancy before and after the hop (adjacent or not; the jump must be
        shorter than 6 A).
    solute
        Element substituted next to the hop (e.g. ``"Mg"``), or None.
    solute_layer
        Layer of the solute.
    radius
        Relaxation radius, A (see :func:`local_hop`).
    system
        Name of the system, used in the hop's name.

    Raises
    ------
    StructureError
        If a layer does not exist or the solute is the host metal.
    """
    start, end = host.resolve_layer(from_layer), host.resolve_layer(to_layer)
    if start == end:
        raise StructureError(f"a layer hop needs two different layers, got L{start} twice")
    solutes: tuple[tuple[int, str], ...] = ()
    origins = list(host.layer_sites(start))
    if solute is not None:
        check_element(solute)
        if solute == host.host_element:
            raise StructureError(f"the solute {solute!r} is the host metal itself")
        site = min(host.layer_sites(solute_layer))
        solutes = ((site, solute),)
        origins = [i for i in origins if i != site]
        vacancy = min(origins, key=lambda i: (round(host.distance(site, i), 3), i))
    else:
        vacancy = min(origins)
    taken = {s for s, _ in solutes}
    targets = [i for i in host.layer_sites(end) if i not in taken]
    hop_site = min(targets, key=lambda i: (round(host.distance(vacancy, i), 3), i))
    prefix = f"{system}: " if system else ""
    return local_hop(
        host,
        vacancy,
        hop_site,
        solutes=solutes,
        radius=radius,
        name=f"{prefix}vacancy L{start} -> L{end}",
        metadata={
            "kind": "interface",
            "system": system,
            "from_layer": start,
            "to_layer": end,
            "solute": solute,
            "solute_site": solutes[0][0] if solutes else None,
            "vacancy_site": vacancy,
            "hop_site": hop_site,
            "radius": radius,
            "host_supercell": list(host.supercell),
        },
    )
