"""Work of adhesion and wetting of metal | substrate interfaces, and the adhesion stage.

For one interface system (:mod:`anodefree.structures.interface_systems`: Li/Li2S,
Li-Mg/Li2S, Li-Ag/Li2S, Li/LiAg) and each of its solute placements, :class:`AdhesionMaker`

1. builds the lattice-matched cell from the bulks relaxed with the engine (the substrate
   keeps its lattice, the soft metal takes the strain);
2. scans the in-plane registry rigidly (static energies on a grid spanning one primitive
   cell, at a fixed separation), then the interfacial separation at the best registry
   (static energies; the minimum is refined by a parabola);
3. computes the static energies of the rigid best interface and of its two isolated slabs
   (the interface's own atoms in the interface's lattice: the *ideal* W_ad);
4. relaxes the positions of the interface (bottom substrate planes fixed) and of both
   isolated slabs (the substrate with the same planes fixed): the *relaxed* W_ad;
5. assembles an :class:`~anodefree.analysis.documents.adhesion.AdhesionDocument` with the
   wetting angle (Young-Dupre) from the metal's own surface energy of the facing facet
   (the thickness series of :mod:`anodefree.workflows.surfaces`).

Every energy that ends in a document comes from a cached :class:`CalculationMaker`;
the scans, whose points only choose the registry and separation, run inside one job with
the engine's ASE calculator ("direct", cached in the store by the identity of their
structures and calculator) or, for engines without an ASE calculator (VASP), as one cached
static job per point ("jobs").

Solute placements may share the pure interface's scans (``share_scan``, the laptop default:
at about 3 at.% the solute barely changes the rigid registry landscape of the coincidence
cell) and then start their relaxations from the relaxed pure cell with the solute
substituted (``relax_from_pure``); the cluster preset scans every placement itself.

The flow's output per system follows the hand-off to the interfacial-defect stage:
``{"document", "interface" (relaxed CalculationResult), "film_indices",
"substrate_indices", "placements": {label: the same four keys and "film_slab" (the relaxed
isolated film)}}``; the top-level keys are those of the primary placement (``pure``, else
``L1``).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from jobflow import CURRENT_JOB, Flow, Maker, Response, job
from jobflow.core.job import JobConfig
from jobflow.core.reference import OnMissing, OutputReference
from monty.json import MontyDecoder
from pydantic import ConfigDict, Field, field_validator, model_validator
from pymatgen.core import Structure
from pymatgen.io.ase import AseAtomsAdaptor

from anodefree.analysis.documents.adhesion import (
    AdhesionDocument,
    RigidScan,
    ScanPoint,
    refine_minimum,
)
from anodefree.analysis.documents.surfaces import facet_label
from anodefree.errors import ConfigError, StructureError
from anodefree.provenance import stable_hash
from anodefree.serialization import MSONModel
from anodefree.structures.interface_systems import SYSTEMS, InterfaceSystem, get_system
from anodefree.structures.interfaces import (
    DEFAULT_SEPARATION,
    InterfaceBuild,
    InterfaceBuilder,
    InterfaceRecord,
    SolutePlacement,
    _contact_cutoff,
)
from anodefree.structures.lattice_match import MatchCandidate, MatchLimits
from anodefree.structures.slabs import select_termination
from anodefree.tasks import RelaxSettings
from anodefree.workflows.calculation import CalculationMaker, _default_engine, structure_key
from anodefree.workflows.engines.base import AseEngine, Engine
from anodefree.workflows.surfaces import (
    SurfaceEnergyMaker,
    check_facet,
    check_same_engine,
    relaxed_bulk_job,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from jobflow import JobStore

    from anodefree.analysis.documents.calculation import CalculationResult
    from anodefree.analysis.documents.surfaces import SurfaceEnergyDocument

logger = logging.getLogger(__name__)

#: Version of the scan machinery; part of every scan's cache key.
SCAN_VERSION = "1"

ScanMode = Literal["auto", "direct", "jobs"]


# ---------------------------------------------------------------------------------------
# Settings
# ---------------------------------------------------------------------------------------


class AdhesionSettings(MSONModel):
    """How one system's interfaces are built, scanned and relaxed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    limits: MatchLimits = Field(
        default_factory=MatchLimits,
        description="Lattice-match limits (strain, area, atoms), slab thicknesses, strain "
        "partition (0: the metal takes all the strain).",
    )
    rank: int = Field(0, ge=0, description="Which ranked lattice match to build (0 = best).")
    placements: tuple[str, ...] | None = Field(
        None,
        description="Solute placements to compute ('pure', 'L1', 'interior', ...); None: the "
        "system's own (every solute placement of an alloy system, else 'pure').",
    )
    registry_grid: tuple[int, int] = Field(
        (3, 3), description="Registry grid (n_a x n_b points) over one primitive cell."
    )
    registry_cell: Literal["film", "substrate", "smaller"] = Field(
        "smaller", description="Primitive cell the registry grid spans."
    )
    registry_separation: float = Field(
        DEFAULT_SEPARATION, gt=0, description="Separation of the registry scan, A."
    )
    separations: tuple[float, ...] = Field(
        (1.6, 2.0, 2.4, 2.8, 3.3, 4.0, 5.0, 6.5),
        description="Separations of the separation scan, A (the large ones show the decay).",
    )
    refine_separation: bool = Field(
        default=True,
        description="Refine the best separation by a parabola through the lowest point and "
        "its neighbours.",
    )
    vacuum: float = Field(15.0, gt=0, description="Vacuum above the film, A.")
    n_fixed_substrate_units: int = Field(
        1,
        ge=0,
        description="Bottom substrate repeat units (Li-S-Li trilayers of Li2S(111)) held fixed "
        "in the interface and substrate-slab relaxations.",
    )
    share_scan: bool = Field(
        default=False,
        description="Solute placements take the registry and separation of the pure "
        "interface of the same cell instead of scanning their own.",
    )
    relax_from_pure: bool = Field(
        default=True,
        description="With share_scan, solute placements start their interface and film-slab "
        "relaxations from the relaxed pure cell with the solute substituted (same registry "
        "and separation; far fewer steps than from the rigid cell).",
    )
    scan_mode: ScanMode = Field(
        "auto",
        description="'direct' (engine's ASE calculator inside one job), 'jobs' (one static "
        "job per point) or 'auto' (direct for ASE engines).",
    )

    @field_validator("separations")
    @classmethod
    def _separations(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if len(value) < 3 or any(d <= 0 for d in value) or len(set(value)) != len(value):
            msg = f"need at least three distinct positive separations (A), got {value!r}"
            raise ValueError(msg)
        return tuple(sorted(value))

    @field_validator("registry_grid")
    @classmethod
    def _grid(cls, value: tuple[int, int]) -> tuple[int, int]:
        if any(n < 1 for n in value):
            msg = f"registry_grid must hold positive integers, got {value!r}"
            raise ValueError(msg)
        return value

    @model_validator(mode="after")
    def _vacuum(self) -> AdhesionSettings:
        largest = max(*self.separations, self.registry_separation)
        if self.vacuum <= _contact_cutoff(largest):
            msg = (
                f"vacuum={self.vacuum!r} A must exceed the largest separation {largest} A + "
                "0.5 A (and 5 A), or the film's free surface would touch the substrate image"
            )
            raise ValueError(msg)
        return self


def placement_labels(spec: InterfaceSystem) -> list[str]:
    """Placement labels of a system: ``['pure']`` or one per solute placement."""
    if spec.solute is None:
        return ["pure"]
    return [p if isinstance(p, str) else f"L{p}" for p in spec.placements]


def _placement(spec: InterfaceSystem, label: str) -> list[SolutePlacement]:
    if label == "pure":
        return []
    if spec.solute is None:
        raise StructureError(f"system {spec.name!r} has no solute; placement {label!r} is invalid")
    if label == "interior":
        layer: int | str = "interior"
    elif label.startswith("L") and label[1:].isdigit() and int(label[1:]) >= 1:
        layer = int(label[1:])
    else:
        raise StructureError(
            f"placement {label!r} is not 'pure', 'interior' or 'L<n>' (n >= 1, metal layer "
            "from the contact)"
        )
    return [SolutePlacement(element=spec.solute, layer=layer, fraction=spec.solute_fraction)]


# ---------------------------------------------------------------------------------------
# Building the cells (the same in every job: deterministic from the relaxed bulks)
# ---------------------------------------------------------------------------------------

_BUILDERS: dict[str, tuple[InterfaceBuilder, MatchCandidate]] = {}


def interface_builder(
    spec: InterfaceSystem,
    film_bulk: Structure,
    substrate_bulk: Structure,
    settings: AdhesionSettings,
) -> tuple[InterfaceBuilder, MatchCandidate]:
    """Return the builder and lattice match of a system for these bulks (memoised).

    Raises
    ------
    StructureError
        When no match meets the limits (naming the limit and the smallest strain available)
        or the rank does not exist.
    """
    key = stable_hash(
        {
            "film": structure_key(film_bulk),
            "substrate": structure_key(substrate_bulk),
            "film_miller": spec.film_miller,
            "substrate_miller": spec.substrate_miller,
            "limits": settings.limits.model_dump(mode="json"),
            "rank": settings.rank,
        }
    )
    if key not in _BUILDERS:
        builder = InterfaceBuilder(
            film_bulk, spec.film_miller, substrate_bulk, spec.substrate_miller
        )
        candidates = builder.find_matches(settings.limits)
        if settings.rank >= len(candidates):
            raise StructureError(
                f"rank {settings.rank!r} does not exist: {len(candidates)} candidate(s) for "
                f"{spec.name}"
            )
        _BUILDERS[key] = (builder, candidates[settings.rank])
    return _BUILDERS[key]


def build_cell(
    spec: InterfaceSystem,
    label: str,
    film_bulk: Structure,
    substrate_bulk: Structure,
    settings: AdhesionSettings,
    shift: Sequence[float],
    separation: float,
) -> InterfaceBuild:
    """One interface cell of a placement at a registry ``shift`` and ``separation`` (A)."""
    builder, candidate = interface_builder(spec, film_bulk, substrate_bulk, settings)
    planes_per_unit = len(builder.substrate.planes)
    return builder.build(
        candidate,
        shift=tuple(shift),
        separation=separation,
        vacuum=settings.vacuum,
        solutes=_placement(spec, label),
        n_fixed_substrate_planes=settings.n_fixed_substrate_units * planes_per_unit,
    )


def _scan_mode(engine: Engine, mode: ScanMode) -> Literal["direct", "jobs"]:
    if mode == "auto":
        return "direct" if isinstance(engine, AseEngine) else "jobs"
    if mode == "direct" and not isinstance(engine, AseEngine):
        raise ConfigError(
            f"scan_mode 'direct' needs an engine with an ASE calculator; {engine.name!r} runs "
            "through atomate2 Makers: use 'jobs' or 'auto'"
        )
    return mode


# ---------------------------------------------------------------------------------------
# Rigid scans
# ---------------------------------------------------------------------------------------


def direct_energies(engine: AseEngine, structures: Sequence[Structure], label: str) -> list[float]:
    """Compute static energies (eV) of ``structures`` with the engine's ASE calculator."""
    calculator = engine.calculator()
    adaptor = AseAtomsAdaptor()
    energies = []
    for k, structure in enumerate(structures):
        logger.info(
            "%s point %d/%d",
            label,
            k + 1,
            len(structures),
            extra={"anodefree_event": "started", "label": f"{label} {k + 1}/{len(structures)}"},
        )
        atoms = adaptor.get_atoms(structure)
        atoms.set_constraint()
        atoms.calc = calculator
        energies.append(float(atoms.get_potential_energy()))
    return energies


def _find_scan(store: JobStore, key: str) -> RigidScan | None:
    doc = store.query_one(
        {"output.cache_key": key, "output.@class": "RigidScan"}, properties=["output"], load=True
    )
    if doc is None:
        return None
    output = doc["output"]
    if isinstance(output, dict):
        output = MontyDecoder().process_decoded(output)
    return output if isinstance(output, RigidScan) else None


class ScanGeometry(MSONModel):
    """Where the points of a scan are (passed to the collecting job)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["registry", "separation"]
    system: str
    placement: str
    shifts: list[tuple[float, float]]
    shifts_cartesian: list[tuple[float, float]]
    separations: list[float]
    grid: tuple[int, int] | None = None
    grid_cell: str | None = None
    grid_vectors: tuple[tuple[float, float], tuple[float, float]] | None = None
    grid_indices: list[tuple[int, int]] | None = None
    n_atoms: int
    refine: bool = False


def assemble_scan(
    geometry: ScanGeometry,
    energies: Sequence[float],
    calculator: Any,
    mode: Literal["direct", "jobs"],
    job_uuids: Sequence[str | None] | None = None,
    **extra: Any,
) -> RigidScan:
    """Build a :class:`RigidScan` from the energies of its points."""
    e_min = min(energies)
    points = [
        ScanPoint(
            shift_fractional=geometry.shifts[k],
            shift=geometry.shifts_cartesian[k],
            grid_index=geometry.grid_indices[k] if geometry.grid_indices else None,
            separation=geometry.separations[k],
            energy=e,
            relative_energy=e - e_min,
            job_uuid=job_uuids[k] if job_uuids else None,
        )
        for k, e in enumerate(energies)
    ]
    best = int(np.argmin(energies))
    separation, refined = geometry.separations[best], False
    if geometry.refine:
        separation, refined = refine_minimum(geometry.separations, energies)
    return RigidScan(
        kind=geometry.kind,
        system=geometry.system,
        placement=geometry.placement,
        calculator=calculator,
        mode=mode,
        n_atoms=geometry.n_atoms,
        grid=geometry.grid,
        grid_cell=geometry.grid_cell,
        grid_vectors=geometry.grid_vectors,
        points=points,
        best_index=best,
        best_shift_fractional=geometry.shifts[best],
        best_separation=separation,
        refined=refined,
        **extra,
    )


def _run_scan(
    geometry: ScanGeometry,
    structures: list[Structure],
    engine: Engine,
    relax: RelaxSettings,
    mode: Literal["direct", "jobs"],
    label: str,
) -> RigidScan | Response:
    """Compute a scan in this job (direct, cached) or replace the job by static jobs."""
    provenance = engine.provenance()
    if mode == "jobs":
        static = CalculationMaker(engine=engine, task=relax.task("static"))
        jobs = [
            static.make(
                s,
                label=f"{label} {k + 1}/{len(structures)}",
                system=geometry.system,
                role=f"{geometry.kind} scan",
                metadata={"separation_A": geometry.separations[k], "shift": geometry.shifts[k]},
            )
            for k, s in enumerate(structures)
        ]
        collect = collect_scan(geometry, [j.output for j in jobs])
        collect.name = f"collect {label}"
        return Response(replace=Flow([*jobs, collect], output=collect.output, name=label))
    key = stable_hash(
        {
            "structures": [structure_key(s) for s in structures],
            "calculator": provenance.fingerprint,
            "kind": geometry.kind,
            "refine": geometry.refine,
            "version": SCAN_VERSION,
        },
        length=24,
    )
    tags = {"system": geometry.system, "placement": geometry.placement}
    store = CURRENT_JOB.store
    uuid = CURRENT_JOB.job.uuid if CURRENT_JOB.job else None
    if store is not None:
        cached = _find_scan(store, key)
        if cached is not None:
            logger.info("reused %s", label, extra={"anodefree_event": "reused", "label": label})
            return cached.model_copy(update={"reused": True, "job_uuid": uuid, **tags})
    engine.check_available()
    start = time.perf_counter()
    energies = direct_energies(engine, structures, label)  # type: ignore[arg-type]
    elapsed = time.perf_counter() - start
    logger.info(
        "computed %s (%d points, %.1f s)",
        label,
        len(structures),
        elapsed,
        extra={"anodefree_event": "computed", "label": label, "wall_time": elapsed},
    )
    return assemble_scan(
        geometry, energies, provenance, "direct", cache_key=key, job_uuid=uuid, wall_time=elapsed
    )


@job
def collect_scan(geometry: ScanGeometry, results: list[CalculationResult]) -> RigidScan:
    """Collect the static jobs of a scan ("jobs" mode) into a :class:`RigidScan`."""
    from anodefree.analysis.documents.common import common_calculator

    calculator = common_calculator(results, f"the {geometry.kind} scan of {geometry.system}")
    return assemble_scan(
        geometry,
        [r.energy for r in results],
        calculator,
        "jobs",
        job_uuids=[r.source_job_uuid or r.job_uuid for r in results],
        job_uuid=CURRENT_JOB.job.uuid if CURRENT_JOB.job else None,
    )


@job(config=JobConfig(expose_store=True))
def registry_scan(
    system: dict[str, Any],
    label: str,
    film_bulk: CalculationResult,
    substrate_bulk: CalculationResult,
    engine: Engine,
    relax: RelaxSettings,
    settings: AdhesionSettings,
) -> RigidScan | Response:
    """Rigid in-plane registry scan at ``settings.registry_separation``."""
    spec = InterfaceSystem.model_validate(system)
    builder, candidate = interface_builder(
        spec, film_bulk.structure, substrate_bulk.structure, settings
    )
    shifts = builder.registry_shifts(candidate, settings.registry_grid, settings.registry_cell)
    cell = settings.registry_cell
    if cell == "smaller":
        cell = "film" if candidate.film_cells >= candidate.substrate_cells else "substrate"
    # the (strained) primitive cell of that side in the interface frame: S^-1 T
    supercell = candidate.film_supercell if cell == "film" else candidate.substrate_supercell
    vectors = np.linalg.inv(np.array(supercell, float)) @ np.array(candidate.interface_inplane)
    builds = [
        build_cell(
            spec,
            label,
            film_bulk.structure,
            substrate_bulk.structure,
            settings,
            s,
            settings.registry_separation,
        )
        for s in shifts
    ]
    n_a, n_b = settings.registry_grid
    geometry = ScanGeometry(
        kind="registry",
        system=spec.name,
        placement=label,
        shifts=[tuple(s) for s in shifts],
        shifts_cartesian=[b.record.registry_shift for b in builds],
        separations=[settings.registry_separation] * len(builds),
        grid=settings.registry_grid,
        grid_cell=cell,
        grid_vectors=tuple(tuple(float(x) for x in row) for row in vectors),
        grid_indices=[(i, j) for i in range(n_a) for j in range(n_b)],
        n_atoms=len(builds[0].structure),
    )
    mode = _scan_mode(engine, settings.scan_mode)
    title = f"{spec.name} {label} registry scan"
    return _run_scan(geometry, [b.structure for b in builds], engine, relax, mode, title)


@job(config=JobConfig(expose_store=True))
def separation_scan(
    system: dict[str, Any],
    label: str,
    film_bulk: CalculationResult,
    substrate_bulk: CalculationResult,
    engine: Engine,
    relax: RelaxSettings,
    settings: AdhesionSettings,
    registry: RigidScan,
) -> RigidScan | Response:
    """Rigid separation scan at the best registry of ``registry``."""
    spec = InterfaceSystem.model_validate(system)
    shift = registry.best_shift_fractional
    builds = [
        build_cell(spec, label, film_bulk.structure, substrate_bulk.structure, settings, shift, d)
        for d in settings.separations
    ]
    geometry = ScanGeometry(
        kind="separation",
        system=spec.name,
        placement=label,
        shifts=[tuple(shift)] * len(builds),
        shifts_cartesian=[b.record.registry_shift for b in builds],
        separations=list(settings.separations),
        n_atoms=len(builds[0].structure),
        refine=settings.refine_separation,
    )
    mode = _scan_mode(engine, settings.scan_mode)
    title = f"{spec.name} {label} separation scan"
    return _run_scan(geometry, [b.structure for b in builds], engine, relax, mode, title)


# ---------------------------------------------------------------------------------------
# Energies of the best interface and the document
# ---------------------------------------------------------------------------------------


def start_from(relaxed: CalculationResult | None, rigid: Structure) -> tuple[Structure, bool]:
    """Return ``rigid``'s species on the positions of a relaxed pure cell of the same sites.

    Returns ``(rigid, False)`` when ``relaxed`` is missing or is not the same cell (site
    count, lattice, or more than the solute sites differ in species).
    """
    if relaxed is None:
        return rigid, False
    pure = relaxed.structure
    same_cell = len(pure) == len(rigid) and np.allclose(
        pure.lattice.matrix, rigid.lattice.matrix, atol=1e-6
    )
    if not same_cell:
        return rigid, False
    differ = [i for i in range(len(rigid)) if pure[i].species != rigid[i].species]
    if any(rigid[i].specie.symbol == "Li" for i in differ):
        return rigid, False
    props = {k: list(v) for k, v in rigid.site_properties.items()}
    start = Structure(
        rigid.lattice,
        [site.species for site in rigid],
        pure.frac_coords,
        site_properties=props,
    )
    return start, True


@job(config=JobConfig(on_missing_references=OnMissing.NONE))
def pure_relaxations(
    system: dict[str, Any],
    film_bulk: CalculationResult,
    substrate_bulk: CalculationResult,
    engine: Engine,
    relax: RelaxSettings,
    settings: AdhesionSettings,
    registry: RigidScan,
    separation: RigidScan,
) -> Response:
    """Relax the pure interface and film slab at the shared point (starting points only)."""
    spec = InterfaceSystem.model_validate(system)
    if film_bulk is None or substrate_bulk is None or registry is None or separation is None:
        msg = f"{spec.name}: no pure starting point, an input failed"
        raise RuntimeError(msg)
    build = build_cell(
        spec, "pure", film_bulk.structure, substrate_bulk.structure, settings,
        registry.best_shift_fractional, separation.best_separation,
    )  # fmt: skip
    name = f"{spec.name} pure"
    tags = {"system": spec.name, "metadata": {"placement": "pure"}}
    interface = CalculationMaker(
        engine=engine, task=relax.task("relax_positions", build.record.fixed_indices)
    ).make(build.structure, label=f"{name} interface (relaxed)", role="interface", **tags)
    film = CalculationMaker(engine=engine, task=relax.task("relax_positions")).make(
        build.film_slab, label=f"{name} film slab (relaxed)", role="film slab", **tags
    )
    output = {"interface": interface.output, "film_slab": film.output}
    return Response(replace=Flow([interface, film], output=output, name=f"{name} start"))


@job(config=JobConfig(on_missing_references=OnMissing.NONE))
def adhesion_calculations(
    system: dict[str, Any],
    label: str,
    film_bulk: CalculationResult,
    substrate_bulk: CalculationResult,
    engine: Engine,
    relax: RelaxSettings,
    settings: AdhesionSettings,
    registry: RigidScan,
    separation: RigidScan,
    metal_surface: SurfaceEnergyDocument | None,
    start: dict[str, CalculationResult | None] | None = None,
) -> Response:
    """Build the best interface; static and relaxed energies of it and its slabs.

    ``start`` (solute placements sharing the pure scans) holds the relaxed pure interface
    and film slab; the relaxations start from their positions with the solute substituted.
    """
    spec = InterfaceSystem.model_validate(system)
    if film_bulk is None or substrate_bulk is None or registry is None or separation is None:
        msg = f"{spec.name} ({label}): no interface, a bulk reference or a scan failed"
        raise RuntimeError(msg)
    build = build_cell(
        spec,
        label,
        film_bulk.structure,
        substrate_bulk.structure,
        settings,
        registry.best_shift_fractional,
        separation.best_separation,
    )
    record = build.record
    fixed = record.fixed_indices
    name = f"{spec.name} {label}"
    start = start or {}
    interface_start, warm = start_from(start.get("interface"), build.structure)
    film_start, film_warm = start_from(start.get("film_slab"), build.film_slab)
    tags = {
        "system": spec.name,
        "metadata": {"placement": label, "start": "relaxed pure cell" if warm else "rigid"},
    }
    film_tags = {**tags, "metadata": {**tags["metadata"]}}
    film_tags["metadata"]["start"] = "relaxed pure film" if film_warm else "rigid"
    static = CalculationMaker(engine=engine, task=relax.task("static"))
    jobs = {
        "rigid_interface": static.make(
            build.structure, label=f"{name} interface (rigid)", role="interface", **tags
        ),
        "film_static": static.make(
            build.film_slab, label=f"{name} film slab (rigid)", role="film slab", **tags
        ),
        "substrate_static": static.make(
            build.substrate_slab,
            label=f"{name} substrate slab (rigid)",
            role="substrate slab",
            **tags,
        ),
        "relaxed_interface": CalculationMaker(
            engine=engine, task=relax.task("relax_positions", fixed)
        ).make(interface_start, label=f"{name} interface (relaxed)", role="interface", **tags),
        "relaxed_film": CalculationMaker(engine=engine, task=relax.task("relax_positions")).make(
            film_start, label=f"{name} film slab (relaxed)", role="film slab", **film_tags
        ),
        "relaxed_substrate": CalculationMaker(
            engine=engine, task=relax.task("relax_positions", fixed)
        ).make(
            build.substrate_slab,
            label=f"{name} substrate slab (relaxed)",
            role="substrate slab",
            **tags,
        ),
    }
    layers = build.layers()
    first_layer = [i for layer in layers if layer.number == 1 for i in layer.indices]
    planes = build.structure.site_properties["plane"]
    top = max(planes[i] for i in build.substrate_indices)
    substrate_top = [i for i in build.substrate_indices if planes[i] == top]
    document = adhesion_document(
        system=spec.name,
        placement=label,
        record=record.model_dump(mode="json"),
        film_indices=build.film_indices,
        substrate_indices=build.substrate_indices,
        registry=registry,
        separation=separation,
        results={k: j.output for k, j in jobs.items()},
        metal_surface=metal_surface,
        metal_bulk=film_bulk,
        first_layer=first_layer,
        substrate_top=substrate_top,
    )
    document.name = f"{name} adhesion document"
    output = {
        "document": document.output,
        "interface": jobs["relaxed_interface"].output,
        "film_indices": build.film_indices,
        "substrate_indices": build.substrate_indices,
        "film_slab": jobs["relaxed_film"].output,
    }
    return Response(replace=Flow([*jobs.values(), document], output=output, name=name))


@job(config=JobConfig(on_missing_references=OnMissing.NONE))
def adhesion_document(
    *,
    system: str,
    placement: str,
    record: dict[str, Any],
    film_indices: list[int],
    substrate_indices: list[int],
    registry: RigidScan,
    separation: RigidScan,
    results: dict[str, CalculationResult | None],
    metal_surface: SurfaceEnergyDocument | None,
    metal_bulk: CalculationResult | None,
    first_layer: list[int],
    substrate_top: list[int],
) -> AdhesionDocument:
    """Assemble the document; a failed relaxation is reported, a failed static is fatal."""
    missing = [k for k in ("rigid_interface", "film_static", "substrate_static") if not results[k]]
    if missing or registry is None or separation is None:
        msg = f"{system} ({placement}): no ideal W_ad, failed: {missing or 'a scan'}"
        raise RuntimeError(msg)
    return AdhesionDocument.from_results(
        system=system,
        placement=placement,
        record=InterfaceRecord.model_validate(record),
        film_indices=film_indices,
        substrate_indices=substrate_indices,
        registry_scan=registry,
        separation_scan=separation,
        rigid_interface=results["rigid_interface"],
        film_static=results["film_static"],
        substrate_static=results["substrate_static"],
        relaxed_interface=results["relaxed_interface"],
        relaxed_film=results["relaxed_film"],
        relaxed_substrate=results["relaxed_substrate"],
        metal_surface=metal_surface,
        metal_bulk=metal_bulk,
        first_layer=first_layer,
        substrate_top=substrate_top,
    )


# ---------------------------------------------------------------------------------------
# The Maker
# ---------------------------------------------------------------------------------------


@dataclass
class AdhesionMaker(Maker):
    """Work of adhesion and wetting angle of one interface system, every placement.

    Parameters
    ----------
    name
        Flow name.
    engine, relax
        Calculator and relaxation settings (statics, ``relax_positions``).
    system
        A preset name (``Li/Li2S``, ``Li-Mg/Li2S``, ``Li-Ag/Li2S``, ``Li/LiAg``) or an
        :class:`~anodefree.structures.interface_systems.InterfaceSystem`.
    settings
        Lattice-match limits, scans, vacuum, fixed planes, placements.
    check_match
        Run the lattice match on the named phases at once, so that a strain limit no match
        meets fails here (the flow matches again with the relaxed bulks).
    """

    name: str = "adhesion"
    engine: Engine = field(default_factory=_default_engine)
    relax: RelaxSettings = field(default_factory=RelaxSettings)
    system: str | InterfaceSystem = "Li/Li2S"
    settings: AdhesionSettings = field(default_factory=AdhesionSettings)
    check_match: bool = True

    def __post_init__(self) -> None:
        """Resolve the system, check its facets, placements and (optionally) the match."""
        self.spec = get_system(self.system) if isinstance(self.system, str) else self.system
        check_facet(self.spec.film, self.spec.film_miller, allow_reconstructed=False)
        builder = InterfaceBuilder(
            self.spec.film, self.spec.film_miller, self.spec.substrate, self.spec.substrate_miller
        )  # raises for an invalid Miller index or an unknown material on either side
        for side, ob, terminations in (
            ("film", builder.film, builder.film_terminations),
            ("substrate", builder.substrate, builder.substrate_terminations),
        ):  # raises for a facet without a usable (nonpolar, stoichiometric) termination
            select_termination(
                terminations, None, allow_asymmetric=True, allow_reconstructed=False,
                allow_polar=False, what=f"{side} {ob.formula}{ob.miller}",
            )  # fmt: skip
        self.labels = list(self.settings.placements or placement_labels(self.spec))
        for label in self.labels:
            _placement(self.spec, label)
        _scan_mode(self.engine, self.settings.scan_mode)
        if self.check_match:
            candidates = builder.find_matches(self.settings.limits)
            if self.settings.rank >= len(candidates):
                raise StructureError(
                    f"rank {self.settings.rank!r} does not exist: {len(candidates)} "
                    f"candidate(s) for {self.spec.name}"
                )
            units = candidates[self.settings.rank].substrate_units
            if self.settings.n_fixed_substrate_units >= units:
                raise StructureError(
                    f"n_fixed_substrate_units={self.settings.n_fixed_substrate_units!r} leaves "
                    f"nothing to relax: the substrate of {self.spec.name} has {units} repeat "
                    "unit(s)"
                )

    @property
    def _warm_start(self) -> bool:
        return self.settings.share_scan and self.settings.relax_from_pure

    @property
    def metal_facet(self) -> str:
        """The metal facet whose surface energy enters Young-Dupre, e.g. ``Li(100)``."""
        return facet_label(self.spec.film, self.spec.film_miller)

    @property
    def primary(self) -> str:
        """The placement whose results form the top-level hand-off keys."""
        for label in ("pure", "L1"):
            if label in self.labels:
                return label
        return self.labels[0]

    def planned_calculations(self) -> int:
        """Count scans (one each, or one per point in jobs mode) and six per placement."""
        mode = _scan_mode(self.engine, self.settings.scan_mode)
        n_a, n_b = self.settings.registry_grid
        per_scan = (n_a * n_b, len(self.settings.separations)) if mode == "jobs" else (1, 1)
        scanned = {("pure" if self.settings.share_scan else lb) for lb in self.labels}
        alloys = any(lb != "pure" for lb in self.labels)
        start = 2 if self._warm_start and alloys and "pure" not in self.labels else 0
        return len(scanned) * sum(per_scan) + 6 * len(self.labels) + start

    def make(
        self,
        film_bulk: CalculationResult,
        substrate_bulk: CalculationResult,
        metal_surface: SurfaceEnergyDocument | None = None,
    ) -> Flow:
        """Return the flow of every placement of the system.

        Parameters
        ----------
        film_bulk, substrate_bulk
            The relaxed bulk metal and substrate (``CalculationResult`` or references;
            the lattice mismatch and strains are the engine's own).
        metal_surface
            Surface-energy series of :attr:`metal_facet` (document or reference) for the
            wetting angle; None gives W_ad without a wetting angle (warned).

        Raises
        ------
        MixedCalculatorError
            If a given input was computed with another calculator or settings.
        """
        check_same_engine(
            self.engine,
            {
                "film bulk": film_bulk,
                "substrate bulk": substrate_bulk,
                "gamma_metal": metal_surface,
            },
            f"the work of adhesion of {self.spec.name}",
        )
        given = metal_surface is not None and not isinstance(metal_surface, OutputReference)
        if given and metal_surface.facet != self.metal_facet:
            raise StructureError(
                f"the metal surface energy given is for {metal_surface.facet}, but "
                f"{self.spec.name} has {self.metal_facet} facing the substrate"
            )
        system = self.spec.model_dump(mode="json")
        jobs: list[Any] = []
        scans: dict[str, tuple[Any, Any]] = {}
        placements: dict[str, Any] = {}
        pure_start: dict[str, Any] | None = None
        labels = sorted(self.labels, key=lambda lb: lb != "pure")  # pure first
        for label in labels:
            scan_label = "pure" if self.settings.share_scan else label
            if scan_label not in scans:
                reg = registry_scan(
                    system, scan_label, film_bulk, substrate_bulk, self.engine, self.relax,
                    self.settings,
                )  # fmt: skip
                reg.name = f"{self.spec.name} {scan_label} registry scan"
                sep = separation_scan(
                    system, scan_label, film_bulk, substrate_bulk, self.engine, self.relax,
                    self.settings, reg.output,
                )  # fmt: skip
                sep.name = f"{self.spec.name} {scan_label} separation scan"
                jobs += [reg, sep]
                scans[scan_label] = (reg.output, sep.output)
            reg_out, sep_out = scans[scan_label]
            start = None
            if label != "pure" and self._warm_start:
                if pure_start is None:  # no pure placement requested: relax it for the start
                    pure = pure_relaxations(
                        system, film_bulk, substrate_bulk, self.engine, self.relax,
                        self.settings, reg_out, sep_out,
                    )  # fmt: skip
                    pure.name = f"{self.spec.name} pure starting point"
                    jobs.append(pure)
                    pure_start = pure.output
                start = pure_start
            calc = adhesion_calculations(
                system,
                label,
                film_bulk,
                substrate_bulk,
                self.engine,
                self.relax,
                self.settings,
                reg_out,
                sep_out,
                metal_surface,
                start,
            )
            calc.name = f"{self.spec.name} {label} adhesion"
            jobs.append(calc)
            placements[label] = calc.output
            if label == "pure":
                pure_start = {
                    "interface": calc.output["interface"],
                    "film_slab": calc.output["film_slab"],
                }
        primary = placements[self.primary]
        output = {
            key: primary[key]
            for key in ("document", "interface", "film_indices", "substrate_indices")
        }
        output["placements"] = placements
        return Flow(jobs, output=output, name=f"{self.name} {self.spec.name}")


# ---------------------------------------------------------------------------------------
# The campaign stage
# ---------------------------------------------------------------------------------------


class AdhesionStage(MSONModel):
    """Work of adhesion and wetting of the four interface systems.

    Laptop defaults (the 3.5-minute budget with the surfaces stage, CHGNet, two cores): the
    smallest-strain lattice match within 5 % (with CHGNet's lattices 5 Li(100) layers on
    3 Li-S-Li trilayers of Li2S(111): 75 atoms, 70 A^2, -1.5/+2.4 % on Li; 4 Li(110) layers
    on 4 LiAg(110) planes: 136 atoms, 130 A^2, -0.6 %); a 3 x 3 registry grid over the
    film's primitive cell at 2.5 A; eight separations 1.6-6.5 A; the bottom substrate unit
    fixed; solute placements share the registry and separation of the pure interface and
    start from its relaxed cell; relaxations stop at 0.05 eV/A (interface and slabs alike).
    Measured: 184 s CPU on one thread for surfaces + adhesion
    (benchmarks/adhesion_stage.py). :meth:`cluster` scans every placement, uses thicker
    slabs, a finer grid, more separations and the campaign's force criterion.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    systems: tuple[str, ...] = Field(
        tuple(SYSTEMS), description=f"Interface systems: any of {', '.join(SYSTEMS)}."
    )
    max_strain: float = Field(0.05, gt=0, le=0.5, description="Largest |strain| (fraction).")
    max_area: float = Field(150.0, gt=0, description="Largest interface area, A^2.")
    max_atoms: int = Field(250, ge=2, description="Largest interface atom count.")
    film_thickness: float = Field(8.0, gt=0, description="Metal film thickness target, A.")
    substrate_thickness: float = Field(7.0, gt=0, description="Substrate thickness target, A.")
    strain_partition: float = Field(
        0.0, ge=0, le=1, description="Share of the mismatch on the substrate (0: metal)."
    )
    registry_grid: tuple[int, int] = Field((3, 3), description="Registry grid (n_a, n_b).")
    registry_separation: float = Field(
        DEFAULT_SEPARATION, gt=0, description="Separation of the registry scan, A."
    )
    separations: tuple[float, ...] = Field(
        (1.6, 2.0, 2.4, 2.8, 3.3, 4.0, 5.0, 6.5), description="Separation scan, A."
    )
    vacuum: float = Field(15.0, gt=0, description="Vacuum above the film, A.")
    n_fixed_substrate_units: int = Field(
        1, ge=0, description="Bottom substrate repeat units held fixed."
    )
    share_scan: bool = Field(
        default=True,
        description="Solute placements reuse the pure interface's registry and separation.",
    )
    fmax: float | None = Field(
        0.05,
        gt=0,
        description="Force criterion (eV/A) of this stage's relaxations (interface and both "
        "slabs alike); None: the campaign's.",
    )
    metal_surface_units: dict[str, tuple[int, ...]] = Field(
        default_factory=lambda: {"Li(100)": (3, 5, 7, 9, 11), "Li(110)": (3, 5, 7, 9)},
        description="Thickness series for a metal facet the surfaces stage does not provide.",
    )
    scan_mode: ScanMode = Field("auto", description="'direct', 'jobs' or 'auto'.")

    @field_validator("systems")
    @classmethod
    def _systems(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [s for s in value if s not in SYSTEMS]
        if unknown:
            msg = f"unknown interface systems {unknown}; known: {', '.join(SYSTEMS)}"
            raise ValueError(msg)
        return value

    @model_validator(mode="after")
    def _valid_settings(self) -> AdhesionStage:
        self.settings()  # raises for inconsistent scans / vacuum
        return self

    def settings(self) -> AdhesionSettings:
        """Return the per-system settings these stage settings stand for."""
        return AdhesionSettings(
            limits=MatchLimits(
                max_strain=self.max_strain,
                max_area=self.max_area,
                max_atoms=self.max_atoms,
                film_min_thickness=self.film_thickness,
                substrate_min_thickness=self.substrate_thickness,
                strain_partition=self.strain_partition,
            ),
            registry_grid=self.registry_grid,
            registry_separation=self.registry_separation,
            separations=self.separations,
            vacuum=self.vacuum,
            n_fixed_substrate_units=self.n_fixed_substrate_units,
            share_scan=self.share_scan,
            scan_mode=self.scan_mode,
        )

    def relax_settings(self, relax: RelaxSettings) -> RelaxSettings:
        """Return the campaign's relaxation settings with this stage's force criterion."""
        if self.fmax is None:
            return relax
        return relax.model_copy(update={"fmax": self.fmax})

    @classmethod
    def cluster(cls) -> AdhesionStage:
        """Converged sizes for a cluster run: thicker slabs, finer grid, own scans."""
        return cls(
            max_area=200.0,
            max_atoms=400,
            film_thickness=14.0,
            substrate_thickness=12.0,
            registry_grid=(5, 5),
            separations=(1.4, 1.7, 2.0, 2.2, 2.4, 2.6, 2.8, 3.1, 3.5, 4.0, 5.0, 6.5, 8.0),
            vacuum=20.0,
            n_fixed_substrate_units=1,
            share_scan=False,
            fmax=None,
            metal_surface_units={"Li(100)": (5, 7, 9, 11, 13, 15), "Li(110)": (5, 7, 9, 11, 13)},
        )


def build_adhesion_stage(
    section: AdhesionStage,
    engine: Engine,
    relax: RelaxSettings,
    li_bulk: Any,
    li2s_bulk: Any,
    liag_bulk: Any = None,
    metal_surfaces: dict[str, Any] | None = None,
) -> tuple[list[Flow], int]:
    """Build the adhesion stage of a campaign: one flow per interface system.

    Parameters
    ----------
    section
        The stage settings.
    engine, relax
        The campaign's engine and relaxation settings (``section.fmax`` overrides the
        force criterion for this stage).
    li_bulk, li2s_bulk
        Relaxed bcc Li and Li2S (``CalculationResult`` or references, e.g.
        ``bulk.output["results"]["Li"]``).
    liag_bulk
        Relaxed B2 LiAg; relaxed here (``relax_full``, cached) when None and Li/LiAg is
        requested.
    metal_surfaces
        Surface-energy documents by facet label (the surfaces stage's output, e.g.
        ``{"Li(100)": ..., "Li(110)": ...}``); a facet missing here gets its own thickness
        series (``section.metal_surface_units``).

    Returns
    -------
    tuple
        ``([flow], planned calculations)``. The flow's output maps each system name to the
        hand-off dict ``{"document", "interface", "film_indices", "substrate_indices",
        "placements"}`` (see :class:`AdhesionMaker`).
    """
    stage_relax = section.relax_settings(relax)
    settings = section.settings()
    metal_surfaces = dict(metal_surfaces or {})
    jobs: list[Any] = []
    planned = 0
    bulks = {"Li": li_bulk, "Li2S": li2s_bulk, "LiAg": liag_bulk}
    outputs = {}
    for name in section.systems:
        spec = get_system(name)
        for phase in (spec.film, spec.substrate):
            if bulks.get(phase) is None:
                extra = relaxed_bulk_job(phase, engine, relax)
                jobs.append(extra)
                bulks[phase] = extra.output
                planned += 1
        maker = AdhesionMaker(engine=engine, relax=stage_relax, system=spec, settings=settings)
        facet = maker.metal_facet
        if facet not in metal_surfaces:
            if facet not in section.metal_surface_units:
                msg = (
                    f"no surface-energy series for {facet} (needed by {name}): add it to the "
                    "surfaces stage or to adhesion.metal_surface_units"
                )
                raise ConfigError(msg)
            series = SurfaceEnergyMaker(
                engine=engine,
                relax=relax,
                material=spec.film,
                miller=spec.film_miller,
                n_units=section.metal_surface_units[facet],
                free_planes=4,
            )
            flow = series.make(bulks[spec.film])
            jobs.append(flow)
            metal_surfaces[facet] = flow.output
            planned += len(section.metal_surface_units[facet])
        flow = maker.make(bulks[spec.film], bulks[spec.substrate], metal_surfaces[facet])
        jobs.append(flow)
        outputs[name] = flow.output
        planned += maker.planned_calculations()
    return [Flow(jobs, output=outputs, name="adhesion")], planned
