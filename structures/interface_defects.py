"""Point defects in a metal | electrolyte interface, by metal layer, in in-plane supercells.

The host is a relaxed interface cell (metal film on Li2S, see
:mod:`~anodefree.structures.interfaces`) with its film and substrate sites. Metal layers are
numbered from the contact (**L1 touches the substrate**, :mod:`~anodefree.structures.layers`);
the *interior* layer is the film's middle layer (vacuum design: between the contact and the
free surface, ``n // 2 + 1`` of ``n`` layers; periodic sandwich: the deepest layer).

Every configuration is built deterministically from the host: a vacancy removes a site, a
solute replaces a site's element, a pair does both; nothing is moved by hand (a vacancy
"filled by an atom from L2" is the configuration with the vacancy at that atom's site).
The same request gives the same structure, which lets finished calculations be reused.

Local relaxation: :func:`build_defect` frees only the atoms within ``radius`` (A, minimum
image distance in the unrelaxed host) of any defect site, plus nothing the host fixes; all
other atoms keep their relaxed host positions (``fixed_indices`` of the record, ready for
:class:`~anodefree.tasks.CalculationTask`). The pristine energy is then the host's own.

In-plane supercells (:meth:`DefectHost.make_supercell`) replicate the host along its two
in-plane vectors; the sites of image (i, j) follow those of the previous image in the same
order, so site ``k`` of the host is site ``k`` of every supercell (image (0, 0)) and site
``t * N + k`` is its copy in image ``t = i * n_b + j``. Configurations related by a
supercell translation have the same energy; :meth:`DefectHost.canonical_site` maps a site
to its copy in image (0, 0) so that such requests are identical (and computed once).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from pymatgen.core import Lattice, Structure

from anodefree.errors import StructureError
from anodefree.structures.defects import check_element
from anodefree.structures.layers import (
    DEFAULT_CONTACT_CUTOFF,
    MetalLayer,
    heights,
    metal_layers,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

#: Tolerance (A) for grouping distances into one neighbour shell in a relaxed host, whose
#: layers are rumpled by a few hundredths of an angstrom.
SHELL_TOLERANCE = 0.25

LayerRequest = int | Literal["interior"]


@dataclass(frozen=True)
class DefectHost:
    """A relaxed interface cell (or an in-plane supercell of one) that receives defects.

    Build it with :meth:`from_interface`; do not call the constructor directly.
    """

    structure: Structure
    film_indices: tuple[int, ...]
    substrate_indices: tuple[int, ...]
    fixed_indices: tuple[int, ...]
    layer_of: dict[int, int]
    distance_to_contact: dict[int, float]
    n_layers: int
    interior_layer: int
    n_primitive: int
    supercell: tuple[int, int] = (1, 1)
    host_element: str = "Li"

    @classmethod
    def from_interface(
        cls,
        structure: Structure,
        film_indices: Sequence[int],
        substrate_indices: Sequence[int],
        fixed_indices: Sequence[int] = (),
        *,
        host_element: str = "Li",
        layer_reference: Structure | None = None,
        tol: float = 0.5,
        contact_cutoff: float = DEFAULT_CONTACT_CUTOFF,
    ) -> DefectHost:
        """Prepare a relaxed interface for defects.

        The metal layers are numbered on ``layer_reference`` when given (the as-built,
        unrelaxed interface: site order survives relaxation, and a contact layer whose
        atoms partly sink into the substrate on relaxation keeps its number), else on
        ``structure`` itself.

        Parameters
        ----------
        structure
            The (relaxed) interface; only lattice, species and positions are kept.
        film_indices, substrate_indices
            Metal film and substrate sites (the adhesion stage's ``film_indices`` and
            ``substrate_indices``, or ``InterfaceBuild.film_indices``).
        fixed_indices
            Sites the host keeps fixed (e.g. the bottom substrate planes); they stay fixed
            in every defect configuration.
        host_element
            The metal of the film; the film must consist of it alone.
        layer_reference
            The same interface before relaxation (same sites in the same order).
        tol, contact_cutoff
            Layer clustering tolerance and contact cutoff (A), see
            :func:`~anodefree.structures.layers.metal_layers`.

        Raises
        ------
        StructureError
            If the index lists overlap, leave sites out, or point outside the structure; if
            the film holds another element than ``host_element`` (pass the pure interface:
            solutes are placed by the defect builders); or if the film touches no substrate.
        """
        check_element(host_element)
        n = len(structure)
        film, sub, fixed = (tuple(int(i) for i in x) for x in (film_indices, substrate_indices,
                                                               fixed_indices))  # fmt: skip
        outside = [i for i in (*film, *sub, *fixed) if not 0 <= i < n]
        if outside:
            raise StructureError(f"site indices {sorted(set(outside))} outside the {n} sites")
        if set(film) & set(sub):
            raise StructureError(
                f"sites {sorted(set(film) & set(sub))} are listed as both film and substrate"
            )
        if len(set(film)) + len(set(sub)) != n:
            missing = sorted(set(range(n)) - set(film) - set(sub))
            raise StructureError(f"sites {missing} are neither film nor substrate")
        foreign = {
            i: structure[i].specie.symbol
            for i in film
            if structure[i].specie.symbol != host_element
        }
        if foreign:
            raise StructureError(
                f"the host film must be pure {host_element} (found {foreign}, site: element); "
                "pass the pure interface, solutes are placed by the defect builders"
            )
        clean = Structure(structure.lattice, structure.species, structure.frac_coords)
        reference = clean
        if layer_reference is not None:
            if [s.species_string for s in layer_reference] != [s.species_string for s in clean]:
                raise StructureError(
                    "layer_reference must hold the same sites in the same order as the "
                    f"interface ({layer_reference.composition.formula} vs "
                    f"{clean.composition.formula})"
                )
            reference = layer_reference
        layers = metal_layers(
            reference, list(film), list(sub), tol=tol, contact_cutoff=contact_cutoff
        )
        layer_of, dist = _layer_maps(layers)
        numbers = sorted({layer.number for layer in layers})
        free_surface = any(layer.is_free_surface for layer in layers)
        n_layers = len(layers)
        interior = n_layers // 2 + 1 if free_surface else numbers[-1]
        return cls(
            structure=clean,
            film_indices=tuple(sorted(film)),
            substrate_indices=tuple(sorted(sub)),
            fixed_indices=tuple(sorted(set(fixed))),
            layer_of=layer_of,
            distance_to_contact=dist,
            n_layers=n_layers,
            interior_layer=interior,
            n_primitive=n,
            host_element=host_element,
        )

    # ------------------------------------------------------------------ layers

    @property
    def layer_numbers(self) -> list[int]:
        """Layer numbers present in the film (1 = L1), ascending."""
        return sorted(set(self.layer_of.values()))

    def resolve_layer(self, layer: LayerRequest) -> int:
        """Return the layer number of ``layer`` (an integer >= 1 or ``"interior"``).

        Raises
        ------
        StructureError
            If the layer is not an integer >= 1 or ``"interior"``, or the film has no such
            layer (the message gives the film's layers).
        """
        if layer == "interior":
            return self.interior_layer
        if isinstance(layer, bool) or not isinstance(layer, int | np.integer) or layer < 1:
            raise StructureError(
                f"metal layer must be an integer >= 1 (1 = L1, touching the substrate) or "
                f"'interior', got {layer!r}"
            )
        if layer not in self.layer_numbers:
            raise StructureError(
                f"metal layer L{layer} does not exist: the film has layers "
                f"L1..L{self.layer_numbers[-1]} (interior L{self.interior_layer})"
            )
        return int(layer)

    def layer_sites(self, layer: LayerRequest) -> tuple[int, ...]:
        """Site indices of metal layer ``layer`` (validated, see :meth:`resolve_layer`)."""
        number = self.resolve_layer(layer)
        return tuple(sorted(i for i, n in self.layer_of.items() if n == number))

    def check_film_site(self, index: int) -> int:
        """Return ``index`` if it is a metal film site, else raise StructureError."""
        if isinstance(index, bool) or not isinstance(index, int | np.integer):
            raise StructureError(f"a site index must be an integer, got {index!r}")
        if not 0 <= index < len(self.structure):
            raise StructureError(
                f"site {index} outside the {len(self.structure)}-site "
                f"{self.supercell[0]}x{self.supercell[1]} cell"
            )
        if index not in self.layer_of:
            raise StructureError(f"site {index} is not a metal (film) site")
        return int(index)

    # ------------------------------------------------------------------ supercells

    def make_supercell(self, n_a: int, n_b: int) -> DefectHost:
        """Replicate the host ``n_a x n_b`` times in plane (see the module doc for the order).

        Raises
        ------
        StructureError
            If this host is already a supercell or a size is not a positive integer.
        """
        for value in (n_a, n_b):
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
                raise StructureError(f"in-plane repetitions must be integers >= 1, got "
                                     f"{(n_a, n_b)!r}")  # fmt: skip
        if self.supercell != (1, 1):
            raise StructureError("make supercells of the primitive host only")
        if (n_a, n_b) == (1, 1):
            return self
        a, b, c = self.structure.lattice.matrix
        lattice = Lattice([n_a * a, n_b * b, c])
        species, coords = [], []
        for i, j in itertools.product(range(n_a), range(n_b)):
            species += self.structure.species
            coords.append(self.structure.cart_coords + i * a + j * b)
        big = Structure(lattice, species, np.vstack(coords), coords_are_cartesian=True)
        n = self.n_primitive
        images = n_a * n_b

        def replicate(indices: Iterable[int]) -> tuple[int, ...]:
            return tuple(t * n + k for t in range(images) for k in indices)

        return DefectHost(
            structure=big,
            film_indices=replicate(self.film_indices),
            substrate_indices=replicate(self.substrate_indices),
            fixed_indices=replicate(self.fixed_indices),
            layer_of={t * n + k: v for t in range(images) for k, v in self.layer_of.items()},
            distance_to_contact={
                t * n + k: v for t in range(images) for k, v in self.distance_to_contact.items()
            },
            n_layers=self.n_layers,
            interior_layer=self.interior_layer,
            n_primitive=n,
            supercell=(int(n_a), int(n_b)),
            host_element=self.host_element,
        )

    def primitive_site(self, index: int) -> int:
        """Index of the host (1x1) site that ``index`` is a copy of."""
        return int(index) % self.n_primitive

    def canonical_site(self, index: int) -> int:
        """Return the copy of ``index`` in image (0, 0) (equal to :meth:`primitive_site`)."""
        return self.primitive_site(index)

    def copies(self, primitive_index: int) -> tuple[int, ...]:
        """All supercell sites that are copies of host site ``primitive_index``."""
        images = self.supercell[0] * self.supercell[1]
        return tuple(t * self.n_primitive + int(primitive_index) for t in range(images))

    @property
    def image_limit(self) -> float:
        """Half the shortest in-plane lattice vector (A).

        A pair closer than this is unambiguous: no periodic image of one defect is as close
        to the other.
        """
        a, b, _ = self.structure.lattice.matrix
        lengths = [
            np.linalg.norm(i * a + j * b)
            for i, j in itertools.product(range(-2, 3), repeat=2)
            if (i, j) != (0, 0)
        ]
        return float(min(lengths)) / 2

    # ------------------------------------------------------------------ geometry

    def distance(self, i: int, j: int) -> float:
        """Minimum-image distance between sites ``i`` and ``j`` in the unrelaxed host (A)."""
        return float(self.structure.get_distance(int(i), int(j)))

    def in_layer_shells(
        self, centre: int, layer: LayerRequest, *, tol: float = SHELL_TOLERANCE
    ) -> list[tuple[float, tuple[int, ...]]]:
        """Sites of ``layer`` grouped by distance from ``centre``, nearest first.

        Only shells closer than :attr:`image_limit` (minus ``tol``) are returned: farther
        sites are as close to a periodic image of ``centre`` as to ``centre`` itself.

        Returns
        -------
        list of (distance in A, site indices)
        """
        self.check_film_site(centre)
        sites = [s for s in self.layer_sites(layer) if s != centre]
        distances = {s: self.distance(centre, s) for s in sites}
        limit = self.image_limit - tol
        shells: list[tuple[float, tuple[int, ...]]] = []
        for s in sorted(sites, key=lambda x: (distances[x], x)):
            d = distances[s]
            if d >= limit:
                break
            if shells and d - shells[-1][0] < tol:
                shells[-1] = (shells[-1][0], (*shells[-1][1], s))
            else:
                shells.append((d, (s,)))
        return [(d, tuple(sorted(members))) for d, members in shells]

    def nearest_in_layer(
        self,
        site: int,
        layer: LayerRequest,
        *,
        tol: float = SHELL_TOLERANCE,
        exclude: Iterable[int] = (),
    ) -> tuple[int, ...]:
        """Sites of ``layer`` (but ``exclude``) at the smallest distance from ``site``.

        Raises
        ------
        StructureError
            If the layer has no other site.
        """
        self.check_film_site(site)
        excluded = {site, *exclude}
        sites = [s for s in self.layer_sites(layer) if s not in excluded]
        if not sites:
            raise StructureError(f"layer {layer!r} has no site besides {sorted(excluded)}")
        distances = {s: self.distance(site, s) for s in sites}
        d0 = min(distances.values())
        return tuple(sorted(s for s in sites if distances[s] - d0 < tol))

    def farthest_copy(self, primitive_index: int, reference: int) -> int:
        """Return the copy of ``primitive_index`` farthest (minimum image) from ``reference``."""
        copies = self.copies(primitive_index)
        return max(copies, key=lambda s: (round(self.distance(reference, s), 6), -s))


def relaxed_layer_heights(host: DefectHost) -> dict[int, tuple[float, float, float]]:
    """Heights (A) of each layer's atoms above the top substrate atom in the host itself.

    For a host numbered on its as-built structure this shows how the relaxation moved the
    layers: ``{layer: (mean, lowest, highest)}``. Heights are unwrapped at the widest empty
    gap along the normal (the vacuum); the substrate is taken to lie below the film.
    """
    h = heights(host.structure)
    normal = np.cross(*host.structure.lattice.matrix[:2])
    period = float(abs(np.dot(host.structure.lattice.matrix[2], normal / np.linalg.norm(normal))))
    ordered = np.sort(h)
    gaps = np.diff(np.append(ordered, ordered[0] + period))
    start = ordered[(int(np.argmax(gaps)) + 1) % len(ordered)]
    unwrapped = np.mod(h - start, period)
    top = float(unwrapped[list(host.substrate_indices)].max())
    out = {}
    for number in host.layer_numbers:
        rel = unwrapped[list(host.layer_sites(number))] - top
        out[number] = (float(rel.mean()), float(rel.min()), float(rel.max()))
    return out


def _layer_maps(layers: Sequence[MetalLayer]) -> tuple[dict[int, int], dict[int, float]]:
    layer_of: dict[int, int] = {}
    dist: dict[int, float] = {}
    for layer in layers:
        for i in layer.indices:
            layer_of[i] = layer.number
            dist[i] = layer.distance_to_contact
    return layer_of, dist


class DefectSite(BaseModel):
    """One defect site of a configuration."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    index: int = Field(description="Site index in the host (super)cell before the defect.")
    primitive_index: int = Field(description="The same site in the 1x1 host cell.")
    element: str = Field(
        description="Vacancy: the element removed; solute: the element substituted."
    )
    layer: int = Field(description="Metal layer from the contact (1 = L1, touching Li2S).")
    distance_to_contact: float = Field(
        description="Height of the site's layer above the outermost substrate plane, A."
    )


class DefectRecord(BaseModel):
    """What a defect configuration is: its sites, cell and relaxation region."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    label: str = Field(description="Name of the configuration (unique within a flow).")
    supercell: tuple[int, int] = Field(description="In-plane repetitions of the host cell.")
    n_atoms: int = Field(description="Atoms in the defect cell.")
    vacancies: tuple[DefectSite, ...] = Field((), description="Removed sites.")
    solutes: tuple[DefectSite, ...] = Field((), description="Substituted sites.")
    radius: float | None = Field(
        description="Atoms within this distance (A) of a defect site relax, the rest stay at "
        "the host positions; None: every atom the host does not fix relaxes."
    )
    n_free: int = Field(description="Atoms free to relax.")
    fixed_indices: tuple[int, ...] = Field(description="Fixed atoms, indices in the defect cell.")
    pair_distance: float | None = Field(
        None,
        description="Minimum-image distance between the two defect sites of a pair in the "
        "unrelaxed host, A (None for single defects).",
    )


@dataclass(frozen=True)
class DefectConfiguration:
    """A defect cell and its record."""

    structure: Structure
    record: DefectRecord


def _site(host: DefectHost, index: int, element: str) -> DefectSite:
    return DefectSite(
        index=index,
        primitive_index=host.primitive_site(index),
        element=element,
        layer=host.layer_of[index],
        distance_to_contact=round(host.distance_to_contact[index], 4),
    )


def check_radius(radius: float | None) -> None:
    """Refuse a relaxation radius that is not positive (None: every free atom relaxes)."""
    if radius is not None and not radius > 0:
        raise StructureError(f"the relaxation radius must be positive (A), got {radius!r}")


def fixed_outside(
    host: DefectHost, sites: Sequence[int], radius: float | None, removed: Sequence[int] = ()
) -> tuple[int, ...]:
    """Return the atoms held fixed in a local relaxation around ``sites`` of ``host``.

    Atoms farther than ``radius`` (A, minimum image, in the host) from every site, and the
    host's own fixed atoms, are fixed; the indices are those of the structure after the
    ``removed`` sites are taken out (None radius: only the host's fixed atoms).
    """
    structure = host.structure
    n = len(structure)
    if radius is None:
        free = np.ones(n, dtype=bool)
    else:
        dmat = structure.lattice.get_all_distances(
            structure.frac_coords[list(sites)], structure.frac_coords
        )
        free = (dmat <= radius).any(axis=0)
    free[list(host.fixed_indices)] = False
    gone = set(removed)
    keep = [i for i in range(n) if i not in gone]
    return tuple(new for new, old in enumerate(keep) if not free[old])


def build_defect(
    host: DefectHost,
    *,
    vacancies: Sequence[int] = (),
    solutes: Sequence[tuple[int, str]] = (),
    radius: float | None = 6.0,
    label: str = "",
) -> DefectConfiguration:
    """Build a configuration of vacancies and substitutional solutes in a host.

    Parameters
    ----------
    host
        The host cell (a :class:`DefectHost`, possibly a supercell).
    vacancies
        Film sites to remove.
    solutes
        ``(site, element)`` pairs: film sites that take the solute element.
    radius
        Atoms within this minimum-image distance (A) of any defect site relax; None frees
        every atom the host does not fix.
    label
        Name stored in the record.

    Returns
    -------
    DefectConfiguration
        The structure (sites in host order, removed sites left out) and its record.

    Raises
    ------
    StructureError
        For no defect at all, a site that is not a film site, a site used twice, an unknown
        element, a solute equal to the host metal, or a non-positive radius.
    """
    check_radius(radius)
    vac = [host.check_film_site(i) for i in vacancies]
    sol = [(host.check_film_site(i), check_element(e)) for i, e in solutes]
    if not vac and not sol:
        raise StructureError("a defect configuration needs at least one vacancy or solute")
    sites = vac + [i for i, _ in sol]
    if len(set(sites)) != len(sites):
        raise StructureError(f"a site is used twice in {sites}")
    for i, element in sol:
        if element == host.host_element:
            raise StructureError(f"solute {element!r} at site {i} is the host metal itself")
    structure = host.structure.copy()
    for i, element in sol:
        structure.replace(i, element)
    removed = sorted(vac)
    fixed = fixed_outside(host, sites, radius, removed)
    structure.remove_sites(removed)
    pair = host.distance(sites[0], sites[1]) if len(sites) == 2 else None
    record = DefectRecord(
        label=label,
        supercell=host.supercell,
        n_atoms=len(structure),
        vacancies=tuple(_site(host, i, host.structure[i].specie.symbol) for i in vac),
        solutes=tuple(_site(host, i, e) for i, e in sol),
        radius=radius,
        n_free=len(structure) - len(fixed),
        fixed_indices=fixed,
        pair_distance=None if pair is None else round(pair, 4),
    )
    return DefectConfiguration(structure=structure, record=record)


class FillingSites(BaseModel):
    """The three configurations of filling an L1 vacancy from the next layer."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    vacancy: int = Field(description="The vacancy site (before filling), host index.")
    solute: int = Field(description="The solute site (before filling), host index.")
    filler: int = Field(
        description="The host-metal site that fills the vacancy in the 'filled by the host "
        "metal' configuration (a nearest neighbour of the vacancy in the solute's layer)."
    )
    initial_distance: float = Field(description="Solute-vacancy distance before filling, A.")
    by_host_distance: float = Field(
        description="Solute-vacancy distance after the host-metal atom filled the vacancy, A."
    )
    by_solute_distance: float = Field(
        description="Solute-vacancy distance after the solute filled the vacancy, A."
    )


def filling_sites(
    host: DefectHost, vacancy: int, solute: int, filler: int | None = None
) -> FillingSites:
    """Check and describe the sites of a filling move (vacancy, solute, host-metal filler).

    Parameters
    ----------
    host
        The host cell.
    vacancy
        The vacancy site (e.g. in L1).
    solute
        The solute site (e.g. in L2).
    filler
        The host-metal atom that fills the vacancy instead of the solute; by default the
        site nearest to ``vacancy`` in the solute's layer (other than the solute), closest to
        the solute, lowest index on ties.

    Raises
    ------
    StructureError
        For sites that are not film sites, coincide, or a filler in another layer than the
        solute or not next to the vacancy.
    """
    for i in (vacancy, solute):
        host.check_film_site(i)
    if vacancy == solute:
        raise StructureError(f"the vacancy and the solute share site {vacancy}")
    solute_layer = host.layer_of[solute]
    neighbours = host.nearest_in_layer(vacancy, solute_layer, exclude=[solute])
    if filler is None:
        filler = min(neighbours, key=lambda s: (round(host.distance(solute, s), 3), s))
    else:
        host.check_film_site(filler)
        if filler not in neighbours:
            raise StructureError(
                f"filler site {filler} is not a nearest site to the vacancy {vacancy} in "
                f"the solute's layer L{solute_layer} (candidates {neighbours})"
            )
    return FillingSites(
        vacancy=vacancy,
        solute=solute,
        filler=filler,
        initial_distance=round(host.distance(vacancy, solute), 4),
        by_host_distance=round(host.distance(filler, solute), 4),
        by_solute_distance=round(host.distance(vacancy, solute), 4),
    )


def filling_configurations(
    host: DefectHost,
    element: str,
    sites: FillingSites,
    *,
    radius: float | None = 6.0,
    label: str = "filling",
) -> dict[str, DefectConfiguration]:
    """Build the initial and the two filled configurations of a filling move.

    ``initial``: solute at ``sites.solute``, vacancy at ``sites.vacancy``;
    ``by_host``: the host-metal ``sites.filler`` moved into the vacancy (vacancy now at the
    filler's site); ``by_solute``: the solute moved into the vacancy (solute at
    ``sites.vacancy``, vacancy at the solute's old site). All three have the same atoms,
    so the filling energies are differences of their total energies.
    """
    return {
        "initial": build_defect(
            host, vacancies=[sites.vacancy], solutes=[(sites.solute, element)], radius=radius,
            label=f"{label}: initial",
        ),
        "by_host": build_defect(
            host, vacancies=[sites.filler], solutes=[(sites.solute, element)], radius=radius,
            label=f"{label}: filled by {host.host_element}",
        ),
        "by_solute": build_defect(
            host, vacancies=[sites.solute], solutes=[(sites.vacancy, element)], radius=radius,
            label=f"{label}: filled by {element}",
        ),
    }  # fmt: skip


def lowest(sites: Iterable[int], energy: dict[int, float] | None) -> int:
    """Return the site of lowest ``energy`` (keyed by site; missing keys rank last).

    Ties (energies rounded to 0.1 meV) go to the lowest index; without energies the lowest
    index is returned.
    """
    sites = list(sites)
    if not sites:
        raise StructureError("no candidate sites to choose from")
    if not energy:
        return min(sites)
    return min(sites, key=lambda s: (round(energy.get(s, np.inf), 4), s))


def bcc_shell_number(distance: float, lattice_constant: float, tol: float = 0.3) -> int | None:
    """Return the bcc neighbour shell (1 = sqrt(3)/2 a, 2 = a, 3 = sqrt(2) a, ...) of a distance.

    Returns None when no ideal shell lies within ``tol`` (A) of ``distance``.
    """
    squares = sorted(
        {
            h * h + k * k + m * m
            for h, k, m in itertools.product(range(-8, 9), repeat=3)
            if h % 2 == k % 2 == m % 2 and (h, k, m) != (0, 0, 0)
        }
    )
    radii = [0.5 * lattice_constant * s**0.5 for s in squares]
    best = int(np.argmin([abs(r - distance) for r in radii]))
    return best + 1 if abs(radii[best] - distance) <= tol else None
