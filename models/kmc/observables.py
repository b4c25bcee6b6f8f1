"""What the stripping KMC measures: contact, interfacial voids, vacancy depth profile.

Definitions
-----------
contact fraction
    Fraction of the sites of the first metal layer (L1, against the electrolyte) that hold an
    atom (Li or solute). A vacant L1 site is a patch of electrolyte without metal contact.
interfacial void
    A maximal set of vacant L1 sites connected through the in-plane nearest-neighbour bonds of
    the L1 plane (the shortest lattice vectors inside the plane: a<100> on bcc(100), a square
    net; (sqrt(3)/2)a<111> on bcc(110), a rhombic net), periodic in-plane. Its size is its
    number of sites, its area that number times the area per L1 site. Clusters of at least
    ``min_void_sites`` sites count as voids (default 2: an isolated vacancy is a point defect,
    not a void); the size histogram keeps every cluster, so any other threshold can be applied
    afterwards.
vacancy depth profile
    Fraction of vacant sites in each layer, L1 first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from anodefree.models.kmc.engine import VAC

if TYPE_CHECKING:
    from anodefree.models.kmc.lattice import SlabLattice


def contact_fraction(occupancy: np.ndarray, lattice: SlabLattice) -> float:
    """Fraction of L1 sites that hold an atom.

    Parameters
    ----------
    occupancy
        Occupancy of every site (engine codes).
    lattice
        The slab.

    Returns
    -------
    float
        Between 0 (no contact) and 1 (full contact).
    """
    l1 = occupancy[: lattice.sites_per_layer]
    return float(np.mean(l1 != VAC))


def void_cluster_sizes(occupancy: np.ndarray, lattice: SlabLattice) -> np.ndarray:
    """Sizes (in sites) of the connected clusters of vacant L1 sites, largest first.

    Parameters
    ----------
    occupancy
        Occupancy of every site (engine codes).
    lattice
        The slab.

    Returns
    -------
    numpy.ndarray
        One entry per cluster (isolated vacancies included).
    """
    n1 = lattice.sites_per_layer
    vacant = occupancy[:n1] == VAC
    if not vacant.any():
        return np.zeros(0, dtype=np.int64)
    nbr = lattice.inplane_nbr  # (n1, q), indices within L1
    rows = np.repeat(np.arange(n1), nbr.shape[1])
    cols = nbr.ravel()
    keep = vacant[rows] & vacant[cols]
    graph = coo_matrix(
        (np.ones(int(keep.sum()), dtype=np.int8), (rows[keep], cols[keep])), shape=(n1, n1)
    )
    _, labels = connected_components(graph, directed=False)
    sizes = np.bincount(labels[vacant])
    sizes = sizes[sizes > 0]
    return np.sort(sizes)[::-1]


@dataclass
class VoidStatistics:
    """Interfacial voids of one configuration."""

    n_voids: int
    mean_sites: float
    max_sites: int
    void_fraction: float
    histogram: list[tuple[int, int]]

    @classmethod
    def from_sizes(cls, sizes: np.ndarray, n_l1: int, min_void_sites: int) -> VoidStatistics:
        """Statistics of the clusters of at least ``min_void_sites`` sites.

        Parameters
        ----------
        sizes
            Cluster sizes in sites.
        n_l1
            Number of L1 sites.
        min_void_sites
            Smallest cluster counted as a void.

        Returns
        -------
        VoidStatistics
            Count, mean and largest size, fraction of L1 inside voids, and the histogram
            (size, count) of all clusters.
        """
        voids = sizes[sizes >= min_void_sites]
        values, counts = np.unique(sizes, return_counts=True)
        return cls(
            n_voids=len(voids),
            mean_sites=float(voids.mean()) if len(voids) else 0.0,
            max_sites=int(voids.max()) if len(voids) else 0,
            void_fraction=float(voids.sum()) / n_l1,
            histogram=[(int(v), int(c)) for v, c in zip(values, counts, strict=True)],
        )


def vacancy_profile(occupancy: np.ndarray, lattice: SlabLattice, n_active: int) -> np.ndarray:
    """Fraction of vacant sites in each of the first ``n_active`` layers (L1 first)."""
    per_layer = occupancy[: n_active * lattice.sites_per_layer].reshape(n_active, -1)
    return (per_layer == VAC).mean(axis=1)
