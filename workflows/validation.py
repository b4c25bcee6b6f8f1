"""DFT validation stage: convergence scans of the settings, compound formation energies.

The other validation quantities (bcc Li lattice constant, vacancy formation energy, hop
barrier, Li(100) surface energy) come from the ordinary campaign stages run with the
DFT engine (preset ``gpaw-validation``). This stage adds what they lack:

- the k-point and cutoff convergence scans
  (:func:`anodefree.workflows.convergence.convergence_scan`) of quantities the campaign
  reports, at the relaxed bulk geometries, with a check of
  the campaign engine's own values against each scan (:class:`ConvergenceStudyDocument`);
- the formation energy of ordered compounds (B2 LiAg) against the relaxed elemental
  references of the bulk stage (:class:`FormationEnergyDocument`).

The scans are direct static calculations wrapped in one job whose output (every energy,
k-point mesh and the calculator at each setting) is stored; they never feed a number of
another document.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Literal

from jobflow import Flow, Response, job
from jobflow.core.job import JobConfig
from jobflow.core.reference import OnMissing
from pydantic import ConfigDict, Field, PositiveInt, field_validator, model_validator

from anodefree.analysis.documents.validation import (
    ConvergenceStudyDocument,
    FormationEnergyDocument,
    setting_check,
)
from anodefree.errors import ConfigError, StructureError
from anodefree.serialization import MSONModel
from anodefree.structures.bulk import PROTOTYPES, bulk_structure
from anodefree.structures.defects import bcc_supercell, remove_site
from anodefree.structures.surface_materials import liag_b2_structure
from anodefree.workflows.calculation import CalculationMaker
from anodefree.workflows.convergence import (
    ConvergenceQuantity,
    convergence_scan,
    engine_variant,
)
from anodefree.workflows.vacancy import cubic_lattice_constant

if TYPE_CHECKING:
    from pymatgen.core import Structure

    from anodefree.analysis.documents.calculation import CalculationResult
    from anodefree.tasks import RelaxSettings
    from anodefree.workflows.engines.base import Engine

ScanQuantity = Literal["li_energy_per_atom", "liag_formation", "li_vacancy_formation"]

#: Ordered compounds whose formation energy the stage computes: name -> (prototype, builder).
COMPOUNDS: dict[str, str] = {"LiAg": "B2"}


class ConvergenceScanSettings(MSONModel):
    """One convergence scan: a quantity, the engine setting scanned and its values."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    quantity: ScanQuantity = Field(
        description="'li_energy_per_atom' (primitive bcc Li, eV/atom), 'liag_formation' "
        "(B2 LiAg against bcc Li and fcc Ag, eV/atom) or 'li_vacancy_formation' (unrelaxed "
        "vacancy in the n x n x n bcc Li supercell, eV)."
    )
    setting: str = Field(
        description="Engine field scanned, e.g. 'ecut' (eV), 'kpoint_density' (1/A), 'kpoint_mesh'."
    )
    values: tuple[Any, ...] = Field(
        description="At least two values, cheapest first; the last is the reference."
    )
    tolerance: float = Field(gt=0, description="Accepted deviation, in the quantity's unit.")
    repetitions: PositiveInt = Field(
        3, description="n of the supercell of 'li_vacancy_formation' (2 n^3 sites)."
    )

    @field_validator("values", mode="before")
    @classmethod
    def _tuples(cls, value: Any) -> tuple[Any, ...]:
        items = tuple(tuple(v) if isinstance(v, list | tuple) else v for v in value)
        if len(items) < 2 or len(set(items)) != len(items):
            msg = f"a scan needs at least two distinct values, got {list(items)}"
            raise ValueError(msg)
        return items


def _default_scans() -> tuple[ConvergenceScanSettings, ...]:
    """GPAW scans sized for a 2-core machine (about 15 CPU minutes in all).

    The vacancy formation energy is scanned on the 16-site cell against the k-point
    *density* (the sampling that matters; a 54-site cell at the same density has the
    same k-point error at 3.4 times the cost per point).
    """
    return (
        ConvergenceScanSettings(
            quantity="liag_formation",
            setting="ecut",
            values=(250.0, 300.0, 350.0, 400.0, 500.0),
            tolerance=0.005,
        ),
        ConvergenceScanSettings(
            quantity="liag_formation",
            setting="kpoint_density",
            values=(3.0, 4.5, 6.0, 8.0),
            tolerance=0.01,
        ),
        ConvergenceScanSettings(
            quantity="li_vacancy_formation",
            setting="kpoint_density",
            values=(2.0, 3.0, 4.5, 6.0, 8.0),
            tolerance=0.03,
            repetitions=2,
        ),
    )


class ValidationStage(MSONModel):
    """Convergence scans of the campaign's settings and compound formation energies.

    Runs with the campaign engine (any ASE-based engine; the defaults scan GPAW fields).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    scans: tuple[ConvergenceScanSettings, ...] = Field(
        default_factory=_default_scans,
        description="Convergence scans (GPAW cutoff and k-points by default); () skips them.",
    )
    compounds: tuple[str, ...] = Field(
        ("LiAg",), description=f"Ordered compounds, fully relaxed: {', '.join(COMPOUNDS)}."
    )
    compound_settings: dict[str, Any] = Field(
        default_factory=dict,
        description="Engine settings that replace the campaign's for the compound formation "
        "energies, e.g. {ecut: 500} (eV): fcc Ag's PAW dataset needs a higher plane-wave "
        "cutoff than Li for a Pulay-stress-free cell relaxation. With any override, the "
        "compound and its elemental references are all relaxed with the changed engine "
        "(never mixed with the bulk stage's energies); empty: the bulk stage's references.",
    )

    @field_validator("compounds")
    @classmethod
    def _known(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [c for c in value if c not in COMPOUNDS]
        if unknown:
            msg = f"unknown compounds {unknown}; known: {', '.join(COMPOUNDS)}"
            raise ValueError(msg)
        return value

    @model_validator(mode="after")
    def _something(self) -> ValidationStage:
        if not self.scans and not self.compounds:
            msg = "the validation stage has neither scans nor compounds (set it to null instead)"
            raise ValueError(msg)
        return self

    def for_engine(self, engine: Engine) -> tuple[ValidationStage | None, list[str]]:
        """Keep only the scans and compound settings that ``engine`` has.

        A preset's GPAW scans (cutoff, k-points) mean nothing to a potential. Returns the
        stage (None when nothing is left to compute) and a description of what was dropped.
        """
        fields = set(type(engine).model_fields) - {"name"}
        scans = tuple(s for s in self.scans if s.setting in fields)
        dropped = [f"scan of {s.setting!r} ({s.quantity})" for s in self.scans if s not in scans]
        settings = {k: v for k, v in self.compound_settings.items() if k in fields}
        dropped += [
            f"compound setting {k}={v!r}"
            for k, v in self.compound_settings.items()
            if k not in settings
        ]
        if not scans and not self.compounds:
            return None, dropped
        return self.model_copy(update={"scans": scans, "compound_settings": settings}), dropped

    def planned_calculations(self) -> int:
        """Relaxations the stage adds to the store (scans are one job each)."""
        references = 2 if self.compound_settings and self.compounds else 0
        return len(self.compounds) + len(self.scans) + references

    @classmethod
    def cluster(cls) -> ValidationStage:
        """Denser scans, and a larger vacancy cell, for a cluster."""
        return cls(
            scans=(
                ConvergenceScanSettings(
                    quantity="liag_formation",
                    setting="ecut",
                    values=(300.0, 400.0, 500.0, 600.0, 800.0),
                    tolerance=0.002,
                ),
                ConvergenceScanSettings(
                    quantity="liag_formation",
                    setting="kpoint_density",
                    values=(3.0, 4.0, 5.0, 6.0, 8.0, 10.0),
                    tolerance=0.002,
                ),
                ConvergenceScanSettings(
                    quantity="li_vacancy_formation",
                    setting="kpoint_mesh",
                    values=((1, 1, 1), (2, 2, 2), (3, 3, 3), (4, 4, 4)),
                    tolerance=0.01,
                    repetitions=4,
                ),
            )
        )


def scan_quantity(
    spec: ConvergenceScanSettings, li: Structure, ag: Structure | None
) -> ConvergenceQuantity:
    """Build the quantity of a scan from the bcc Li and fcc Ag structures.

    Raises
    ------
    ConfigError
        For 'liag_formation' without an Ag structure.
    """
    if spec.quantity == "li_energy_per_atom":
        return ConvergenceQuantity.energy_per_atom(li, label="bcc Li")
    if spec.quantity == "li_vacancy_formation":
        host = bcc_supercell(cubic_lattice_constant(li), spec.repetitions)
        return ConvergenceQuantity.vacancy_formation(host, remove_site(host, 0))
    if ag is None:
        msg = "the 'liag_formation' scan needs fcc Ag: add Ag to the bulk phases"
        raise ConfigError(msg)
    a_li, a_ag = cubic_lattice_constant(li), cubic_lattice_constant(ag)
    # Vegard-like start: B2 at the mean of the bcc Li and (bcc-equivalent) fcc Ag volumes.
    a_b2 = ((a_li**3 + a_ag**3 / 2) / 2) ** (1 / 3)
    return ConvergenceQuantity.formation_energy_per_atom(
        liag_b2_structure(a_b2), {"Li": li, "Ag": ag}
    )


def run_convergence_study(
    engine: Engine,
    scans: tuple[ConvergenceScanSettings, ...],
    li: Structure,
    ag: Structure | None,
    directory: str = ".",
) -> ConvergenceStudyDocument:
    """Run the scans and check the engine's own settings against them.

    Parameters
    ----------
    engine
        The campaign engine (ASE-based); every other setting stays as it is.
    scans
        The scans to run.
    li, ag
        Relaxed bcc Li and fcc Ag (primitive or conventional cells).
    directory
        Where GPAW writes its logs.
    """
    start = time.perf_counter()
    tables, checks, warnings = [], [], []
    for spec in scans:
        quantity = scan_quantity(spec, li, ag)
        table = convergence_scan(
            quantity,
            engine,
            spec.setting,
            list(spec.values),
            spec.tolerance,
            directory=directory,
            progress=False,
        )
        tables.append(table)
        campaign_value = getattr(engine, spec.setting)
        if spec.setting == "kpoint_mesh" and campaign_value is None:
            campaign_value = _campaign_mesh(engine, quantity)
        check = setting_check(table, campaign_value)
        checks.append(check)
        if table.converged_value is None:
            warnings.append(
                f"{table.quantity} vs {table.setting}: not shown to converge within "
                f"{table.tolerance:g} {table.unit}; extend the scan"
            )
        if check.within_tolerance is False:
            warnings.append(
                f"{table.quantity}: the campaign's {table.setting} = {campaign_value} is "
                f"{check.difference:+.4f} {table.unit} from the reference (tolerance "
                f"{table.tolerance:g})"
            )
    return ConvergenceStudyDocument(
        calculator=engine.provenance(),
        tables=tables,
        checks=checks,
        wall_time=time.perf_counter() - start,
        warnings=warnings,
    )


def _campaign_mesh(engine: Engine, quantity: ConvergenceQuantity) -> tuple[int, int, int] | None:
    """Return the mesh a density-based engine uses on the quantity's last structure."""
    kpoints_for = getattr(engine, "kpoints_for", None)
    if kpoints_for is None:
        return None
    return tuple(kpoints_for(quantity.terms[-1].structure))


@job(name="convergence study")
def convergence_study(
    engine: Engine,
    scans: tuple[ConvergenceScanSettings, ...],
    li_bulk: CalculationResult,
    ag_bulk: CalculationResult | None,
) -> ConvergenceStudyDocument:
    """Run the convergence scans at the relaxed bulk geometries (logs in the job folder)."""
    return run_convergence_study(
        engine, scans, li_bulk.structure, ag_bulk.structure if ag_bulk is not None else None
    )


@job
def compound_formation(
    compound: str,
    engine: Engine,
    relax: RelaxSettings,
    li_bulk: CalculationResult,
    ag_bulk: CalculationResult | None,
) -> Response:
    """Relax the compound (cell and positions) and assemble its formation energy document."""
    if ag_bulk is None:
        msg = f"the formation energy of {compound} needs relaxed fcc Ag: add Ag to the bulk phases"
        raise StructureError(msg)
    prototype = COMPOUNDS[compound]
    a_li = cubic_lattice_constant(li_bulk.structure)
    a_ag = cubic_lattice_constant(ag_bulk.structure)
    start = liag_b2_structure(((a_li**3 + a_ag**3 / 2) / 2) ** (1 / 3))
    calc = CalculationMaker(engine=engine, task=relax.task("relax_full")).make(
        start,
        label=f"{compound} bulk ({prototype})",
        system="Li-Ag",
        role="compound",
        metadata={"prototype": prototype},
    )
    document = formation_energy_document(calc.output, {"Li": li_bulk, "Ag": ag_bulk}, prototype)
    document.name = f"{compound} formation energy document"
    return Response(replace=Flow([calc, document], output=document.output))


@job(config=JobConfig(on_missing_references=OnMissing.NONE))
def formation_energy_document(
    compound: CalculationResult | None,
    references: dict[str, CalculationResult | None],
    prototype: str,
) -> FormationEnergyDocument:
    """Assemble the formation energy (a failed input fails the document, naming it)."""
    if compound is None:
        msg = f"the {prototype} compound relaxation failed"
        raise RuntimeError(msg)
    failed = [symbol for symbol, result in references.items() if result is None]
    if failed:
        msg = f"formation energy of {compound.formula}: reference calculations failed: {failed}"
        raise RuntimeError(msg)
    return FormationEnergyDocument.from_results(
        compound,
        references,  # type: ignore[arg-type] - None excluded above
        prototype,
        lattice_constant=cubic_lattice_constant(compound.structure),
    )


def build_validation_stage(
    section: ValidationStage,
    engine: Engine,
    relax: RelaxSettings,
    li_bulk: Any,
    ag_bulk: Any = None,
) -> tuple[list[Flow], int]:
    """Build the validation stage: the convergence study and the compound formation energies.

    Parameters
    ----------
    section
        The stage settings.
    engine
        The campaign's engine (ASE-based).
    relax
        The campaign's relaxation settings (compounds are fully relaxed).
    li_bulk, ag_bulk
        Relaxed bcc Li and fcc Ag (``CalculationResult`` or references to them, e.g.
        ``bulk.output["results"]["Li"]``); ``ag_bulk`` may be None when neither a
        compound nor a 'liag_formation' scan is asked for.

    Returns
    -------
    tuple
        The flows (one) and the number of calculations planned.

    Raises
    ------
    ConfigError
        If Ag is needed but not given.
    """
    needs_ag = bool(section.compounds) or any(s.quantity == "liag_formation" for s in section.scans)
    if needs_ag and ag_bulk is None:
        msg = "the validation stage (LiAg) needs fcc Ag: add Ag to the bulk phases"
        raise ConfigError(msg)
    jobs = []
    output: dict[str, Any] = {}
    if section.scans:
        study = convergence_study(engine, section.scans, li_bulk, ag_bulk)
        jobs.append(study)
        output["convergence"] = study.output
    compound_engine = engine
    if section.compound_settings:
        compound_engine = engine_with(engine, section.compound_settings)
        # Elemental references relaxed with the changed engine (cheap primitive cells,
        # the bulk stage's structures and task: the cache shares them with any bulk
        # stage of the same engine). No second bulk document: the campaign's a0 stays
        # the bulk stage's; these energies enter only the formation energies.
        calc = CalculationMaker(engine=compound_engine, task=relax.task("relax_full"))
        references = {
            phase: calc.make(
                bulk_structure(phase),
                label=f"{phase} bulk ({PROTOTYPES[phase].structure_type})",
                system=phase,
                role="bulk reference",
            )
            for phase in ("Li", "Ag")
        }
        jobs += list(references.values())
        li_bulk, ag_bulk = references["Li"].output, references["Ag"].output
    for compound in section.compounds:
        formation = compound_formation(compound, compound_engine, relax, li_bulk, ag_bulk)
        formation.name = f"{compound} formation energy"
        jobs.append(formation)
        output[compound] = formation.output
    flow = Flow(jobs, output=output, name="validation")
    return [flow], section.planned_calculations()


def engine_with(engine: Engine, settings: dict[str, Any]) -> Engine:
    """Return ``engine`` with some settings replaced, validated like any engine.

    Raises
    ------
    EngineError
        For a setting the engine does not have or an invalid value, naming it.
    """
    changed = engine
    for name, value in settings.items():
        changed = engine_variant(changed, name, value)
    return changed


def reference_structures() -> dict[str, Structure]:
    """Experimental bcc Li and fcc Ag (for standalone scans and tests)."""
    return {"Li": bulk_structure("Li"), "Ag": bulk_structure("Ag")}
