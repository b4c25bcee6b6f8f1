"""Events per second of the stripping KMC kernel on one core, slabs of >= 1e5 sites.

Scenarios (each a bcc(100) slab of 32 x 32 x 100 = 102,400 sites, plus the reservoir layer
where there is one):

- ``dilute-layers``: 100 vacancies, layer formation energies only (no pair interactions),
  no stripping, no reservoir: the bare hop loop;
- ``dilute-divacancy``: as above with divacancy binding at the 1st and 2nd shell (the
  vacancies start at random and gather into clusters during the run, which makes events
  near them refresh more rates; ``benchmarks/kmc_scaling.py`` shows how the rate depends on
  that);
- ``li-li2s-stripping``: Li/Li2S-like energetics (L1 vacancies favoured, divacancy binding,
  interlayer barrier), reservoir, stripping at 1 mA/cm^2 with acceleration 1e6, starting
  from a full interface: a mix of hops, stripping and reservoir events with a growing
  vacancy population at the interface;
- ``li-mg-stripping``: as above with 3 at.% Mg (segregation, solute-vacancy interaction up
  to the 3rd shell, solute hops).

The kernel is compiled (or loaded from numba's cache) and warmed up before timing. Both
wall-clock and process CPU time are reported, and the CPU-time rate of the fastest chunk of
10^6 events: on a shared machine the CPU-time rates are the better estimate of what one
uncontended core does (the best chunk being the least disturbed).
Writes benchmarks/results/kmc_events.json.

Run: ``NUMBA_NUM_THREADS=1 .venv/bin/python benchmarks/kmc_events.py [--seconds 10]``.
"""

from __future__ import annotations

import os

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import argparse
import json
import platform
import time
from pathlib import Path

import numba
import numpy as np

from anodefree.analysis.exports.kmc import KmcExport
from anodefree.models.kmc.engine import STATUS_CONTACT_LOST, VAC, KmcEngine
from anodefree.models.kmc.lattice import SlabLattice
from anodefree.models.kmc.parameters import compile_tables
from anodefree.models.kmc.runner import initial_occupancy
from anodefree.models.kmc.timescale import strip_rate_per_site

A = 3.44
NX = NY = 32
N_LAYERS = 100
TARGET_EVENTS_PER_SECOND = 2e6
KMCOS_STEPS_PER_SECOND = 6.6e5


def scenario_export(name: str) -> KmcExport:
    """The parameter file of one benchmark scenario (energetics as listed above)."""
    common = {
        "lattice_constant": A,
        "vacancy_formation_bulk": 0.50,
        "li_hop_barrier": 0.055,
        "attempt_frequency": 5e12,
    }
    if name == "dilute-layers":
        return KmcExport.from_numbers(
            system=name, vacancy_formation_by_layer=[0.30, 0.45], **common
        )
    if name == "dilute-divacancy":
        return KmcExport.from_numbers(
            system=name,
            vacancy_formation_by_layer=[0.30, 0.45],
            divacancy_binding_bulk={1: 0.05, 2: 0.03},
            **common,
        )
    li_li2s = {
        "vacancy_formation_by_layer": [0.30, 0.45, 0.49],
        "divacancy_binding_bulk": {1: 0.02, 2: 0.05},
        "interlayer_barriers": {(1, 2): (0.20, 0.05)},
    }
    if name == "li-li2s-stripping":
        return KmcExport.from_numbers(system=name, **li_li2s, **common)
    return KmcExport.from_numbers(
        system=name,
        solute="Mg",
        solute_fraction=0.03,
        segregation_by_layer=[-0.15, -0.03],
        solute_vacancy_bulk={1: 0.03, 2: 0.01, 3: 0.005},
        solute_vacancy_interface={1: 0.08},
        li_hop_barrier_near_solute=0.061,
        solute_hop_barrier=0.102,
        **li_li2s,
        **common,
    )


def build_engine(
    name: str, seed: int = 0, engine_class: type = KmcEngine
) -> tuple[KmcEngine, float]:
    """The scenario's engine (of ``engine_class``) and its stripping rate in 1/s."""
    export = scenario_export(name)
    stripping = name.endswith("stripping")
    n_total = N_LAYERS + (1 if stripping else 0)
    with_solute = export.solute is not None
    tables = compile_tables(export, temperature=298.15, n_layers=n_total, with_solute=with_solute)
    lattice = SlabLattice("100", A, NX, NY, n_total, n_shells=max(tables.n_shells, 1))
    engine = engine_class(lattice, tables, sink=stripping, seed=seed)
    rng = np.random.default_rng(seed)
    occ = initial_occupancy(
        lattice,
        tables,
        n_active=N_LAYERS,
        sink=stripping,
        solute_fraction=export.solute.atomic_fraction if with_solute else 0.0,
        solute_init="equilibrium",
        vacancy_init="none",
        rng=rng,
    )
    strip_rate = 0.0
    if stripping:
        strip_rate = 1e6 * strip_rate_per_site(1.0, lattice.area_per_site) * lattice.sites_per_layer
    else:
        active = np.flatnonzero(occ == 1)
        occ[rng.choice(active, 100, replace=False)] = VAC
    engine.set_configuration(occ)
    return engine, strip_rate


def environment() -> dict:
    """Software and machine the kernel was timed with (for the JSON results)."""
    return {
        "numba_num_threads": int(os.environ["NUMBA_NUM_THREADS"]),
        "numba": numba.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "machine": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
    }


def write_result(name: str, result: dict) -> Path:
    """Write ``benchmarks/results/<name>.json`` and say so."""
    out = Path(__file__).parent / "results" / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written {out}")
    return out


def measure(name: str, seconds: float) -> dict:
    """Time the kernel on one scenario for about ``seconds`` of CPU time."""
    engine, strip_rate = build_engine(name)
    start = engine.occupancy()
    engine.run(200_000, strip_rate=strip_rate)  # compile or load, and warm up
    events = restarts = stripped = 0
    cpu = wall = 0.0
    chunk_rates = []
    while cpu < seconds:
        before = engine.counters.events
        cpu0, wall0 = time.process_time(), time.perf_counter()
        status = engine.run(1_000_000, strip_rate=strip_rate)
        chunk_cpu = time.process_time() - cpu0
        cpu += chunk_cpu
        wall += time.perf_counter() - wall0
        done = engine.counters.events - before
        events += done
        if done >= 100_000 and chunk_cpu > 0:
            chunk_rates.append(done / chunk_cpu)
        if status == STATUS_CONTACT_LOST:
            # The interface is used up: start again from a full one (not timed).
            stripped += engine.counters.stripped
            engine.set_configuration(start)
            restarts += 1
    counters = engine.counters
    return {
        "scenario": name,
        "sites": engine.n_sites,
        "events": events,
        "cpu_seconds": cpu,
        "wall_seconds": wall,
        "events_per_cpu_second": events / cpu,
        "events_per_wall_second": events / wall,
        "events_per_cpu_second_best_chunk": max(chunk_rates),
        "events_per_cpu_second_median_chunk": float(np.median(chunk_rates)),
        "vacancies_at_end": int(engine.vacancies_by_layer().sum()),
        "stripped": stripped + counters.stripped,
        "restarts_after_contact_loss": restarts,
        "solute_hops": counters.solute_hops,
    }


def main() -> None:
    """Run every scenario, print the table and write the JSON result."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="CPU seconds per scenario")
    args = parser.parse_args()
    names = ["dilute-layers", "dilute-divacancy", "li-li2s-stripping", "li-mg-stripping"]
    load_before = os.getloadavg()[0]
    rows = [measure(name, args.seconds) for name in names]
    load_after = os.getloadavg()[0]
    header = (
        f"{'scenario':<20} {'sites':>8} {'events':>10} {'ev/s cpu':>9} "
        f"{'best 1e6':>9} {'ev/s wall':>10}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row['scenario']:<20} {row['sites']:>8} {row['events']:>10} "
            f"{row['events_per_cpu_second']:>9.3g} "
            f"{row['events_per_cpu_second_best_chunk']:>9.3g} "
            f"{row['events_per_wall_second']:>10.3g}"
        )
    print(
        f"target {TARGET_EVENTS_PER_SECOND:.2g} events/s; kmcos publishes "
        f"{KMCOS_STEPS_PER_SECOND:.2g} steps/s; load average {load_before:.1f} -> "
        f"{load_after:.1f} on {os.cpu_count()} cores"
    )
    result = {
        "benchmark": "kmc_events",
        "description": "events per second of the stripping KMC kernel, one thread",
        "target_events_per_second": TARGET_EVENTS_PER_SECOND,
        "reference": {"kmcos_steps_per_second": KMCOS_STEPS_PER_SECOND},
        "slab": {"facet": "100", "nx": NX, "ny": NY, "layers": N_LAYERS},
        **environment(),
        "load_average_before_after": [load_before, load_after],
        "note": "a load average above the core count means the machine was shared during "
        "the measurement; events per CPU second is then the better single-core estimate",
        "rows": rows,
    }
    write_result("kmc_events", result)


if __name__ == "__main__":
    main()
