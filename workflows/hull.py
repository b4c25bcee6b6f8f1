"""The Li-Ag convex hull: enumerate, prescreen, relax, build the hull and voltage profile.

:class:`LiAgHullMaker` builds one flow of three steps:

1. **prescreen** (:func:`hull_prescreen`, a job whose output, a
   :class:`~anodefree.analysis.documents.hull_study.HullPrescreenDocument`, is stored): the
   binary derivative superstructures of bcc and fcc up to ``max_size`` atoms per cell and the
   symmetry-distinct Li/Ag decorations of the gamma-brass phases are enumerated
   (:mod:`anodefree.structures.enumeration`); generated structures equivalent to a named
   prototype (B2 LiAg, D0_3 and L1_2 Li3Ag among the derivatives) are dropped, because the
   prototype is relaxed anyway; every other candidate gets a cheap energy - a single point
   with the engine's own ASE calculator on the ideal structure, or, for engines without one
   (VASP), the Ewald energy of compensating point charges - and the lowest
   ``keep_derivatives`` (per parent lattice and composition) or ``keep_gamma`` (per gamma
   composition) are kept;
2. **relaxations** (:func:`hull_relaxations`): a full relaxation (cell and positions,
   ``relax_full``) through :class:`~anodefree.workflows.calculation.CalculationMaker` - so
   cached and reused - of every named prototype (bcc Li, fcc Ag, B2 LiAg, D0_3 and L1_2
   Li3Ag, the ordered gamma parent Li8Ag5) and of every kept candidate; the relaxed bcc Li
   and fcc Ag of the bulk stage are used when given;
3. **document** (:func:`hull_study_document`): the hull
   (:func:`anodefree.analysis.hull.li_ag_hull`) with the counts enumerated, prescreened,
   selected and relaxed, and the job id behind every energy.

Why ``keep_gamma = 3``: with ``keep = 2`` the single-point prescreen missed the lowest
relaxed decoration of Li12Ag (6 distinct decorations) in the enumeration benchmark
(``benchmarks/results/hull_enumeration.json``), so at least three per gamma composition
are relaxed by default.

With VASP the hull follows the PBEsol reference method (``get_engine("vasp",
method="pbesol_hull")``: PBEsol, 520 eV, relaxation until the energy changes by less than
0.5 meV/atom); :func:`build_hull_stage` switches a VASP campaign engine to that method.

The campaign stage is :class:`HullStage` + :func:`build_hull_stage`.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

from jobflow import CURRENT_JOB, Flow, Maker, Response, job
from jobflow.core.job import JobConfig
from jobflow.core.reference import OnMissing
from monty.json import MontyDecoder
from pydantic import ConfigDict, Field, field_validator, model_validator

from anodefree.analysis.documents.hull import PhaseEnergy
from anodefree.analysis.documents.hull_study import (
    HullCounts,
    HullPrescreenDocument,
    HullStudyDocument,
    ScoreRow,
    ScreenedCandidate,
    SourceCounts,
)
from anodefree.analysis.hull import DEFAULT_REFERENCES, li_ag_hull
from anodefree.errors import ConfigError, EngineError
from anodefree.provenance import require_same_calculator, stable_hash
from anodefree.serialization import MSONModel
from anodefree.structures.alloys import GAMMA_BRASS_PHASES, CandidateStructure, li_ag_candidates
from anodefree.structures.enumeration import (
    Enumeration,
    enumerate_derivative_superstructures,
    enumerate_gamma_decorations,
    prescreen,
)
from anodefree.tasks import CalculationTask, RelaxSettings
from anodefree.workflows.calculation import CalculationMaker, _default_engine
from anodefree.workflows.engines.base import AseEngine, Engine

if TYPE_CHECKING:
    from pymatgen.core import Structure

    from anodefree.analysis.documents.calculation import CalculationResult

logger = logging.getLogger(__name__)

PrescreenChoice = Literal["auto", "single_point", "ewald"]
ParentLattice = Literal["bcc", "fcc"]

#: Labels of every named prototype, as built by
#: :func:`anodefree.structures.alloys.li_ag_candidates` (checked by the tests).
PROTOTYPE_LABELS: tuple[str, ...] = (
    "Li-bcc",
    "Ag-fcc",
    "LiAg-B2",
    "Li3Ag-D03",
    "Li3Ag-L12",
    "Li8Ag5-gamma",
)
#: Labels of the reference prototypes and the element each stands for.
REFERENCE_LABELS: dict[str, str] = {label: element for element, label in DEFAULT_REFERENCES.items()}


# ---------------------------------------------------------------------------------------
# Search settings
# ---------------------------------------------------------------------------------------


class HullSearch(MSONModel):
    """What the hull search enumerates, how it prescreens, and how many it relaxes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_size: int = Field(
        4, ge=1, le=16, description="Largest derivative-superstructure cell, atoms per cell."
    )
    lattices: tuple[ParentLattice, ...] = Field(
        ("bcc", "fcc"), description="Parent lattices of the derivative superstructures."
    )
    gamma_phases: tuple[str, ...] = Field(
        ("Li9Ag4", "Li10Ag3", "Li12Ag"),
        description="Gamma-brass phases whose mixed-site decorations are enumerated.",
    )
    prototypes: tuple[str, ...] = Field(
        PROTOTYPE_LABELS,
        description=f"Named prototypes always relaxed: any of {', '.join(PROTOTYPE_LABELS)}; "
        "the references Li-bcc and Ag-fcc are always included.",
    )
    keep_derivatives: int = Field(
        1, ge=1, description="Derivatives relaxed per parent lattice and composition."
    )
    keep_gamma: int = Field(3, ge=1, description="Decorations relaxed per gamma composition.")
    prescreen: PrescreenChoice = Field(
        "auto",
        description="'single_point' (the engine's ASE calculator), 'ewald' (point charges) or "
        "'auto' (single point when the engine has an ASE calculator, else Ewald).",
    )
    max_exhaustive: int = Field(
        200_000, ge=1, description="Enumerate decorations exhaustively up to this many raw ones."
    )
    n_samples: int = Field(
        5_000, ge=1, description="Random raw decorations drawn beyond max_exhaustive."
    )
    seed: int = Field(0, description="Seed of the decoration sampling.")

    @field_validator("lattices")
    @classmethod
    def _unique_lattices(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            msg = f"parent lattices listed twice: {value}"
            raise ValueError(msg)
        return value

    @field_validator("gamma_phases")
    @classmethod
    def _known_gamma(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [p for p in value if p not in GAMMA_BRASS_PHASES]
        if unknown:
            msg = f"unknown gamma-brass phases {unknown}; known: {', '.join(GAMMA_BRASS_PHASES)}"
            raise ValueError(msg)
        if len(set(value)) != len(value):
            msg = f"gamma-brass phases listed twice: {value}"
            raise ValueError(msg)
        return value

    @field_validator("prototypes")
    @classmethod
    def _known_prototypes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [p for p in value if p not in PROTOTYPE_LABELS]
        if unknown:
            msg = f"unknown prototypes {unknown}; known: {', '.join(PROTOTYPE_LABELS)}"
            raise ValueError(msg)
        return tuple(dict.fromkeys([*REFERENCE_LABELS, *value]))

    def method_for(self, engine: Engine) -> Literal["single_point", "ewald"]:
        """Return the prescreen method for ``engine`` (resolves ``'auto'``).

        Raises
        ------
        ConfigError
            For ``'single_point'`` with an engine that has no ASE calculator.
        """
        has_calculator = isinstance(engine, AseEngine)
        if self.prescreen == "auto":
            return "single_point" if has_calculator else "ewald"
        if self.prescreen == "single_point" and not has_calculator:
            msg = (
                f"prescreen='single_point' needs an ASE calculator, which engine "
                f"{engine.name!r} does not have; use prescreen='ewald' (or 'auto')"
            )
            raise ConfigError(msg)
        return self.prescreen


class HullStage(HullSearch):
    """Campaign stage of the Li-Ag hull (the ``hull:`` section of a campaign file).

    Laptop defaults (the ~2-minute budget with CHGNet on two cores): bcc and fcc
    derivatives up to 4 atoms (54 structures; 48 after removing the B2, D0_3 and L1_2
    prototypes), the 46 distinct decorations of Li9Ag4, Li10Ag3 and Li12Ag, a single-point
    prescreen, and full relaxations of the 6 named prototypes (bcc Li and fcc Ag taken from
    the bulk stage), 1 derivative per lattice and composition (10) and 3 decorations per
    gamma composition (9). :meth:`cluster` enumerates up to 8 atoms per cell and keeps more.
    """

    engine: str | dict[str, Any] | None = Field(
        None,
        description="Engine of this stage when it differs from the campaign's (a name or a "
        "mapping with name and settings); None: the campaign's engine, with VASP switched "
        "to the PBEsol hull method.",
    )

    @model_validator(mode="after")
    def _engine_known(self) -> HullStage:
        if self.engine is not None:
            from anodefree.workflows.engines.registry import get_engine

            try:
                get_engine(self.engine)
            except EngineError as exc:
                raise ValueError(str(exc)) from exc
        return self

    def search(self) -> HullSearch:
        """Return the search settings of this stage (without the engine override)."""
        return HullSearch(**self.model_dump(exclude={"engine"}))

    @classmethod
    def cluster(cls) -> HullStage:
        """Larger search for clusters: derivatives up to 8 atoms, more kept per composition."""
        return cls(max_size=8, keep_derivatives=2, keep_gamma=6)


# ---------------------------------------------------------------------------------------
# Candidates (no workflow engine needed)
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CandidateSource:
    """The candidates of one enumeration that go into the prescreen."""

    kind: str  # "bcc-derivative", "fcc-derivative" or "gamma-decoration"
    enumeration: Enumeration
    candidates: list[CandidateStructure]  # after removing duplicates of named prototypes
    n_duplicates_of_named: int
    keep: int

    def groups(self) -> dict[str, list[CandidateStructure]]:
        """Candidates by reduced formula."""
        grouped: dict[str, list[CandidateStructure]] = defaultdict(list)
        for candidate in self.candidates:
            grouped[candidate.structure.composition.reduced_formula].append(candidate)
        return dict(grouped)

    @property
    def n_to_select(self) -> int:
        """Candidates the prescreen will keep (``keep`` per composition, at most all)."""
        return sum(min(self.keep, len(members)) for members in self.groups().values())


@dataclass(frozen=True)
class CandidatePool:
    """Every candidate of a hull search: the named prototypes and the enumerations."""

    named: list[CandidateStructure]
    sources: list[CandidateSource]

    @property
    def n_to_select(self) -> int:
        """Enumerated candidates the prescreen will keep."""
        return sum(s.n_to_select for s in self.sources)


def named_prototypes(labels: tuple[str, ...] = PROTOTYPE_LABELS) -> list[CandidateStructure]:
    """Return the named prototypes with these labels (in the order of ``li_ag_candidates``)."""
    wanted = set(labels)
    return [c for c in li_ag_candidates(include_alternatives=True) if c.label in wanted]


def _matches_a_prototype(
    candidate: CandidateStructure, prototypes: dict[str, list[CandidateStructure]]
) -> bool:
    from pymatgen.analysis.structure_matcher import StructureMatcher

    same_formula = prototypes.get(candidate.structure.composition.reduced_formula, [])
    if not same_formula:
        return False
    # Ideal lattice sites on both sides; scale=True because the volumes are estimates.
    matcher = StructureMatcher(primitive_cell=True, scale=True, attempt_supercell=True)
    return any(matcher.fit(candidate.structure, p.structure) for p in same_formula)


@lru_cache(maxsize=4)
def candidate_pool(search: HullSearch) -> CandidatePool:
    """Enumerate the candidates of a hull search (deterministic for given settings).

    Cached per process (the campaign counts the planned relaxations with it when it builds
    the flow, and the prescreen job needs the same pool); treat the result as read-only.

    Parameters
    ----------
    search
        The search settings.

    Returns
    -------
    CandidatePool
        The named prototypes and, per enumeration, the candidates that go into the
        prescreen (structures equivalent to a named prototype removed and counted).
    """
    named = named_prototypes(search.prototypes)
    by_formula: dict[str, list[CandidateStructure]] = defaultdict(list)
    for prototype in named:
        by_formula[prototype.structure.composition.reduced_formula].append(prototype)
    sources: list[CandidateSource] = []
    enumerations: list[tuple[str, Enumeration, int]] = [
        (
            f"{lattice}-derivative",
            enumerate_derivative_superstructures(lattice, search.max_size),
            search.keep_derivatives,
        )
        for lattice in search.lattices
    ]
    enumerations += [
        (
            "gamma-decoration",
            enumerate_gamma_decorations(
                phase,
                max_exhaustive=search.max_exhaustive,
                n_samples=search.n_samples,
                seed=search.seed,
            ),
            search.keep_gamma,
        )
        for phase in search.gamma_phases
    ]
    for kind, enumeration, keep in enumerations:
        kept = [c for c in enumeration.candidates if not _matches_a_prototype(c, by_formula)]
        sources.append(
            CandidateSource(
                kind=kind,
                enumeration=enumeration,
                candidates=kept,
                n_duplicates_of_named=len(enumeration.candidates) - len(kept),
                keep=keep,
            )
        )
    return CandidatePool(named=named, sources=sources)


def run_prescreen(search: HullSearch, engine: Engine) -> HullPrescreenDocument:
    """Enumerate the candidates, score them cheaply and keep the lowest ones.

    The plain function behind :func:`hull_prescreen` (testable without a workflow manager).

    Parameters
    ----------
    search
        The search settings.
    engine
        The engine of the hull; its ASE calculator gives the single-point energies.

    Returns
    -------
    HullPrescreenDocument
        Counts per enumeration, every score, and the kept candidates with their structures.
    """
    method = search.method_for(engine)
    start = time.perf_counter()
    pool = candidate_pool(search)
    enumeration_time = time.perf_counter() - start
    calculator = engine.calculator() if method == "single_point" else None
    provenance = engine.provenance() if method == "single_point" else None
    sources: list[SourceCounts] = []
    scores: list[ScoreRow] = []
    selected: list[ScreenedCandidate] = []
    start = time.perf_counter()
    for source in pool.sources:
        n_selected = 0
        if source.candidates:
            result = prescreen(
                source.candidates,
                keep=source.keep,
                method=method,
                calculator=calculator,
                provenance=provenance,
            )
            by_label = {c.label: c for c in source.candidates}
            for row in result.report.scores:
                scores.append(ScoreRow(source=source.kind, **row.model_dump()))
                if row.selected:
                    candidate = by_label[row.label]
                    selected.append(
                        ScreenedCandidate(
                            label=candidate.label,
                            phase=candidate.phase,
                            origin=candidate.origin,
                            note=candidate.note,
                            multiplicity=candidate.multiplicity,
                            score=row.score,
                            rank=row.rank,
                            structure=candidate.structure,
                        )
                    )
            n_selected = result.report.n_selected
            logger.info(
                "prescreened %d %s candidates (%s), kept %d",
                result.report.n_prescreened,
                source.kind,
                method,
                n_selected,
            )
        counts = source.enumeration.counts
        sources.append(
            SourceCounts(
                source=counts.source,
                kind=source.kind,
                n_distinct=counts.n_distinct,
                n_enumerated=counts.n_enumerated,
                exhaustive=counts.exhaustive,
                n_duplicates_of_named=source.n_duplicates_of_named,
                n_prescreened=len(source.candidates),
                n_selected=n_selected,
                keep_per_composition=source.keep,
                per_size=counts.per_size,
                enumeration_time_s=counts.wall_time_s,
            )
        )
    return HullPrescreenDocument(
        method=method,
        calculator=provenance,
        settings=search.model_dump(mode="json"),
        sources=sources,
        named_prototypes=[c.label for c in pool.named],
        scores=scores,
        selected=selected,
        enumeration_time_s=enumeration_time,
        prescreen_time_s=time.perf_counter() - start,
    )


# ---------------------------------------------------------------------------------------
# The flow
# ---------------------------------------------------------------------------------------


@dataclass
class LiAgHullMaker(Maker):
    """The Li-Ag convex hull and voltage profile with one engine.

    Parameters
    ----------
    name
        Flow name.
    engine
        The calculator engine of every energy (and of the single-point prescreen).
    relax
        Relaxation settings; every candidate is fully relaxed (``relax_full``).
    search
        What is enumerated, prescreened and relaxed (:class:`HullSearch`).

    The flow's output is the :class:`HullStudyDocument`.
    """

    name: str = "Li-Ag hull"
    engine: Engine = field(default_factory=_default_engine)
    relax: RelaxSettings = field(default_factory=RelaxSettings)
    search: HullSearch = field(default_factory=HullSearch)

    def __post_init__(self) -> None:
        """Check that the engine can run the prescreen method."""
        if not isinstance(self.search, HullSearch):
            msg = f"search must be a HullSearch, got {type(self.search).__name__}"
            raise ConfigError(msg)
        self.search.method_for(self.engine)

    @classmethod
    def from_engine(
        cls, engine: str = "chgnet", search: HullSearch | None = None, **settings: object
    ) -> LiAgHullMaker:
        """Build the Maker for a registered engine name and its settings."""
        from anodefree.workflows.engines.registry import get_engine

        return cls(engine=get_engine(engine, **settings), search=search or HullSearch())

    def make(
        self,
        li_bulk: CalculationResult | None = None,
        ag_bulk: CalculationResult | None = None,
    ) -> Flow:
        """Return the flow: prescreen, relaxations and the hull document.

        Parameters
        ----------
        li_bulk, ag_bulk
            Relaxed bcc Li and fcc Ag (``CalculationResult`` or references to them, e.g.
            ``bulk.output["results"]["Li"]``); used as the hull's references instead of
            relaxing ``Li-bcc`` and ``Ag-fcc`` here, when they come from the same
            calculator and relaxation settings.
        """
        screen = hull_prescreen(self.search, self.engine)
        screen.name = "Li-Ag hull prescreen"
        relaxations = hull_relaxations(
            screen.output, self.engine, self.relax, self.search, li_bulk, ag_bulk
        )
        relaxations.name = "Li-Ag hull relaxations"
        return Flow([screen, relaxations], output=relaxations.output, name=self.name)


def prescreen_key(search: HullSearch, engine: Engine) -> str:
    """Identity of a prescreen: the search, the method, its calculator and the code versions.

    The enumerations are deterministic for given settings and package versions, and the
    single-point energies depend on the calculator only (Ewald on nothing else).
    """
    from anodefree.workflows.engines.base import package_version

    method = search.method_for(engine)
    return stable_hash(
        {
            "search": search.model_dump(mode="json"),
            "method": method,
            "calculator": engine.provenance().fingerprint if method == "single_point" else None,
            "versions": {p: package_version(p) for p in ("anodefree", "icet", "pymatgen")},
        },
        length=24,
    )


@job(config=JobConfig(expose_store=True))
def hull_prescreen(search: HullSearch, engine: Engine, reuse: bool = True) -> HullPrescreenDocument:
    """Enumerate and prescreen the hull candidates (see :func:`run_prescreen`).

    A stored prescreen with the same :func:`prescreen_key` is reused (``reused=True``),
    so a campaign re-run after a kill recomputes no single point.
    """
    key = prescreen_key(search, engine)
    store = CURRENT_JOB.store
    if reuse and store is not None:
        doc = store.query_one(
            {"output.@class": "HullPrescreenDocument", "output.cache_key": key},
            properties=["output"],
            load=True,
        )
        if doc is not None:
            output = doc["output"]
            if isinstance(output, dict):
                output = MontyDecoder().process_decoded(output)
            if isinstance(output, HullPrescreenDocument):
                logger.info("reused the stored Li-Ag hull prescreen %s", key)
                return output.model_copy(update={"reused": True})
    return run_prescreen(search, engine).model_copy(update={"cache_key": key})


def _usable_reference(
    given: CalculationResult | None, element: str, engine: Engine, relax: RelaxSettings
) -> tuple[CalculationResult | None, str | None]:
    """Return the bulk-stage reference if it can stand in the hull, else why not."""
    if given is None:
        return None, None
    label = DEFAULT_REFERENCES[element]
    task = relax.task("relax_full")
    problems = []
    if given.calculator.fingerprint != engine.provenance().fingerprint:
        problems.append(f"calculator {given.calculator.label}, hull {engine.provenance().label}")
    if given.task != task:
        problems.append("relaxation settings differ")
    if given.structure.composition.reduced_formula != element:
        problems.append(f"formula {given.structure.composition.reduced_formula}")
    if problems:
        return None, f"{label}: bulk-stage result not used ({'; '.join(problems)}); relaxed here"
    return given, None


@job(config=JobConfig(on_missing_references=OnMissing.NONE))
def hull_relaxations(
    screen: HullPrescreenDocument | None,
    engine: Engine,
    relax: RelaxSettings,
    search: HullSearch,
    li_bulk: CalculationResult | None = None,
    ag_bulk: CalculationResult | None = None,
) -> Response:
    """Fully relax the named prototypes and the kept candidates; then the hull document."""
    calc = CalculationMaker(engine=engine, task=relax.task("relax_full"))
    notes: list[str] = []
    given: dict[str, CalculationResult] = {}
    for element, result in (("Li", li_bulk), ("Ag", ag_bulk)):
        usable, note = _usable_reference(result, element, engine, relax)
        if note:
            notes.append(note)
        if usable is not None:
            given[DEFAULT_REFERENCES[element]] = usable
    if screen is None:
        notes.append("the prescreen failed: only the named prototypes were relaxed")

    meta: dict[str, dict[str, Any]] = {}
    structures: dict[str, Any] = {}
    named = [c for c in named_prototypes(search.prototypes) if c.label not in given]
    for label in given:
        meta[label] = {"phase": REFERENCE_LABELS[label], "origin": "reference (bulk stage)"}
    for candidate in named:
        meta[candidate.label] = {"phase": candidate.phase, "origin": candidate.origin}
        structures[candidate.label] = candidate.structure
    for candidate in screen.selected if screen is not None else []:
        meta[candidate.label] = {
            "phase": candidate.phase,
            "origin": candidate.origin,
            "multiplicity": candidate.multiplicity,
            "prescreen_score_eV_per_atom": candidate.score,
            "prescreen_rank": candidate.rank,
        }
        structures[candidate.label] = candidate.structure
    # Species grouped (Li, then Ag): one POSCAR block and one POTCAR per element for VASP;
    # the enumerated orderings interleave them.
    jobs = {
        label: calc.make(
            structure.get_sorted_structure(),
            label=f"Li-Ag hull: {label}",
            system="Li-Ag",
            role="hull candidate",
            metadata={"candidate": label, **meta[label]},
        )
        for label, structure in structures.items()
    }
    results: dict[str, Any] = {**given, **{label: j.output for label, j in jobs.items()}}
    document = hull_study_document(
        results,
        meta,
        screen,
        relax.task("relax_full"),
        search.model_dump(mode="json"),
        n_named=len(named) + len(given),
        notes=notes,
    )
    document.name = "Li-Ag hull document"
    return Response(replace=Flow([*jobs.values(), document], output=document.output))


def relaxed_space_group(structure: Structure, symprec: float = 0.1) -> str:
    """Return the space-group symbol of a relaxed structure ('?' if spglib fails)."""
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    try:
        return SpacegroupAnalyzer(structure, symprec=symprec).get_space_group_symbol()
    except (TypeError, ValueError):  # spglib finds no symmetry dataset
        return "?"


@job(config=JobConfig(on_missing_references=OnMissing.NONE))
def hull_study_document(
    results: dict[str, CalculationResult | None],
    meta: dict[str, dict[str, Any]],
    screen: HullPrescreenDocument | None,
    task: CalculationTask,
    settings: dict[str, Any],
    n_named: int,
    notes: list[str],
) -> HullStudyDocument:
    """Build the hull from the relaxations that finished; failures become warnings."""
    done = {label: r for label, r in results.items() if r is not None}
    failed = sorted(set(results) - set(done))
    calculator = require_same_calculator(
        [r.calculator for r in done.values()], "the Li-Ag convex hull"
    )
    entries = [
        PhaseEnergy.from_result(
            result,
            label=label,
            phase=meta[label]["phase"],
            origin=meta[label]["origin"],
            multiplicity=meta[label].get("multiplicity"),
        )
        for label, result in done.items()
    ]
    hull = li_ag_hull(entries)
    from_store = [label for label, r in done.items() if r.reused]
    counts = HullCounts(
        n_enumerated=screen.n_enumerated if screen else 0,
        n_duplicates_of_named=screen.n_duplicates_of_named if screen else 0,
        n_prescreened=screen.n_prescreened if screen else 0,
        n_selected=screen.n_selected if screen else 0,
        n_named=n_named,
        n_relaxed=len(results),
        n_computed=len(done) - len(from_store),
        n_reused=len(from_store),
        n_unconverged=sum(not r.converged for r in done.values()),
        n_failed=len(failed),
        sources=screen.sources if screen else [],
    )
    warnings = [*notes, *(f"{label}: relaxation failed (left out)" for label in failed)]
    warnings += hull.warnings
    return HullStudyDocument(
        calculator=calculator,
        task=task,
        hull=hull,
        counts=counts,
        prescreen_method=screen.method if screen else "none",
        prescreen_calculator=screen.calculator if screen else None,
        settings=settings,
        job_ids={label: r.source_job_uuid or r.job_uuid or "" for label, r in done.items()},
        space_groups={label: relaxed_space_group(r.structure) for label, r in done.items()},
        warnings=warnings,
    )


# ---------------------------------------------------------------------------------------
# The campaign stage
# ---------------------------------------------------------------------------------------


def hull_engine(engine: Engine, section: HullStage) -> Engine:
    """Return the engine of the hull stage.

    ``section.engine`` when set; otherwise the campaign's engine, except that a VASP
    engine is switched to the PBEsol hull method of the reference study (same command,
    POTCARs and user settings).
    """
    from anodefree.workflows.engines.registry import get_engine

    if section.engine is not None:
        return get_engine(section.engine)
    if engine.name == "vasp" and getattr(engine, "method", None) != "pbesol_hull":
        settings = engine.model_dump(exclude={"name"})
        settings["method"] = "pbesol_hull"
        settings["user_incar_settings"] = {
            k: v for k, v in settings.get("user_incar_settings", {}).items() if k != "EDIFFG"
        }
        return get_engine("vasp", **settings)
    return engine


def planned_calculations(
    pool: CandidatePool, *, li_bulk_given: bool = False, ag_bulk_given: bool = False
) -> int:
    """Return the number of full relaxations a hull flow requests for this pool."""
    given = {"Li": li_bulk_given, "Ag": ag_bulk_given}
    skipped = {DEFAULT_REFERENCES[element] for element, is_given in given.items() if is_given}
    return sum(c.label not in skipped for c in pool.named) + pool.n_to_select


def build_hull_stage(
    section: HullStage,
    engine: Engine,
    relax: RelaxSettings,
    li_bulk: Any = None,
    ag_bulk: Any = None,
) -> tuple[list[Flow], int]:
    """Build the Li-Ag hull stage of a campaign.

    Parameters
    ----------
    section
        The stage settings.
    engine, relax
        The campaign's engine and relaxation settings (see :func:`hull_engine` for the
        engine the stage uses).
    li_bulk, ag_bulk
        The bulk stage's relaxed bcc Li and fcc Ag (``CalculationResult`` or references,
        e.g. ``bulk.output["results"]["Li"]``), shared as the hull's references. Ignored
        when the stage runs another engine than the campaign.

    Returns
    -------
    tuple
        ``([flow], planned calculations)``; the flow's output is the
        :class:`HullStudyDocument`.
    """
    stage_engine = hull_engine(engine, section)
    if stage_engine.provenance().fingerprint != engine.provenance().fingerprint:
        logger.info(
            "hull stage runs %s (campaign: %s): the bulk-stage references are not shared",
            stage_engine.provenance().label,
            engine.provenance().label,
        )
        li_bulk = ag_bulk = None
    search = section.search()
    maker = LiAgHullMaker(engine=stage_engine, relax=relax, search=search)
    flow = maker.make(li_bulk=li_bulk, ag_bulk=ag_bulk)
    planned = planned_calculations(
        candidate_pool(search),
        li_bulk_given=li_bulk is not None,
        ag_bulk_given=ag_bulk is not None,
    )
    return [flow], planned
