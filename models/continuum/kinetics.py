"""Butler-Volmer kinetics of Li stripping and plating, and the physical constants.

Sign convention: the overpotential is eta = phi_metal - phi_electrolyte - U_eq with
U_eq = 0 for Li/Li+; the anodic (stripping) current is positive and flows from the metal
into the electrolyte:

    i(eta) = i0 [exp(alpha_a F eta / RT) - exp(-alpha_c F eta / RT)].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from anodefree.errors import ConfigError

FARADAY = 96485.33212
"""Faraday constant (C/mol), CODATA 2018."""

GAS_CONSTANT = 8.314462618
"""Molar gas constant (J/(mol K)), CODATA 2018."""

_MAX_EXPONENT = 700.0  # exp(700) ~ 1e304: clip arguments so trial Newton steps cannot overflow


def _exp(x: np.ndarray) -> np.ndarray:
    return np.exp(np.minimum(x, _MAX_EXPONENT))


def _expm1(x: np.ndarray) -> np.ndarray:
    return np.expm1(np.minimum(x, _MAX_EXPONENT))


@dataclass(frozen=True)
class ButlerVolmer:
    """Butler-Volmer kinetics of the Li|electrolyte interface.

    Parameters
    ----------
    exchange_current_density
        i0 (mA/cm^2).
    alpha_anodic
        Anodic transfer coefficient alpha_a (dimensionless).
    alpha_cathodic
        Cathodic transfer coefficient alpha_c (dimensionless).
    temperature
        T (K).
    """

    exchange_current_density: float
    alpha_anodic: float = 0.5
    alpha_cathodic: float = 0.5
    temperature: float = 298.15

    def __post_init__(self) -> None:
        """Refuse non-physical settings, naming the value."""
        if not self.exchange_current_density > 0.0:
            raise ConfigError(
                f"exchange_current_density must be > 0 mA/cm^2, got {self.exchange_current_density}"
            )
        for name in ("alpha_anodic", "alpha_cathodic"):
            value = getattr(self, name)
            if not 0.0 < value <= 1.0:
                raise ConfigError(f"{name} must lie in (0, 1], got {value}")
        if not self.temperature > 0.0:
            raise ConfigError(f"temperature must be > 0 K, got {self.temperature}")

    @property
    def f(self) -> float:
        """F / RT (1/V)."""
        return FARADAY / (GAS_CONSTANT * self.temperature)

    def current(self, eta: np.ndarray | float) -> np.ndarray:
        """Return the current density i(eta) (mA/cm^2), positive for stripping.

        Parameters
        ----------
        eta
            Overpotential (V).

        Returns
        -------
        numpy.ndarray
            i (mA/cm^2).
        """
        eta = np.asarray(eta, dtype=float)
        aa, ac = self.alpha_anodic * self.f, self.alpha_cathodic * self.f
        return self.exchange_current_density * (_exp(aa * eta) - _exp(-ac * eta))

    def derivative(self, eta: np.ndarray | float) -> np.ndarray:
        """di/deta (mA/cm^2/V).

        Parameters
        ----------
        eta
            Overpotential (V).

        Returns
        -------
        numpy.ndarray
            The derivative, always positive (mA/cm^2/V).
        """
        eta = np.asarray(eta, dtype=float)
        aa, ac = self.alpha_anodic * self.f, self.alpha_cathodic * self.f
        return self.exchange_current_density * (aa * _exp(aa * eta) + ac * _exp(-ac * eta))

    def primitive(self, eta: np.ndarray | float) -> np.ndarray:
        """Integral of i from 0 to eta (mA/cm^2 V): the convex interfacial energy density.

        Parameters
        ----------
        eta
            Overpotential (V).

        Returns
        -------
        numpy.ndarray
            P(eta) >= 0 (mA/cm^2 V).
        """
        eta = np.asarray(eta, dtype=float)
        aa, ac = self.alpha_anodic * self.f, self.alpha_cathodic * self.f
        return self.exchange_current_density * (_expm1(aa * eta) / aa + _expm1(-ac * eta) / ac)

    def overpotential(self, current_density: np.ndarray | float) -> np.ndarray:
        """Invert the kinetics: the eta that carries a given current density (V).

        Newton iteration on asinh(i(eta) / 2 i0), which is linear in eta for symmetric
        transfer coefficients and close to linear otherwise.

        Parameters
        ----------
        current_density
            i (mA/cm^2), positive for stripping.

        Returns
        -------
        numpy.ndarray
            eta (V), converged to 1e-14 V.
        """
        target = np.asarray(current_density, dtype=float)
        two_i0 = 2.0 * self.exchange_current_density
        goal = np.arcsinh(target / two_i0)
        alpha_mean = 0.5 * (self.alpha_anodic + self.alpha_cathodic)
        eta = goal / (alpha_mean * self.f)
        for _ in range(100):
            ratio = self.current(eta) / two_i0
            slope = self.derivative(eta) / two_i0 / np.sqrt(1.0 + ratio**2)
            step = (np.arcsinh(ratio) - goal) / slope
            eta = eta - step
            if np.all(np.abs(step) < 1e-14):
                break
        return eta
