"""Interleaved A/B timing of the KMC kernel: this checkout against an earlier commit.

On a shared or frequency-scaled machine the absolute events per second of
``benchmarks/kmc_events.py`` drift by a factor of two between runs of the same code. To
measure what a kernel change buys, this script loads ``models/kmc/engine.py`` as committed
at ``--ref`` next to the current one, builds both engines for each scenario of
``kmc_events.py`` (same slab, same seed) and alternates chunks of 5x10^5 events between
them, so that both see the same machine state; it reports events per CPU second of each and
their ratio. It also runs both for ``--identical-events`` events from the same seed and
states whether the trajectories are bit-identical (occupancies, vacancy energies, time,
total rate, counters), which a change meant to be exact must keep.
Writes benchmarks/results/kmc_kernel_ab.json.

Run: ``NUMBA_NUM_THREADS=1 .venv/bin/python benchmarks/kmc_kernel_ab.py --ref HEAD~3``.
"""

from __future__ import annotations

import os

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import argparse
import importlib.util
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import kmc_events

from anodefree.models.kmc import engine as current

ROOT = Path(__file__).resolve().parents[1]
CHUNK = 500_000


def _git(*args: str) -> str:
    """Output of a git command in the repository (raises if git fails)."""
    git = shutil.which("git")
    if git is None:
        msg = "git is needed to read the reference kernel"
        raise RuntimeError(msg)
    # Fixed executable and argument list, no shell.
    done = subprocess.run([git, *args], cwd=ROOT, capture_output=True, text=True, check=True)  # noqa: S603
    return done.stdout


def _load_ref(ref: str, workdir: Path):
    """The engine module as committed at ``ref`` (compiled into ``workdir``'s cache)."""
    source = _git("show", f"{ref}:models/kmc/engine.py")
    path = workdir / "engine_ref.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("kmc_engine_ref", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["kmc_engine_ref"] = module
    spec.loader.exec_module(module)
    return module


def _run(engine, module, start: np.ndarray, strip_rate: float, n_events: int) -> None:
    """Run ``n_events`` events, restarting from ``start`` when the interface is used up."""
    left = n_events
    while left > 0:
        before = engine.counters.events
        status = engine.run(left, strip_rate=strip_rate)
        left -= engine.counters.events - before
        if status == module.STATUS_CONTACT_LOST:
            engine.set_configuration(start)


def _snapshot(engine) -> tuple:
    """Occupancies, vacancy energies, time, total rate and counters of an engine."""
    return (
        engine.occupancy(),
        engine.vacancy_field,
        engine.time,
        engine.total_rate,
        vars(engine.counters),
    )


def identical(name: str, modules: dict, n_events: int) -> bool:
    """Whether both kernels give the same trajectory for ``n_events`` events from seed 0."""
    shots = []
    for module in modules.values():
        engine, strip_rate = kmc_events.build_engine(name, engine_class=module.KmcEngine)
        _run(engine, module, engine.occupancy(), strip_rate, n_events)
        shots.append(_snapshot(engine))
    a, b = shots
    arrays = all(np.array_equal(x, y) for x, y in zip(a[:2], b[:2], strict=True))
    return bool(arrays and a[2:] == b[2:])


def compare(name: str, modules: dict, seconds: float) -> dict:
    """Alternate chunks between the two kernels until each has used ``seconds`` of CPU."""
    state = {}
    for tag, module in modules.items():
        engine, strip_rate = kmc_events.build_engine(name, engine_class=module.KmcEngine)
        start = engine.occupancy()
        engine.run(200_000, strip_rate=strip_rate)  # compile or load, and warm up
        state[tag] = {"engine": engine, "rate": strip_rate, "start": start, "ev": 0, "cpu": 0.0}
    while min(s["cpu"] for s in state.values()) < seconds:
        for tag, module in modules.items():
            s = state[tag]
            engine = s["engine"]
            before = engine.counters.events
            cpu0 = time.process_time()
            status = engine.run(CHUNK, strip_rate=s["rate"])
            s["cpu"] += time.process_time() - cpu0
            s["ev"] += engine.counters.events - before
            if status == module.STATUS_CONTACT_LOST:
                engine.set_configuration(s["start"])  # not timed
    ref, new = (state[t]["ev"] / state[t]["cpu"] for t in ("ref", "current"))
    return {
        "scenario": name,
        "ref_events_per_cpu_second": ref,
        "current_events_per_cpu_second": new,
        "speedup": new / ref,
    }


def main() -> None:
    """Compare the kernels on every scenario, print the table and write the JSON result."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref", default="HEAD", help="git commit of the reference kernel")
    parser.add_argument("--seconds", type=float, default=8.0, help="CPU seconds per kernel")
    parser.add_argument("--identical-events", type=int, default=2_000_000)
    args = parser.parse_args()
    ref_commit = _git("rev-parse", "--short", args.ref).strip()
    current_commit = _git("rev-parse", "--short", "HEAD").strip()
    if _git("status", "--porcelain", "--", "models/kmc/engine.py").strip():
        current_commit += " + uncommitted changes to models/kmc/engine.py"
    names = ["dilute-layers", "dilute-divacancy", "li-li2s-stripping", "li-mg-stripping"]
    with tempfile.TemporaryDirectory() as workdir:
        modules = {"ref": _load_ref(args.ref, Path(workdir)), "current": current}
        rows = []
        for name in names:
            row = compare(name, modules, args.seconds)
            row["bit_identical"] = identical(name, modules, args.identical_events)
            rows.append(row)
            print(
                f"{name:<20} ref {row['ref_events_per_cpu_second']:9.3g}  "
                f"current {row['current_events_per_cpu_second']:9.3g}  "
                f"x{row['speedup']:.2f}  identical trajectories: {row['bit_identical']}",
                flush=True,
            )
    result = {
        "benchmark": "kmc_kernel_ab",
        "description": "interleaved events per CPU second of the KMC kernel, current vs ref",
        "ref": ref_commit,
        "current": current_commit,
        "chunk_events": CHUNK,
        "cpu_seconds_per_kernel": args.seconds,
        "identical_events": args.identical_events,
        "load_average": os.getloadavg()[0],
        "rows": rows,
    }
    kmc_events.write_result("kmc_kernel_ab", result)


if __name__ == "__main__":
    main()
