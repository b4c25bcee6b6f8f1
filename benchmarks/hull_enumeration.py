"""Benchmark: enumerate, prescreen and relax Li-Ag orderings; how much work the prescreen saves.

Pipeline (one engine, through its ASE calculator; no workflow engine):

1. enumerate the bcc and fcc derivative superstructures up to ``--max-size`` atoms and the
   symmetry-distinct decorations of the gamma-brass phases;
2. prescreen every candidate with a single-point energy, keeping the lowest ``--keep`` per
   composition;
3. relax the kept candidates (cell and positions, BFGS on a FrechetCellFilter);
4. baseline: relax every candidate (``--baseline all``; default for the toy ``morse``
   engine), a random sample (``--baseline sample:N``, cost extrapolated per atom) or none;
5. build the hull from the relaxed energies (references and named prototypes included).

Reported: structures enumerated, prescreened and relaxed per minute; the fraction of
relaxation work saved by the prescreen, in wall time (prescreen + kept relaxations against
relaxing all) and in force calls; and whether the prescreen kept the lowest relaxed
structure of each composition (only with ``--baseline all``).

Run: ``.venv/bin/python benchmarks/hull_enumeration.py --engine morse``
(``--engine chgnet --max-size 3 --baseline sample:6`` for the default potential).
Writes ``benchmarks/results/hull_enumeration[_<engine>].json``.

``--flow`` instead times the campaign's hull stage (:func:`anodefree.workflows.hull.
build_hull_stage` with ``--max-size``, ``--gamma``, ``--keep-derivatives`` and
``--keep-gamma``; bcc Li and fcc Ag from a bulk flow first, as in the campaign) through
jobflow on an embedded store in a temporary folder: wall and CPU time of the stage (CPU time
of this process, all threads), force calls and wall time of every relaxation, the counts and
the hull. Writes ``benchmarks/results/hull_stage[_<engine>].json``. On a shared machine
compare CPU times (with ``OMP_NUM_THREADS=1``; multithreaded torch and OpenBLAS spin on
oversubscribed cores and inflate both).
"""

from __future__ import annotations

import os

# One BLAS thread: the cell filter solves 3x3 systems every step, and multithreaded OpenBLAS
# on oversubscribed cores made each solve ~15 ms instead of microseconds (35x slower runs).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import contextlib
import json
import platform
import random
import resource
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ase.filters import FrechetCellFilter
from ase.optimize import BFGS
from pymatgen.core import Composition
from pymatgen.io.ase import AseAtomsAdaptor
from rich.console import Console
from rich.progress import track
from rich.table import Table

from anodefree.analysis.documents.hull import PhaseEnergy
from anodefree.analysis.hull import hull_table, li_ag_hull
from anodefree.structures.alloys import li_ag_candidates
from anodefree.structures.enumeration import (
    enumerate_derivative_superstructures,
    enumerate_gamma_decorations,
    prescreen,
)
from anodefree.workflows.engines.registry import get_engine

RESULTS = Path(__file__).parent / "results"


@dataclass
class Relaxation:
    label: str
    phase: str
    origin: str
    n_atoms: int
    composition: dict[str, float]
    energy: float
    steps: int
    converged: bool
    wall_time: float


def relax(candidate, calculator, fmax: float, max_steps: int) -> Relaxation:
    atoms = AseAtomsAdaptor().get_atoms(candidate.structure)
    atoms.calc = calculator
    start = time.perf_counter()
    optimizer = BFGS(FrechetCellFilter(atoms), logfile=None)
    converged = bool(optimizer.run(fmax=fmax, steps=max_steps))
    energy = float(atoms.get_potential_energy())
    composition = candidate.structure.composition
    return Relaxation(
        label=candidate.label,
        phase=candidate.phase,
        origin=candidate.origin,
        n_atoms=len(atoms),
        composition={el.symbol: float(n) for el, n in composition.items()},
        energy=energy,
        steps=int(optimizer.nsteps) + 1,  # force calls: initial + one per step
        converged=converged,
        wall_time=time.perf_counter() - start,
    )


def relax_many(candidates, calculator, args, description):
    return [
        relax(c, calculator, args.fmax, args.max_steps)
        for c in track(candidates, description=description, disable=args.quiet)
    ]


def per_minute(count: int, seconds: float) -> float:
    return 60.0 * count / seconds if seconds > 0 else float("inf")


def cpu_time() -> float:
    """CPU time of this process (all threads) in s."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def flow_benchmark(args: argparse.Namespace, console: Console) -> None:  # noqa: PLR0915 - one linear script
    """Time the campaign's hull stage through jobflow (see the module docstring)."""
    import tempfile

    from jobflow import Flow, run_locally

    from anodefree.tasks import RelaxSettings
    from anodefree.workflows.bulk import BulkReferenceMaker
    from anodefree.workflows.hull import HullStage, build_hull_stage
    from anodefree.workflows.stores import StoreSettings, ensure_indexes, make_job_store

    engine = get_engine(args.engine)
    provenance = engine.provenance()
    relax = RelaxSettings()
    stage = HullStage(
        max_size=args.max_size,
        gamma_phases=tuple(p for p in args.gamma.split(",") if p),
        keep_derivatives=args.keep_derivatives,
        keep_gamma=args.keep_gamma,
    )
    load_before = os.getloadavg()
    threads = None
    with contextlib.suppress(ImportError):
        import torch

        threads = torch.get_num_threads()
    with tempfile.TemporaryDirectory() as folder:
        store = make_job_store(StoreSettings(backend="embedded", path=Path(folder) / "store"))
        store.connect()
        ensure_indexes(store)

        def bulk_flow() -> Flow:
            return BulkReferenceMaker(engine=engine, relax=relax, phases=("Li", "Ag")).make()

        wall, cpu = time.perf_counter(), cpu_time()
        run_locally(bulk_flow(), store=store, log=False, ensure_success=True)
        bulk_times = (time.perf_counter() - wall, cpu_time() - cpu)
        # As in the campaign the stage takes the bulk flow's outputs (reused from the store).
        bulk = bulk_flow()
        wall, cpu = time.perf_counter(), cpu_time()
        flows, planned = build_hull_stage(
            stage, engine, relax, bulk.output["results"]["Li"], bulk.output["results"]["Ag"]
        )
        build_times = (time.perf_counter() - wall, cpu_time() - cpu)
        wall, cpu = time.perf_counter(), cpu_time()
        responses = run_locally(
            Flow([bulk, *flows]),
            store=store,
            log=False,
            ensure_success=True,
            create_folders=True,
            root_dir=Path(folder) / "run",
        )
        stage_times = (time.perf_counter() - wall, cpu_time() - cpu)
    outputs = [r.output for d in responses.values() for r in d.values()]
    study = next(o for o in outputs if type(o).__name__ == "HullStudyDocument")
    screen = next(o for o in outputs if type(o).__name__ == "HullPrescreenDocument")
    calcs = [
        o for o in outputs if type(o).__name__ == "CalculationResult" and o.role == "hull candidate"
    ]
    table = Table(title=f"Li-Ag hull stage ({provenance.label})")
    for column in ("step", "wall (s)", "CPU (s)"):
        table.add_column(column)
    for name, (w, c) in (
        ("bulk Li + Ag", bulk_times),
        ("build (enumeration for the plan)", build_times),
        ("hull stage", stage_times),
    ):
        table.add_row(name, f"{w:.1f}", f"{c:.1f}")
    console.print(table)
    counts = study.counts
    console.print(
        f"{counts.n_enumerated} enumerated, {counts.n_prescreened} prescreened "
        f"({screen.prescreen_time_s:.1f} s), {counts.n_selected} selected, "
        f"{counts.n_relaxed} relaxed ({counts.n_computed} computed, {counts.n_reused} reused); "
        f"{sum(c.n_ionic_steps or 0 for c in calcs)} ionic steps; planned {planned}"
    )
    rows = hull_table(study.hull)
    named = Table(title="named phases")
    for column in rows[0]:
        named.add_column(column)
    for row in rows:
        named.add_row(*[str(v) for v in row.values()])
    console.print(named)
    console.print(
        f"delithiation onset: {study.delithiation_onset} V "
        f"({', '.join(study.hull.voltage_profile.onset_region)})"
    )
    result = {
        "benchmark": "hull_stage",
        "calculator": provenance.model_dump(mode="json"),
        "stage": stage.model_dump(mode="json"),
        "relax": relax.model_dump(mode="json"),
        "machine": {
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "torch_threads": threads,
            "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
            "openblas_num_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
            "load_average_before": load_before,
            "load_average_after": os.getloadavg(),
            "note": "2 shared cores; a load average above 2 means other jobs ran concurrently",
        },
        "times_s": {
            "bulk_wall": bulk_times[0],
            "bulk_cpu": bulk_times[1],
            "build_wall": build_times[0],
            "build_cpu": build_times[1],
            "stage_wall": stage_times[0],
            "stage_cpu": stage_times[1],
            "prescreen_wall": screen.prescreen_time_s,
        },
        "planned_calculations": planned,
        "counts": counts.model_dump(mode="json"),
        "relaxations": [
            {
                "label": c.metadata.get("candidate", c.label),
                "n_atoms": c.n_atoms,
                "ionic_steps": c.n_ionic_steps,
                "wall_time_s": c.wall_time,
                "converged": c.converged,
                "space_group": study.space_groups.get(c.metadata.get("candidate", c.label)),
            }
            for c in calcs
        ],
        "hull": {
            "named_phases": rows,
            "stable": study.hull.stable,
            "voltage_steps": [s.model_dump(mode="json") for s in study.hull.voltage_profile.steps],
            "delithiation_onset_V": study.delithiation_onset,
            "onset_region": study.hull.voltage_profile.onset_region,
            "warnings": study.warnings,
        },
    }
    RESULTS.mkdir(exist_ok=True)
    suffix = "" if args.engine == "morse" else f"_{args.engine}"
    out = RESULTS / f"hull_stage{suffix}.json"
    out.write_text(json.dumps(result, indent=2, default=str))
    console.print(f"wrote {out}")


def main() -> None:  # noqa: C901, PLR0915 - one linear script
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--engine", default="morse", help="engine name (morse, chgnet, ...)")
    parser.add_argument("--max-size", type=int, default=4, help="atoms per derivative cell")
    parser.add_argument("--keep", type=int, default=2, help="kept per composition")
    parser.add_argument(
        "--gamma", default="Li9Ag4,Li10Ag3,Li12Ag", help="gamma phases ('' for none)"
    )
    parser.add_argument("--fmax", type=float, default=0.05, help="eV/A")
    parser.add_argument("--max-steps", type=int, default=300)
    parser.add_argument(
        "--baseline", default=None, help="'all', 'sample:N' or 'none' (default: all for morse)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument(
        "--flow", action="store_true", help="time the campaign's hull stage instead"
    )
    parser.add_argument("--keep-derivatives", type=int, default=1, help="--flow only")
    parser.add_argument("--keep-gamma", type=int, default=3, help="--flow only")
    args = parser.parse_args()
    if args.flow:
        flow_benchmark(args, Console())
        return
    baseline = args.baseline or ("all" if args.engine == "morse" else "sample:6")
    console = Console()
    engine = get_engine(args.engine)
    provenance = engine.provenance()
    load_before = os.getloadavg()
    calculator = engine.calculator()

    # 1. enumeration
    start = time.perf_counter()
    enumerations = [
        enumerate_derivative_superstructures(lat, args.max_size) for lat in ("bcc", "fcc")
    ]
    enumerations += [enumerate_gamma_decorations(p) for p in args.gamma.split(",") if p]
    t_enumerate = time.perf_counter() - start
    candidates = [c for e in enumerations for c in e.candidates]

    # 2. prescreen (single points)
    screened = prescreen(
        candidates,
        keep=args.keep,
        calculator=calculator,
        provenance=provenance,
        progress=not args.quiet,
    )
    t_prescreen = screened.report.wall_time_s
    selected = screened.selected
    selected_labels = {c.label for c in selected}

    # 3. relax the kept candidates
    start = time.perf_counter()
    relaxed_selected = relax_many(selected, calculator, args, "relax kept")
    t_relax_selected = time.perf_counter() - start
    steps_selected = sum(r.steps for r in relaxed_selected)

    # 4. baseline: relax everything (or a sample)
    relaxed_all: list[Relaxation] | None = None
    baseline_time: float | None = None
    baseline_steps: float | None = None
    kept_ground_state: dict[str, bool] | None = None
    if baseline == "all":
        by_label = {r.label: r for r in relaxed_selected}
        rest = [c for c in candidates if c.label not in selected_labels]
        start = time.perf_counter()
        relaxed_rest = relax_many(rest, calculator, args, "baseline: relax all")
        baseline_time = t_relax_selected + time.perf_counter() - start
        relaxed_all = [*by_label.values(), *relaxed_rest]
        baseline_steps = sum(r.steps for r in relaxed_all)
        kept_ground_state = {}
        groups: dict[str, list[Relaxation]] = {}
        for r in relaxed_all:
            formula = Composition(r.composition).reduced_formula
            groups.setdefault(formula, []).append(r)
        for formula, members in groups.items():
            lowest = min(members, key=lambda r: r.energy / r.n_atoms)
            kept_ground_state[formula] = lowest.label in selected_labels
    elif baseline.startswith("sample:"):
        n_sample = int(baseline.split(":")[1])
        rest = [c for c in candidates if c.label not in selected_labels]
        rng = random.Random(args.seed)  # noqa: S311 - sampling, not cryptography
        sample = rng.sample(rest, min(n_sample, len(rest)))
        relaxed_sample = relax_many(sample, calculator, args, "baseline: sample")
        measured = relaxed_selected + relaxed_sample
        seconds_per_atom = sum(r.wall_time for r in measured) / sum(r.n_atoms for r in measured)
        steps_per_structure = np.mean([r.steps for r in measured])
        total_atoms = sum(len(c.structure) for c in candidates)
        baseline_time = seconds_per_atom * total_atoms
        baseline_steps = float(steps_per_structure * len(candidates))

    work_with_prescreen = t_prescreen + t_relax_selected
    saved_time = 1.0 - work_with_prescreen / baseline_time if baseline_time else None
    saved_calls = (
        1.0 - (len(candidates) + steps_selected) / baseline_steps if baseline_steps else None
    )

    # 5. hull from relaxed energies (named prototypes and references relaxed here too)
    prototypes = li_ag_candidates()
    relaxed_prototypes = relax_many(prototypes, calculator, args, "relax prototypes")
    pool = relaxed_all if relaxed_all is not None else relaxed_selected
    entries = [
        PhaseEnergy(
            label=r.label,
            phase=r.phase,
            composition=r.composition,
            energy=r.energy,
            calculator=provenance,
            converged=r.converged,
            origin=r.origin,
        )
        for r in [*relaxed_prototypes, *pool]
    ]
    hull = li_ag_hull(entries)

    # Report
    table = Table(title=f"Li-Ag enumeration benchmark ({provenance.label})")
    table.add_column("stage")
    table.add_column("structures", justify="right")
    table.add_column("wall time (s)", justify="right")
    table.add_column("per minute", justify="right")
    table.add_row(
        "enumerated",
        str(len(candidates)),
        f"{t_enumerate:.2f}",
        f"{per_minute(len(candidates), t_enumerate):.0f}",
    )
    table.add_row(
        "prescreened",
        str(screened.report.n_prescreened),
        f"{t_prescreen:.2f}",
        f"{per_minute(screened.report.n_prescreened, t_prescreen):.0f}",
    )
    table.add_row(
        "relaxed (kept)",
        str(len(selected)),
        f"{t_relax_selected:.2f}",
        f"{per_minute(len(selected), t_relax_selected):.1f}",
    )
    if baseline_time is not None:
        label = (
            "relax all (measured)" if baseline == "all" else f"relax all (estimated, {baseline})"
        )
        table.add_row(label, str(len(candidates)), f"{baseline_time:.2f}", "")
    console.print(table)
    if saved_time is not None:
        console.print(
            f"relaxation work saved by the prescreen: {100 * saved_time:.1f} % of wall time, "
            f"{100 * saved_calls:.1f} % of force calls"
        )
    if kept_ground_state is not None:
        kept = sum(kept_ground_state.values())
        console.print(
            f"lowest relaxed structure kept by the prescreen in {kept} of "
            f"{len(kept_ground_state)} compositions"
        )
    hull_rows = hull_table(hull)
    named = Table(title="named phases (relaxed, this engine)")
    for column in hull_rows[0]:
        named.add_column(column)
    for row in hull_rows:
        named.add_row(*[str(v) for v in row.values()])
    console.print(named)
    console.print(
        f"delithiation onset: {hull.voltage_profile.delithiation_onset} V "
        f"({', '.join(hull.voltage_profile.onset_region)})"
    )

    result = {
        "benchmark": "hull_enumeration",
        "calculator": provenance.model_dump(mode="json"),
        "settings": {
            "max_size": args.max_size,
            "keep_per_composition": args.keep,
            "gamma_phases": [p for p in args.gamma.split(",") if p],
            "fmax_eV_per_A": args.fmax,
            "max_steps": args.max_steps,
            "baseline": baseline,
            "seed": args.seed,
        },
        "machine": {
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "load_average_before": load_before,
            "load_average_after": os.getloadavg(),
            "note": "2 shared cores; a load average above 2 means other jobs ran concurrently",
        },
        "counts": {
            "enumerated": len(candidates),
            "prescreened": screened.report.n_prescreened,
            "selected_and_relaxed": len(selected),
            "per_enumeration": [e.counts.model_dump() for e in enumerations],
        },
        "wall_time_s": {
            "enumeration": t_enumerate,
            "prescreen": t_prescreen,
            "relax_selected": t_relax_selected,
            "relax_all_baseline": baseline_time,
        },
        "per_minute": {
            "enumerated": per_minute(len(candidates), t_enumerate),
            "prescreened": per_minute(screened.report.n_prescreened, t_prescreen),
            "relaxed": per_minute(len(selected), t_relax_selected),
        },
        "force_calls": {
            "prescreen": len(candidates),
            "relax_selected": steps_selected,
            "relax_all_baseline": baseline_steps,
        },
        "fraction_saved": {"wall_time": saved_time, "force_calls": saved_calls},
        "lowest_relaxed_kept_by_prescreen": kept_ground_state,
        "hull": {
            "named_phases": hull_rows,
            "stable": hull.stable,
            "delithiation_onset_V": hull.voltage_profile.delithiation_onset,
            "onset_region": hull.voltage_profile.onset_region,
            "warnings": hull.warnings,
        },
    }
    RESULTS.mkdir(exist_ok=True)
    suffix = "" if args.engine == "morse" else f"_{args.engine}"
    out = RESULTS / f"hull_enumeration{suffix}.json"
    out.write_text(json.dumps(result, indent=2, default=str))
    console.print(f"wrote {out}")


if __name__ == "__main__":
    main()
