"""The surfaces + adhesion stages of the laptop campaign with CHGNet: numbers and timings.

Runs, against one fresh embedded store:

1. the bulk references Li and Li2S (``relax_full``; the bulk stage's job, timed apart);
2. the surfaces stage (laptop defaults: Li(100), Li(110), Li2S(111) thickness series) and
   the adhesion stage (laptop defaults: Li/Li2S, Li-Mg/Li2S, Li-Ag/Li2S, Li/LiAg with the
   LiAg bulk relaxed in the stage), timed together: the 3.5-minute budget of
   ``notes/flow_pattern.md`` is for this part.

Prints W_ad (ideal, relaxed), theta, verdict, strains, areas and atom counts per interface,
the surface energies with their convergence, the ten most expensive calculations, and the
wall and process CPU times; writes benchmarks/results/adhesion_stage.json and the report
(Markdown, figures) to ``--report`` (default benchmarks/results/adhesion_stage_report).

On a shared machine the CPU time is the better measure: with torch on two threads a quiet
two-core machine runs at about CPU / 2 wall (see flow_pattern.md).

Run: ``.venv/bin/python benchmarks/adhesion_stage.py [--threads 2] [--report DIR]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import time
from pathlib import Path


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _print_tables(surface_docs, docs, computed) -> None:
    print("\nsurface energies (J/m^2)")
    for d in surface_docs:
        series = ", ".join(f"{s.n_units}:{s.surface_energy:.3f}" for s in d.slabs)
        print(
            f"  {d.facet:10s} {d.surface_energy:.3f}  change {d.thickness_change:.4f} "
            f"{'converged' if d.thickness_converged else 'NOT converged'}  [{series}]"
        )
    print("\ninterfaces")
    print(
        f"  {'system':12s} {'placement':9s} {'W_ideal':>8s} {'W_relax':>8s} {'theta':>6s} "
        f"{'verdict':12s} {'strain %':>14s} {'area':>6s} {'atoms':>5s} {'d_best':>6s} "
        f"{'d_relax':>7s} conv"
    )
    for d in docs:
        strain = "/".join(f"{x:+.2f}" for x in d.film_strain_percent)
        w_rel = f"{d.w_ad_relaxed:8.3f}" if d.w_ad_relaxed is not None else "     n/a"
        theta = f"{d.theta:6.1f}" if d.theta is not None else "   n/a"
        d_rel = f"{d.relaxed_separation:7.2f}" if d.relaxed_separation is not None else "    n/a"
        print(
            f"  {d.system:12s} {d.placement:9s} {d.w_ad_ideal:8.3f} {w_rel} {theta} "
            f"{d.verdict or '-':12s} {strain:>14s} {d.area:6.1f} {d.n_atoms:5d} "
            f"{d.best_separation:6.2f} {d_rel} {d.converged}"
        )
    print("\nmost expensive calculations")
    for r in sorted(computed, key=lambda r: -(r.wall_time or 0))[:10]:
        print(f"  {r.wall_time or 0:7.1f} s  {r.n_ionic_steps or 0:4d} steps  {r.label}")


def main() -> None:  # noqa: PLR0915
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="torch / BLAS threads")
    parser.add_argument(
        "--report", type=Path, default=Path(__file__).parent / "results" / "adhesion_stage_report"
    )
    parser.add_argument("--store", type=Path, default=None, help="embedded store folder")
    args = parser.parse_args()
    os.environ["OMP_NUM_THREADS"] = str(args.threads)

    import tempfile

    import torch
    from jobflow import Flow, run_locally

    from anodefree.analysis.documents.adhesion import AdhesionDocument
    from anodefree.analysis.documents.calculation import CalculationResult
    from anodefree.analysis.documents.surfaces import SurfaceEnergyDocument
    from anodefree.analysis.report import build_report, write_report
    from anodefree.tasks import RelaxSettings
    from anodefree.workflows.adhesion import AdhesionStage, build_adhesion_stage
    from anodefree.workflows.bulk import BulkReferenceMaker
    from anodefree.workflows.engines.registry import get_engine
    from anodefree.workflows.stores import StoreSettings, make_job_store
    from anodefree.workflows.surfaces import SurfacesStage, build_surfaces_stage

    torch.set_num_threads(args.threads)
    store_dir = args.store or Path(tempfile.mkdtemp(prefix="adhesion-bench-"))
    store = make_job_store(StoreSettings(backend="embedded", path=store_dir))
    store.connect()
    engine = get_engine("chgnet")
    relax = RelaxSettings()

    def outputs(responses, cls):
        return [
            r.output for d in responses.values() for r in d.values() if isinstance(r.output, cls)
        ]

    t0, c0 = time.perf_counter(), _cpu()
    engine.calculator()  # model load, counted apart
    load = (time.perf_counter() - t0, _cpu() - c0)

    t0, c0 = time.perf_counter(), _cpu()
    bulk = BulkReferenceMaker(engine=engine, relax=relax, phases=("Li", "Li2S")).make()
    responses = run_locally(bulk, store=store, log=False)
    bulks = {r.system: r for r in outputs(responses, CalculationResult)}
    bulk_time = (time.perf_counter() - t0, _cpu() - c0)

    t0, c0 = time.perf_counter(), _cpu()
    surfaces, n_surf = build_surfaces_stage(SurfacesStage(), engine, relax, bulks)
    adhesion, n_adh = build_adhesion_stage(
        AdhesionStage(), engine, relax, bulks["Li"], bulks["Li2S"],
        metal_surfaces=surfaces[0].output,
    )  # fmt: skip
    build_time = (time.perf_counter() - t0, _cpu() - c0)
    responses = run_locally(Flow([*surfaces, *adhesion]), store=store, log=False)
    stage_time = (time.perf_counter() - t0, _cpu() - c0)

    surface_docs = sorted(outputs(responses, SurfaceEnergyDocument), key=lambda d: d.facet)
    docs = sorted(outputs(responses, AdhesionDocument), key=lambda d: (d.system, d.placement))
    computed = [r for r in outputs(responses, CalculationResult) if not r.reused]
    print(f"\nCHGNet {engine.provenance().label}, {args.threads} threads, load {os.getloadavg()}")
    _print_tables(surface_docs, docs, computed)
    print(
        f"\nmodel load {load[0]:.1f} s wall / {load[1]:.1f} s CPU; bulk Li + Li2S "
        f"{bulk_time[0]:.1f} s / {bulk_time[1]:.1f} s; surfaces + adhesion "
        f"{stage_time[0]:.1f} s wall, {stage_time[1]:.1f} s CPU (flow building "
        f"{build_time[0]:.1f} s); planned {n_surf + n_adh}, computed {len(computed)}"
    )

    report = build_report(
        "adhesion-benchmark", [*surface_docs, *docs], figure_dir=args.report / "figures"
    )
    write_report(report, args.report)
    out = Path(__file__).parent / "results" / "adhesion_stage.json"
    out.write_text(
        json.dumps(
            {
                "benchmark": "adhesion_stage",
                "calculator": engine.provenance().label,
                "threads": args.threads,
                "machine": {"cpus": os.cpu_count(), "load_average": os.getloadavg(),
                            "python": platform.python_version()},
                "model_load_s": {"wall": load[0], "cpu": load[1]},
                "bulk_s": {"wall": bulk_time[0], "cpu": bulk_time[1]},
                "surfaces_adhesion_s": {"wall": stage_time[0], "cpu": stage_time[1]},
                "flow_building_s": {"wall": build_time[0], "cpu": build_time[1]},
                "planned": n_surf + n_adh,
                "computed": len(computed),
                "surfaces": [
                    {"facet": d.facet, "gamma_J_m2": d.surface_energy,
                     "change_J_m2": d.thickness_change, "converged": d.thickness_converged,
                     "series": {s.n_units: s.surface_energy for s in d.slabs}}
                    for d in surface_docs
                ],
                "interfaces": [
                    {"system": d.system, "placement": d.placement,
                     "w_ad_ideal_J_m2": d.w_ad_ideal, "w_ad_relaxed_J_m2": d.w_ad_relaxed,
                     "theta_deg": d.theta, "theta_strained_deg": d.theta_strained,
                     "verdict": d.verdict, "film_strain_percent": d.film_strain_percent,
                     "area_A2": d.area, "n_atoms": d.n_atoms, "n_atoms_film": d.n_atoms_film,
                     "n_atoms_substrate": d.n_atoms_substrate,
                     "best_separation_A": d.best_separation,
                     "relaxed_separation_A": d.relaxed_separation,
                     "gamma_metal_J_m2": d.gamma_metal, "converged": d.converged,
                     "warnings": d.warnings}
                    for d in docs
                ],
                "calculations": [
                    {"label": r.label, "wall_s": r.wall_time, "steps": r.n_ionic_steps,
                     "n_atoms": r.n_atoms, "converged": r.converged}
                    for r in computed
                ],
            },
            indent=2,
        )
    )  # fmt: skip
    print(f"wrote {out} and {args.report}/report.md")


if __name__ == "__main__":
    main()
