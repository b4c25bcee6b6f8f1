"""How the KMC kernel's events per second depend on the vacancy population and the slab size.

The cost of an event is set by the sites around the vacancy that moves: its rates, the fields
of its interaction shells and the rates of the vacancies within their reach. It grows when
vacancies gather, as they do at the interface during stripping and, with divacancy binding,
in the bulk too: a vacancy with others within reach makes every event near it recompute
their rates. Each row gives the fraction of vacancies that have another one within the
2nd shell (mean over the ends of the 5e5-event chunks), as a measure of that clustering.
The neighbourhoods of many vacancies also fill more of the CPU caches than those of a few.

This script runs the ``dilute-divacancy`` energetics of ``benchmarks/kmc_events.py`` (layer
energies, divacancy binding at the 1st and 2nd shell, no stripping) on bcc(100) slabs of
32 x 32 x L sites with V vacancies (placed at random, then equilibrating as they hop), for a
few (L, V): the same density on growing slabs, and more vacancies on the 10^5-site slab. Writes
benchmarks/results/kmc_scaling.json.

Run: ``NUMBA_NUM_THREADS=1 .venv/bin/python benchmarks/kmc_scaling.py [--seconds 4]``.
"""

from __future__ import annotations

import os

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import argparse
import time

import numpy as np
from kmc_events import NX, NY, A, environment, scenario_export, write_result

from anodefree.models.kmc.engine import LI, VAC, KmcEngine
from anodefree.models.kmc.lattice import SlabLattice
from anodefree.models.kmc.parameters import compile_tables

CASES = [
    # (layers, vacancies): density 1e-3 on growing slabs, then 10 to 1000 on 10^5 sites
    (10, 10),
    (20, 20),
    (30, 30),
    (50, 50),
    (100, 100),
    (100, 10),
    (100, 30),
    (100, 300),
    (100, 1000),
]


def build(layers: int, vacancies: int, seed: int = 0) -> KmcEngine:
    """The dilute-divacancy engine on a 32 x 32 x ``layers`` slab with random vacancies."""
    export = scenario_export("dilute-divacancy")
    tables = compile_tables(export, temperature=298.15, n_layers=layers, with_solute=False)
    lattice = SlabLattice("100", A, NX, NY, layers, n_shells=max(tables.n_shells, 1))
    engine = KmcEngine(lattice, tables, sink=False, seed=seed)
    occupancy = np.full(lattice.n_sites, LI, dtype=np.int8)
    rng = np.random.default_rng(seed)
    occupancy[rng.choice(lattice.n_sites, vacancies, replace=False)] = VAC
    engine.set_configuration(occupancy)
    return engine


def clustered_fraction(engine: KmcEngine) -> float:
    """Fraction of the vacancies with another vacancy in their 1st or 2nd shell."""
    lattice = engine.lattice
    occupancy = np.append(engine.occupancy(), LI)  # the dummy neighbour outside is no vacancy
    near = lattice.shell_nbr[:, lattice.shell_of_slot < 2]
    vacancies = np.flatnonzero(occupancy == VAC)
    return float((occupancy[near[vacancies]] == VAC).any(axis=1).mean())


def measure(layers: int, vacancies: int, seconds: float) -> dict:
    """Events per CPU second of one case, after a warm-up of 2e5 events."""
    engine = build(layers, vacancies)
    engine.run(200_000)
    events, cpu, clustered = 0, 0.0, []
    while cpu < seconds:
        before = engine.counters.events
        t0 = time.process_time()
        engine.run(500_000)
        cpu += time.process_time() - t0
        events += engine.counters.events - before
        clustered.append(clustered_fraction(engine))  # not timed
    return {
        "layers": layers,
        "clustered_fraction": float(np.mean(clustered)),
        "sites": engine.n_sites,
        "vacancies": vacancies,
        "vacancy_fraction": vacancies / engine.n_sites,
        "events": events,
        "cpu_seconds": cpu,
        "events_per_cpu_second": events / cpu,
    }


def main() -> None:
    """Run every case, print the table and write the JSON result."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="CPU seconds per case")
    args = parser.parse_args()
    rows = []
    header = f"{'sites':>8} {'vacancies':>9} {'fraction':>9} {'clustered':>9} {'ev/s cpu':>9}"
    print(header)
    print("-" * len(header))
    for layers, vacancies in CASES:
        row = measure(layers, vacancies, args.seconds)
        rows.append(row)
        print(
            f"{row['sites']:>8} {row['vacancies']:>9} {row['vacancy_fraction']:>9.1e} "
            f"{row['clustered_fraction']:>9.2f} {row['events_per_cpu_second']:>9.3g}",
            flush=True,
        )
    result = {
        "benchmark": "kmc_scaling",
        "description": "events per CPU second of the KMC kernel (dilute-divacancy energetics, "
        "no stripping) versus slab size and number of vacancies, one thread",
        "slab": {"facet": "100", "nx": NX, "ny": NY},
        **environment(),
        "measured": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "rows": rows,
    }
    write_result("kmc_scaling", result)


if __name__ == "__main__":
    main()
