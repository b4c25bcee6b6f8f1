"""Documents of the Li-Ag hull workflow: the prescreen and the hull study.

:class:`HullPrescreenDocument` is the output of the prescreen job: what was enumerated,
how many candidates were scored cheaply, and which were kept for relaxation (with their
structures, so the relaxations start from exactly what was scored).
:class:`HullStudyDocument` is the final output: the :class:`HullDocument` built from the
relaxed energies, the counts of every stage, and the job ids behind every energy.

Energies per atom are in eV/atom; times in s.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_serializer, field_validator
from pymatgen.core import Structure

from anodefree.analysis.documents.hull import HullDocument
from anodefree.provenance import CalculatorProvenance
from anodefree.tasks import CalculationTask


class SourceCounts(BaseModel):
    """Counts of one candidate source (an enumeration or the named prototypes)."""

    source: str = Field(description="What was enumerated, e.g. 'bcc derivatives, 1-4 atoms'.")
    kind: str = Field(
        description="'bcc-derivative', 'fcc-derivative' or 'gamma-decoration' (no units)."
    )
    n_distinct: int = Field(
        description="Exact number of symmetry-distinct structures in the enumeration space."
    )
    n_enumerated: int = Field(description="Distinct structures generated.")
    exhaustive: bool = Field(description="Whether every distinct structure was generated.")
    n_duplicates_of_named: int = Field(
        0,
        description="Generated structures equivalent to a named prototype (e.g. B2 LiAg "
        "among the bcc derivatives): dropped, the prototype is relaxed instead.",
    )
    n_prescreened: int = Field(0, description="Structures given a prescreen energy.")
    n_selected: int = Field(0, description="Structures kept for relaxation.")
    keep_per_composition: int = Field(description="Structures kept per composition.")
    per_size: dict[int, int] = Field(
        default_factory=dict, description="Generated structures per cell size (atoms -> count)."
    )
    enumeration_time_s: float = Field(0.0, description="Wall time of the enumeration in s.")


class ScreenedCandidate(BaseModel):
    """A candidate kept by the prescreen, with the structure that is relaxed."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    label: str = Field(description="Unique candidate label, e.g. 'Li9Ag4-gamma-4'.")
    phase: str = Field(description="Phase it represents (named phase or reduced formula).")
    origin: str = Field(description="'bcc-derivative', 'fcc-derivative' or 'gamma-decoration'.")
    note: str = Field("", description="How it was built.")
    multiplicity: int | None = Field(
        None, description="Symmetry-equivalent configurations it stands for (decorations)."
    )
    score: float = Field(description="Prescreen energy in eV/atom.")
    rank: int = Field(description="Rank within its source and composition, 0 = lowest.")
    structure: Structure = Field(description="The unrelaxed structure; lengths in A.")

    @field_validator("structure", mode="before")
    @classmethod
    def _from_dict(cls, value: Any) -> Any:
        return Structure.from_dict(value) if isinstance(value, dict) else value

    @field_serializer("structure", when_used="json")
    def _to_dict(self, structure: Structure) -> dict[str, Any]:
        return structure.as_dict()


class ScoreRow(BaseModel):
    """The prescreen energy of one candidate."""

    label: str = Field(description="Candidate label.")
    source: str = Field(description="Candidate source (kind).")
    group: str = Field(description="Composition group (reduced formula).")
    score: float = Field(description="Prescreen energy in eV/atom.")
    rank: int = Field(description="Rank within source and composition, 0 = lowest.")
    selected: bool = Field(description="Whether it was kept for relaxation.")


class HullPrescreenDocument(BaseModel):
    """Output of the prescreen job: enumeration counts, scores and the kept candidates."""

    schema_version: str = Field("1", description="Version of this document's schema.")
    system: str = Field("Li-Ag", description="Chemical system.")
    method: str = Field(
        description="'single_point' (energy per atom of the ideal, unrelaxed structure with "
        "the engine's ASE calculator) or 'ewald' (Ewald energy per atom of compensating "
        "point charges)."
    )
    calculator: CalculatorProvenance | None = Field(
        None, description="Calculator of the single-point energies (None for Ewald)."
    )
    settings: dict[str, Any] = Field(
        default_factory=dict, description="The search settings (cell size, keep, seed, ...)."
    )
    sources: list[SourceCounts] = Field(description="Counts per enumeration.")
    named_prototypes: list[str] = Field(
        default_factory=list, description="Labels of the named prototypes (always relaxed)."
    )
    scores: list[ScoreRow] = Field(default_factory=list, description="Every prescreen energy.")
    selected: list[ScreenedCandidate] = Field(
        default_factory=list, description="Candidates kept for relaxation."
    )
    enumeration_time_s: float = Field(description="Wall time of the enumerations in s.")
    prescreen_time_s: float = Field(description="Wall time of the prescreen energies in s.")
    cache_key: str | None = Field(
        None, description="Identity of the prescreen (settings, method, calculator, versions)."
    )
    reused: bool = Field(
        default=False, description="True when taken from the store instead of computed now."
    )

    @property
    def n_enumerated(self) -> int:
        """Structures generated by every enumeration."""
        return sum(s.n_enumerated for s in self.sources)

    @property
    def n_duplicates_of_named(self) -> int:
        """Generated structures dropped as equivalent to a named prototype."""
        return sum(s.n_duplicates_of_named for s in self.sources)

    @property
    def n_prescreened(self) -> int:
        """Structures given a prescreen energy."""
        return sum(s.n_prescreened for s in self.sources)

    @property
    def n_selected(self) -> int:
        """Structures kept for relaxation."""
        return sum(s.n_selected for s in self.sources)


class HullCounts(BaseModel):
    """How many structures each stage of the hull search handled."""

    n_enumerated: int = Field(description="Structures generated by the enumerations.")
    n_duplicates_of_named: int = Field(
        description="Generated structures equivalent to a named prototype (not rescreened)."
    )
    n_prescreened: int = Field(description="Structures given a prescreen energy.")
    n_selected: int = Field(description="Prescreened structures kept for relaxation.")
    n_named: int = Field(description="Named prototypes relaxed (or taken from the bulk stage).")
    n_relaxed: int = Field(
        description="Full relaxations requested: named prototypes plus kept candidates."
    )
    n_computed: int = Field(description="Relaxations computed in this run.")
    n_reused: int = Field(
        description="Relaxations taken from the store (earlier runs or the bulk stage)."
    )
    n_unconverged: int = Field(description="Relaxations that did not converge (flagged).")
    n_failed: int = Field(description="Relaxations whose job failed (left out of the hull).")
    sources: list[SourceCounts] = Field(description="Counts per enumeration.")


class HullStudyDocument(BaseModel):
    """The Li-Ag hull from one calculator, with the search that produced its candidates."""

    schema_version: str = Field("1", description="Version of this document's schema.")
    system: str = Field("Li-Ag", description="Chemical system.")
    calculator: CalculatorProvenance = Field(description="Calculator of every relaxed energy.")
    task: CalculationTask = Field(description="The full relaxation every candidate underwent.")
    hull: HullDocument = Field(description="Formation energies, hull and voltage profile.")
    counts: HullCounts = Field(description="Enumerated, prescreened, selected, relaxed.")
    prescreen_method: str = Field(description="'single_point' or 'ewald'.")
    prescreen_calculator: CalculatorProvenance | None = Field(
        None, description="Calculator of the prescreen single points (None for Ewald)."
    )
    settings: dict[str, Any] = Field(
        default_factory=dict, description="The search settings (cell size, keep, seed, ...)."
    )
    job_ids: dict[str, str] = Field(
        default_factory=dict,
        description="Candidate label -> id of the job that computed its energy.",
    )
    space_groups: dict[str, str] = Field(
        default_factory=dict,
        description="Candidate label -> space group of the relaxed structure (symprec 0.1 A; "
        "a relaxation may leave the symmetry of the starting ordering).",
    )
    warnings: list[str] = Field(default_factory=list, description="Failures, unconverged ...")

    @property
    def delithiation_onset(self) -> float | None:
        """Voltage of the most Li-rich two-phase region in V vs Li+/Li (None if no alloy)."""
        return self.hull.voltage_profile.delithiation_onset
