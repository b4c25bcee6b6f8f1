"""Layer-resolved point defects at metal | Li2S interfaces (vacancies, solutes, filling).

Flow of one system (:class:`InterfaceDefectsMaker`), from a relaxed interface (the adhesion
stage's best-registry interface, or :func:`host_interface` built standalone):

1. :func:`site_screen` - unrelaxed energies of a vacancy (and of the solute) on every site
   of the layers used, straight from the engine's calculator (cheap single points, stored
   with the job). The incommensurate contact makes L1 sites inequivalent (CHGNet: the
   unrelaxed L1 vacancy energies of Li(100)/Li2S(111) spread over 0.6 eV), so each layer's
   defect goes on its lowest site.
2. :func:`size_check` - the L1 vacancy in every candidate in-plane supercell (1x1, 2x1,
   ...), and optionally relaxed within a larger radius (radius check).
3. :func:`interface_defect_calculations` - the single-defect layer profiles in the smallest
   supercell whose L1 vacancy E_f agrees with the largest one within the tolerance, the
   pair configurations (solute-vacancy interaction, filling, divacancy) in the pair
   supercell, and the document (:class:`InterfaceDefectDocument`).

Every defect cell relaxes only the atoms within ``radius`` of its defect sites
(:func:`~anodefree.structures.interface_defects.build_defect`); the rest keep the relaxed host
positions, so the pristine energy is the host's own (1x1) or one single point of the
supercell, shared by every defect of that cell (the cache computes it once). The bulk
divacancies (:func:`bulk_divacancies`) reuse the bulk vacancy stage's cells when the sizes
match. Metal-sulfur bond energies are in :mod:`anodefree.workflows.bond_energies`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from jobflow import Flow, Maker, Response, job
from jobflow.core.job import Job, JobConfig
from jobflow.core.reference import OnMissing
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pymatgen.core import Structure
from pymatgen.io.ase import AseAtomsAdaptor

from anodefree.analysis.documents.interface_defects import (
    BulkDivacancySpec,
    DivacancySpec,
    FillingSpec,
    HostLayer,
    InteractionSpec,
    InterfaceDefectDocument,
    InterfaceDefectSpec,
    LayerSpec,
    RadiusCheckSpec,
    ScreenedLayer,
    SizeCheckSpec,
)
from anodefree.errors import ConfigError, StructureError
from anodefree.provenance import CalculatorProvenance
from anodefree.serialization import MSONModel
from anodefree.structures.defects import bcc_supercell, check_element, neighbour_shells, remove_site
from anodefree.structures.interface_defects import (
    DefectConfiguration,
    DefectHost,
    DefectRecord,
    build_defect,
    filling_configurations,
    filling_sites,
    lowest,
    relaxed_layer_heights,
)
from anodefree.structures.interface_systems import SYSTEMS, get_system, system_interfaces
from anodefree.structures.interfaces import InterfaceBuild, InterfaceBuilder, InterfaceRecord
from anodefree.tasks import OPTIMIZERS, RelaxSettings
from anodefree.workflows.bond_energies import BondEnergyMaker
from anodefree.workflows.calculation import CalculationMaker, _default_engine
from anodefree.workflows.engines.base import Engine
from anodefree.workflows.vacancy import cubic_lattice_constant

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from anodefree.analysis.documents.adhesion import AdhesionDocument
    from anodefree.analysis.documents.calculation import CalculationResult

logger = logging.getLogger(__name__)

Supercell = tuple[int, int]


def _cell(supercell: Supercell) -> str:
    return f"{supercell[0]}x{supercell[1]}"


# ---------------------------------------------------------------------------------------
# Settings
# ---------------------------------------------------------------------------------------


class InterfaceDefectSettings(MSONModel):
    """What to compute for one system and how (defaults sized for the laptop campaign).

    Defaults: vacancies in L1-L4 and the interior, the solute in L1-L4 and the interior, a
    6 A relaxation radius (CHGNet, L1 vacancy of Li(100)/Li2S(111): 16 meV above the
    all-atom relaxation, 6 meV with 7 A), the L1 vacancy size check in 1x1 and 2x1 cells
    with a 20 meV tolerance, pairs in the 2x1 cell (two in-layer shells fit without periodic
    images), and the line-search BFGS optimizer (about 2/3 of plain BFGS's force calls for a
    local relaxation).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    profile_layers: tuple[int, ...] = Field(
        (1, 2, 3, 4), description="Layers of the vacancy profile (1 = L1); the interior is added."
    )
    segregation_layers: tuple[int, ...] = Field(
        (1, 2, 3, 4), description="Layers of the solute segregation profile; the interior is added."
    )
    radius: float | None = Field(
        6.0, description="Relaxation radius around each defect, A; null relaxes every atom."
    )
    radius_check: float | None = Field(
        None,
        description="If set, the L1 vacancy is also relaxed within this larger radius (A) and "
        "the difference is reported.",
    )
    size_check: tuple[Supercell, ...] = Field(
        ((1, 1), (2, 1)), description="In-plane supercells of the L1 vacancy size check."
    )
    size_tolerance: float = Field(
        0.02,
        gt=0,
        description="Largest |E_f(L1) - E_f(L1, largest cell)| (eV) for a cell to hold the "
        "single-defect profiles.",
    )
    pair_supercell: Supercell = Field(
        (2, 1), description="In-plane supercell of the defect pairs (interaction, filling)."
    )
    interaction_shells: int = Field(
        2, ge=0, description="In-layer shells of the solute that receive the L1 vacancy."
    )
    filling: bool = Field(default=True, description="Compute the filling moves (near and far).")
    divacancy_interface: tuple[Literal["L1-L1", "L1-L2"], ...] = Field(
        ("L1-L1",), description="Interface vacancy pairs: in L1, or across L1 and L2."
    )
    divacancy_bulk_shells: tuple[int, ...] = Field(
        (1, 2), description="bcc neighbour shells of the bulk vacancy pairs."
    )
    bulk_repetitions: int = Field(
        4, ge=3, le=8, description="n of the n x n x n bcc supercell of the bulk divacancies."
    )
    screen_depth: int | None = Field(
        None,
        ge=1,
        description="Layers 1..n are screened for the lowest-energy site; deeper layers use "
        "their lowest-index site; null screens every layer used.",
    )
    optimizer: str | None = Field(
        "BFGSLineSearch",
        description="Optimizer of the local defect relaxations; null keeps the campaign's.",
    )

    @field_validator("profile_layers", "segregation_layers")
    @classmethod
    def _layers(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if any(isinstance(n, bool) or n < 1 for n in value):
            msg = f"layers are integers >= 1 (1 = L1, touching the substrate), got {value!r}"
            raise ValueError(msg)
        return tuple(sorted(set(value)))

    @field_validator("size_check")
    @classmethod
    def _cells(cls, value: tuple[Supercell, ...]) -> tuple[Supercell, ...]:
        if not value or any(n < 1 for cell in value for n in cell):
            msg = f"size_check needs in-plane supercells (n_a, n_b) with n >= 1, got {value!r}"
            raise ValueError(msg)
        return tuple(sorted(set(value), key=lambda c: (c[0] * c[1], c)))

    @field_validator("pair_supercell")
    @classmethod
    def _pair(cls, value: Supercell) -> Supercell:
        if any(n < 1 for n in value):
            msg = f"pair_supercell needs (n_a, n_b) with n >= 1, got {value!r}"
            raise ValueError(msg)
        return value

    @field_validator("divacancy_bulk_shells")
    @classmethod
    def _shells(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if any(s < 1 for s in value):
            msg = f"bcc neighbour shells are integers >= 1, got {value!r}"
            raise ValueError(msg)
        return tuple(sorted(set(value)))

    @field_validator("optimizer")
    @classmethod
    def _optimizer(cls, value: str | None) -> str | None:
        if value is not None and value not in OPTIMIZERS:
            msg = f"unknown optimizer {value!r}; choose one of {', '.join(OPTIMIZERS)}"
            raise ValueError(msg)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> InterfaceDefectSettings:
        if self.radius is not None and self.radius <= 0:
            msg = f"radius must be positive (A) or null, got {self.radius!r}"
            raise ValueError(msg)
        if self.radius_check is not None and (
            self.radius is None or self.radius_check <= self.radius
        ):
            msg = f"radius_check ({self.radius_check!r} A) must exceed radius ({self.radius!r} A)"
            raise ValueError(msg)
        if 1 not in self.profile_layers:
            msg = "profile_layers must include L1 (the layer touching the substrate)"
            raise ValueError(msg)
        bulk_heights = self.bulk_repetitions  # in units of a
        reach = {1: 3**0.5 / 2, 2: 1.0, 3: 2**0.5, 4: 11**0.5 / 2, 5: 3**0.5}
        for shell in self.divacancy_bulk_shells:
            if reach.get(shell, 2.0) >= bulk_heights / 2:
                msg = (
                    f"a {self.bulk_repetitions}^3 bcc supercell cannot hold divacancy shell "
                    f"{shell} without periodic images"
                )
                raise ValueError(msg)
        return self

    def defect_relax(self, relax: RelaxSettings) -> RelaxSettings:
        """Return the campaign's relaxation settings with this stage's optimizer."""
        if self.optimizer is None:
            return relax
        return RelaxSettings(fmax=relax.fmax, max_steps=relax.max_steps, optimizer=self.optimizer)


class HostBuildSettings(MSONModel):
    """How :func:`host_interface` builds a host when no adhesion interface is given."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    system: str = Field("Li/Li2S", description="Interface preset whose pure cell is the host.")
    film_units: int = Field(
        9, ge=3, description="Metal layers of the film (9: L1-L4, interior L5, L6-L9)."
    )
    substrate_units: int | None = Field(None, ge=1, description="Substrate repeat units.")
    n_fixed_substrate_planes: int = Field(
        3, ge=0, description="Bottom substrate planes kept fixed (bulk-like)."
    )
    separation: float = Field(2.5, gt=0, description="Initial interfacial separation, A.")
    shift: tuple[float, float] = Field(
        (0.0, 0.0), description="Registry: in-plane film shift (fractional)."
    )

    @field_validator("system")
    @classmethod
    def _system(cls, value: str) -> str:
        get_system(value)
        return value


# ---------------------------------------------------------------------------------------
# Hosts
# ---------------------------------------------------------------------------------------


def build_host(
    build: HostBuildSettings,
    film_bulk: Structure | None = None,
    substrate_bulk: Structure | None = None,
    template: InterfaceRecord | None = None,
    shift: tuple[float, float] | None = None,
    separation: float | None = None,
) -> tuple[InterfaceBuild, list[str]]:
    """Build the pure host interface (unrelaxed) and say how.

    Parameters
    ----------
    build
        Film and substrate thickness, fixed planes; the registry and separation when
        there is no template.
    film_bulk, substrate_bulk
        Relaxed bulks (the ones the template was built from); prototypes when None.
    template
        An interface record (e.g. the adhesion document's ``interface``) whose lattice
        match, terminations, cuts and vacuum the host reproduces with ``build.film_units``
        metal layers; without it the preset's best match is used.
    shift, separation
        Registry (fractional) and separation (A) replacing ``build.shift`` and
        ``build.separation`` (e.g. the adhesion stage's best ones).

    Raises
    ------
    StructureError
        If the template's match does not belong to these bulks, or the builder refuses.
    """
    spec = get_system(build.system)
    shift = tuple(shift) if shift is not None else build.shift
    separation = separation if separation is not None else build.separation
    common = {
        "film_units": build.film_units,
        "substrate_units": build.substrate_units,
        "n_fixed_substrate_planes": build.n_fixed_substrate_planes,
        "shift": shift,
        "separation": separation,
    }
    where = f"registry {tuple(round(x, 4) for x in shift)}, separation {separation:.3f} A"
    if template is None:
        built = system_interfaces(
            spec.model_copy(update={"solute": None, "placements": ()}),
            film_bulk=film_bulk, substrate_bulk=substrate_bulk, **common,
        )["pure"]  # fmt: skip
        return built, [
            (
                f"host: {build.system}, best lattice match, {where}, {build.film_units} metal "
                "layers, relaxed in this stage"
            )
        ]
    builder = InterfaceBuilder(
        film_bulk if film_bulk is not None else spec.film, spec.film_miller,
        substrate_bulk if substrate_bulk is not None else spec.substrate, spec.substrate_miller,
    )  # fmt: skip
    f_term = builder.film_terminations[template.film_termination.index]
    s_term = builder.substrate_terminations[template.substrate_termination.index]
    built = builder.build(
        template.match,
        film_termination=template.film_termination.index,
        substrate_termination=template.substrate_termination.index,
        film_cut=next((k for k, c in enumerate(f_term.cuts) if c == template.film_cut), 0),
        substrate_cut=next(
            (k for k, c in enumerate(s_term.cuts) if c == template.substrate_cut), 0
        ),
        vacuum=template.vacuum,
        **common,
    )  # fmt: skip
    return built, [
        (
            f"host: {build.system}, the adhesion stage's lattice match, {where}, "
            f"{build.film_units} metal layers, relaxed in this stage"
        )
    ]


@job
def host_interface(
    li_bulk: CalculationResult | None,
    substrate_bulk: CalculationResult | None,
    engine: Engine,
    relax: RelaxSettings,
    build: HostBuildSettings,
    adhesion: AdhesionDocument | None = None,
) -> Response:
    """Build the pure host interface (:func:`build_host`) and relax its positions.

    The output has the adhesion stage's hand-off shape: ``{"interface":
    CalculationResult, "film_indices": [...], "substrate_indices": [...], "notes": [...]}``.
    Without relaxed bulks the prototypes (experimental lattice constants) are used.
    """
    built, notes = build_host(
        build,
        li_bulk.structure if li_bulk is not None else None,
        substrate_bulk.structure if substrate_bulk is not None else None,
        template=adhesion.interface if adhesion is not None else None,
        shift=adhesion.registry_shift_fractional if adhesion is not None else None,
        separation=adhesion.best_separation if adhesion is not None else None,
    )
    fixed = tuple(built.record.fixed_indices)
    structure = built.structure.copy()
    for name in list(structure.site_properties):
        structure.remove_site_property(name)
    calc = CalculationMaker(engine=engine, task=relax.task("relax_positions", fixed))
    interface = calc.make(
        structure,
        label=f"{build.system} host interface ({build.film_units} metal layers)",
        system=build.system,
        role="interface host",
        metadata={"record": built.record.model_dump(mode="json")},
    )
    reference = built.structure.copy()
    for name in list(reference.site_properties):
        reference.remove_site_property(name)
    output = {
        "interface": interface.output,
        "film_indices": built.film_indices,
        "substrate_indices": built.substrate_indices,
        "reference": reference,
        "notes": notes,
    }
    return Response(replace=Flow([interface], output=output, name="host interface"))


@job
def refined_host(
    interface: CalculationResult,
    film_indices: list[int],
    substrate_indices: list[int],
    engine: Engine,
    relax: RelaxSettings,
    adhesion: AdhesionDocument | None = None,
    li_bulk: CalculationResult | None = None,
    substrate_bulk: CalculationResult | None = None,
) -> Response:
    """Relax a given interface again with this stage's settings (same fixed atoms).

    The adhesion stage may stop its relaxations at a looser force criterion than the defect
    cells; relaxing the host to the same criterion keeps E_f free of the host's own residual
    relaxation energy (an already converged host costs one force call). With the adhesion
    document (and the bulks it was built from) the unrelaxed interface is rebuilt to number
    the metal layers.
    """
    structure = interface.structure.copy()
    for name in list(structure.site_properties):
        structure.remove_site_property(name)
    task = relax.task("relax_positions", interface.task.fixed_indices)
    calc = CalculationMaker(engine=engine, task=task).make(
        structure,
        label=f"{interface.label} (refined for defects)",
        system=interface.system,
        role="interface host",
    )
    reference = None
    if adhesion is not None:
        record = adhesion.interface
        built, _ = build_host(
            HostBuildSettings(
                system=adhesion.system,
                film_units=record.film_units,
                substrate_units=record.substrate_units,
                n_fixed_substrate_planes=0,
            ),
            li_bulk.structure if li_bulk is not None else None,
            substrate_bulk.structure if substrate_bulk is not None else None,
            template=record,
            shift=adhesion.registry_shift_fractional,
            separation=adhesion.best_separation,
        )
        reference = Structure(built.structure.lattice, built.structure.species,
                              built.structure.frac_coords)  # fmt: skip
    output = {
        "interface": calc.output,
        "film_indices": film_indices,
        "substrate_indices": substrate_indices,
        "reference": reference,
        "notes": [f"host: {interface.label}, relaxed again to fmax {relax.fmax} eV/A"],
    }
    return Response(replace=Flow([calc], output=output, name="refined host"))


def defect_host(host: dict[str, Any]) -> DefectHost:
    """Return the DefectHost of a host dict (interface, indices, optional reference)."""
    interface = host["interface"]
    return DefectHost.from_interface(
        interface.structure,
        host["film_indices"],
        host["substrate_indices"],
        fixed_indices=interface.task.fixed_indices,
        layer_reference=host.get("reference"),
    )


# ---------------------------------------------------------------------------------------
# 1. Site screen
# ---------------------------------------------------------------------------------------


class SiteScreen(BaseModel):
    """Unrelaxed single-point energies that choose the defect site of each layer."""

    calculator: CalculatorProvenance = Field(description="Calculator of the single points.")
    host_energy: float = Field(description="Single-point energy of the 1x1 host, eV.")
    layers: list[ScreenedLayer] = Field(description="One entry per (defect, layer).")
    n_single_points: int = Field(description="Single points computed.")

    def choice(self, defect: str, layer: int) -> ScreenedLayer | None:
        """Return the screen of ``defect`` ('vacancy' or an element) in ``layer``, if any."""
        return next((s for s in self.layers if s.defect == defect and s.layer == layer), None)


def screened_layers(
    host: DefectHost, settings: InterfaceDefectSettings, solute: str | None
) -> dict[str, list[int]]:
    """Layers to screen per defect kind ('vacancy', solute), checked against the film.

    Raises
    ------
    StructureError
        If a requested layer does not exist or is not above the interior layer.
    """
    interior = host.interior_layer
    for name, layers in (
        ("profile_layers", settings.profile_layers),
        ("segregation_layers", settings.segregation_layers if solute else ()),
    ):
        for layer in layers:
            host.resolve_layer(layer)
        deep = [n for n in layers if n >= interior]
        if deep:
            raise StructureError(
                f"{name} {list(layers)} reach the interior layer L{interior} of this "
                f"{host.n_layers}-layer film: use a thicker film (at least "
                f"{2 * max(layers) + 1} metal layers) or fewer layers"
            )
    vacancy = {*settings.profile_layers, interior, 1, 2}
    out = {"vacancy": sorted(vacancy)}
    if solute:
        out[solute] = sorted({*settings.segregation_layers, interior, 1, 2})
    if settings.screen_depth is not None:
        out = {k: [n for n in v if n <= settings.screen_depth] for k, v in out.items()}
    return out


@job
def site_screen(
    host_inputs: dict[str, Any],
    engine: Engine,
    settings: InterfaceDefectSettings,
    solute: str | None,
    system: str,
) -> SiteScreen:
    """Single-point energies of a vacancy and of the solute on every site of the layers used.

    The energies only choose sites (and show the layer's heterogeneity); every reported
    number comes from relaxed calculations.
    """
    host = defect_host(host_inputs)
    layers = screened_layers(host, settings, solute)
    calculator = engine.calculator()
    label = f"{system} site screen"
    logger.info(label, extra={"anodefree_event": "started", "label": label})

    def energy(structure: Any) -> float:
        atoms = AseAtomsAdaptor.get_atoms(structure)
        atoms.calc = calculator
        return float(atoms.get_potential_energy())

    e_host = energy(host.structure)
    entries, count = [], 1
    for defect, numbers in layers.items():
        for number in numbers:
            sites = host.layer_sites(number)
            energies = []
            for site in sites:
                if defect == "vacancy":
                    cell = build_defect(host, vacancies=[site], radius=None)
                else:
                    cell = build_defect(host, solutes=[(site, defect)], radius=None)
                energies.append(energy(cell.structure) - e_host)
                count += 1
            values = dict(zip(sites, energies, strict=True))
            entries.append(
                ScreenedLayer(
                    layer=number,
                    defect=defect,
                    sites=sites,
                    energies=tuple(energies),
                    chosen=lowest(sites, values),
                )
            )
    return SiteScreen(
        calculator=engine.provenance(), host_energy=e_host, layers=entries, n_single_points=count
    )


def _site(host: DefectHost, screen: SiteScreen, defect: str, layer: int) -> int:
    """Return the screened site of ``defect`` in ``layer`` (lowest index if unscreened)."""
    screened = screen.choice(defect, layer)
    return screened.chosen if screened else min(host.layer_sites(layer))


def _energy_map(screen: SiteScreen, defect: str, layer: int) -> dict[int, float] | None:
    screened = screen.choice(defect, layer)
    return screened.as_map() if screened else None


# ---------------------------------------------------------------------------------------
# Bookkeeping of configurations
# ---------------------------------------------------------------------------------------


@dataclass
class _Plan:
    """Calculation jobs of one flow, one per distinct configuration."""

    engine: Engine
    relax: RelaxSettings
    defect_relax: RelaxSettings
    system: str
    hosts: dict[Supercell, DefectHost]
    results: dict[str, Any] = field(default_factory=dict)
    records: dict[str, Any] = field(default_factory=dict)
    pristine: dict[str, str] = field(default_factory=dict)
    jobs: list[Any] = field(default_factory=list)
    _identity: dict[tuple, str] = field(default_factory=dict)

    def host(self, supercell: Supercell) -> DefectHost:
        if supercell not in self.hosts:
            self.hosts[supercell] = self.hosts[(1, 1)].make_supercell(*supercell)
        return self.hosts[supercell]

    def pristine_label(self, supercell: Supercell) -> str:
        """Label of the pristine cell (1x1: the host itself; else a single point)."""
        key = _cell(supercell)
        if key not in self.pristine:
            label = f"pristine {key}"
            static = CalculationMaker(engine=self.engine, task=self.relax.task("static"))
            calc = static.make(
                self.host(supercell).structure,
                label=f"{self.system} pristine interface {key}",
                system=self.system,
                role="pristine interface supercell",
                metadata={"supercell": list(supercell)},
            )
            self.jobs.append(calc)
            self.results[label] = calc.output
            self.pristine[key] = label
        return self.pristine[key]

    @staticmethod
    def identity(record: DefectRecord) -> tuple:
        """Return what makes two configurations the same calculation."""
        return (
            tuple(record.supercell),
            tuple(sorted(s.index for s in record.vacancies)),
            tuple(sorted((s.index, s.element) for s in record.solutes)),
            record.radius,
        )

    def register(self, label: str, record: DefectRecord) -> None:
        """Record a configuration computed elsewhere (its result is in ``results``)."""
        self.records[label] = record
        self._identity[self.identity(record)] = label

    def add(self, configuration: DefectConfiguration, role: str) -> str:
        """Add the relaxation of a configuration (once per identity); return its label."""
        record = configuration.record
        identity = self.identity(record)
        if identity in self._identity:
            return self._identity[identity]
        label = record.label
        if label in self.records:
            msg = f"two configurations are called {label!r}"
            raise StructureError(msg)
        self.pristine_label(record.supercell)
        task = self.defect_relax.task("relax_positions", record.fixed_indices)
        calc = CalculationMaker(engine=self.engine, task=task).make(
            configuration.structure,
            label=f"{self.system} {label}",
            system=self.system,
            role=role,
            metadata={"defect": record.model_dump(mode="json", exclude={"fixed_indices"})},
        )
        self.jobs.append(calc)
        self.results[label] = calc.output
        self.register(label, record)
        return label

    def vacancy(self, supercell: Supercell, site: int, radius: float | None, name: str) -> str:
        host = self.host(supercell)
        site = host.canonical_site(site)
        config = build_defect(
            host, vacancies=[site], radius=radius,
            label=f"vacancy {name} {_cell(supercell)}" + _radius_tag(radius),
        )  # fmt: skip
        return self.add(config, "interface vacancy")


def _radius_tag(radius: float | None) -> str:
    return " (all free)" if radius is None else f" (r {radius:g} A)"


# ---------------------------------------------------------------------------------------
# 2. Size and radius checks
# ---------------------------------------------------------------------------------------


@job
def size_check(
    host_inputs: dict[str, Any],
    screen: SiteScreen,
    engine: Engine,
    relax: RelaxSettings,
    settings: InterfaceDefectSettings,
    system: str,
) -> Response:
    """Compute the L1 vacancy in every size-check supercell (and within the check radius)."""
    host = defect_host(host_inputs)
    plan = _Plan(engine, relax, settings.defect_relax(relax), system, {(1, 1): host})
    plan.results["host"] = host_inputs["interface"]
    plan.pristine["1x1"] = "host"
    site = _site(host, screen, "vacancy", 1)
    checks = []
    for supercell in settings.size_check:
        label = plan.vacancy(supercell, site, settings.radius, "L1")
        vectors = plan.host(supercell).image_limit * 2
        checks.append(
            SizeCheckSpec(supercell=supercell, vacancy=label, shortest_vector=round(vectors, 4))
        )
    radius = None
    if settings.radius_check is not None:
        local = plan.vacancy((1, 1), site, settings.radius, "L1")
        check = plan.vacancy((1, 1), site, settings.radius_check, "L1")
        radius = RadiusCheckSpec(
            radius=settings.radius, check_radius=settings.radius_check, local=local, check=check
        )
    output = {
        "results": plan.results,
        "records": plan.records,
        "pristine": plan.pristine,
        "checks": checks,
        "radius_check": radius,
    }
    return Response(replace=Flow(plan.jobs, output=output, name=f"{system} size check"))


def choose_supercell(
    checks: Sequence[SizeCheckSpec],
    results: Mapping[str, CalculationResult | None],
    pristine: Mapping[str, str],
    tolerance: float,
) -> tuple[Supercell, list[str]]:
    """Choose the smallest supercell whose L1 E_f is within ``tolerance`` of the largest's.

    Returns the supercell and warnings (failed cells, no smaller cell passing).
    """
    values: dict[Supercell, float] = {}
    warnings = []
    for check in checks:
        vacancy = results.get(check.vacancy)
        base = results.get(pristine.get(_cell(check.supercell), ""))
        if vacancy is None or base is None:
            warnings.append(f"size check {_cell(check.supercell)}: calculation failed")
            continue
        values[check.supercell] = vacancy.energy - base.energy
    if not values:
        msg = "every size-check calculation failed"
        raise RuntimeError(msg)
    by_area = sorted(values, key=lambda c: (c[0] * c[1], c))
    largest = by_area[-1]
    for cell in by_area:
        if abs(values[cell] - values[largest]) <= tolerance:
            if cell == largest and len(by_area) > 1:
                warnings.append(
                    f"size check: no cell smaller than {_cell(largest)} is within "
                    f"{1000 * tolerance:.0f} meV; the profiles use {_cell(largest)}"
                )
            return cell, warnings
    return largest, warnings  # pragma: no cover - the largest always passes


# ---------------------------------------------------------------------------------------
# 3. Everything else
# ---------------------------------------------------------------------------------------


@job
def bulk_divacancies(
    li_bulk: CalculationResult,
    engine: Engine,
    relax: RelaxSettings,
    repetitions: int,
    shells: tuple[int, ...],
) -> Response:
    """Perfect, single-vacancy and vacancy-pair cells of bcc Li (all atoms relax).

    The perfect and single-vacancy cells are those of the bulk vacancy stage (same
    structure and task), so they are reused when that stage ran with the same size.
    """
    a = cubic_lattice_constant(li_bulk.structure)
    cell = bcc_supercell(a, repetitions)
    size = f"{repetitions}x{repetitions}x{repetitions}"
    static = CalculationMaker(engine=engine, task=relax.task("static"))
    relaxed = CalculationMaker(engine=engine, task=relax.task("relax_positions"))
    perfect = static.make(cell, label=f"Li {size} perfect", system="Li", role="perfect supercell",
                          metadata={"repetitions": repetitions})  # fmt: skip
    single = relaxed.make(remove_site(cell, 0), label=f"Li {size} vacancy", system="Li",
                          role="vacancy", metadata={"repetitions": repetitions})  # fmt: skip
    found = {s.number: s for s in neighbour_shells(cell, 0, max(shells))}
    jobs, pairs = [perfect, single], []
    for shell in shells:
        partner = found[shell].indices[0]
        pair = cell.copy()
        pair.remove_sites([0, partner])
        calc = relaxed.make(
            pair,
            label=f"Li {size} divacancy (shell {shell}, {found[shell].distance:.2f} A)",
            system="Li",
            role="divacancy",
            metadata={"shell": shell, "distance_A": found[shell].distance},
        )
        jobs.append(calc)
        pairs.append(
            {"shell": shell, "distance": round(found[shell].distance, 4), "result": calc.output}
        )
    output = {
        "repetitions": repetitions,
        "perfect": perfect.output,
        "single": single.output,
        "pairs": pairs,
    }
    return Response(replace=Flow(jobs, output=output, name="bulk divacancies"))


@job
def interface_defect_calculations(
    host_inputs: dict[str, Any],
    li_bulk: CalculationResult,
    screen: SiteScreen,
    checks: dict[str, Any],
    bulk: dict[str, Any] | None,
    engine: Engine,
    relax: RelaxSettings,
    settings: InterfaceDefectSettings,
    system: str,
    solute: str | None,
) -> Response:
    """Build every configuration, their calculations and the document job."""
    host = defect_host(host_inputs)
    plan = _Plan(engine, relax, settings.defect_relax(relax), system, {(1, 1): host})
    plan.results.update(checks["results"])
    plan.pristine.update(checks["pristine"])
    for label, record in checks["records"].items():
        plan.register(label, record)
    single, notes = choose_supercell(
        checks["checks"], checks["results"], checks["pristine"], settings.size_tolerance
    )
    plan.results["li_bulk"] = li_bulk
    profile = _profiles(plan, screen, settings, single, "vacancy")
    segregation, interaction, filling, interaction_solute = [], [], [], None
    if solute:
        segregation = _profiles(plan, screen, settings, single, solute)
        if settings.interaction_shells:
            interaction_solute, interaction = _interaction(plan, screen, settings, solute, notes)
        if settings.filling:
            filling = _filling(plan, screen, settings, solute, notes)
    divacancies = _divacancies(plan, screen, settings, notes)
    spec = InterfaceDefectSpec(
        system=system,
        solute=solute,
        host_element=host.host_element,
        lattice_constant=cubic_lattice_constant(li_bulk.structure),
        n_layers=host.n_layers,
        interior_layer=host.interior_layer,
        area=float(np.linalg.norm(np.cross(*host.structure.lattice.matrix[:2]))),
        radius=settings.radius,
        size_tolerance=settings.size_tolerance,
        single_supercell=single,
        pair_supercell=settings.pair_supercell if (solute or divacancies) else None,
        pristine=plan.pristine,
        records=plan.records,
        size_check=tuple(checks["checks"]),
        radius_check=checks["radius_check"],
        profile=tuple(profile),
        segregation=tuple(segregation),
        interaction_solute=interaction_solute,
        interaction=tuple(interaction),
        filling=tuple(filling),
        divacancy_interface=tuple(divacancies),
        bulk_divacancy=_bulk_spec(plan, bulk),
        screens=tuple(screen.layers),
        host_layers=_host_layers(host),
        notes=(
            *host_inputs.get("notes", []),
            (
                f"sites: the lowest unrelaxed energy of the layer ({screen.n_single_points} "
                "single points)"
            ),
            (
                f"relaxation: atoms within {settings.radius} A of a defect site, the rest at "
                f"the host positions; optimizer {plan.defect_relax.optimizer}, fmax "
                f"{relax.fmax} eV/A"
            ),
            *notes,
        ),
    )
    document = interface_defect_document(spec, plan.results)
    document.name = f"{system} interface defect document"
    return Response(
        replace=Flow([*plan.jobs, document], output=document.output, name=f"{system} defects")
    )


def _host_layers(host: DefectHost) -> tuple[HostLayer, ...]:
    """Sites, as-built height and relaxed heights of every metal layer of the host."""
    relaxed = relaxed_layer_heights(host)
    out = []
    for number in host.layer_numbers:
        sites = host.layer_sites(number)
        mean, low, high = relaxed[number]
        out.append(
            HostLayer(
                layer=number,
                n_sites=len(sites),
                built_height=round(host.distance_to_contact[sites[0]], 4),
                relaxed_height=round(mean, 4),
                relaxed_lowest=round(low, 4),
                relaxed_highest=round(high, 4),
            )
        )
    return tuple(out)


def _ranking(
    host: DefectHost, screen: SiteScreen, defect: str, layer: int, sites: Sequence[int]
) -> dict[int, float] | None:
    """Screened energies of the 1x1 sites that ``sites`` (supercell sites) are copies of."""
    energies = _energy_map(screen, defect, layer)
    if not energies:
        return None
    return {s: energies.get(host.primitive_site(s), 0.0) for s in sites}


def _profiles(
    plan: _Plan,
    screen: SiteScreen,
    settings: InterfaceDefectSettings,
    single: Supercell,
    defect: str,
) -> list[LayerSpec]:
    """One defect ('vacancy' or a solute) in each profile layer and the interior."""
    host = plan.host((1, 1))
    interior = host.interior_layer
    layers = settings.profile_layers if defect == "vacancy" else settings.segregation_layers
    out = []
    for layer in (*layers, interior):
        name = "interior" if layer == interior else f"L{layer}"
        site = _site(host, screen, defect, layer)
        if defect == "vacancy":
            label = plan.vacancy(single, site, settings.radius, name)
        else:
            config = build_defect(
                plan.host(single), solutes=[(site, defect)], radius=settings.radius,
                label=f"{defect} {name} {_cell(single)}",
            )  # fmt: skip
            label = plan.add(config, "interface solute")
        out.append(LayerSpec(layer=layer, label=label, interior=layer == interior))
    return out


def _interaction(
    plan: _Plan,
    screen: SiteScreen,
    settings: InterfaceDefectSettings,
    solute: str,
    notes: list[str],
) -> tuple[str, list[InteractionSpec]]:
    """Place the solute in L1 and an L1 vacancy at its nearest in-layer shells (pair cell)."""
    cell = settings.pair_supercell
    hp = plan.host(cell)
    s0 = _site(plan.host((1, 1)), screen, solute, 1)
    reference = plan.add(
        build_defect(hp, solutes=[(s0, solute)], radius=settings.radius,
                     label=f"{solute} L1 {_cell(cell)}"),
        "interface solute",
    )  # fmt: skip
    shells = hp.in_layer_shells(s0, 1)
    if len(shells) < settings.interaction_shells:
        notes.append(
            f"the {_cell(cell)} cell holds {len(shells)} in-layer shells of the solute without "
            f"periodic images ({settings.interaction_shells} requested)"
        )
    out = []
    for number, (_, sites) in enumerate(shells[: settings.interaction_shells], start=1):
        v = lowest(sites, _ranking(hp, screen, "vacancy", 1, sites))
        pair = plan.add(
            build_defect(
                hp, vacancies=[v], solutes=[(s0, solute)], radius=settings.radius,
                label=f"{solute} L1 + vacancy L1 shell {number} {_cell(cell)}",
            ),
            "interface solute-vacancy",
        )  # fmt: skip
        bare = plan.vacancy(cell, v, settings.radius, f"L1 site {hp.primitive_site(v)}")
        out.append(InteractionSpec(shell=number, pair=pair, bare=bare))
    return reference, out


def _divacancies(
    plan: _Plan, screen: SiteScreen, settings: InterfaceDefectSettings, notes: list[str]
) -> list[DivacancySpec]:
    """Vacancy pairs with one vacancy on the L1 profile site (pair cell)."""
    cell = settings.pair_supercell
    hp = plan.host(cell)
    p1 = _site(plan.host((1, 1)), screen, "vacancy", 1)
    out = []
    for kind in settings.divacancy_interface:
        layer = 1 if kind == "L1-L1" else 2
        if layer == 1:
            shells = hp.in_layer_shells(p1, 1)
            if not shells:
                notes.append(f"no L1 neighbour of the L1 vacancy in the {_cell(cell)} cell")
                continue
            candidates = shells[0][1]
        else:
            candidates = hp.nearest_in_layer(p1, 2)
        partner = lowest(candidates, _ranking(hp, screen, "vacancy", layer, candidates))
        pair = plan.add(
            build_defect(hp, vacancies=[p1, partner], radius=settings.radius,
                         label=f"divacancy {kind} {_cell(cell)}"),
            "interface divacancy",
        )  # fmt: skip
        first = plan.vacancy(cell, p1, settings.radius, "L1")
        name = f"L{layer} site {hp.primitive_site(partner)}"
        second = plan.vacancy(cell, partner, settings.radius, name)
        out.append(
            DivacancySpec(
                name=kind, pair=pair, first=first, second=second,
                pristine=plan.pristine_label(cell),
            )
        )  # fmt: skip
    return out


def _bulk_spec(plan: _Plan, bulk: dict[str, Any] | None) -> BulkDivacancySpec | None:
    """Register the bulk divacancy results and describe them."""
    if bulk is None:
        return None
    plan.results["bulk perfect"] = bulk["perfect"]
    plan.results["bulk vacancy"] = bulk["single"]
    pairs = []
    for item in bulk["pairs"]:
        label = f"bulk divacancy shell {item['shell']}"
        plan.results[label] = item["result"]
        pairs.append((item["shell"], item["distance"], label))
    return BulkDivacancySpec(
        repetitions=bulk["repetitions"],
        perfect="bulk perfect",
        single="bulk vacancy",
        pairs=tuple(pairs),
    )


FAR_MARGIN = 0.5
"""Sites of L2 within this distance (A) of the vacancy's closest L2 site are its neighbours."""


def _far_solute_site(
    hp: DefectHost, screen: SiteScreen, solute: str, vacancy: int, near: int, notes: list[str]
) -> int | None:
    """Return the L2 site of the 'far' filling move (beyond the vacancy's nearest shell).

    The periodic copy of the near site farthest from the vacancy (same environment) when
    it is not itself one of the vacancy's first L2 neighbours (within ``FAR_MARGIN`` of
    the closest: a relaxed host spreads that shell);
    otherwise the L2 site farthest from the vacancy outside that shell (lowest screened
    substitution energy on ties), with a note; None if L2 has no site beyond the shell.
    """
    # The first-neighbour shell in L2, loosely: a relaxed host spreads it by tenths of an A.
    d_min = min(hp.distance(vacancy, i) for i in hp.layer_sites(2))
    nearest = {i for i in hp.layer_sites(2) if hp.distance(vacancy, i) < d_min + FAR_MARGIN}
    copy = hp.farthest_copy(hp.primitive_site(near), vacancy)
    if copy not in nearest:
        return copy
    layer2 = [i for i in hp.layer_sites(2) if i not in nearest]
    if not layer2:
        notes.append(f"the {_cell(hp.supercell)} pair cell has no L2 site beyond the nearest shell")
        return None
    d_max = max(hp.distance(vacancy, i) for i in layer2)
    farthest = [i for i in layer2 if hp.distance(vacancy, i) > d_max - 0.01]
    site = lowest(farthest, _ranking(hp, screen, solute, 2, farthest))
    notes.append(
        f"'far' filling move: every periodic copy of the near L2 site is a nearest neighbour "
        f"of the vacancy in the {_cell(hp.supercell)} cell, so the solute sits on the L2 site "
        f"farthest from it ({hp.distance(vacancy, site):.2f} A)"
    )
    return site


def _filling(
    plan: _Plan,
    screen: SiteScreen,
    settings: InterfaceDefectSettings,
    solute: str,
    notes: list[str],
) -> list[FillingSpec]:
    """Near and far filling moves of the L1 profile vacancy with the solute in L2.

    Near: the solute on the L2 neighbour of the vacancy with the lowest screened
    substitution energy; far: its periodic copy farthest from the vacancy. The host-metal
    filler is the L2 neighbour with the lowest screened vacancy energy, in both cases.
    """
    hp = plan.host(settings.pair_supercell)
    p1 = _site(plan.host((1, 1)), screen, "vacancy", 1)
    neighbours = hp.nearest_in_layer(p1, 2)
    s_near = lowest(neighbours, _ranking(hp, screen, solute, 2, neighbours))
    others = hp.nearest_in_layer(p1, 2, exclude=[s_near])
    filler = lowest(others, _ranking(hp, screen, "vacancy", 2, others))
    cases = [("near", filling_sites(hp, p1, s_near, filler))]
    s_far = _far_solute_site(hp, screen, solute, p1, s_near, notes)
    if s_far is not None:
        # The L2 shell of the vacancy is found among the sites the solute leaves free, so
        # with the solute elsewhere it can differ: keep the filler only if still in it.
        shell = hp.nearest_in_layer(p1, 2, exclude=[s_far])
        far_filler = (
            filler if filler in shell else lowest(shell, _ranking(hp, screen, "vacancy", 2, shell))
        )
        cases.append(("far", filling_sites(hp, p1, s_far, far_filler)))
    out = []
    for case, sites in cases:
        configs = filling_configurations(
            hp, solute, sites, radius=settings.radius,
            label=f"filling {case} {_cell(hp.supercell)}",
        )  # fmt: skip
        labels = {k: plan.add(c, "interface filling") for k, c in configs.items()}
        out.append(FillingSpec(case=case, sites=sites, **labels))
    return out


@job(config=JobConfig(on_missing_references=OnMissing.NONE))
def interface_defect_document(
    spec: InterfaceDefectSpec, results: dict[str, CalculationResult | None]
) -> InterfaceDefectDocument:
    """Assemble the document (failed calculations become warnings)."""
    return InterfaceDefectDocument.from_results(spec, results)


# ---------------------------------------------------------------------------------------
# The Maker
# ---------------------------------------------------------------------------------------


@dataclass
class InterfaceDefectsMaker(Maker):
    """Layer-resolved vacancies, solute segregation, filling and divacancies of one system.

    Parameters
    ----------
    system
        System name (a preset of :mod:`~anodefree.structures.interface_systems` or any label).
    solute
        Solute element; ``"preset"`` (default) takes the preset's (None for Li/Li2S).
    settings
        What to compute (:class:`InterfaceDefectSettings`).
    """

    name: str = "interface defects"
    engine: Engine = field(default_factory=_default_engine)
    relax: RelaxSettings = field(default_factory=RelaxSettings)
    system: str = "Li/Li2S"
    solute: str | None = "preset"
    settings: InterfaceDefectSettings = field(default_factory=InterfaceDefectSettings)

    def __post_init__(self) -> None:
        """Resolve the preset solute and check it and the settings."""
        if self.solute == "preset":
            self.solute = SYSTEMS[self.system].solute if self.system in SYSTEMS else None
        if self.solute is not None:
            check_element(self.solute)
            if self.solute == "Li":
                msg = "Li is the host metal, not a solute"
                raise StructureError(msg)
        if not isinstance(self.settings, InterfaceDefectSettings):
            msg = f"settings must be InterfaceDefectSettings, got {type(self.settings).__name__}"
            raise ConfigError(msg)

    def make(
        self,
        interface: CalculationResult,
        film_indices: list[int],
        substrate_indices: list[int],
        li_bulk: CalculationResult,
        bulk_divacancy: dict[str, Any] | None = None,
        layer_reference: Structure | None = None,
        host_notes: list[str] | None = None,
    ) -> Flow:
        """Return the flow for a relaxed pure interface.

        Parameters
        ----------
        interface
            The relaxed interface (pure metal film; positions relaxed to the campaign's
            force criterion, e.g. by :func:`host_interface` or :func:`refined_host`).
        film_indices, substrate_indices
            Film and substrate sites of ``interface``.
        li_bulk
            The relaxed bcc Li (chemical potential and lattice constant).
        bulk_divacancy
            The output of a :func:`bulk_divacancies` job to share; one is added when None
            and ``settings.divacancy_bulk_shells`` is not empty.
        layer_reference
            The interface as built, before relaxation: its metal layers number the sites
            (recommended: a relaxed contact layer can reconstruct); None numbers the layers
            of the relaxed interface.
        host_notes
            How the host was made (kept in the document's notes).
        """
        host = {
            "interface": interface,
            "film_indices": film_indices,
            "substrate_indices": substrate_indices,
            "reference": layer_reference,
            "notes": host_notes or [],
        }
        return self.make_from_host(host, li_bulk, bulk_divacancy)

    def make_from_host(
        self,
        host: dict[str, Any],
        li_bulk: CalculationResult,
        bulk_divacancy: dict[str, Any] | None = None,
    ) -> Flow:
        """Return the flow for a host dict (the output of :func:`host_interface`).

        ``host`` holds ``interface``, ``film_indices``, ``substrate_indices`` and
        optionally ``reference`` (the unrelaxed structure) and ``notes``.
        """
        system, settings = self.system, self.settings
        jobs = []
        if bulk_divacancy is None and settings.divacancy_bulk_shells:
            bulk = bulk_divacancies(
                li_bulk, self.engine, self.relax, settings.bulk_repetitions,
                settings.divacancy_bulk_shells,
            )  # fmt: skip
            bulk.name = "bulk divacancies"
            jobs.append(bulk)
            bulk_divacancy = bulk.output
        screen = site_screen(host, self.engine, settings, self.solute, system)
        screen.name = f"{system} site screen"
        checks = size_check(host, screen.output, self.engine, self.relax, settings, system)
        checks.name = f"{system} size check"
        main = interface_defect_calculations(
            host, li_bulk, screen.output, checks.output, bulk_divacancy, self.engine,
            self.relax, settings, system, self.solute,
        )  # fmt: skip
        main.name = f"{system} interface defects"
        jobs += [screen, checks, main]
        return Flow(jobs, output=main.output, name=f"{self.name} {system}")

    def make_standalone(
        self,
        li_bulk: CalculationResult,
        substrate_bulk: CalculationResult | None = None,
        build: HostBuildSettings | None = None,
        adhesion: AdhesionDocument | None = None,
    ) -> Flow:
        """Build and relax the host (:func:`host_interface`), then :meth:`make_from_host`."""
        host = host_interface(
            li_bulk, substrate_bulk, self.engine, self.settings.defect_relax(self.relax),
            build or HostBuildSettings(), adhesion,
        )  # fmt: skip
        host.name = "interface defect host"
        flow = self.make_from_host(host.output, li_bulk)
        return Flow([host, flow], output=flow.output, name=flow.name)


# ---------------------------------------------------------------------------------------
# The campaign stage
# ---------------------------------------------------------------------------------------


class InterfaceDefectsStage(InterfaceDefectSettings):
    """Interfacial point defects of the campaign (issue 4) and the bond-energy references.

    All systems share one pure Li/Li2S host interface; the solutes are placed by this
    stage. ``host: build`` (default) builds a film of ``build.film_units`` metal layers (9:
    L1-L4, the interior L5, four more) at the adhesion stage's lattice match, registry and
    separation when the campaign passes the adhesion outputs (else the preset's best match
    at ``build.shift`` and ``build.separation``) and relaxes it; ``host: adhesion`` takes the
    adhesion stage's relaxed interface itself (relaxed again to this stage's force criterion),
    whose film then needs at least 2 * max(layers) + 1 metal layers.
    """

    systems: tuple[str, ...] = Field(
        ("Li/Li2S", "Li-Mg/Li2S", "Li-Ag/Li2S"), description="Systems (interface presets)."
    )
    host: Literal["build", "adhesion"] = Field(
        "build", description="Host source: a thick film built here, or the adhesion interface."
    )
    host_system: str = Field(
        "Li/Li2S", description="Adhesion system whose interface (or registry) is used."
    )
    build: HostBuildSettings = Field(
        default_factory=HostBuildSettings, description="The host built here."
    )
    bond_energies: bool = Field(
        default=True, description="Compute the Li2S / MgS / Ag2S bond-energy references."
    )

    @field_validator("systems")
    @classmethod
    def _systems(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for name in value:
            spec = get_system(name)
            if spec.film != "Li":
                msg = f"system {name!r} has a {spec.film} film; the defects need a Li film"
                raise ValueError(msg)
        if len(set(value)) != len(value):
            msg = f"a system is listed twice: {value!r}"
            raise ValueError(msg)
        return value

    @field_validator("host_system")
    @classmethod
    def _host_system(cls, value: str) -> str:
        spec = get_system(value)
        if spec.solute is not None:
            msg = f"the host must be a pure interface; {value!r} has a {spec.solute} solute"
            raise ValueError(msg)
        return value

    @classmethod
    def cluster(cls) -> InterfaceDefectsStage:
        """Converged settings for a cluster run: more layers, bigger cells, all checks."""
        return cls(
            profile_layers=(1, 2, 3, 4, 5),
            segregation_layers=(1, 2, 3, 4, 5),
            radius=8.0,
            radius_check=11.0,
            size_check=((1, 1), (2, 1), (2, 2)),
            pair_supercell=(2, 2),
            interaction_shells=4,
            divacancy_interface=("L1-L1", "L1-L2"),
            divacancy_bulk_shells=(1, 2, 3),
            bulk_repetitions=5,
            build=HostBuildSettings(film_units=13),
        )

    def settings(self) -> InterfaceDefectSettings:
        """Return the per-system settings."""
        return InterfaceDefectSettings(
            **{k: getattr(self, k) for k in InterfaceDefectSettings.model_fields}
        )

    def planned_calculations(self) -> int:
        """Count the calculations requested (reused ones included), approximately."""
        checks = sum(1 if c == (1, 1) else 2 for c in self.size_check)
        checks += 2 if self.radius_check is not None else 0
        pure = len(self.profile_layers) + 1 + 2 * len(self.divacancy_interface)
        total = 1  # the host
        for system in self.systems:
            solute = get_system(system).solute
            total += checks + pure
            if solute:
                total += len(self.segregation_layers) + 1
                total += (1 + 2 * self.interaction_shells) if self.interaction_shells else 0
                total += 6 if self.filling else 0
        total += 2 + len(self.divacancy_bulk_shells) if self.divacancy_bulk_shells else 0
        return total


def stage_host(
    section: InterfaceDefectsStage,
    engine: Engine,
    relax: RelaxSettings,
    li_bulk: Any,
    li2s_bulk: Any = None,
    adhesion: Mapping[str, Any] | None = None,
) -> Job:
    """Return the job of the stage's relaxed host (see :func:`build_interface_defects_stage`).

    Its output (``{"interface", "film_indices", "substrate_indices", "reference",
    "notes"}``) is what :func:`defect_host` reads; the migration stage's interface hops use
    the same host.
    """
    stage_relax = section.defect_relax(relax)
    entry = adhesion[section.host_system] if adhesion is not None else None
    if section.host == "adhesion":
        if entry is None:
            msg = "interface_defects.host is 'adhesion' but no adhesion outputs were given"
            raise ConfigError(msg)
        host = refined_host(
            entry["interface"], entry["film_indices"], entry["substrate_indices"], engine,
            stage_relax, entry["document"], li_bulk, li2s_bulk,
        )  # fmt: skip
    else:
        document = entry["document"] if entry is not None else None
        host = host_interface(li_bulk, li2s_bulk, engine, stage_relax, section.build, document)
    host.name = "interface defect host"
    return host


def build_interface_defects_stage(
    section: InterfaceDefectsStage,
    engine: Engine,
    relax: RelaxSettings,
    li_bulk: Any,
    li2s_bulk: Any = None,
    adhesion: Mapping[str, Any] | None = None,
    host: Job | None = None,
) -> tuple[list[Flow], int]:
    """Build the interfacial-defect stage of a campaign.

    Parameters
    ----------
    section
        The stage settings.
    engine, relax
        The campaign's engine and relaxation settings (``section.optimizer`` replaces the
        optimizer of the host and defect relaxations).
    li_bulk, li2s_bulk
        The relaxed bcc Li and Li2S (``CalculationResult`` or references, e.g.
        ``bulk.output["results"]["Li"]``); without Li2S a built host uses the prototype.
    adhesion
        The adhesion stage's output ``{system: {"document", "interface", "film_indices",
        "substrate_indices", ...}}`` (or a reference to it); the ``section.host_system``
        entry gives the host (``host: adhesion``) or its match, registry and separation
        (``host: build``).
    host
        The host job (:func:`stage_host`) when the caller shares it with another stage;
        built here when None.

    Returns
    -------
    tuple
        The flows (host, bulk divacancies, one per system, bond energies) and the number of
        calculations planned. Each system flow's output is its ``InterfaceDefectDocument``.
    """
    if host is None:
        host = stage_host(section, engine, relax, li_bulk, li2s_bulk, adhesion)
    flows: list[Flow] = [Flow([host], output=host.output, name="interface defect host")]
    settings = section.settings()
    shared = None
    if settings.divacancy_bulk_shells:
        bulk = bulk_divacancies(
            li_bulk, engine, relax, settings.bulk_repetitions, settings.divacancy_bulk_shells
        )
        bulk.name = "bulk divacancies"
        flows.append(Flow([bulk], output=bulk.output, name="bulk divacancies"))
        shared = bulk.output
    for system in section.systems:
        maker = InterfaceDefectsMaker(engine=engine, relax=relax, system=system, settings=settings)
        flows.append(maker.make_from_host(host.output, li_bulk, bulk_divacancy=shared))
    planned = section.planned_calculations()
    if section.bond_energies:
        bond = BondEnergyMaker(engine=engine, relax=relax)
        flows.append(bond.make())
        planned += bond.planned_calculations()
    return flows, planned
