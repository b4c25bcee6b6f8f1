"""Kinetic Monte Carlo model of Li stripping at a metal/electrolyte interface.

Reads only KMC export files (:mod:`anodefree.analysis.exports.kmc`); see
:mod:`anodefree.models.kmc.engine` for the rate law and the algorithm,
:mod:`anodefree.models.kmc.observables` for the definitions of contact and voids and
:mod:`anodefree.models.kmc.timescale` for how the run maps onto real time.
"""

from __future__ import annotations

from anodefree.models.kmc.documents import KmcResult, KmcSample, KmcSettings
from anodefree.models.kmc.engine import KmcEngine
from anodefree.models.kmc.lattice import SlabLattice
from anodefree.models.kmc.parameters import KmcTables, compile_tables
from anodefree.models.kmc.runner import KmcRun, run_kmc

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
