"""The contract every calculator engine fulfils.

An engine is a small, frozen, serialisable settings object (pydantic) that knows how to

* describe itself for provenance (:meth:`Engine.provenance`),
* check that it can run here (:meth:`Engine.check_available`),
* produce an atomate2 Maker for a :class:`~anodefree.tasks.CalculationTask`
  (:meth:`Engine.relax_maker`), and
* read that Maker's task document back into plain numbers (:meth:`Engine.parse_output`).

Engines that work through an ASE calculator (machine-learned potentials, GPAW, the toy
pair potential) derive from :class:`AseEngine` and share one implementation of the last
two points, built on atomate2's ``ForceFieldRelaxMaker``/``AseRelaxMaker``.
"""

from __future__ import annotations

import hashlib
import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from atomate2.forcefields.jobs import ForceFieldRelaxMaker
from emmet.core.types.enums import StoreTrajectoryOption
from pydantic import BaseModel, ConfigDict

from anodefree.errors import EngineError, ModelFileError
from anodefree.serialization import MSONModel

if TYPE_CHECKING:
    from ase.calculators.calculator import Calculator
    from jobflow import Maker

    from anodefree.provenance import CalculatorProvenance
    from anodefree.tasks import CalculationTask

logger = logging.getLogger(__name__)

# One ASE calculator per engine setting and process: loading a neural network takes
# seconds, and a campaign runs hundreds of calculations with the same one.
_CALCULATOR_CACHE: dict[str, Calculator] = {}


def package_version(package: str) -> str:
    """Return the installed version of ``package`` or raise a clear :class:`EngineError`."""
    try:
        return version(package)
    except PackageNotFoundError as exc:
        raise EngineError(
            f"the Python package {package!r} is not installed; install it "
            f"(see the README's optional extras) to use this engine"
        ) from exc


def file_sha256(path: Path, length: int = 16) -> str:
    """Return the leading characters of a file's SHA-256 (a model file's identity)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:length]


def check_model_file(path: Path | str, engine: str) -> Path:
    """Check that a model file exists and is readable.

    Raises
    ------
    ModelFileError
        Naming the path, if it is missing, a directory or unreadable.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise ModelFileError(f"{engine}: model file {str(path)!r} does not exist")
    if not path.is_file():
        raise ModelFileError(f"{engine}: model path {str(path)!r} is not a file")
    try:
        with path.open("rb") as handle:
            handle.read(1)
    except OSError as exc:
        raise ModelFileError(f"{engine}: model file {str(path)!r} is unreadable: {exc}") from exc
    return path


class ParsedOutput(BaseModel):
    """The numbers anodefree needs from any engine's task document."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    structure: Any  # pymatgen Structure (kept Any: pydantic cannot introspect it)
    energy: float  # eV
    converged: bool
    max_force: float | None = None  # eV/A
    n_ionic_steps: int | None = None
    wall_time: float | None = None  # s
    messages: list[str] = []


class Engine(MSONModel, ABC):
    """Settings of one calculator engine; subclasses add their own fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: The registry name; subclasses narrow it to a ``Literal``.
    name: str
    #: The Python package whose version is recorded.
    package: ClassVar[str] = ""

    @abstractmethod
    def provenance(self) -> CalculatorProvenance:
        """Describe the calculator for every number it produces."""

    def check_available(self) -> None:
        """Raise :class:`EngineError` if the engine cannot run on this machine."""
        package_version(self.package)

    @abstractmethod
    def relax_maker(self, task: CalculationTask) -> Maker:
        """Return an atomate2 Maker that performs ``task`` on one structure."""

    @abstractmethod
    def parse_output(self, task_document: Any, task: CalculationTask) -> ParsedOutput:
        """Read the Maker's output document into a :class:`ParsedOutput`."""

    def calculator(self) -> Calculator:
        """Return an ASE calculator for direct use (NEB images, phonons, scans)."""
        raise EngineError(
            f"engine {self.name!r} has no ASE calculator; it runs through atomate2 Makers"
        )


class AseEngine(Engine, ABC):
    """An engine that computes through an ASE calculator."""

    #: Whether one calculator object may be reused for every structure of a process.
    reusable_calculator: ClassVar[bool] = True

    @abstractmethod
    def build_calculator(self) -> Calculator:
        """Construct a new ASE calculator with these settings."""

    def calculator(self) -> Calculator:
        """Return the process-wide cached ASE calculator for these settings."""
        if not self.reusable_calculator:
            return self.build_calculator()
        # Keyed on the provenance fingerprint, which includes a model file's SHA-256:
        # a model file replaced at the same path gets a new calculator.
        try:
            key = f"{type(self).__name__}:{self.provenance().fingerprint}"
        except EngineError:
            self.check_available()  # its message says how to get the engine, if it can
            raise
        if key not in _CALCULATOR_CACHE:
            self.check_available()
            logger.info("loading calculator %s", self.provenance().label)
            _CALCULATOR_CACHE[key] = self.build_calculator()
        return _CALCULATOR_CACHE[key]

    def relax_maker(self, task: CalculationTask) -> Maker:
        """Return atomate2's force-field relax Maker driven by this engine's calculator."""
        return EngineRelaxMaker(
            name=f"{self.name} {task.kind}",
            engine=self,
            relax_cell=task.kind == "relax_full",
            steps=task.max_steps if task.is_relaxation else 1,
            relax_kwargs={"fmax": task.fmax, "final_atoms_object_file": None},
            optimizer_kwargs={"optimizer": task.optimizer},
            # Keep task documents small: no per-step data (MongoDB's 16 MB limit).
            ionic_step_data=None,
            store_trajectory=StoreTrajectoryOption.NO,
        )

    def parse_output(self, task_document: Any, task: CalculationTask) -> ParsedOutput:
        """Read an atomate2 ASE/force-field task document."""
        output = task_document.output
        forces = np.asarray(output.forces) if output.forces is not None else None
        structure = task_document.structure
        if forces is not None and task.fixed_indices:
            free = np.ones(len(forces), dtype=bool)
            free[list(task.fixed_indices)] = False
            forces = forces[free]
        max_force = (
            float(np.linalg.norm(forces, axis=1).max())
            if forces is not None and len(forces)
            else None
        )
        messages: list[str] = []
        if task.is_relaxation:
            state = getattr(task_document, "state", None)
            state_ok = state is None or str(getattr(state, "value", state)) in {
                "successful",
                "TaskState.SUCCESS",
                "success",
            }
            steps_ok = output.n_steps is None or output.n_steps < task.max_steps + 1
            if task.kind == "relax_full":
                # The optimizer's own criterion covers the cell: forces in the filter's
                # deformed frame and the stress. Cartesian forces differ from those by
                # the cell strain, so they are recorded but not re-checked.
                force_ok = state_ok
            else:
                force_ok = max_force is not None and max_force < task.fmax
            converged = bool(force_ok and steps_ok and state_ok)
            if not force_ok:
                messages.append(
                    f"max force {max_force:.4f} eV/A above fmax {task.fmax} eV/A"
                    if max_force is not None
                    else "forces unavailable"
                )
            if not steps_ok:
                messages.append(f"stopped at the step limit ({task.max_steps})")
            if not state_ok:
                messages.append(f"optimizer did not reach its criterion (state {state})")
        else:
            converged = True
        return ParsedOutput(
            structure=structure,
            energy=float(output.energy),
            converged=converged,
            max_force=max_force,
            n_ionic_steps=output.n_steps,
            wall_time=output.elapsed_time,
            messages=messages,
        )


@dataclass
class EngineRelaxMaker(ForceFieldRelaxMaker):
    """atomate2's ``ForceFieldRelaxMaker`` with the calculator taken from an engine.

    Everything else (the relaxer, the optimizer, the task document) is atomate2's own.
    """

    name: str = "engine relax"
    engine: AseEngine | None = None
    force_field_name: str = "Forcefield"
    calculator_kwargs: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Record the engine's package in the task document's force-field name."""
        super().__post_init__()
        if self.engine is None:
            raise EngineError("EngineRelaxMaker needs an engine")

    #: BLAS threads while relaxing: the optimizer's small matrices run several times
    #: faster on one thread; ``None`` leaves the pool alone (GPAW needs its threads).
    blas_threads: int | None = 1

    def _get_calculator(self) -> Calculator:
        return self.engine.calculator()  # type: ignore[union-attr]

    def run_ase(self, mol_or_struct: Any, prev_dir: str | Path | None = None) -> Any:
        """Relax as atomate2 does, with the BLAS thread pool capped at ``blas_threads``."""
        if self.blas_threads is None:
            return super().run_ase(mol_or_struct, prev_dir=prev_dir)
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=self.blas_threads, user_api="blas"):
            return super().run_ase(mol_or_struct, prev_dir=prev_dir)
