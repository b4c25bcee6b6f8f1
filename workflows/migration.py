"""Migration flows: climbing-image NEB, attempt frequencies and vacancy diffusivities.

Building blocks, each a cached job in the pattern of
:class:`~anodefree.workflows.calculation.CalculationMaker` (look the result up in the store
by its identity; compute only when it is not there):

- :class:`NebMaker`: a climbing-image NEB between two relaxed endpoints. It interpolates
  the band (IDPP or linear, minimum-image convention) and runs atomate2's
  ``ForceFieldNebFromImagesMaker`` (through :class:`EngineNebMaker`, which takes the
  calculator from the engine and uses ASE's ``improvedtangent`` method, never the legacy
  ``aseneb``), then reads atomate2's ``NebResult`` into a :class:`NebCalculation`.
- :class:`NormalModesMaker`: harmonic normal modes of one structure by finite
  displacements through the engine's ASE calculator, with phonopy (every atom,
  symmetry-reduced) or by central differences of a subset of atoms (the rest frozen).
- :class:`MigrationHopMaker`: one hop from any two endpoint structures with the same site
  order: endpoint relaxations (``CalculationMaker``, cached and shared between hops), NEB,
  mode analyses and a :class:`MigrationBarrierDocument`.

The campaign stage (:class:`MigrationStage`, :func:`build_migration_stage`) runs the bulk
hops of bcc Li (self, Mg and Ag exchange, Li next to Mg and Ag) in one supercell and
assembles a :class:`VacancyDiffusionDocument` with the vacancy formation energy of the
bulk vacancy stage and the solute-vacancy binding of the solute-vacancy stage.
"""

from __future__ import annotations

import itertools
import logging
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from ase.calculators.calculator import Calculator, all_changes
from ase.calculators.singlepoint import SinglePointCalculator
from ase.mep.neb import NEB, NEBOptimizer
from ase.optimize import BFGS, FIRE, MDMin
from atomate2.ase.utils import AseNebInterface
from atomate2.forcefields.neb import ForceFieldNebFromImagesMaker
from jobflow import CURRENT_JOB, Flow, Job, Maker, Response, job
from jobflow.core.job import JobConfig
from jobflow.core.reference import OnMissing
from monty.json import MontyDecoder
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pymatgen.core import Structure
from pymatgen.io.ase import AseAtomsAdaptor

from anodefree.analysis.documents.migration import (
    RECONSTRUCTION_TOLERANCE,
    AttemptFrequencyResult,
    AttemptFrequencySettings,
    HopKind,
    MigrationBarrierDocument,
    NebCalculation,
    NebSettings,
    NormalModes,
    VacancyDiffusionDocument,
    band_minima,
    binding_energy_from_document,
    endpoint_mismatch,
    endpoints_collapsed,
    formation_energy_from_documents,
    hop_distance,
)
from anodefree.analysis.energetics import bulk_vacancy_formation_energy, vacancy_formation_energy
from anodefree.errors import ConfigError, EngineError, StructureError
from anodefree.provenance import stable_hash
from anodefree.serialization import MSONModel
from anodefree.structures.defects import bcc_supercell, check_element, substitute
from anodefree.structures.neb import (
    VacancyHop,
    bcc_vacancy_hop,
    solute_exchange_hop,
    solute_neighbour_hop,
)
from anodefree.tasks import RelaxSettings
from anodefree.workflows.calculation import CalculationMaker, _default_engine, structure_key
from anodefree.workflows.engines.base import AseEngine, Engine
from anodefree.workflows.vacancy import cubic_lattice_constant

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ase import Atoms
    from emmet.core.neb import NebResult
    from jobflow import JobStore

    from anodefree.analysis.documents.calculation import CalculationResult
    from anodefree.analysis.documents.vacancy import BulkVacancyDocument, SoluteVacancyDocument
    from anodefree.provenance import CalculatorProvenance
    from anodefree.structures.interface_defects import DefectHost

logger = logging.getLogger(__name__)

#: Prefix of the tags :class:`EngineNebMaker` adds to atomate2's ``NebResult``.
TAG = "anodefree:"
#: Version of the NEB and mode machinery; part of every cache key.
MACHINERY_VERSION = "1"

_OPTIMIZERS: dict[str, type] = {"FIRE": FIRE, "BFGS": BFGS, "MDMin": MDMin, "ODE": NEBOptimizer}


# ---------------------------------------------------------------------------------------
# Counting force calls
# ---------------------------------------------------------------------------------------


class CallLog:
    """Force-call record shared by a calculator and all its (deep) copies."""

    def __init__(self) -> None:
        self.calls = 0
        self.members: list[CountingCalculator] = []

    def __deepcopy__(self, memo: dict) -> CallLog:
        """Share the log between copies."""
        return self


class CountingCalculator(Calculator):
    """Wrap an ASE calculator, count its evaluations and keep the last results.

    Deep copies (atomate2's NEB gives every image a deep copy) share the wrapped
    calculator and the :class:`CallLog`, which lists them in creation order. Sharing the
    wrapped calculator is safe because every evaluation copies its results at once.
    """

    def __init__(self, inner: Calculator, log: CallLog | None = None) -> None:
        super().__init__()
        self.inner = inner
        self.log = log if log is not None else CallLog()
        self.calls = 0
        self.implemented_properties = list(
            getattr(inner, "implemented_properties", ["energy", "forces"])
        )
        self.log.members.append(self)

    def calculate(
        self,
        atoms: Atoms | None = None,
        properties: Sequence[str] | None = None,
        system_changes: Sequence[str] = tuple(all_changes),
    ) -> None:
        """Evaluate the wrapped calculator (energy, forces and whatever else it gives)."""
        super().calculate(atoms, properties, system_changes)
        wanted = [p for p in ("energy", "forces", "stress") if p in self.implemented_properties]
        self.inner.calculate(self.atoms.copy(), wanted, list(all_changes))
        self.results = dict(self.inner.results)
        self.calls += 1
        self.log.calls += 1

    def __deepcopy__(self, memo: dict) -> CountingCalculator:
        """Return a new counter of the same calculator, registered in the same log."""
        return CountingCalculator(self.inner, self.log)


def _find_cached(store: JobStore, key: str, cls: type[BaseModel]) -> Any:
    """Return the stored output of class ``cls`` with ``cache_key`` equal to ``key``."""
    doc = store.query_one(
        {"output.cache_key": key, "output.@class": cls.__name__}, properties=["output"], load=True
    )
    if doc is None:
        return None
    output = doc["output"]
    if isinstance(output, dict):
        output = MontyDecoder().process_decoded(output)
    return output if isinstance(output, cls) else None


def _emit(event: str, label: str, message: str, *args: object, **extra: object) -> None:
    logger.info(message, *args, extra={"anodefree_event": event, "label": label, **extra})


# ---------------------------------------------------------------------------------------
# NEB
# ---------------------------------------------------------------------------------------


def interpolate_band(
    initial: Structure, final: Structure, settings: NebSettings
) -> list[Structure]:
    """Return the initial band: both endpoints and ``settings.n_images`` images between.

    Linear interpolation with the minimum-image convention, then (for ``"idpp"``) ASE's
    image-dependent pair potential (``NEB.interpolate(method="idpp")``).

    Raises
    ------
    StructureError
        If the endpoints differ in species order or lattice.
    """
    check_endpoints(initial, final)
    adaptor = AseAtomsAdaptor()
    start, end = adaptor.get_atoms(initial), adaptor.get_atoms(final)
    images = [start] + [start.copy() for _ in range(settings.n_images)] + [end]
    band = NEB(images, method=settings.method)
    band.interpolate(method=settings.interpolation, mic=True, apply_constraint=False)
    return [adaptor.get_structure(image) for image in images]


def check_endpoints(initial: Structure, final: Structure) -> None:
    """Check that two endpoints hold the same atoms in the same order and cell."""
    if len(initial) != len(final):
        msg = f"NEB endpoints have {len(initial)} and {len(final)} sites"
        raise StructureError(msg)
    a = [s.species_string for s in initial]
    b = [s.species_string for s in final]
    if a != b:
        first = next(i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y)
        msg = f"NEB endpoints differ in species order (site {first}: {a[first]} vs {b[first]})"
        raise StructureError(msg)
    if not np.allclose(initial.lattice.matrix, final.lattice.matrix, atol=1e-4):
        msg = "NEB endpoints have different lattices; relax both at the same fixed cell"
        raise StructureError(msg)


def band_endpoints(
    initial: CalculationResult, final: CalculationResult
) -> tuple[Structure, Structure]:
    """Return the two relaxed endpoints of a band, with their fixed atoms marked.

    Atoms fixed in the endpoint relaxations (``task.fixed_indices``, which must be the same
    in both) get ``selective_dynamics`` False, so that atomate2's NEB (through pymatgen's
    ``AseAtomsAdaptor``) holds them with ``FixAtoms`` in every image; the fixed set is
    then part of the NEB's identity.

    Raises
    ------
    StructureError
        If the endpoints differ in sites, order, lattice or fixed atoms.
    """
    fixed = tuple(initial.task.fixed_indices)
    if tuple(final.task.fixed_indices) != fixed:
        msg = (
            f"NEB endpoints were relaxed with different fixed atoms ({len(fixed)} vs "
            f"{len(final.task.fixed_indices)}); relax both with the same ones"
        )
        raise StructureError(msg)
    structures = []
    for result in (initial, final):
        structure = Structure(
            result.structure.lattice, result.structure.species, result.structure.frac_coords
        )
        if fixed:
            held = set(fixed)
            structure.add_site_property(
                "selective_dynamics", [[i not in held] * 3 for i in range(len(structure))]
            )
        structures.append(structure)
    check_endpoints(*structures)
    return structures[0], structures[1]


def band_coordinate(images: Sequence[Structure]) -> list[float]:
    """Cumulative distance along a band in A (all atoms, minimum image)."""
    distances = [0.0]
    for a, b in itertools.pairwise(images):
        frac = b.frac_coords - a.frac_coords
        frac -= np.round(frac)
        step = a.lattice.get_cartesian_coords(frac)
        distances.append(distances[-1] + float(np.sqrt((step**2).sum())))
    return distances


def neb_key(
    initial: Structure, final: Structure, calculator: CalculatorProvenance, settings: NebSettings
) -> str:
    """Identity of a NEB: both endpoints, the calculator and the NEB settings."""
    return stable_hash(
        {
            "initial": structure_key(initial),
            "final": structure_key(final),
            "calculator": calculator.fingerprint,
            "settings": settings.model_dump(mode="json"),
            "machinery": MACHINERY_VERSION,
        },
        length=24,
    )


def final_neb_force(calculators: Sequence[CountingCalculator], neb_kwargs: dict) -> float | None:
    """Largest NEB force (climbing image included) on the intermediate images, eV/A.

    Rebuilt from the last evaluation of every image (no new force calls).
    """
    images = []
    for calc in calculators:
        if calc.atoms is None or "forces" not in calc.results:
            return None
        atoms = calc.atoms.copy()
        atoms.calc = SinglePointCalculator(
            atoms, energy=calc.results["energy"], forces=calc.results["forces"]
        )
        images.append(atoms)
    forces = NEB(images, **neb_kwargs).get_forces()
    return float(np.sqrt((forces**2).sum(axis=1)).max())


@dataclass
class EngineNebMaker(ForceFieldNebFromImagesMaker):
    """atomate2's ``ForceFieldNebFromImagesMaker`` with the calculator taken from an engine.

    The band is relaxed by atomate2's ``AseNebInterface`` (ASE ``NEB``); this subclass only
    chooses the optimizer, counts force calls with a :class:`CountingCalculator` and
    records, as tags of the ``NebResult``, the force calls, the final largest NEB force
    and the wall time.
    """

    name: str = "engine NEB"
    engine: AseEngine | None = None
    force_field_name: str = "Forcefield"
    optimizer: str = "FIRE"

    def __post_init__(self) -> None:
        """Check the engine and the optimizer."""
        super().__post_init__()
        if self.engine is None:
            raise EngineError("EngineNebMaker needs an engine")
        if self.optimizer not in _OPTIMIZERS:
            msg = (
                f"unknown NEB optimizer {self.optimizer!r}; choose one of {', '.join(_OPTIMIZERS)}"
            )
            raise ConfigError(msg)
        if self.neb_kwargs.get("method", "improvedtangent") == "aseneb":
            msg = "NEB method 'aseneb' is refused; use 'improvedtangent'"
            raise ConfigError(msg)

    def _get_calculator(self) -> Calculator:
        return self.engine.calculator()  # type: ignore[union-attr]

    def run_ase(self, images: list[Structure], prev_dir: str | None = None) -> NebResult:  # noqa: ARG002
        """Relax the band with atomate2's ``AseNebInterface`` and tag the result."""
        log = CallLog()
        counting = CountingCalculator(self.calculator, log)
        interface = AseNebInterface(
            calculator=counting,
            optimizer=_OPTIMIZERS[self.optimizer],
            fix_symmetry=self.fix_symmetry,
            symprec=self.symprec,
        )
        start = time.perf_counter()
        result = interface.run_neb(
            images,
            steps=self.steps,
            traj_file=None,
            neb_doc_kwargs=self.neb_doc_kwargs,
            neb_kwargs=self.neb_kwargs,
            optimizer_kwargs=self.optimizer_kwargs,
            **self.relax_kwargs,
        )
        wall = time.perf_counter() - start
        calculators = log.members[1:]
        max_force = None
        if len(calculators) == len(result.images):
            consistent = all(
                calc.atoms is not None
                and np.allclose(calc.atoms.positions, image.cart_coords, atol=1e-6)
                for calc, image in zip(calculators, result.images, strict=True)
            )
            if consistent:
                max_force = final_neb_force(calculators, self.neb_kwargs)
        evaluations = max((c.calls for c in calculators[1:-1]), default=0)
        result.tags = [
            *(result.tags or []),
            f"{TAG}force_calls={log.calls}",
            f"{TAG}evaluations_per_image={evaluations}",
            f"{TAG}wall_time={wall}",
            *([f"{TAG}max_neb_force={max_force}"] if max_force is not None else []),
        ]
        return result


def _tags(result: NebResult) -> dict[str, float]:
    values = {}
    for tag in result.tags or []:
        if tag.startswith(TAG) and "=" in tag:
            name, value = tag.removeprefix(TAG).split("=", 1)
            values[name] = float(value)
    return values


def refinement_reason(neb: NebCalculation, refine_images: int | None) -> str | None:
    """Why a band should be run again with ``refine_images`` images, or None.

    A band is refined once when it did not converge, or when an interior image lies
    below both neighbours (a metastable intermediate state: with few images the climbing
    image may sit on it or oscillate between two humps); never when its endpoints differ
    beyond the hop (:func:`endpoint_mismatch`), which more images cannot mend.

    Parameters
    ----------
    neb
        The finished band.
    refine_images
        Intermediate images of the refined band; None (or no more than the band has)
        disables refinement.
    """
    n = neb.settings.n_images
    if refine_images is None or refine_images <= n:
        return None
    mismatch = endpoint_mismatch(neb.images[0], neb.images[-1], neb.moving_index)
    if mismatch is not None and mismatch > RECONSTRUCTION_TOLERANCE:
        return None  # more images cannot mend endpoints that are different reconstructions
    problems = []
    if not neb.converged:
        problems.append(f"did not converge ({'; '.join(neb.convergence_messages)})")
    problems += [
        f"had image {k} {1000 * depth:.1f} meV below its neighbours"
        for k, depth in band_minima(neb.energies)
    ]
    if not problems:
        return None
    return (
        f"the {n}-image band (forward {neb.forward_barrier:.4f} eV, reverse "
        f"{neb.reverse_barrier:.4f} eV) {' and '.join(problems)}; run again with "
        f"{refine_images} images from the same endpoints"
    )


@dataclass
class NebMaker(Maker):
    """A climbing-image NEB between two relaxed endpoints, reused when already stored.

    Parameters
    ----------
    name
        Job name.
    engine
        The calculator engine (an ASE-based one: CHGNet, SevenNet, MACE, GPAW, morse).
    settings
        NEB settings (images, interpolation, method, climbing image, springs, fmax).
    reuse
        Look the NEB up in the store first.
    refine_images
        If the band does not converge or has an interior local minimum, run it once more
        from the same endpoints with this many intermediate images (the refined band and
        the reason are stored; the coarse band stays in the store). None disables it.
    """

    name: str = "neb"
    engine: Engine = field(default_factory=_default_engine)
    settings: NebSettings = field(default_factory=NebSettings)
    reuse: bool = True
    refine_images: int | None = 7

    def __post_init__(self) -> None:
        """Refuse engines without an ASE calculator."""
        if not isinstance(self.engine, AseEngine):
            msg = (
                f"NEB needs an engine with an ASE calculator; {self.engine.name!r} runs only "
                "through its own atomate2 Makers"
            )
            raise EngineError(msg)
        if self.refine_images is not None and not 1 <= self.refine_images <= 15:
            msg = f"refine_images must be between 1 and 15 (or null), got {self.refine_images}"
            raise ConfigError(msg)

    def atomate2_maker(self) -> EngineNebMaker:
        """Return the atomate2 NEB Maker with these settings."""
        s = self.settings
        return EngineNebMaker(
            name=f"{self.engine.name} NEB",
            engine=self.engine,
            steps=s.max_steps,
            relax_kwargs={"fmax": s.fmax},
            neb_kwargs={"k": s.spring_constant, "climb": s.climb, "method": s.method},
            optimizer=s.optimizer,
        )

    def refined(self) -> NebMaker:
        """Return the maker of the refined band (more images, no further refinement)."""
        settings = self.settings.model_copy(update={"n_images": self.refine_images})
        return NebMaker(
            name=self.name, engine=self.engine, settings=settings, reuse=self.reuse,
            refine_images=None,
        )  # fmt: skip

    @job(config=JobConfig(expose_store=True))
    def make(
        self,
        initial: CalculationResult,
        final: CalculationResult,
        label: str = "",
        system: str | None = None,
        moving_index: int | None = None,
        metadata: dict[str, Any] | None = None,
        refinement: str | None = None,
    ) -> NebCalculation | Response:
        """Return the stored NEB or replace this job by atomate2's NEB and a reader.

        Parameters
        ----------
        initial, final
            The relaxed endpoints (same sites in the same order).
        label
            Name of the hop.
        system, moving_index, metadata
            Tags copied into the result.
        refinement
            Why this band refines a coarser one (set by the refinement itself).
        """
        start, end = band_endpoints(initial, final)
        provenance = self.engine.provenance()
        key = neb_key(start, end, provenance, self.settings)
        tags = {"label": label, "system": system, "moving_index": moving_index}
        store = CURRENT_JOB.store
        if self.reuse and store is not None:
            cached = _find_cached(store, key, NebCalculation)
            if cached is not None:
                reason = refinement_reason(cached, self.refine_images)
                if reason is not None:
                    _emit("started", f"NEB {label}", "refining NEB %s: %s", label, reason)
                    refine = self.refined().make(
                        initial, final, label, system, moving_index, metadata, reason
                    )
                    refine.name = f"{label}: refined NEB"
                    return Response(replace=refine)
                _emit("reused", f"NEB {label}", "reused NEB %s", label)
                return cached.model_copy(
                    update={
                        "reused": True,
                        "job_uuid": CURRENT_JOB.job.uuid,
                        "metadata": metadata or {},
                        **tags,
                    }
                )
        self.engine.check_available()
        _emit("started", f"NEB {label}", "computing NEB %s", label)
        images = interpolate_band(start, end, self.settings)
        inner = self.atomate2_maker().make(images)
        inner.name = f"{label} [{self.engine.name} NEB]"
        collect = collect_neb(
            inner.output,
            engine=self.engine,
            settings=self.settings,
            cache_key=key,
            source_job_uuid=inner.uuid,
            metadata=metadata or {},
            refinement=refinement,
            refine=self.refined() if self.refine_images is not None else None,
            endpoints=(initial, final),
            **tags,
        )
        collect.name = f"collect NEB {label}"
        return Response(replace=Flow([inner, collect], output=collect.output, name=label))


@job
def collect_neb(
    neb_result: NebResult,
    engine: Engine,
    settings: NebSettings,
    cache_key: str,
    source_job_uuid: str,
    label: str,
    system: str | None,
    moving_index: int | None,
    metadata: dict[str, Any],
    refinement: str | None = None,
    refine: NebMaker | None = None,
    endpoints: tuple[CalculationResult, CalculationResult] | None = None,
) -> NebCalculation | Response:
    """Read atomate2's ``NebResult`` into a :class:`NebCalculation`.

    With ``refine`` (the maker of a band with more images) and the ``endpoints``, a band
    that did not converge or has an interior minimum is stored and then replaced by the
    refined band.
    """
    result = neb_calculation_from_result(
        neb_result,
        calculator=engine.provenance(),
        settings=settings,
        cache_key=cache_key,
        label=label,
        system=system,
        moving_index=moving_index,
        metadata=metadata,
        source_job_uuid=source_job_uuid,
        job_uuid=CURRENT_JOB.job.uuid if CURRENT_JOB.job else None,
        refinement=refinement,
    )
    if refine is None or endpoints is None:
        return result
    reason = refinement_reason(result, refine.settings.n_images)
    if reason is None:
        return result
    _emit("started", f"NEB {label}", "refining NEB %s: %s", label, reason)
    initial, final = endpoints
    refined = refine.make(initial, final, label, system, moving_index, metadata, reason)
    refined.name = f"{label}: refined NEB"
    return Response(output=result, replace=refined)


def neb_calculation_from_result(
    neb_result: NebResult,
    *,
    calculator: CalculatorProvenance,
    settings: NebSettings,
    cache_key: str = "",
    label: str = "",
    system: str | None = None,
    moving_index: int | None = None,
    metadata: dict[str, Any] | None = None,
    source_job_uuid: str | None = None,
    job_uuid: str | None = None,
    refinement: str | None = None,
) -> NebCalculation:
    """Barriers, profile and convergence of an atomate2 ``NebResult``."""
    energies = [float(e) for e in neb_result.energies]
    images = list(neb_result.images)
    climbing = int(np.argmax(energies))
    tags = _tags(neb_result)
    max_force = tags.get("max_neb_force")
    state = str(getattr(neb_result.state, "value", neb_result.state))
    messages = []
    if state != "successful":
        messages.append(f"optimizer stopped before fmax {settings.fmax} eV/A (state {state})")
    if max_force is None:
        messages.append("final NEB forces unavailable")
    elif max_force > settings.fmax * (1 + 1e-6):
        messages.append(f"largest NEB force {max_force:.4f} eV/A above fmax {settings.fmax} eV/A")
    result = NebCalculation(
        label=label,
        system=system,
        calculator=calculator,
        settings=settings,
        moving_index=moving_index,
        images=images,
        energies=energies,
        reaction_coordinate=band_coordinate(images),
        climbing_index=climbing,
        forward_barrier=energies[climbing] - energies[0],
        reverse_barrier=energies[climbing] - energies[-1],
        spline_forward_barrier=neb_result.forward_barrier,
        converged=not messages,
        convergence_messages=messages,
        max_force=max_force,
        n_steps=int(tags["evaluations_per_image"]) if "evaluations_per_image" in tags else None,
        n_force_calls=int(tags["force_calls"]) if "force_calls" in tags else None,
        wall_time=tags.get("wall_time"),
        cache_key=cache_key,
        job_uuid=job_uuid,
        source_job_uuid=source_job_uuid,
        metadata=dict(metadata or {}),
        refinement=refinement,
    )
    event = "computed" if result.converged else "unconverged"
    _emit(
        event,
        f"NEB {label}",
        "%s NEB %s: forward %.4f eV, reverse %.4f eV%s",
        event,
        label,
        result.forward_barrier,
        result.reverse_barrier,
        "" if result.converged else f" (NOT CONVERGED: {'; '.join(messages)})",
        wall_time=result.wall_time,
    )
    return result


# ---------------------------------------------------------------------------------------
# Normal modes and attempt frequencies
# ---------------------------------------------------------------------------------------


def _forces(atoms: Atoms, calculator: Calculator) -> np.ndarray:
    atoms = atoms.copy()
    atoms.calc = calculator
    return np.array(atoms.get_forces())


def phonopy_modes(
    structure: Structure,
    calculator: Calculator,
    displacement: float,
    symprec: float,
    tangent: np.ndarray | None = None,
    *,
    central_differences: bool = True,
) -> dict[str, Any]:
    """Gamma-point modes of the whole periodic cell by phonopy finite displacements.

    The cell is its own phonopy supercell and primitive cell, so the force constants are
    the Hessian of the periodic cell. The forces of the undisplaced cell are subtracted
    from every displaced set (the saddle is a stationary point only to the NEB's fmax),
    force constants are symmetrised (translational invariance) and the three uniform
    translations projected out.

    Returns
    -------
    dict
        ``frequencies`` (THz), ``hessian`` (3N x 3N, eV/A^2), ``space_group``,
        ``n_displacements``, ``n_force_calls``, ``residual_force`` (eV/A) and, given a
        path ``tangent`` (N x 3, A), ``reaction_mode`` and ``reaction_overlap``.
    """
    from phonopy import Phonopy
    from phonopy.structure.atoms import PhonopyAtoms

    symbols = [site.specie.symbol for site in structure]
    unitcell = PhonopyAtoms(
        symbols=symbols, cell=structure.lattice.matrix, scaled_positions=structure.frac_coords
    )
    phonon = Phonopy(
        unitcell,
        supercell_matrix=np.eye(3, dtype=int),
        primitive_matrix=None,
        symprec=symprec,
        log_level=0,
    )
    phonon.generate_displacements(
        distance=displacement, is_plusminus=True if central_differences else "auto"
    )
    adaptor = AseAtomsAdaptor()
    reference = adaptor.get_atoms(structure)
    residual = _forces(reference, calculator)
    sets = []
    for cell in phonon.supercells_with_displacements:
        atoms = reference.copy()
        atoms.set_positions(cell.positions)
        sets.append(_forces(atoms, calculator) - residual)
    phonon.forces = np.array(sets)
    phonon.produce_force_constants(show_drift=False)
    phonon.symmetrize_force_constants()
    n = len(structure)
    fc = np.asarray(phonon.force_constants)
    hessian = fc.transpose(0, 2, 1, 3).reshape(3 * n, 3 * n)
    masses = [site.specie.atomic_mass for site in structure]
    return {
        **_modes(hessian, masses, tangent, project_translations=True),
        "hessian": hessian,
        "space_group": phonon.symmetry.get_international_table(),
        "n_displacements": len(sets),
        "n_force_calls": len(sets) + 1,
        "residual_force": float(np.linalg.norm(residual, axis=1).max()),
    }


def _modes(
    hessian: np.ndarray,
    masses: Sequence[float],
    tangent: np.ndarray | None,
    *,
    project_translations: bool,
) -> dict[str, Any]:
    """Frequencies of a Hessian and, given a path tangent, the reaction mode."""
    from anodefree.analysis.diffusion import harmonic_modes, reaction_mode

    frequencies, vectors = harmonic_modes(
        hessian, masses, project_translations=project_translations
    )
    result: dict[str, Any] = {"frequencies": frequencies}
    if tangent is not None:
        index, overlap = reaction_mode(vectors, tangent, masses)
        result |= {"reaction_mode": index, "reaction_overlap": overlap}
    return result


def local_modes(
    structure: Structure,
    calculator: Calculator,
    moving: Sequence[int],
    displacement: float,
    tangent: np.ndarray | None = None,
) -> dict[str, Any]:
    """Modes of a subset of atoms by central differences, every other atom frozen.

    Returns
    -------
    dict
        ``frequencies`` (THz), ``hessian`` (3M x 3M, eV/A^2), ``n_displacements``,
        ``n_force_calls``, ``residual_force`` (eV/A) and, given a path ``tangent`` of the
        moving atoms (M x 3, A), ``reaction_mode`` and ``reaction_overlap``.
    """
    moving = list(moving)
    atoms = AseAtomsAdaptor().get_atoms(structure)
    residual = _forces(atoms, calculator)[moving]
    m = len(moving)
    hessian = np.zeros((3 * m, 3 * m))
    calls = 1
    for column, (atom, axis) in enumerate((a, x) for a in moving for x in range(3)):
        pair = []
        for sign in (1.0, -1.0):
            displaced = atoms.copy()
            displaced.positions[atom, axis] += sign * displacement
            pair.append(_forces(displaced, calculator)[moving].reshape(-1))
            calls += 1
        hessian[:, column] = -(pair[0] - pair[1]) / (2 * displacement)
    hessian = 0.5 * (hessian + hessian.T)
    masses = [structure[i].specie.atomic_mass for i in moving]
    return {
        **_modes(hessian, masses, tangent, project_translations=False),
        "hessian": hessian,
        "space_group": None,
        "n_displacements": calls - 1,
        "n_force_calls": calls,
        "residual_force": float(np.linalg.norm(residual, axis=1).max()),
    }


def atoms_near_hopper(structures: Sequence[Structure], hopper: int, cutoff: float) -> list[int]:
    """Return the hopping atom and every atom within ``cutoff`` (A) of it in any structure."""
    selected = {hopper}
    for structure in structures:
        distances = structure.distance_matrix[hopper]
        selected |= {int(i) for i in np.flatnonzero(distances <= cutoff)}
    return sorted(selected)


def modes_key(
    structure: Structure,
    moving: Sequence[int] | None,
    calculator: CalculatorProvenance,
    settings: AttemptFrequencySettings,
    tangent: Sequence[Sequence[float]] | None = None,
) -> str:
    """Identity of a mode analysis: structure, moving atoms, calculator, displacements."""
    return stable_hash(
        {
            "structure": structure_key(structure),
            "tangent": None if tangent is None else np.round(tangent, 4).tolist(),
            "moving": None if moving is None else list(moving),
            "calculator": calculator.fingerprint,
            "displacement": settings.displacement,
            "symprec": settings.symprec if moving is None else None,
            "central": settings.central_differences if moving is None else None,
            "machinery": MACHINERY_VERSION,
        },
        length=24,
    )


@dataclass
class NormalModesMaker(Maker):
    """Harmonic normal modes of one structure, reused when already stored.

    Parameters
    ----------
    name
        Job name.
    engine
        The calculator engine (an ASE-based one).
    settings
        Displacement amplitude and phonopy symmetry tolerance.
    reuse
        Look the analysis up in the store first.
    """

    name: str = "normal modes"
    engine: Engine = field(default_factory=_default_engine)
    settings: AttemptFrequencySettings = field(default_factory=AttemptFrequencySettings)
    reuse: bool = True

    @job(config=JobConfig(expose_store=True))
    def make(
        self,
        structure: Structure,
        moving_atoms: list[int] | None = None,
        hopper: int | None = None,
        label: str = "",
        tangent: list[list[float]] | None = None,
    ) -> NormalModes:
        """Compute (or reuse) the modes; ``moving_atoms=None`` means every atom (phonopy).

        Parameters
        ----------
        structure
            The minimum or saddle structure.
        moving_atoms
            Atoms displaced; ``None`` for the whole periodic cell.
        hopper
            Index of the hopping atom (its 3x3 force-constant block is kept).
        label
            Name shown in progress and reports.
        tangent
            Path tangent at a saddle (every atom, N x 3, A): identifies the reaction mode.
        """
        provenance = self.engine.provenance()
        key = modes_key(structure, moving_atoms, provenance, self.settings, tangent)
        store = CURRENT_JOB.store
        uuid = CURRENT_JOB.job.uuid if CURRENT_JOB.job else None
        if self.reuse and store is not None:
            cached = _find_cached(store, key, NormalModes)
            if cached is not None:
                _emit("reused", f"modes {label}", "reused modes %s", label)
                return cached.model_copy(update={"reused": True, "job_uuid": uuid, "label": label})
        _emit("started", f"modes {label}", "computing modes %s", label)
        modes = compute_normal_modes(
            structure,
            self.engine,
            self.settings,
            moving_atoms=moving_atoms,
            hopper=hopper,
            label=label,
            tangent=tangent,
        )
        modes = modes.model_copy(update={"cache_key": key, "job_uuid": uuid})
        _emit(
            "computed",
            f"modes {label}",
            "computed modes %s: %d force calls",
            label,
            modes.n_force_calls,
            wall_time=modes.wall_time,
        )
        return modes


def compute_normal_modes(
    structure: Structure,
    engine: Engine,
    settings: AttemptFrequencySettings,
    *,
    moving_atoms: Sequence[int] | None = None,
    hopper: int | None = None,
    label: str = "",
    tangent: Sequence[Sequence[float]] | None = None,
) -> NormalModes:
    """Compute the normal modes of ``structure`` with the engine's ASE calculator.

    ``tangent`` (every atom, N x 3, A) is the path tangent at a saddle; the mode most
    parallel to it is recorded as the reaction mode.
    """
    if hopper is not None and not 0 <= hopper < len(structure):
        msg = f"hopping atom {hopper} outside a structure of {len(structure)} sites"
        raise StructureError(msg)
    if moving_atoms is not None:
        bad = [i for i in moving_atoms if not 0 <= i < len(structure)]
        if bad or not moving_atoms:
            msg = f"moving atoms {list(moving_atoms)} invalid for {len(structure)} sites"
            raise StructureError(msg)
    calculator = engine.calculator()
    start = time.perf_counter()
    path = None if tangent is None else np.asarray(tangent, dtype=float)
    if path is not None and path.shape != (len(structure), 3):
        msg = f"tangent of shape {path.shape} for {len(structure)} sites (need N x 3)"
        raise StructureError(msg)
    if moving_atoms is None:
        data = phonopy_modes(
            structure,
            calculator,
            settings.displacement,
            settings.symprec,
            tangent=path,
            central_differences=settings.central_differences,
        )
        moving = list(range(len(structure)))
        zero_modes = 3
    else:
        moving = sorted(moving_atoms)
        local_tangent = None if path is None else path[moving]
        data = local_modes(
            structure, calculator, moving, settings.displacement, tangent=local_tangent
        )
        zero_modes = 0
    block = None
    if hopper is not None and hopper in moving:
        k = moving.index(hopper)
        block = data["hessian"][3 * k : 3 * k + 3, 3 * k : 3 * k + 3].tolist()
    return NormalModes(
        label=label,
        calculator=engine.provenance(),
        method="phonopy" if moving_atoms is None else "local",
        displacement=settings.displacement,
        moving_atoms=moving,
        frequencies=[float(f) for f in data["frequencies"]],
        reaction_mode=data.get("reaction_mode"),
        reaction_overlap=data.get("reaction_overlap"),
        zero_modes=zero_modes,
        hopper=hopper,
        hopper_force_constants=block,
        hopper_mass=float(structure[hopper].specie.atomic_mass) if hopper is not None else None,
        space_group=data["space_group"],
        n_displacements=data["n_displacements"],
        n_force_calls=data["n_force_calls"],
        residual_force=data["residual_force"],
        wall_time=time.perf_counter() - start,
        cache_key="",
    )


# ---------------------------------------------------------------------------------------
# One hop
# ---------------------------------------------------------------------------------------


class HopDescription(MSONModel):
    """What a hop is: names, kind, species and the reference it is compared with."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    hop: str = Field(description="Name of the hop.")
    system: str = Field(description="System, e.g. 'Li' or 'Li-Mg'.")
    kind: HopKind = Field(description="Hop kind (see MigrationBarrierDocument.kind).")
    moving_index: int = Field(ge=0, description="Index of the hopping atom.")
    moving_species: str = Field(description="Element of the hopping atom.")
    jump_length: float = Field(gt=0, description="Unrelaxed jump length in A.")
    symmetric: bool = Field(description="Whether the endpoints are symmetry-equivalent.")
    solute: str | None = Field(None, description="Solute element of the cell.")
    reference_key: str | None = Field(None, description="Key in PBE_REFERENCE.")
    compute_frequencies: bool = Field(default=True, description="Run the mode analyses.")
    metadata: dict[str, Any] = Field(default_factory=dict, description="Tags.")


def describe_hop(
    hop: VacancyHop,
    *,
    kind: HopKind,
    system: str,
    solute: str | None = None,
    reference_key: str | None = None,
    compute_frequencies: bool = True,
) -> HopDescription:
    """Describe a :class:`~anodefree.structures.neb.VacancyHop` for :class:`MigrationHopMaker`."""
    return HopDescription(
        hop=hop.name,
        system=system,
        kind=kind,
        moving_index=hop.moving_index,
        moving_species=hop.moving_species,
        jump_length=hop.jump_length,
        symmetric=hop.symmetric,
        solute=solute,
        reference_key=reference_key,
        compute_frequencies=compute_frequencies,
        metadata=hop.metadata,
    )


@dataclass
class MigrationHopMaker(Maker):
    """One vacancy hop from two unrelaxed endpoints with the same site order.

    Relaxes both endpoints at fixed cell (``CalculationMaker``, cached: an endpoint
    shared by two hops is relaxed once), runs the cached NEB and, when ``frequencies`` is
    set, the mode analyses, and assembles a :class:`MigrationBarrierDocument`.

    Parameters
    ----------
    engine
        The calculator engine (ASE-based).
    relax
        Relaxation settings of the endpoints.
    neb
        NEB settings.
    frequencies
        Attempt-frequency settings, or ``None`` to skip the mode analyses.
    refine_images
        Images of the refined band (see :class:`NebMaker`); None disables refinement.
    """

    name: str = "migration hop"
    engine: Engine = field(default_factory=_default_engine)
    relax: RelaxSettings = field(default_factory=RelaxSettings)
    neb: NebSettings = field(default_factory=NebSettings)
    frequencies: AttemptFrequencySettings | None = field(default_factory=AttemptFrequencySettings)
    refine_images: int | None = 7

    def neb_maker(self) -> NebMaker:
        """Return the NEB maker of every hop."""
        return NebMaker(engine=self.engine, settings=self.neb, refine_images=self.refine_images)

    def __post_init__(self) -> None:
        """Check that the engine can run an NEB."""
        self.neb_maker()

    def make(self, initial: Structure, final: Structure, description: HopDescription) -> Flow:
        """Return the flow of one hop; its output is the :class:`MigrationBarrierDocument`.

        Parameters
        ----------
        initial, final
            Unrelaxed endpoints; site ``description.moving_index`` is the hopping atom.
        description
            Names, kind, species and reference of the hop.
        """
        flow, _, _ = self.make_with_endpoints(initial, final, description)
        return flow

    def make_with_endpoints(
        self,
        initial: Structure,
        final: Structure,
        description: HopDescription,
        fixed_indices: Sequence[int] = (),
    ) -> tuple[Flow, Any, Any]:
        """Like :meth:`make`, also returning the two endpoint relaxation jobs.

        ``fixed_indices`` are held at their positions in both endpoints and in the band.
        """
        start, end = self._endpoints(initial, final, description, fixed_indices)
        band = self.make_band(start.output, end.output, description)
        flow = Flow([start, end, band], output=band.output, name=description.hop)
        return flow, start, end

    def _endpoints(
        self,
        initial: Structure,
        final: Structure,
        description: HopDescription,
        fixed_indices: Sequence[int],
    ) -> tuple[Job, Job]:
        """Return the two endpoint relaxation jobs (cached ``CalculationMaker`` jobs)."""
        check_endpoints(initial, final)
        if description.moving_index >= len(initial):
            msg = f"moving_index {description.moving_index} outside {len(initial)} sites"
            raise StructureError(msg)
        if description.moving_index in set(fixed_indices):
            msg = f"the hopping atom {description.moving_index} is among the fixed atoms"
            raise StructureError(msg)
        task = self.relax.task("relax_positions", tuple(int(i) for i in fixed_indices))
        relax = CalculationMaker(engine=self.engine, task=task)
        tags = {"hop": description.hop, "moving_index": description.moving_index}
        start = relax.make(
            initial,
            label=f"{description.hop}: initial endpoint",
            system=description.system,
            role="NEB endpoint",
            metadata={**tags, "endpoint": "initial"},
        )
        end = relax.make(
            final,
            label=f"{description.hop}: final endpoint",
            system=description.system,
            role="NEB endpoint",
            metadata={**tags, "endpoint": "final"},
        )
        return start, end

    def make_band(self, initial: Any, final: Any, description: HopDescription) -> Flow:
        """Return the NEB and analysis of relaxed endpoints (results or references)."""
        neb = self.neb_maker().make(
            initial,
            final,
            label=description.hop,
            system=description.system,
            moving_index=description.moving_index,
            metadata=description.metadata,
        )
        neb.name = f"{description.hop}: NEB"
        analysis = hop_analysis(
            initial, final, neb.output, self.engine, self.frequencies, description
        )
        analysis.name = f"{description.hop}: analysis"
        return Flow([neb, analysis], output=analysis.output, name=f"{description.hop}: band")

    def make_with_alternatives(
        self, candidates: Sequence[HopCandidate], rejected: Sequence[dict] = ()
    ) -> Flow:
        """Relax the first candidate's endpoints; if they fail the check, try the next.

        The check (:func:`candidate_gate`) passes when the relaxed endpoints are two
        distinct minima of the same structure.

        Parameters
        ----------
        candidates
            The site pairs of one hop in the order to try (at least one).
        rejected
            Records of the pairs already rejected (kept in the document's metadata).
        """
        if not candidates:
            raise ConfigError("a hop needs at least one candidate")
        first = candidates[0]
        description = first.description
        if rejected:
            metadata = {**description.metadata, "rejected_candidates": list(rejected)}
            description = description.model_copy(update={"metadata": metadata})
        start, end = self._endpoints(first.initial, first.final, description, first.fixed_indices)
        gate = candidate_gate(
            start.output, end.output, self, description, list(candidates[1:]), list(rejected)
        )
        gate.name = f"{description.hop}: endpoint check"
        return Flow([start, end, gate], output=gate.output, name=description.hop)

    def make_hop(self, hop: VacancyHop, description: HopDescription) -> Flow:
        """Return the flow of a :class:`~anodefree.structures.neb.VacancyHop`."""
        flow, _, _ = self.make_with_endpoints(
            hop.initial, hop.final, description, fixed_indices=hop.fixed_indices
        )
        return flow


class HopCandidate(BaseModel):
    """One site pair of a hop: unrelaxed endpoints, fixed atoms and description."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    initial: Structure = Field(description="Unrelaxed initial endpoint.")
    final: Structure = Field(description="Unrelaxed final endpoint (same site order).")
    fixed_indices: tuple[int, ...] = Field((), description="Atoms held in place.")
    description: HopDescription = Field(description="The hop's description.")

    @classmethod
    def from_hop(cls, hop: VacancyHop, description: HopDescription) -> HopCandidate:
        """Wrap a :class:`~anodefree.structures.neb.VacancyHop`."""
        return cls(
            initial=hop.initial,
            final=hop.final,
            fixed_indices=tuple(hop.fixed_indices),
            description=description,
        )


def endpoint_problem(
    initial: Structure, final: Structure, moving_index: int, jump_length: float
) -> tuple[str | None, dict[str, float | None]]:
    """Why two relaxed endpoints cannot bound a hop (None when they can), with the numbers.

    They cannot when the hopping atom ends less than half a jump apart in the two
    (one endpoint relaxed into the other) or when an atom that does not hop differs by
    more than ``RECONSTRUCTION_TOLERANCE`` (the two are different reconstructions).
    """
    moved = hop_distance(initial, final, moving_index)
    mismatch = endpoint_mismatch(initial, final, moving_index)
    numbers = {"hop_distance": moved, "endpoint_mismatch": mismatch}
    if endpoints_collapsed(moved, jump_length):
        return (
            f"the endpoints relaxed into one state (hopping atom {moved:.2f} A apart, "
            f"jump {jump_length:.2f} A)"
        ), numbers
    if mismatch is not None and mismatch > RECONSTRUCTION_TOLERANCE:
        return (
            f"the endpoints are two reconstructions (an atom that does not hop differs by "
            f"{mismatch:.2f} A)"
        ), numbers
    return None, numbers


@job
def candidate_gate(
    initial: CalculationResult,
    final: CalculationResult,
    maker: MigrationHopMaker,
    description: HopDescription,
    alternatives: list[HopCandidate],
    rejected: list[dict],
) -> Response:
    """Run the band of two relaxed endpoints, or try the next site pair of the hop.

    When the endpoints are not two distinct minima of one structure
    (:func:`endpoint_problem`) and another candidate is left, this job is replaced by that
    candidate's flow (its endpoints, and this check again); the rejected pair is recorded
    in the document's ``metadata["rejected_candidates"]``. Otherwise (also when no
    candidate is left: the document then flags the band) it is replaced by the NEB and
    the analysis.
    """
    reason, numbers = endpoint_problem(
        initial.structure, final.structure, description.moving_index, description.jump_length
    )
    if reason is not None and alternatives:
        record = {
            "vacancy_site": description.metadata.get("vacancy_site"),
            "hop_site": description.metadata.get("hop_site"),
            "candidate": description.metadata.get("candidate"),
            "reason": reason,
            **numbers,
        }
        _emit(
            "started",
            description.hop,
            "%s: site pair %s rejected (%s); trying the next one",
            description.hop,
            (record["vacancy_site"], record["hop_site"]),
            reason,
        )
        return Response(replace=maker.make_with_alternatives(alternatives, [*rejected, record]))
    return Response(replace=maker.make_band(initial, final, description))


def saddle_tangent(neb: NebCalculation) -> list[list[float]]:
    """Path tangent at the climbing image: central difference of its neighbours, A."""
    i = min(max(neb.climbing_index, 1), len(neb.images) - 2)
    before, after = neb.images[i - 1], neb.images[i + 1]
    frac = after.frac_coords - before.frac_coords
    frac -= np.round(frac)
    return before.lattice.get_cartesian_coords(frac).tolist()


def _jump_direction(initial: Structure, final: Structure, index: int) -> list[float]:
    frac = final[index].frac_coords - initial[index].frac_coords
    frac -= np.round(frac)
    return initial.lattice.get_cartesian_coords(frac).tolist()


@job
def hop_analysis(
    initial: CalculationResult,
    final: CalculationResult,
    neb: NebCalculation,
    engine: Engine,
    frequencies: AttemptFrequencySettings | None,
    description: HopDescription,
) -> Response:
    """Add the mode analyses the hop needs and the document job."""
    jobs = []
    outputs: dict[str, Any] = {"minimum": None, "saddle": None, "final": None}
    if frequencies is not None and description.compute_frequencies:
        hopper = description.moving_index
        structures = [initial.structure, neb.saddle, final.structure]
        moving: list[int] | None
        if frequencies.method == "vineyard":
            moving = None
        elif frequencies.method == "einstein":
            moving = [hopper]
        else:
            moving = atoms_near_hopper(structures, hopper, frequencies.cutoff)
        maker = NormalModesMaker(engine=engine, settings=frequencies)
        roles = [("minimum", initial.structure, "initial minimum", None)]
        if frequencies.method != "einstein":
            roles.append(("saddle", neb.saddle, "saddle", saddle_tangent(neb)))
        if not description.symmetric:
            roles.append(("final", final.structure, "final minimum", None))
        for role, structure, name, tangent in roles:
            modes = maker.make(
                structure, moving, hopper, label=f"{description.hop}: {name}", tangent=tangent
            )
            modes.name = f"{description.hop}: modes at the {name}"
            jobs.append(modes)
            outputs[role] = modes.output
    document = migration_barrier_document(
        initial,
        final,
        neb,
        outputs["minimum"],
        outputs["saddle"],
        outputs["final"],
        frequencies.method if frequencies is not None else None,
        _jump_direction(initial.structure, final.structure, description.moving_index),
        description,
    )
    document.name = f"{description.hop}: barrier document"
    return Response(replace=Flow([*jobs, document], output=document.output))


@job(config=JobConfig(on_missing_references=OnMissing.NONE))
def migration_barrier_document(
    initial: CalculationResult,
    final: CalculationResult,
    neb: NebCalculation,
    minimum: NormalModes | None,
    saddle: NormalModes | None,
    final_minimum: NormalModes | None,
    method: str | None,
    jump_direction: list[float],
    description: HopDescription,
) -> MigrationBarrierDocument:
    """Assemble the hop document; failed mode analyses become warnings."""
    forward = reverse = None
    missing = []
    if method is not None and description.compute_frequencies:
        if minimum is None or (method != "einstein" and saddle is None):
            missing.append("forward mode analysis failed")
        else:
            forward = AttemptFrequencyResult.from_modes(
                f"{description.hop} (forward)", method, minimum, saddle, jump_direction
            )
        if not description.symmetric:
            if final_minimum is None or (method != "einstein" and saddle is None):
                missing.append("reverse mode analysis failed")
            else:
                reverse = AttemptFrequencyResult.from_modes(
                    f"{description.hop} (reverse)",
                    method,
                    final_minimum,
                    saddle,
                    [-x for x in jump_direction],
                )
    document = MigrationBarrierDocument.from_results(
        hop=description.hop,
        system=description.system,
        kind=description.kind,
        moving_species=description.moving_species,
        jump_length=description.jump_length,
        symmetric=description.symmetric,
        initial=initial,
        final=final,
        neb=neb,
        forward=forward,
        reverse=reverse,
        solute=description.solute,
        reference_key=description.reference_key,
        metadata=description.metadata,
    )
    document.warnings += missing
    return document


# ---------------------------------------------------------------------------------------
# The campaign stage
# ---------------------------------------------------------------------------------------


class MigrationStage(MSONModel):
    """Vacancy hops in bcc Li, attempt frequencies and vacancy diffusivities.

    The defaults fit a laptop campaign with CHGNet: a 3x3x3 supercell (54 sites; a
    vacancy sees its periodic image at 10.3 A) with 3 intermediate images (the middle
    image of a symmetric hop sits on its symmetric stationary point, which is the saddle
    unless the path has two humps; a band that does not converge or shows an interior
    minimum is run again with 7 images, see ``neb_refine_images``), NEB forces to
    0.01 eV/A, all-atom Vineyard prefactors for the host and solute-exchange jumps
    (phonopy, symmetry-reduced: about 50 force calls for the Li hop, about 100 per solute)
    and the pure-Li prefactor for the jumps of Li next to a solute.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    repetitions: int = Field(
        3, ge=3, le=6, description="n of the n x n x n conventional bcc supercell (2 n^3 sites)."
    )
    solutes: tuple[str, ...] = Field(("Mg", "Ag"), description="Solutes whose hops are computed.")
    dissociation_shell: int | None = Field(
        2,
        description="Shell of the solute the vacancy moves to in the 'Li hop next to the "
        "solute' (2, 3 or 5 in bcc); null skips these hops.",
    )
    neb: NebSettings = Field(default_factory=NebSettings, description="NEB settings.")
    neb_refine_images: int | None = Field(
        7,
        ge=1,
        le=15,
        description="A band that does not converge or has an interior minimum (a metastable "
        "intermediate state, e.g. Ag between two vacant sites with CHGNet) is run once more "
        "with this many images; null disables it.",
    )
    attempt_frequency: AttemptFrequencySettings | None = Field(
        default_factory=AttemptFrequencySettings,
        description="Attempt-frequency settings; null skips the mode analyses (then no "
        "diffusivities are computed).",
    )
    attempt_frequency_kinds: tuple[
        Literal["self", "exchange", "dissociation", "interface"], ...
    ] = Field(
        ("self", "exchange"),
        description="Hop kinds that get their own mode analyses; the others use the pure-Li "
        "attempt frequency.",
    )
    interface_systems: tuple[str, ...] = Field(
        (),
        description="Interface systems (presets of anodefree.structures.interface_systems, "
        "e.g. 'Li/Li2S', 'Li-Mg/Li2S') whose layer-to-layer vacancy hops are computed; "
        "empty by default: a 119-atom interface NEB with CHGNet takes several minutes.",
    )
    interface_hops: tuple[tuple[int, int], ...] = Field(
        ((1, 2), (2, 3)),
        description="(from layer, to layer) of the vacancy, 1 = L1 touching the electrolyte.",
    )
    interface_placement: str = Field(
        "L1",
        description="Layer of the solute in alloy systems ('L1', 'L2', ... or 'interior'); "
        "the vacancy starts next to the solute.",
    )
    interface_neb: NebSettings = Field(
        default_factory=lambda: NebSettings(optimizer="FIRE"),
        description="NEB settings of the interface hops. FIRE by default: on the 99-atom "
        "Li/Li2S cell with CHGNet, BFGS's quasi-Newton steps carried the L2 -> L3 band out "
        "of the hop (images 3-4 A away, 1.2 eV, max force 0.53 eV/A after 500 steps), FIRE "
        "converged the same band in 96 steps.",
    )
    interface_candidates: int = Field(
        6,
        ge=1,
        le=24,
        description="Site pairs tried per interface hop: when the relaxed endpoints of one "
        "are a single state (the vacancy is no minimum there and a neighbour fills it) or "
        "two reconstructions, the next pair (same vacancy, next partner; then the next "
        "vacancy site) is tried; the rejected pairs are listed in the document.",
    )
    interface_radius: float | None = Field(
        6.0,
        description="Interface hops: atoms within this distance (A) of the vacant site or of "
        "the hopping atom relax in both endpoints and in the band, the rest keeps the relaxed "
        "host's positions; null frees every atom the host does not fix.",
    )
    temperature_range: tuple[float, float] = Field(
        (250.0, 450.0), description="Temperature range of the Arrhenius plot in K."
    )
    n_temperatures: int = Field(21, ge=2, le=500, description="Points of the Arrhenius grid.")
    report_temperatures: tuple[float, ...] = Field(
        (25.0, 60.0), description="Temperatures (degrees C) reported in the tables."
    )
    diffusion_time: float = Field(
        3600.0, gt=0, description="Time t in s of the diffusion lengths sqrt(4 D t)."
    )

    @field_validator("solutes")
    @classmethod
    def _elements(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for symbol in value:
            check_element(symbol)
            if symbol == "Li":
                msg = "Li is the host, not a solute"
                raise ValueError(msg)
        return value

    @field_validator("interface_systems")
    @classmethod
    def _systems(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        from anodefree.structures.interface_systems import get_system

        for name in value:
            try:
                get_system(name)
            except StructureError as exc:
                raise ValueError(str(exc)) from exc
        return value

    @field_validator("interface_hops")
    @classmethod
    def _layer_pairs(cls, value: tuple[tuple[int, int], ...]) -> tuple[tuple[int, int], ...]:
        for start, end in value:
            if start < 1 or end < 1 or abs(start - end) != 1:
                msg = f"interface hops go between adjacent layers >= 1, got ({start}, {end})"
                raise ValueError(msg)
        return value

    @field_validator("interface_placement")
    @classmethod
    def _placement(cls, value: str) -> str:
        layer = value[1:]
        if value != "interior" and not (value[:1] == "L" and layer.isdigit() and int(layer) > 0):
            msg = f"interface_placement must be 'L1', 'L2', ... or 'interior', got {value!r}"
            raise ValueError(msg)
        return value

    @field_validator("interface_radius")
    @classmethod
    def _radius(cls, value: float | None) -> float | None:
        if value is not None and not value > 0:
            msg = f"interface_radius must be positive (A) or null, got {value!r}"
            raise ValueError(msg)
        return value

    @field_validator("dissociation_shell")
    @classmethod
    def _shell(cls, value: int | None) -> int | None:
        if value is not None and value not in (2, 3, 5):
            msg = f"a first-shell vacancy reaches shells 2, 3 or 5 in one jump, not {value}"
            raise ValueError(msg)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> MigrationStage:
        low, high = self.temperature_range
        if not 0 < low < high:
            msg = f"temperature_range must be 0 < low < high (K), got {self.temperature_range}"
            raise ValueError(msg)
        if any(c <= -273.15 for c in self.report_temperatures):
            msg = f"report temperatures must be above absolute zero: {self.report_temperatures} C"
            raise ValueError(msg)
        if self.dissociation_shell is not None:
            height = self.repetitions  # supercell height in units of a
            reach = {2: 1.0, 3: 2**0.5, 5: 3**0.5}[self.dissociation_shell]
            if reach >= height / 2:
                msg = (
                    f"a {self.repetitions}^3 supercell cannot hold shell "
                    f"{self.dissociation_shell} without periodic images"
                )
                raise ValueError(msg)
        return self

    @property
    def temperatures(self) -> list[float]:
        """The Arrhenius grid in K."""
        low, high = self.temperature_range
        return np.linspace(low, high, self.n_temperatures).tolist()

    def planned_calculations(self) -> int:
        """Relaxations, NEBs and mode analyses the stage plans (some are reused)."""
        per_solute_hops = 1 + (self.dissociation_shell is not None)
        hops = 1 + len(self.solutes) * per_solute_hops
        # endpoints: the self hop 2; per solute the exchange hop 2 and the dissociation
        # hop 1 more (its initial endpoint is the exchange hop's).
        endpoints = 2 + len(self.solutes) * (2 + (self.dissociation_shell is not None))
        modes = 0
        if self.attempt_frequency is not None:
            per_hop = 1 if self.attempt_frequency.method == "einstein" else 2
            kinds = set(self.attempt_frequency_kinds)
            modes += per_hop if "self" in kinds else 0
            modes += len(self.solutes) * per_hop if "exchange" in kinds else 0
            if "dissociation" in kinds and self.dissociation_shell is not None:
                modes += len(self.solutes) * (per_hop + 1)
            if "interface" in kinds:
                modes += len(self.interface_systems) * len(self.interface_hops) * (per_hop + 1)
        interface = len(self.interface_systems) * len(self.interface_hops) * 3
        return endpoints + hops + modes + interface


def bulk_hops(a: float, section: MigrationStage) -> list[tuple[VacancyHop, HopDescription]]:
    """Build the bulk hops of the stage at lattice constant ``a`` (A)."""
    n = section.repetitions
    kinds = set(section.attempt_frequency_kinds)
    hop = bcc_vacancy_hop(a, n)
    hops = [
        (
            hop,
            describe_hop(
                hop, kind="self", system="Li", reference_key="hop_barrier_Li",
                compute_frequencies="self" in kinds,
            ),
        )
    ]  # fmt: skip
    for solute in section.solutes:
        system = f"Li-{solute}"
        exchange = solute_exchange_hop(a, solute, n)
        hops.append(
            (
                exchange,
                describe_hop(
                    exchange,
                    kind="exchange",
                    system=system,
                    solute=solute,
                    reference_key=f"hop_barrier_{solute}" if solute == "Mg" else None,
                    compute_frequencies="exchange" in kinds,
                ),
            )
        )
        if section.dissociation_shell is not None:
            neighbour = solute_neighbour_hop(a, solute, n, section.dissociation_shell)
            hops.append(
                (
                    neighbour,
                    describe_hop(
                        neighbour,
                        kind="dissociation",
                        system=system,
                        solute=solute,
                        reference_key=f"hop_barrier_Li_next_to_{solute}"
                        if solute == "Mg" and section.dissociation_shell == 2
                        else None,
                        compute_frequencies="dissociation" in kinds,
                    ),
                )
            )
    return hops


def interface_hops(
    section: MigrationStage, host: DefectHost
) -> list[list[tuple[VacancyHop, HopDescription]]]:
    """Build the layer-to-layer vacancy hops of the stage's interface systems.

    Every hop is built from ``host``, the relaxed pure interface that the layer-resolved
    vacancy energies use (:func:`~anodefree.structures.interface_hops.layer_hop`): the
    solute of an alloy system is substituted on its placement layer, and only the atoms
    within ``section.interface_radius`` of the hop relax. Each hop comes as its list of
    candidate site pairs (``section.interface_candidates`` at most), the first being the
    one tried first.
    """
    from anodefree.structures.interface_hops import layer_hop
    from anodefree.structures.interface_systems import get_system

    hops = []
    compute = "interface" in section.attempt_frequency_kinds
    placement = section.interface_placement
    solute_layer = placement if placement == "interior" else int(placement[1:])
    for name in section.interface_systems:
        spec = get_system(name)
        options = {
            "solute": spec.solute,
            "solute_layer": solute_layer,
            "radius": section.interface_radius,
            "system": name,
            "max_candidates": section.interface_candidates,
        }
        for start, end in section.interface_hops:
            first = layer_hop(host, start, end, **options)
            pairs = [first] + [
                layer_hop(host, start, end, candidate=k, **options)
                for k in range(1, first.metadata["n_candidates"])
            ]
            candidates = [
                (
                    hop,
                    describe_hop(
                        hop,
                        kind="interface",
                        system=name,
                        solute=spec.solute,
                        compute_frequencies=compute,
                    ),
                )
                for hop in pairs
            ]
            hops.append(candidates)
    return hops


@job
def migration_hops(
    li_bulk: CalculationResult,
    engine: Engine,
    relax: RelaxSettings,
    section: MigrationStage,
    in_cell_formation: bool,
    in_cell_binding: list[str],
    interface_host: dict[str, Any] | None = None,
) -> Response:
    """Build the hops at the relaxed lattice constant and their flows.

    ``in_cell_formation`` adds the perfect supercell (for E_f when no bulk vacancy
    document is given); ``in_cell_binding`` lists solutes whose binding energy is taken
    from the NEB supercell (a relaxed solute cell is added for each). ``interface_host``
    (the output of :func:`~anodefree.workflows.interface_defects.host_interface` or
    ``refined_host``) holds the relaxed interface of the interface hops.
    """
    a = cubic_lattice_constant(li_bulk.structure)
    maker = MigrationHopMaker(
        engine=engine,
        relax=relax,
        neb=section.neb,
        frequencies=section.attempt_frequency,
        refine_images=section.neb_refine_images,
    )
    flows, documents = [], []
    initial_endpoints: dict[str, Any] = {}
    for hop, description in bulk_hops(a, section):
        flow, start, _ = maker.make_with_endpoints(
            hop.initial, hop.final, description, fixed_indices=hop.fixed_indices
        )
        flows.append(flow)
        documents.append(flow.output)
        if description.kind in ("self", "exchange"):
            initial_endpoints[description.solute or "Li"] = start.output
    if section.interface_systems:
        if interface_host is None:
            msg = "the migration stage's interface hops need the relaxed interface host"
            raise ConfigError(msg)
        from anodefree.workflows.interface_defects import defect_host

        interface_maker = replace(maker, neb=section.interface_neb)
        for candidates in interface_hops(section, defect_host(interface_host)):
            flow = interface_maker.make_with_alternatives(
                [HopCandidate.from_hop(hop, description) for hop, description in candidates]
            )
            flows.append(flow)
            documents.append(flow.output)
    n = section.repetitions
    size = f"{n}x{n}x{n}"
    references: dict[str, Any] = {"perfect": None, "solute_cells": {}}
    if in_cell_formation or in_cell_binding:
        static = CalculationMaker(engine=engine, task=relax.task("static"))
        perfect = static.make(
            bcc_supercell(a, n),
            label=f"Li {size} perfect",
            system="Li",
            role="perfect supercell",
            metadata={"repetitions": n},
        )
        flows.append(perfect)
        references["perfect"] = perfect.output
    relaxed = CalculationMaker(engine=engine, task=relax.task("relax_positions"))
    for solute in in_cell_binding:
        cell = relaxed.make(
            substitute(bcc_supercell(a, n), 0, solute),
            label=f"Li {size} + {solute}",
            system=f"Li-{solute}",
            role="solute",
        )
        flows.append(cell)
        references["solute_cells"][solute] = cell.output
    output = {"hops": documents, "endpoints": initial_endpoints, **references}
    return Response(replace=Flow(flows, output=output, name="migration hops"))


@job(config=JobConfig(on_missing_references=OnMissing.NONE))
def vacancy_diffusion_document(
    hops_output: dict[str, Any] | None,
    bulk_vacancy: BulkVacancyDocument | None,
    solute_vacancy: dict[str, SoluteVacancyDocument | None],
    temperatures: list[float],
    report_temperatures: list[float],
    diffusion_time: float,
) -> VacancyDiffusionDocument:
    """Assemble the diffusivities from the hop documents and the vacancy energetics."""
    if not hops_output:
        msg = "the migration hops failed: no diffusivities"
        raise RuntimeError(msg)
    requested = hops_output.get("hops", [])
    hops = [h for h in requested if h is not None]
    warnings = [] if len(hops) == len(requested) else [f"{len(requested) - len(hops)} hops failed"]
    endpoints = hops_output.get("endpoints", {})
    job_uuids: dict[str, str | None] = {}
    from_doc = formation_energy_from_documents(bulk_vacancy)
    if from_doc is not None:
        formation, source, formation_calc, notes = from_doc
        warnings += notes
        job_uuids["E_f"] = None
    else:
        perfect, vacancy = hops_output.get("perfect"), endpoints.get("Li")
        if perfect is None or vacancy is None:
            msg = "no vacancy formation energy: neither a bulk vacancy document nor the cells"
            raise RuntimeError(msg)
        formation = bulk_vacancy_formation_energy(vacancy.energy, perfect.energy, perfect.n_atoms)
        source = f"NEB supercell ({perfect.n_atoms} sites; not size-converged)"
        formation_calc = perfect.calculator
        warnings.append(f"E_f from the {perfect.n_atoms}-site NEB supercell, not size-converged")
        job_uuids["E_f perfect"] = perfect.source_job_uuid or perfect.job_uuid
        job_uuids["E_f vacancy"] = vacancy.source_job_uuid or vacancy.job_uuid
    binding: dict[str, float] = {}
    binding_calculators = []
    solutes = sorted({h.solute for h in hops if h.kind == "exchange" and h.solute})
    for solute in solutes:
        document = (solute_vacancy or {}).get(solute)
        if document is not None:
            binding[solute], notes = binding_energy_from_document(document)
            warnings += notes
            binding_calculators.append(document.calculator)
            continue
        cell = hops_output.get("solute_cells", {}).get(solute)
        pair = endpoints.get(solute)
        perfect, vacancy = hops_output.get("perfect"), endpoints.get("Li")
        if None in (cell, pair, perfect, vacancy):
            continue
        mu = perfect.energy / perfect.n_atoms
        pure = vacancy_formation_energy(vacancy.energy, perfect.energy, mu)
        binding[solute] = vacancy_formation_energy(pair.energy, cell.energy, mu) - pure
        binding_calculators += [cell.calculator, pair.calculator, vacancy.calculator]
        warnings.append(f"{solute}: E_b from the {perfect.n_atoms}-site NEB supercell")
    return VacancyDiffusionDocument.from_documents(
        hops,
        formation_energy=formation,
        formation_energy_source=source,
        formation_calculator=formation_calc,
        binding_energies=binding,
        binding_calculators=binding_calculators,
        temperatures=temperatures,
        report_celsius=report_temperatures,
        diffusion_time=diffusion_time,
        job_uuids=job_uuids,
        extra_warnings=warnings,
    )


def build_migration_stage(
    section: MigrationStage,
    engine: Engine,
    relax: RelaxSettings,
    li_bulk: Any,
    bulk_vacancy: Any = None,
    solute_vacancy: dict[str, Any] | None = None,
    substrate_bulk: Any = None,
    interface_host: Any = None,
) -> tuple[list[Flow], int]:
    """Build the migration stage of a campaign: hop flows and the diffusivity document.

    Parameters
    ----------
    section
        The stage settings.
    engine
        The campaign's engine (ASE-based).
    relax
        The campaign's relaxation settings (used for the NEB endpoints).
    li_bulk
        The relaxed bcc Li (``CalculationResult`` or a reference to one, e.g.
        ``bulk.output["results"]["Li"]``).
    bulk_vacancy
        The bulk vacancy stage's ``BulkVacancyDocument`` (or its reference) for E_f;
        ``None``: E_f from the NEB supercell (flagged as not size-converged).
    solute_vacancy
        ``{solute: SoluteVacancyDocument or reference}`` for the binding energies;
        missing solutes get E_b from the NEB supercell.
    substrate_bulk
        The relaxed Li2S (``CalculationResult`` or reference) of the interface host built
        here when ``interface_host`` is None (only with ``section.interface_systems``;
        experimental Li2S when ``None``).
    interface_host
        Output (or reference) of the interfacial-defect stage's host
        (:func:`~anodefree.workflows.interface_defects.stage_host`): the interface hops are
        built in it, so that their endpoint energies match that stage's layer energies.
        When None and interface hops are requested, the default host
        (:class:`~anodefree.workflows.interface_defects.HostBuildSettings`) is built and
        relaxed here.

    Returns
    -------
    tuple
        The flows (one) and the number of calculations planned.
    """
    NebMaker(engine=engine, settings=section.neb, refine_images=section.neb_refine_images)
    solute_vacancy = dict(solute_vacancy or {})
    in_cell_binding = [s for s in section.solutes if s not in solute_vacancy]
    jobs = []
    planned = section.planned_calculations()
    if section.interface_systems and interface_host is None:
        from anodefree.workflows.interface_defects import HostBuildSettings, host_interface

        host = host_interface(li_bulk, substrate_bulk, engine, relax, HostBuildSettings())
        host.name = "migration interface host"
        jobs.append(host)
        interface_host = host.output
        planned += 1
    hops = migration_hops(
        li_bulk,
        engine,
        relax,
        section,
        bulk_vacancy is None,
        in_cell_binding,
        interface_host if section.interface_systems else None,
    )
    hops.name = "migration hops"
    jobs.append(hops)
    outputs: dict[str, Any] = {"hops": hops.output["hops"]}
    planned += (bulk_vacancy is None or bool(in_cell_binding)) + len(in_cell_binding)
    if section.attempt_frequency is not None:
        diffusion = vacancy_diffusion_document(
            hops.output,
            bulk_vacancy,
            solute_vacancy,
            section.temperatures,
            list(section.report_temperatures),
            section.diffusion_time,
        )
        diffusion.name = "vacancy diffusion document"
        jobs.append(diffusion)
        outputs["diffusion"] = diffusion.output
    return [Flow(jobs, output=outputs, name="migration")], planned
