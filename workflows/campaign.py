"""A campaign: the flows a configuration asks for, run against one store.

:func:`build_campaign` turns a :class:`~anodefree.config.CampaignConfig` into one jobflow
``Flow`` (plus the number of calculations it plans), tagging every job with the
campaign name and a run id; :func:`run_campaign` executes it locally and returns a
:class:`CampaignRun` summary. The same flow can be submitted to FireWorks or
jobflow-remote instead (:mod:`anodefree.workflows.execution`).
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobflow import Flow, run_locally

from anodefree.analysis.documents.run import CampaignRun
from anodefree.settings import load_settings
from anodefree.workflows.adhesion import build_adhesion_stage
from anodefree.workflows.bulk import BulkReferenceMaker
from anodefree.workflows.hull import build_hull_stage
from anodefree.workflows.interface_defects import build_interface_defects_stage, stage_host
from anodefree.workflows.migration import build_migration_stage
from anodefree.workflows.progress import CampaignCounts, CampaignMonitor
from anodefree.workflows.stores import ensure_indexes, make_job_store
from anodefree.workflows.surfaces import build_surfaces_stage
from anodefree.workflows.vacancy import BulkVacancyMaker, SoluteVacancyMaker
from anodefree.workflows.validation import build_validation_stage

if TYPE_CHECKING:
    from collections.abc import Callable

    from jobflow import JobStore

    from anodefree.config import CampaignConfig

logger = logging.getLogger(__name__)


@dataclass
class CampaignPlan:
    """The flow of a campaign and what it will compute."""

    flow: Flow
    run_id: str
    planned_calculations: int
    stages: dict[str, int]  # stage -> planned calculations


def build_campaign(config: CampaignConfig, run_id: str | None = None) -> CampaignPlan:
    """Build the campaign's flow from its configuration.

    Parameters
    ----------
    config
        The campaign configuration.
    run_id
        Identifier of this run (a new one by default); every job is tagged with it.
    """
    run_id = run_id or uuid.uuid4().hex[:12]
    engine, relax = config.engine, config.relax
    stages: dict[str, int] = {}
    flows: list[Flow] = []

    def add(stage: str, new: list[Flow], planned: int) -> None:
        for item in new:
            item.update_metadata({"stage": stage}, dynamic=True)
        flows.extend(new)
        stages[stage] = planned

    bulk = BulkReferenceMaker(engine=engine, relax=relax, phases=config.bulk.phases).make()
    add("bulk", [bulk], len(config.bulk.phases))
    li_bulk = bulk.output["results"]["Li"]
    bulk_vacancy = None
    if config.bulk_vacancy:
        sizes = config.bulk_vacancy.repetitions
        maker = BulkVacancyMaker(engine=engine, relax=relax, repetitions=sizes)
        bulk_vacancy = maker.make(li_bulk)
        add("bulk vacancy", [bulk_vacancy], 2 * len(sizes))
    solute_vacancy = {}
    if config.solute_vacancy:
        section = config.solute_vacancy
        makers = [
            SoluteVacancyMaker(
                engine=engine,
                relax=relax,
                solute=solute,
                repetitions=section.repetitions,
                shells=section.shells,
            )
            for solute in section.solutes
        ]
        solute_vacancy = {m.solute: m.make(li_bulk) for m in makers}
        add(
            "solute-vacancy",
            list(solute_vacancy.values()),
            len(section.solutes) * (3 + len(section.shells)),
        )
    results = bulk.output["results"]
    li2s_bulk = results["Li2S"] if "Li2S" in config.bulk.phases else None
    metal_surfaces = None
    if config.surfaces:
        available = {p: results[p] for p in ("Li", "Li2S") if p in config.bulk.phases}
        surface_flows, planned = build_surfaces_stage(config.surfaces, engine, relax, available)
        add("surfaces", surface_flows, planned)
        metal_surfaces = surface_flows[0].output
    adhesion = None
    if config.adhesion:
        adhesion_flows, planned = build_adhesion_stage(
            config.adhesion, engine, relax, li_bulk, li2s_bulk, None, metal_surfaces
        )
        add("adhesion", adhesion_flows, planned)
        adhesion = adhesion_flows[0].output
    if config.hull:
        ag_bulk = bulk.output["results"]["Ag"] if "Ag" in config.bulk.phases else None
        add("hull", *build_hull_stage(config.hull, engine, relax, li_bulk, ag_bulk))
    _add_opt_in_stages(config, add, results, adhesion, bulk_vacancy, solute_vacancy)
    flow = Flow(flows, name=config.name)
    flow.update_metadata(
        {"campaign": config.name, "run_id": run_id, "engine": engine.name}, dynamic=True
    )
    return CampaignPlan(flow, run_id, sum(stages.values()), stages)


def _add_opt_in_stages(
    config: CampaignConfig,
    add: Callable[[str, list[Flow], int], None],
    results: Any,
    adhesion: Any,
    bulk_vacancy: Flow | None,
    solute_vacancy: dict[str, Flow],
) -> None:
    """Add the opt-in stages (interface defects, migration, validation) to a campaign."""
    engine, relax = config.engine, config.relax
    li_bulk = results["Li"]
    li2s_bulk = results["Li2S"] if "Li2S" in config.bulk.phases else None
    host = None
    if config.interface_defects:
        section = config.interface_defects
        # The host takes the adhesion stage's match, registry and separation when that
        # stage computes the host system; otherwise it is built from the preset match.
        uses_adhesion = config.adhesion is not None and section.host_system in (
            config.adhesion.systems
        )
        host = stage_host(
            section, engine, relax, li_bulk, li2s_bulk, adhesion if uses_adhesion else None
        )
        add(
            "interface defects",
            *build_interface_defects_stage(section, engine, relax, li_bulk, li2s_bulk, host=host),
        )
    if config.migration:
        section = config.migration
        add(
            "migration",
            *build_migration_stage(
                section,
                engine,
                relax,
                li_bulk,
                bulk_vacancy.output if bulk_vacancy is not None else None,
                {name: item.output for name, item in solute_vacancy.items()},
                li2s_bulk,
                # Interface hops in the interfacial-defect host (same layer energies).
                host.output if host is not None else None,
            ),
        )
    if config.validation:
        ag_bulk = results["Ag"] if "Ag" in config.bulk.phases else None
        stage = build_validation_stage(config.validation, engine, relax, li_bulk, ag_bulk)
        add("validation", *stage)


def describe_store(job_store: JobStore) -> str:
    """Return a one-line description of a JobStore (credentials redacted)."""
    docs = job_store.docs_store
    path = getattr(docs, "database_path", None)
    if path:
        return f"embedded montydb at {path}"
    return f"{type(docs).__name__} {docs.name}"


def run_campaign(
    config: CampaignConfig,
    *,
    job_store: JobStore | None = None,
    on_progress: Callable[[CampaignCounts, int], None] | None = None,
) -> CampaignRun:
    """Run a campaign locally, reusing every finished calculation in the store.

    Parameters
    ----------
    config
        The campaign configuration.
    job_store
        The store to run against (default: built from ``config.store``).
    on_progress
        Called with the running counts and the planned total after every event.

    Returns
    -------
    CampaignRun
        Counts of computed, reused, unconverged and failed calculations.
    """
    settings = load_settings()
    job_store = job_store or make_job_store(config.store, settings)
    plan = build_campaign(config)
    work_dir = Path(config.work_dir or Path(settings.data_dir) / "runs").expanduser()
    run_dir = work_dir / f"{config.name}-{plan.run_id}"
    run_dir.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC)
    t0 = time.perf_counter()

    def callback(counts: CampaignCounts) -> None:
        if on_progress:
            on_progress(counts, plan.planned_calculations)

    job_store.connect()
    ensure_indexes(job_store)
    with CampaignMonitor(callback) as monitor:
        responses = run_locally(
            plan.flow, store=job_store, create_folders=True, root_dir=run_dir, log=False
        )
    _remove_empty_folders(run_dir)
    counts = monitor.counts
    expected = {job.uuid for job, _ in plan.flow.iterflow()}
    return CampaignRun(
        campaign=config.name,
        run_id=plan.run_id,
        calculator=config.engine.provenance(),
        store=describe_store(job_store),
        started_at=started,
        wall_time=time.perf_counter() - t0,
        planned=plan.planned_calculations,
        computed=counts.computed,
        reused=counts.reused,
        unconverged=counts.unconverged,
        failed=counts.failed,
        completed=expected <= set(responses) and not counts.failed,
    )


def _remove_empty_folders(root: Path) -> None:
    for folder in sorted(root.glob("*"), reverse=True):
        if folder.is_dir():
            with contextlib.suppress(OSError):
                folder.rmdir()
    with contextlib.suppress(OSError):
        root.rmdir()
