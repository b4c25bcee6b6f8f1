"""Geometry of the bcc Li slab: sites, layers and neighbour lists.

The slab is periodic in-plane (x, y) and, except in the bulk test mode, open along the
normal z. Layer 0 (L1) touches the electrolyte, depth grows with the layer index. Sites are
numbered layer by layer, so the sites of L1 are ``0 .. sites_per_layer - 1``. Index
``n_sites`` is a dummy "wall" site that stands for every neighbour outside the slab, so the
neighbour arrays never hold a negative index.

Neighbour lists are built from the stacking motif (period two layers for both facets): the
offset of a neighbour depends only on the motif site and the layer parity, so whole slabs of
10^5-10^6 sites are indexed with numpy arithmetic in a fraction of a second.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from anodefree.errors import ConfigError

_TOL = 1e-6

# Rows: slab axes x, y, z in the conventional cubic frame. z is the surface normal.
_ROTATIONS = {
    "100": np.eye(3),
    "110": np.array(
        [
            [-1.0 / math.sqrt(2), 1.0 / math.sqrt(2), 0.0],
            [0.0, 0.0, 1.0],
            [1.0 / math.sqrt(2), 1.0 / math.sqrt(2), 0.0],
        ]
    ),
}
# In-plane periods (px, py) and layer spacing d in units of a.
_PERIODS = {"100": (1.0, 1.0, 0.5), "110": (math.sqrt(2), 1.0, 1.0 / math.sqrt(2))}


def bcc_lattice_vectors(n_shells: int) -> list[np.ndarray]:
    """Lattice vectors of the first neighbour shells of bcc, in units of a (cubic frame).

    Parameters
    ----------
    n_shells
        Number of shells.

    Returns
    -------
    list[numpy.ndarray]
        One (m_k, 3) array per shell k = 1..n_shells, in a fixed order.
    """
    span = 2 * n_shells + 2
    grid = np.arange(-span, span + 1)
    h, k, m = np.meshgrid(grid, grid, grid, indexing="ij")
    vectors = np.stack([h.ravel(), k.ravel(), m.ravel()], axis=1)
    same_parity = (vectors[:, 0] % 2 == vectors[:, 1] % 2) & (
        vectors[:, 1] % 2 == vectors[:, 2] % 2
    )
    vectors = vectors[same_parity & np.any(vectors != 0, axis=1)]
    squares = (vectors**2).sum(axis=1)
    shells = []
    for square in np.unique(squares)[:n_shells]:
        shell = vectors[squares == square]
        order = np.lexsort(shell.T[::-1])
        shells.append(0.5 * shell[order].astype(float))
    return shells


@dataclass
class SlabLattice:
    """A bcc slab with neighbour lists for the lattice KMC.

    Parameters
    ----------
    facet
        Metal facet against the electrolyte, ``"100"`` or ``"110"``.
    lattice_constant
        Cubic lattice constant a, in angstrom.
    nx, ny
        Number of orthogonal in-plane cells (a x a for (100); a sqrt(2) x a for (110)).
    n_layers
        Number of atomic layers along the normal.
    n_shells
        Interaction shells for which shell neighbour lists are built (0: none).
    periodic_z
        Periodic along z as well (bulk test mode; needs an even ``n_layers``).
    """

    facet: Literal["100", "110"]
    lattice_constant: float
    nx: int
    ny: int
    n_layers: int
    n_shells: int = 1
    periodic_z: bool = False
    # Built in __post_init__.
    sites_per_layer: int = field(init=False)
    n_sites: int = field(init=False)
    layer: np.ndarray = field(init=False, repr=False)
    positions: np.ndarray = field(init=False, repr=False)
    nbr1: np.ndarray = field(init=False, repr=False)
    hop_vectors: np.ndarray = field(init=False, repr=False)
    shell_nbr: np.ndarray = field(init=False, repr=False)
    shell_of_slot: np.ndarray = field(init=False, repr=False)
    inplane_nbr: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        """Validate the size and build positions and neighbour lists."""
        if self.facet not in _ROTATIONS:
            raise ConfigError(f"facet must be '100' or '110', got {self.facet!r}")
        if self.lattice_constant <= 0:
            raise ConfigError(f"lattice_constant must be positive, got {self.lattice_constant}")
        for name in ("nx", "ny", "n_layers"):
            if getattr(self, name) < 2:
                raise ConfigError(f"{name} must be at least 2, got {getattr(self, name)}")
        if self.periodic_z and self.n_layers % 2:
            raise ConfigError(
                f"a slab periodic along z needs an even n_layers (stacking period 2), "
                f"got {self.n_layers}"
            )
        if self.n_shells < 0:
            raise ConfigError(f"n_shells must be >= 0, got {self.n_shells}")
        self._build()

    # ------------------------------------------------------------------ geometry

    @property
    def dummy(self) -> int:
        """Index of the wall site that stands for every neighbour outside the slab."""
        return self.n_sites

    @property
    def layer_spacing(self) -> float:
        """Distance between adjacent atomic layers, in angstrom."""
        return _PERIODS[self.facet][2] * self.lattice_constant

    @property
    def nn_distance(self) -> float:
        """Nearest-neighbour (hop) distance sqrt(3)/2 a, in angstrom."""
        return 0.5 * math.sqrt(3.0) * self.lattice_constant

    @property
    def cell_lengths(self) -> tuple[float, float]:
        """In-plane box lengths (Lx, Ly), in angstrom."""
        px, py, _ = _PERIODS[self.facet]
        return (self.nx * px * self.lattice_constant, self.ny * py * self.lattice_constant)

    @property
    def area(self) -> float:
        """In-plane area of the slab, in angstrom^2."""
        lx, ly = self.cell_lengths
        return lx * ly

    @property
    def area_per_site(self) -> float:
        """In-plane area per site of one layer, in angstrom^2."""
        return self.area / self.sites_per_layer

    def layer_sites(self, index: int) -> np.ndarray:
        """Site indices of one layer (0 = L1)."""
        start = index * self.sites_per_layer
        return np.arange(start, start + self.sites_per_layer)

    def _motif(self) -> tuple[list[np.ndarray], float, float, float]:
        """Sites of one orthogonal cell, per layer parity, in angstrom (slab frame)."""
        a = self.lattice_constant
        px, py, d = (value * a for value in _PERIODS[self.facet])
        rotation = _ROTATIONS[self.facet]
        grid = np.arange(-4, 5)
        h, k, m = np.meshgrid(grid, grid, grid, indexing="ij")
        corners = np.stack([h.ravel(), k.ravel(), m.ravel()], axis=1).astype(float)
        points = np.concatenate([corners, corners + 0.5]) * a
        slab = points @ rotation.T
        inside = (
            (slab[:, 0] > -_TOL)
            & (slab[:, 0] < px - _TOL)
            & (slab[:, 1] > -_TOL)
            & (slab[:, 1] < py - _TOL)
            & (slab[:, 2] > -_TOL)
            & (slab[:, 2] < 2 * d - _TOL)
        )
        slab = np.clip(slab[inside], 0.0, None)
        per_parity = []
        for parity in (0, 1):
            sites = slab[np.abs(slab[:, 2] - parity * d) < _TOL]
            per_parity.append(sites[np.lexsort((sites[:, 0], sites[:, 1]))])
        if len(per_parity[0]) != len(per_parity[1]) or not len(per_parity[0]):
            msg = f"inconsistent stacking motif for facet {self.facet}"
            raise RuntimeError(msg)
        return per_parity, px, py, d

    def _offsets(self, vectors: np.ndarray) -> np.ndarray:
        """Index offsets (di, dj, dl, s') of each vector, per parity and motif site.

        Returns
        -------
        numpy.ndarray
            Integer array of shape (2, m, len(vectors), 4).
        """
        motif, px, py, d = self._motif_cache
        m = len(motif[0])
        out = np.zeros((2, m, len(vectors), 4), dtype=np.int64)
        for parity in (0, 1):
            for s in range(m):
                for v_index, vector in enumerate(vectors):
                    target = motif[parity][s] + vector
                    dl = round(vector[2] / d)
                    target_parity = (parity + dl) % 2
                    for s2, candidate in enumerate(motif[target_parity]):
                        fx = (target[0] - candidate[0]) / px
                        fy = (target[1] - candidate[1]) / py
                        if abs(fx - round(fx)) < _TOL and abs(fy - round(fy)) < _TOL:
                            out[parity, s, v_index] = (round(fx), round(fy), dl, s2)
                            break
                    else:
                        msg = f"no lattice site at offset {vector} (facet {self.facet})"
                        raise RuntimeError(msg)
        return out

    def neighbours(self, vectors: np.ndarray) -> np.ndarray:
        """Index of the site at ``position + vector`` for every site and vector.

        Parameters
        ----------
        vectors
            (k, 3) lattice vectors in angstrom, slab frame.

        Returns
        -------
        numpy.ndarray
            int32 array (n_sites + 1, k); :attr:`dummy` where the target lies outside the
            slab. The dummy row points to the dummy.
        """
        offsets = self._offsets(np.asarray(vectors, dtype=float))
        m = self._m
        n_l, nx, ny = self.n_layers, self.nx, self.ny
        index = np.arange(self.n_sites)
        s = index % m
        i = (index // m) % nx
        j = (index // (m * nx)) % ny
        lay = index // (m * nx * ny)
        off = offsets[lay % 2, s]  # (n_sites, k, 4)
        i2 = (i[:, None] + off[..., 0]) % nx
        j2 = (j[:, None] + off[..., 1]) % ny
        l2 = lay[:, None] + off[..., 2]
        if self.periodic_z:
            l2 %= n_l
            outside = np.zeros_like(l2, dtype=bool)
        else:
            outside = (l2 < 0) | (l2 >= n_l)
        target = ((l2 * ny + j2) * nx + i2) * m + off[..., 3]
        target[outside] = self.dummy
        dummy_row = np.full((1, target.shape[1]), self.dummy)
        return np.concatenate([target, dummy_row]).astype(np.int32)

    def _build(self) -> None:
        self._motif_cache = self._motif()
        motif, px, py, d = self._motif_cache
        self._m = len(motif[0])
        m = self._m
        self.sites_per_layer = m * self.nx * self.ny
        self.n_sites = self.sites_per_layer * self.n_layers
        index = np.arange(self.n_sites)
        s = index % m
        i = (index // m) % self.nx
        j = (index // (m * self.nx)) % self.ny
        lay = index // (m * self.nx * self.ny)
        base = np.stack([motif[0], motif[1]])[lay % 2, s]
        self.positions = np.stack([base[:, 0] + i * px, base[:, 1] + j * py, lay * d], axis=1)
        self.layer = np.concatenate([lay, [-1]]).astype(np.int32)

        rotation = _ROTATIONS[self.facet]
        a = self.lattice_constant
        shells = [shell @ rotation.T * a for shell in bcc_lattice_vectors(max(self.n_shells, 2))]
        self.hop_vectors = shells[0]
        self.nbr1 = self.neighbours(self.hop_vectors)
        used = shells[: self.n_shells]
        if used:
            vectors = np.concatenate(used)
            self.shell_of_slot = np.concatenate(
                [np.full(len(shell), k, dtype=np.int32) for k, shell in enumerate(used)]
            )
            self.shell_nbr = self.neighbours(vectors)
        else:
            self.shell_of_slot = np.zeros(0, dtype=np.int32)
            self.shell_nbr = np.zeros((self.n_sites + 1, 0), dtype=np.int32)
        self.shell_vectors = np.concatenate(used) if used else np.zeros((0, 3))

        # Shortest in-plane lattice vectors: the bonds that connect interfacial voids.
        candidates = np.concatenate(shells[:3])
        flat = candidates[np.abs(candidates[:, 2]) < _TOL]
        lengths = np.linalg.norm(flat, axis=1)
        self.inplane_vectors = flat[np.abs(lengths - lengths.min()) < _TOL]
        self.inplane_distance = float(lengths.min())
        self.inplane_nbr = self.neighbours(self.inplane_vectors)[: self.sites_per_layer]
