"""Turn a KMC export into the numeric tables of the lattice model.

Energy model (all energies in eV, vacancy formation energies against bcc Li)::

    E = sum_vacancies E_f(layer) + sum_solutes E_seg(layer)
        + sum_(vacancy, solute) pairs V_sv(shell) + sum_(vacancy, vacancy) pairs V_vv(shell)

with V_vv(k) = -(divacancy binding at shell k) and V_sv(k) the solute-vacancy interaction.
A pair uses the interface value of its shell when at least one of its two sites lies in
L1 and the export lists that shell at the interface; otherwise the bulk value. Layers deeper
than the listed ones take the bulk formation energy and zero segregation energy.

Every fallback used for a missing optional input is recorded in
:attr:`KmcTables.assumptions`; with ``strict=True`` a missing optional input is an error
that names it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from anodefree.analysis.exports.kmc import KmcExport, MissingKmcInputError, ShellEnergy

BOLTZMANN_EV = 8.617333262e-5
"""Boltzmann constant in eV/K (CODATA 2018, exact in SI)."""


@dataclass
class KmcTables:
    """Numeric inputs of the numba kernel (energies in eV, frequencies in Hz)."""

    temperature: float
    kT: float  # noqa: N815 - the physics symbol
    nu_li: float
    nu_solute: float
    formation_by_layer: np.ndarray
    segregation_by_layer: np.ndarray
    vv_pair: np.ndarray
    sv_pair: np.ndarray
    kra_li_bulk: float
    kra_li_near_solute: float
    kra_solute: float
    kra_interlayer: np.ndarray
    n_shells: int
    has_solute: bool
    assumptions: list[str] = field(default_factory=list)

    @property
    def bulk_hop_rate(self) -> float:
        """Rate in 1/s of one Li-vacancy exchange in bulk, nu exp(-E_KRA/kT)."""
        return self.nu_li * math.exp(-self.kra_li_bulk / self.kT)


def _shell_table(
    bulk: list[ShellEnergy], interface: list[ShellEnergy], n_shells: int, sign: float
) -> np.ndarray:
    table = np.zeros((2, max(n_shells, 1)))
    for entry in bulk:
        table[0, entry.shell - 1] = sign * entry.value
        table[1, entry.shell - 1] = sign * entry.value
    for entry in interface:
        table[1, entry.shell - 1] = sign * entry.value
    return table


def _interlayer_barriers(export: KmcExport, n_layers: int, assumptions: list[str]) -> np.ndarray:
    """Kinetically resolved barrier of each layer boundary b (between layers b and b+1).

    NaN where the export gives no interlayer barrier (the bulk barrier applies).
    """
    vac = export.vacancy
    interlayer = np.full(max(n_layers - 1, 1), np.nan)
    export_formation = {e.layer: e.value for e in vac.formation_by_layer}
    for barrier in export.barriers.interlayer:
        boundary = min(barrier.from_layer, barrier.to_layer) - 1
        if boundary >= n_layers - 1:
            continue
        if barrier.reverse is not None:
            kra = 0.5 * (barrier.forward.value + barrier.reverse.value)
        else:
            delta = export_formation.get(
                barrier.to_layer, vac.formation_bulk.value
            ) - export_formation.get(barrier.from_layer, vac.formation_bulk.value)
            kra = barrier.forward.value - 0.5 * delta
        if kra < 0:
            assumptions.append(
                f"interlayer barrier L{barrier.from_layer}->L{barrier.to_layer} is smaller than "
                f"half the energy difference of its end states; its kinetically resolved barrier "
                f"{kra:.3f} eV was clipped to 0"
            )
            kra = 0.0
        interlayer[boundary] = kra
    return interlayer


def compile_tables(
    export: KmcExport,
    *,
    temperature: float,
    n_layers: int,
    with_solute: bool,
    strict: bool = False,
) -> KmcTables:
    """Compile the export into per-layer and per-shell arrays for ``n_layers`` layers.

    Parameters
    ----------
    export
        The KMC parameter document.
    temperature
        Temperature in K.
    n_layers
        Number of layers of the simulated slab (including a sink layer, if any).
    with_solute
        Whether the run places solute atoms.
    strict
        Refuse to run on fallbacks: any missing optional input raises.

    Returns
    -------
    KmcTables
        The tables, with the fallbacks used listed in ``assumptions``.

    Raises
    ------
    MissingKmcInputError
        If a required input is missing (or, with ``strict``, any optional one); the
        message names each field.
    """
    missing = export.missing_inputs(with_solute=with_solute)
    required = [name for name, effect in missing.items() if effect == "required"]
    if required:
        raise MissingKmcInputError(required, f"a KMC run of {export.system!r} with solute")
    if strict and missing:
        raise MissingKmcInputError(
            [f"{name} ({effect})" for name, effect in missing.items()],
            f"a strict KMC run of {export.system!r}",
        )
    assumptions = [f"{name} missing: {effect}" for name, effect in missing.items()]
    if temperature <= 0:
        msg = f"temperature must be positive (K), got {temperature}"
        raise ValueError(msg)
    kT = BOLTZMANN_EV * temperature

    vac = export.vacancy
    formation = np.full(n_layers, vac.formation_bulk.value)
    for entry in vac.formation_by_layer[:n_layers]:
        formation[entry.layer - 1] = entry.value
    if len(vac.formation_by_layer) >= n_layers:
        assumptions.append(
            f"the slab has {n_layers} layers but the export lists "
            f"{len(vac.formation_by_layer)} layer energies: no bulk-like interior is simulated"
        )

    solute = export.solute if with_solute else None
    segregation = np.zeros(n_layers)
    shells_used = [e.shell for e in vac.divacancy_binding_bulk + vac.divacancy_binding_interface]
    if solute is not None:
        for entry in solute.segregation_by_layer:
            if entry.layer <= n_layers:
                segregation[entry.layer - 1] = entry.value
        shells_used += [
            e.shell for e in solute.vacancy_interaction_bulk + solute.vacancy_interaction_interface
        ]
    n_shells = max(shells_used, default=0)
    vv = _shell_table(vac.divacancy_binding_bulk, vac.divacancy_binding_interface, n_shells, -1.0)
    sv = (
        _shell_table(
            solute.vacancy_interaction_bulk, solute.vacancy_interaction_interface, n_shells, 1.0
        )
        if solute is not None
        else np.zeros((2, max(n_shells, 1)))
    )

    barriers = export.barriers
    kra_bulk = barriers.li_vacancy_bulk.value
    kra_near = (
        barriers.li_vacancy_near_solute.value
        if barriers.li_vacancy_near_solute is not None
        else kra_bulk
    )
    kra_solute = (
        barriers.solute_vacancy_exchange.value
        if barriers.solute_vacancy_exchange is not None
        else math.inf
    )
    interlayer = _interlayer_barriers(export, n_layers, assumptions)

    nu_li = export.attempt_frequencies.li.value
    nu_solute = (
        export.attempt_frequencies.solute.value
        if export.attempt_frequencies.solute is not None
        else nu_li
    )
    return KmcTables(
        temperature=temperature,
        kT=kT,
        nu_li=nu_li,
        nu_solute=nu_solute,
        formation_by_layer=formation,
        segregation_by_layer=segregation,
        vv_pair=vv,
        sv_pair=sv,
        kra_li_bulk=kra_bulk,
        kra_li_near_solute=kra_near,
        kra_solute=kra_solute,
        kra_interlayer=interlayer,
        n_shells=n_shells,
        has_solute=solute is not None,
        assumptions=assumptions,
    )
