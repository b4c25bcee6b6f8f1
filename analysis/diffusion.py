"""Harmonic transition-state theory and vacancy-mediated diffusion, on plain numbers.

Units: energies in eV, lengths in A, masses in amu, frequencies in THz (ordinary
frequencies nu, not angular), temperatures in K, diffusivities in m^2/s, times in s.

Attempt frequencies (harmonic transition-state theory)
------------------------------------------------------
Vineyard (J. Phys. Chem. Solids 3, 121 (1957)): the rate of a thermally activated jump is
``Gamma = nu* exp(-E_m / kT)`` with

    nu* = prod_{i=1}^{3N} nu_i(minimum) / prod_{i=1}^{3N-1} nu_i(saddle, real modes),

the normal-mode frequencies of the mass-weighted Hessian at the minimum and at the saddle
point (one imaginary mode, the reaction coordinate, is left out). In a periodic cell the
three uniform translations have zero frequency at both points and are left out of both
products (3N-3 over 3N-4). :func:`harmonic_modes` diagonalises a Hessian,
:func:`reaction_mode` finds the saddle mode along the path tangent and
:func:`vineyard_prefactor` forms the ratio. The reaction mode is left out whatever its
sign: a flat-topped barrier (the bcc Li hop with CHGNet is flat within 0.1 meV over
+-0.1 A around the midpoint) can come out of finite differences with a slightly real
reaction mode, which is then reported, not mistaken for a stable one.
:func:`einstein_frequency` is the documented one-dimensional fallback: the frequency of
the hopping atom alone along the jump direction, every other atom fixed,
``nu = sqrt(k / m) / (2 pi)``.

Diffusion by the vacancy mechanism
----------------------------------
Self-diffusion (tracer) in a cubic lattice:

    D = (1/6) z lambda^2 nu f exp(-(E_f + E_m) / kT),

z the coordination (8 for bcc), lambda the jump length, f the correlation factor (0.7272
for bcc, Compaan and Haven, Trans. Faraday Soc. 52, 786 (1956); Montet, Phys. Rev. B 7,
650 (1973)). The vacancy formation entropy is neglected (vacancy site fraction
``exp(-E_f / kT)``); the migration entropy enters at the harmonic level through nu*.

Substitutional solutes in bcc (:func:`bcc_solute_correlation_factor`): Le Claire's
nine-frequency model for dilute bcc alloys (A. D. Le Claire, in *Physical Chemistry: An
Advanced Treatise*, vol. 10, ed. H. Eyring, Academic Press 1970, ch. 5; the same
expressions are used by the MAST dilute-diffusion tools of D. Morgan's group, Wu et al.,
Sci. Data 3, 160054 (2016)). With a vacancy in the first neighbour shell of the solute,
w2 is the solute-vacancy exchange, w3, w3', w3'' the jumps taking the vacancy to the 2nd,
3rd and 5th shells (3, 3 and 1 of them), w4, w4', w4'' their reverses, w5 the jumps of a
2nd-shell vacancy to other non-first-shell sites and w0 the pure-host jump:

    t  = -w2 / (w2 + 3 w3 + 3 w3' + w3''
                - w3 w4 / (w4 + F w5) - 2 w3' w4' / (w4' + 3 F w0)
                - w3'' w4'' / (w4'' + 7 F w0)),      F = 0.512,
    f2 = (1 + t) / (1 - t).

For a pure host (all w equal) this gives f2 = 0.7272, the bcc self-diffusion value. When
only w0, w2, w3 and w4 are computed, anodefree uses the approximation w3' = w3'' = w3,
w4' = w4'' = w4 and w5 = w0 (all dissociative jumps alike, the vacancy outside the first
shell moves as in the pure host) and says so in every document. The solute diffusivity
is

    D2 = (1/6) z lambda^2 nu2 f2 exp(-(E_f + E_b + E_m2) / kT),

with E_b = E_f(vacancy next to the solute) - E_f(pure host) (negative = attraction), i.e.
the vacancy site fraction next to the solute. The diffusion length is sqrt(4 D t).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Sequence

#: Boltzmann constant in eV/K (CODATA 2018, exact).
BOLTZMANN_EV = 8.617333262e-5
#: sqrt(eV / (A^2 amu)) in rad/s, divided by 2 pi and 1e12: THz per sqrt(Hessian unit).
_EV = 1.602176634e-19  # J
_AMU = 1.66053906660e-27  # kg
THZ_PER_SQRT_EV_A2_AMU = math.sqrt(_EV / (1e-20 * _AMU)) / (2 * math.pi) / 1e12
#: Correlation factor of vacancy-mediated self-diffusion in bcc.
BCC_SELF_CORRELATION = 0.7272
#: Coordination number of the bcc lattice.
BCC_COORDINATION = 8
#: Le Claire's constant escape factor of the bcc nine-frequency model.
LECLAIRE_BCC_F = 0.512
#: 0 degrees Celsius in K.
ZERO_CELSIUS = 273.15


class HarmonicError(ValueError):
    """A Hessian does not describe a minimum or a first-order saddle point."""


def celsius_to_kelvin(celsius: float) -> float:
    """Convert a temperature from degrees Celsius to K."""
    return celsius + ZERO_CELSIUS


def harmonic_modes(
    hessian: np.ndarray,
    masses: Sequence[float],
    *,
    project_translations: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Diagonalise a Hessian: frequencies in THz and mass-weighted eigenvectors.

    Parameters
    ----------
    hessian
        Second derivatives of the energy, shape (3M, 3M), in eV/A^2 (symmetrised here).
    masses
        Mass of each of the M atoms in amu.
    project_translations
        Project the three uniform translations out of the mass-weighted Hessian (for a
        periodic cell in which every atom moves); their frequencies are then exactly 0.

    Returns
    -------
    tuple
        3M frequencies sorted ascending (``-|nu|`` for negative curvature) and the
        orthonormal eigenvectors of the mass-weighted Hessian as columns, same order.
    """
    hessian = np.asarray(hessian, dtype=float)
    masses = np.asarray(masses, dtype=float)
    n = len(masses)
    if hessian.shape != (3 * n, 3 * n):
        msg = f"Hessian of shape {hessian.shape} does not match {n} atoms (3M x 3M)"
        raise ValueError(msg)
    if np.any(masses <= 0):
        msg = f"masses must be positive, got {masses.tolist()}"
        raise ValueError(msg)
    inv_sqrt = 1.0 / np.sqrt(np.repeat(masses, 3))
    dynamical = 0.5 * (hessian + hessian.T) * np.outer(inv_sqrt, inv_sqrt)
    if project_translations:
        vectors = np.zeros((3 * n, 3))
        for axis in range(3):
            vectors[axis::3, axis] = np.sqrt(masses)
        q, _ = np.linalg.qr(vectors)
        projector = np.eye(3 * n) - q @ q.T
        dynamical = projector @ dynamical @ projector
    eigenvalues, eigenvectors = np.linalg.eigh(dynamical)
    frequencies = np.sign(eigenvalues) * np.sqrt(np.abs(eigenvalues)) * THZ_PER_SQRT_EV_A2_AMU
    return frequencies, eigenvectors


def harmonic_frequencies(
    hessian: np.ndarray,
    masses: Sequence[float],
    *,
    project_translations: bool = False,
) -> np.ndarray:
    """Normal-mode frequencies of a Hessian in THz, ascending (imaginary as negative).

    See :func:`harmonic_modes` for the parameters.
    """
    return harmonic_modes(hessian, masses, project_translations=project_translations)[0]


def reaction_mode(
    eigenvectors: np.ndarray, tangent: np.ndarray, masses: Sequence[float]
) -> tuple[int, float]:
    """Find the normal mode most parallel to the path tangent at the saddle.

    Parameters
    ----------
    eigenvectors
        Columns: eigenvectors of the mass-weighted Hessian (:func:`harmonic_modes`).
    tangent
        Path tangent at the saddle in Cartesian A, shape (M, 3) or (3M,), same atoms.
    masses
        Masses of the M atoms in amu.

    Returns
    -------
    tuple
        Index of the mode (column) and |cosine| between it and the mass-weighted tangent.
    """
    weighted = np.asarray(tangent, dtype=float).reshape(-1) * np.sqrt(
        np.repeat(np.asarray(masses, dtype=float), 3)
    )
    norm = np.linalg.norm(weighted)
    if norm == 0:
        msg = "the path tangent is zero"
        raise ValueError(msg)
    overlaps = np.abs(eigenvectors.T @ (weighted / norm))
    index = int(np.argmax(overlaps))
    return index, float(overlaps[index])


def vineyard_prefactor(
    minimum: Sequence[float],
    saddle: Sequence[float],
    *,
    zero_modes: int = 0,
    reaction_mode: int | None = None,
    zero_tolerance: float = 1e-6,
) -> float:
    """Vineyard's attempt frequency nu* in THz from the two frequency spectra.

    Parameters
    ----------
    minimum
        The 3M normal-mode frequencies at the minimum (THz).
    saddle
        The 3M normal-mode frequencies at the saddle point (THz; imaginary as negative).
    zero_modes
        Number of exact zero modes to leave out at both points (3 for the translations
        of a periodic cell in which every atom moves, 0 with a frozen environment).
    reaction_mode
        Index (in ``saddle`` as given) of the mode along the reaction path. It is left
        out whatever the sign of its curvature: on a flat-topped barrier finite
        differences may resolve it as slightly real. ``None``: the single imaginary
        mode is the reaction mode.
    zero_tolerance
        Frequencies (THz) this close to zero count as the zero modes.

    Returns
    -------
    float
        nu* = prod(minimum, 3M - zero_modes) / prod(other saddle modes, 3M - zero_modes - 1).

    Raises
    ------
    HarmonicError
        If the minimum has an imaginary mode, the saddle has imaginary modes besides the
        reaction mode (or not exactly one when it is not given), or the number of zero
        modes is not as expected.
    """
    minimum = np.asarray(minimum, dtype=float)
    saddle = np.asarray(saddle, dtype=float)
    if minimum.shape != saddle.shape:
        msg = f"{len(minimum)} frequencies at the minimum but {len(saddle)} at the saddle"
        raise HarmonicError(msg)

    def drop_zeros(freqs: np.ndarray, where: str) -> np.ndarray:
        order = np.argsort(np.abs(freqs), kind="stable")
        zeros = order[:zero_modes]
        if zero_modes and np.abs(freqs[zeros]).max() > zero_tolerance:
            msg = (
                f"expected {zero_modes} zero modes at the {where}; the smallest "
                f"|frequencies| are {np.abs(freqs[zeros]).round(6).tolist()} THz"
            )
            raise HarmonicError(msg)
        return np.delete(freqs, zeros)

    minimum = drop_zeros(minimum, "minimum")
    if np.any(minimum <= 0):
        msg = f"the minimum has imaginary modes: {minimum[minimum <= 0].round(4).tolist()} THz"
        raise HarmonicError(msg)
    if reaction_mode is not None:
        if not 0 <= reaction_mode < len(saddle):
            msg = f"reaction mode {reaction_mode} outside {len(saddle)} saddle modes"
            raise HarmonicError(msg)
        others = drop_zeros(np.delete(saddle, reaction_mode), "saddle")
        if np.any(others <= 0):
            msg = (
                "the saddle has imaginary modes besides the reaction mode (a higher-order "
                f"saddle): {others[others <= 0].round(4).tolist()} THz"
            )
            raise HarmonicError(msg)
        return float(np.exp(np.log(minimum).sum() - np.log(others).sum()))
    saddle = drop_zeros(saddle, "saddle")
    imaginary = saddle[saddle < 0]
    if len(imaginary) != 1:
        msg = (
            f"a first-order saddle has exactly one imaginary mode; found {len(imaginary)} "
            f"({imaginary.round(4).tolist()} THz)"
        )
        raise HarmonicError(msg)
    real = saddle[saddle > 0]
    return float(np.exp(np.log(minimum).sum() - np.log(real).sum()))


def einstein_frequency(force_constant: float, mass: float) -> float:
    """Harmonic frequency nu = sqrt(k / m) / (2 pi) in THz (k in eV/A^2, m in amu)."""
    if force_constant <= 0:
        msg = f"the force constant must be positive for a minimum, got {force_constant!r} eV/A^2"
        raise HarmonicError(msg)
    if mass <= 0:
        msg = f"the mass must be positive, got {mass!r} amu"
        raise ValueError(msg)
    return math.sqrt(force_constant / mass) * THZ_PER_SQRT_EV_A2_AMU


def jump_rate(nu_thz: float, barrier: float, temperature: float) -> float:
    """Jump rate nu exp(-E / kT) in 1/s (nu in THz, E in eV, T in K)."""
    _check_temperature(temperature)
    return nu_thz * 1e12 * math.exp(-barrier / (BOLTZMANN_EV * temperature))


def _check_temperature(temperature: float) -> None:
    if not temperature > 0:
        msg = f"temperature must be positive (K), got {temperature!r}"
        raise ValueError(msg)


def vacancy_diffusivity(
    temperature: float,
    *,
    nu_thz: float,
    jump_length: float,
    formation_energy: float,
    migration_energy: float,
    correlation_factor: float = BCC_SELF_CORRELATION,
    coordination: int = BCC_COORDINATION,
) -> float:
    """D(T) = (1/6) z lambda^2 nu f exp(-(E_f + E_m) / kT) in m^2/s.

    Parameters
    ----------
    temperature
        Temperature in K.
    nu_thz
        Attempt frequency in THz.
    jump_length
        Jump length lambda in A (the nearest-neighbour distance for bcc).
    formation_energy
        Vacancy formation energy in eV at the site the jump starts from (for a solute,
        E_f + E_b: the formation energy of a vacancy next to it).
    migration_energy
        Migration barrier in eV.
    correlation_factor
        f (0.7272 for bcc self-diffusion).
    coordination
        Number of nearest-neighbour jump vectors z (8 for bcc).
    """
    _check_temperature(temperature)
    if jump_length <= 0 or nu_thz <= 0:
        msg = (
            f"jump length and attempt frequency must be positive: {jump_length!r} A, {nu_thz!r} THz"
        )
        raise ValueError(msg)
    kt = BOLTZMANN_EV * temperature
    return (
        coordination
        / 6.0
        * (jump_length * 1e-10) ** 2
        * nu_thz
        * 1e12
        * correlation_factor
        * math.exp(-(formation_energy + migration_energy) / kt)
    )


def diffusion_length(diffusivity: float, time: float) -> float:
    """Diffusion length sqrt(4 D t) in m (D in m^2/s, t in s)."""
    if diffusivity < 0 or time < 0:
        msg = f"diffusivity and time must be non-negative, got {diffusivity!r} m^2/s, {time!r} s"
        raise ValueError(msg)
    return math.sqrt(4.0 * diffusivity * time)


def bcc_solute_correlation_factor(
    w0: float,
    w2: float,
    w3: float,
    w4: float,
    *,
    w3_third: float | None = None,
    w4_third: float | None = None,
    w3_fifth: float | None = None,
    w4_fifth: float | None = None,
    w5: float | None = None,
    escape_factor: float = LECLAIRE_BCC_F,
) -> float:
    """Correlation factor f2 of a dilute substitutional solute in bcc (Le Claire).

    Parameters
    ----------
    w0
        Jump rate of the host in the pure lattice (1/s).
    w2
        Solute-vacancy exchange rate.
    w3, w4
        Dissociation (1st -> 2nd shell of the solute) and its reverse association.
    w3_third, w4_third
        The same between the 1st and 3rd shells (w3', w4'); default w3, w4.
    w3_fifth, w4_fifth
        The same between the 1st and 5th shells (w3'', w4''); default w3, w4.
    w5
        Jumps of a 2nd-shell vacancy to non-first-shell sites; default w0.
    escape_factor
        Le Claire's F (0.512).

    Returns
    -------
    float
        f2 in (0, 1); 0.7272 when every rate equals w0.
    """
    w3p = w3 if w3_third is None else w3_third
    w4p = w4 if w4_third is None else w4_third
    w3pp = w3 if w3_fifth is None else w3_fifth
    w4pp = w4 if w4_fifth is None else w4_fifth
    w5 = w0 if w5 is None else w5
    rates = {"w0": w0, "w2": w2, "w3": w3, "w4": w4, "w3'": w3p, "w4'": w4p}
    rates |= {"w3''": w3pp, "w4''": w4pp, "w5": w5}
    bad = {k: v for k, v in rates.items() if not v > 0}
    if bad:
        msg = f"jump rates must be positive, got {bad}"
        raise ValueError(msg)
    f = escape_factor
    denominator = (
        w2
        + 3 * w3
        + 3 * w3p
        + w3pp
        - w3 * w4 / (w4 + f * w5)
        - 2 * w3p * w4p / (w4p + 3 * f * w0)
        - w3pp * w4pp / (w4pp + 7 * f * w0)
    )
    t = -w2 / denominator
    return (1 + t) / (1 - t)


def arrhenius_fit(
    temperatures: Sequence[float], diffusivities: Sequence[float]
) -> tuple[float, float]:
    """Least-squares fit of ln D = ln D0 - Q / kT.

    Returns
    -------
    tuple
        Activation energy Q in eV and prefactor D0 in the units of ``diffusivities``.
    """
    t = np.asarray(temperatures, dtype=float)
    d = np.asarray(diffusivities, dtype=float)
    if len(t) < 2 or len(t) != len(d) or np.any(t <= 0) or np.any(d <= 0):
        msg = "need at least two positive temperatures and diffusivities of equal length"
        raise ValueError(msg)
    slope, intercept = np.polyfit(1.0 / (BOLTZMANN_EV * t), np.log(d), 1)
    return float(-slope), float(np.exp(intercept))
