"""Formulas of the derived quantities (see ../shared/science.md), on plain numbers.

Each function takes energies in eV (and areas in A^2) and returns the quantity in the
units of its name. They do not know about calculators: callers check with
:func:`anodefree.provenance.require_same_calculator` that every energy comes from one
calculator before calling them.
"""

from __future__ import annotations

import math

#: 1 eV/A^2 in J/m^2.
EV_PER_A2_TO_J_PER_M2 = 16.021766339999996


def vacancy_formation_energy(e_defect: float, e_host: float, chemical_potential: float) -> float:
    """E_f = E(defect cell) - E(host cell) + mu, in eV.

    With ``mu`` the energy per atom of the host metal this is the bulk formula
    E_f = E(N-1) - (N-1)/N E(N) when the host cell is the perfect N-atom supercell.
    """
    return e_defect - e_host + chemical_potential


def bulk_vacancy_formation_energy(e_vacancy: float, e_perfect: float, n_atoms: int) -> float:
    """E_f = E(N-1) - (N-1)/N * E(N), in eV (N atoms in the perfect supercell)."""
    return e_vacancy - (n_atoms - 1) / n_atoms * e_perfect


def surface_energy(e_slab: float, n_atoms: int, e_bulk_per_atom: float, area: float) -> float:
    """Gamma = (E_slab - N e_bulk) / (2 A), in J/m^2 (A in A^2, symmetric slab)."""
    return (e_slab - n_atoms * e_bulk_per_atom) / (2 * area) * EV_PER_A2_TO_J_PER_M2


def work_of_adhesion(
    e_metal_slab: float, e_electrolyte_slab: float, e_interface: float, area: float
) -> float:
    """W_ad = (E_metal + E_electrolyte - E_interface) / A, in J/m^2 (A in A^2)."""
    return (e_metal_slab + e_electrolyte_slab - e_interface) / area * EV_PER_A2_TO_J_PER_M2


def wetting_angle(w_adhesion: float, gamma_metal: float) -> float:
    """Young-Dupre contact angle in degrees: cos(theta) = W_ad / gamma_metal - 1.

    ``cos(theta)`` is clipped to [-1, 1]: W_ad >= 2 gamma means complete wetting
    (0 deg) and W_ad <= 0 complete non-wetting (180 deg).
    """
    if gamma_metal <= 0:
        msg = f"the metal surface energy must be positive, got {gamma_metal!r} J/m^2"
        raise ValueError(msg)
    cosine = max(-1.0, min(1.0, w_adhesion / gamma_metal - 1.0))
    return math.degrees(math.acos(cosine))


def binding_energy(e_f_near: float, e_f_far: float) -> float:
    """E_b = E_f(near) - E_f(far), in eV: negative means attraction."""
    return e_f_near - e_f_far
