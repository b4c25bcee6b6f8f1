"""Benchmark: the 30 x 30 overpotential map of the continuum model (target < 30 s on 2 cores).

Timed, each the best of ``--repeats`` runs (wall clock):

1. the map alone: ``run_map`` over island widths x current densities (log-spaced, 1-50 um
   and 0.1-10 mA/cm^2 by default, default mesh), no onset crossings;
2. the map with the critical current density of every default onset (Li-Ag 0.05 V, Li-Au
   0.07 V) for both metrics, as ``anodefree continuum`` runs it;
3. the split of (1) into set-up (mesh, assembly, sparse LU, Schur complement) and Newton
   solves, per island width and per case;
4. the same Newton solves done on the whole sparse system (``solve_monolithic``) for a few
   widths, to show what the island-only Newton saves.

The load average is recorded: the machine is shared, and timings under contention are
marked as such. BLAS runs single-threaded, as in ``run_map``.
Run: ``.venv/bin/python benchmarks/continuum_map.py``.
Writes ``benchmarks/results/continuum_map.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from importlib.metadata import version
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from anodefree.analysis.exports.continuum import ContinuumParameters
from anodefree.models.continuum.mesh import MeshSettings
from anodefree.models.continuum.solver import single_threaded_blas
from anodefree.models.continuum.sweep import run_map, solver_for

RESULTS = Path(__file__).parent / "results"
TARGET_SECONDS = 30.0


def best_of(repeats, function):
    times, value = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        value = function()
        times.append(time.perf_counter() - start)
    return min(times), times, value


def split_timing(parameters, widths, currents, mesh):
    build, solve, iterations = 0.0, 0.0, []
    for width in widths:
        start = time.perf_counter()
        solver = solver_for(parameters, width, mesh=mesh)
        build += time.perf_counter() - start
        previous = None
        start = time.perf_counter()
        for current in currents:
            solution = solver.solve(current, previous)
            previous = solution.island_potential
            iterations.append(solution.newton_iterations)
        solve += time.perf_counter() - start
    return build, solve, iterations


def monolithic_timing(parameters, widths, currents, mesh):
    reduced, full, worst = 0.0, 0.0, 0.0
    for width in widths:
        solver = solver_for(parameters, width, mesh=mesh)
        for current in currents:
            start = time.perf_counter()
            u_reduced = solver.full_potential(solver.solve(current))
            reduced += time.perf_counter() - start
            start = time.perf_counter()
            u_full = solver.solve_monolithic(current)
            full += time.perf_counter() - start
            worst = max(worst, float(np.max(np.abs(u_reduced - u_full))))
    return reduced, full, worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-widths", type=int, default=30)
    parser.add_argument("--n-currents", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--output", type=Path, default=RESULTS / "continuum_map.json")
    args = parser.parse_args()

    console = Console()
    parameters = ContinuumParameters()
    mesh = MeshSettings()
    widths = np.geomspace(1.0, parameters.domain_width, args.n_widths).tolist()
    currents = np.geomspace(0.1, 10.0, args.n_currents).tolist()
    load_before = os.getloadavg()
    run_map(parameters, widths[:2], currents[:2])  # imports and first-call overheads

    map_best, map_times, result = best_of(
        args.repeats, lambda: run_map(parameters, widths, currents, crossings=False)[0]
    )
    full_best, full_times, full_result = best_of(
        args.repeats, lambda: run_map(parameters, widths, currents)[0]
    )
    sample_widths = [widths[0], widths[len(widths) // 2], widths[-1]]
    sample_currents = currents[:: max(1, len(currents) // 5)]
    with single_threaded_blas():  # as run_map does
        build, solve, iterations = split_timing(parameters, widths, currents, mesh)
        reduced, monolithic, worst = monolithic_timing(
            parameters, sample_widths, sample_currents, mesh
        )
    load_after = os.getloadavg()
    n_cases = len(widths) * len(currents)
    n_monolithic = len(sample_widths) * len(sample_currents)
    contended = max(load_before[0], load_after[0]) > (os.cpu_count() or 1)

    table = Table(title=f"continuum map {len(widths)} x {len(currents)} (best of {args.repeats})")
    table.add_column("what")
    table.add_column("time (s)", justify="right")
    table.add_column("note")
    table.add_row("map, no crossings", f"{map_best:.2f}", f"target < {TARGET_SECONDS:g} s")
    table.add_row(
        "map + onset crossings", f"{full_best:.2f}", f"{len(full_result.crossings)} crossing curves"
    )
    table.add_row("  set-up per width", f"{build / len(widths):.4f}", "mesh, assembly, LU, Schur")
    table.add_row(
        "  Newton per case", f"{solve / n_cases:.5f}", f"{np.mean(iterations):.1f} steps on average"
    )
    table.add_row(
        "island-only Newton per case", f"{reduced / n_monolithic:.5f}", "field recovered too"
    )
    table.add_row(
        "whole-system Newton per case", f"{monolithic / n_monolithic:.5f}",
        f"{monolithic / reduced:.0f}x slower; max difference {worst:.1e} V",
    )  # fmt: skip
    console.print(table)
    console.print(
        f"unknowns per width {min(result.mesh.dofs)}-{max(result.mesh.dofs)}, island unknowns "
        f"{min(result.mesh.island_dofs)}-{max(result.mesh.island_dofs)}; largest current "
        f"mismatch {result.max_current_balance_error:.1e}; load average "
        f"{load_before[0]:.1f} -> {load_after[0]:.1f} on {os.cpu_count()} cores"
        + (" (CONTENDED: timings are upper bounds)" if contended else "")
    )

    record = {
        "benchmark": "continuum_map",
        "n_widths": len(widths),
        "n_currents": len(currents),
        "island_widths_um": [widths[0], widths[-1]],
        "current_densities_mA_cm2": [currents[0], currents[-1]],
        "mesh": {
            "element": f"P{mesh.order}",
            "h_edge_um": mesh.h_edge,
            "h_max_um": mesh.h_max,
            "growth": mesh.growth,
        },
        "dofs_per_width": [min(result.mesh.dofs), max(result.mesh.dofs)],
        "island_dofs_per_width": [min(result.mesh.island_dofs), max(result.mesh.island_dofs)],
        "map_seconds": map_best,
        "map_seconds_all_repeats": map_times,
        "map_with_crossings_seconds": full_best,
        "map_with_crossings_seconds_all_repeats": full_times,
        "target_seconds": TARGET_SECONDS,
        "meets_target": full_best < TARGET_SECONDS,
        "setup_seconds_per_width": build / len(widths),
        "newton_seconds_per_case": solve / n_cases,
        "newton_iterations_mean": float(np.mean(iterations)),
        "newton_iterations_max": int(np.max(iterations)),
        "island_newton_seconds_per_case": reduced / n_monolithic,
        "monolithic_newton_seconds_per_case": monolithic / n_monolithic,
        "monolithic_max_difference_V": worst,
        "max_current_balance_error": result.max_current_balance_error,
        "load_average_before": load_before,
        "load_average_after": load_after,
        "contended": contended,
        "cpu_count": os.cpu_count(),
        "machine": platform.platform(),
        "python": platform.python_version(),
        "versions": {name: version(name) for name in ("scikit-fem", "numpy", "scipy")},
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(record, indent=2) + "\n")
    console.print(f"written {args.output}")


if __name__ == "__main__":
    main()
