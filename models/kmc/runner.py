"""Run the stripping KMC from an export file: set up, equilibrate, strip, sample, write.

The model reads only the export (:class:`anodefree.analysis.exports.kmc.KmcExport`); it
never touches the results store or the workflows.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from anodefree.analysis.exports.kmc import KmcExport
from anodefree.errors import ConfigError
from anodefree.models.kmc.documents import (
    AtomBookkeeping,
    KmcPerformance,
    KmcResult,
    KmcSample,
    KmcSettings,
    LatticeSummary,
)
from anodefree.models.kmc.engine import (
    LI,
    SINK,
    SOL,
    STATUS_CONTACT_LOST,
    STATUS_NAMES,
    STATUS_NO_EVENTS,
    STATUS_STRIP_TARGET,
    VAC,
    KmcEngine,
)
from anodefree.models.kmc.lattice import SlabLattice
from anodefree.models.kmc.observables import (
    VoidStatistics,
    contact_fraction,
    vacancy_profile,
    void_cluster_sizes,
)
from anodefree.models.kmc.parameters import KmcTables, compile_tables
from anodefree.models.kmc.timescale import TimescaleReport, capacity_per_atom
from anodefree.provenance import stable_hash

if TYPE_CHECKING:
    from collections.abc import Callable

CHUNK_EVENTS = 2_000_000
"""Events per kernel call between progress updates."""

PHYSICS = [
    (
        "lattice: bcc Li slab, periodic in-plane, layer L1 against the electrolyte, a Li "
        "reservoir layer (vacancy sink and source at the chemical potential of bcc Li) below the "
        "deepest simulated layer"
    ),
    (
        "energy: sum of layer vacancy formation energies + layer solute segregation energies + "
        "solute-vacancy and vacancy-vacancy pair interactions by neighbour shell (interface value "
        "for pairs touching L1 when given, else bulk)"
    ),
    (
        "rates: nu exp(-E_a/kT) with E_a = max(E_KRA + dE/2, dE, 0), dE = E(final) - E(initial): "
        "detailed balance holds exactly"
    ),
    (
        "barriers: Li-vacancy bulk barrier; near-solute barrier when a solute is a first neighbour "
        "of either end site; solute-vacancy exchange barrier; interlayer barriers L1-L2, L2-L3 as "
        "kinetically resolved barriers (taking precedence over the near-solute barrier)"
    ),
    (
        "stripping: galvanostatic, total rate S * j * A / e spread evenly over the Li atoms of L1; "
        "solute atoms are not stripped; the run stops when L1 holds no Li"
    ),
    "algorithm: rejection-free n-fold way (BKL) with a binary sum tree over active sites",
]


@dataclass
class RunProgress:
    """What a progress callback receives after each kernel call."""

    stripped: int
    target: int
    monolayers: float
    events: int
    simulated_time: float
    contact_fraction: float
    wall_time: float


def fermi_layer_occupancy(energies: np.ndarray, kT: float, mu: float = 0.0) -> np.ndarray:
    """Occupation probability 1 / (1 + exp((E - mu)/kT)) of non-interacting sites.

    Parameters
    ----------
    energies
        Site energies in eV.
    kT
        Thermal energy in eV.
    mu
        Chemical potential in eV.

    Returns
    -------
    numpy.ndarray
        Probabilities.
    """
    argument = np.clip((energies - mu) / kT, -700.0, 700.0)
    return 1.0 / (1.0 + np.exp(argument))


def _place_count(
    rng: np.random.Generator, candidates_by_layer: list[np.ndarray], counts: np.ndarray
) -> np.ndarray:
    chosen = [
        rng.choice(sites, size=int(count), replace=False)
        for sites, count in zip(candidates_by_layer, counts, strict=True)
        if count > 0
    ]
    return np.concatenate(chosen) if chosen else np.zeros(0, dtype=np.int64)


def initial_occupancy(
    lattice: SlabLattice,
    tables: KmcTables,
    *,
    n_active: int,
    sink: bool,
    solute_fraction: float,
    solute_init: str,
    vacancy_init: str,
    rng: np.random.Generator,
) -> np.ndarray:
    """Build the starting configuration: solutes, thermal vacancies, reservoir layer.

    Parameters
    ----------
    lattice
        The slab (with the reservoir layer last when ``sink``).
    tables
        Compiled energetics.
    n_active
        Simulated layers above the reservoir.
    sink
        Whether the last layer is the reservoir.
    solute_fraction
        Solute atomic fraction of the simulated layers.
    solute_init
        ``"equilibrium"``: each layer holds the Fermi-Dirac fraction of its segregation
        energy at the solute chemical potential of the alloy with ``solute_fraction`` far from
        the interface (the count rounded at random); ``"random"``: that fraction everywhere.
    vacancy_init
        ``"equilibrium"`` (each non-solute site vacant with the Fermi-Dirac probability of
        its layer formation energy) or ``"none"``.
    rng
        Random generator.

    Returns
    -------
    numpy.ndarray
        Occupancy codes of every site.
    """
    occ = np.full(lattice.n_sites, LI, dtype=np.int8)
    if sink:
        occ[lattice.layer_sites(lattice.n_layers - 1)] = SINK
    per_layer = lattice.sites_per_layer
    layers = [lattice.layer_sites(i) for i in range(n_active)]
    if solute_fraction > 0:
        if solute_init == "random":
            expected = np.full(n_active, solute_fraction * per_layer)
        else:
            # Exchange equilibrium with the alloy far from the interface, where the solute
            # fraction is the nominal one: the chemical potential mu of the solute (relative to
            # Li) makes a layer without segregation energy hold exactly that fraction.
            mu = tables.kT * np.log(solute_fraction / (1.0 - solute_fraction))
            energies = tables.segregation_by_layer[:n_active]
            expected = per_layer * fermi_layer_occupancy(energies, tables.kT, mu)
        whole = np.floor(expected)
        counts = (whole + (rng.random(n_active) < expected - whole)).astype(np.int64)
        occ[_place_count(rng, layers, np.minimum(counts, per_layer))] = SOL
    if vacancy_init == "equilibrium":
        probability = fermi_layer_occupancy(tables.formation_by_layer[:n_active], tables.kT, 0.0)
        for index, sites in enumerate(layers):
            lithium = sites[occ[sites] == LI]
            occ[lithium[rng.random(len(lithium)) < probability[index]]] = VAC
    return occ


class KmcRun:
    """One stripping run: lattice, compiled tables, engine and the sampled results.

    Parameters
    ----------
    export
        The KMC parameter document.
    settings
        Run settings.
    export_file
        Where the export was read from (recorded in the result).
    """

    def __init__(
        self, export: KmcExport, settings: KmcSettings, export_file: str | None = None
    ) -> None:
        self.export = export
        self.settings = settings
        self.export_file = export_file
        solute = export.solute
        fraction = settings.solute_fraction
        if fraction is None:
            fraction = solute.atomic_fraction if solute is not None else 0.0
        if fraction > 0 and solute is None:
            raise ConfigError(
                f"solute_fraction={fraction} but the export of {export.system!r} has no solute"
            )
        self.solute_fraction = fraction
        with_solute = fraction > 0
        self.n_active = settings.n_layers
        n_total = settings.n_layers + (1 if settings.sink else 0)
        self.tables = compile_tables(
            export,
            temperature=settings.temperature,
            n_layers=n_total,
            with_solute=with_solute,
            strict=settings.strict,
        )
        facet = settings.facet or export.metal_facet
        if facet != export.metal_facet:
            self.tables.assumptions.append(
                f"the slab exposes bcc({facet}) but the export's layer energies were computed "
                f"for bcc({export.metal_facet})"
            )
        self.lattice = SlabLattice(
            facet,
            export.lattice_constant.value,
            settings.nx,
            settings.ny,
            n_total,
            n_shells=max(self.tables.n_shells, 1),
        )
        self.engine = KmcEngine(self.lattice, self.tables, sink=settings.sink, seed=settings.seed)
        rng = np.random.default_rng(settings.seed)
        occ = initial_occupancy(
            self.lattice,
            self.tables,
            n_active=self.n_active,
            sink=settings.sink,
            solute_fraction=fraction,
            solute_init=settings.solute_init,
            vacancy_init=settings.vacancy_init,
            rng=rng,
        )
        self.engine.set_configuration(occ)
        self.capacity_per_atom = capacity_per_atom(self.lattice.area)
        self.target_atoms = max(1, math.ceil(settings.capacity / self.capacity_per_atom))
        self.strip_rate = (
            settings.acceleration
            * settings.current_density
            * 1e-3
            * self.lattice.area
            * 1e-16
            / 1.602176634e-19
        )
        self.timescale = TimescaleReport.build(
            lattice=self.lattice,
            tables=self.tables,
            n_active_layers=self.n_active,
            current_density=settings.current_density,
            acceleration=settings.acceleration,
            capacity=settings.capacity,
        )
        self.samples: list[KmcSample] = []
        self.snapshots: list[tuple[float, np.ndarray]] = []
        self.events_total = 0
        self.stripped_offset = 0

    # ------------------------------------------------------------------ sampling

    def _atoms(self) -> int:
        occ = self.engine.occupancy()[: self.n_active * self.lattice.sites_per_layer]
        return int(np.count_nonzero((occ == LI) | (occ == SOL)))

    def sample(self) -> KmcSample:
        """Record the current state as a sample."""
        occ = self.engine.occupancy()
        counters = self.engine.counters
        integral, elapsed = self.engine.take_time_average()
        per_layer = self.lattice.sites_per_layer
        average = (
            integral[: self.n_active] / (elapsed * per_layer)
            if elapsed > 0
            else vacancy_profile(occ, self.lattice, self.n_active)
        )
        sizes = void_cluster_sizes(occ, self.lattice)
        voids = VoidStatistics.from_sizes(sizes, per_layer, self.settings.min_void_sites)
        profile = vacancy_profile(occ, self.lattice, self.n_active)
        sample = KmcSample(
            capacity=counters.stripped * self.capacity_per_atom,
            monolayers=counters.stripped / per_layer,
            time=self.engine.time,
            events=self.events_total + counters.events,
            contact_fraction=contact_fraction(occ, self.lattice),
            n_voids=voids.n_voids,
            mean_void_sites=voids.mean_sites,
            max_void_sites=voids.max_sites,
            void_fraction=voids.void_fraction,
            void_size_histogram=voids.histogram,
            n_vacancies=int(np.count_nonzero(occ[: self.n_active * per_layer] == VAC)),
            vacancy_fraction_by_layer=[float(v) for v in profile],
            vacancy_fraction_by_layer_average=[float(v) for v in average],
            solute_fraction_l1=float(np.mean(occ[:per_layer] == SOL))
            if self.solute_fraction > 0
            else None,
        )
        self.samples.append(sample)
        return sample

    def _snapshot(self) -> None:
        occ = self.engine.occupancy()
        two_layers = occ[: 2 * self.lattice.sites_per_layer].copy()
        self.snapshots.append((self.engine.counters.stripped * self.capacity_per_atom, two_layers))

    # ------------------------------------------------------------------ running

    def run(self, progress: Callable[[RunProgress], None] | None = None) -> KmcResult:
        """Equilibrate, strip to the target capacity and return the result document.

        Parameters
        ----------
        progress
            Called after every kernel call with a :class:`RunProgress`.

        Returns
        -------
        KmcResult
            The result (not yet written to disk).
        """
        settings = self.settings
        start = time.perf_counter()
        if settings.equilibration_events:
            self.engine.run(settings.equilibration_events)
            self.events_total = self.engine.counters.events
            # Time and counters restart at the beginning of stripping.
            self.engine.set_configuration(self.engine.occupancy())
        initial_atoms = self._atoms()
        self.sample()
        snapshot_at = set(
            np.linspace(0, settings.n_samples, settings.n_snapshots).round().astype(int).tolist()
            if settings.n_snapshots
            else []
        )
        if 0 in snapshot_at:
            self._snapshot()
        targets = np.linspace(0, self.target_atoms, settings.n_samples + 1).round().astype(int)[1:]
        index = 0
        stop_reason = "target capacity reached"
        completed = True
        while index < len(targets):
            events_done = self.events_total + self.engine.counters.events
            budget = min(CHUNK_EVENTS, settings.max_events - events_done)
            if budget <= 0:
                stop_reason, completed = "event budget (max_events) used", False
                break
            status = self.engine.run(
                budget, strip_rate=self.strip_rate, stop_stripped=int(targets[index])
            )
            wall = time.perf_counter() - start
            if progress is not None:
                progress(
                    RunProgress(
                        stripped=self.engine.counters.stripped,
                        target=self.target_atoms,
                        monolayers=self.engine.counters.stripped / self.lattice.sites_per_layer,
                        events=self.events_total + self.engine.counters.events,
                        simulated_time=self.engine.time,
                        contact_fraction=self.engine.n_contact_li / self.lattice.sites_per_layer,
                        wall_time=wall,
                    )
                )
            if status == STATUS_STRIP_TARGET:
                index += 1
                self.sample()
                if index in snapshot_at:
                    self._snapshot()
            elif status in (STATUS_CONTACT_LOST, STATUS_NO_EVENTS):
                self.sample()
                self._snapshot()
                stop_reason, completed = STATUS_NAMES[status], False
                break
            if settings.max_wall_seconds is not None and wall > settings.max_wall_seconds:
                self.sample()
                stop_reason, completed = "wall-time budget (max_wall_seconds) used", False
                break
        wall = time.perf_counter() - start
        return self._result(initial_atoms, stop_reason, completed, wall)

    def _result(
        self, initial_atoms: int, stop_reason: str, completed: bool, wall: float
    ) -> KmcResult:
        counters = self.engine.counters
        final_atoms = self._atoms()
        balance = initial_atoms + counters.sink_fills - counters.sink_emissions - counters.stripped
        timescale = self.timescale.model_copy(
            update={
                "simulated_time": self.engine.time,
                "real_time_coverage": self.engine.time
                / (
                    counters.stripped
                    * self.capacity_per_atom
                    * 3600.0
                    / self.settings.current_density
                )
                if counters.stripped
                else 0.0,
            }
        )
        events = self.events_total + counters.events
        lattice = self.lattice
        return KmcResult(
            system=self.export.system,
            export_file=self.export_file,
            export_fingerprint=stable_hash(
                self.export.model_dump(mode="json", exclude={"created_at"})
            ),
            export_job_ids=self.export.job_ids(),
            calculator=self.export.calculator,
            solute=self.export.solute.element if self.solute_fraction > 0 else None,
            solute_fraction=self.solute_fraction,
            settings=self.settings,
            lattice=LatticeSummary(
                facet=lattice.facet,
                lattice_constant=lattice.lattice_constant,
                nx=lattice.nx,
                ny=lattice.ny,
                n_layers=self.n_active,
                reservoir_layer=self.settings.sink,
                sites_per_layer=lattice.sites_per_layer,
                n_sites=lattice.n_sites,
                area=lattice.area / 100.0,
                area_per_site=lattice.area_per_site,
                layer_spacing=lattice.layer_spacing,
                monolayer_capacity=self.capacity_per_atom * lattice.sites_per_layer,
            ),
            physics=PHYSICS,
            assumptions=self.tables.assumptions,
            timescale=timescale,
            samples=self.samples,
            bookkeeping=AtomBookkeeping(
                initial_atoms=initial_atoms,
                stripped=counters.stripped,
                from_reservoir=counters.sink_fills,
                to_reservoir=counters.sink_emissions,
                final_atoms=final_atoms,
                balanced=balance == final_atoms,
            ),
            stop_reason=stop_reason,
            completed=completed,
            performance=KmcPerformance(
                events=events, wall_time=wall, events_per_second=events / wall if wall > 0 else 0.0
            ),
        )

    def write_snapshots(self, path: Path) -> Path:
        """Write the L1/L2 occupancy snapshots with the in-plane positions (npz)."""
        per_layer = self.lattice.sites_per_layer
        capacities = np.array([c for c, _ in self.snapshots])
        occupancy = (
            np.stack([o for _, o in self.snapshots])
            if self.snapshots
            else np.zeros((0, 2 * per_layer), dtype=np.int8)
        )
        np.savez_compressed(
            path,
            capacity=capacities,
            occupancy=occupancy,
            positions_l1=self.lattice.positions[:per_layer, :2],
            positions_l2=self.lattice.positions[per_layer : 2 * per_layer, :2],
            cell=np.array(self.lattice.cell_lengths),
            inplane_distance=self.lattice.inplane_distance,
            codes=np.array([VAC, LI, SOL]),
        )
        return path


def run_kmc(
    export: KmcExport | str | Path,
    settings: KmcSettings,
    *,
    output_dir: str | Path | None = None,
    progress: Callable[[RunProgress], None] | None = None,
    plots: bool = True,
) -> KmcResult:
    """Run the stripping KMC and (optionally) write result, snapshots and plots.

    Parameters
    ----------
    export
        The export document or the path of its JSON file.
    settings
        Run settings.
    output_dir
        Folder for ``kmc_result.json``, ``kmc_snapshots.npz`` and the plots; None: nothing
        is written.
    progress
        Progress callback.
    plots
        Write the plots (needs ``output_dir``).

    Returns
    -------
    KmcResult
        The result document.
    """
    export_file = None
    if not isinstance(export, KmcExport):
        export_file = str(export)
        export = KmcExport.read(export)
    run = KmcRun(export, settings, export_file=export_file)
    result = run.run(progress)
    if output_dir is not None:
        folder = Path(output_dir)
        folder.mkdir(parents=True, exist_ok=True)
        run.write_snapshots(folder / "kmc_snapshots.npz")
        result = result.model_copy(update={"snapshots_file": "kmc_snapshots.npz"})
        result.write(folder / "kmc_result.json")
        if plots:
            from anodefree.models.kmc.plots import write_all_plots

            write_all_plots(result, folder)
    return result
