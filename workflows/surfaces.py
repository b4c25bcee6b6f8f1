"""Surface energies over a slab-thickness series, and the surfaces stage of a campaign.

:class:`SurfaceEnergyMaker` cuts symmetric, stoichiometric slabs of one facet from the bulk
relaxed with the campaign's engine (so that the in-plane lattice and the bulk energy per
atom are the engine's own), relaxes their positions (central planes optionally fixed) and
assembles a :class:`~anodefree.analysis.documents.surfaces.SurfaceEnergyDocument` with
gamma(n) = (E_slab - N e_bulk) / (2 A) and its thickness convergence.

The stage (:class:`SurfacesStage`, :func:`build_surfaces_stage`) runs the series of
Li(100), Li(110) and Li2S(111) by default; the Li facets are the metal surface energies
the adhesion stage uses in Young-Dupre.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jobflow import Flow, Maker, Response, job
from jobflow.core.job import JobConfig
from jobflow.core.reference import OnMissing, OutputReference
from pydantic import ConfigDict, Field, field_validator, model_validator

from anodefree.analysis.documents.surfaces import (
    THICKNESS_TOLERANCE,
    SurfaceEnergyDocument,
    facet_label,
)
from anodefree.errors import MixedCalculatorError, StructureError
from anodefree.serialization import MSONModel
from anodefree.structures.orientation import OrientedBulk, orient_bulk, validate_miller
from anodefree.structures.slabs import build_slab_from, select_termination
from anodefree.structures.surface_materials import MATERIAL_NAMES, resolve_bulk
from anodefree.structures.terminations import TerminationRecord, terminations_of
from anodefree.tasks import RelaxSettings
from anodefree.workflows.calculation import CalculationMaker, _default_engine
from anodefree.workflows.engines.base import Engine

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from pymatgen.core import Structure

    from anodefree.analysis.documents.calculation import CalculationResult
    from anodefree.structures.slabs import SlabBuild


def check_same_engine(engine: Engine, inputs: Mapping[str, Any], quantity: str) -> None:
    """Refuse at once an upstream result or document computed with another calculator.

    Inputs that are still references (computed later in the same flow) are checked when
    the document is assembled.

    Raises
    ------
    MixedCalculatorError
        Naming the input and both calculators.
    """
    mine = engine.provenance()
    for name, value in inputs.items():
        if value is None or isinstance(value, OutputReference):
            continue
        theirs = getattr(value, "calculator", None)
        if theirs is not None and theirs.fingerprint != mine.fingerprint:
            raise MixedCalculatorError(
                f"refusing to compute {quantity}: {name} comes from {theirs.label} "
                f"(settings {theirs.settings}) but this flow runs {mine.label} "
                f"(settings {mine.settings})"
            )


def pick_termination(
    ob: OrientedBulk, termination: int | str | None, *, allow_reconstructed: bool = False
) -> TerminationRecord:
    """Return the symmetric, stoichiometric, nonpolar termination to cut (index or label).

    Parameters
    ----------
    ob
        The oriented bulk.
    termination
        An index into its termination list, a label such as ``"Li-S-Li"`` (robust against
        the plane order of another bulk cell of the same phase), or None for the only
        acceptable one.
    allow_reconstructed
        Accept a half-plane reconstruction.

    Raises
    ------
    StructureError
        Naming the index or label when it does not exist or is not acceptable.
    """
    records = terminations_of(ob)
    what = f"{ob.formula}{ob.miller}"
    if isinstance(termination, str):
        matches = [r.index for r in records if r.label == termination]
        if not matches:
            labels = ", ".join(repr(r.label) for r in records)
            raise StructureError(
                f"termination {termination!r} does not exist for {what}; terminations: {labels}"
            )
        termination = matches[0]
    return select_termination(
        records,
        termination,
        allow_asymmetric=False,
        allow_reconstructed=allow_reconstructed,
        allow_polar=False,
        what=what,
    )


def check_facet(
    material: str | Structure,
    miller: Sequence[int],
    termination: int | str | None = None,
    *,
    allow_reconstructed: bool = False,
) -> str:
    """Check that ``material`` has a symmetric, stoichiometric, nonpolar ``miller`` facet.

    Returns
    -------
    str
        The label of the termination that will be used (e.g. ``"Li-S-Li"``): labels, not
        indices, identify a termination across bulk cells of the same phase (the engine's
        relaxed cell may list the planes in another order).

    Raises
    ------
    StructureError
        For an invalid Miller index (e.g. (0, 0, 0)), a facet the material lacks (a
        four-index facet of a cubic crystal, a termination index or label that does not
        exist, or no acceptable termination), naming the value.
    """
    ob = orient_bulk(material, miller)
    return pick_termination(ob, termination, allow_reconstructed=allow_reconstructed).label


def series_slabs(
    bulk: Structure,
    miller: Sequence[int],
    n_units: Sequence[int],
    *,
    termination: int | str | None = None,
    vacuum: float = 15.0,
    free_planes: int | None = None,
    allow_reconstructed: bool = False,
) -> list[SlabBuild]:
    """Symmetric slabs of increasing thickness, central planes fixed beyond ``free_planes``.

    Parameters
    ----------
    bulk
        The bulk structure (relaxed with the engine).
    miller
        Facet (conventional cell).
    n_units
        Thicknesses in repeat units.
    termination
        Termination index or label (None: the only acceptable one).
    vacuum
        Vacuum along the normal (A).
    free_planes
        Atomic planes free to relax below each face; the planes between are fixed
        (None: every atom relaxes).
    allow_reconstructed
        Accept a half-plane reconstructed termination (polar facets).

    Returns
    -------
    list of SlabBuild
        Thinnest first.
    """
    ob = orient_bulk(bulk, miller)
    chosen = pick_termination(ob, termination, allow_reconstructed=allow_reconstructed)
    builds = []
    for n in sorted(set(n_units)):
        build = build_slab_from(ob, chosen, n, vacuum=vacuum)
        n_fixed = 0 if free_planes is None else max(0, build.record.n_planes - 2 * free_planes)
        if n_fixed:
            build = build_slab_from(ob, chosen, n, vacuum=vacuum, n_fixed_planes=n_fixed)
        builds.append(build)
    return builds


def _check_series(n_units: Sequence[int], vacuum: float, free_planes: int | None) -> None:
    sizes = list(n_units)
    if len(set(sizes)) < 2 or any(int(n) != n or n < 1 for n in sizes):
        raise StructureError(
            f"a thickness series needs at least two distinct thicknesses, each an integer "
            f">= 1 repeat unit; got n_units={tuple(n_units)!r}"
        )
    if not vacuum > 0:
        raise StructureError(f"vacuum must be positive, got {vacuum!r} A")
    if free_planes is not None and free_planes < 1:
        raise StructureError(f"free_planes must be >= 1 or None, got {free_planes!r}")


@dataclass
class SurfaceEnergyMaker(Maker):
    """Surface energy of one facet over a slab-thickness series.

    Parameters
    ----------
    name
        Flow name.
    engine, relax
        Calculator and relaxation settings (every slab: ``relax_positions``).
    material
        Phase name used to check the facet at once (``Li``, ``Li2S``, ``LiAg``, ...);
        ``None`` checks it when the relaxed bulk arrives.
    miller
        Facet, conventional cell.
    n_units
        Thicknesses in repeat units (layers of bcc Li, Li-S-Li trilayers of Li2S(111)).
    termination
        Termination label (``"Li-S-Li"``) or index in the named material's list (None: the
        only symmetric, stoichiometric, nonpolar one); an index is turned into the label at
        once, since the relaxed bulk may list the terminations in another order.
    vacuum
        Vacuum along the normal, A.
    free_planes
        Planes relaxed below each face; central planes beyond are fixed (None: all relax).
    allow_reconstructed
        Accept a half-plane reconstruction (needed for polar facets such as Li2S(100)).
    tolerance
        Thickness convergence tolerance, J/m^2.
    """

    name: str = "surface energy"
    engine: Engine = field(default_factory=_default_engine)
    relax: RelaxSettings = field(default_factory=RelaxSettings)
    material: str | None = None
    miller: tuple[int, int, int] = (1, 0, 0)
    n_units: tuple[int, ...] = (3, 5, 7, 9)
    termination: int | str | None = None
    vacuum: float = 15.0
    free_planes: int | None = None
    allow_reconstructed: bool = False
    tolerance: float = THICKNESS_TOLERANCE

    def __post_init__(self) -> None:
        """Validate the Miller index, the facet (when the material is named) and sizes."""
        self.miller = validate_miller(self.miller)
        _check_series(self.n_units, self.vacuum, self.free_planes)
        if not self.tolerance > 0:
            raise StructureError(f"tolerance must be positive, got {self.tolerance!r} J/m^2")
        if self.material is not None:
            self.termination = check_facet(
                self.material,
                self.miller,
                self.termination,
                allow_reconstructed=self.allow_reconstructed,
            )

    def make(self, bulk: CalculationResult) -> Flow:
        """Return the flow for the relaxed bulk ``bulk`` (a CalculationResult or reference)."""
        check_same_engine(self.engine, {"the bulk reference": bulk}, "a surface energy")
        settings = SurfaceSeriesSettings(
            miller=self.miller,
            n_units=tuple(sorted(set(self.n_units))),
            termination=self.termination,
            vacuum=self.vacuum,
            free_planes=self.free_planes,
            allow_reconstructed=self.allow_reconstructed,
            tolerance=self.tolerance,
            material=self.material,
        )
        series = surface_series(bulk, self.engine, self.relax, settings)
        label = facet_label(self.material, self.miller) if self.material else self.name
        series.name = f"{self.name} {label}"
        return Flow([series], output=series.output, name=series.name)


class SurfaceSeriesSettings(MSONModel):
    """Settings of one thickness series (passed between jobs)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    miller: tuple[int, int, int]
    n_units: tuple[int, ...]
    termination: int | str | None = None
    vacuum: float = 15.0
    free_planes: int | None = None
    allow_reconstructed: bool = False
    tolerance: float = THICKNESS_TOLERANCE
    material: str | None = None


@job
def surface_series(
    bulk: CalculationResult, engine: Engine, relax: RelaxSettings, settings: SurfaceSeriesSettings
) -> Response:
    """Cut the slabs from the relaxed bulk and relax each one."""
    builds = series_slabs(
        bulk.structure,
        settings.miller,
        settings.n_units,
        termination=settings.termination,
        vacuum=settings.vacuum,
        free_planes=settings.free_planes,
        allow_reconstructed=settings.allow_reconstructed,
    )
    facet = facet_label(bulk.formula, settings.miller)
    material = settings.material or bulk.formula
    jobs, outputs, geometry = [], [], []
    for build in builds:
        record = build.record
        calc = CalculationMaker(
            engine=engine, task=relax.task("relax_positions", record.fixed_indices)
        )
        slab = calc.make(
            build.structure,
            label=f"{facet} slab, {record.n_units} units ({record.n_atoms} atoms)",
            system=material,
            role="surface slab",
            metadata={
                "facet": facet,
                "n_units": record.n_units,
                "n_planes": record.n_planes,
                "termination": record.termination.label,
            },
        )
        jobs.append(slab)
        outputs.append(slab.output)
        geometry.append(
            (record.n_units, record.n_planes, len(record.fixed_indices), record.thickness)
        )
    record = builds[0].record
    document = surface_energy_document(
        material=material,
        miller=list(settings.miller),
        termination=record.termination.label,
        termination_index=record.termination.index,
        area=record.area,
        vacuum=settings.vacuum,
        bulk=bulk,
        geometry=geometry,
        slabs=outputs,
        tolerance=settings.tolerance,
    )
    document.name = f"{facet} surface energy document"
    return Response(replace=Flow([*jobs, document], output=document.output, name=facet))


@job(config=JobConfig(on_missing_references=OnMissing.NONE))
def surface_energy_document(
    *,
    material: str,
    miller: list[int],
    termination: str,
    termination_index: int,
    area: float,
    vacuum: float,
    bulk: CalculationResult,
    geometry: list[tuple[int, int, int, float]],
    slabs: list[CalculationResult | None],
    tolerance: float,
) -> SurfaceEnergyDocument:
    """Assemble the series from the slabs whose calculations finished."""
    facet = facet_label(material, miller)
    done = [(*g, r) for g, r in zip(geometry, slabs, strict=True) if r is not None]
    if bulk is None or len(done) == 0:
        msg = f"{facet}: the bulk reference or every slab calculation failed"
        raise RuntimeError(msg)
    document = SurfaceEnergyDocument.from_results(
        material=material,
        miller=miller,
        termination=termination,
        termination_index=termination_index,
        area=area,
        vacuum=vacuum,
        bulk=bulk,
        slabs=done,
        tolerance=tolerance,
    )
    document.warnings += [
        f"{facet} slab of {g[0]} units: calculation failed"
        for g, r in zip(geometry, slabs, strict=True)
        if r is None
    ]
    if len(done) < len(slabs):
        document.thickness_converged = False
    return document


# ---------------------------------------------------------------------------------------
# Bulk phases the interface stages need beyond the bulk stage (B2 LiAg)
# ---------------------------------------------------------------------------------------


def relaxed_bulk_job(phase: str, engine: Engine, relax: RelaxSettings) -> Any:
    """Return a cached full relaxation of ``phase`` (e.g. B2 ``LiAg``) as a job."""
    structure = resolve_bulk(phase)
    return CalculationMaker(engine=engine, task=relax.task("relax_full")).make(
        structure, label=f"{phase} bulk", system=phase, role="bulk reference"
    )


# ---------------------------------------------------------------------------------------
# The campaign stage
# ---------------------------------------------------------------------------------------


class SurfaceFacet(MSONModel):
    """One facet of the surfaces stage and its thickness series."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    material: str = Field(description=f"Phase name: one of {', '.join(MATERIAL_NAMES)}.")
    miller: tuple[int, int, int] = Field(description="Facet, conventional cell.")
    n_units: tuple[int, ...] = Field(
        description="Thicknesses in repeat units (layers of bcc Li, Li-S-Li trilayers)."
    )
    termination: int | str | None = Field(
        None,
        description="Termination label, e.g. 'Li-S-Li', or index (None: the only acceptable one).",
    )
    free_planes: int | None = Field(
        4,
        description="Atomic planes relaxed below each face; central planes beyond are fixed "
        "at bulk positions (None: every atom relaxes).",
    )
    allow_reconstructed: bool = Field(
        default=False, description="Accept a half-plane reconstruction of a polar facet."
    )

    @field_validator("miller", mode="before")
    @classmethod
    def _miller(cls, value: Any) -> tuple[int, int, int]:
        return validate_miller(value)

    @field_validator("n_units")
    @classmethod
    def _sizes(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        _check_series(value, 15.0, None)
        return tuple(sorted(set(value)))

    @model_validator(mode="after")
    def _facet_exists(self) -> SurfaceFacet:
        if self.material not in MATERIAL_NAMES:
            msg = f"unknown material {self.material!r}; known: {', '.join(MATERIAL_NAMES)}"
            raise ValueError(msg)
        _check_series(self.n_units, 15.0, self.free_planes)
        check_facet(
            self.material,
            self.miller,
            self.termination,
            allow_reconstructed=self.allow_reconstructed,
        )
        return self

    @property
    def label(self) -> str:
        """Facet label, e.g. ``Li(100)``."""
        return facet_label(self.material, self.miller)


def _laptop_facets() -> tuple[SurfaceFacet, ...]:
    return (
        SurfaceFacet(material="Li", miller=(1, 0, 0), n_units=(3, 5, 7, 9, 11)),
        SurfaceFacet(material="Li", miller=(1, 1, 0), n_units=(3, 5, 7, 9)),
        SurfaceFacet(material="Li2S", miller=(1, 1, 1), n_units=(2, 3, 4, 5)),
    )


class SurfacesStage(MSONModel):
    """Surface energies with thickness series (laptop defaults; see :meth:`cluster`).

    The defaults (Li(100) 3-11 layers, Li(110) 3-9 layers, Li2S(111) 2-5 trilayers, 15 A
    vacuum, four planes relaxed below each face) are primitive in-plane cells of 1-15 atoms:
    a few seconds per slab with CHGNet on two cores.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    facets: tuple[SurfaceFacet, ...] = Field(
        default_factory=_laptop_facets, description="Facets and their thickness series."
    )
    vacuum: float = Field(15.0, gt=0, description="Vacuum along the normal, A.")
    tolerance: float = Field(
        THICKNESS_TOLERANCE, gt=0, description="Thickness convergence tolerance, J/m^2."
    )

    @field_validator("facets")
    @classmethod
    def _unique(cls, value: tuple[SurfaceFacet, ...]) -> tuple[SurfaceFacet, ...]:
        labels = [f.label for f in value]
        duplicates = sorted({x for x in labels if labels.count(x) > 1})
        if duplicates:
            msg = f"facets listed twice: {duplicates}"
            raise ValueError(msg)
        return value

    @classmethod
    def cluster(cls) -> SurfacesStage:
        """Thicker series and more facets for a cluster run."""
        return cls(
            facets=(
                SurfaceFacet(material="Li", miller=(1, 0, 0), n_units=(5, 7, 9, 11, 13, 15)),
                SurfaceFacet(material="Li", miller=(1, 1, 0), n_units=(5, 7, 9, 11, 13)),
                SurfaceFacet(
                    material="Li", miller=(1, 1, 1), n_units=(6, 9, 12, 15, 18), free_planes=6
                ),
                SurfaceFacet(material="Li2S", miller=(1, 1, 1), n_units=(3, 4, 5, 6, 7)),
                SurfaceFacet(material="Li2S", miller=(1, 1, 0), n_units=(3, 4, 5, 6, 7)),
                SurfaceFacet(material="LiAg", miller=(1, 1, 0), n_units=(3, 5, 7, 9)),
            ),
            vacuum=20.0,
        )

    def planned_calculations(self, available: Sequence[str] = ("Li", "Li2S")) -> int:
        """Slab relaxations plus the bulk relaxations of phases not in ``available``."""
        extra = {f.material for f in self.facets} - set(available)
        return sum(len(f.n_units) for f in self.facets) + len(extra)


def build_surfaces_stage(
    section: SurfacesStage,
    engine: Engine,
    relax: RelaxSettings,
    bulk_results: Mapping[str, Any],
) -> tuple[list[Flow], int]:
    """Build the surfaces stage: one thickness series per facet.

    Parameters
    ----------
    section
        The stage settings.
    engine, relax
        The campaign's engine and relaxation settings.
    bulk_results
        Relaxed bulk phases by name (``CalculationResult`` or references, e.g.
        ``{"Li": bulk.output["results"]["Li"], "Li2S": bulk.output["results"]["Li2S"]}``);
        a phase not given (B2 ``LiAg``) is relaxed here with ``relax_full``.

    Returns
    -------
    tuple
        ``([flow], planned calculations)``; the flow's output maps facet labels
        (``"Li(100)"``) to their :class:`SurfaceEnergyDocument`.
    """
    jobs: list[Any] = []
    bulks = dict(bulk_results)
    for material in sorted({f.material for f in section.facets} - set(bulks)):
        extra = relaxed_bulk_job(material, engine, relax)
        jobs.append(extra)
        bulks[material] = extra.output
    outputs = {}
    for facet in section.facets:
        maker = SurfaceEnergyMaker(
            engine=engine,
            relax=relax,
            material=facet.material,
            miller=facet.miller,
            n_units=facet.n_units,
            termination=facet.termination,
            vacuum=section.vacuum,
            free_planes=facet.free_planes,
            allow_reconstructed=facet.allow_reconstructed,
            tolerance=section.tolerance,
        )
        flow = maker.make(bulks[facet.material])
        jobs.append(flow)
        outputs[facet.label] = flow.output
    planned = section.planned_calculations(tuple(bulk_results))
    return [Flow(jobs, output=outputs, name="surfaces")], planned
