"""VASP input sets of the two reference methods, built on atomate2's input-set generator.

=================  =========================================================================
method             settings (``../shared/science.md``, "Methods of the reference studies")
=================  =========================================================================
``pbe_interface``  PBE (``GGA = PE``), PAW, ENCUT 500 eV, EDIFF 1e-6 eV, EDIFFG -0.01 eV/A
                   (forces), a single Gamma point (KPOINTS Gamma 1x1x1), Gaussian smearing
                   (ISMEAR 0) with SIGMA 0.1 eV. For interfaces and point defects.
``pbesol_hull``    PBEsol (``GGA = PS``), PAW, ENCUT 520 eV, EDIFF 1e-6 eV, ionic relaxation
                   until the energy changes by less than 0.5 meV/atom: EDIFFG > 0 is VASP's
                   *energy* criterion for the whole cell, so EDIFFG = 5e-4 eV x N_atoms.
                   Gamma-centred k-mesh with spacing 0.15 1/A (see below), Methfessel-Paxton
                   smearing (ISMEAR 1) with SIGMA 0.1 eV. For the Li-Ag convex hull.
=================  =========================================================================

Settings the reference studies do not state are chosen here and are the same in both
methods: ``PREC = Accurate`` (FFT grids free of wrap-around errors, accurate forces),
``ALGO = Normal`` (blocked Davidson, robust for metals at EDIFF 1e-6), ``NELM = 200``,
``ISPIN = 1`` (Li, Mg, Ag and S compounds are non-magnetic), ``LASPH = True``
(aspherical gradient corrections inside the PAW spheres; matters for Ag d states),
``LREAL = False`` (reciprocal-space projectors: no real-space projection error), and
``LWAVE = LCHARG = False`` (no large restart files). pymatgen adds ``LMAXMIX = 4`` for
cells with d elements (Ag), the VASP recommendation for charge-density mixing.

The CalculationTask kind maps onto the ionic settings:

================  ============================================================
kind              INCAR
================  ============================================================
static            NSW = 0, IBRION = -1 (no EDIFFG, no ISIF)
relax_positions   NSW = max_steps, IBRION = 2, ISIF = 2 (fixed cell)
relax_full        NSW = max_steps, IBRION = 2, ISIF = 3 (cell shape and volume)
================  ============================================================

K-point choice of ``pbesol_hull``: a Gamma-centred mesh with
``n_i = max(1, ceil(|b_i| / 0.15 1/A))``, ``|b_i|`` including the 2 pi (VASP's KSPACING
rule), i.e. a reciprocal-space density of about 1 / 0.15^3 = 296 k-points per 1/A^3.
This gives 18 x 18 x 18 for bcc Li, 14 x 14 x 14 for B2 LiAg and 5 x 5 x 5 for the
52-atom gamma-brass cells (about 5500-7000 k-points per reciprocal atom): between the
Materials Project's 1000 and OQMD's 8000 per reciprocal atom, the dense end because the
hull distinguishes phases by ~1 meV/atom and all Li-Ag phases are metals. The spacing is
a chosen default, not converged here (VASP cannot run on this machine): converge it for
production with ``kpoint_spacing``. The same spacing for every phase keeps the sampling
error consistent across the hull.

POTCARs: the PBE.54 set (``POT_GGA_PAW_PBE_54``) for both methods; PBEsol runs use the
PBE PAW potentials with ``GGA = PS``, the usual practice. Symbols: ``Li_sv`` (1s
semicore; its ENMAX of 499 eV is why the reference cutoff is 500 eV), ``Mg_pv``, ``Ag``,
``S`` (the Materials Project's choices), other elements from pymatgen's
``MPScanRelaxSet`` (PBE_54) table.
"""

from __future__ import annotations

import contextlib
import logging
import math
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, get_args

from atomate2.vasp.sets.base import VaspInputGenerator
from pymatgen.core import SETTINGS as PMG_SETTINGS
from pymatgen.io.vasp import Kpoints
from pymatgen.io.vasp.inputs import POTCAR_FUNCTIONAL_MAP
from pymatgen.io.vasp.sets import MPScanRelaxSet

from anodefree.errors import EngineError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pymatgen.core import Structure
    from pymatgen.io.vasp import Incar, Potcar
    from pymatgen.io.vasp.inputs import VaspInput

logger = logging.getLogger(__name__)

MethodName = Literal["pbe_interface", "pbesol_hull"]
METHODS: tuple[str, ...] = get_args(MethodName)

#: The POTCAR set of both methods (pymatgen name; folder ``POT_GGA_PAW_PBE_54``).
POTCAR_FUNCTIONAL = "PBE_54"

#: POTCAR symbols of the elements of this project; others come from MPScanRelaxSet.
POTCAR_SYMBOLS: dict[str, str] = {
    **MPScanRelaxSet.CONFIG["POTCAR"],
    "Li": "Li_sv",
    "Mg": "Mg_pv",
    "Ag": "Ag",
    "S": "S",
}

#: Energy criterion of ``pbesol_hull``: 0.5 meV/atom, in eV per atom.
HULL_ENERGY_TOLERANCE_PER_ATOM = 5e-4

#: Default k-point spacing of ``pbesol_hull`` in 1/A (2 pi included, VASP's KSPACING).
HULL_KPOINT_SPACING = 0.15

#: Force criterion of ``pbe_interface`` in eV/A (EDIFFG = -0.01).
INTERFACE_FMAX = 0.01

_COMMON_INCAR: dict[str, Any] = {
    "PREC": "Accurate",
    "ALGO": "Normal",
    "EDIFF": 1e-6,
    "NELM": 200,
    "ISPIN": 1,
    "LASPH": True,
    "LREAL": False,
    "LWAVE": False,
    "LCHARG": False,
}

#: The electronic-structure INCAR of each method (the ionic part comes from the task).
METHOD_INCAR: dict[str, dict[str, Any]] = {
    "pbe_interface": {**_COMMON_INCAR, "GGA": "PE", "ENCUT": 500, "ISMEAR": 0, "SIGMA": 0.1},
    "pbesol_hull": {**_COMMON_INCAR, "GGA": "PS", "ENCUT": 520, "ISMEAR": 1, "SIGMA": 0.1},
}

#: Human-readable name of each method's functional.
METHOD_FUNCTIONAL: dict[str, str] = {"pbe_interface": "PBE", "pbesol_hull": "PBEsol"}

#: INCAR keys that change an energy: custodian or a site-wide update must not alter them.
ENERGY_DEFINING_KEYS = ("GGA", "ENCUT", "ISMEAR", "SIGMA", "PREC", "LASPH", "LREAL", "ISPIN")

#: INCAR keys the CalculationTask controls; user_incar_settings may not set them.
TASK_CONTROLLED_KEYS = ("NSW", "ISIF")

_KINDS = ("static", "relax_positions", "relax_full")


def method_config(method: str) -> dict[str, Any]:
    """Return the atomate2/pymatgen ``config_dict`` of a reference method.

    Raises
    ------
    EngineError
        If ``method`` is not one of :data:`METHODS`.
    """
    if method not in METHODS:
        raise EngineError(f"unknown VASP method {method!r}; choose one of {', '.join(METHODS)}")
    return {
        "INCAR": dict(METHOD_INCAR[method]),
        "KPOINTS": {},  # set by ReferenceMethodSetGenerator.kpoints_updates
        "POTCAR": dict(POTCAR_SYMBOLS),
        "POTCAR_FUNCTIONAL": POTCAR_FUNCTIONAL,
    }


def uses_force_criterion(method: str) -> bool:
    """Whether the method stops relaxations on forces (EDIFFG < 0) rather than energy."""
    return method == "pbe_interface"


def hull_ediffg(n_atoms: int) -> float:
    """EDIFFG of ``pbesol_hull`` for a cell of ``n_atoms`` atoms (eV, energy criterion)."""
    return round(HULL_ENERGY_TOLERANCE_PER_ATOM * n_atoms, 10)


def gamma_mesh(structure: Structure, spacing: float) -> tuple[int, int, int]:
    """Gamma-centred mesh divisions for a k-point spacing, by VASP's KSPACING rule.

    Parameters
    ----------
    structure
        The cell.
    spacing
        Largest allowed distance between k-points in 1/A, 2 pi included.

    Returns
    -------
    tuple of int
        ``max(1, ceil(|b_i| / spacing))`` for the three reciprocal lattice vectors.
    """
    lengths = structure.lattice.reciprocal_lattice.abc  # 2 pi included
    # The 1e-9 keeps a length that is an exact multiple of the spacing from rounding up.
    return tuple(max(1, math.ceil(length / spacing - 1e-9)) for length in lengths)  # type: ignore[return-value]


def potcar_directory(potcar_dir: str | None = None) -> str | None:
    """Return the POTCAR root folder: the explicit one, else ``PMG_VASP_PSP_DIR``."""
    return potcar_dir or PMG_SETTINGS.get("PMG_VASP_PSP_DIR")


def potcar_functional_folder() -> str:
    """Name of the POTCAR set's subfolder, honouring pymatgen's ``PMG_VASP_PSP_SUB_DIRS``."""
    return PMG_SETTINGS.get("PMG_VASP_PSP_SUB_DIRS", {}).get(
        POTCAR_FUNCTIONAL, POTCAR_FUNCTIONAL_MAP[POTCAR_FUNCTIONAL]
    )


@contextlib.contextmanager
def _psp_dir(potcar_dir: str | None) -> Iterator[None]:
    """Point pymatgen at ``potcar_dir`` for the duration of the block."""
    if potcar_dir is None:
        yield
        return
    missing = object()
    previous = PMG_SETTINGS.get("PMG_VASP_PSP_DIR", missing)
    PMG_SETTINGS["PMG_VASP_PSP_DIR"] = potcar_dir
    try:
        yield
    finally:
        if previous is missing:
            PMG_SETTINGS.pop("PMG_VASP_PSP_DIR", None)
        else:
            PMG_SETTINGS["PMG_VASP_PSP_DIR"] = previous


@dataclass
class ReferenceMethodSetGenerator(VaspInputGenerator):
    """atomate2 VASP input-set generator for one reference method and one task kind.

    Everything else (INCAR assembly, POSCAR, POTCAR, writing the files) is atomate2's
    and pymatgen's own; this class supplies the method's settings and the ionic
    settings of the task.

    Parameters
    ----------
    method
        ``pbe_interface`` or ``pbesol_hull``.
    kind
        ``static``, ``relax_positions`` or ``relax_full``.
    fmax
        Force criterion in eV/A (EDIFFG = -fmax); only for ``pbe_interface``
        (``None``: 0.01 eV/A). ``pbesol_hull`` stops on energy and refuses it.
    max_steps
        Maximum number of ionic steps (NSW).
    kpoint_spacing
        K-point spacing in 1/A (2 pi included) of a Gamma-centred mesh. ``None``: the
        method's default (Gamma only for ``pbe_interface``, 0.15 1/A for
        ``pbesol_hull``).
    fixed_indices
        Sites held fixed (selective dynamics ``F F F``) when the structure does not
        already carry a ``selective_dynamics`` site property.
    potcar_dir
        POTCAR root folder; ``None``: pymatgen's ``PMG_VASP_PSP_DIR``.
    **kwargs
        The fields of atomate2's ``VaspInputGenerator``; ``user_incar_settings``
        overrides the method's INCAR.
    """

    method: MethodName = "pbe_interface"
    kind: Literal["static", "relax_positions", "relax_full"] = "relax_positions"
    fmax: float | None = None
    max_steps: int = 500
    kpoint_spacing: float | None = None
    fixed_indices: tuple[int, ...] = ()
    potcar_dir: str | None = None
    # Overrides of atomate2's defaults, so that the inputs are exactly the method's:
    # no smearing, spin or k-point choices from a previous run or a band gap guess.
    config_dict: dict = field(default_factory=dict)
    # Keep the sites in the caller's order: fixed_indices, layer and solute indices
    # keep their meaning and the final structure matches the ASE engines' site order.
    # pymatgen writes one POSCAR species block (and POTCAR entry) per run of an element.
    sort_structure: bool = False
    force_gamma: bool = True
    auto_ismear: bool = False
    auto_ispin: bool = False
    auto_lreal: bool = False
    auto_metal_kpoints: bool = False
    auto_kspacing: bool = False
    inherit_incar: bool = False

    def __post_init__(self) -> None:
        """Validate the settings and install the method's configuration."""
        config = method_config(self.method)
        if self.config_dict and self.config_dict != config:
            raise EngineError(
                f"the input set of method {self.method!r} is fixed; change INCAR settings "
                "with user_incar_settings instead of config_dict"
            )
        self.config_dict = config
        if self.kind not in _KINDS:
            raise EngineError(f"unknown calculation kind {self.kind!r}; choose one of {_KINDS}")
        if self.fmax is not None:
            if not uses_force_criterion(self.method):
                raise EngineError(
                    f"method {self.method!r} stops relaxations on the energy change "
                    f"({HULL_ENERGY_TOLERANCE_PER_ATOM * 1e3:g} meV/atom, EDIFFG > 0), not "
                    f"on forces: fmax={self.fmax} cannot be honoured"
                )
            if self.fmax <= 0:
                raise EngineError(f"fmax must be positive (eV/A), got {self.fmax}")
        if self.max_steps < 1:
            raise EngineError(f"max_steps must be at least 1, got {self.max_steps}")
        if self.kpoint_spacing is not None and self.kpoint_spacing <= 0:
            raise EngineError(f"kpoint_spacing must be positive (1/A), got {self.kpoint_spacing}")
        self.fixed_indices = tuple(int(i) for i in self.fixed_indices)
        super().__post_init__()

    # --- what the method and the task contribute -------------------------------------

    @property
    def ediffg(self) -> float | None:
        """EDIFFG of a relaxation: -fmax (eV/A) or +0.5 meV x N_atoms (eV); else None."""
        if self.kind == "static":
            return None
        if uses_force_criterion(self.method):
            return -(self.fmax if self.fmax is not None else INTERFACE_FMAX)
        if self.structure is None:
            raise EngineError("EDIFFG of pbesol_hull needs the structure (number of atoms)")
        return hull_ediffg(len(self.structure))

    @property
    def incar_updates(self) -> dict:
        """The ionic settings of the task kind (applied after the method's INCAR)."""
        if self.kind == "static":
            return {"NSW": 0, "IBRION": -1, "ISIF": None, "EDIFFG": None}
        return {
            "NSW": self.max_steps,
            "IBRION": 2,
            "ISIF": 3 if self.kind == "relax_full" else 2,
            "EDIFFG": self.ediffg,
        }

    @property
    def kpoints_updates(self) -> Kpoints:
        """Gamma only, or a Gamma-centred mesh of the chosen spacing."""
        spacing = self.kpoint_spacing
        if spacing is None and self.method == "pbe_interface":
            kpoints = Kpoints.gamma_automatic((1, 1, 1))
            kpoints.comment = "Gamma point only (reference method pbe_interface)"
            return kpoints
        spacing = spacing if spacing is not None else HULL_KPOINT_SPACING
        if self.structure is None:
            raise EngineError("a k-point mesh from a spacing needs the structure")
        mesh = gamma_mesh(self.structure, spacing)
        kpoints = Kpoints.gamma_automatic(mesh)
        kpoints.comment = f"Gamma-centred mesh, spacing {spacing:g} 1/A (2 pi included)"
        return kpoints

    @property
    def incar(self) -> Incar:
        """Return pymatgen's INCAR, with IBRION = -1 kept explicit for static runs."""
        with warnings.catch_warnings():
            # pymatgen warns about Gaussian smearing wider than 0.05 eV in relaxations of
            # metals; SIGMA = 0.1 eV is the reference method's choice, recorded as such.
            warnings.filterwarnings("ignore", message=r".*ISMEAR = 0 with a small SIGMA.*")
            incar = super().incar
        if self.kind == "static" and "IBRION" not in self.user_incar_settings:
            # pymatgen drops IBRION when NSW = 0; VASP's default is then -1 anyway, but
            # the INCAR should say what the run does.
            incar["IBRION"] = -1
        return incar

    # --- structure, POTCAR ----------------------------------------------------------

    def get_input_set(
        self,
        structure: Structure | None = None,
        prev_dir: str | None = None,
        potcar_spec: bool = False,
    ) -> VaspInput:
        """Return the VASP inputs, marking ``fixed_indices`` as selective dynamics."""
        if structure is not None and self.fixed_indices:
            structure = self._with_fixed_atoms(structure)
        if structure is not None and len(structure) > 0:
            self._warn_gamma_only(structure)
        return super().get_input_set(structure, prev_dir=prev_dir, potcar_spec=potcar_spec)

    def _with_fixed_atoms(self, structure: Structure) -> Structure:
        n_sites = len(structure)
        bad = [i for i in self.fixed_indices if not 0 <= i < n_sites]
        if bad:
            raise EngineError(f"fixed atom indices {bad} outside the structure's {n_sites} sites")
        wanted = [[i not in self.fixed_indices] * 3 for i in range(n_sites)]
        existing = structure.site_properties.get("selective_dynamics")
        if existing is not None:
            if [[bool(f) for f in flags] for flags in existing] != wanted:
                raise EngineError(
                    "the structure's selective_dynamics disagree with fixed_indices "
                    f"{list(self.fixed_indices)}"
                )
            return structure
        structure = structure.copy()
        structure.add_site_property("selective_dynamics", wanted)
        return structure

    def _warn_gamma_only(self, structure: Structure) -> None:
        if self.method != "pbe_interface" or self.kpoint_spacing is not None:
            return
        shortest = min(structure.lattice.abc)
        if shortest < 8.0:
            logger.warning(
                "pbe_interface samples only the Gamma point, meant for large interface and "
                "defect supercells; this cell's shortest axis is %.2f A: set kpoint_spacing "
                "for small cells",
                shortest,
            )

    @property
    def potcar(self) -> Potcar:
        """The POTCAR from ``potcar_dir`` (or PMG_VASP_PSP_DIR), with clear errors."""
        folder = potcar_directory(self.potcar_dir)
        if folder is None:
            raise EngineError(
                "no POTCAR directory configured: set the vasp engine's potcar_dir or "
                "pymatgen's PMG_VASP_PSP_DIR"
            )
        try:
            with _psp_dir(self.potcar_dir):
                return super().potcar
        except (OSError, ValueError, RuntimeError) as exc:
            raise EngineError(
                f"cannot assemble the POTCAR {self.potcar_symbols} from {folder!r} "
                f"({potcar_functional_folder()}): {exc}"
            ) from exc
