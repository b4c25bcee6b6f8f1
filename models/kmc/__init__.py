"""Kinetic Monte Carlo model of Li stripping at a metal/electrolyte interface.

The model reads only KMC export files (:mod:`anodefree.analysis.exports.kmc`), never the
results store or the workflows.

Physics (details in the module docstrings)
------------------------------------------
- Lattice (:mod:`.lattice`): a bcc Li slab, periodic in-plane, layer L1 against the
  electrolyte, (100) or (110); below the simulated layers a reservoir layer of Li at the
  chemical potential of bcc Li absorbs and emits vacancies (the sink far from the interface).
- Energy (:mod:`.parameters`): layer vacancy formation energies + layer solute segregation
  energies + solute-vacancy and vacancy-vacancy pair energies by neighbour shell (interface
  values for pairs touching L1 where the export has them).
- Rates (:mod:`.engine`): nu exp(-E_a/kT) with the kinetically resolved barrier
  E_a = max(E_KRA + dE/2, dE, 0), dE = E(final) - E(initial); detailed balance holds exactly.
  Li-vacancy hops (bulk, near a solute, interlayer L1-L2 and L2-L3 barriers), solute-vacancy
  exchange, reservoir fill and emission.
- Stripping: galvanostatic, a constant total rate S j A / e spread evenly over the Li atoms
  of L1; the run stops when L1 holds no Li.
- Algorithm: rejection-free n-fold way (BKL) with a binary sum tree over the active sites,
  compiled with numba, seeded xoshiro256** streams (reproducible).
- Observables (:mod:`.observables`): contact fraction of L1, interfacial voids (clusters of
  vacant L1 sites connected by in-plane nearest-neighbour bonds), vacancy depth profile.

Time scales (:mod:`.timescale`)
-------------------------------
Vacancies hop ~1e12 times per second, 1 mA/cm^2 strips ~8 atoms per L1 site per second and
1 mAh/cm^2 is ~3e4 monolayers: no lattice KMC can follow that in real time. The stripping
rate is therefore multiplied by an explicit factor S (default 1e6), hop rates untouched.
Every result reports S, the simulated and real times, the steady vacancy excess that
stripping drives below the interface, the equivalent sink distance S * L at which the real
current would drive the same excess, and the ratio of the stripping rate per site to the
escape rate of a vacancy from L1, whose smallness (< 0.01) is the validity criterion.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from anodefree.models.kmc.documents import KmcResult, KmcSample, KmcSettings
    from anodefree.models.kmc.engine import KmcEngine
    from anodefree.models.kmc.lattice import SlabLattice
    from anodefree.models.kmc.parameters import KmcTables, compile_tables
    from anodefree.models.kmc.runner import KmcRun, run_kmc

_LAZY = {
    "KmcEngine": "engine",
    "KmcResult": "documents",
    "KmcRun": "runner",
    "KmcSample": "documents",
    "KmcSettings": "documents",
    "KmcTables": "parameters",
    "SlabLattice": "lattice",
    "compile_tables": "parameters",
    "run_kmc": "runner",
}

__all__ = [
    "KmcEngine",
    "KmcResult",
    "KmcRun",
    "KmcSample",
    "KmcSettings",
    "KmcTables",
    "SlabLattice",
    "compile_tables",
    "run_kmc",
]


def __getattr__(name: str) -> Any:
    """Import the public names on first use (the kernel pulls in numba)."""
    if name in _LAZY:
        return getattr(import_module(f"anodefree.models.kmc.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'anodefree.models.kmc' has no attribute {name!r}")
