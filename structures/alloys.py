"""Candidate structures of the Li-Ag system, including the Li/Ag-disordered gamma brasses.

The terminal metals, the ordered compounds and the gamma-brass phases with their mixed sites.

Phases and prototypes
---------------------
=========  ==============================  ==========  ===========================================
phase      prototype                        space grp.  site occupation (conventional cell)
=========  ==============================  ==========  ===========================================
Li         bcc (A2)                         Im-3m       reference, :mod:`anodefree.structures.bulk`
Ag         fcc (A1)                         Fm-3m       reference, :mod:`anodefree.structures.bulk`
LiAg       CsCl (B2)                        Pm-3m       Li 1a, Ag 1b
Li3Ag      Fe3Al / BiF3 (D0_3), bcc-based   Fm-3m       Ag 4a; Li 4b + 8c
Li8Ag5     Cu5Zn8 (D8_2), ordered parent    I-43m       Li IT + CO, Ag OT + OH
Li9Ag4     Cu5Zn8, gamma3                   I-43m       Li IT + CO; Ag OT; OH 8 Ag + 4 Li (mixed)
Li10Ag3    Cu5Zn8, gamma2                   I-43m       Li IT + CO; Ag OT; OH 4 Ag + 8 Li (mixed)
Li12Ag     Cu5Zn8, gamma1                   I-43m       Li IT + CO + OH; OT 4 Ag + 4 Li (mixed)
=========  ==============================  ==========  ===========================================

Li3Ag: the D0_3 ordering is the A3B superstructure of the bcc lattice in which every
minority atom has only majority atoms as first and second neighbours. The Li-rich side of
the Li-Ag diagram is bcc-based (bcc Li dissolves Ag; beta-LiAg is the B2 ordering of the same
lattice), so D0_3 is the natural A3B candidate and the one commonly used for Li3Ag. The
fcc-based L1_2 (Cu3Au-type) ordering is built as a second Li3Ag candidate
(:func:`li3ag_l12`), and both appear in the bcc/fcc derivative-superstructure enumeration
at 4 atoms per cell, so the hull decides between them.

Gamma brass (Cu5Zn8, Strukturbericht D8_2, Pearson cI52, I-43m, 52 atoms in the cubic cell)
is built from the Wyckoff parameters of Gourdon et al. (2007) for Cu5Zn8 as tabulated in the
AFLOW prototype library (A5B8_cI52_217_ce_cg-001; Mehl et al., Comp. Mat. Sci. 136, S1
(2017)), a = 8.8664 A:

====  ========  ===============================  =========================  ===========
site  Wyckoff   coordinates                      polyhedron of the cluster  Cu5Zn8
====  ========  ===============================  =========================  ===========
IT    8c        (x, x, x), x = 0.10781           inner tetrahedron          Zn
OT    8c        (x, x, x), x = 0.32774           outer tetrahedron          Cu
OH    12e       (x, 0, 0), x = 0.64421           octahedron                 Cu
CO    24g       (x, x, z), x = 0.68844, z = .03674 cuboctahedron            Zn
====  ========  ===============================  =========================  ===========

Li/Ag site assignment (an assumption, documented here because no structure refinement of
the Li-Ag gamma phases was available offline): Ag, like Cu in Cu5Zn8, is the group-11 metal
and the smaller atom of the pair (metallic radii Ag 1.44 A < Li 1.52 A, as Cu 1.28 A < Zn
1.37 A), so Ag takes the Cu sites (OT, OH) and Li the Zn sites (IT, CO). All three Li-Ag
gamma compositions have 13 atoms per formula unit and are therefore exactly commensurate with
the 52-atom cell (4 formula units): Li9Ag4 = Li36Ag16, Li10Ag3 = Li40Ag12, Li12Ag = Li48Ag4.
With fewer than 20 Ag the Cu sites cannot all be Ag; Li replaces Ag first on OH, the larger
of the two Cu sites (Voronoi volume 13.4 A^3 against 12.5 A^3 for OT in the Cu5Zn8
geometry), then on OT. This gives exactly one mixed (disordered) site per phase:

- Li9Ag4: IT 8 Li, OT 8 Ag, OH 8 Ag + 4 Li, CO 24 Li (36 Li, 16 Ag);
- Li10Ag3: IT 8 Li, OT 8 Ag, OH 4 Ag + 8 Li, CO 24 Li (40 Li, 12 Ag);
- Li12Ag: IT 8 Li, OT 4 Ag + 4 Li, OH 12 Li, CO 24 Li (48 Li, 4 Ag);
- Li8Ag5 (the fully ordered parent, Cu -> Ag, Zn -> Li): 32 Li, 20 Ag.

Other assignments (Ag on IT, Li on OT, ...) are built by passing a different
``ag_per_site`` to :class:`GammaBrassPhase`. The orderings of the mixed sites are enumerated
in :mod:`anodefree.structures.enumeration`.

Starting lattice constants are estimates: the volume per atom is interpolated linearly in
the Li fraction between fcc Ag (4.09 A), B2 LiAg (3.168 A, the experimental value as
tabulated in Pearson's Handbook; quoted from memory, not checked offline) and bcc Li (3.48 A),
which captures the strong negative excess volume of LiAg. For the gamma phases this gives
a = 9.6-10.2 A, a little above the ~9.3-9.6 A reported for the Li-Ag gamma phases; every
workflow relaxes the cell with its own engine before use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from math import comb

import numpy as np
from pymatgen.core import Lattice, Structure

from anodefree.errors import StructureError
from anodefree.structures.bulk import bulk_prototype, bulk_structure

#: Volume per atom (A^3) of the anchor phases of the Vegard-like estimate.
_V_AG = bulk_prototype("Ag").a ** 3 / 4  # fcc Ag, 4 atoms per cubic cell
_V_LI = bulk_prototype("Li").a ** 3 / 2  # bcc Li, 2 atoms per cubic cell
#: B2 LiAg lattice constant in A (experimental, Pearson's Handbook; see the module docstring).
A_LIAG_B2 = 3.168
_V_LIAG = A_LIAG_B2**3 / 2

#: Site label used in ``Structure.site_properties`` for the gamma-brass Wyckoff sites.
GAMMA_SITE_PROPERTY = "gamma_site"


def estimated_volume_per_atom(li_fraction: float) -> float:
    """Estimate the volume per atom of a Li-Ag alloy from its Li atomic fraction.

    Piecewise-linear interpolation through fcc Ag (fraction 0), B2 LiAg (0.5) and bcc Li
    (1); see the module docstring.

    Parameters
    ----------
    li_fraction
        Li atoms per atom, between 0 and 1.

    Returns
    -------
    float
        Volume per atom in A^3.

    Raises
    ------
    StructureError
        If ``li_fraction`` lies outside [0, 1].
    """
    if not 0.0 <= li_fraction <= 1.0:
        raise StructureError(f"Li fraction must lie in [0, 1], got {li_fraction!r}")
    return float(np.interp(li_fraction, [0.0, 0.5, 1.0], [_V_AG, _V_LIAG, _V_LI]))


def scale_to_estimated_volume(structure: Structure) -> Structure:
    """Return a copy of a Li-Ag structure scaled to :func:`estimated_volume_per_atom`."""
    _check_li_ag(structure)
    fraction = structure.composition.get_atomic_fraction("Li")
    scaled = structure.copy()
    scaled.scale_lattice(estimated_volume_per_atom(fraction) * len(structure))
    return scaled


def _check_li_ag(structure: Structure) -> None:
    elements = {el.symbol for el in structure.composition.elements}
    if not elements <= {"Li", "Ag"}:
        raise StructureError(
            f"expected a Li-Ag structure, got elements {sorted(elements)} "
            f"({structure.composition.reduced_formula})"
        )


def _cubic_a(n_atoms: int, li_fraction: float) -> float:
    return (n_atoms * estimated_volume_per_atom(li_fraction)) ** (1 / 3)


def _check_a(a: float | None) -> None:
    if a is not None and a <= 0:
        raise StructureError(f"lattice constant must be positive, got {a!r} A")


# --------------------------------------------------------------------------------------------
# Ordered compounds
# --------------------------------------------------------------------------------------------


def liag_b2(*, a: float | None = None) -> Structure:
    """Build B2 (CsCl-type) LiAg: Li at (0, 0, 0), Ag at (1/2, 1/2, 1/2).

    Parameters
    ----------
    a
        Cubic lattice constant in A (default: the experimental 3.168 A).

    Returns
    -------
    Structure
        The 2-atom cubic cell.
    """
    _check_a(a)
    a = A_LIAG_B2 if a is None else a
    return Structure(Lattice.cubic(a), ["Li", "Ag"], [[0, 0, 0], [0.5, 0.5, 0.5]])


def li3ag_d03(*, a: float | None = None, conventional: bool = False) -> Structure:
    """Build Li3Ag in the bcc-based D0_3 (Fe3Al/BiF3-type, Fm-3m) ordering.

    Ag on 4a (0, 0, 0), Li on 4b (1/2, 1/2, 1/2) and 8c (1/4, 1/4, 1/4) of the 16-atom
    cubic cell (twice the bcc lattice constant); the primitive cell holds 4 atoms.

    Parameters
    ----------
    a
        Lattice constant of the 16-atom cubic cell in A (default: Vegard-like estimate).
    conventional
        Return the 16-atom cubic cell instead of the 4-atom primitive cell.

    Returns
    -------
    Structure
        Li3Ag (D0_3).
    """
    _check_a(a)
    a = _cubic_a(16, 0.75) if a is None else a
    if conventional:
        fcc = [[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]]
        ag = fcc
        li_4b = [[(x + 0.5) % 1, y, z] for x, y, z in fcc]
        li_8c = [
            [(x + dx) % 1, (y + dx) % 1, (z + dx) % 1] for x, y, z in fcc for dx in (0.25, 0.75)
        ]
        return Structure(Lattice.cubic(a), ["Ag"] * 4 + ["Li"] * 12, ag + li_4b + li_8c)
    half = a / 2
    lattice = Lattice([[0, half, half], [half, 0, half], [half, half, 0]])
    coords = [[0, 0, 0], [0.5, 0.5, 0.5], [0.25, 0.25, 0.25], [0.75, 0.75, 0.75]]
    return Structure(lattice, ["Ag", "Li", "Li", "Li"], coords)


def li3ag_l12(*, a: float | None = None) -> Structure:
    """Build Li3Ag in the fcc-based L1_2 (Cu3Au-type, Pm-3m) ordering, a second candidate.

    Parameters
    ----------
    a
        Cubic lattice constant in A (default: Vegard-like estimate).

    Returns
    -------
    Structure
        The 4-atom cubic cell: Ag at the corner, Li at the face centres.
    """
    _check_a(a)
    a = _cubic_a(4, 0.75) if a is None else a
    coords = [[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]]
    return Structure(Lattice.cubic(a), ["Ag", "Li", "Li", "Li"], coords)


# --------------------------------------------------------------------------------------------
# Gamma brass
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GammaBrassSite:
    """One Wyckoff site of the Cu5Zn8 (I-43m) prototype."""

    label: str  # IT, OT, OH or CO
    wyckoff: str  # e.g. "8c"
    multiplicity: int  # sites in the 52-atom cubic cell
    coords: tuple[float, float, float]  # fractional representative
    cu5zn8_species: str  # occupant in the prototype


#: Cu5Zn8 after Gourdon et al. (2007), AFLOW A5B8_cI52_217_ce_cg-001 (module docstring).
GAMMA_BRASS_SITES: tuple[GammaBrassSite, ...] = (
    GammaBrassSite("IT", "8c", 8, (0.10781, 0.10781, 0.10781), "Zn"),
    GammaBrassSite("OT", "8c", 8, (0.32774, 0.32774, 0.32774), "Cu"),
    GammaBrassSite("OH", "12e", 12, (0.64421, 0.0, 0.0), "Cu"),
    GammaBrassSite("CO", "24g", 24, (0.68844, 0.68844, 0.03674), "Zn"),
)
GAMMA_BRASS_A_CU5ZN8 = 8.8664  # A
_SITE_BY_LABEL = {site.label: site for site in GAMMA_BRASS_SITES}


@dataclass(frozen=True)
class GammaBrassPhase:
    """A Li-Ag gamma-brass phase: how many Ag atoms sit on each Wyckoff site of the cell.

    Sites not listed hold no Ag (pure Li). A site with ``0 < n_Ag < multiplicity`` is a
    mixed (disordered) site.
    """

    name: str
    ag_per_site: dict[str, int] = field(hash=False)
    note: str = ""

    def __post_init__(self) -> None:
        """Check site labels and counts."""
        for label, n_ag in self.ag_per_site.items():
            if label not in _SITE_BY_LABEL:
                raise StructureError(
                    f"gamma brass {self.name!r}: unknown site {label!r}; "
                    f"sites are {', '.join(_SITE_BY_LABEL)}"
                )
            mult = _SITE_BY_LABEL[label].multiplicity
            if not 0 <= n_ag <= mult:
                raise StructureError(
                    f"gamma brass {self.name!r}: {n_ag!r} Ag on site {label} "
                    f"(multiplicity {mult}) is impossible"
                )

    def n_ag(self, label: str) -> int:
        """Return the number of Ag atoms on site ``label`` per 52-atom cell."""
        return self.ag_per_site.get(label, 0)

    @property
    def n_ag_total(self) -> int:
        """Ag atoms per 52-atom cell."""
        return sum(self.ag_per_site.values())

    @property
    def n_li_total(self) -> int:
        """Li atoms per 52-atom cell."""
        return 52 - self.n_ag_total

    @property
    def li_fraction(self) -> float:
        """Li atoms per atom."""
        return self.n_li_total / 52

    @property
    def mixed_sites(self) -> tuple[str, ...]:
        """Labels of the sites holding both Li and Ag."""
        return tuple(s.label for s in GAMMA_BRASS_SITES if 0 < self.n_ag(s.label) < s.multiplicity)

    @property
    def is_ordered(self) -> bool:
        """Whether no site is mixed."""
        return not self.mixed_sites

    @property
    def n_raw_decorations(self) -> int:
        """Number of ways to place the Ag atoms on the mixed sites (before symmetry)."""
        total = 1
        for label in self.mixed_sites:
            total *= comb(_SITE_BY_LABEL[label].multiplicity, self.n_ag(label))
        return total


#: The Li-Ag gamma-brass phases (see the module docstring for the site assignment).
GAMMA_BRASS_PHASES: dict[str, GammaBrassPhase] = {
    p.name: p
    for p in (
        GammaBrassPhase(
            "Li8Ag5",
            {"OT": 8, "OH": 12},
            "ordered parent: Cu5Zn8 with Cu -> Ag, Zn -> Li (Li32Ag20)",
        ),
        GammaBrassPhase("Li9Ag4", {"OT": 8, "OH": 8}, "gamma3: OH 8 Ag + 4 Li (Li36Ag16)"),
        GammaBrassPhase("Li10Ag3", {"OT": 8, "OH": 4}, "gamma2: OH 4 Ag + 8 Li (Li40Ag12)"),
        GammaBrassPhase("Li12Ag", {"OT": 4}, "gamma1: OT 4 Ag + 4 Li (Li48Ag4)"),
    )
}


def gamma_brass_phase(name: str | GammaBrassPhase) -> GammaBrassPhase:
    """Return a gamma-brass phase by name (or pass a custom one through).

    Raises
    ------
    StructureError
        If ``name`` is not a known gamma-brass phase; the message lists them.
    """
    if isinstance(name, GammaBrassPhase):
        return name
    if name not in GAMMA_BRASS_PHASES:
        raise StructureError(
            f"unknown gamma-brass phase {name!r}; known: {', '.join(GAMMA_BRASS_PHASES)}"
        )
    return GAMMA_BRASS_PHASES[name]


@lru_cache(maxsize=1)
def _gamma_frame_sites() -> tuple[tuple[tuple[float, float, float], ...], tuple[str, ...]]:
    """Fractional coordinates and labels of the 52 sites (computed once; slow in pymatgen)."""
    lattice = Lattice.cubic(GAMMA_BRASS_A_CU5ZN8)
    coords: list[tuple[float, float, float]] = []
    labels: list[str] = []
    for site in GAMMA_BRASS_SITES:
        orbit = Structure.from_spacegroup("I-43m", lattice, ["Li"], [list(site.coords)])
        if len(orbit) != site.multiplicity:  # pragma: no cover - guards the parameters above
            raise StructureError(
                f"gamma brass site {site.label}: {len(orbit)} positions, "
                f"expected {site.multiplicity}"
            )
        coords += [tuple(float(x) for x in np.mod(s.frac_coords, 1.0)) for s in orbit]
        labels += [site.label] * len(orbit)
    return tuple(coords), tuple(labels)


def gamma_brass_frame(
    *, a: float = GAMMA_BRASS_A_CU5ZN8, species: str | list[str | dict[str, float]] = "Li"
) -> Structure:
    """Build the 52 sites of the Cu5Zn8 cell.

    Each site carries its label (IT, OT, OH, CO) in the site property ``gamma_site``; the
    sites come in the order IT (0-7), OT (8-15), OH (16-27), CO (28-51).

    Parameters
    ----------
    a
        Cubic lattice constant in A.
    species
        Occupant of every site, or a list of 52 occupants (element symbols or
        ``{element: occupancy}`` mappings).

    Returns
    -------
    Structure
        The 52-site cubic cell.
    """
    _check_a(a)
    coords, labels = _gamma_frame_sites()
    occupants = [species] * len(coords) if isinstance(species, str) else list(species)
    if len(occupants) != len(coords):
        raise StructureError(f"gamma frame has {len(coords)} sites, got {len(occupants)} species")
    return Structure(
        Lattice.cubic(a),
        occupants,
        list(coords),
        site_properties={GAMMA_SITE_PROPERTY: list(labels)},
    )


def gamma_site_indices(frame: Structure | None = None) -> dict[str, list[int]]:
    """Return the indices of the IT, OT, OH and CO sites of the gamma frame or a structure."""
    if frame is None:
        labels = list(_gamma_frame_sites()[1])
    else:
        labels = frame.site_properties.get(GAMMA_SITE_PROPERTY)
        if labels is None:
            raise StructureError(
                f"structure {frame.composition.reduced_formula} has no "
                f"{GAMMA_SITE_PROPERTY!r} site property; build it with gamma_brass_frame()"
            )
    return {
        s.label: [i for i, lab in enumerate(labels) if lab == s.label] for s in GAMMA_BRASS_SITES
    }


def gamma_brass_lattice_constant(phase: str | GammaBrassPhase) -> float:
    """Vegard-like starting lattice constant of a gamma phase in A (module docstring)."""
    phase = gamma_brass_phase(phase)
    return _cubic_a(52, phase.li_fraction)


def gamma_brass_structure(phase: str | GammaBrassPhase, *, a: float | None = None) -> Structure:
    """Build a Li-Ag gamma-brass phase with partial occupancies on its mixed sites.

    Pure sites hold Li or Ag; a mixed site holds ``{"Li": 1 - f, "Ag": f}`` with ``f`` the
    Ag fraction of that site, so the structure keeps the full I-43m symmetry and the exact
    composition. Orderings of the mixed sites come from
    :func:`anodefree.structures.enumeration.enumerate_gamma_decorations`.

    Parameters
    ----------
    phase
        ``Li8Ag5`` (ordered parent), ``Li9Ag4``, ``Li10Ag3``, ``Li12Ag`` or a custom
        :class:`GammaBrassPhase`.
    a
        Cubic lattice constant in A (default: Vegard-like estimate).

    Returns
    -------
    Structure
        The 52-site cubic cell (disordered if the phase has mixed sites).
    """
    phase = gamma_brass_phase(phase)
    _check_a(a)
    a = gamma_brass_lattice_constant(phase) if a is None else a
    occupants: list[str | dict[str, float]] = []
    for label in _gamma_frame_sites()[1]:
        f_ag = phase.n_ag(label) / _SITE_BY_LABEL[label].multiplicity
        if f_ag == 0:
            occupants.append("Li")
        elif f_ag == 1:
            occupants.append("Ag")
        else:
            occupants.append({"Li": 1 - f_ag, "Ag": f_ag})
    return gamma_brass_frame(a=a, species=occupants)


def gamma_brass_ordering(
    phase: str | GammaBrassPhase,
    ag_indices: list[int] | tuple[int, ...],
    *,
    a: float | None = None,
) -> Structure:
    """Build one ordering of a gamma phase: Ag on the given indices of its mixed sites.

    Parameters
    ----------
    phase
        A gamma-brass phase name or object.
    ag_indices
        Indices (in the 52-site frame) of the mixed-site positions that hold Ag; the other
        mixed-site positions hold Li.
    a
        Cubic lattice constant in A (default: Vegard-like estimate).

    Returns
    -------
    Structure
        The ordered 52-atom cell.

    Raises
    ------
    StructureError
        If an index is not on a mixed site or a site gets the wrong number of Ag atoms.
    """
    phase = gamma_brass_phase(phase)
    _check_a(a)
    a = gamma_brass_lattice_constant(phase) if a is None else a
    labels = _gamma_frame_sites()[1]
    chosen = set(ag_indices)
    mixed = {i for i, label in enumerate(labels) if label in phase.mixed_sites}
    if not chosen <= mixed:
        raise StructureError(
            f"{phase.name}: Ag indices {sorted(chosen - mixed)} are not on a mixed site "
            f"({', '.join(phase.mixed_sites) or 'none'})"
        )
    for label in phase.mixed_sites:
        got = sum(1 for i in chosen if labels[i] == label)
        if got != phase.n_ag(label):
            raise StructureError(
                f"{phase.name}: site {label} needs {phase.n_ag(label)} Ag, got {got} indices"
            )
    occupants: list[str | dict[str, float]] = []
    for i, label in enumerate(labels):
        if label in phase.mixed_sites:
            occupants.append("Ag" if i in chosen else "Li")
        else:
            full = phase.n_ag(label) == _SITE_BY_LABEL[label].multiplicity
            occupants.append("Ag" if full else "Li")
    return gamma_brass_frame(a=a, species=occupants)


# --------------------------------------------------------------------------------------------
# The named phases of the hull and their candidate structures
# --------------------------------------------------------------------------------------------

#: The phases whose energy above the hull is reported (science.md), Li-poor to Li-rich.
NAMED_PHASES: tuple[str, ...] = ("Ag", "LiAg", "Li9Ag4", "Li3Ag", "Li10Ag3", "Li12Ag", "Li")


@dataclass(frozen=True)
class CandidateStructure:
    """A structure proposed for a phase of the hull."""

    label: str  # unique, e.g. "Li3Ag-D03"
    phase: str  # the named phase it represents, e.g. "Li3Ag"
    structure: Structure
    origin: str  # "reference", "prototype", "gamma-parent", "bcc-derivative", ...
    note: str = ""
    #: Number of symmetry-equivalent configurations this one stands for in its enumeration
    #: cell (gamma-brass decorations); ``None`` where not counted.
    multiplicity: int | None = None


def li_ag_candidates(*, include_alternatives: bool = True) -> list[CandidateStructure]:
    """Return the ordered candidate structures of the named Li-Ag phases.

    The gamma phases with mixed sites are not included here (a disordered structure has no
    energy); their orderings come from
    :func:`anodefree.structures.enumeration.enumerate_gamma_decorations`.

    Parameters
    ----------
    include_alternatives
        Also return the L1_2 Li3Ag and the ordered gamma parent Li8Ag5.

    Returns
    -------
    list[CandidateStructure]
        bcc Li, fcc Ag (primitive cells), B2 LiAg, D0_3 Li3Ag (and the alternatives).
    """
    candidates = [
        CandidateStructure("Li-bcc", "Li", bulk_structure("Li"), "reference", "bcc Li"),
        CandidateStructure("Ag-fcc", "Ag", bulk_structure("Ag"), "reference", "fcc Ag"),
        CandidateStructure("LiAg-B2", "LiAg", liag_b2(), "prototype", "CsCl type"),
        CandidateStructure("Li3Ag-D03", "Li3Ag", li3ag_d03(), "prototype", "Fe3Al/BiF3 type"),
    ]
    if include_alternatives:
        candidates += [
            CandidateStructure("Li3Ag-L12", "Li3Ag", li3ag_l12(), "prototype", "Cu3Au type"),
            CandidateStructure(
                "Li8Ag5-gamma",
                "Li8Ag5",
                gamma_brass_structure("Li8Ag5"),
                "gamma-parent",
                GAMMA_BRASS_PHASES["Li8Ag5"].note,
            ),
        ]
    return candidates
