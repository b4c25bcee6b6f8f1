"""Write the synthetic VASP reference outputs of the fake-VASP test fixtures.

Run from the repository root (the outputs are committed; re-run only to change them)::

    .venv/bin/python tests/data/vasp/make_reference_outputs.py

Every number below is chosen by hand to exercise the parser and the convergence logic of
the VASP engine; none is a physical result. The ``inputs/`` folders next to this script
are handwritten from ../shared/science.md and are what the fake runner compares the
generated inputs against; this script only reads them to echo them in ``vasprun.xml``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from pymatgen.io.vasp import Incar, Kpoints, Poscar

from anodefree.workflows.engines.vasp_synthetic_outputs import IonicStepData, write_vasp_outputs

if TYPE_CHECKING:
    from pymatgen.core import Structure

HERE = Path(__file__).parent


def _inputs(case: str) -> tuple[Incar, Kpoints, Poscar, list[str]]:
    folder = HERE / case / "inputs"
    symbols = (folder / "POTCAR.spec").read_text().split()
    return (
        Incar.from_file(folder / "INCAR"),
        Kpoints.from_file(folder / "KPOINTS"),
        Poscar.from_file(folder / "POSCAR"),
        symbols,
    )


def _moved(structure: Structure, dz: dict[int, float]) -> Structure:
    """Copy of ``structure`` with sites displaced along z by ``dz`` (A)."""
    moved = structure.copy()
    for index, shift in dz.items():
        moved.translate_sites([index], [0.0, 0.0, shift], frac_coords=False, to_unit_cell=False)
    return moved


def _interface_forces(free_max: float, fixed: float) -> np.ndarray:
    """Forces (eV/A) on the 9 sites: the fixed layer (0-2) feels ``fixed``; free <= max."""
    forces = np.zeros((9, 3))
    forces[0:3, 2] = [fixed, -fixed / 2, -fixed / 2]
    forces[3:9, 2] = free_max * np.array([0.2, -0.5, 0.5, -1.0, 0.6, 0.3])
    return forces


def interface(case: str, n_steps: int, final_free_force: float) -> None:
    """Li/Li2S toy interface: the metal layers move towards the electrolyte."""
    incar, kpoints, poscar, symbols = _inputs(case)
    start = poscar.structure
    path = [
        (start, -35.1000, 0.25),
        (_moved(start, {6: -0.05, 7: -0.03, 8: -0.02}), -35.1290, 0.06),
        (_moved(start, {6: -0.06, 7: -0.035, 8: -0.025}), -35.1312, final_free_force),
    ][:n_steps]
    steps = [
        IonicStepData(s, energy, _interface_forces(fmax, fixed=0.2), entropy_term=-0.004)
        for s, energy, fmax in path
    ]
    write_vasp_outputs(HERE / case / "outputs", steps, incar, kpoints, symbols, elapsed_time=5400.0)


def hull() -> None:
    """B2 LiAg shrinking from 3.168 A to 3.140 A; last energy change 0.4 meV (< 1 meV)."""
    incar, kpoints, poscar, symbols = _inputs("hull_relax_full")
    start = poscar.structure
    path = [(3.168, -5.2000, -18.0), (3.150, -5.2150, -2.5), (3.140, -5.2154, -0.3)]
    steps = []
    for a, energy, pressure in path:
        structure = start.copy()
        structure.scale_lattice(a**3)
        steps.append(
            IonicStepData(structure, energy, np.zeros((2, 3)), stress=np.eye(3) * pressure)
        )
    write_vasp_outputs(HERE / "hull_relax_full" / "outputs", steps, incar, kpoints, symbols)


if __name__ == "__main__":
    interface("interface_relax_positions", n_steps=3, final_free_force=0.006)
    interface("interface_unconverged", n_steps=3, final_free_force=0.03)
    hull()
