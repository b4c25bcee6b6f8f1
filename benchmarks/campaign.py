"""Wall time and force calls of a campaign, by stage.

Runs a campaign (the ``default`` preset unless a file or preset is given) against a fresh
embedded store, then reads back every calculation of the run and sums, per stage, the
calculations computed and reused, the ionic steps (one force call each for BFGS/FIRE) and
the calculation wall time. Prints a table and writes ``benchmarks/results/campaign.json``.

    .venv/bin/python benchmarks/campaign.py [default|cluster|FILE] [--engine morse]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from anodefree.analysis.report import build_report
from anodefree.analysis.results import run_calculations_by_stage, run_documents
from anodefree.config import config_from_dict, load_config
from anodefree.workflows.campaign import run_campaign
from anodefree.workflows.stores import make_job_store

RESULTS = Path(__file__).parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("campaign", nargs="?", default="default")
    parser.add_argument("--engine", default=None, help="override the engine name")
    parser.add_argument("--output", type=Path, default=RESULTS / "campaign.json")
    args = parser.parse_args()

    base = load_config(args.campaign)
    with tempfile.TemporaryDirectory() as tmp:
        data = base.model_dump(exclude={"engine"})
        data["engine"] = {"name": args.engine} if args.engine else base.engine
        data["store"] = {"backend": "embedded", "path": str(Path(tmp) / "store")}
        data["work_dir"] = str(Path(tmp) / "runs")
        data["report_dir"] = str(Path(tmp) / "report")
        config = config_from_dict(data, source="benchmark")
        load = os.getloadavg()[0]
        t0 = time.perf_counter()
        cpu0 = time.process_time()
        summary = run_campaign(config)
        wall = time.perf_counter() - t0
        cpu = time.process_time() - cpu0
        store = make_job_store(config.store)
        store.connect()
        stages: dict[str, dict[str, float]] = defaultdict(
            lambda: {"computed": 0, "reused": 0, "force_calls": 0, "calculation_wall_s": 0.0}
        )
        for stage, result in run_calculations_by_stage(store, summary.run_id):
            row = stages[stage or "unknown"]
            if result.reused:
                row["reused"] += 1
            else:
                row["computed"] += 1
                row["force_calls"] += result.n_ionic_steps or 0
                row["calculation_wall_s"] += result.wall_time or 0.0

        # The run's numbers, to compare with other runs (e.g. a killed and resumed one).
        report = build_report(config.name, run_documents(store, summary.run_id), summary)
        values = {
            f"{row.section}: {row.quantity}": [row.value, row.unit]
            for row in report.rows
            if row.value is not None
        }

    print(f"campaign {config.name} with {summary.calculator.label}")
    print(
        f"{'stage':20s} {'computed':>9s} {'reused':>7s} {'force calls':>12s} {'calc wall (s)':>14s}"
    )
    for stage, row in stages.items():
        print(
            f"{stage:20s} {row['computed']:9d} {row['reused']:7d} {row['force_calls']:12d} "
            f"{row['calculation_wall_s']:14.1f}"
        )
    print(
        f"total wall time {wall:.1f} s, CPU time of this process {cpu:.1f} s, "
        f"load at start {load:.2f}"
    )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(
        json.dumps(
            {
                "campaign": config.name,
                "calculator": summary.calculator.model_dump(mode="json"),
                "wall_time_s": wall,
                "cpu_time_s": cpu,
                "load_average_at_start": load,
                "cpus": os.cpu_count(),
                "machine": platform.platform(),
                "computed": summary.computed,
                "reused": summary.reused,
                "unconverged": summary.unconverged,
                "failed": summary.failed,
                "stages": stages,
                "target_wall_time_s": 900,
                "values": values,
            },
            indent=2,
        )
    )
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
