"""Benchmark of the interfacial-defect stage: wall and CPU time, and the numbers it produces.

Runs the prerequisites first (bcc Li, Li2S, MgS, hcp Mg, fcc Ag relaxed; the 4x4x4 bulk
vacancy cells of the bulk vacancy stage), then the stage itself
(:func:`~anodefree.workflows.interface_defects.build_interface_defects_stage`) against the
same store, and reports the stage's own cost: wall time, process CPU time, and per
calculation the wall time and ionic steps. On a shared machine run it with
``OMP_NUM_THREADS=1`` and read the CPU time (about the wall time of one quiet core).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/interface_defects.py [--engine chgnet]
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import time
import warnings
from pathlib import Path

from jobflow import Flow, run_locally

from anodefree.analysis.documents.calculation import CalculationResult
from anodefree.analysis.documents.interface_defects import (
    BondEnergyDocument,
    InterfaceDefectDocument,
)
from anodefree.structures.defects import bcc_supercell, remove_site
from anodefree.tasks import RelaxSettings
from anodefree.workflows.bulk import BulkReferenceMaker
from anodefree.workflows.calculation import CalculationMaker
from anodefree.workflows.engines.registry import get_engine
from anodefree.workflows.interface_defects import (
    InterfaceDefectsStage,
    build_interface_defects_stage,
)
from anodefree.workflows.stores import StoreSettings, make_job_store
from anodefree.workflows.vacancy import cubic_lattice_constant

RESULTS = Path(__file__).parent / "results" / "interface_defects.json"


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class _FailurePrinter(logging.Handler):
    """Print the traceback of every failed job."""

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if "failed with exception" in message:
            print(message)


def _outputs(responses: dict) -> list:
    return [r.output for d in responses.values() for r in d.values()]


def _print(prerequisites: dict, stage: dict, documents: list, bonds: list) -> None:
    """Print the timing table and the conclusions."""
    planned = stage["planned"]
    print(
        f"prerequisites: {prerequisites['wall_s']:.0f} s wall, {prerequisites['cpu_s']:.0f} s CPU"
    )
    print(
        f"stage: {stage['wall_s']:.0f} s wall, {stage['cpu_s']:.0f} s CPU, "
        f"{stage['computed']} computed, {stage['reused']} reused, {planned} planned"
    )
    print(f"{'calculation':70s} {'atoms':>5s} {'steps':>5s} {'wall s':>7s}")
    for c in stage["calculations"]:
        print(f"{c['label'][:70]:70s} {c['atoms']:5d} {c['steps'] or 0:5d} {c['wall_s']:7.1f}")
    for doc in documents:
        print(f"\n{doc.system}")
        for layer in doc.host.layers:
            print(
                f"  L{layer.layer}: {layer.n_sites} sites, built {layer.built_height:.2f} A, "
                f"relaxed {layer.relaxed_lowest:.2f}-{layer.relaxed_highest:.2f} A"
            )
        for note in doc.notes + doc.warnings:
            print(f"  note: {note}")
        for s in doc.statements:
            print(f"  {s.text}")
    for doc in bonds:
        for c in doc.compounds:
            print(
                f"  {c.compound}: {c.bond_energy:+.3f} eV per bond "
                f"({c.formation_energy:+.3f} eV/f.u.)"
            )


def main() -> None:
    """Run the benchmark and write the JSON result."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", default="chgnet")
    parser.add_argument("--cluster", action="store_true", help="the cluster settings")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument(
        "--store", type=Path, default=None, help="embedded store folder (kept between runs)"
    )
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    logging.getLogger("jobflow").setLevel(logging.ERROR)

    engine = get_engine(args.engine)
    relax = RelaxSettings()
    store = make_job_store(
        StoreSettings(backend="embedded", path=args.store)
        if args.store
        else StoreSettings(backend="memory")
    )
    section = InterfaceDefectsStage.cluster() if args.cluster else InterfaceDefectsStage()

    # prerequisites (other stages of the campaign)
    t0, c0 = time.perf_counter(), _cpu()
    bulk = BulkReferenceMaker(engine=engine, relax=relax).make()
    responses = run_locally(bulk, store=store, log=False)
    results = {r.system: r for r in _outputs(responses) if isinstance(r, CalculationResult)}
    li = results["Li"]
    a = cubic_lattice_constant(li.structure)
    n = section.bulk_repetitions
    cell = bcc_supercell(a, n)
    vac = Flow(
        [
            CalculationMaker(engine=engine, task=relax.task("static")).make(
                cell, label=f"Li {n}^3 perfect"
            ),
            CalculationMaker(engine=engine, task=relax.task("relax_positions")).make(
                remove_site(cell, 0), label=f"Li {n}^3 vacancy"
            ),
        ]
    )
    run_locally(vac, store=store, log=False)
    prerequisites = {"wall_s": time.perf_counter() - t0, "cpu_s": _cpu() - c0}

    # the stage
    t0, c0 = time.perf_counter(), _cpu()
    flows, planned = build_interface_defects_stage(section, engine, relax, li, results["Li2S"])
    failures = _FailurePrinter()
    jobflow_logger = logging.getLogger("jobflow.managers.local")
    jobflow_logger.addHandler(failures)
    jobflow_logger.setLevel(logging.INFO)
    responses = run_locally(Flow(flows), store=store, log=False)
    stage = {"wall_s": time.perf_counter() - t0, "cpu_s": _cpu() - c0, "planned": planned}
    outputs = _outputs(responses)
    calcs = [r for r in outputs if isinstance(r, CalculationResult)]
    documents = [d for d in outputs if isinstance(d, InterfaceDefectDocument)]
    bonds = [d for d in outputs if isinstance(d, BondEnergyDocument)]
    computed = [c for c in calcs if not c.reused]
    stage["computed"] = len(computed)
    stage["reused"] = len(calcs) - len(computed)
    stage["calculations"] = sorted(
        (
            {
                "label": c.label,
                "atoms": c.n_atoms,
                "steps": c.n_ionic_steps,
                "wall_s": round(c.wall_time or 0.0, 2),
                "converged": c.converged,
            }
            for c in computed
        ),
        key=lambda c: -c["wall_s"],
    )
    _print(prerequisites, stage, documents, bonds)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(
        json.dumps(
            {
                "engine": engine.provenance().model_dump(mode="json"),
                "settings": section.model_dump(mode="json"),
                "prerequisites": prerequisites,
                "stage": stage,
                "documents": [d.model_dump(mode="json", exclude={"screens"}) for d in documents],
                "bond_energies": [d.model_dump(mode="json") for d in bonds],
                "note": "measured with OMP_NUM_THREADS=1 on a shared 2-core machine; CPU time "
                "approximates one quiet core",
            },
            indent=1,
            default=str,
        )
    )
    print(f"\nwritten {args.output}")


if __name__ == "__main__":
    main()
