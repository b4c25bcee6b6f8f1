"""Overpotential maps over island width and current density, onset crossings, diffusion.

:func:`run_map` builds one solver (one mesh, one factorisation) per island width and
solves every current density on it, each Newton iteration starting from the solution at
the previous current density. For every onset and every width it then solves for the
critical current density at which the overpotential reaches the onset.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import scipy.optimize

from anodefree.errors import ConfigError
from anodefree.models.continuum.kinetics import ButlerVolmer
from anodefree.models.continuum.mesh import MeshSettings
from anodefree.models.continuum.results import (
    BottomProfile,
    ContinuumCase,
    ContinuumMapResult,
    FieldCase,
    InterdiffusionLength,
    MeshSummary,
    Metric,
    OnsetCrossing,
)
from anodefree.models.continuum.solver import (
    IslandGeometry,
    IslandSolver,
    PotentialField,
    single_threaded_blas,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from anodefree.analysis.exports.continuum import AlloyOnset, ContinuumParameters

METRICS: tuple[Metric, ...] = ("eta_island_max", "eta_bottom_max")

_SEARCH_LIMITS = (1e-9, 1e7)  # mA/cm^2: where the critical-current search gives up


def kinetics_from(parameters: ContinuumParameters) -> ButlerVolmer:
    """Butler-Volmer kinetics of a parameter document."""
    return ButlerVolmer(
        exchange_current_density=parameters.exchange_current_density.value,
        alpha_anodic=parameters.alpha_anodic.value,
        alpha_cathodic=parameters.alpha_cathodic.value,
        temperature=parameters.temperature.value,
    )


def solver_for(
    parameters: ContinuumParameters,
    island_width: float,
    *,
    placement: str = "centre",
    mesh: MeshSettings | None = None,
) -> IslandSolver:
    """Build the solver of one island width from a parameter document.

    Parameters
    ----------
    parameters
        The continuum parameter document.
    island_width
        Width of the Li island (um).
    placement
        ``"centre"`` or ``"side"``.
    mesh
        Mesh resolution; defaults to :class:`MeshSettings`.

    Returns
    -------
    IslandSolver
        Factorised and ready to solve.
    """
    geometry = IslandGeometry(
        domain_width=parameters.domain_width,
        domain_height=parameters.domain_height,
        island_width=island_width,
        placement=placement,
    )
    return IslandSolver(
        geometry, kinetics_from(parameters), parameters.conductivity.value, mesh=mesh
    )


@dataclass
class _Evaluator:
    """Metric of a solver as a function of current density, with warm starts."""

    solver: IslandSolver
    metric: Metric

    def __post_init__(self) -> None:
        self._cache: dict[float, tuple[float, np.ndarray]] = {}

    def __call__(self, current_density: float) -> float:
        if current_density in self._cache:
            return self._cache[current_density][0]
        initial = None
        if self._cache:
            nearest = min(self._cache, key=lambda c: abs(math.log(c / current_density)))
            initial = self._cache[nearest][1]
        solution = self.solver.solve(current_density, initial)
        value = getattr(self.solver.metrics(solution), self.metric)
        self._cache[current_density] = (value, solution.island_potential)
        return value


def critical_current_density(
    solver: IslandSolver,
    onset: float,
    *,
    metric: Metric = "eta_island_max",
    bracket: tuple[float, float] = (0.1, 10.0),
    rtol: float = 1e-6,
) -> float:
    """Find the applied current density at which an overpotential metric reaches an onset.

    The metrics increase monotonically with the stripping current, so the root is unique;
    the bracket is widened by factors of 10 until it holds the root.

    Parameters
    ----------
    solver
        Solver of one island width.
    onset
        Delithiation onset (V vs Li+/Li).
    metric
        ``"eta_island_max"`` or ``"eta_bottom_max"``.
    bracket
        Starting bracket of current densities (mA/cm^2).
    rtol
        Relative tolerance on the current density.

    Returns
    -------
    float
        The critical current density (mA/cm^2); 0 for a zero onset.

    Raises
    ------
    ConfigError
        If the onset is not reached between 1e-9 and 1e7 mA/cm^2.
    """
    if metric not in METRICS:
        raise ConfigError(f"metric must be one of {METRICS}, got {metric!r}")
    if onset <= 0.0:
        return 0.0
    evaluate = _Evaluator(solver, metric)
    low, high = bracket
    while evaluate(low) > onset:
        low /= 10.0
        if low < _SEARCH_LIMITS[0]:
            raise ConfigError(f"onset {onset} V is exceeded at every current density")
    while evaluate(high) < onset:
        high *= 10.0
        if high > _SEARCH_LIMITS[1]:
            raise ConfigError(f"onset {onset} V is not reached below {_SEARCH_LIMITS[1]} mA/cm^2")
    log_root = scipy.optimize.brentq(
        lambda s: evaluate(math.exp(s)) - onset,
        math.log(low),
        math.log(high),
        xtol=rtol,
        rtol=4 * np.finfo(float).eps,
    )
    return math.exp(log_root)


def interdiffusion_lengths(
    parameters: ContinuumParameters, current_densities: Sequence[float], capacity: float
) -> list[InterdiffusionLength]:
    """Interdiffusion length sqrt(4 D t), t the time to strip ``capacity``.

    Parameters
    ----------
    parameters
        The parameter document (its diffusivities and temperature are used).
    current_densities
        Applied current densities (mA/cm^2).
    capacity
        Areal capacity of one stripping step (mAh/cm^2).

    Returns
    -------
    list of InterdiffusionLength
        One entry per solute and current density; empty without diffusivities.
    """
    if not capacity > 0.0:
        raise ConfigError(f"stripping capacity must be > 0 mAh/cm^2, got {capacity}")
    temperature = parameters.temperature.value
    lengths = []
    for entry in parameters.diffusivities:
        diffusivity = entry.at(temperature)
        for current in current_densities:
            seconds = capacity / current * 3600.0
            lengths.append(
                InterdiffusionLength(
                    solute=entry.solute,
                    host=entry.host,
                    diffusivity=diffusivity,
                    temperature=temperature,
                    current_density=current,
                    stripping_time=seconds,
                    length=math.sqrt(4.0 * diffusivity * seconds) * 1e4,
                    source=entry.source.summary,
                )
            )
    return lengths


def full_domain_profile(field: PotentialField) -> BottomProfile:
    """Mirror the half-domain bottom profiles onto the full domain (x from 0 to W)."""
    g = field.geometry
    x, eta, cur = field.bottom_x, field.bottom_eta, field.bottom_current
    if g.placement == "centre":
        centre = g.domain_width / 2
        x_full = np.concatenate([centre - x[::-1], centre + x[1:]])
        eta_full = np.concatenate([eta[::-1], eta[1:]])
        cur_full = np.concatenate([cur[::-1], cur[1:]])
    else:
        x_full, eta_full, cur_full = x, eta, cur
    return BottomProfile(
        x=x_full.tolist(), eta=eta_full.tolist(), current_density=cur_full.tolist()
    )


def _check_axis(values: Sequence[float], name: str, unit: str, upper: float | None = None) -> None:
    if len(values) == 0:
        raise ConfigError(f"{name}: give at least one value")
    for value in values:
        if not (math.isfinite(value) and value > 0.0):
            raise ConfigError(f"{name} must be finite and > 0 {unit}, got {value}")
        if upper is not None and value > upper * (1 + 1e-12):
            raise ConfigError(f"{name} must not exceed {upper} {unit}, got {value}")


_GRIDS = (
    "eta_island_max",
    "eta_island_mean",
    "eta_bottom_max",
    "cell_polarisation",
    "island_current_density_max",
)


@dataclass
class _WidthRow:
    """Everything the map keeps of one island width."""

    values: dict[str, list[float]]
    balance: float
    iterations: int
    dofs: int
    island_dofs: int
    critical: dict[tuple[int, str], float]


def _solve_width(
    parameters: ContinuumParameters,
    width: float,
    currents: list[float],
    onsets: list[AlloyOnset],
    placement: str,
    mesh: MeshSettings,
) -> _WidthRow:
    solver = solver_for(parameters, width, placement=placement, mesh=mesh)
    values: dict[str, list[float]] = {name: [] for name in _GRIDS}
    balance, iterations = 0.0, 0
    previous = None
    for current in currents:
        solution = solver.solve(current, previous)
        previous = solution.island_potential
        metrics = solver.metrics(solution)
        for name, row in values.items():
            row.append(getattr(metrics, name))
        balance = max(balance, metrics.current_balance_error)
        iterations = max(iterations, metrics.newton_iterations)
    bracket = (currents[0], currents[-1])
    critical = {
        (k, metric): critical_current_density(solver, onset.onset, metric=metric, bracket=bracket)
        for k, onset in enumerate(onsets)
        for metric in METRICS
    }
    return _WidthRow(values, balance, iterations, solver.n_dofs, solver.n_island_dofs, critical)


def _solve_widths(
    parameters: ContinuumParameters,
    widths: list[float],
    currents: list[float],
    onsets: list[AlloyOnset],
    placement: str,
    mesh: MeshSettings,
    progress: bool,
) -> list[_WidthRow]:
    if not progress:
        return [
            _solve_width(parameters, width, currents, onsets, placement, mesh) for width in widths
        ]
    from rich.progress import Progress

    rows = []
    with Progress(transient=True) as bar:
        task = bar.add_task("continuum map (island widths)", total=len(widths))
        for width in widths:
            rows.append(_solve_width(parameters, width, currents, onsets, placement, mesh))
            bar.advance(task)
    return rows


def run_map(
    parameters: ContinuumParameters,
    island_widths: Sequence[float],
    current_densities: Sequence[float],
    *,
    placement: str = "centre",
    mesh: MeshSettings | None = None,
    stripping_capacity: float = 1.0,
    field_cases: Sequence[tuple[float, float]] = (),
    crossings: bool = True,
    progress: bool = False,
) -> tuple[ContinuumMapResult, list[PotentialField]]:
    """Compute the overpotential map, the onset crossings and the chosen fields.

    Parameters
    ----------
    parameters
        The continuum parameter document.
    island_widths
        Island widths, 0 < a <= domain width (um).
    current_densities
        Applied stripping current densities, > 0 (mA/cm^2).
    placement
        ``"centre"`` or ``"side"``.
    mesh
        Mesh resolution; defaults to :class:`MeshSettings`.
    stripping_capacity
        Areal capacity of one stripping step, for the interdiffusion time (mAh/cm^2).
    field_cases
        (island width um, current density mA/cm^2) pairs whose fields are returned.
    crossings
        Solve the critical current density of every onset, metric and width.
    progress
        Show a rich progress bar.

    Returns
    -------
    tuple
        The result document and the potential fields of ``field_cases``.
    """
    widths = sorted(float(w) for w in island_widths)
    currents = sorted(float(c) for c in current_densities)
    _check_axis(widths, "island width", "um", upper=parameters.domain_width)
    _check_axis(currents, "current density", "mA/cm^2")
    for width, current in field_cases:
        _check_axis([width], "field-case island width", "um", upper=parameters.domain_width)
        _check_axis([current], "field-case current density", "mA/cm^2")
    if not stripping_capacity > 0.0:
        raise ConfigError(f"stripping capacity must be > 0 mAh/cm^2, got {stripping_capacity}")
    for entry in parameters.diffusivities:  # fail before the map, not after it
        entry.at(parameters.temperature.value)
    mesh = mesh or MeshSettings()
    onsets = list(parameters.onsets) if crossings else []
    start = time.perf_counter()
    with single_threaded_blas():
        rows = _solve_widths(parameters, widths, currents, onsets, placement, mesh, progress)
    wall = time.perf_counter() - start
    grids = {name: [row.values[name] for row in rows] for name in _GRIDS}

    fields = []
    for width, current in field_cases:
        solver = solver_for(parameters, width, placement=placement, mesh=mesh)
        fields.append(solver.potential_field(solver.solve(current)))

    result = ContinuumMapResult(
        parameters=parameters,
        parameters_fingerprint=parameters.fingerprint,
        placement=placement,
        island_widths=widths,
        current_densities=currents,
        max_current_balance_error=max(row.balance for row in rows),
        max_newton_iterations=max(row.iterations for row in rows),
        crossings=[
            OnsetCrossing(
                label=onset.display_label,
                alloy=onset.alloy,
                onset=onset.onset,
                source=onset.source.summary,
                metric=metric,
                critical_current_density=[row.critical[(k, metric)] for row in rows],
            )
            for k, onset in enumerate(onsets)
            for metric in METRICS
        ],
        stripping_capacity=stripping_capacity,
        interdiffusion=interdiffusion_lengths(parameters, currents, stripping_capacity),
        field_cases=[
            FieldCase(
                case=ContinuumCase.from_metrics(field.metrics),
                profile=full_domain_profile(field),
            )
            for field in fields
        ],
        mesh=MeshSummary(
            element=f"ElementTriP{mesh.order}",
            order=mesh.order,
            h_edge=mesh.h_edge,
            h_max=mesh.h_max,
            growth=mesh.growth,
            refine=mesh.refine,
            dofs=[row.dofs for row in rows],
            island_dofs=[row.island_dofs for row in rows],
        ),
        wall_time=wall,
        **grids,
    )
    return result, fields
