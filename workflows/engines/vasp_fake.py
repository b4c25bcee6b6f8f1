"""An input-checking fake VASP runner for tests (VASP cannot run without a licence).

:class:`FakeVasp` replaces atomate2's ``run_vasp`` for the duration of a test. When a
VASP job runs, atomate2 writes the real inputs (with a ``POTCAR.spec`` listing the
POTCAR symbols instead of the licensed POTCAR files); the fake then

1. finds the reference registered for the running job **by attributes of its Maker**
   (the input-set generator's ``method`` and ``kind``, optionally the structure's
   reduced formula), not by the job's name;
2. compares the generated INCAR, KPOINTS, POSCAR and POTCAR spec with the reference's
   ``inputs/`` folder and raises :class:`VaspInputMismatchError` listing every
   difference (the INCAR must have exactly the same tags and values);
3. copies the reference's ``outputs/`` (``vasprun.xml``, ``OUTCAR``, ``CONTCAR``, ...)
   into the job folder, so that atomate2 parses them into its task document.

A reference folder follows atomate2's test convention::

    <reference>/inputs/INCAR, KPOINTS, POSCAR, POTCAR.spec
    <reference>/outputs/vasprun.xml, OUTCAR, CONTCAR (, OSZICAR)

Usage with pytest::

    fake = FakeVasp()
    fake.add(DATA / "hull_relax_full", method="pbesol_hull", kind="relax_full")
    fake.install(monkeypatch)
    run_locally(engine.relax_maker(task).make(structure), ...)
    assert fake.runs[0].reference.name == "hull_relax_full"

Compared with atomate2's ``atomate2.utils.testing.vasp`` (keyed by job name, INCAR tags
checked only one way, KPOINTS by style and count only), this checks the INCAR tag set in
both directions, the k-mesh divisions and shift, the POSCAR lattice, species order and
selective dynamics, and records the ``run_vasp`` arguments (command, custodian handlers)
of every run.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from monty.io import zopen
from monty.os.path import zpath
from pymatgen.io.vasp import Incar, Kpoints, Poscar

if TYPE_CHECKING:
    from collections.abc import Sequence

    from jobflow import Maker

logger = logging.getLogger(__name__)

#: Input files the fake can check.
CHECKABLE = ("incar", "kpoints", "poscar", "potcar")

#: Tolerances: lattice vectors in A, fractional coordinates, INCAR floats (relative).
LATTICE_TOL = 1e-5
FRAC_TOL = 1e-5
FLOAT_RTOL = 1e-9


class VaspInputMismatchError(AssertionError):
    """The inputs atomate2 generated differ from the reference inputs."""


def _path(folder: Path, name: str) -> Path:
    return Path(zpath(str(folder / name)))


def _same(expected: Any, actual: Any) -> bool:
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        return bool(np.isclose(float(expected), float(actual), rtol=FLOAT_RTOL, atol=0.0))
    if isinstance(expected, list | tuple) and isinstance(actual, list | tuple):
        return len(expected) == len(actual) and all(map(_same, expected, actual))
    if isinstance(expected, str) and isinstance(actual, str):
        return expected.strip().lower() == actual.strip().lower()
    return expected == actual


def compare_incar(expected: Incar, actual: Incar, exclude: Sequence[str] = ()) -> list[str]:
    """Differences between two INCARs: missing, unexpected and different tags."""
    skip = {k.upper() for k in exclude}
    problems = []
    for key in sorted((set(expected) | set(actual)) - skip):
        if key not in actual:
            problems.append(f"INCAR lacks {key} (expected {expected[key]!r})")
        elif key not in expected:
            problems.append(f"INCAR has unexpected {key} = {actual[key]!r}")
        elif not _same(expected[key], actual[key]):
            problems.append(f"INCAR {key} = {actual[key]!r}, expected {expected[key]!r}")
    return problems


def compare_kpoints(expected: Kpoints | None, actual: Kpoints | None) -> list[str]:
    """Differences between two automatic-mesh KPOINTS files (style, divisions, shift)."""
    if expected is None or actual is None:
        if expected is actual:
            return []
        return [f"KPOINTS file {'missing' if actual is None else 'unexpected'}"]
    problems = []
    if expected.style != actual.style:
        problems.append(f"KPOINTS style {actual.style.name}, expected {expected.style.name}")
    if [list(k) for k in expected.kpts] != [list(k) for k in actual.kpts]:
        problems.append(f"KPOINTS divisions {actual.kpts}, expected {expected.kpts}")
    if not np.allclose(expected.kpts_shift or (0, 0, 0), actual.kpts_shift or (0, 0, 0)):
        problems.append(f"KPOINTS shift {actual.kpts_shift}, expected {expected.kpts_shift}")
    return problems


def compare_poscar(expected: Poscar, actual: Poscar) -> list[str]:
    """Differences in lattice, species order, coordinates and selective dynamics."""
    problems = []
    exp_s, act_s = expected.structure, actual.structure
    if expected.site_symbols != actual.site_symbols or expected.natoms != actual.natoms:
        problems.append(
            f"POSCAR species blocks {actual.site_symbols} {actual.natoms}, expected "
            f"{expected.site_symbols} {expected.natoms}"
        )
        return problems
    if not np.allclose(exp_s.lattice.matrix, act_s.lattice.matrix, atol=LATTICE_TOL, rtol=0):
        problems.append(
            f"POSCAR lattice {act_s.lattice.matrix.tolist()}, expected "
            f"{exp_s.lattice.matrix.tolist()}"
        )
    delta = act_s.frac_coords - exp_s.frac_coords
    delta -= np.round(delta)
    off = np.flatnonzero(np.abs(delta).max(axis=1) > FRAC_TOL)
    if off.size:
        problems.append(f"POSCAR coordinates differ at site(s) {off.tolist()}")
    exp_sd = expected.selective_dynamics
    act_sd = actual.selective_dynamics
    exp_sd = None if exp_sd is None else np.asarray(exp_sd, dtype=bool)
    act_sd = None if act_sd is None else np.asarray(act_sd, dtype=bool)
    if (exp_sd is None) != (act_sd is None) or (
        exp_sd is not None and not np.array_equal(exp_sd, act_sd)
    ):

        def fixed(sd: np.ndarray | None) -> list[int] | None:
            return None if sd is None else np.flatnonzero(~sd.any(axis=1)).tolist()

        problems.append(
            f"POSCAR selective dynamics: fixed sites {fixed(act_sd)}, expected {fixed(exp_sd)}"
        )
    return problems


def read_potcar_spec(folder: Path) -> list[str]:
    """POTCAR symbols of a run folder, from ``POTCAR.spec`` or a ``POTCAR``."""
    spec = _path(folder, "POTCAR.spec")
    if spec.exists():
        with zopen(spec, mode="rt", encoding="utf-8") as handle:
            return [line.strip() for line in handle.read().splitlines() if line.strip()]
    potcar = _path(folder, "POTCAR")
    if potcar.exists():
        from pymatgen.io.vasp import Potcar

        return list(Potcar.from_file(potcar).symbols)
    raise VaspInputMismatchError(f"no POTCAR or POTCAR.spec in {str(folder)!r}")


def compare_vasp_inputs(
    expected_dir: Path | str,
    run_dir: Path | str = ".",
    check: Sequence[str] = CHECKABLE,
    incar_exclude: Sequence[str] = (),
) -> list[str]:
    """Every difference between the inputs in ``run_dir`` and those in ``expected_dir``.

    Parameters
    ----------
    expected_dir
        Folder with the reference INCAR, KPOINTS, POSCAR and POTCAR.spec.
    run_dir
        Folder with the generated inputs.
    check
        Which of ``incar``, ``kpoints``, ``poscar``, ``potcar`` to compare.
    incar_exclude
        INCAR tags left out of the comparison.
    """
    expected_dir, run_dir = Path(expected_dir), Path(run_dir)
    unknown = set(check) - set(CHECKABLE)
    if unknown:
        raise ValueError(f"cannot check {sorted(unknown)}; choose from {CHECKABLE}")
    problems: list[str] = []
    if "incar" in check:
        problems += compare_incar(
            Incar.from_file(_path(expected_dir, "INCAR")),
            Incar.from_file(_path(run_dir, "INCAR")),
            incar_exclude,
        )
    if "kpoints" in check:

        def read(folder: Path) -> Kpoints | None:
            path = _path(folder, "KPOINTS")
            return Kpoints.from_file(path) if path.exists() else None

        problems += compare_kpoints(read(expected_dir), read(run_dir))
    if "poscar" in check:
        problems += compare_poscar(
            Poscar.from_file(_path(expected_dir, "POSCAR")),
            Poscar.from_file(_path(run_dir, "POSCAR")),
        )
    if "potcar" in check:
        want, got = read_potcar_spec(expected_dir), read_potcar_spec(run_dir)
        if want != got:
            problems.append(f"POTCAR symbols {got}, expected {want}")
    return problems


def check_vasp_inputs(
    expected_dir: Path | str,
    run_dir: Path | str = ".",
    check: Sequence[str] = CHECKABLE,
    incar_exclude: Sequence[str] = (),
) -> None:
    """Raise :class:`VaspInputMismatchError` if the inputs differ (see compare_vasp_inputs)."""
    problems = compare_vasp_inputs(expected_dir, run_dir, check, incar_exclude)
    if problems:
        raise VaspInputMismatchError(
            f"VASP inputs in {str(run_dir)!r} differ from the reference {str(expected_dir)!r}:"
            "\n  - " + "\n  - ".join(problems)
        )


@dataclass(frozen=True)
class VaspReference:
    """Reference inputs and outputs of one fake VASP run, and which Makers it serves.

    Parameters
    ----------
    path
        Folder with ``inputs/`` and ``outputs/``.
    method, kind
        Match Makers whose input-set generator has this ``method``/``kind``
        (``None``: any).
    formula
        Match only structures with this reduced formula (``None``: any).
    check
        Inputs to compare.
    incar_exclude
        INCAR tags left out of the comparison.
    """

    path: Path
    method: str | None = None
    kind: str | None = None
    formula: str | None = None
    check: tuple[str, ...] = CHECKABLE
    incar_exclude: tuple[str, ...] = ()

    def matches(self, maker: Maker | None, formula: str | None) -> bool:
        """Whether this reference serves ``maker`` running on ``formula``."""
        generator = getattr(maker, "input_set_generator", None)
        wanted = {"method": self.method, "kind": self.kind}
        for attribute, value in wanted.items():
            if value is not None and getattr(generator, attribute, None) != value:
                return False
        return self.formula is None or self.formula == formula


@dataclass
class FakeVaspRun:
    """Record of one fake VASP run."""

    maker: Any
    reference: Path
    directory: Path
    run_vasp_kwargs: dict[str, Any]


@dataclass
class FakeVasp:
    """Replace atomate2's ``run_vasp`` by an input check and a copy of reference outputs."""

    references: list[VaspReference] = field(default_factory=list)
    runs: list[FakeVaspRun] = field(default_factory=list)

    def add(
        self,
        path: Path | str,
        *,
        method: str | None = None,
        kind: str | None = None,
        formula: str | None = None,
        check: Sequence[str] = CHECKABLE,
        incar_exclude: Sequence[str] = (),
    ) -> VaspReference:
        """Register a reference folder for the Makers matching ``method``/``kind``."""
        path = Path(path)
        for sub in ("inputs", "outputs"):
            if not (path / sub).is_dir():
                raise FileNotFoundError(f"fake VASP reference {str(path)!r} lacks {sub}/")
        reference = VaspReference(path, method, kind, formula, tuple(check), tuple(incar_exclude))
        self.references.append(reference)
        return reference

    def install(self, monkeypatch: Any) -> None:
        """Patch atomate2 (undone by ``monkeypatch`` at the end of the test).

        ``run_vasp`` becomes :meth:`run_vasp`; ``write_vasp_input_set`` writes a
        ``POTCAR.spec`` instead of the POTCAR (no POTCAR files are needed).
        """
        import atomate2.vasp.jobs.base as vasp_jobs_base
        from atomate2.vasp.files import write_vasp_input_set

        def write_with_potcar_spec(*args: Any, **kwargs: Any) -> None:
            kwargs["potcar_spec"] = True
            write_vasp_input_set(*args, **kwargs)

        monkeypatch.setattr(vasp_jobs_base, "run_vasp", self.run_vasp)
        monkeypatch.setattr(vasp_jobs_base, "write_vasp_input_set", write_with_potcar_spec)

    def reference_for(self, maker: Maker | None, formula: str | None) -> VaspReference:
        """Return the one reference that serves ``maker`` on ``formula``."""
        found = [ref for ref in self.references if ref.matches(maker, formula)]
        if len(found) == 1:
            return found[0]
        generator = getattr(maker, "input_set_generator", None)
        described = (
            f"{type(maker).__name__} (method={getattr(generator, 'method', None)!r}, "
            f"kind={getattr(generator, 'kind', None)!r}, formula={formula!r})"
        )
        if not found:
            registered = ", ".join(
                f"{r.path.name}[method={r.method}, kind={r.kind}, formula={r.formula}]"
                for r in self.references
            )
            raise VaspInputMismatchError(
                f"no fake VASP reference for {described}; registered: {registered or 'none'}"
            )
        raise VaspInputMismatchError(
            f"{len(found)} fake VASP references match {described}: "
            f"{[r.path.name for r in found]}; register them with a formula"
        )

    def run_vasp(self, **run_vasp_kwargs: Any) -> None:
        """Check the inputs in the current folder, then supply the reference outputs."""
        from jobflow import CURRENT_JOB

        directory = Path.cwd()
        maker = CURRENT_JOB.job.maker if CURRENT_JOB.job is not None else None
        formula = Poscar.from_file(_path(directory, "POSCAR")).structure.reduced_formula
        reference = self.reference_for(maker, formula)
        check_vasp_inputs(
            reference.path / "inputs", directory, reference.check, reference.incar_exclude
        )
        for source in sorted((reference.path / "outputs").iterdir()):
            if source.is_file():
                shutil.copy(source, directory / source.name)
        self.runs.append(FakeVaspRun(maker, reference.path, directory, dict(run_vasp_kwargs)))
        logger.info("fake VASP: inputs match %s; outputs copied", reference.path.name)
