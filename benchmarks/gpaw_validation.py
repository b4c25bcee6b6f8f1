"""Run the GPAW validation campaign once and record its numbers, settings and timings.

Runs the ``gpaw-validation`` preset (bulk Li and Ag, the 16/54-site vacancy series, the
Li(100) thickness series, the 54-site Li vacancy hop, and the validation stage: cutoff
and k-point scans plus the B2 LiAg formation energy) against one store, writes the
campaign report, and records wall and CPU time (per stage from the calculations' own
wall times) in ``benchmarks/results/gpaw_validation.json``.

With ``--engine chgnet`` it runs the same cells with CHGNet (without the GPAW-only
scans and cutoff override) into the same store, so that ``anodefree compare --engines
chgnet,gpaw`` finds both.

Run (one core): ``OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 .venv/bin/python
benchmarks/gpaw_validation.py [--engine chgnet] [--store-path DIR]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import yaml

RESULTS = Path(__file__).parent / "results"


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _config_data(preset: str, engine: str | None) -> dict:
    from anodefree.config import PRESETS_DIR
    from anodefree.workflows.engines.registry import get_engine
    from anodefree.workflows.validation import ValidationStage

    path = Path(preset)
    if not path.exists():
        path = PRESETS_DIR / f"{preset}.yaml"
    data = yaml.safe_load(path.read_text())
    if engine and engine != data["engine"]["name"]:
        data["engine"] = {"name": engine}
        data["name"] = f"{data['name']}-{engine}"
        data["report_dir"] = f"{data['report_dir']}-{engine}"
        if data.get("validation") is not None:  # as `anodefree run --engine` does
            stage, _ = ValidationStage(**data["validation"]).for_engine(get_engine(engine))
            data["validation"] = stage.model_dump(mode="json") if stage else None
    return data


def run(preset: str, engine: str | None, store_path: Path | None) -> dict:
    """Run the campaign; return the record written to the JSON file."""
    from anodefree.analysis.report import build_report, write_report
    from anodefree.analysis.results import run_documents
    from anodefree.config import config_from_dict
    from anodefree.workflows.campaign import run_campaign
    from anodefree.workflows.stores import make_job_store

    data = _config_data(preset, engine)
    if store_path:
        data["store"] = {"backend": "embedded", "path": str(store_path)}
    config = config_from_dict(data, source=f"preset {preset}")
    job_store = make_job_store(config.store)
    wall0, cpu0 = time.perf_counter(), _cpu()
    started = datetime.now(UTC)

    def report_progress(counts) -> None:
        print(
            f"{time.perf_counter() - wall0:7.0f} s  computed {counts.computed}, reused "
            f"{counts.reused}, failed {len(counts.failed)}  {counts.current}",
            flush=True,
        )

    summary = run_campaign(config, job_store=job_store, on_progress=report_progress)
    run_id = summary.run_id
    wall, cpu = time.perf_counter() - wall0, _cpu() - cpu0
    job_store.connect()
    documents = run_documents(job_store, run_id)
    built = build_report(config.name, documents, None, figure_dir=config.report_dir / "figures")
    write_report(built, config.report_dir)
    record = _record(job_store, run_id, documents, config, preset, started)
    record.update(wall_time_s=wall, cpu_time_s=cpu)
    print(json.dumps({k: record[k] for k in ("wall_time_s", "cpu_time_s", "values")}, indent=2))
    return record


def record_run(preset: str, engine: str | None, store_path: Path | None, run_id: str) -> dict:
    """Return the record of a finished run of the preset in the store (nothing is run)."""
    from anodefree.analysis.results import run_calculations, run_documents
    from anodefree.config import config_from_dict
    from anodefree.workflows.stores import make_job_store

    data = _config_data(preset, engine)
    if store_path:
        data["store"] = {"backend": "embedded", "path": str(store_path)}
    config = config_from_dict(data, source=f"preset {preset}")
    job_store = make_job_store(config.store)
    job_store.connect()
    documents = run_documents(job_store, run_id)
    if not documents:
        raise SystemExit(f"no documents of run {run_id!r} in {config.store}")
    started = min(c.completed_at for c in run_calculations(job_store, run_id))  # first finished
    return _record(job_store, run_id, documents, config, preset, started)


def _record(job_store, run_id, documents, config, preset, started) -> dict:
    """Collect settings, per-stage calculation times and the values of one run."""
    from anodefree.analysis.comparison import column_values
    from anodefree.analysis.results import run_calculations_by_stage

    per_stage: dict[str, float] = defaultdict(float)
    calculations = []
    for stage_name, result in run_calculations_by_stage(job_store, run_id):
        per_stage[stage_name or "?"] += result.wall_time or 0.0
        calculations.append(
            {
                "label": result.label,
                "stage": stage_name,
                "n_atoms": result.n_atoms,
                "wall_time_s": result.wall_time,
                "reused": result.reused,
                "converged": result.converged,
                "n_ionic_steps": result.n_ionic_steps,
            }
        )
    values = column_values(list(reversed(documents)))
    return {
        "preset": preset,
        "campaign": config.name,
        "run_id": run_id,
        "started_at": started.isoformat(),
        "calculator": config.engine.provenance().model_dump(mode="json"),
        "relax": config.relax.model_dump(mode="json"),
        "threads": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")},
        "machine": f"{platform.node()} {os.cpu_count()} cores; shared with other runs",
        "stage_calculation_wall_s": dict(per_stage),
        "calculations": sorted(calculations, key=lambda c: -(c["wall_time_s"] or 0)),
        "values": {
            key: {
                "value": v.value,
                "note": v.note,
                "flagged": v.flagged,
                "calculator": v.label,
            }
            for key, v in values.items()
        },
        "documents": sorted({type(d).__name__ for d in documents}),
    }


def main() -> None:
    """Parse the arguments, run, and write the JSON record."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="gpaw-validation")
    parser.add_argument("--engine", default=None, help="Run the same cells with this engine.")
    parser.add_argument("--store-path", type=Path, default=None)
    parser.add_argument("--output", type=Path, default=None)
    parser.add_argument(
        "--from-run",
        default=None,
        help="Record a finished run (e.g. of `anodefree run gpaw-validation`) instead of running.",
    )
    parser.add_argument(
        "--wall-time", type=float, default=None, help="Its measured wall time (s), with --from-run."
    )
    args = parser.parse_args()
    if args.from_run:
        record = record_run(args.preset, args.engine, args.store_path, args.from_run)
        record.update(wall_time_s=args.wall_time, cpu_time_s=None, source="anodefree run (CLI)")
    else:
        record = run(args.preset, args.engine, args.store_path)
    suffix = f"_{args.engine}" if args.engine and args.engine != "gpaw" else ""
    output = args.output or RESULTS / f"gpaw_validation{suffix}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(record, indent=2, default=str))
    print(f"written {output}")


if __name__ == "__main__":
    main()
