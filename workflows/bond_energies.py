"""Metal-sulfur bond-energy references: formation energy per M-S bond of Li2S, MgS and Ag2S.

E_bond = [E(M_xS) - x mu_M - mu_S] / n_bonds, per formula unit, every energy from one
engine and fully relaxed (cell and positions):

- metals: bcc Li, hcp Mg, fcc Ag (:mod:`anodefree.structures.bulk`, the bulk stage's cells,
  so those relaxations are reused from the store);
- sulfur: alpha-S8 (orthorhombic Fddd, the stable form at room temperature), built from the
  crystal structure of Rettig and Trotter, Acta Cryst. C43, 2260 (1987): a = 10.4646,
  b = 12.8660, c = 24.4860 A, S at (0.8554, 0.9526, 0.9516), (0.7844, 0.0301, 0.0763),
  (0.7069, 0.9795, 0.0040), (0.7862, 0.9073, 0.1290) with origin choice 2; its 32-atom
  primitive cell (four S8 crowns, S-S 2.04-2.05 A) is relaxed at the experimental cell
  (positions only): the molecules are held together by dispersion, which PBE-trained
  potentials lack, so a cell relaxation drifts apart without converging (CHGNet: no
  convergence in 500 steps) while the energy per atom is set by the S-S bonds. Built
  offline, no download;
- compounds: antifluorite Li2S, rock-salt MgS, and Ag2S as an **antifluorite prototype**
  (the fcc-S framework of high-temperature gamma-Ag2S, a = 6.27 A start) rather than
  monoclinic acanthite: the prototype keeps the bond counting unambiguous (tetrahedral Ag,
  8 Ag-S bonds per formula unit) but is less stable than acanthite, so its bond energy is an
  upper bound (less negative) of the acanthite value;
- n_bonds: M-S pairs per formula unit within 15 % of the shortest M-S distance of the
  relaxed compound (8 in antifluorite, 6 in rock salt).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from jobflow import Flow, Maker, job
from jobflow.core.job import JobConfig
from jobflow.core.reference import OnMissing
from pymatgen.core import Lattice, Structure

from anodefree.analysis.documents.interface_defects import BondEnergyDocument
from anodefree.errors import StructureError
from anodefree.structures.bulk import BulkPrototype, bulk_structure
from anodefree.tasks import RelaxSettings
from anodefree.workflows.calculation import CalculationMaker, _default_engine
from anodefree.workflows.engines.base import Engine

if TYPE_CHECKING:
    from anodefree.analysis.documents.calculation import CalculationResult

#: alpha-S8, Fddd (origin choice 2): lattice (A) and the four independent S positions.
ALPHA_S8_LATTICE = (10.4646, 12.8660, 24.4860)
ALPHA_S8_SITES = (
    (0.8554, 0.9526, 0.9516),
    (0.7844, 0.0301, 0.0763),
    (0.7069, 0.9795, 0.0040),
    (0.7862, 0.9073, 0.1290),
)

#: Antifluorite Ag2S prototype (fcc S, Ag in the tetrahedral holes), starting a in A.
AG2S_PROTOTYPE = BulkPrototype(
    "Ag2S", "Ag2S", "antifluorite", "Fm-3m", 6.27,
    source="antifluorite prototype (S framework of gamma-Ag2S), not acanthite",
)  # fmt: skip

#: Elemental reference phases: element -> phase name.
ELEMENT_PHASES = {"Li": "bcc", "Mg": "hcp", "Ag": "fcc", "S": "alpha-S8"}

#: Sulfides: formula -> structure type.
COMPOUNDS = {"Li2S": "antifluorite", "MgS": "rock salt", "Ag2S": "antifluorite prototype"}


def alpha_sulfur() -> Structure:
    """Return the 32-atom primitive cell of alpha-S8 (see the module doc for the source)."""
    conventional = Structure.from_spacegroup(
        "F d d d :2", Lattice.orthorhombic(*ALPHA_S8_LATTICE), ["S"] * 4, ALPHA_S8_SITES
    )
    return conventional.get_primitive_structure()


def reference_structure(name: str) -> Structure:
    """Return the unrelaxed structure of an element (Li, Mg, Ag, S) or sulfide.

    Raises
    ------
    StructureError
        For a name that is neither a reference element nor one of :data:`COMPOUNDS`.
    """
    if name == "S":
        return alpha_sulfur()
    if name == "Ag2S":
        return AG2S_PROTOTYPE.structure()
    if name in ELEMENT_PHASES or name in COMPOUNDS:
        return bulk_structure(name)
    known = ", ".join([*ELEMENT_PHASES, *COMPOUNDS])
    raise StructureError(f"no bond-energy reference {name!r}; known: {known}")


@dataclass
class BondEnergyMaker(Maker):
    """Formation energy per metal-sulfur bond of sulfides, against elemental references.

    Parameters
    ----------
    compounds
        Sulfides (keys of :data:`COMPOUNDS`).
    bond_tolerance
        Relative tolerance above the shortest M-S distance for counting bonds.
    """

    name: str = "bond energies"
    engine: Engine = field(default_factory=_default_engine)
    relax: RelaxSettings = field(default_factory=RelaxSettings)
    compounds: tuple[str, ...] = ("Li2S", "MgS", "Ag2S")
    bond_tolerance: float = 0.15

    def __post_init__(self) -> None:
        """Check the compound names and the tolerance."""
        unknown = [c for c in self.compounds if c not in COMPOUNDS]
        if unknown or not self.compounds:
            raise StructureError(
                f"unknown sulfides {unknown or self.compounds!r}; known: {', '.join(COMPOUNDS)}"
            )
        if not 0 < self.bond_tolerance < 0.5:
            raise StructureError(
                f"bond_tolerance must be between 0 and 0.5, got {self.bond_tolerance!r}"
            )

    def elements(self) -> list[str]:
        """Elements whose references the compounds need (S last)."""
        metals = [e for e in ELEMENT_PHASES if e != "S" and any(e in c for c in self.compounds)]
        return [*metals, "S"]

    def planned_calculations(self) -> int:
        """Relaxations requested (those of the bulk stage are reused)."""
        return len(self.elements()) + len(self.compounds)

    def make(self) -> Flow:
        """Return the relaxations and the document job."""
        full = CalculationMaker(engine=self.engine, task=self.relax.task("relax_full"))
        fixed_cell = CalculationMaker(engine=self.engine, task=self.relax.task("relax_positions"))
        jobs = {}
        for name in [*self.elements(), *self.compounds]:
            kind = ELEMENT_PHASES.get(name) or COMPOUNDS[name]
            calc = fixed_cell if name == "S" else full
            jobs[name] = calc.make(
                reference_structure(name),
                label=f"{name} ({kind})",
                system=name,
                role="bond-energy reference",
            )
        document = bond_energy_document(
            {e: jobs[e].output for e in self.elements()},
            {c: jobs[c].output for c in self.compounds},
            self.bond_tolerance,
        )
        document.name = "bond energy document"
        return Flow([*jobs.values(), document], output=document.output, name=self.name)


@job(config=JobConfig(on_missing_references=OnMissing.NONE))
def bond_energy_document(
    elements: dict[str, CalculationResult | None],
    compounds: dict[str, CalculationResult | None],
    tolerance: float,
) -> BondEnergyDocument:
    """Assemble the bond energies of the compounds whose inputs all finished."""
    missing = [name for name, r in {**elements, **compounds}.items() if r is None]
    if elements.get("S") is None:
        msg = "the sulfur reference calculation failed: no bond energies"
        raise RuntimeError(msg)
    usable = {
        c: (COMPOUNDS[c], r)
        for c, r in compounds.items()
        if r is not None and all(elements.get(e) is not None for e in elements if e in c)
    }
    if not usable:
        msg = f"no sulfide has all its inputs (failed: {missing})"
        raise RuntimeError(msg)
    document = BondEnergyDocument.from_results(
        {e: (ELEMENT_PHASES[e], r) for e, r in elements.items() if r is not None},
        usable,
        tol=tolerance,
        notes=[
            (
                "sulfur reference: alpha-S8 (Fddd, Rettig and Trotter 1987), 32-atom "
                "primitive cell, positions relaxed at the experimental cell with the same "
                "engine (a cell relaxation drifts without dispersion)"
            ),
            (
                "Ag2S: antifluorite prototype, not acanthite; its bond energy bounds the "
                "acanthite value from above"
            ),
            f"bonds: M-S pairs within {100 * tolerance:.0f} % of the shortest M-S distance",
        ],
    )
    document.warnings += [f"{name}: calculation failed" for name in missing]
    return document
