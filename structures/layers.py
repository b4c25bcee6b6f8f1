"""Atomic layers along the surface normal, and metal layers counted from an interface.

Layer numbering for interfaces (used by the layer-resolved defects of issue 4): the metal
(film) atoms are grouped into atomic layers along the normal; **L1** is the metal layer
touching the substrate (Li2S or the LiAg interlayer), L2 the next one, and so on.

Two cell designs are supported:

- *vacuum* (the default of :mod:`anodefree.structures.interfaces`): substrate, one
  interface, film, vacuum. The film has one contact (below it) and one free surface; layers
  are numbered 1..n from the contact and the last one is flagged ``is_free_surface``.
- *sandwich* (periodic, no vacuum): the film touches the substrate on both sides; each
  layer gets the number counted from its nearer contact, and ``side`` says which contact
  ("lower": the substrate below the film, "upper": the periodic image above it). Both L1
  layers are returned.

Which atoms are film and substrate comes from the site property ``interface_region``
("film"/"substrate") that the interface builder sets, or from explicit index lists.
Assign layers on the built (unrelaxed) structure: site indices survive relaxation, and the
clustering tolerance is then not tested by relaxation rumpling.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from anodefree.errors import StructureError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pymatgen.core import Structure

#: Site property holding "film" or "substrate" in interface structures.
REGION_PROPERTY = "interface_region"

#: Default largest film-substrate gap along the normal (A) that counts as a contact.
DEFAULT_CONTACT_CUTOFF = 5.0


class MetalLayer(BaseModel):
    """One atomic layer of the metal film, numbered from the interface."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    number: int = Field(
        description="Layer number from the contact: 1 = L1, touching the substrate."
    )
    side: Literal["lower", "upper"] = Field(
        description="Contact the number counts from: 'lower' = substrate below the film, "
        "'upper' = substrate above it (periodic sandwich)."
    )
    indices: tuple[int, ...] = Field(description="Site indices of the layer's atoms.")
    height: float = Field(description="Mean height along the normal in the cell, A.")
    distance_to_contact: float = Field(
        description="Height above (or below) the outermost substrate atom of that contact, A."
    )
    composition: dict[str, int] = Field(description="Atoms per element in the layer.")
    is_free_surface: bool = Field(description="The layer faces vacuum (vacuum design).")


def _normal_and_period(structure: Structure) -> tuple[np.ndarray, float]:
    a, b, c = structure.lattice.matrix
    normal = np.cross(a, b)
    normal /= np.linalg.norm(normal)
    return normal, float(np.dot(c, normal))


def heights(structure: Structure) -> np.ndarray:
    """Height of every site along the normal to the a-b plane, wrapped into [0, period) (A)."""
    normal, period = _normal_and_period(structure)
    h = structure.cart_coords @ normal
    return np.mod(h, period)


def atomic_layers(
    structure: Structure, indices: Sequence[int] | None = None, *, tol: float = 0.5
) -> list[list[int]]:
    """Group sites into atomic layers along the normal, from bottom to top.

    Periodicity along c is respected: a block of atoms crossing the cell boundary is
    unwrapped at the largest empty gap.

    Parameters
    ----------
    structure
        Any slab or interface structure.
    indices
        Sites to group (default: all).
    tol
        Largest height difference (A) between neighbouring atoms of one layer.

    Returns
    -------
    list of list of int
        Site indices per layer, bottom first.
    """
    idx = np.arange(len(structure)) if indices is None else np.asarray(indices, dtype=int)
    if idx.size == 0:
        return []
    _, period = _normal_and_period(structure)
    h = heights(structure)[idx]
    order = np.argsort(h, kind="stable")
    hs = h[order]
    gaps = np.diff(np.append(hs, hs[0] + period))
    start = (int(np.argmax(gaps)) + 1) % len(hs)
    order = np.roll(order, -start)
    unwrapped = h[order].copy()
    unwrapped[unwrapped < unwrapped[0]] += period
    layers: list[list[int]] = [[int(idx[order[0]])]]
    for k in range(1, len(order)):
        if unwrapped[k] - unwrapped[k - 1] > tol:
            layers.append([])
        layers[-1].append(int(idx[order[k]]))
    return layers


def _regions(
    structure: Structure,
    film_indices: Sequence[int] | None,
    substrate_indices: Sequence[int] | None,
) -> tuple[list[int], list[int]]:
    if film_indices is not None and substrate_indices is not None:
        return list(film_indices), list(substrate_indices)
    if REGION_PROPERTY not in structure.site_properties:
        raise StructureError(
            f"the structure has no site property {REGION_PROPERTY!r}; pass film_indices and "
            "substrate_indices"
        )
    region = structure.site_properties[REGION_PROPERTY]
    film = (
        [i for i, r in enumerate(region) if r == "film"]
        if film_indices is None
        else list(film_indices)
    )
    sub = (
        [i for i, r in enumerate(region) if r == "substrate"]
        if substrate_indices is None
        else list(substrate_indices)
    )
    return film, sub


def metal_layers(
    structure: Structure,
    film_indices: Sequence[int] | None = None,
    substrate_indices: Sequence[int] | None = None,
    *,
    tol: float = 0.5,
    contact_cutoff: float = DEFAULT_CONTACT_CUTOFF,
) -> list[MetalLayer]:
    """Metal (film) layers numbered from the contact with the substrate.

    Parameters
    ----------
    structure
        An interface structure (substrate + film, vacuum or periodic sandwich).
    film_indices, substrate_indices
        Sites of the metal film and of the substrate; read from the ``interface_region``
        site property when omitted.
    tol
        Layer clustering tolerance along the normal (A).
    contact_cutoff
        A film layer touches the substrate when the nearest substrate atom is closer than
        this along the normal (A); larger gaps count as vacuum.

    Returns
    -------
    list of MetalLayer
        Sorted by number (L1 first), lower side before upper side.

    Raises
    ------
    StructureError
        If there are no film or no substrate atoms, or the film touches no substrate.
    """
    film, sub = _regions(structure, film_indices, substrate_indices)
    if not film or not sub:
        raise StructureError(
            f"need film and substrate atoms, got {len(film)} film and {len(sub)} substrate sites"
        )
    _, period = _normal_and_period(structure)
    h = heights(structure)
    groups = atomic_layers(structure, film, tol=tol)
    h_sub = h[sub]
    bottom_atom, top_atom = groups[0][0], groups[-1][-1]  # groups keep the unwrapped order
    unwrapped = {i: h[bottom_atom] + np.mod(h[i] - h[bottom_atom], period) for i in film}
    gap_lo = float(np.mod(h[bottom_atom] - h_sub, period).min())
    gap_hi = float(np.mod(h_sub - h[top_atom], period).min())
    contact_lo = unwrapped[bottom_atom] - gap_lo  # outermost substrate atom below the film
    contact_hi = unwrapped[top_atom] + gap_hi  # ... and above it (periodic image)
    lower = gap_lo < contact_cutoff
    upper = gap_hi < contact_cutoff
    if not (lower or upper):
        raise StructureError(
            f"the film touches no substrate: gaps {gap_lo:.2f} A below and {gap_hi:.2f} A above "
            f"exceed contact_cutoff={contact_cutoff} A"
        )
    n = len(groups)
    layers = []
    for k, members in enumerate(groups):
        hk = float(np.mean([unwrapped[i] for i in members]))
        n_lo, n_hi = (k + 1 if lower else None), (n - k if upper else None)
        if n_hi is None or (n_lo is not None and n_lo <= n_hi):
            number, side, dist = n_lo, "lower", hk - contact_lo
        else:
            number, side, dist = n_hi, "upper", contact_hi - hk
        comp: dict[str, int] = {}
        for i in members:
            s = structure[i].specie.symbol
            comp[s] = comp.get(s, 0) + 1
        free = (k == n - 1 and not upper) or (k == 0 and not lower)
        layers.append(
            MetalLayer(
                number=int(number),
                side=side,
                indices=tuple(sorted(members)),
                height=float(np.mod(hk, period)),
                distance_to_contact=float(dist),
                composition=comp,
                is_free_surface=free,
            )
        )
    layers.sort(key=lambda layer: (layer.number, layer.side))
    return layers


def layer_of_site(
    structure: Structure,
    index: int,
    film_indices: Sequence[int] | None = None,
    substrate_indices: Sequence[int] | None = None,
    *,
    tol: float = 0.5,
    contact_cutoff: float = DEFAULT_CONTACT_CUTOFF,
) -> int:
    """Metal layer number (1 = L1, touching the substrate) of site ``index``.

    Raises
    ------
    StructureError
        If ``index`` is not a film (metal) site.
    """
    for layer in metal_layers(
        structure, film_indices, substrate_indices, tol=tol, contact_cutoff=contact_cutoff
    ):
        if index in layer.indices:
            return layer.number
    raise StructureError(f"site {index!r} is not a metal (film) site of this interface")


def layer_map(
    structure: Structure,
    film_indices: Sequence[int] | None = None,
    substrate_indices: Sequence[int] | None = None,
    *,
    tol: float = 0.5,
    contact_cutoff: float = DEFAULT_CONTACT_CUTOFF,
) -> dict[int, int]:
    """Layer number of every film site, ``{site index: layer number}``."""
    return {
        i: layer.number
        for layer in metal_layers(
            structure, film_indices, substrate_indices, tol=tol, contact_cutoff=contact_cutoff
        )
        for i in layer.indices
    }
