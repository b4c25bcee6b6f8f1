"""Harmonic transition-state theory and vacancy diffusion formulas against hand results."""

from __future__ import annotations

import math

import numpy as np
import pytest
from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes
from pymatgen.core import Lattice, Structure

from anodefree.analysis import diffusion
from anodefree.analysis.documents.migration import AttemptFrequencyResult, AttemptFrequencySettings
from anodefree.workflows.engines.base import AseEngine
from anodefree.workflows.migration import compute_normal_modes

# Double-well model of one particle (Li mass): V = E_b (1 - (x/x0)^2)^2 + k_y(x) y^2 / 2 +
# k_z z^2 / 2 with k_y(x) = k1 + (k2 - k1)(1 - (x/x0)^2): minima at x = +-x0, saddle at 0.
E_B, X0, K1, K2, KZ = 0.1, 1.5, 1.2, 0.7, 0.9  # eV, A, eV/A^2


class DoubleWell(Calculator):
    """Energy and forces of the model potential acting on atom 0."""

    implemented_properties = ["energy", "forces"]  # noqa: RUF012

    def calculate(self, atoms=None, properties=None, system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        x, y, z = self.atoms.positions[0] - 5.0
        u = x / X0
        ky = K1 + (K2 - K1) * (1 - u * u)
        energy = E_B * (1 - u * u) ** 2 + 0.5 * ky * y * y + 0.5 * KZ * z * z
        dv_dx = -4 * E_B * u * (1 - u * u) / X0 + 0.5 * y * y * (K2 - K1) * (-2 * u / X0)
        forces = np.zeros((len(self.atoms), 3))
        forces[0] = [-dv_dx, -ky * y, -KZ * z]
        self.results = {"energy": energy, "forces": forces}


class DoubleWellEngine(AseEngine):
    """The model potential as an engine (only what the mode analysis uses)."""

    name: str = "double-well"

    def provenance(self):
        from anodefree.provenance import CalculatorProvenance

        return CalculatorProvenance(engine="double-well", package="ase", version="test")

    def check_available(self) -> None:
        return None

    def build_calculator(self) -> Calculator:
        return DoubleWell()


def _particle(x: float) -> Structure:
    return Structure(Lattice.cubic(10.0), ["Li"], [[(5.0 + x) / 10, 0.5, 0.5]])


def test_vineyard_matches_the_analytic_double_well():
    engine = DoubleWellEngine()
    settings = AttemptFrequencySettings(method="vineyard_local", displacement=0.005)
    minimum = compute_normal_modes(_particle(X0), engine, settings, moving_atoms=[0], hopper=0)
    saddle = compute_normal_modes(
        _particle(0.0), engine, settings, moving_atoms=[0], hopper=0, tangent=[[1.0, 0.1, 0.0]]
    )
    # the mode along the path tangent is the unstable x mode (the lowest one)
    assert saddle.reaction_mode == 0
    assert saddle.reaction_overlap > 0.99
    result = AttemptFrequencyResult.from_modes(
        "model", "vineyard_local", minimum, saddle, [-1.0, 0.0, 0.0]
    )
    mass = minimum.hopper_mass
    to_thz = diffusion.THZ_PER_SQRT_EV_A2_AMU
    nu_x = math.sqrt(8 * E_B / X0**2 / mass) * to_thz
    expected = nu_x * math.sqrt(K1 / K2)  # the z mode cancels, y enters as a ratio
    # Central differences with 0.005 A: relative error ~ (0.005 / 1.5)^2 ~ 1e-5.
    assert result.valid, result.messages
    assert result.nu == pytest.approx(expected, rel=1e-4)
    assert result.imaginary_frequency == pytest.approx(
        math.sqrt(4 * E_B / X0**2 / mass) * to_thz, rel=1e-4
    )
    # The 1D fallback along the jump (x) is the x frequency of the minimum alone.
    assert result.einstein_frequency == pytest.approx(nu_x, rel=1e-4)
    assert minimum.n_force_calls == 7  # reference + 6 displacements


def test_harmonic_frequencies_of_a_known_hessian():
    # Two atoms of masses 1 and 4 amu on independent springs: nu = sqrt(k/m) in the
    # units of THZ_PER_SQRT_EV_A2_AMU.
    hessian = np.diag([1.0, 2.0, 3.0, 4.0, 8.0, 16.0])
    freqs = diffusion.harmonic_frequencies(hessian, [1.0, 4.0])
    expected = np.sqrt([1, 2, 3, 1, 2, 4]) * diffusion.THZ_PER_SQRT_EV_A2_AMU
    assert np.allclose(freqs, np.sort(expected))
    negative = diffusion.harmonic_frequencies(np.diag([-4.0, 1.0, 1.0]), [1.0])
    assert negative[0] == pytest.approx(-2 * diffusion.THZ_PER_SQRT_EV_A2_AMU)


def test_translations_are_projected_out_of_a_periodic_hessian():
    # A ring of 3 atoms with nearest-neighbour springs along x only: one zero mode in x,
    # and y, z have no stiffness at all -> with the projection all three translations are
    # exact zeros and the remaining x modes are sqrt(3k/m).
    k, m = 2.0, 7.0
    hessian = np.zeros((9, 9))
    for i in range(3):
        for j in range(3):
            hessian[3 * i, 3 * j] = 2 * k if i == j else -k
    freqs = diffusion.harmonic_frequencies(hessian, [m] * 3, project_translations=True)
    zeros = np.sort(np.abs(freqs))[:3]
    assert np.allclose(zeros, 0.0, atol=1e-8)
    assert np.sort(freqs)[-1] == pytest.approx(
        math.sqrt(3 * k / m) * diffusion.THZ_PER_SQRT_EV_A2_AMU
    )


def test_vineyard_refuses_spectra_that_are_not_a_minimum_and_a_saddle():
    good_min, good_saddle = [1.0, 2.0, 3.0], [-1.0, 2.0, 4.0]
    assert diffusion.vineyard_prefactor(good_min, good_saddle) == pytest.approx(1.0 * 3.0 / 4.0)
    with pytest.raises(diffusion.HarmonicError, match="exactly one imaginary"):
        diffusion.vineyard_prefactor(good_min, [-1.0, -2.0, 4.0])
    with pytest.raises(diffusion.HarmonicError, match="minimum has imaginary"):
        diffusion.vineyard_prefactor([-1.0, 2.0, 3.0], good_saddle)
    with pytest.raises(diffusion.HarmonicError, match="zero modes"):
        diffusion.vineyard_prefactor(good_min, good_saddle, zero_modes=1)
    # Zero modes are dropped at both points.
    nu = diffusion.vineyard_prefactor([0.0, 2.0, 3.0], [0.0, -1.0, 1.5], zero_modes=1)
    assert nu == pytest.approx(2.0 * 3.0 / 1.5)
    # A flat saddle whose reaction mode (index 1) came out real is still left out...
    nu = diffusion.vineyard_prefactor(
        [0.0, 2.0, 3.0], [0.0, 0.2, 1.5], zero_modes=1, reaction_mode=1
    )
    assert nu == pytest.approx(2.0 * 3.0 / 1.5)
    # ...but another imaginary mode besides it makes a higher-order saddle.
    with pytest.raises(diffusion.HarmonicError, match="besides the reaction mode"):
        diffusion.vineyard_prefactor(
            [0.0, 2.0, 3.0], [-0.5, 0.0, 1.5], zero_modes=1, reaction_mode=2
        )


def test_vacancy_diffusivity_by_hand():
    # bcc Li-like numbers: lambda = 2.98 A, nu = 5 THz, E_f = 0.5, E_m = 0.06 eV, 300 K.
    d = diffusion.vacancy_diffusivity(
        300.0, nu_thz=5.0, jump_length=2.98, formation_energy=0.5, migration_energy=0.06
    )
    kt = 8.617333262e-5 * 300.0
    hand = 8 / 6 * (2.98e-10) ** 2 * 5e12 * 0.7272 * math.exp(-0.56 / kt)
    assert d == pytest.approx(hand, rel=1e-12)
    assert diffusion.diffusion_length(d, 3600.0) == pytest.approx(math.sqrt(4 * hand * 3600))
    with pytest.raises(ValueError, match="temperature"):
        diffusion.vacancy_diffusivity(
            0.0, nu_thz=5.0, jump_length=2.98, formation_energy=0.5, migration_energy=0.06
        )


def test_arrhenius_slope_is_formation_plus_migration_energy():
    temps = np.linspace(250, 450, 11)
    ds = [
        diffusion.vacancy_diffusivity(
            t, nu_thz=4.0, jump_length=3.0, formation_energy=0.52, migration_energy=0.07
        )
        for t in temps
    ]
    q, d0 = diffusion.arrhenius_fit(temps, ds)
    assert q == pytest.approx(0.59, abs=1e-9)
    assert d0 == pytest.approx(8 / 6 * 9e-20 * 4e12 * 0.7272, rel=1e-8)


def test_bcc_solute_correlation_factor_limits():
    # All rates equal: the nine-frequency model reduces to bcc self-diffusion, f0 = 0.7272
    # (Compaan and Haven); the model's F = 0.512 reproduces it to 1e-4.
    assert diffusion.bcc_solute_correlation_factor(1.0, 1.0, 1.0, 1.0) == pytest.approx(
        diffusion.BCC_SELF_CORRELATION, abs=1e-4
    )
    # A slow solute exchange is uncorrelated (f2 -> 1); a fast one is strongly correlated
    # (f2 -> 0: the solute mostly jumps back and forth with the same vacancy).
    assert diffusion.bcc_solute_correlation_factor(1.0, 1e-6, 1.0, 1.0) == pytest.approx(
        1, abs=1e-5
    )
    assert diffusion.bcc_solute_correlation_factor(1.0, 1e6, 1.0, 1.0) < 1e-4
    values = [diffusion.bcc_solute_correlation_factor(1.0, w2, 1.0, 1.0) for w2 in (0.1, 1, 10)]
    assert values == sorted(values, reverse=True)
    with pytest.raises(ValueError, match="positive"):
        diffusion.bcc_solute_correlation_factor(1.0, 0.0, 1.0, 1.0)


def test_einstein_frequency_and_jump_rate():
    nu = diffusion.einstein_frequency(1.0, 1.0)
    assert nu == pytest.approx(diffusion.THZ_PER_SQRT_EV_A2_AMU)
    # sqrt(eV / (A^2 amu)) / 2 pi = 15.633 THz (phonopy's VaspToTHz).
    assert nu == pytest.approx(15.633302, rel=1e-6)
    with pytest.raises(diffusion.HarmonicError):
        diffusion.einstein_frequency(-1.0, 1.0)
    rate = diffusion.jump_rate(2.0, 0.1, 400.0)
    assert rate == pytest.approx(2e12 * math.exp(-0.1 / (8.617333262e-5 * 400.0)))


def test_model_particle_is_at_a_stationary_point():
    # Guard of the model itself: zero force at the minimum and at the saddle.
    for x in (X0, 0.0):
        atoms = Atoms("Li", positions=[[5.0 + x, 5.0, 5.0]], cell=[10, 10, 10], pbc=True)
        atoms.calc = DoubleWell()
        assert np.abs(atoms.get_forces()).max() < 1e-12


def _modes(frequencies, *, zero_modes=0, reaction=None, block=None):
    from anodefree.analysis.documents.migration import NormalModes

    return NormalModes(
        label="m", calculator=DoubleWellEngine().provenance(), method="local",
        displacement=0.01, moving_atoms=[0], frequencies=frequencies, zero_modes=zero_modes,
        hopper=0, hopper_force_constants=block, hopper_mass=6.94, reaction_mode=reaction,
        reaction_overlap=None if reaction is None else 0.9, n_displacements=6,
        n_force_calls=7, residual_force=0.0, cache_key="k",
    )  # fmt: skip


def test_implausible_vineyard_prefactors_are_rejected():
    # Einstein frequency along x: sqrt(k/m) with k = 1 eV/A^2 and m = 6.94 amu (~5.9 THz).
    block = [[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0]]
    einstein = diffusion.einstein_frequency(1.0, 6.94)
    fine = AttemptFrequencyResult.from_modes(
        "ok", "vineyard_local", _modes([5.0, 6.0, 7.0], block=block),
        _modes([-1.0, 6.0, 7.0]), [1.0, 0.0, 0.0],
    )  # fmt: skip
    assert fine.valid
    assert fine.nu == pytest.approx(5.0)
    assert fine.einstein_frequency == pytest.approx(einstein)
    # a saddle far stiffer than the minimum: nu* = 0.05 THz, 100x below the Einstein value
    suspect = AttemptFrequencyResult.from_modes(
        "suspect", "vineyard_local", _modes([0.5, 1.0, 1.0], block=block),
        _modes([-1.0, 10.0, 1.0]), [1.0, 0.0, 0.0],
    )  # fmt: skip
    assert not suspect.valid
    assert "rejected as unreliable" in suspect.messages[0]
    # flat saddle: the reaction mode came out real; it is left out and noted, still valid
    flat = AttemptFrequencyResult.from_modes(
        "flat", "vineyard_local", _modes([5.0, 6.0, 7.0], block=block),
        _modes([0.3, 6.0, 7.0], reaction=0), [1.0, 0.0, 0.0],
    )  # fmt: skip
    assert flat.valid
    assert flat.nu == pytest.approx(5.0)
    assert flat.imaginary_frequency is None
    assert "flat saddle" in flat.notes[0]
