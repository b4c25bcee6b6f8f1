"""VASP through atomate2's ``RelaxMaker``/``StaticMaker`` with the reference input sets.

VASP does not run on this machine (licence); everything here is complete code for
clusters, exercised in tests by the input-checking fake runner of
:mod:`anodefree.workflows.engines.vasp_fake`.

>>> from anodefree.workflows.engines.registry import get_engine
>>> engine = get_engine("vasp", method="pbesol_hull")
>>> engine.provenance().settings["ENCUT_eV"]
520

Where VASP and its POTCARs are found
    ``vasp_cmd`` (else atomate2's ``SETTINGS.VASP_CMD``, default ``vasp_std``), and
    ``potcar_dir`` (else pymatgen's ``PMG_VASP_PSP_DIR``), holding the PBE.54 set in
    ``POT_GGA_PAW_PBE_54/<symbol>/POTCAR`` (pymatgen's layout). When left unset, the
    worker's own atomate2/pymatgen configuration applies at run time, which is what a
    cluster with a shared configuration wants.

Custodian error handlers
    atomate2's defaults (``atomate2.vasp.run.DEFAULT_HANDLERS``) except two:
    ``LargeSigmaHandler`` (it lowers SIGMA when the smearing entropy exceeds 1 meV/atom,
    which would silently change the reference method's smearing) and
    ``KspacingMetalHandler`` (KSPACING is never used: the k-points are a KPOINTS file).
    Kept: VaspErrorHandler, MeshSymmetryErrorHandler, UnconvergedErrorHandler,
    NonConvergingErrorHandler, PotimErrorHandler, PositiveEnergyErrorHandler,
    FrozenJobErrorHandler, StdErrHandler, IncorrectSmearingHandler, plus a
    WalltimeHandler when ``wall_time`` is set. Their corrections change how VASP
    converges (ALGO, mixing, POTIM, symmetry, parallelisation), not what it converges
    to; :meth:`VaspEngine.parse_output` nevertheless checks the INCAR and KPOINTS of the
    final run against the method and refuses the result if a setting that changes an
    energy (ENCUT, GGA, ISMEAR, SIGMA, PREC, LASPH, LREAL, ISPIN, the k-mesh, a looser
    EDIFF or EDIFFG) was altered by custodian or by a site-wide ``VASP_INCAR_UPDATES``.

Unconverged runs
    The Makers are built with ``handle_unsuccessful=False``: an unconverged VASP run
    completes its job, and :meth:`VaspEngine.parse_output` records it as unconverged
    with the reason, so it is flagged in reports instead of failing the workflow.

Task documents
    ``store_trajectory="partial"``: the ionic steps go to the job store's ``data`` store
    as a trajectory instead of the task document (interfaces of a few hundred atoms with
    ~100 ionic steps would approach MongoDB's 16 MB document limit).
"""

from __future__ import annotations

import logging
import os
import shlex
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from anodefree.errors import EngineError
from anodefree.provenance import CalculatorProvenance
from anodefree.workflows.engines.base import Engine, ParsedOutput, package_version
from anodefree.workflows.engines.vasp_sets import (
    ENERGY_DEFINING_KEYS,
    HULL_ENERGY_TOLERANCE_PER_ATOM,
    HULL_KPOINT_SPACING,
    INTERFACE_FMAX,
    METHOD_FUNCTIONAL,
    METHOD_INCAR,
    POTCAR_FUNCTIONAL,
    POTCAR_SYMBOLS,
    TASK_CONTROLLED_KEYS,
    MethodName,
    ReferenceMethodSetGenerator,
    potcar_directory,
    potcar_functional_folder,
    uses_force_criterion,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from atomate2.vasp.jobs.base import BaseVaspMaker
    from emmet.core.tasks import TaskDoc

    from anodefree.tasks import CalculationTask

logger = logging.getLogger(__name__)

#: Elements checked by :meth:`VaspEngine.check_available` when none are named.
PROJECT_ELEMENTS = ("Li", "Mg", "S", "Ag")

#: atomate2 default handlers left out, and why (see the module docstring).
EXCLUDED_HANDLERS = {
    "LargeSigmaHandler": "lowers SIGMA, a setting of the reference method",
    "KspacingMetalHandler": "acts on KSPACING, which these input sets never use",
}

_COMPRESSED_SUFFIXES = ("", ".gz", ".bz2", ".Z", ".xz", ".lzma", ".z")


def custodian_handlers(wall_time: int | None = None) -> list[Any]:
    """atomate2's default custodian handlers minus those that change the method.

    Parameters
    ----------
    wall_time
        Wall time of the batch job in s; adds custodian's ``WalltimeHandler``, which
        stops VASP cleanly (STOPCAR) before the queue kills it.

    Returns
    -------
    list
        Custodian ``ErrorHandler`` instances.
    """
    from atomate2.vasp.run import DEFAULT_HANDLERS

    handlers = [h for h in DEFAULT_HANDLERS if type(h).__name__ not in EXCLUDED_HANDLERS]
    if wall_time is not None:
        from custodian.vasp.handlers import WalltimeHandler

        handlers.append(WalltimeHandler(wall_time=wall_time))
    return handlers


def _executables(command: str) -> list[str]:
    """Return the programs a VASP command starts: the launcher (if any) and VASP."""
    tokens = shlex.split(os.path.expandvars(command))
    if not tokens:
        return []
    return list(dict.fromkeys([tokens[0], tokens[-1]]))


def _find_executable(program: str) -> str | None:
    if os.sep in program:
        path = Path(program).expanduser()
        return str(path) if path.is_file() and os.access(path, os.X_OK) else None
    return shutil.which(program)


def _potcar_file(folder: Path, symbol: str) -> Path | None:
    """Return the POTCAR of ``symbol`` in a functional folder (either pymatgen layout)."""
    for base in (folder / symbol / "POTCAR", folder / f"POTCAR.{symbol}"):
        for suffix in _COMPRESSED_SUFFIXES:
            candidate = base.with_name(base.name + suffix)
            if candidate.is_file():
                return candidate
    return None


def _first_line(path: Path) -> str:
    from monty.io import zopen

    with zopen(path, mode="rt", encoding="utf-8", errors="replace") as handle:
        return handle.readline().strip()


class VaspEngine(Engine):
    """VASP with one of the two reference methods, run through atomate2 and custodian."""

    name: Literal["vasp"] = "vasp"
    package: ClassVar[str] = "vasp"

    method: MethodName = Field(
        "pbe_interface",
        description="pbe_interface (PBE 500 eV, Gamma only, Gaussian 0.1 eV; interfaces "
        "and defects) or pbesol_hull (PBEsol 520 eV, 0.5 meV/atom energy criterion).",
    )
    user_incar_settings: dict[str, Any] = Field(
        default_factory=dict,
        description="INCAR tags overriding the method (e.g. {'LREAL': 'Auto'} for large "
        "cells, {'NCORE': 8}); recorded in the provenance. NSW and ISIF come from the "
        "task, k-points from kpoint_spacing, and pbe_interface's EDIFFG from the task's "
        "fmax.",
    )
    kpoint_spacing: float | None = Field(
        None,
        gt=0,
        description="K-point spacing in 1/A (2 pi included, VASP's KSPACING convention) "
        "of a Gamma-centred mesh; None: Gamma only (pbe_interface) or "
        f"{HULL_KPOINT_SPACING} 1/A (pbesol_hull).",
    )
    vasp_cmd: str | None = Field(
        None,
        description="Command that runs VASP, e.g. 'srun vasp_std'; None: atomate2's "
        "VASP_CMD setting of the machine that runs the job.",
    )
    vasp_gamma_cmd: str | None = Field(
        None,
        description="Command of the Gamma-only VASP build (used by custodian for Gamma-only "
        "runs when found, else vasp_cmd); None: atomate2's VASP_GAMMA_CMD.",
    )
    potcar_dir: str | None = Field(
        None,
        description="Folder holding POT_GGA_PAW_PBE_54/; None: pymatgen's "
        "PMG_VASP_PSP_DIR of the machine that runs the job.",
    )
    vasp_version: str | None = Field(
        None,
        description="VASP version the results are computed with (e.g. '6.4.2'); recorded "
        "as the provenance version and checked against each run's vasprun.xml.",
    )
    custodian_max_errors: int | None = Field(
        None, ge=0, description="Custodian corrections allowed per run; None: atomate2's."
    )
    wall_time: int | None = Field(
        None,
        gt=0,
        description="Batch-job wall time in s: custodian stops VASP cleanly before it.",
    )

    @field_validator("user_incar_settings")
    @classmethod
    def _known_incar_tags(cls, value: dict[str, Any]) -> dict[str, Any]:
        from pymatgen.io.vasp import Incar

        settings = {str(k).strip().upper(): v for k, v in value.items()}
        unknown = sorted(k for k in settings if k not in Incar.INCAR_PARAMS)
        if unknown:
            raise ValueError(f"unknown INCAR tag(s) {unknown}")
        controlled = sorted(k for k in settings if k in TASK_CONTROLLED_KEYS)
        if controlled:
            raise ValueError(
                f"{controlled} follow from the CalculationTask (NSW = max_steps; ISIF from "
                "the kind: relax_positions 2, relax_full 3); set them there"
            )
        if "KSPACING" in settings:
            raise ValueError("KSPACING is not used: set the engine's kpoint_spacing instead")
        return settings

    @model_validator(mode="after")
    def _force_criterion_from_the_task(self) -> VaspEngine:
        if uses_force_criterion(self.method) and "EDIFFG" in self.user_incar_settings:
            raise ValueError(
                f"EDIFFG={self.user_incar_settings['EDIFFG']} in user_incar_settings: "
                "pbe_interface takes its force criterion from the CalculationTask "
                "(EDIFFG = -fmax); set the task's fmax instead"
            )
        return self

    # --- description ------------------------------------------------------------------

    @property
    def incar(self) -> dict[str, Any]:
        """The method's electronic INCAR after ``user_incar_settings``."""
        incar = {**METHOD_INCAR[self.method], **self.user_incar_settings}
        return {k: v for k, v in incar.items() if v is not None}

    def describe_kpoints(self) -> str:
        """Describe the k-point sampling in words."""
        if self.kpoint_spacing is None and self.method == "pbe_interface":
            return "Gamma point only (KPOINTS Gamma 1x1x1)"
        spacing = self.kpoint_spacing if self.kpoint_spacing is not None else HULL_KPOINT_SPACING
        return f"Gamma-centred mesh, spacing {spacing:g} 1/A (2 pi included)"

    def describe_ediffg(self) -> str:
        """Describe the ionic stopping criterion of relaxations in words."""
        if uses_force_criterion(self.method):
            return f"EDIFFG = -fmax of the task (reference -{INTERFACE_FMAX} eV/A, forces)"
        per_atom = HULL_ENERGY_TOLERANCE_PER_ATOM
        return f"EDIFFG = +{per_atom:g} eV x N_atoms (energy change < {per_atom * 1e3:g} meV/atom)"

    def provenance(self) -> CalculatorProvenance:
        """VASP, the functional and every setting that changes an energy.

        ``version`` is the declared ``vasp_version`` ("unspecified" otherwise: VASP's
        version is only known from a finished run, and :meth:`parse_output` checks it).
        """
        incar = self.incar
        return CalculatorProvenance(
            engine=self.name,
            package=self.package,
            version=self.vasp_version or "unspecified",
            model=f"{METHOD_FUNCTIONAL[self.method]} PAW ({self.method})",
            settings={
                "method": self.method,
                "functional": METHOD_FUNCTIONAL[self.method],
                "GGA": incar.get("GGA"),
                "potcar_functional": POTCAR_FUNCTIONAL,
                "potcar_symbols": {el: POTCAR_SYMBOLS[el] for el in PROJECT_ELEMENTS},
                "ENCUT_eV": incar.get("ENCUT"),
                "EDIFF_eV": incar.get("EDIFF"),
                "EDIFFG": incar.get("EDIFFG", self.describe_ediffg()),
                "smearing": {
                    "ISMEAR": incar.get("ISMEAR"),
                    "SIGMA_eV": incar.get("SIGMA"),
                },
                "kpoints": self.describe_kpoints(),
                "incar": incar,
                "user_incar_settings": dict(self.user_incar_settings),
                "atomate2_version": package_version("atomate2"),
                "pymatgen_version": package_version("pymatgen"),
            },
        )

    # --- availability -----------------------------------------------------------------

    def resolved_vasp_cmd(self) -> str:
        """Return the VASP command in force: the engine's, else atomate2's ``VASP_CMD``."""
        if self.vasp_cmd:
            return self.vasp_cmd
        from atomate2 import SETTINGS

        return SETTINGS.VASP_CMD

    def check_available(self, elements: Iterable[str] | None = None) -> None:
        """Check that the VASP executable and the POTCARs are where the settings say.

        Parameters
        ----------
        elements
            Elements whose POTCARs must exist; default: Li, Mg, S and Ag.

        Raises
        ------
        EngineError
            Naming the command that is not found, or the POTCAR folder and the element
            whose POTCAR is missing.
        """
        self._check_vasp_command()
        self._check_potcars(PROJECT_ELEMENTS if elements is None else tuple(elements))

    def _check_vasp_command(self) -> None:
        command = self.resolved_vasp_cmd()
        source = "the vasp engine's vasp_cmd" if self.vasp_cmd else "atomate2's VASP_CMD"
        programs = _executables(command)
        if not programs:
            raise EngineError(f"the VASP command is empty ({source})")
        for program in programs:
            if _find_executable(program) is None:
                raise EngineError(
                    f"VASP command {program!r} not found on PATH (vasp_cmd={command!r}, "
                    f"from {source}); load the VASP module or set the vasp engine's vasp_cmd"
                )

    def _check_potcars(self, elements: Sequence[str]) -> None:
        folder = potcar_directory(self.potcar_dir)
        source = "the vasp engine's potcar_dir" if self.potcar_dir else "PMG_VASP_PSP_DIR"
        if folder is None:
            raise EngineError(
                "no POTCAR directory configured: set the vasp engine's potcar_dir or "
                "pymatgen's PMG_VASP_PSP_DIR"
            )
        root = Path(folder).expanduser()
        if not root.is_dir():
            raise EngineError(f"POTCAR directory {str(root)!r} ({source}) does not exist")
        functional_folder = root / potcar_functional_folder()
        if not functional_folder.is_dir():
            raise EngineError(
                f"POTCAR directory {str(root)!r} ({source}) has no {functional_folder.name!r} "
                f"folder (the {POTCAR_FUNCTIONAL} POTCAR set of the reference methods)"
            )
        for element in elements:
            symbol = POTCAR_SYMBOLS.get(element, element)
            path = _potcar_file(functional_folder, symbol)
            if path is None:
                raise EngineError(
                    f"POTCAR directory {str(functional_folder)!r} lacks the POTCAR "
                    f"{symbol!r} for element {element} (looked for {symbol}/POTCAR and "
                    f"POTCAR.{symbol})"
                )
            header = _first_line(path)
            if symbol not in header.split():
                raise EngineError(
                    f"{str(path)!r} should hold the {symbol!r} POTCAR for {element} but "
                    f"starts with {header!r}"
                )

    # --- Makers -----------------------------------------------------------------------

    def input_set_generator(self, task: CalculationTask) -> ReferenceMethodSetGenerator:
        """Return the atomate2 input-set generator for ``task`` with this method.

        ``pbe_interface`` stops relaxations on forces: EDIFFG = -``task.fmax`` (a value
        other than the reference 0.01 eV/A is logged as a departure). ``pbesol_hull``
        stops on the energy change and does not use ``task.fmax``; a task asking for a
        force criterion other than the default is logged as not honoured.
        """
        fmax: float | None = None
        if task.is_relaxation and uses_force_criterion(self.method):
            fmax = task.fmax
            if not np.isclose(task.fmax, INTERFACE_FMAX):
                logger.warning(
                    "pbe_interface with fmax=%g eV/A departs from the reference method's "
                    "%g eV/A (EDIFFG = -%g)",
                    task.fmax,
                    INTERFACE_FMAX,
                    task.fmax,
                )
        elif task.is_relaxation and not np.isclose(task.fmax, INTERFACE_FMAX):
            logger.warning(
                "vasp method %s stops relaxations on the energy change (%s); the task's "
                "fmax=%g eV/A is not used",
                self.method,
                self.describe_ediffg(),
                task.fmax,
            )
        return ReferenceMethodSetGenerator(
            method=self.method,
            kind=task.kind,
            fmax=fmax,
            max_steps=task.max_steps,
            kpoint_spacing=self.kpoint_spacing,
            fixed_indices=tuple(task.fixed_indices),
            potcar_dir=self.potcar_dir,
            user_incar_settings=dict(self.user_incar_settings),
        )

    def run_vasp_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of atomate2's ``run_vasp``: command, handlers, limits."""
        kwargs: dict[str, Any] = {"handlers": custodian_handlers(self.wall_time)}
        if self.vasp_cmd:
            kwargs["vasp_cmd"] = self.vasp_cmd
        if self.vasp_gamma_cmd:
            kwargs["vasp_gamma_cmd"] = self.vasp_gamma_cmd
        if self.custodian_max_errors is not None:
            kwargs["max_errors"] = self.custodian_max_errors
        return kwargs

    def relax_maker(self, task: CalculationTask) -> BaseVaspMaker:
        """atomate2's ``StaticMaker`` or ``RelaxMaker`` with this method's input set."""
        from atomate2.vasp.jobs.core import RelaxMaker, StaticMaker
        from emmet.core.types.enums import StoreTrajectoryOption

        if task.optimizer != "BFGS" and "optimizer" in task.model_fields_set:
            logger.info(
                "vasp relaxes with IBRION = 2 (conjugate gradient); the ASE optimizer "
                "%s of the task is not used",
                task.optimizer,
            )
        maker_class = StaticMaker if task.kind == "static" else RelaxMaker
        return maker_class(
            name=f"vasp {self.method} {task.kind}",
            input_set_generator=self.input_set_generator(task),
            run_vasp_kwargs=self.run_vasp_kwargs(),
            task_document_kwargs={"store_trajectory": StoreTrajectoryOption.PARTIAL},
            stop_children_kwargs={"handle_unsuccessful": False},
        )

    # --- results ----------------------------------------------------------------------

    def parse_output(self, task_document: Any, task: CalculationTask) -> ParsedOutput:
        """Read atomate2's VASP task document into a :class:`ParsedOutput`.

        ``converged`` requires that VASP finished (electronic convergence in every ionic
        step, no emmet analysis errors), that a relaxation stopped on EDIFFG before NSW
        ionic steps (and meets EDIFFG: max force on free atoms below -EDIFFG, or last
        energy change below +EDIFFG), that the final run still used the method's
        settings, and that the VASP version matches a declared ``vasp_version``.
        ``messages`` says what failed.
        """
        doc = as_task_document(task_document)
        if not doc.calcs_reversed:
            raise EngineError("the VASP task document has no calculation")
        energies = ionic_energies(doc)
        max_force = max_free_force(doc, task.fixed_indices)

        messages: list[str] = []
        if str(getattr(doc.state, "value", doc.state)) != "successful":
            messages.append(_failure_reason(doc))
        if task.is_relaxation:
            messages += relaxation_problems(doc, energies, max_force, task.max_steps)
        departures = self.departures_from_method(doc, task)
        if departures:
            messages.append("not the reference method: " + "; ".join(departures))
        if (
            self.vasp_version
            and doc.vasp_version
            and not str(doc.vasp_version).startswith(self.vasp_version)
        ):
            messages.append(
                f"computed with VASP {doc.vasp_version}, but the engine declares "
                f"vasp_version={self.vasp_version!r}"
            )

        wall_time = None
        if doc.run_stats and "overall" in doc.run_stats:
            wall_time = float(doc.run_stats["overall"].elapsed_time) or None
        return ParsedOutput(
            structure=doc.output.structure,
            energy=float(doc.output.energy),
            converged=not messages,
            max_force=max_force,
            n_ionic_steps=len(energies) if energies is not None else None,
            wall_time=wall_time,
            messages=messages,
        )

    def departures_from_method(self, task_document: Any, task: CalculationTask) -> list[str]:
        """List the settings of the final VASP run that differ from the method's for ``task``.

        Compares the INCAR and KPOINTS that the last run actually used (after custodian
        corrections and site-wide INCAR updates) with those the input set generates for
        the run's initial structure. Only settings that change an energy count; a
        tighter EDIFF or EDIFFG is not a departure.
        """
        doc = as_task_document(task_document)
        first, last = doc.calcs_reversed[-1], doc.calcs_reversed[0]
        generator = self.input_set_generator(task)
        generator.structure = first.input.structure
        expected = generator.incar
        actual = last.input.incar or {}
        found = [
            f"{key} = {actual.get(key)!r} (method: {expected.get(key)!r})"
            for key in ENERGY_DEFINING_KEYS
            if not _same_value(expected.get(key), actual.get(key))
        ]
        for key in ("EDIFF", "EDIFFG"):
            want, got = expected.get(key), actual.get(key)
            if want is None:
                continue
            if got is None or np.sign(float(got)) != np.sign(float(want)):
                found.append(f"{key} = {got!r} (method: {want!r})")
            elif abs(float(got)) > abs(float(want)) * (1 + 1e-9):
                found.append(f"{key} = {got!r} looser than the method's {want!r}")
        want_k = generator.kpoints
        got_k = last.input.kpoints
        if want_k is not None and got_k is not None:
            want_mesh = tuple(int(n) for n in want_k.kpts[0])
            got_mesh = tuple(int(n) for n in got_k.kpts[0])
            shifted = any(n % 2 == 0 for n in want_mesh) and got_k.style != want_k.style
            if want_mesh != got_mesh or shifted:
                found.append(
                    f"k-mesh {got_k.style.name} {got_mesh} (method: {want_k.style.name} "
                    f"{want_mesh})"
                )
        return found


def max_free_force(task_document: Any, fixed_indices: Sequence[int] = ()) -> float | None:
    """Largest force in eV/A on the atoms free to move at the end of the run.

    Components held fixed by selective dynamics (or ``fixed_indices``) are ignored, as
    VASP ignores them in its EDIFFG test.
    """
    doc = as_task_document(task_document)
    if not doc.output.forces:
        return None
    forces = np.asarray(doc.output.forces, dtype=float)
    initial = doc.calcs_reversed[-1].input.structure if doc.calcs_reversed else None
    free = free_components(initial, len(forces), fixed_indices)
    moving = free.any(axis=1)
    if not moving.any():
        return 0.0
    norms = np.linalg.norm(np.where(free, forces, 0.0), axis=1)
    return float(norms[moving].max())


def relaxation_problems(
    task_document: Any,
    energies: Sequence[float] | None,
    max_force: float | None,
    max_steps: int,
) -> list[str]:
    """Why a relaxation did not meet its EDIFFG before NSW ionic steps (empty if it did).

    Parameters
    ----------
    task_document
        The atomate2 VASP task document.
    energies
        Energy of each ionic step in eV (:func:`ionic_energies`).
    max_force
        Largest force on free atoms in eV/A (:func:`max_free_force`).
    max_steps
        NSW to assume if the run's INCAR does not say.
    """
    doc = as_task_document(task_document)
    last = doc.calcs_reversed[0]
    incar, parameters = last.input.incar or {}, last.input.parameters or {}
    nsw = int(incar.get("NSW", parameters.get("NSW", max_steps)))
    ediffg = float(incar.get("EDIFFG", parameters.get("EDIFFG", 0.0)))
    problems = []
    if energies is not None and len(energies) >= nsw:
        problems.append(f"stopped at NSW = {nsw} ionic steps before reaching EDIFFG = {ediffg:g}")
    # 1e-6 eV/A: forces are printed with 6 decimals in vasprun.xml.
    if ediffg < 0 and max_force is not None and max_force > -ediffg + 1e-6:
        problems.append(f"max force {max_force:.4f} eV/A above |EDIFFG| = {-ediffg:g}")
    if ediffg > 0 and energies is not None and len(energies) >= 2:
        change = abs(energies[-1] - energies[-2])
        if change >= ediffg:
            problems.append(
                f"last ionic energy change {change * 1e3:.3f} meV not below "
                f"EDIFFG = {ediffg * 1e3:.3f} meV"
            )
    return problems


def _same_value(a: Any, b: Any) -> bool:
    if isinstance(a, str) or isinstance(b, str):
        return str(a).strip().lower() == str(b).strip().lower()
    if isinstance(a, bool) or isinstance(b, bool):
        return bool(a) == bool(b) if a is not None and b is not None else a == b
    if a is None or b is None:
        return a == b
    return bool(np.isclose(float(a), float(b), rtol=1e-9, atol=0.0))


def _failure_reason(doc: TaskDoc) -> str:
    reasons = []
    for calc in doc.calcs_reversed or []:
        completed = str(getattr(calc.has_vasp_completed, "value", calc.has_vasp_completed))
        if completed != "successful":
            reasons.append(
                f"VASP run {calc.task_name!r} did not converge (electronic SCF within NELM "
                "or ionic steps within NSW)"
            )
    if doc.analysis and doc.analysis.errors:
        reasons.extend(doc.analysis.errors)
    return "; ".join(reasons) or f"task state {doc.state}"


def as_task_document(task_document: Any) -> TaskDoc:
    """Return an emmet ``TaskDoc`` from the object, its MSON dict or a plain dict."""
    from emmet.core.tasks import TaskDoc
    from monty.json import MontyDecoder

    if isinstance(task_document, TaskDoc):
        return task_document
    if isinstance(task_document, dict):
        decoded = MontyDecoder().process_decoded(task_document)
        if isinstance(decoded, TaskDoc):
            return decoded
        payload = {k: v for k, v in task_document.items() if not k.startswith("@")}
        return TaskDoc.model_validate(payload)
    raise EngineError(
        f"expected an atomate2 VASP task document, got {type(task_document).__name__}"
    )


def ionic_energies(task_document: Any) -> list[float] | None:
    """Energy (sigma -> 0) in eV of every ionic step of the last VASP run, if stored.

    Looks in the calculation's ``ionic_steps`` (atomate2's default) and in the
    trajectory that ``store_trajectory="partial"`` keeps in the data store.
    """
    doc = as_task_document(task_document)
    last = doc.calcs_reversed[0] if doc.calcs_reversed else None
    if last is not None and last.output.ionic_steps:
        return [float(step.e_0_energy) for step in last.output.ionic_steps]
    trajectory = (doc.vasp_objects or {}).get("trajectory")
    if trajectory is None:
        return None
    if isinstance(trajectory, dict):
        from monty.json import MontyDecoder

        trajectory = MontyDecoder().process_decoded(trajectory)
    frames = getattr(trajectory, "frame_properties", None)
    if frames:
        return [float(frame["energy"]) for frame in frames]
    energies = getattr(trajectory, "energy", None)
    return [float(e) for e in energies] if energies is not None else None


def free_components(
    initial_structure: Any, n_sites: int, fixed_indices: Sequence[int] = ()
) -> np.ndarray:
    """Boolean ``(n_sites, 3)`` array of the Cartesian components free to relax.

    From the run's selective dynamics (``F`` = fixed) and the task's ``fixed_indices``.
    """
    free = np.ones((n_sites, 3), dtype=bool)
    flags = None
    if initial_structure is not None:
        flags = initial_structure.site_properties.get("selective_dynamics")
    if flags is not None and len(flags) == n_sites:
        free &= np.asarray(flags, dtype=bool)
    for index in fixed_indices:
        if 0 <= index < n_sites:
            free[index] = False
    return free
