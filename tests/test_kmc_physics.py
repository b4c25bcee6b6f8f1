"""Exact tests of the stripping KMC against independent expectations.

- with stripping off, the time-averaged vacancy occupancy by layer follows the Boltzmann
  distribution of the layer formation energies (one vacancy: canonical; many vacancies with
  the reservoir: Fermi-Dirac per site), compared within the statistical error of block
  averages;
- a single vacancy in bulk diffuses with D = (1/6) z lambda^2 Gamma;
- the rate catalogue obeys detailed balance against an energy computed here from the
  definitions (not from the engine's fields), and incremental updates equal a rebuild;
- seeded runs reproduce; stripping conserves atoms; voids are the connected clusters.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from anodefree.analysis.exports.kmc import KmcExport
from anodefree.models.kmc.engine import LI, SINK, SOL, STATUS_CONTACT_LOST, VAC, KmcEngine
from anodefree.models.kmc.lattice import SlabLattice
from anodefree.models.kmc.observables import VoidStatistics, void_cluster_sizes
from anodefree.models.kmc.parameters import compile_tables
from anodefree.models.kmc.timescale import capacity_per_atom, strip_rate_per_site

K_B = 8.617333262e-5  # eV/K
A = 3.44  # angstrom


def export_with(**numbers):
    base = {
        "system": "test",
        "lattice_constant": A,
        "vacancy_formation_by_layer": [],
        "vacancy_formation_bulk": 0.5,
        "li_hop_barrier": 0.055,
        "attempt_frequency": 1e13,
    }
    base.update(numbers)
    return KmcExport.from_numbers(**base)


def make_engine(export, nx, ny, n_layers, *, facet="100", sink=False, periodic_z=False,
                temperature=300.0, with_solute=False, seed=0):  # fmt: skip
    n_total = n_layers + (1 if sink else 0)
    tables = compile_tables(
        export, temperature=temperature, n_layers=n_total, with_solute=with_solute
    )
    lattice = SlabLattice(
        facet, A, nx, ny, n_total, n_shells=max(tables.n_shells, 1), periodic_z=periodic_z
    )
    return KmcEngine(lattice, tables, sink=sink, seed=seed)


def block_layer_averages(engine, n_blocks, events_per_block, n_layers):
    """Time-averaged vacancy count of each layer in consecutive blocks of events."""
    blocks = []
    engine.take_time_average()
    for _ in range(n_blocks):
        engine.run(events_per_block)
        integral, elapsed = engine.take_time_average()
        blocks.append(integral[:n_layers] / elapsed)
    return np.array(blocks)


# --------------------------------------------------------------------------- (a) Boltzmann


@pytest.mark.parametrize("facet", ["100", "110"])
def test_single_vacancy_layer_occupancy_is_boltzmann(facet):
    energies = [0.0, 0.02, 0.035, 0.045, 0.05, 0.05]
    export = export_with(
        vacancy_formation_by_layer=energies,
        vacancy_formation_bulk=0.05,
        interlayer_barriers={(1, 2): 0.08},
    )
    engine = make_engine(export, 4, 4, len(energies), facet=facet, temperature=300.0, seed=3)
    occ = engine.occupancy()
    occ[engine.lattice.layer_sites(3)[5]] = VAC
    engine.set_configuration(occ)
    engine.run(20_000)  # forget the start
    blocks = block_layer_averages(engine, 40, 25_000, len(energies))
    # Independent expectation: one vacancy, every layer has the same number of sites, so
    # P(layer L) = exp(-E_L/kT) / sum over layers.
    weights = np.exp(-np.array(energies) / (K_B * 300.0))
    expected = weights / weights.sum()
    mean = blocks.mean(axis=0)
    standard_error = blocks.std(axis=0, ddof=1) / math.sqrt(len(blocks))
    assert mean.sum() == pytest.approx(1.0, abs=1e-9)  # exactly one vacancy at all times
    # Blocks hold ~700 layer-mixing times each, so block means are independent and the
    # standard error of their mean is the statistical error; 4 of them is a 6e-5 tail.
    assert np.all(np.abs(mean - expected) < 4 * standard_error + 1e-4), (mean, expected)
    # The test has power: the errors are small against the departure from uniform.
    assert np.all(standard_error < 0.01)
    assert abs(expected[0] - 1 / 6) > 10 * standard_error[0]


def test_reservoir_gives_fermi_dirac_occupancy_of_every_layer():
    # Non-interacting vacancies exchanged with the reservoir at the chemical potential of
    # bcc Li: each site is independently vacant with 1 / (1 + exp(E_f / kT)).
    energies = [-0.02, 0.0, 0.03, 0.05, 0.07, 0.08]
    export = export_with(vacancy_formation_by_layer=energies, vacancy_formation_bulk=0.08)
    engine = make_engine(export, 4, 4, len(energies), sink=True, temperature=300.0, seed=11)
    engine.run(200_000)
    per_layer = engine.lattice.sites_per_layer
    blocks = block_layer_averages(engine, 40, 40_000, len(energies)) / per_layer
    expected = 1.0 / (1.0 + np.exp(np.array(energies) / (K_B * 300.0)))
    mean = blocks.mean(axis=0)
    standard_error = blocks.std(axis=0, ddof=1) / math.sqrt(len(blocks))
    assert np.all(np.abs(mean - expected) < 4 * standard_error + 1e-4), (mean, expected)
    assert np.all(standard_error < 0.02)
    assert abs(expected[0] - expected[-1]) > 10 * standard_error.max()


# --------------------------------------------------------------------------- (b) diffusion


@pytest.mark.parametrize("facet", ["100", "110"])
def test_single_vacancy_msd_matches_random_walk_diffusivity(facet):
    temperature, nu, barrier = 300.0, 1e13, 0.055
    export = export_with(li_hop_barrier=barrier, attempt_frequency=nu)
    engine = make_engine(export, 6, 6, 8, facet=facet, periodic_z=True, temperature=temperature)
    occ = engine.occupancy()
    occ[100] = VAC
    engine.set_configuration(occ)
    # Independent expectation: a lone vacancy in bulk makes uncorrelated hops of length
    # lambda = sqrt(3)/2 a to z = 8 neighbours, each at Gamma = nu exp(-E/kT), so
    # D = (1/6) z lambda^2 Gamma and <R^2(tau)> = 6 D tau.
    gamma = nu * math.exp(-barrier / (K_B * temperature))
    lam = math.sqrt(3.0) / 2.0 * A
    diffusivity = 8 * lam**2 * gamma / 6.0
    tau = 40.0 / (8 * gamma)  # 40 hops per window on average
    n_windows = 3000
    displacements = np.empty((n_windows, 3))
    previous = engine.vacancy_displacement
    for index in range(n_windows):
        engine.run(10**6, t_stop=engine.time + tau)
        now = engine.vacancy_displacement
        displacements[index] = now - previous
        previous = now
    squared = (displacements**2).sum(axis=1)
    msd, error = squared.mean(), squared.std(ddof=1) / math.sqrt(n_windows)
    # Windows of a Markov walk are independent; 4 standard errors (~5 %) is the tolerance.
    assert abs(msd - 6 * diffusivity * tau) < 4 * error
    assert error / msd < 0.02
    # Isotropy: each Cartesian component carries a third.
    for component in range(3):
        part = displacements[:, component] ** 2
        assert abs(part.mean() - 2 * diffusivity * tau) < 4 * part.std(ddof=1) / math.sqrt(
            n_windows
        )


# --------------------------------------------------------------------------- detailed balance


def independent_energy(lattice, occ, numbers, n_active):
    """E = sum E_f(layer) + sum E_seg(layer) + pair terms, from the definitions."""
    ef = list(numbers["vacancy_formation_by_layer"])
    seg = list(numbers["segregation_by_layer"])
    shells_vv = {k: -v for k, v in numbers["divacancy_binding_bulk"].items()}
    shells_vv_if = {k: -v for k, v in numbers["divacancy_binding_interface"].items()}
    shells_sv = dict(numbers["solute_vacancy_bulk"])
    shells_sv_if = dict(numbers["solute_vacancy_interface"])
    radii = [math.sqrt(3) / 2 * A, A, math.sqrt(2) * A]
    layer = lattice.layer[: lattice.n_sites]
    active = np.arange(n_active * lattice.sites_per_layer)
    vac = active[occ[active] == VAC]
    sol = active[occ[active] == SOL]
    lx, ly = lattice.cell_lengths

    def shell(i, j):
        d = lattice.positions[j] - lattice.positions[i]
        d[0] -= lx * round(d[0] / lx)
        d[1] -= ly * round(d[1] / ly)
        r = float(np.linalg.norm(d))
        for k, radius in enumerate(radii, start=1):
            if abs(r - radius) < 1e-6:
                return k
        return None

    def pair(i, j, bulk, interface):
        k = shell(i, j)
        if k is None:
            return 0.0
        if (layer[i] == 0 or layer[j] == 0) and k in interface:
            return interface[k]
        return bulk.get(k, 0.0)

    energy = sum(ef[layer[v]] if layer[v] < len(ef) else numbers["vacancy_formation_bulk"]
                 for v in vac)  # fmt: skip
    energy += sum(seg[layer[s]] if layer[s] < len(seg) else 0.0 for s in sol)
    for a_index, v in enumerate(vac):
        for w in vac[a_index + 1 :]:
            energy += pair(v, w, shells_vv, shells_vv_if)
        for s in sol:
            energy += pair(v, s, shells_sv, shells_sv_if)
    return energy


@pytest.mark.parametrize("facet", ["100", "110"])
def test_rate_catalogue_obeys_detailed_balance(facet):
    numbers = {
        "vacancy_formation_by_layer": [0.12, 0.30, 0.42, 0.47, 0.49, 0.50],
        "vacancy_formation_bulk": 0.5,
        "divacancy_binding_bulk": {1: 0.03, 2: 0.06},
        "divacancy_binding_interface": {2: 0.11},
        "solute": "Mg",
        "solute_fraction": 0.1,
        "segregation_by_layer": [-0.15, -0.04],
        "solute_vacancy_bulk": {1: 0.04, 2: -0.02, 3: 0.01},
        "solute_vacancy_interface": {1: 0.09},
        "li_hop_barrier_near_solute": 0.07,
        "solute_hop_barrier": 0.1,
        "interlayer_barriers": {(1, 2): 0.02, (2, 3): (0.09, 0.07)},
        "solute_attempt_frequency": 4e12,
    }
    export = export_with(**numbers)
    n_active = 6
    temperature = 300.0
    engine = make_engine(export, 4, 4, n_active, facet=facet, sink=True,
                         temperature=temperature, with_solute=True)  # fmt: skip
    lattice = engine.lattice
    rng = np.random.default_rng(5)
    occ = engine.occupancy()
    active = np.arange(n_active * lattice.sites_per_layer)
    picks = rng.choice(active, 40, replace=False)
    occ[picks[:22]] = VAC
    occ[picks[22:]] = SOL
    engine.set_configuration(occ)
    kT = K_B * temperature
    energy0 = independent_energy(lattice, engine.occupancy(), numbers, n_active)
    reverse_slot = {
        d: int(np.argmin(np.linalg.norm(lattice.hop_vectors + lattice.hop_vectors[d], axis=1)))
        for d in range(8)
    }
    tested = {1: 0, 2: 0, 3: 0}
    solute_hops = 0
    for site in range(lattice.n_sites):
        for slot, forward in enumerate(engine.site_rates(site)):
            if forward <= 0:
                continue
            before = engine.occupancy()
            mover = before[lattice.nbr1[site, slot]]
            kind = engine.execute(site, slot)
            energy1 = independent_energy(lattice, engine.occupancy(), numbers, n_active)
            delta = energy1 - energy0
            if kind == 1:
                back_site, back_slot = int(lattice.nbr1[site, slot]), reverse_slot[slot]
            else:
                back_site, back_slot = site, slot
            backward = engine.site_rates(back_site)[back_slot]
            assert forward / backward == pytest.approx(math.exp(-delta / kT), rel=1e-9)
            # The barrier is never below the energy the move must climb.
            nu = 4e12 if mover == SOL else 1e13
            assert forward <= nu * math.exp(-max(delta, 0.0) / kT) * (1 + 1e-12)
            engine.execute(back_site, back_slot)
            assert np.array_equal(engine.occupancy(), before)
            tested[kind] += 1
            solute_hops += mover == SOL
    assert tested[1] > 50
    assert tested[2] > 0
    assert tested[3] > 0
    assert solute_hops > 0
    # Incremental bookkeeping after ~2x200 events equals a rebuild from scratch.
    rates = np.array([engine.site_rates(x) for x in range(lattice.n_sites)])
    total = engine.total_rate
    engine.rebuild()
    rebuilt = np.array([engine.site_rates(x) for x in range(lattice.n_sites)])
    # Energies are exact integers in the kernel: incremental and rebuilt rates are identical.
    assert np.array_equal(rates, rebuilt)
    assert total == pytest.approx(engine.total_rate, rel=1e-12)


@pytest.mark.parametrize("facet", ["100", "110"])
def test_incremental_rates_equal_a_rebuild_along_a_trajectory(facet):
    # Only the rates an event can change are recomputed; after events of every kind (hops,
    # solute hops, stripping, reservoir fills and emissions) with interactions up to the
    # third shell, they must equal rates computed from scratch. Checked every 500 events,
    # so that a stale rate is caught before later events near it happen to refresh it.
    export = export_with(
        vacancy_formation_by_layer=[0.16, 0.12, 0.15, 0.18, 0.2, 0.2],
        vacancy_formation_bulk=0.2,
        divacancy_binding_bulk={1: 0.04, 2: 0.03},
        divacancy_binding_interface={2: 0.06},
        solute="Mg",
        solute_fraction=0.1,
        segregation_by_layer=[0.05],
        solute_vacancy_bulk={1: 0.02, 3: -0.01},
        solute_vacancy_interface={1: 0.05},
        li_hop_barrier_near_solute=0.065,
        solute_hop_barrier=0.08,
        interlayer_barriers={(1, 2): 0.1},
    )
    # 8 x 8 cells: sites on and away from the in-plane wrap, at the top, bottom and middle.
    engine = make_engine(export, 8, 8, 10, facet=facet, sink=True, with_solute=True, seed=9)
    lattice = engine.lattice
    rng = np.random.default_rng(2)
    occ = engine.occupancy()
    active = np.arange(10 * lattice.sites_per_layer)
    picks = rng.choice(active, len(active) // 5, replace=False)
    occ[picks[: len(picks) // 2]] = VAC
    occ[picks[len(picks) // 2 :]] = SOL
    engine.set_configuration(occ)
    for _ in range(30):
        status = engine.run(500, strip_rate=2e9)
        assert status != STATUS_CONTACT_LOST
        incremental = np.array([engine.site_rates(x) for x in range(lattice.n_sites)])
        field = engine.vacancy_field.copy()
        total = engine.total_rate
        engine.rebuild()
        rebuilt = np.array([engine.site_rates(x) for x in range(lattice.n_sites)])
        assert np.array_equal(incremental, rebuilt)
        # Integer fields: the incremental sums equal a rebuild exactly.
        assert np.array_equal(field, engine.vacancy_field)
        assert total == pytest.approx(engine.total_rate, rel=1e-12)
    c = engine.counters
    assert c.events == 15_000
    assert min(c.li_hops, c.solute_hops, c.stripped, c.sink_fills, c.sink_emissions) > 0


def test_kinetically_resolved_barrier_is_clipped_at_large_energy_differences():
    # One vacancy in L1 with E_f(L1) - E_f(L2) = -0.4 eV and E_KRA = 0.05 eV: the uphill hop
    # L1 -> L2 must cost 0.4 eV (not 0.25 eV), the downhill one nothing.
    export = export_with(vacancy_formation_by_layer=[0.1, 0.5], attempt_frequency=1e13,
                         li_hop_barrier=0.05)  # fmt: skip
    engine = make_engine(export, 4, 4, 6, temperature=300.0)
    occ = engine.occupancy()
    top = engine.lattice.layer_sites(0)[0]
    occ[top] = VAC
    engine.set_configuration(occ)
    kT = K_B * 300.0
    rates = engine.site_rates(top)
    uphill = rates[rates > 0]
    assert len(uphill) == 4  # four L2 neighbours under a (100) L1 site
    assert uphill == pytest.approx(1e13 * math.exp(-0.4 / kT), rel=1e-12)
    below = int(engine.lattice.nbr1[top][rates > 0][0])
    occ = engine.occupancy()
    occ[top], occ[below] = LI, VAC
    engine.set_configuration(occ)
    downhill = engine.site_rates(below)
    slot_up = int(np.flatnonzero(engine.lattice.nbr1[below] == top)[0])
    assert downhill[slot_up] == pytest.approx(1e13, rel=1e-12)


def test_energies_beyond_the_kernels_range_are_refused():
    # The rate cache packs each event's energy change (in 1e-12 eV) into a 64-bit key with
    # the barrier kind; absurd site energies are refused with the bound instead of wrapping.
    export = export_with(vacancy_formation_by_layer=[0.3, 0.45])
    tables = compile_tables(export, temperature=300.0, n_layers=6, with_solute=False)
    lattice = SlabLattice("100", A, 4, 4, 6, n_shells=1)
    KmcEngine(lattice, tables, sink=False, seed=0)  # sane energies pass
    tables.formation_by_layer[0] = 2.0e4
    with pytest.raises(ValueError, match=r"energies up to 8e\+04 eV .* exceed"):
        KmcEngine(lattice, tables, sink=False, seed=0)


# --------------------------------------------------------------------------- runs


def stripping_engine(seed, sink=True):
    export = export_with(
        vacancy_formation_by_layer=[0.30, 0.45],
        divacancy_binding_bulk={2: 0.03},
        interlayer_barriers={(1, 2): (0.2, 0.05)},
    )
    return make_engine(export, 6, 6, 10, sink=sink, temperature=300.0, seed=seed)


def count_atoms(engine, n_active):
    occ = engine.occupancy()[: n_active * engine.lattice.sites_per_layer]
    return int(np.count_nonzero((occ == LI) | (occ == SOL)))


def test_stripping_conserves_atoms_with_the_reservoir():
    engine = stripping_engine(seed=2)
    initial = count_atoms(engine, 10)
    engine.run(300_000, strip_rate=3e9)
    c = engine.counters
    assert c.stripped > 20
    assert c.sink_fills > 0  # vacancies reached the reservoir and were filled
    final = count_atoms(engine, 10)
    assert initial - c.stripped + c.sink_fills - c.sink_emissions == final
    # Sites of the reservoir layer never change.
    assert np.all(engine.occupancy()[engine.lattice.layer_sites(10)] == SINK)
    # Every event is of one kind.
    assert c.events == c.stripped + c.sink_fills + c.sink_emissions + c.li_hops + c.solute_hops


def test_without_reservoir_stripping_ends_in_contact_loss():
    engine = stripping_engine(seed=4, sink=False)
    per_layer = engine.lattice.sites_per_layer
    status = engine.run(10**8, strip_rate=1e11)
    assert status == STATUS_CONTACT_LOST
    assert engine.n_contact_li == 0
    # Without a reservoir every stripped atom leaves a vacancy behind.
    assert engine.counters.stripped == int(np.count_nonzero(engine.occupancy() == VAC))
    assert engine.counters.stripped >= per_layer


def test_same_seed_reproduces_and_other_seed_differs():
    runs = []
    for seed in (7, 7, 8):
        engine = stripping_engine(seed)
        engine.run(50_000, strip_rate=3e9)
        runs.append((engine.occupancy(), engine.time, engine.counters))
    assert np.array_equal(runs[0][0], runs[1][0])
    assert runs[0][1] == runs[1][1]
    assert runs[0][2] == runs[1][2]
    assert runs[0][1] != runs[2][1]


# --------------------------------------------------------------------------- definitions


def test_voids_are_connected_clusters_of_vacant_l1_sites():
    lattice = SlabLattice("100", A, 6, 6, 4, n_shells=1)
    occ = np.full(lattice.n_sites, LI, dtype=np.int8)

    def site(i, j):  # L1 of bcc(100) is a square net with spacing a
        match = np.flatnonzero(
            np.isclose(lattice.positions[:36, 0], i * A)
            & np.isclose(lattice.positions[:36, 1], j * A)
        )
        return int(match[0])

    for i, j in [(1, 1), (1, 2), (2, 1), (2, 2)]:  # a 2x2 block: one void of 4
        occ[site(i, j)] = VAC
    for i in (5, 0, 4):  # a row through the periodic boundary: one void of 3
        occ[site(i, 4)] = VAC
    occ[site(4, 0)] = VAC  # diagonal neighbours are not connected: two single sites
    occ[site(3, 5)] = VAC
    occ[site(0, 0) + 36] = VAC  # a vacancy in L2 is not an interfacial void
    sizes = void_cluster_sizes(occ, lattice)
    assert sorted(sizes.tolist()) == [1, 1, 3, 4]
    stats = VoidStatistics.from_sizes(sizes, 36, min_void_sites=2)
    assert stats.n_voids == 2
    assert stats.mean_sites == pytest.approx(3.5)
    assert stats.void_fraction == pytest.approx(7 / 36)
    assert stats.histogram == [(1, 2), (3, 1), (4, 1)]


def test_current_density_and_capacity_conversions():
    e = 1.602176634e-19
    # 1 mA/cm^2 is 1e-3/e electrons per cm^2 and second; a bcc(100) site covers a^2.
    assert strip_rate_per_site(1.0, A**2) == pytest.approx(1e-3 / e * A**2 * 1e-16)
    # One bcc(100) monolayer: e / a^2 coulomb per cm^2, 1 mAh = 3.6 C.
    monolayer = capacity_per_atom(A**2)
    assert monolayer == pytest.approx(e / (A**2 * 1e-16) / 3.6)
    assert 3e-5 < monolayer < 5e-5


@pytest.mark.parametrize(
    ("facet", "nx", "ny", "n_layers", "periodic_z"),
    [
        ("100", 2, 3, 5, False),
        ("100", 6, 5, 9, False),
        ("110", 3, 4, 8, True),
        ("110", 5, 2, 7, False),
    ],
)
def test_offset_classes_reproduce_every_sites_neighbour_tables(facet, nx, ny, n_layers, periodic_z):
    # The kernel reads neighbours as (site + class offset), the dummy for an outside entry,
    # and which reach sites neighbour a hop target from the class. Checked site by site
    # against the lattice's own tables, including 2-cell slabs where the wrap folds.
    from anodefree.models.kmc.engine import _offset_classes

    lattice = SlabLattice(facet, 3.44, nx, ny, n_layers, n_shells=3, periodic_z=periodic_z)
    n = lattice.n_sites
    reach = lattice.shell_nbr
    field = reach[:, lattice.shell_of_slot < 2]
    layer_of = lattice.layer[:n, None] + np.zeros((1, 3), dtype=np.int64)
    cls, first, field_off, reach_off, adjacent, attrs = _offset_classes(
        lattice, field, reach, layer_of
    )
    assert first.shape[0] <= n
    sites = np.arange(n)

    def resolve(offsets: np.ndarray) -> np.ndarray:
        out = sites[:, None] + offsets[cls[:n]]
        return np.where(offsets[cls[:n]] == -(1 << 40), n, out)

    assert np.array_equal(resolve(first), lattice.nbr1[:n])
    assert np.array_equal(resolve(field_off), field[:n])
    assert np.array_equal(resolve(reach_off), reach[:n])
    nbr1 = lattice.nbr1
    expected = (reach[:n][:, None, :, None] == nbr1[nbr1[:n]][:, :, None, :]).any(-1)
    assert np.array_equal(adjacent[cls[:n]], expected)
    assert np.array_equal(attrs[cls[:n]], layer_of)


@pytest.mark.parametrize(
    ("facet", "nx", "ny", "n_layers", "periodic_z"),
    [("100", 2, 3, 5, False), ("100", 5, 4, 8, False), ("110", 3, 4, 8, True)],
)
def test_hop_tables_visit_both_reaches_once_with_the_net_field(facet, nx, ny, n_layers, periodic_z):
    # A hop of the vacancy x -> u visits u, u's reach, x and x's reach, each site once in
    # that order (the quiet sites last), and adds there the pair energy of the vacancy at u
    # minus that at x.
    # Checked for every site and slot against the lattice's own neighbour tables, with a
    # distinct pair energy per shell (V_vv) and another per shell (V_sv).
    from anodefree.models.kmc.engine import OUTSIDE, _hop_tables, _offset_classes

    lattice = SlabLattice(facet, 3.44, nx, ny, n_layers, n_shells=3, periodic_z=periodic_z)
    n = lattice.n_sites
    reach = lattice.shell_nbr
    shells = lattice.shell_of_slot
    field = reach[:, shells < 2]
    cls, first, field_off, reach_off, adjacent, _ = _offset_classes(lattice, field, reach)
    v_vv = np.array([11, 7, 5])
    v_sv = np.array([-3, 2, 13])
    n_classes = first.shape[0]
    field_vv = np.tile(v_vv[shells[shells < 2]], (n_classes, 1))
    field_sv = np.tile(v_sv[shells[shells < 2]], (n_classes, 1))
    reach_adj0 = shells == 0
    table, lengths = _hop_tables(
        cls[:n], (first, field_off, reach_off, reach_adj0, adjacent, field_vv, field_sv)
    )

    def pair(site: int, other: int, energies: np.ndarray) -> int:
        hits = np.flatnonzero(field[site] == other)
        return int(energies[shells[shells < 2][hits]].sum())

    nbr1 = lattice.nbr1
    checked = quiet_seen = 0
    for x in range(n):
        for d in range(8):
            u = int(nbr1[x, d])
            row = 8 * int(cls[x]) + d
            if u == n:
                assert first[cls[x], d] == OUTSIDE
                continue
            mentioned = []
            for site in [u, *reach[u], x, *reach[x]]:
                if site != n and site not in mentioned:
                    mentioned.append(int(site))
            # Quiet sites (no vacancy pair energy change, and neither u, x nor next to
            # them) come last; each part keeps the order of first mention.
            close = {u, x, *nbr1[u], *nbr1[x]}

            def quiet(y: int, u: int = u, x: int = x, close: set = close) -> bool:
                return pair(u, y, v_vv) == pair(x, y, v_vv) and y not in close

            loud = [y for y in mentioned if not quiet(y)]
            expected = loud + [y for y in mentioned if quiet(y)]
            assert lengths[row, 1] == len(loud)
            entries = table[row, : 4 * lengths[row, 0]].reshape(-1, 4)
            assert [x + int(o) for o in entries[:, 0]] == expected
            for (_, vv, sv, near), y in zip(entries, expected, strict=True):
                assert vv == pair(u, y, v_vv) - pair(x, y, v_vv)
                assert sv == pair(u, y, v_sv) - pair(x, y, v_sv)
                assert bool(near & 1) == (y in nbr1[u])
                assert (near >> 1) == (y in (u, x))
            checked += 1
            quiet_seen += len(expected) - len(loud)
    assert checked > 0
    assert quiet_seen > 0  # the third reach shell carries no pair energy here: quiet sites


@pytest.mark.parametrize("avx", [True, False])
def test_descent_mask_gives_the_left_sum_exactly_when_r_reaches_it(avx, monkeypatch):
    # The tree descent subtracts _taken(r, left) (left if r >= left else 0.0, computed
    # without a branch: inline assembly on x86-64, AVX or SSE2 form). Exact on ties, zeros
    # and extremes.
    import numba

    from anodefree.models.kmc import engine
    from anodefree.models.kmc.engine import _taken

    if avx and not engine._AVX:
        pytest.skip("no AVX on this machine")
    monkeypatch.setattr(engine, "_AVX", avx)

    @numba.njit
    def taken_all(r: np.ndarray, left: np.ndarray) -> np.ndarray:
        out = np.empty_like(r)
        for i in range(r.shape[0]):
            out[i] = _taken(r[i], left[i])
        return out

    rng = np.random.default_rng(5)
    left = np.concatenate([rng.random(1000), [0.0, 0.0, 1e-310, 1e300, 2.5, 2.5]])
    r = np.concatenate([rng.random(1000), [0.0, 1.0, 1e-310, 1e300, np.nextafter(2.5, 0), 3.0]])
    expected = np.where(r >= left, left, 0.0)
    assert np.array_equal(taken_all(r, left), expected)
    assert 0 < (r >= left).sum() < len(r)  # both outcomes occur
