"""Finite-element solution of current constriction at a stripping Li island.

Problem (lengths in um, potentials in V, current densities in mA/cm^2)
-----------------------------------------------------------------------
The electrolyte fills [0, W] x [0, H]. Its potential phi solves div(kappa grad phi) = 0 with

* top (y = H): the applied stripping current density i_app leaves the domain upwards,
  -kappa dphi/dy = i_app;
* sides: insulated, dphi/dx = 0;
* bottom, under the Li island: the current entering the electrolyte is the Butler-Volmer
  current of the local overpotential, -kappa dphi/dy = i_BV(eta) with
  eta = phi_metal - phi, phi_metal = 0 (the island is an equipotential metal and the
  potential reference; U_eq = 0 for Li/Li+);
* bottom, elsewhere: insulated.

Stripping (i_app > 0) gives eta > 0 on the island; plating (i_app < 0) gives eta < 0.

Geometry: the island is either *centred* in the domain or at one *side*. Both are solved on
a half problem with a mirror (insulated) plane at x = 0 and the island on [0, b]: a centred
island of width a in a domain of width W is the half problem of length W/2 with b = a/2;
an island of width a at the side of a domain of width W is the half problem of length W
with b = a (mirror image about its outer edge). The problems are exactly equivalent.

Numerics
--------
Lagrange triangles (P1 or P2) on a graded tensor-product mesh, each rectangle split into
two right triangles (affine maps, robust at any aspect ratio; scikit-fem). Scaling the
equation by kappa, the weak form is K u = -c i_app t + c B(u), with K the stiffness
matrix, t the top load (integral of each shape function over the top), B_j(u) = integral
over the island of i_BV(-u) phi_j, and c = 1e-7 / kappa (V/um per mA/cm^2 for kappa in
S/cm).

The bulk is linear: the solver factorises the stiffness matrix of every unknown off the
island once per mesh (sparse LU) and forms the Schur complement S, the dense map from the
island potentials to the island currents (a discrete Dirichlet-to-Neumann map). Newton's
method then runs on the few island unknowns only:

    F(u_B) = S u_B / c - i_app r - B(u_B) = 0,

and every current density reuses the one factorisation. F is the gradient of a strictly
convex energy (the Butler-Volmer primitive is convex), so Newton steps with a backtracking
line search on that energy converge from any start.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse.linalg
from skfem import (
    Basis,
    BilinearForm,
    ElementTriP1,
    ElementTriP2,
    FacetBasis,
    LinearForm,
    MeshTri,
    asm,
)
from skfem.helpers import dot, grad

from anodefree.errors import AnodefreeError, ConfigError
from anodefree.models.continuum.mesh import MeshSettings, island_partitions

if TYPE_CHECKING:
    from anodefree.models.continuum.kinetics import ButlerVolmer

PLACEMENTS = ("centre", "side")
"""Island placements: centred in the domain, or against one side wall."""

UNIT_FACTOR = 1e-7
"""(mA/cm^2) / (S/cm) in V/um: the potential gradient of a current density per conductivity."""


def single_threaded_blas() -> contextlib.AbstractContextManager:
    """Limit BLAS to one thread (threadpoolctl), or do nothing when it is not installed.

    The dense algebra here is small (tens of island unknowns); multi-threaded OpenBLAS
    only adds synchronisation, which costs a factor 2-5 in wall time on a busy machine.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


class ContinuumSolverError(AnodefreeError, RuntimeError):
    """The Newton iteration of the continuum model did not converge."""


@dataclass(frozen=True)
class IslandGeometry:
    """The electrolyte domain and the Li island under it.

    Parameters
    ----------
    domain_width
        Width W of the electrolyte domain (um).
    domain_height
        Height H of the electrolyte domain (um).
    island_width
        Width a of the Li island, 0 < a <= W (um).
    placement
        ``"centre"`` (island centred under the domain) or ``"side"`` (against one wall).
    """

    domain_width: float
    domain_height: float
    island_width: float
    placement: str = "centre"

    def __post_init__(self) -> None:
        """Refuse impossible geometries, naming the value."""
        if not self.domain_width > 0.0:
            raise ConfigError(f"domain_width must be > 0 um, got {self.domain_width}")
        if not self.domain_height > 0.0:
            raise ConfigError(f"domain_height must be > 0 um, got {self.domain_height}")
        if not 0.0 < self.island_width <= self.domain_width * (1 + 1e-12):
            raise ConfigError(
                f"island_width must lie in (0, domain_width = {self.domain_width}] um, "
                f"got {self.island_width}"
            )
        if self.placement not in PLACEMENTS:
            raise ConfigError(f"placement must be one of {PLACEMENTS}, got {self.placement!r}")

    @property
    def half_length(self) -> float:
        """Length L of the computational half domain (um)."""
        return self.domain_width / 2 if self.placement == "centre" else self.domain_width

    @property
    def island_extent(self) -> float:
        """The island covers [0, b] of the half domain's bottom: b (um)."""
        b = self.island_width / 2 if self.placement == "centre" else self.island_width
        return min(b, self.half_length)

    @property
    def covers_bottom(self) -> bool:
        """True when the island covers the whole bottom (the 1D limit)."""
        return self.island_extent >= self.half_length * (1 - 1e-12)


@dataclass
class IslandSolution:
    """The island potentials at one applied current density (internal, numpy)."""

    current_density: float  # mA/cm^2, applied on top
    island_potential: np.ndarray  # V, phi at the island dofs
    newton_iterations: int


@dataclass(frozen=True)
class CaseMetrics:
    """Overpotentials and checks of one solved case (plain numbers, see ContinuumCase)."""

    island_width: float  # um
    current_density: float  # mA/cm^2
    eta_island_max: float  # V
    eta_island_mean: float  # V
    eta_island_min: float  # V
    eta_bottom_max: float  # V
    cell_polarisation: float  # V
    island_current_density_mean: float  # mA/cm^2
    island_current_density_max: float  # mA/cm^2
    current_balance_error: float  # relative
    newton_iterations: int


@dataclass(frozen=True)
class PotentialField:
    """The potential on the vertices of the half-domain mesh, for plots.

    ``x``, ``y`` (um) and ``phi`` (V) are per vertex; ``triangles`` are the vertex indices of
    the cells; ``bottom_x`` (um), ``bottom_eta`` (V, phi_metal - phi along the bottom) and
    ``bottom_current`` (mA/cm^2, Butler-Volmer current on the island, 0 elsewhere) are
    sorted along the bottom.
    """

    geometry: IslandGeometry
    current_density: float
    x: np.ndarray
    y: np.ndarray
    triangles: np.ndarray
    phi: np.ndarray
    bottom_x: np.ndarray
    bottom_eta: np.ndarray
    bottom_current: np.ndarray
    metrics: CaseMetrics = field(repr=False)


class IslandSolver:
    """The continuum model for one geometry and mesh, solvable at many current densities.

    Construction builds the mesh, assembles the stiffness matrix, factorises it once and
    forms the island Schur complement; :meth:`solve` then costs a few dense Newton steps on
    the island unknowns.

    Parameters
    ----------
    geometry
        Domain and island.
    kinetics
        Butler-Volmer kinetics of the island.
    conductivity
        Electrolyte conductivity kappa (S/cm).
    mesh
        Mesh resolution.
    """

    def __init__(
        self,
        geometry: IslandGeometry,
        kinetics: ButlerVolmer,
        conductivity: float,
        mesh: MeshSettings | None = None,
    ) -> None:
        if not conductivity > 0.0:
            raise ConfigError(f"conductivity must be > 0 S/cm, got {conductivity}")
        self.geometry = geometry
        self.kinetics = kinetics
        self.conductivity = conductivity
        self.settings = mesh or MeshSettings()
        self.scale = UNIT_FACTOR / conductivity  # c: V/um per mA/cm^2
        with single_threaded_blas():
            self._build()

    # ---------------------------------------------------------------- set-up

    def _build(self) -> None:
        g = self.geometry
        self.length, self.height, self.island = g.half_length, g.domain_height, g.island_extent
        x, y = island_partitions(self.length, self.height, self.island, self.settings)
        self.mesh = MeshTri.init_tensor(x, y)
        self.element = ElementTriP2() if self.settings.order == 2 else ElementTriP1()
        self.basis = Basis(self.mesh, self.element)
        _, uncovered = self._assemble()
        self._island_quadrature()
        self._schur_complement()
        self._metric_functionals(uncovered)

    def _assemble(self) -> tuple[np.ndarray, np.ndarray]:
        """Stiffness matrix, top load, island facets and dofs; returns top/uncovered facets."""
        mesh, length, height, b = self.mesh, self.length, self.height, self.island
        tol = 1e-9 * max(length, height)

        def on_top(p: np.ndarray) -> np.ndarray:
            return np.abs(p[1] - height) < tol

        def on_island(p: np.ndarray) -> np.ndarray:
            return (np.abs(p[1]) < tol) & (p[0] < b + tol)

        def off_island(p: np.ndarray) -> np.ndarray:
            return (np.abs(p[1]) < tol) & (p[0] > b - tol)

        top = mesh.facets_satisfying(on_top, boundaries_only=True)
        self.island_facets = mesh.facets_satisfying(on_island, boundaries_only=True)
        uncovered = mesh.facets_satisfying(off_island, boundaries_only=True)

        @BilinearForm
        def laplace(u, v, _):  # noqa: ANN001, ANN202
            return dot(grad(u), grad(v))

        @LinearForm
        def unit(v, _):  # noqa: ANN001, ANN202
            return v

        self.stiffness = asm(laplace, self.basis).tocsr()
        self.top_load = asm(unit, FacetBasis(mesh, self.element, facets=top))
        n = self.basis.N
        self.island_dofs = np.unique(self.basis.get_dofs(facets=self.island_facets).all())
        self.rest_dofs = np.setdiff1d(np.arange(n), self.island_dofs)
        self.island_x = self.basis.doflocs[0, self.island_dofs]
        return top, uncovered

    def _island_quadrature(self) -> None:
        """Phi: island dof values to values at the island quadrature points; weights."""
        intorder = 2 * self.settings.order + 2
        fb = FacetBasis(self.mesh, self.element, facets=self.island_facets, intorder=intorder)
        self._island_fb = fb
        local = -np.ones(self.basis.N, dtype=np.int64)
        local[self.island_dofs] = np.arange(self.island_dofs.size)
        n_facets, n_qp = fb.dx.shape
        phi_q = np.zeros((n_facets * n_qp, self.island_dofs.size))
        rows = np.arange(n_facets * n_qp).reshape(n_facets, n_qp)
        for j in range(fb.Nbfun):
            values = fb.basis[j][0].value  # (n_facets, n_qp)
            dofs = fb.element_dofs[j]  # (n_facets,)
            on = np.abs(values).max(axis=1) > 1e-13
            if np.any(local[dofs[on]] < 0):
                raise ContinuumSolverError("an island shape function belongs to no island dof")
            for f in np.nonzero(on)[0]:
                phi_q[rows[f], local[dofs[f]]] += values[f]
        self.quad_phi = phi_q
        self.quad_weights = fb.dx.ravel()  # um
        self.quad_x = fb.global_coordinates().value[0].ravel()

    def _schur_complement(self) -> None:
        """One sparse factorisation of everything off the island; the island Schur complement."""
        stiffness, top_load = self.stiffness, self.top_load
        rest, island_dofs = self.rest_dofs, self.island_dofs
        k_rest = stiffness[rest]
        k_rr = k_rest[:, rest].tocsc()
        k_rb = k_rest[:, island_dofs].tocsc()  # sparse: products below need no dense BLAS
        k_bb = stiffness[island_dofs][:, island_dofs].toarray()
        lu = scipy.sparse.linalg.splu(k_rr, permc_spec="MMD_AT_PLUS_A")
        self._lu = lu
        self._z_mat = lu.solve(k_rb.toarray())  # K_rr^-1 K_rb
        self._z_top = lu.solve(top_load[rest])  # K_rr^-1 t_r
        schur = k_bb - np.asarray(k_rb.T @ self._z_mat)
        top_rhs = k_rb.T @ self._z_top - top_load[island_dofs]  # r
        # Exact identities, restored after round-off: S is symmetric and annihilates
        # constants (K does), and sum(r) = -sum(t) = -L. Without this, the round-off of the
        # Schur complement (~1e-13 of its entries, amplified by 1/c) shows up as a 1e-10
        # relative mismatch between the applied and the island current.
        schur = 0.5 * (schur + schur.T)
        ones = np.ones(island_dofs.size) / np.sqrt(island_dofs.size)
        defect = schur @ ones
        schur -= np.outer(defect, ones) + np.outer(ones, defect)
        schur += (ones @ defect) * np.outer(ones, ones)
        top_rhs -= ones * ((top_rhs @ ones) + top_load.sum() / np.sqrt(island_dofs.size))
        self.schur = schur
        self.schur_scaled = schur / self.scale
        self.top_rhs = top_rhs

    def _metric_functionals(self, uncovered: np.ndarray) -> None:
        """Linear maps from (i_app, island potentials) to the top and uncovered potentials."""
        rest, island_dofs, top_load = self.rest_dofs, self.island_dofs, self.top_load
        position = -np.ones(self.basis.N, dtype=np.int64)
        position[rest] = np.arange(rest.size)
        if uncovered.size:
            off = np.setdiff1d(np.unique(self.basis.get_dofs(facets=uncovered).all()), island_dofs)
        else:
            off = np.array([], dtype=np.int64)
        self.uncovered_dofs = off
        self._off_rows = position[off]
        t_r = top_load[rest]
        self._top_dot_z = float(t_r @ self._z_top)
        self._top_dot_zmat = t_r @ self._z_mat - top_load[island_dofs]

    @property
    def n_dofs(self) -> int:
        """Number of finite-element unknowns."""
        return int(self.basis.N)

    @property
    def n_island_dofs(self) -> int:
        """Number of unknowns on the island (the size of the Newton system)."""
        return int(self.island_dofs.size)

    # ---------------------------------------------------------------- Newton

    def _energy(self, u: np.ndarray, current_density: float) -> float:
        eta_q = -(self.quad_phi @ u)
        interface = float(self.quad_weights @ self.kinetics.primitive(eta_q))
        return (
            0.5 * float(u @ self.schur_scaled @ u)
            - current_density * float(self.top_rhs @ u)
            + interface
        )

    def _residual(self, u: np.ndarray, current_density: float) -> tuple[np.ndarray, np.ndarray]:
        eta_q = -(self.quad_phi @ u)
        wi = self.quad_weights * self.kinetics.current(eta_q)
        residual = self.schur_scaled @ u - current_density * self.top_rhs - self.quad_phi.T @ wi
        wd = self.quad_weights * self.kinetics.derivative(eta_q)
        jacobian = self.schur_scaled + self.quad_phi.T @ (wd[:, None] * self.quad_phi)
        return residual, jacobian

    def uniform_guess(self, current_density: float) -> np.ndarray:
        """Island potentials if the island carried its mean current uniformly (V)."""
        mean = current_density * self.length / self.island
        return -float(self.kinetics.overpotential(mean)) * np.ones(self.n_island_dofs)

    def solve(
        self,
        current_density: float,
        initial: np.ndarray | None = None,
        *,
        tolerance: float = 1e-12,
        max_iterations: int = 100,
    ) -> IslandSolution:
        """Solve at one applied current density.

        Many solves in a row run faster inside ``with single_threaded_blas():`` (as
        :func:`anodefree.models.continuum.sweep.run_map` does); entering it costs ~4 ms.

        Parameters
        ----------
        current_density
            Applied current density on the top surface (mA/cm^2), positive for stripping.
        initial
            Starting island potentials (V), e.g. the solution at a neighbouring current;
            defaults to :meth:`uniform_guess`.
        tolerance
            Stop when the largest Newton update is below this (V).
        max_iterations
            Give up after this many Newton steps.

        Returns
        -------
        IslandSolution
            The island potentials.

        Raises
        ------
        ContinuumSolverError
            If Newton does not converge.
        """
        if not np.isfinite(current_density):
            raise ConfigError(f"current_density must be finite, got {current_density}")
        u = self.uniform_guess(current_density) if initial is None else np.array(initial)
        for iteration in range(1, max_iterations + 1):
            residual, jacobian = self._residual(u, current_density)
            step = -np.linalg.solve(jacobian, residual)
            size = float(np.max(np.abs(step)))
            if size > 1e-4:  # far from the solution: backtrack on the convex energy
                energy = self._energy(u, current_density)
                slope = float(residual @ step)
                t = 1.0
                while self._energy(u + t * step, current_density) > energy + 1e-4 * t * slope:
                    t *= 0.5
                    if t < 1e-10:
                        break
                step *= t
            u = u + step
            if size < tolerance:
                return IslandSolution(current_density, u, iteration)
        raise ContinuumSolverError(
            f"Newton did not converge in {max_iterations} steps at i_app = "
            f"{current_density} mA/cm^2, island width {self.geometry.island_width} um "
            f"(last update {size:.3e} V)"
        )

    # ---------------------------------------------------------------- results

    def full_potential(self, solution: IslandSolution) -> np.ndarray:
        """Return the potential at every dof of the half domain (V)."""
        u = np.empty(self.n_dofs)
        u[self.island_dofs] = solution.island_potential
        u[self.rest_dofs] = -(
            self.scale * solution.current_density * self._z_top
            + self._z_mat @ solution.island_potential
        )
        return u

    def island_current(self, solution: IslandSolution) -> float:
        """Butler-Volmer current through the island per unit depth (mA/cm^2 um)."""
        eta_q = -(self.quad_phi @ solution.island_potential)
        return float(self.quad_weights @ self.kinetics.current(eta_q))

    def field_island_current(self, solution: IslandSolution) -> float:
        """Island current from the assembled full-domain field (mA/cm^2 um).

        The sum over island dofs of (K u + c i_app t) / c: the variationally consistent
        flux of the recovered field, independent of the Schur complement.
        """
        u = self.full_potential(solution)
        flux = self.stiffness @ u + self.scale * solution.current_density * self.top_load
        return float(flux[self.island_dofs].sum() / self.scale)

    def metrics(self, solution: IslandSolution) -> CaseMetrics:
        """Overpotentials and checks of a solved case.

        Parameters
        ----------
        solution
            A solution of :meth:`solve`.

        Returns
        -------
        CaseMetrics
            Definitions in :class:`anodefree.models.continuum.results.ContinuumCase`.
        """
        u_b = solution.island_potential
        i_app = solution.current_density
        eta_nodes = -u_b
        eta_q = -(self.quad_phi @ u_b)
        current_q = self.kinetics.current(eta_q)
        island_current = float(self.quad_weights @ current_q)
        applied = i_app * self.length
        if self.uncovered_dofs.size:
            off = -(
                self.scale * i_app * self._z_top[self._off_rows] + self._z_mat[self._off_rows] @ u_b
            )
            bottom_max = max(float(eta_nodes.max()), float((-off).max()))
        else:
            bottom_max = float(eta_nodes.max())
        top_integral = -(self.scale * i_app * self._top_dot_z + self._top_dot_zmat @ u_b)
        balance = abs(island_current - applied) / max(abs(applied), 1e-300)
        return CaseMetrics(
            island_width=self.geometry.island_width,
            current_density=i_app,
            eta_island_max=float(max(eta_nodes.max(), eta_q.max())),
            eta_island_mean=float(self.quad_weights @ eta_q) / self.island,
            eta_island_min=float(min(eta_nodes.min(), eta_q.min())),
            eta_bottom_max=bottom_max,
            cell_polarisation=-float(top_integral) / self.length,
            island_current_density_mean=island_current / self.island,
            island_current_density_max=float(current_q.max()),
            current_balance_error=float(balance) if applied != 0.0 else 0.0,
            newton_iterations=solution.newton_iterations,
        )

    def potential_field(self, solution: IslandSolution) -> PotentialField:
        """Return the potential on the mesh vertices and the profiles along the bottom.

        Parameters
        ----------
        solution
            A solution of :meth:`solve`.

        Returns
        -------
        PotentialField
            Vertex potentials of the half domain and bottom profiles.
        """
        u = self.full_potential(solution)
        vertex_dofs = self.basis.nodal_dofs[0]
        phi = u[vertex_dofs]
        p = self.mesh.p
        bottom = np.nonzero(np.abs(p[1]) < 1e-9 * self.height)[0]
        bottom = bottom[np.argsort(p[0, bottom])]
        bx = p[0, bottom]
        beta = -phi[bottom]
        bcur = np.where(bx <= self.island * (1 + 1e-12), self.kinetics.current(beta), 0.0)
        return PotentialField(
            geometry=self.geometry,
            current_density=solution.current_density,
            x=p[0].copy(),
            y=p[1].copy(),
            triangles=self.mesh.t.T.copy(),
            phi=phi,
            bottom_x=bx,
            bottom_eta=beta,
            bottom_current=bcur,
            metrics=self.metrics(solution),
        )

    # ---------------------------------------------------------------- reference

    def solve_monolithic(
        self, current_density: float, *, tolerance: float = 1e-12, max_iterations: int = 100
    ) -> np.ndarray:
        """Solve by Newton on the whole sparse system, forms assembled by skfem (reference).

        Slower than :meth:`solve`; it shares neither the Schur complement nor the island
        quadrature matrix, so it checks both.

        Parameters
        ----------
        current_density
            Applied current density (mA/cm^2).
        tolerance
            Stop when the largest Newton update is below this (V).
        max_iterations
            Give up after this many steps.

        Returns
        -------
        numpy.ndarray
            The potential at every dof (V).
        """
        kin = self.kinetics
        fb = self._island_fb

        @LinearForm
        def bv_load(v, w):  # noqa: ANN001, ANN202
            return kin.current(-w["u"]) * v

        @BilinearForm
        def bv_tangent(u, v, w):  # noqa: ANN001, ANN202
            return kin.derivative(-w["u"]) * u * v

        c = self.scale
        u = np.zeros(self.n_dofs)
        u[:] = self.uniform_guess(current_density)[0]
        for _ in range(max_iterations):
            field_u = fb.interpolate(u)
            residual = (
                self.stiffness @ u
                + c * current_density * self.top_load
                - c * asm(bv_load, fb, u=field_u)
            )
            jacobian = self.stiffness + c * asm(bv_tangent, fb, u=field_u)
            step = -scipy.sparse.linalg.spsolve(jacobian.tocsc(), residual)
            size = float(np.max(np.abs(step)))
            u += step
            if size < tolerance:
                return u
        raise ContinuumSolverError(
            f"monolithic Newton did not converge at i_app = {current_density} mA/cm^2"
        )
