"""GPAW: plane-wave PAW density-functional theory (PBE by default), run serially.

The engine exposes every setting that changes an energy (cutoff, Brillouin-zone
sampling, smearing, spin, SCF criteria, functional, PAW datasets) and records them, with
the GPAW version and the identity (MD5, as GPAW prints it) of each PAW dataset, in
:meth:`GPAWEngine.provenance`.

Brillouin-zone sampling
    Either a k-point density (``kpoint_density``, points per reciprocal Angstrom, ASE's
    convention: ``N_i = ceil(2 pi * density * |b_i|)`` with ``b_i`` the reciprocal
    lattice vectors without the 2 pi, and ``N_i = 1`` along non-periodic axes) or an
    explicit mesh (``kpoint_mesh``), always Gamma-centred. With a density, the mesh is
    fixed from the *starting* cell of each calculation (:func:`kpoint_mesh`), so a
    cell relaxation never jumps between meshes midway (the VASP convention).
Cell relaxations
    Plane-wave mode gives the analytic stress that atomate2's cell filter needs; the
    energy is at constant cutoff energy while the cell changes.
Energies
    The ``energy`` GPAW reports to ASE (and atomate2 stores) is the total energy
    extrapolated to zero smearing; forces and stress are derivatives of the free energy.
Parallelism
    The GPAW wheel built by ``CC=g++ pip install gpaw`` has no MPI: every calculation
    runs in one process, and the only parallelism is the threads of the system OpenBLAS
    that GPAW links (``OPENBLAS_NUM_THREADS``; all cores by default). Run several
    calculations at once only with ``OPENBLAS_NUM_THREADS=1``.
Text output
    GPAW's log of each calculation goes to a file in the current directory (the job
    directory under jobflow): ``gpaw.txt``, then ``gpaw-2.txt``, ... never to stdout.
"""

from __future__ import annotations

import hashlib
import logging
import math
from contextlib import contextmanager
from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np
from ase.calculators.calculator import Calculator, all_changes
from ase.data import chemical_symbols
from pydantic import Field, PositiveInt, field_validator, model_validator

from anodefree.errors import EngineError
from anodefree.provenance import CalculatorProvenance
from anodefree.workflows.engines.base import AseEngine, EngineRelaxMaker, package_version

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from ase import Atoms
    from jobflow import Maker
    from pymatgen.core import Structure

    from anodefree.tasks import CalculationTask

logger = logging.getLogger(__name__)

#: Elements whose PAW datasets anodefree's systems use; their identities are recorded in
#: every GPAW provenance, so that a changed dataset file changes the fingerprint.
PROJECT_ELEMENTS: tuple[str, ...] = ("Li", "Mg", "Ag", "S")

#: anodefree smearing name -> GPAW ``occupations`` entries (without the width).
SMEARINGS: dict[str, dict[str, Any]] = {
    "gaussian": {"name": "methfessel-paxton", "order": 0},
    "methfessel-paxton": {"name": "methfessel-paxton", "order": 1},
    "marzari-vanderbilt": {"name": "marzari-vanderbilt"},
    "fermi-dirac": {"name": "fermi-dirac"},
}

INSTALL_HINT = (
    "install it with `apt-get install libxc-dev libopenblas-dev` and "
    "`CC=g++ pip install gpaw gpaw-data` (or the `gpaw` extra of anodefree)"
)


class SCFConvergenceError(EngineError):
    """GPAW's self-consistency loop did not converge within ``max_scf_iterations``."""


@contextmanager
def scf_errors(engine: GPAWEngine, label: str, log_file: Path | str) -> Iterator[None]:
    """Turn GPAW's bare convergence error into an :class:`SCFConvergenceError`.

    Parameters
    ----------
    engine
        The engine whose calculator runs inside the block.
    label
        What is computed (a formula), for the message.
    log_file
        GPAW's text log of the calculation, named in the message.
    """
    from gpaw import ConvergenceError

    try:
        yield
    except ConvergenceError as exc:
        raise SCFConvergenceError(
            f"gpaw: the SCF of {label} did not converge within max_scf_iterations="
            f"{engine.max_scf_iterations} (see {log_file}); raise max_scf_iterations, "
            f"increase smearing_width or loosen the scf_* criteria"
        ) from exc


def kpoint_mesh(
    structure: Structure | Atoms, density: float, tolerance: float = 1e-6
) -> tuple[int, int, int]:
    """Return the Monkhorst-Pack mesh that reaches a k-point density on a cell.

    Parameters
    ----------
    structure
        A pymatgen structure or ASE atoms (only the cell and periodicity are used).
    density
        K-points per reciprocal Angstrom (ASE's convention, 2 pi included).
    tolerance
        Subtracted before rounding up, so that a product that is an integer up to
        rounding noise does not gain a point.

    Returns
    -------
    tuple of int
        Points along each reciprocal lattice vector; 1 along non-periodic axes.
    """
    if density <= 0:
        raise EngineError(f"gpaw: k-point density must be positive, got {density!r}")
    if hasattr(structure, "lattice"):  # pymatgen
        cell = np.asarray(structure.lattice.matrix)
        pbc = tuple(getattr(structure, "pbc", (True, True, True)))
    else:
        cell = np.asarray(structure.cell)
        pbc = tuple(structure.pbc)
    reciprocal = np.linalg.inv(cell).T  # rows b_i with a_i . b_j = delta_ij
    mesh = []
    for axis in range(3):
        if not pbc[axis]:
            mesh.append(1)
            continue
        n = 2 * math.pi * float(np.linalg.norm(reciprocal[axis])) * density
        mesh.append(max(1, math.ceil(n - tolerance)))
    return (mesh[0], mesh[1], mesh[2])


def unique_log_path(directory: Path | str = ".", stem: str = "gpaw", suffix: str = ".txt") -> Path:
    """Return ``directory/stem.txt``, or ``stem-2.txt``, ... whichever does not exist yet."""
    directory = Path(directory)
    path = directory / f"{stem}{suffix}"
    counter = 2
    while path.exists():
        path = directory / f"{stem}-{counter}{suffix}"
        counter += 1
    return path


@lru_cache(maxsize=64)
def _dataset_identity(filename: str, setup_paths: tuple[str, ...]) -> tuple[str, str]:
    """Locate a PAW dataset as GPAW does; return (file path, MD5 of its content)."""
    from gpaw.setup_data import search_for_file

    del setup_paths  # part of the cache key only: a changed search path re-resolves
    try:
        path, source = search_for_file(filename)
    except (FileNotFoundError, RuntimeError) as exc:
        import gpaw

        raise EngineError(
            f"gpaw: PAW dataset {filename!r} not found in GPAW's setup paths "
            f"{[str(p) for p in gpaw.setup_paths]}; install the gpaw-data package "
            f"(pip install gpaw-data) or set GPAW_SETUP_PATH"
        ) from exc
    return str(path), hashlib.md5(source).hexdigest()  # noqa: S324 - GPAW's dataset id


class GPAWEngine(AseEngine):
    """GPAW plane-wave PAW DFT (PBE by default), one calculator per structure."""

    name: Literal["gpaw"] = "gpaw"
    package: ClassVar[str] = "gpaw"
    #: k-point meshes and text logs belong to one structure: never share a calculator.
    reusable_calculator: ClassVar[bool] = False

    xc: Literal["PBE", "LDA", "RPBE", "revPBE"] = Field(
        "PBE",
        description="Exchange-correlation functional; gpaw-data ships PAW datasets for "
        "these four only (PBEsol would need generated datasets).",
    )
    ecut: float = Field(
        500.0,
        ge=100.0,
        le=5000.0,
        description="Plane-wave cutoff energy in eV (500 eV as in the reference method).",
    )
    kpoint_density: float | None = Field(
        5.0,
        gt=0,
        le=100.0,
        description="K-points per reciprocal Angstrom (ASE convention, 2 pi included); "
        "5.0 puts the bcc Li energy within about 1.5 meV/atom of much denser meshes "
        "at 0.1 eV smearing. Leave None when giving kpoint_mesh.",
    )
    kpoint_mesh: tuple[PositiveInt, PositiveInt, PositiveInt] | None = Field(
        None,
        description="Explicit Gamma-centred Monkhorst-Pack mesh (replaces kpoint_density).",
    )
    smearing: Literal["gaussian", "methfessel-paxton", "marzari-vanderbilt", "fermi-dirac"] = Field(
        "gaussian",
        description="Occupation smearing: gaussian (Methfessel-Paxton order 0, as "
        "the reference method), methfessel-paxton (order 1), marzari-vanderbilt "
        "or fermi-dirac.",
    )
    smearing_width: float = Field(
        0.1, gt=0, le=2.0, description="Smearing width in eV (0.1 eV as the reference method)."
    )
    spin_polarized: bool = Field(
        False,  # noqa: FBT003 - pydantic default
        description="Spin-polarised calculation; off for the non-magnetic Li metals "
        "(initial magnetic moments of the structure are then ignored).",
    )
    scf_energy: float = Field(
        1e-5,
        gt=0,
        description="SCF criterion: largest total-energy change over the last three "
        "iterations, in eV per valence electron (1e-5 is 0.5 meV for a 54-atom Li cell).",
    )
    scf_density: float = Field(
        1e-4,
        gt=0,
        description="SCF criterion: integrated absolute density change, in electrons "
        "per valence electron (GPAW's default).",
    )
    scf_eigenstates: float = Field(
        4e-8,
        gt=0,
        description="SCF criterion: eigenstate residual in eV^2 per valence electron "
        "(GPAW's default).",
    )
    scf_forces: float | None = Field(
        None,
        gt=0,
        description="Optional SCF criterion: largest change of any force in eV/A "
        "(costs a force evaluation per SCF step).",
    )
    max_scf_iterations: PositiveInt = Field(
        333, description="SCF iterations before GPAW raises a convergence error."
    )
    setups: dict[str, str] = Field(
        default_factory=dict,
        description="PAW dataset per element, e.g. {'Ag': '11'} for Ag.11.PBE "
        "(key 'default' for all); GPAW's standard datasets when empty.",
    )
    log_name: str = Field(
        "gpaw",
        pattern=r"^[A-Za-z0-9_.-]+$",
        description="Stem of the text log written to the working directory.",
    )

    @field_validator("setups")
    @classmethod
    def _known_setups(cls, value: dict[str, str]) -> dict[str, str]:
        for key, setup in value.items():
            if key != "default" and key not in chemical_symbols[1:]:
                raise ValueError(f"{key!r} is neither an element symbol nor 'default'")
            if not isinstance(setup, str) or not setup or "/" in setup:
                raise ValueError(f"dataset name {setup!r} for {key!r} is not valid")
        return value

    @model_validator(mode="before")
    @classmethod
    def _one_sampling(cls, data: Any) -> Any:
        """Let a mesh replace the default density; giving both explicitly is an error."""
        if not isinstance(data, dict) or data.get("kpoint_mesh") is None:
            return data
        if data.get("kpoint_density") is not None:
            raise ValueError(
                f"give either kpoint_density ({data['kpoint_density']!r}) or kpoint_mesh "
                f"({data['kpoint_mesh']!r}), not both"
            )
        return {**data, "kpoint_density": None}

    @model_validator(mode="after")
    def _some_sampling(self) -> GPAWEngine:
        if self.kpoint_mesh is None and self.kpoint_density is None:
            raise ValueError("give kpoint_density or kpoint_mesh (both are None)")
        return self

    # ------------------------------------------------------------------ settings
    def setup_name(self, symbol: str) -> str:
        """Return the PAW dataset name used for ``symbol`` ('paw' is GPAW's standard)."""
        return self.setups.get(symbol, self.setups.get("default", "paw"))

    def dataset_filename(self, symbol: str) -> str:
        """Return the file stem GPAW looks up for ``symbol``, e.g. ``Li.PBE``."""
        name = self.setup_name(symbol)
        return f"{symbol}.{self.xc}" if name == "paw" else f"{symbol}.{name}.{self.xc}"

    def paw_datasets(self, symbols: list[str] | tuple[str, ...]) -> dict[str, str]:
        """Identify the PAW dataset of each element: ``{'Li': 'Li.PBE.gz md5:830b...'}``.

        Raises
        ------
        EngineError
            If GPAW is missing or a dataset file cannot be found, naming the file.
        """
        gpaw = self._import_gpaw()
        identities = {}
        for symbol in sorted(set(symbols)):
            path, md5 = _dataset_identity(
                self.dataset_filename(symbol), tuple(str(p) for p in gpaw.setup_paths)
            )
            identities[symbol] = f"{Path(path).name} md5:{md5}"
        return identities

    def kpoints_for(self, structure: Structure | Atoms) -> tuple[int, int, int]:
        """Return the k-point mesh this engine uses for ``structure``."""
        if self.kpoint_mesh is not None:
            return self.kpoint_mesh
        assert self.kpoint_density is not None  # guaranteed by the validator
        return kpoint_mesh(structure, self.kpoint_density)

    def gpaw_parameters(self, structure: Structure | Atoms | None = None) -> dict[str, Any]:
        """Return the keyword arguments of ``gpaw.GPAW`` (without the text log).

        With a structure and a k-point density, the mesh is fixed from its cell;
        without one, GPAW derives it from the density for every new cell.
        """
        if self.kpoint_mesh is not None or structure is not None:
            kpts: dict[str, Any] = {"size": self.kpoints_for(structure), "gamma": True}
        else:
            kpts = {"density": self.kpoint_density, "gamma": True}
        convergence: dict[str, float] = {
            "energy": self.scf_energy,
            "density": self.scf_density,
            "eigenstates": self.scf_eigenstates,
        }
        if self.scf_forces is not None:
            convergence["forces"] = self.scf_forces
        parameters: dict[str, Any] = {
            "mode": {"name": "pw", "ecut": self.ecut},
            "xc": self.xc,
            "kpts": kpts,
            "occupations": {**SMEARINGS[self.smearing], "width": self.smearing_width},
            "spinpol": self.spin_polarized,
            "convergence": convergence,
            "maxiter": self.max_scf_iterations,
        }
        if self.setups:
            parameters["setups"] = dict(self.setups)
        return parameters

    # --------------------------------------------------------------- the contract
    def provenance(self) -> CalculatorProvenance:
        """Describe GPAW, its version, the PAW datasets and every setting."""
        version = package_version(self.package)
        datasets_version = package_version("gpaw-data")
        datasets: dict[str, str] = {}
        for symbol in PROJECT_ELEMENTS:
            try:
                datasets.update(self.paw_datasets([symbol]))
            except EngineError:
                datasets[symbol] = f"{self.dataset_filename(symbol)} missing"
        return CalculatorProvenance(
            engine=self.name,
            package=self.package,
            version=version,
            model=f"{self.xc} PAW, plane waves (gpaw-data {datasets_version})",
            settings={
                "mode": "pw",
                "xc": self.xc,
                "ecut_eV": self.ecut,
                "kpoint_density_per_A": self.kpoint_density,
                "kpoint_mesh": list(self.kpoint_mesh) if self.kpoint_mesh else None,
                "kpoint_gamma_centred": True,
                "smearing": self.smearing,
                "smearing_width_eV": self.smearing_width,
                "spin_polarized": self.spin_polarized,
                "scf_energy_eV_per_electron": self.scf_energy,
                "scf_density_electrons_per_electron": self.scf_density,
                "scf_eigenstates_eV2_per_electron": self.scf_eigenstates,
                "scf_forces_eV_per_A": self.scf_forces,
                "max_scf_iterations": self.max_scf_iterations,
                "setups": dict(sorted(self.setups.items())),
                "paw_datasets": datasets,
                "gpaw_data_version": datasets_version,
                "energy": "extrapolated to zero smearing",
                "parallel": "serial (no MPI), OpenBLAS threads",
            },
        )

    def check_available(self) -> None:
        """Check that GPAW, its C extension and the Li PAW dataset for ``xc`` are found.

        Raises
        ------
        EngineError
            Naming what is missing and how to install it.
        """
        self._import_gpaw()
        package_version("gpaw-data")
        self.paw_datasets(["Li"])

    def build_calculator(
        self,
        structure: Structure | Atoms | None = None,
        log_file: Path | str | None = None,
    ) -> Any:
        """Construct a new GPAW calculator.

        Parameters
        ----------
        structure
            The structure it will compute: fixes the k-point mesh from its cell and
            checks that every element has a PAW dataset. Without it, GPAW derives the
            mesh from the density for each cell it meets.
        log_file
            GPAW's text log; by default a new ``<log_name>.txt`` (``-2``, ``-3``, ...) in
            the current directory.

        Returns
        -------
        gpaw.new.ase_interface.ASECalculator
            An ASE-compatible calculator.
        """
        gpaw = self._import_gpaw()
        if structure is not None:
            symbols = (
                [site.specie.symbol for site in structure]
                if hasattr(structure, "lattice")
                else structure.get_chemical_symbols()
            )
            self.paw_datasets(symbols)
        path = Path(log_file) if log_file is not None else unique_log_path(".", self.log_name)
        parameters = self.gpaw_parameters(structure)
        logger.info("GPAW calculator: kpts %s, log %s", parameters["kpts"], path)
        return gpaw.GPAW(txt=str(path), **parameters)

    def calculator(self) -> SharedGPAWCalculator:
        """Return a GPAW calculator for direct use on several structures (NEB, phonons).

        GPAW fixes its point group from the first structure it computes and refuses
        positions that break it (``SymmetryBrokenError``: the next NEB image, a phonon
        displacement); the returned calculator then starts a new GPAW calculation for
        the new positions, with their own symmetry.
        """
        return SharedGPAWCalculator(self)

    def relax_maker(self, task: CalculationTask) -> Maker:
        """Return atomate2's force-field relax Maker with a GPAW calculator per structure."""
        maker = super().relax_maker(task)
        values = {f.name: getattr(maker, f.name) for f in fields(maker) if f.init}
        return GPAWRelaxMaker(**values)

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _import_gpaw() -> Any:
        try:
            import gpaw
            from gpaw import cgpaw  # noqa: F401 - the compiled extension
        except ImportError as exc:
            raise EngineError(f"gpaw: GPAW cannot be imported ({exc}); {INSTALL_HINT}") from exc
        return gpaw


class SharedGPAWCalculator(Calculator):
    """An ASE calculator that evaluates GPAW on any sequence of structures.

    It keeps one GPAW calculation (reusing its wave functions between similar
    structures) and starts a new one whenever new positions break the point group of
    the current one; ``rebuilds`` counts these restarts. Energies and forces are those
    of a fresh GPAW calculation of each structure.
    """

    implemented_properties: ClassVar[list[str]] = ["energy", "free_energy", "forces", "stress"]

    def __init__(self, engine: GPAWEngine) -> None:
        super().__init__()
        self.engine = engine
        self.rebuilds = 0
        self._gpaw: Any = None

    def calculate(
        self,
        atoms: Atoms | None = None,
        properties: Sequence[str] | None = None,
        system_changes: Sequence[str] = tuple(all_changes),
    ) -> None:
        """Evaluate GPAW; start a new calculation if the positions break its symmetry."""
        from gpaw.new.symmetry import SymmetryBrokenError

        super().calculate(atoms, properties, system_changes)
        wanted = [p for p in (properties or ["energy"]) if p in self.implemented_properties]
        structure = self.atoms.copy()
        if not self.engine.spin_polarized:
            structure.set_initial_magnetic_moments(None)
        label = structure.get_chemical_formula()
        if self._gpaw is None:
            self._gpaw, self._log = self._new(structure)
        try:
            with scf_errors(self.engine, label, self._log):
                self._gpaw.calculate(structure, wanted, list(system_changes))
        except SymmetryBrokenError:
            self.rebuilds += 1
            self._gpaw, self._log = self._new(structure)
            with scf_errors(self.engine, label, self._log):
                self._gpaw.calculate(structure, wanted, list(all_changes))
        self.results = {p: self._gpaw.get_property(p, structure) for p in wanted}
        if "energy" in self.results and "free_energy" not in self.results:
            self.results["free_energy"] = self._gpaw.get_property("free_energy", structure)

    def _new(self, structure: Atoms) -> tuple[Any, Path]:
        log = unique_log_path(".", self.engine.log_name)
        return self.engine.build_calculator(structure, log_file=log), log


@dataclass
class GPAWRelaxMaker(EngineRelaxMaker):
    """atomate2's force-field relax Maker with a new GPAW calculator for each structure.

    The calculator's k-point mesh is fixed from the starting cell and its text log is
    written to the job directory.
    """

    name: str = "gpaw relax"
    blas_threads: int | None = None  # GPAW's only parallelism here is OpenBLAS threads

    def run_ase(self, mol_or_struct: Any, prev_dir: str | Path | None = None) -> Any:
        """Build a calculator for this structure, then relax as atomate2 does."""
        engine = self.engine
        if not isinstance(engine, GPAWEngine):
            raise EngineError(f"GPAWRelaxMaker needs a GPAWEngine, got {type(engine).__name__}")
        structure = mol_or_struct
        if not engine.spin_polarized and "magmom" in getattr(structure, "site_properties", {}):
            structure = structure.copy()
            structure.remove_site_property("magmom")
        log_file = unique_log_path(".", engine.log_name)
        self._calculator = engine.build_calculator(structure, log_file=log_file)
        label = getattr(getattr(structure, "composition", None), "reduced_formula", "structure")
        with scf_errors(engine, label, log_file):
            return super().run_ase(structure, prev_dir=prev_dir)
