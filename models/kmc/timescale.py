"""Units and time scales of the stripping KMC: current density, capacity, acceleration.

The time-scale problem
----------------------
A vacancy in bcc Li hops about 10^12 times per second (nu ~ 5e12 Hz, E_KRA ~ 0.05 eV),
while 1 mA/cm^2 strips only about 8 atoms per L1 site per second. Between two stripping
events next to each other every vacancy near the interface makes ~10^11 hops, and stripping
one micrometre (~3e7 monolayers) would take ~10^20 events. A faithful real-time simulation of
a measurable capacity is impossible with any lattice KMC.

What this model does about it
-----------------------------
The stripping rate is multiplied by an explicit acceleration factor S >= 1 (the hop rates
are left alone). The run is therefore a faithful KMC at the effective current density
S * j; every result records S, j, S * j and the following numbers, so the reader can judge
the mapping back to j:

- ``real_time_coverage``: simulated time / time the stripped capacity takes at j (~1/S);
- ``steady_vacancy_excess``: the excess vacancy site fraction just below the interface that
  bulk diffusion needs to carry the stripping flux to the sink, k_sim * d * L / D_v
  (k_sim stripping rate per site, d layer spacing, L depth of the sink, D_v bulk vacancy
  diffusivity). It is the quantity through which stripping drives vacancies into L1.
- ``equivalent_sink_distance``: S * L. At the real current j a vacancy sink (dislocations,
  grain boundaries) this far from the interface would produce the same steady excess;
  so an accelerated run stands for a real crystal whose sinks are S * L away.
- ``strip_to_escape_ratio``: stripping rate per L1 site over the rate at which a vacancy in
  L1 hops into L2. Validity criterion: when it is much smaller than 1 (we flag < 0.01) the
  interface relaxes between strippings (quasi-static interface), and the outcome depends on S
  only through the steady vacancy excess, i.e. through the equivalent sink distance. When it
  is not small, S also speeds up the interface itself beyond what any real sink distance
  implies: results then overstate void formation at j, and a smaller S must be checked.

Convergence check a user should run: repeat with S halved (or at two sink depths L with S*L
fixed) and compare contact fraction and void counts within their scatter over seeds.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from anodefree.models.kmc.lattice import SlabLattice
    from anodefree.models.kmc.parameters import KmcTables

ELEMENTARY_CHARGE = 1.602176634e-19
"""Elementary charge in C (exact)."""

COULOMB_PER_MAH = 3.6
"""1 mAh = 3.6 C."""

QUASI_STATIC_LIMIT = 0.01
"""Largest strip-to-escape ratio for which the interface counts as quasi-static."""


def strip_rate_per_site(current_density: float, area_per_site: float) -> float:
    """Atoms stripped per second from one L1 site at full contact.

    Parameters
    ----------
    current_density
        Stripping current density in mA/cm^2.
    area_per_site
        In-plane area per L1 site in angstrom^2.

    Returns
    -------
    float
        Rate in 1/s.
    """
    return current_density * 1e-3 * area_per_site * 1e-16 / ELEMENTARY_CHARGE


def capacity_per_atom(area: float) -> float:
    """Return the capacity in mAh/cm^2 of one atom stripped from a slab of this area.

    Parameters
    ----------
    area
        In-plane area in angstrom^2.

    Returns
    -------
    float
        Capacity in mAh/cm^2.
    """
    return ELEMENTARY_CHARGE / (area * 1e-16) / COULOMB_PER_MAH


class TimescaleReport(BaseModel):
    """How the simulated run maps onto real time (see :mod:`anodefree.models.kmc.timescale`)."""

    current_density: float = Field(description="Stripping current density j, in mA/cm^2.")
    acceleration: float = Field(description="Factor S applied to the stripping rate (>= 1).")
    simulated_current_density: float = Field(
        description="Effective current density S * j of the simulation, in mA/cm^2."
    )
    strip_rate_per_site_real: float = Field(
        description="Stripping rate per L1 site at full contact at j, in 1/s."
    )
    strip_rate_per_site_simulated: float = Field(
        description="Stripping rate per L1 site at full contact in the simulation, in 1/s."
    )
    bulk_hop_rate: float = Field(
        description="Rate of one Li-vacancy exchange in bulk, nu exp(-E_KRA/kT), in 1/s."
    )
    vacancy_diffusivity: float = Field(
        description="Bulk vacancy diffusivity D_v = (1/6) z lambda^2 Gamma, in cm^2/s."
    )
    l1_escape_rate: float = Field(
        description="Rate of one hop of an isolated vacancy from L1 into L2, in 1/s."
    )
    sink_depth: float = Field(
        description="Distance from L1 to the vacancy sink (reservoir layer), in nm."
    )
    vacancy_transit_time: float = Field(
        description="Diffusion time L^2 / (2 D_v) of a vacancy across the sink depth, in s."
    )
    steady_vacancy_excess: float = Field(
        description="Excess vacancy site fraction below the interface that bulk diffusion "
        "needs to carry the simulated stripping flux to the sink (dimensionless)."
    )
    equivalent_sink_distance: float = Field(
        description="S * sink depth, in um: at the real j, sinks this far away give the same "
        "steady vacancy excess."
    )
    strip_to_escape_ratio: float = Field(
        description="Simulated stripping rate per L1 site / L1 -> L2 escape rate "
        "(dimensionless); << 1 means a quasi-static interface."
    )
    quasi_static_interface: bool = Field(
        description=f"strip_to_escape_ratio < {QUASI_STATIC_LIMIT}."
    )
    real_time_for_capacity: float = Field(
        description="Time the target capacity takes at the real j, in s."
    )
    simulated_time: float = Field(0.0, description="Simulated physical time, in s.")
    real_time_coverage: float = Field(
        0.0, description="simulated_time / time the stripped capacity takes at j."
    )

    @classmethod
    def build(
        cls,
        *,
        lattice: SlabLattice,
        tables: KmcTables,
        n_active_layers: int,
        current_density: float,
        acceleration: float,
        capacity: float,
    ) -> TimescaleReport:
        """Compute the report before a run (the simulated-time fields are filled later).

        Parameters
        ----------
        lattice
            The slab (including the reservoir layer, if any).
        tables
            The compiled energetics.
        n_active_layers
            Number of simulated metal layers above the reservoir.
        current_density
            j in mA/cm^2.
        acceleration
            S.
        capacity
            Target stripped capacity in mAh/cm^2.

        Returns
        -------
        TimescaleReport
            The report.
        """
        k_real = strip_rate_per_site(current_density, lattice.area_per_site)
        k_sim = acceleration * k_real
        gamma = tables.bulk_hop_rate
        lam_cm = lattice.nn_distance * 1e-8
        d_v = 8.0 * lam_cm**2 * gamma / 6.0
        depth_cm = n_active_layers * lattice.layer_spacing * 1e-8
        d_cm = lattice.layer_spacing * 1e-8
        # Escape of an isolated vacancy L1 -> L2 (kinetically resolved, clipped).
        f1, f2 = tables.formation_by_layer[0], tables.formation_by_layer[1]
        kra = tables.kra_interlayer[0] if math.isfinite(tables.kra_interlayer[0]) else None
        kra = tables.kra_li_bulk if kra is None else kra
        delta = f2 - f1
        ea = max(kra + 0.5 * delta, delta, 0.0)
        escape = tables.nu_li * math.exp(-ea / tables.kT)
        ratio = k_sim / escape if escape > 0 else math.inf
        return cls(
            current_density=current_density,
            acceleration=acceleration,
            simulated_current_density=acceleration * current_density,
            strip_rate_per_site_real=k_real,
            strip_rate_per_site_simulated=k_sim,
            bulk_hop_rate=gamma,
            vacancy_diffusivity=d_v,
            l1_escape_rate=escape,
            sink_depth=depth_cm * 1e7,
            vacancy_transit_time=depth_cm**2 / (2.0 * d_v),
            steady_vacancy_excess=k_sim * d_cm * depth_cm / d_v,
            equivalent_sink_distance=acceleration * depth_cm * 1e4,
            strip_to_escape_ratio=ratio,
            quasi_static_interface=ratio < QUASI_STATIC_LIMIT,
            real_time_for_capacity=capacity * COULOMB_PER_MAH * 1e3 / current_density
            if current_density > 0
            else math.inf,
        )
