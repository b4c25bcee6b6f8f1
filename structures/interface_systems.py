"""The four interface systems of the project, as presets over the interface builder.

=============  ============================  ===================================================
system         cell                          solute placements (metal layer from the contact)
=============  ============================  ===================================================
Li/Li2S        Li(100) film on Li2S(111)     none
Li-Mg/Li2S     same, Mg in the Li film       ~3 at.% of the metal: in L1, and in the interior
Li-Ag/Li2S     same, Ag in the Li film       ~3 at.% of the metal: in L1, and in the interior
Li/LiAg        Li(110) film on B2 LiAg(110)  none (the metal-on-interlayer case, no Li2S)
=============  ============================  ===================================================

Facet choice (a default, not a finding): Li(100) on Li2S(111) is the smallest-strain match
within the default limits (about 1.2 % on Li, 98 A^2, 119 atoms with the experimental
lattice constants), and Li2S(111) has a single nonpolar termination (Li-S-Li trilayers).
LiAg(110) is the B2 facet with one stoichiometric termination (mixed Li/Ag planes), so the
metal-on-interlayer interface is unambiguous; LiAg(100) (alternating Li and Ag planes,
either one facing the film, ``substrate_cut``) is available through
:class:`~anodefree.structures.interfaces.InterfaceBuilder`. Every preset field can be
overridden; production runs should pass engine-relaxed bulk structures (``film_bulk``,
``substrate_bulk``) so that the strain is measured against the engine's own lattice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from anodefree.errors import StructureError
from anodefree.structures.interfaces import (
    InterfaceBuild,
    InterfaceBuilder,
    SolutePlacement,
)

if TYPE_CHECKING:
    from pymatgen.core import Structure

    from anodefree.structures.lattice_match import MatchLimits


class InterfaceSystem(BaseModel):
    """A metal | substrate system and its solute placements."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(description="System name, e.g. 'Li-Mg/Li2S'.")
    film: str = Field("Li", description="Metal (film) phase name.")
    film_miller: tuple[int, int, int] = Field(description="Metal facet.")
    substrate: str = Field(description="Substrate phase name (kept lattice).")
    substrate_miller: tuple[int, int, int] = Field(description="Substrate facet.")
    solute: str | None = Field(None, description="Substitutional solute in the metal, if any.")
    solute_fraction: float = Field(0.03, description="Solute atoms per metal atom (fraction).")
    placements: tuple[int | Literal["interior"], ...] = Field(
        (), description="Solute layers from the contact (1 = L1) or 'interior'."
    )
    description: str = Field("", description="What the system stands for.")


SYSTEMS: dict[str, InterfaceSystem] = {
    s.name: s
    for s in (
        InterfaceSystem(
            name="Li/Li2S",
            film_miller=(1, 0, 0),
            substrate="Li2S",
            substrate_miller=(1, 1, 1),
            description="Li metal on the Li2S-rich interphase of argyrodite electrolytes.",
        ),
        InterfaceSystem(
            name="Li-Mg/Li2S",
            film_miller=(1, 0, 0),
            substrate="Li2S",
            substrate_miller=(1, 1, 1),
            solute="Mg",
            placements=(1, "interior"),
            description="Dilute bcc Li-Mg (about 3 at.% Mg) on Li2S.",
        ),
        InterfaceSystem(
            name="Li-Ag/Li2S",
            film_miller=(1, 0, 0),
            substrate="Li2S",
            substrate_miller=(1, 1, 1),
            solute="Ag",
            placements=(1, "interior"),
            description="Dilute bcc Li-Ag (about 3 at.% Ag) on Li2S.",
        ),
        InterfaceSystem(
            name="Li/LiAg",
            film_miller=(1, 1, 0),
            substrate="LiAg",
            substrate_miller=(1, 1, 0),
            description="Li plated on a B2 LiAg interlayer (metal on interlayer, no Li2S).",
        ),
    )
}


def get_system(name: str) -> InterfaceSystem:
    """Return the preset called ``name``.

    Raises
    ------
    StructureError
        If ``name`` is not a known system; the message lists them.
    """
    if name not in SYSTEMS:
        raise StructureError(f"unknown interface system {name!r}; known: {', '.join(SYSTEMS)}")
    return SYSTEMS[name]


def system_interfaces(
    system: str | InterfaceSystem,
    *,
    film_bulk: Structure | None = None,
    substrate_bulk: Structure | None = None,
    limits: MatchLimits | None = None,
    rank: int = 0,
    **build_kwargs: object,
) -> dict[str, InterfaceBuild]:
    """Build a system: the pure interface and one cell per solute placement, same match.

    Parameters
    ----------
    system
        A preset name (:data:`SYSTEMS`) or an :class:`InterfaceSystem`.
    film_bulk, substrate_bulk
        Bulk structures replacing the named phases (e.g. relaxed with the engine).
    limits
        Lattice-match limits.
    rank
        Which ranked match to build (0 = best).
    build_kwargs
        Passed to :meth:`~anodefree.structures.interfaces.InterfaceBuilder.build`
        (shift, separation, vacuum, terminations, ...); not ``solutes``.

    Returns
    -------
    dict
        ``"pure"`` and, for alloy systems, ``"L<n>"`` / ``"interior"`` per placement, all with
        the same lattice match, registry and separation.

    Raises
    ------
    StructureError
        For an unknown system, an invalid rank or the errors of the builder.
    """
    spec = get_system(system) if isinstance(system, str) else system
    if "solutes" in build_kwargs:
        raise StructureError("solutes come from the system's placements; do not pass solutes")
    builder = InterfaceBuilder(
        film_bulk if film_bulk is not None else spec.film,
        spec.film_miller,
        substrate_bulk if substrate_bulk is not None else spec.substrate,
        spec.substrate_miller,
    )
    candidates = builder.find_matches(limits)
    if not 0 <= rank < len(candidates):
        raise StructureError(f"rank {rank!r} does not exist: {len(candidates)} candidate(s)")
    candidate = candidates[rank]
    builds = {"pure": builder.build(candidate, **build_kwargs)}  # type: ignore[arg-type]
    if spec.solute is not None:
        for layer in spec.placements:
            label = layer if isinstance(layer, str) else f"L{layer}"
            placement = SolutePlacement(
                element=spec.solute, layer=layer, fraction=spec.solute_fraction
            )
            builds[label] = builder.build(
                candidate,
                solutes=[placement],
                **build_kwargs,  # type: ignore[arg-type]
            )
    return builds
