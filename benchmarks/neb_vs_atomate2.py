"""Benchmark: force calls and wall time per NEB, anodefree's flow vs atomate2's NEB Makers.

The hop: a Li atom into a nearest-neighbour vacancy in a 3x3x3 bcc Li supercell (53
atoms) at the calculator's relaxed lattice constant. Every run counts its energy/force
evaluations with a wrapping calculator (:class:`~anodefree.workflows.migration.CountingCalculator`
around one shared calculator) and runs through jobflow (``run_locally``, in-memory store):

1. **anodefree**: :class:`~anodefree.workflows.migration.MigrationHopMaker` with its
   defaults (endpoints relaxed at fixed cell to 0.01 eV/A, IDPP band of 3 images,
   climbing image, ``improvedtangent``, BFGS to 0.01 eV/A; no mode analysis);
2. **anodefree, resumed**: the same flow again against the same store (everything reused);
3. **atomate2 defaults**: atomate2's own pieces with their defaults - endpoints by
   ``ForceFieldRelaxMaker`` (``relax_cell=False``: a defect NEB needs one fixed cell; fmax
   0.1 eV/A, FIRE), linear images by ``get_images_from_endpoints`` (3 images), the band by
   ``ForceFieldNebFromImagesMaker`` (its empty ``neb_kwargs``: ASE's k = 0.1 eV/A^2, no
   climbing image; FIRE to 0.1 eV/A). atomate2 0.1.5's ``ForceFieldNebFromEndpointsMaker``
   cannot be used: its ``make`` takes images, not endpoints (it would run a band of just
   the two endpoints);
4. **atomate2 tightened**: the same pieces with the settings needed for an accurate barrier
   (endpoints and band to 0.01 eV/A, atomate2's ``DEFAULT_NEB_KWARGS``: climbing image,
   ``improvedtangent``, k = 5 eV/A^2; FIRE as atomate2's default optimizer).

Every barrier is compared with a converged band computed directly with ASE (5 images,
climbing image, BFGS to 0.002 eV/A from endpoints relaxed to 0.002 eV/A); "equal
barrier" means within 5 meV of it.

Run: ``.venv/bin/python benchmarks/neb_vs_atomate2.py`` (``--engine morse`` for a quick
check of the script). Writes ``benchmarks/results/neb_vs_atomate2[_<engine>].json``.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import json
import platform
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from ase.filters import FrechetCellFilter
from ase.mep import NEB
from ase.optimize import BFGS
from atomate2.ase.utils import DEFAULT_NEB_KWARGS
from atomate2.common.jobs.neb import get_images_from_endpoints
from atomate2.forcefields.jobs import ForceFieldRelaxMaker
from atomate2.forcefields.neb import ForceFieldNebFromImagesMaker
from jobflow import Flow, run_locally
from pymatgen.io.ase import AseAtomsAdaptor
from rich.console import Console
from rich.table import Table

from anodefree.structures.neb import bcc_vacancy_hop
from anodefree.workflows.engines import base as engine_base
from anodefree.workflows.engines.registry import get_engine
from anodefree.workflows.migration import (
    CallLog,
    CountingCalculator,
    MigrationHopMaker,
    describe_hop,
)
from anodefree.workflows.stores import StoreSettings, make_job_store

RESULTS = Path(__file__).parent / "results"
TOLERANCE = 0.005  # eV: "equal barrier"
ATOMATE2_NAMES = {"chgnet": "CHGNet", "morse": None}


def relaxed_lattice_constant(calculator) -> float:
    """Cubic lattice constant of bcc Li with this calculator (2-atom cell, full relax)."""
    from ase.build import bulk

    atoms = bulk("Li", "bcc", a=3.44, cubic=True)
    atoms.calc = calculator
    BFGS(FrechetCellFilter(atoms), logfile=None).run(fmax=1e-4, steps=500)
    return float(atoms.cell.lengths()[0])


def converged_barrier(hop, calculator) -> dict:
    """Reference: a converged climbing-image band straight from ASE."""
    adaptor = AseAtomsAdaptor()
    log = CallLog()
    ends = []
    for structure in (hop.initial, hop.final):
        atoms = adaptor.get_atoms(structure)
        atoms.calc = CountingCalculator(calculator, log)
        BFGS(atoms, logfile=None).run(fmax=0.002, steps=2000)
        ends.append(atoms)
    images = [ends[0]] + [ends[0].copy() for _ in range(5)] + [ends[1]]
    for image in images[1:-1]:
        image.calc = CountingCalculator(calculator, log)
    band = NEB(images, climb=True, method="improvedtangent", k=1.0)
    band.interpolate(mic=True, apply_constraint=False)
    start = time.perf_counter()
    BFGS(band, logfile=None).run(fmax=0.002, steps=2000)
    energies = [image.get_potential_energy() for image in images]
    return {
        "barrier": max(energies) - energies[0],
        "force_calls": log.calls,
        "wall_time": time.perf_counter() - start,
    }


def run_anodefree(engine, hop, store) -> dict:
    """The anodefree hop flow; counts every evaluation through the engine's calculator."""
    counter: CountingCalculator = engine.calculator()
    before = counter.log.calls
    maker = MigrationHopMaker(engine=engine, frequencies=None)
    flow = maker.make_hop(hop, describe_hop(hop, kind="self", system="Li"))
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        responses = run_locally(flow, store=store, log=False, create_folders=True, root_dir=folder)
    wall = time.perf_counter() - start
    outputs = [r.output for d in responses.values() for r in d.values()]
    neb = next(o for o in outputs if type(o).__name__ == "NebCalculation")
    doc = flow.output.resolve(store)
    total = counter.log.calls - before
    return {
        "barrier": doc.forward_barrier,
        "force_calls": total,
        "neb_force_calls": 0 if neb.reused else neb.n_force_calls,
        "endpoint_force_calls": total - (0 if neb.reused else neb.n_force_calls),
        "wall_time": wall,
        "converged": doc.neb_converged,
        "reused": neb.reused,
    }


def run_atomate2(force_field: str | None, calculator, hop, *, tightened: bool) -> dict:
    """atomate2's relax, interpolation and NEB Makers (defaults or tightened)."""
    log = CallLog()
    counting = CountingCalculator(calculator, log)
    name = force_field or "Forcefield"
    relax_kwargs = {"fmax": 0.01} if tightened else {}
    relax = ForceFieldRelaxMaker(force_field_name=name, relax_cell=False, relax_kwargs=relax_kwargs)
    neb_maker = ForceFieldNebFromImagesMaker(
        force_field_name=name,
        neb_kwargs=dict(DEFAULT_NEB_KWARGS) if tightened else {},
        relax_kwargs={"fmax": 0.01} if tightened else {},
    )
    for maker in (relax, neb_maker):
        maker._calculator = counting  # noqa: SLF001  count through the shared wrapper
    start_job = relax.make(hop.initial)
    end_job = relax.make(hop.final)
    images = get_images_from_endpoints(
        [start_job.output.structure, end_job.output.structure], num_images=3
    )
    neb = neb_maker.make(images.output)
    store = make_job_store(StoreSettings(backend="memory"))
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:  # atomate2 writes files into the job dir
        run_locally(
            Flow([start_job, end_job, images, neb]),
            store=store,
            log=False,
            create_folders=True,
            root_dir=folder,
        )
    wall = time.perf_counter() - start
    result = neb.output.resolve(store)
    energies = list(result.energies)
    climbing = int(np.argmax(energies))
    endpoint_calls = sum(c.calls for c in log.members[1:3]) if len(log.members) > 2 else None
    return {
        "barrier": energies[climbing] - energies[0],
        "spline_barrier": result.forward_barrier,
        "force_calls": log.calls,
        "endpoint_force_calls": endpoint_calls,
        "neb_force_calls": log.calls - endpoint_calls if endpoint_calls is not None else None,
        "wall_time": wall,
        "converged": str(getattr(result.state, "value", result.state)) == "successful",
    }


def main() -> None:
    """Run the four variants and the reference, print the table, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", default="chgnet", help="engine name (chgnet, morse)")
    parser.add_argument("--repetitions", type=int, default=3, help="n of the n^3 bcc cell")
    args = parser.parse_args()
    console = Console(width=150)
    engine = get_engine(args.engine)
    raw = engine.calculator()
    counting = CountingCalculator(raw)
    # every later engine.calculator() call (relaxations, NEB) returns the counting wrapper
    cache = engine_base._CALCULATOR_CACHE  # noqa: SLF001
    for key in [k for k, v in cache.items() if v is raw]:
        cache[key] = counting
    a = relaxed_lattice_constant(raw)
    hop = bcc_vacancy_hop(a, args.repetitions)
    console.print(f"bcc Li a = {a:.4f} A, {len(hop.initial)} atoms; converging the reference band")
    reference = converged_barrier(hop, raw)
    console.print(f"reference barrier {1000 * reference['barrier']:.2f} meV")
    store = make_job_store(StoreSettings(backend="memory"))
    runs = {
        "anodefree (defaults)": run_anodefree(engine, hop, store),
        "anodefree (resumed, same store)": run_anodefree(engine, hop, store),
    }
    force_field = ATOMATE2_NAMES.get(args.engine)
    runs["atomate2 (defaults)"] = run_atomate2(force_field, raw, hop, tightened=False)
    runs["atomate2 (tightened)"] = run_atomate2(force_field, raw, hop, tightened=True)
    for run in runs.values():
        run["error_vs_converged"] = run["barrier"] - reference["barrier"]
        run["equal_barrier"] = abs(run["error_vs_converged"]) <= TOLERANCE
    label = engine.provenance().label
    table = Table(title=f"NEB of the bcc Li vacancy hop ({label}, {len(hop.initial)} atoms)")
    for column in (
        "variant",
        "force calls",
        "endpoints",
        "NEB",
        "wall time (s)",
        "barrier (meV)",
        "vs converged (meV)",
        "equal (5 meV)",
    ):
        table.add_column(column, justify="left" if column == "variant" else "right")
    for name, run in runs.items():
        table.add_row(
            name,
            str(run["force_calls"]),
            str(run.get("endpoint_force_calls")),
            str(run.get("neb_force_calls")),
            f"{run['wall_time']:.1f}",
            f"{1000 * run['barrier']:.2f}",
            f"{1000 * run['error_vs_converged']:+.2f}",
            "yes" if run["equal_barrier"] else "NO",
        )
    table.add_row(
        "reference (ASE, BFGS to 0.002 eV/A, 5 images)",
        str(reference["force_calls"]),
        "",
        "",
        f"{reference['wall_time']:.1f}",
        f"{1000 * reference['barrier']:.2f}",
        "",
        "",
    )
    console.print(table)
    RESULTS.mkdir(parents=True, exist_ok=True)
    suffix = "" if args.engine == "chgnet" else f"_{args.engine}"
    path = RESULTS / f"neb_vs_atomate2{suffix}.json"
    payload = {
        "benchmark": "neb_vs_atomate2",
        "date": datetime.now(UTC).isoformat(),
        "calculator": engine.provenance().model_dump(mode="json"),
        "hop": hop.name,
        "n_atoms": len(hop.initial),
        "lattice_constant_A": a,
        "tolerance_eV": TOLERANCE,
        "reference": reference,
        "runs": runs,
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_at_end": os.getloadavg(),
            "python": platform.python_version(),
        },
        "note": "wall times on a shared 2-core machine; compare force calls first",
    }
    path.write_text(json.dumps(payload, indent=2, default=str))
    console.print(f"written {path}")


if __name__ == "__main__":
    main()
