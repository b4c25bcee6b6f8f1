"""Bulk reference relaxations: lattice constants and energies per atom."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from jobflow import Flow, Maker, job
from jobflow.core.job import JobConfig
from jobflow.core.reference import OnMissing

from anodefree.analysis.documents.bulk import BulkReferenceDocument
from anodefree.structures.bulk import PROTOTYPES, bulk_structure
from anodefree.tasks import RelaxSettings
from anodefree.workflows.calculation import CalculationMaker, _default_engine
from anodefree.workflows.engines.base import Engine

if TYPE_CHECKING:
    from anodefree.analysis.documents.calculation import CalculationResult

DEFAULT_PHASES = ("Li", "Li2S", "MgS", "Mg", "Ag")


@dataclass
class BulkReferenceMaker(Maker):
    """Fully relax the reference phases (cell and positions) with one engine.

    The flow's output is ``{"document": BulkReferenceDocument, "results": {phase:
    CalculationResult}}``; later flows take the relaxed phases from ``results``.
    """

    name: str = "bulk references"
    engine: Engine = field(default_factory=_default_engine)
    relax: RelaxSettings = field(default_factory=RelaxSettings)
    phases: tuple[str, ...] = DEFAULT_PHASES

    def __post_init__(self) -> None:
        """Check the phase names at once (clear error naming an unknown one)."""
        for phase in self.phases:
            bulk_structure(phase)

    @classmethod
    def from_engine(cls, engine: str = "chgnet", **settings: object) -> BulkReferenceMaker:
        """Build the Maker for a registered engine name and its settings."""
        from anodefree.workflows.engines.registry import get_engine

        return cls(engine=get_engine(engine, **settings))

    def make(self) -> Flow:
        """Return the flow of full relaxations and the summary document."""
        calc = CalculationMaker(engine=self.engine, task=self.relax.task("relax_full"))
        jobs = {
            phase: calc.make(
                bulk_structure(phase),
                label=f"{phase} bulk ({PROTOTYPES[phase].structure_type})",
                system=phase,
                role="bulk reference",
            )
            for phase in self.phases
        }
        document = bulk_reference_document({p: j.output for p, j in jobs.items()})
        document.name = "bulk reference document"
        return Flow(
            [*jobs.values(), document],
            output={"document": document.output, "results": {p: j.output for p, j in jobs.items()}},
            name=self.name,
        )


@job(config=JobConfig(on_missing_references=OnMissing.NONE))
def bulk_reference_document(results: dict[str, CalculationResult | None]) -> BulkReferenceDocument:
    """Summarise the relaxed phases; failed calculations are listed as warnings."""
    done = {phase: r for phase, r in results.items() if r is not None}
    if not done:
        msg = "every bulk reference calculation failed"
        raise RuntimeError(msg)
    document = BulkReferenceDocument.from_results(done)
    document.warnings += [
        f"{phase} bulk: calculation failed" for phase in results if phase not in done
    ]
    return document
