"""A toy multi-species Morse pair potential for fast tests of workflow logic.

It is *not* a model of any material: it exists so that flows, caching, stores and
formulas can be tested in milliseconds, with a calculator whose energies can also be
computed independently. Parameters are per element pair ``(D in eV, alpha in 1/A,
r0 in A)``; the energy is shifted and smoothly cut off at ``cutoff``.
"""

from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np
from ase.calculators.calculator import Calculator, all_changes
from matscipy.neighbours import neighbour_list
from pydantic import Field

from anodefree.errors import EngineError
from anodefree.provenance import CalculatorProvenance
from anodefree.workflows.engines.base import AseEngine, package_version

#: (D / eV, alpha / A^-1, r0 / A) per unordered element pair. With the 4.6 A cutoff (between
#: the second and third bcc shells) bcc Li relaxes to a = 3.44 A and is mechanically stable
#: (C' > 0 and C44 > 0), so defect relaxations do not drift along the Bain path.
DEFAULT_PAIRS: dict[str, tuple[float, float, float]] = {
    "Li-Li": (0.20, 1.0, 2.90),
    "Li-Mg": (0.24, 1.0, 2.85),
    "Li-Ag": (0.30, 1.0, 2.75),
    "Mg-Mg": (0.30, 1.0, 2.80),
    "Ag-Ag": (0.45, 1.0, 2.70),
    "Mg-Ag": (0.40, 1.0, 2.75),
    "Li-S": (0.60, 1.5, 2.50),
    "Mg-S": (0.90, 1.5, 2.65),
    "Ag-S": (0.70, 1.5, 2.55),
    "S-S": (0.10, 1.2, 3.90),
}


def _pair_key(a: str, b: str) -> str:
    return "-".join(sorted((a, b), key=lambda s: (s != "Li", s)))


class MorsePairCalculator(Calculator):
    """Multi-species Morse pair potential with a smooth cutoff (energy, forces, stress)."""

    implemented_properties: ClassVar[list[str]] = ["energy", "forces", "stress"]

    def __init__(
        self,
        pairs: dict[str, tuple[float, float, float]] | None = None,
        cutoff: float = 4.6,
        **kwargs: object,
    ) -> None:
        super().__init__(**kwargs)
        self.pairs = {_pair_key(*k.split("-")): v for k, v in (pairs or DEFAULT_PAIRS).items()}
        self.cutoff = cutoff

    def _params(self, symbols: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        table = np.zeros((len(i), 3))
        for a in np.unique(symbols):
            for b in np.unique(symbols):
                key = _pair_key(a, b)
                if key not in self.pairs:
                    raise EngineError(f"morse: no pair parameters for {key!r}")
                mask = (symbols[i] == a) & (symbols[j] == b)
                table[mask] = self.pairs[key]
        return table

    def calculate(
        self,
        atoms: object = None,
        properties: list[str] | None = None,
        system_changes: list[str] = all_changes,
    ) -> None:
        """Compute energy, forces and stress (eV, eV/A, eV/A^3)."""
        super().calculate(atoms, properties or ["energy"], system_changes)
        atoms = self.atoms
        symbols = np.array(atoms.get_chemical_symbols())
        i, j, d, vec = neighbour_list("ijdD", atoms, self.cutoff)
        D, alpha, r0 = self._params(symbols, i, j).T
        x = np.exp(-alpha * (d - r0))
        xc = np.exp(-alpha * (self.cutoff - r0))
        # Shifted-force form: energy and force both vanish at the cutoff.
        phi = D * (x * x - 2 * x)
        phi_c = D * (xc * xc - 2 * xc)
        dphi = -2 * alpha * D * (x * x - x)
        dphi_c = -2 * alpha * D * (xc * xc - xc)
        energy_pairs = phi - phi_c - (d - self.cutoff) * dphi_c
        dE = dphi - dphi_c
        energy = 0.5 * energy_pairs.sum()
        # F_i = sum_j phi'(d_ij) r_ij / d_ij with r_ij = r_j - r_i (full neighbour list).
        forces = np.zeros((len(atoms), 3))
        np.add.at(forces, i, (dE / d)[:, None] * vec)
        self.results["energy"] = energy
        self.results["free_energy"] = energy
        self.results["forces"] = forces
        if atoms.cell.rank == 3:
            virial = 0.5 * np.einsum("p,pa,pb->ab", dE / d, vec, vec)
            stress = virial / atoms.get_volume()
            self.results["stress"] = stress.flat[[0, 4, 8, 5, 2, 1]]


class MorseEngine(AseEngine):
    """Toy Morse pair potential (for tests and demonstrations, not for science)."""

    name: Literal["morse"] = "morse"
    package: ClassVar[str] = "ase"

    cutoff: float = Field(4.6, gt=0, description="Pair cutoff in A.")

    def provenance(self) -> CalculatorProvenance:
        """Describe the toy potential and its parameters."""
        return CalculatorProvenance(
            engine=self.name,
            package="anodefree",
            version=package_version("anodefree"),
            model="toy Morse pair potential",
            settings={"cutoff_A": self.cutoff, "pairs": DEFAULT_PAIRS},
        )

    def build_calculator(self) -> Calculator:
        """Construct the pair potential."""
        return MorsePairCalculator(cutoff=self.cutoff)
