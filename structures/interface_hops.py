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


NEIGHBOUR_TOLERANCE = 0.35
"""A (relaxed-host distance): partner sites within this much of the nearest one count as
the vacancy's nearest neighbours in the next layer (alternative hop partners)."""


def layer_hop_candidates(
    host: DefectHost,
    from_layer: LayerRequest,
    to_layer: LayerRequest,
    *,
    solute_site: int | None = None,
    max_candidates: int = 6,
    partners_per_vacancy: int = 2,
) -> list[tuple[int, int]]:
    """Site pairs (vacant site, hopping atom's site) of a layer hop, in the order to try.

    The first pair is the vacancy on the ``from_layer`` site nearest the solute (the
    lowest-index site without a solute) and the nearest ``to_layer`` atom. The others
    keep the vacancy next to the solute as long as possible and vary the partner first:
    for each vacancy site, by distance to the solute, up to ``partners_per_vacancy`` of
    its nearest ``to_layer`` neighbours (within :data:`NEIGHBOUR_TOLERANCE` of the
    nearest). A pair whose relaxed endpoints turn out to be one state (or two
    reconstructions) is replaced by the next one in the flow.

    Parameters
    ----------
    host
        The relaxed pure host.
    from_layer, to_layer
        Layers of the vacancy before and after the hop.
    solute_site
        Host site of the solute, or None.
    max_candidates
        Pairs returned at most.
    partners_per_vacancy
        Partners tried per vacancy site.

    Returns
    -------
    list[tuple[int, int]]
        ``(vacancy, hop_site)`` host indices, best first.

    Raises
    ------
    StructureError
        If a layer does not exist, the two layers are the same or a count is below 1.
    """
    if max_candidates < 1 or partners_per_vacancy < 1:
        raise StructureError(
            f"max_candidates and partners_per_vacancy must be >= 1, got {max_candidates} "
            f"and {partners_per_vacancy}"
        )
    start, end = host.resolve_layer(from_layer), host.resolve_layer(to_layer)
    if start == end:
        raise StructureError(f"a layer hop needs two different layers, got L{start} twice")
    origins = [i for i in host.layer_sites(start) if i != solute_site]
    if solute_site is not None:
        origins.sort(key=lambda i: (round(host.distance(solute_site, i), 3), i))
    else:
        origins.sort()
    targets = [i for i in host.layer_sites(end) if i != solute_site]
    pairs: list[tuple[int, int]] = []
    for vacancy in origins:
        ranked = sorted(targets, key=lambda i: (round(host.distance(vacancy, i), 3), i))
        nearest = host.distance(vacancy, ranked[0])
        shell = [i for i in ranked if host.distance(vacancy, i) <= nearest + NEIGHBOUR_TOLERANCE]
        pairs += [(vacancy, partner) for partner in shell[:partners_per_vacancy]]
        if len(pairs) >= max_candidates:
            break
    return pairs[:max_candidates]


def layer_hop(
    host: DefectHost,
    from_layer: LayerRequest,
    to_layer: LayerRequest,
    *,
    solute: str | None = None,
    solute_layer: LayerRequest = 1,
    radius: float | None = 6.0,
    system: str = "",
    candidate: int = 0,
    max_candidates: int = 6,
) -> VacancyHop:
    """Build the vacancy hop from ``from_layer`` to ``to_layer`` (1 = L1, at the substrate).

    Candidate 0 (the default) puts the vacancy on the ``from_layer`` site of the host
    metal nearest the solute (the lowest-index such site when there is no solute) and
    lets the nearest host-metal atom of ``to_layer`` jump into it; the other candidates
    are the next pairs of :func:`layer_hop_candidates`. The solute, if any, sits on the
    lowest-index site of ``solute_layer``.

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
    candidate
        Index into :func:`layer_hop_candidates` (recorded in the metadata).
    max_candidates
        Length of that list.

    Raises
    ------
    StructureError
        If a layer does not exist, the solute is the host metal or there is no such
        candidate.
    """
    start, end = host.resolve_layer(from_layer), host.resolve_layer(to_layer)
    solutes: tuple[tuple[int, str], ...] = ()
    if solute is not None:
        check_element(solute)
        if solute == host.host_element:
            raise StructureError(f"the solute {solute!r} is the host metal itself")
        solutes = ((min(host.layer_sites(solute_layer)), solute),)
    pairs = layer_hop_candidates(
        host, start, end, solute_site=solutes[0][0] if solutes else None,
        max_candidates=max_candidates,
    )  # fmt: skip
    if not 0 <= candidate < len(pairs):
        raise StructureError(
            f"candidate {candidate} of the L{start} -> L{end} hop does not exist "
            f"({len(pairs)} site pairs)"
        )
    vacancy, hop_site = pairs[candidate]
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
            "candidate": candidate,
            "n_candidates": len(pairs),
        },
    )
