"""Build the KMC parameter file of one system from the documents in a results store.

Field by field, where every number of a :class:`~anodefree.analysis.exports.kmc.KmcExport`
comes from (all energies of one calculator; the job ids of every number are kept):

==========================================  ==============================================
KMC field                                   source document and entry
==========================================  ==============================================
lattice_constant                            InterfaceDefectDocument.lattice_constant (the
                                            relaxed bcc Li; job: chemical_potential_job_uuid)
vacancy.formation_by_layer[L]               InterfaceDefectDocument.vacancy_profile, layer L
                                            (not the interior), L = 1, 2, ... without gaps
vacancy.formation_bulk                      the profile's *interior* layer (the film's
                                            bulk-like middle layer, same cell and strain as
                                            the layer energies; the bcc value is in a note)
vacancy.divacancy_binding_bulk[k]           InterfaceDefectDocument.divacancies 'bulk',
                                            binding = -E_b (positive = bound)
vacancy.divacancy_binding_interface[k]      divacancies 'interface' (L1-L1: bcc shell 2,
                                            L1-L2: bcc shell 1 of the (100) lattice)
solute.atomic_fraction                      the interface preset's nominal solute fraction
                                            (supplied, not computed; can be overridden)
solute.segregation_by_layer[L]              InterfaceDefectDocument.segregation (not interior)
solute.vacancy_interaction_bulk[k]          SoluteVacancyDocument.shells[k].binding_energy
solute.vacancy_interaction_interface[k]     InterfaceDefectDocument.interaction: in-layer
                                            shell 1, 2, 3 of L1 -> bcc shell 2, 3, 6
barriers.li_vacancy_bulk                    MigrationBarrierDocument kind 'self'
barriers.li_vacancy_near_solute             kind 'dissociation' of the solute: the mean of
                                            forward and reverse (kinetically resolved)
barriers.solute_vacancy_exchange            kind 'exchange' of the solute
barriers.interlayer                         kind 'interface' hops of the *pure* interface of
                                            the same electrolyte (Li/Li2S for all three
                                            systems): forward and reverse barriers
attempt_frequencies.li                      the 'self' hop's forward attempt frequency
                                            (Vineyard; the hop's Einstein frequency when the
                                            Vineyard prefactor was rejected, noted)
attempt_frequencies.solute                  the 'exchange' hop's forward attempt frequency
==========================================  ==============================================

Optional inputs that no stored document gives are left out (the KMC model then uses the
fallback that :meth:`KmcExport.missing_inputs` documents) and named in the export's
notes; with ``strict=True`` they are errors. Required inputs that are missing raise one
:class:`~anodefree.analysis.exports.kmc.MissingKmcInputError` listing every one of them and
the campaign stage (preset section) that produces it.

By default every document comes from one run: the latest run that holds the system's
:class:`InterfaceDefectDocument`, or the run given. ``across_runs=True`` also takes
documents of other runs, only those whose calculator fingerprint equals that of the
interface-defect document; mixing calculators raises
:class:`~anodefree.errors.MixedCalculatorError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from anodefree.analysis.exports.kmc import (
    KmcExport,
    KmcExportError,
    MissingKmcInputError,
    bcc_shell_distances,
)
from anodefree.analysis.exports.stored import StoredDocument, stored_documents
from anodefree.provenance import require_same_calculator
from anodefree.structures.interface_systems import SYSTEMS, get_system

if TYPE_CHECKING:
    from collections.abc import Sequence

    from jobflow import JobStore

    from anodefree.analysis.documents.interface_defects import InterfaceDefectDocument
    from anodefree.analysis.documents.migration import MigrationBarrierDocument

THZ = 1e12
"""Hz per THz."""

#: bcc neighbour shell of the k-th in-layer neighbour shell of a bcc(100) layer: in-plane
#: distances a, sqrt(2) a, 2 a, sqrt(5) a are the bcc shells 2, 3, 6 and 7.
IN_LAYER_SHELL_100 = {1: 2, 2: 3, 3: 6, 4: 7}
#: bcc shell of the nearest pair of each interface divacancy on bcc(100).
DIVACANCY_SHELL_100 = {"L1-L1": 2, "L1-L2": 1}

_DEFECTS = "interface-defect stage (campaign section `interface_defects`, {system} in `systems`)"
_WHERE = {
    "lattice_constant": _DEFECTS,
    "vacancy.formation_by_layer": _DEFECTS + ", `profile_layers`",
    "vacancy.formation_bulk": _DEFECTS + " (its interior layer)",
    "vacancy.divacancy_binding_bulk": "`interface_defects.divacancy_bulk_shells`",
    "vacancy.divacancy_binding_interface": "`interface_defects.divacancy_interface`",
    "solute.segregation_by_layer": "`interface_defects.segregation_layers`",
    "solute.vacancy_interaction_interface": "`interface_defects.interaction_shells` > 0",
    "solute.vacancy_interaction_bulk": "solute-vacancy stage (`solute_vacancy.solutes` with "
    "{solute})",
    "barriers.li_vacancy_bulk": "migration stage (campaign section `migration`)",
    "barriers.li_vacancy_near_solute": "migration stage, `migration.dissociation_shell` not "
    "null and {solute} in `migration.solutes`",
    "barriers.solute_vacancy_exchange": "migration stage, {solute} in `migration.solutes`",
    "barriers.interlayer": "migration stage, {pure} in `migration.interface_systems`",
    "attempt_frequencies.li": "migration stage, `migration.attempt_frequency` not null and "
    "'self' in `attempt_frequency_kinds`",
    "attempt_frequencies.solute": "migration stage, 'exchange' in "
    "`migration.attempt_frequency_kinds`",
}


@dataclass
class KmcSources:
    """The stored documents one KMC export is built from."""

    system: str
    defects: StoredDocument | None
    hops: list[StoredDocument] = field(default_factory=list)
    solute_vacancy: StoredDocument | None = None
    run_id: str | None = None
    ignored: list[str] = field(default_factory=list)

    def all_documents(self) -> list[StoredDocument]:
        """Every document the export may use."""
        found = [self.defects, self.solute_vacancy, *self.hops]
        return [d for d in found if d is not None]


def pure_system(system: str) -> str:
    """Return the pure-Li interface preset with the same electrolyte and facet as ``system``."""
    spec = get_system(system)
    for other in SYSTEMS.values():
        if (
            other.solute is None
            and other.film == spec.film
            and other.substrate == spec.substrate
            and other.film_miller == spec.film_miller
            and other.substrate_miller == spec.substrate_miller
        ):
            return other.name
    return system


def _needed_hop(hop: MigrationBarrierDocument, system: str) -> bool:
    spec = get_system(system)
    if hop.kind == "self":
        return hop.moving_species == "Li"
    if hop.kind in ("exchange", "dissociation"):
        return spec.solute is not None and hop.solute == spec.solute
    if hop.kind == "interface":
        return hop.system == pure_system(system) and hop.solute is None
    return False


def _hop_key(hop: MigrationBarrierDocument) -> tuple:
    if hop.kind == "interface":
        meta = hop.metadata
        return ("interface", meta.get("from_layer"), meta.get("to_layer"))
    return (hop.kind, hop.solute)


def collect_kmc_sources(
    store: JobStore, system: str, *, run_id: str | None = None, across_runs: bool = False
) -> KmcSources:
    """Find the documents of one system's KMC export in a store.

    Parameters
    ----------
    store
        A connected JobStore.
    system
        Interface preset, e.g. ``"Li-Mg/Li2S"``.
    run_id
        The run to read (default: the latest run holding the system's interface-defect
        document).
    across_runs
        Also take documents of other runs computed with the same calculator (the newest of
        each kind).

    Returns
    -------
    KmcSources
        The documents found (missing ones are None or absent).
    """
    spec = get_system(system)
    defects = stored_documents(
        store, "InterfaceDefectDocument", run_id=run_id, criteria={"output.system": system}
    )
    anchor = defects[0] if defects else None
    run = run_id or (anchor.run_id if anchor else None)
    sources = KmcSources(system=system, defects=anchor, run_id=run)
    scope = None if across_runs else run
    if scope is None and not across_runs:
        return sources
    fingerprint = anchor.fingerprint if anchor is not None else None

    def usable(item: StoredDocument, what: str) -> bool:
        if not across_runs or fingerprint is None or item.fingerprint == fingerprint:
            return True
        sources.ignored.append(
            f"{what} of run {item.run_id} ({item.document.calculator.label}): another "
            "calculator, not mixed"
        )
        return False

    seen: set[tuple] = set()
    for item in stored_documents(store, "MigrationBarrierDocument", run_id=scope):
        hop = item.document
        if not _needed_hop(hop, system) or _hop_key(hop) in seen:
            continue
        if usable(item, f"hop {hop.hop!r}"):
            seen.add(_hop_key(hop))
            sources.hops.append(item)
    if spec.solute is not None:
        for item in stored_documents(
            store, "SoluteVacancyDocument", run_id=scope, criteria={"output.solute": spec.solute}
        ):
            if usable(item, f"{spec.solute}-vacancy document"):
                sources.solute_vacancy = item
                break
    return sources


def build_kmc_export(
    store: JobStore,
    system: str,
    *,
    run_id: str | None = None,
    across_runs: bool = False,
    solute_fraction: float | None = None,
    strict: bool = False,
) -> KmcExport:
    """Build the KMC parameter file of ``system`` from a results store.

    Parameters
    ----------
    store
        A connected JobStore.
    system
        Interface preset: ``"Li/Li2S"``, ``"Li-Mg/Li2S"`` or ``"Li-Ag/Li2S"``.
    run_id
        The run to read (default: the latest run holding the system's documents).
    across_runs
        Also use documents of other runs with the same calculator fingerprint.
    solute_fraction
        Nominal solute atomic fraction; default: the interface preset's.
    strict
        Refuse to leave out optional inputs (the model's fallbacks).

    Returns
    -------
    KmcExport
        The validated export (``source='workflow'``, job ids on every number).

    Raises
    ------
    MissingKmcInputError
        Naming every missing input and the stage that produces it.
    MixedCalculatorError
        If the documents come from different calculators or settings.
    """
    sources = collect_kmc_sources(store, system, run_id=run_id, across_runs=across_runs)
    return kmc_export_from_sources(sources, solute_fraction=solute_fraction, strict=strict)


class _Builder:
    """Collects the payload, the notes and the missing inputs of one export."""

    def __init__(self, sources: KmcSources) -> None:
        self.sources = sources
        self.spec = get_system(sources.system)
        self.missing: list[str] = []
        self.optional: list[str] = []
        self.notes: list[str] = []

    def where(self, path: str) -> str:
        return _WHERE[path].format(
            system=self.sources.system,
            solute=self.spec.solute,
            pure=pure_system(self.sources.system),
        )

    def lack(self, path: str, *, required: bool, effect: str = "") -> None:
        text = f"{path} (from the {self.where(path)})"
        if required:
            self.missing.append(text)
        else:
            self.optional.append(text)
            self.notes.append(f"not computed: {text}; the model: {effect}")


def _ids(*groups: Sequence[str | None] | str | None) -> list[str]:
    out: list[str] = []
    for group in groups:
        items = [group] if isinstance(group, str) or group is None else list(group)
        out += [i for i in items if i and i not in out]
    return out


def _flag(warnings: Sequence[str]) -> str:
    return f"FLAGGED: {'; '.join(warnings)}" if warnings else ""


def _quantity(value: float, ids: list[str], note: str = "") -> dict[str, Any]:
    return {"value": float(value), "source_job_ids": ids, "note": note or None}


def _defect_fields(b: _Builder, payload: dict[str, Any]) -> None:  # noqa: C901, PLR0912, PLR0915 - a flat field-by-field mapping
    item = b.sources.defects
    if item is None:
        for path in ("lattice_constant", "vacancy.formation_by_layer", "vacancy.formation_bulk"):
            b.lack(path, required=True)
        return
    doc: InterfaceDefectDocument = item.document
    here = item.job_uuid
    payload["lattice_constant"] = _quantity(
        doc.lattice_constant,
        _ids(doc.chemical_potential_job_uuid, here),
        "relaxed bcc Li of the interface-defect stage",
    )
    layers = sorted((p for p in doc.vacancy_profile if not p.interior), key=lambda p: p.layer)
    profile = []
    for expected, entry in enumerate(layers, start=1):
        if entry.layer != expected:
            b.notes.append(
                f"vacancy profile stops at L{expected - 1}: L{expected} is missing (failed); "
                f"L{entry.layer} and deeper are not used"
            )
            break
        note = f"{entry.supercell[0]}x{entry.supercell[1]} cell, {entry.n_free} atoms relaxed"
        if not entry.converged:
            note = "FLAGGED: not converged; " + note
        profile.append(
            {
                "layer": entry.layer,
                **_quantity(entry.formation_energy, _ids(entry.job_uuids, here), note),
            }
        )
    interior = next((p for p in doc.vacancy_profile if p.interior), None)
    if not profile:
        b.lack("vacancy.formation_by_layer", required=True)
    if interior is None:
        b.lack("vacancy.formation_bulk", required=True)
    else:
        bulk_note = f"interior layer L{interior.layer} of the film (bulk-like reference)"
        if doc.bulk_formation_energy is not None:
            bulk_note += (
                f"; bcc bulk E_f = {doc.bulk_formation_energy:.4f} eV (interior - bulk = "
                f"{doc.interior_minus_bulk:+.4f} eV, strain and thickness)"
            )
        if not interior.converged:
            bulk_note = "FLAGGED: not converged; " + bulk_note
        payload["vacancy"]["formation_bulk"] = _quantity(
            interior.formation_energy, _ids(interior.job_uuids, here), bulk_note
        )
    payload["vacancy"]["formation_by_layer"] = profile

    a = doc.lattice_constant
    radii = bcc_shell_distances(a, 12)
    bulk_pairs, interface_pairs = [], []
    for pair in doc.divacancies:
        if pair.where == "bulk":
            shell = pair.bcc_shell
            target = bulk_pairs
        else:
            shell = DIVACANCY_SHELL_100.get(pair.name) if b.spec.film_miller == (1, 0, 0) else None
            target = interface_pairs
        if shell is None:
            b.notes.append(
                f"divacancy {pair.name!r} ({pair.distance:.2f} A) has no bcc shell: not used"
            )
            continue
        if any(p["shell"] == shell for p in target):
            continue
        note = f"{pair.name}, {pair.distance:.3f} A in the unrelaxed cell"
        if not pair.converged:
            note = "FLAGGED: not converged; " + note
        target.append(
            {
                "shell": shell,
                "distance": radii[shell - 1] if pair.where == "bulk" else pair.distance,
                **_quantity(-pair.binding_energy, _ids(pair.job_uuids, here), note),
            }
        )
    payload["vacancy"]["divacancy_binding_bulk"] = sorted(bulk_pairs, key=lambda p: p["shell"])
    payload["vacancy"]["divacancy_binding_interface"] = sorted(
        interface_pairs, key=lambda p: p["shell"]
    )
    if not bulk_pairs:
        b.lack("vacancy.divacancy_binding_bulk", required=False, effect="vacancy pairs do not bind")
    if not interface_pairs:
        b.lack(
            "vacancy.divacancy_binding_interface",
            required=False,
            effect="falls back to the bulk divacancy binding",
        )
    b.notes += [f"flagged input (InterfaceDefectDocument {doc.system}): {w}" for w in doc.warnings]


def _solute_fields(  # noqa: C901 - a flat field-by-field mapping
    b: _Builder, payload: dict[str, Any], solute_fraction: float | None
) -> None:
    solute = b.spec.solute
    if solute is None:
        return
    fraction = b.spec.solute_fraction if solute_fraction is None else solute_fraction
    b.notes.append(
        f"solute.atomic_fraction = {fraction:g}: "
        + (
            "the interface preset's nominal fraction (supplied, not computed)"
            if solute_fraction is None
            else "supplied by the user (not computed)"
        )
    )
    entry: dict[str, Any] = {
        "element": solute,
        "atomic_fraction": fraction,
        "segregation_by_layer": [],
        "vacancy_interaction_bulk": [],
        "vacancy_interaction_interface": [],
    }
    payload["solute"] = entry
    item = b.sources.defects
    if item is not None:
        doc: InterfaceDefectDocument = item.document
        for seg in sorted((s for s in doc.segregation if not s.interior), key=lambda s: s.layer):
            note = "FLAGGED: not converged" if not seg.converged else ""
            entry["segregation_by_layer"].append(
                {
                    "layer": seg.layer,
                    **_quantity(seg.segregation_energy, _ids(seg.job_uuids, item.job_uuid), note),
                }
            )
        for inter in sorted(doc.interaction, key=lambda i: i.shell):
            shell = IN_LAYER_SHELL_100.get(inter.shell) if b.spec.film_miller == (1, 0, 0) else None
            if shell is None:
                b.notes.append(
                    f"interface interaction at in-layer shell {inter.shell}: no bcc shell, not used"
                )
                continue
            note = (
                f"vacancy and {solute} both in L1, in-layer shell {inter.shell} "
                f"({inter.distance:.3f} A unrelaxed)"
            )
            if not inter.converged:
                note = "FLAGGED: not converged; " + note
            entry["vacancy_interaction_interface"].append(
                {
                    "shell": shell,
                    "distance": inter.distance,
                    **_quantity(
                        inter.interaction_energy, _ids(inter.job_uuids, item.job_uuid), note
                    ),
                }
            )
    if not entry["segregation_by_layer"]:
        b.lack(
            "solute.segregation_by_layer",
            required=False,
            effect="solute energy taken equal in every layer",
        )
    if not entry["vacancy_interaction_interface"]:
        b.lack(
            "solute.vacancy_interaction_interface",
            required=False,
            effect="falls back to the bulk solute-vacancy interaction",
        )
    bulk = b.sources.solute_vacancy
    if bulk is None:
        b.lack("solute.vacancy_interaction_bulk", required=True)
        return
    doc_sv = bulk.document
    for shell in sorted(doc_sv.shells, key=lambda s: s.shell):
        note = f"{doc_sv.n_atoms}-site bcc supercell, {shell.distance:.3f} A unrelaxed"
        if not shell.converged:
            note = "FLAGGED: not converged; " + note
        entry["vacancy_interaction_bulk"].append(
            {
                "shell": shell.shell,
                "distance": shell.distance,
                **_quantity(shell.binding_energy, _ids(shell.job_uuid, bulk.job_uuid), note),
            }
        )
    b.notes += [
        f"flagged input (SoluteVacancyDocument {doc_sv.solute}): {w}" for w in doc_sv.warnings
    ]


def _hop_ids(item: StoredDocument) -> list[str]:
    return _ids(list(item.document.job_uuids.values()), item.job_uuid)


def _hop_note(hop: MigrationBarrierDocument, text: str = "") -> str:
    parts = [text] if text else []
    parts.append(f"NEB {hop.n_atoms} atoms, fmax {hop.neb_settings.fmax} eV/A")
    flag = _flag(hop.warnings)
    return "; ".join([flag, *parts] if flag else parts)


def _frequency(
    b: _Builder, item: StoredDocument | None, path: str, *, required: bool, effect: str = ""
) -> dict[str, Any] | None:
    if item is None:
        b.lack(path, required=required, effect=effect)
        return None
    hop: MigrationBarrierDocument = item.document
    ids = _ids([v for k, v in hop.job_uuids.items() if k.startswith("modes")], item.job_uuid)
    if hop.attempt_frequency_forward is not None:
        method = hop.attempt_frequency_method or "vineyard"
        return _quantity(hop.attempt_frequency_forward * THZ, ids, f"{method}, {hop.hop}")
    if hop.einstein_frequency is not None:
        b.notes.append(
            f"{path}: the Vineyard prefactor of {hop.hop!r} is unavailable or was rejected; "
            "the hop's 1D Einstein frequency is used (the migration documents' fallback)"
        )
        return _quantity(
            hop.einstein_frequency * THZ, ids, f"FLAGGED: Einstein fallback, {hop.hop}"
        )
    b.lack(path, required=required, effect=effect)
    return None


def _interlayer_barriers(
    b: _Builder, by_kind: dict[tuple, StoredDocument], pure: str, layers: dict[int, float]
) -> list[dict[str, Any]]:
    """Forward/reverse barriers of the usable interface hops; the others are named.

    ``layers`` (E_f by layer of the export) gives each kept hop a note comparing its own
    reaction energy with the layer-energy difference the model uses for its end states.
    """
    out = []
    for key, item in sorted(
        ((k, v) for k, v in by_kind.items() if k[0] == "interface"), key=lambda kv: kv[0][1:]
    ):
        hop = item.document
        start, end = key[1], key[2]
        if start is None or end is None:
            continue
        if not hop.usable_barrier:
            mismatch, moved = hop.endpoint_mismatch, hop.hop_distance
            b.notes.append(
                f"barriers.interlayer: {hop.hop} left out (NEB converged: {hop.neb_converged}, "
                f"endpoints converged: {hop.endpoints_converged}, largest endpoint mismatch "
                + ("unknown" if mismatch is None else f"{mismatch:.2f} A")
                + ", hopping atom moved "
                + ("unknown" if moved is None else f"{moved:.2f} A")
                + f" of the {hop.jump_length:.2f} A jump)"
            )
            continue
        text = f"{hop.hop} (pure {pure} interface cell)"
        if start in layers and end in layers:
            difference = layers[end] - layers[start]
            gap = 1000 * (hop.reaction_energy - difference)
            b.notes.append(
                f"barriers.interlayer: {hop.hop}: reaction energy {hop.reaction_energy:+.4f} "
                f"eV vs E_f(L{end}) - E_f(L{start}) = {difference:+.4f} eV of the layer "
                f"profile, used for the end states ({gap:+.1f} meV: the hop's site pair vs "
                "each layer's lowest site)"
            )
        out.append(
            {
                "from_layer": start,
                "to_layer": end,
                "forward": _quantity(hop.forward_barrier, _hop_ids(item), _hop_note(hop, text)),
                "reverse": _quantity(hop.reverse_barrier, _hop_ids(item), _hop_note(hop, text)),
            }
        )
    return out


def _barrier_fields(b: _Builder, payload: dict[str, Any]) -> None:  # noqa: C901, PLR0912 - a flat field-by-field mapping
    by_kind: dict[tuple, StoredDocument] = {}
    for item in b.sources.hops:
        by_kind.setdefault(_hop_key(item.document), item)
    solute = b.spec.solute
    barriers: dict[str, Any] = {"interlayer": []}
    payload["barriers"] = barriers
    self_hop = by_kind.get(("self", None))
    if self_hop is None:
        b.lack("barriers.li_vacancy_bulk", required=True)
    else:
        hop = self_hop.document
        barriers["li_vacancy_bulk"] = _quantity(
            hop.forward_barrier, _hop_ids(self_hop), _hop_note(hop, hop.hop)
        )
    frequencies: dict[str, Any] = {}
    payload["attempt_frequencies"] = frequencies
    li_nu = _frequency(b, self_hop, "attempt_frequencies.li", required=True)
    if li_nu is not None:
        frequencies["li"] = li_nu
    if solute is not None:
        exchange = by_kind.get(("exchange", solute))
        if exchange is None:
            b.lack("barriers.solute_vacancy_exchange", required=True)
        else:
            hop = exchange.document
            barriers["solute_vacancy_exchange"] = _quantity(
                hop.forward_barrier, _hop_ids(exchange), _hop_note(hop, hop.hop)
            )
            nu = _frequency(
                b,
                exchange,
                "attempt_frequencies.solute",
                required=False,
                effect="solute hops use the Li attempt frequency",
            )
            if nu is not None:
                frequencies["solute"] = nu
        if exchange is None:
            b.lack(
                "attempt_frequencies.solute",
                required=False,
                effect="solute hops use the Li attempt frequency",
            )
        near = by_kind.get(("dissociation", solute))
        if near is None:
            b.lack(
                "barriers.li_vacancy_near_solute",
                required=False,
                effect="Li hops next to a solute use the bulk Li-vacancy barrier",
            )
        else:
            hop = near.document
            mean = 0.5 * (hop.forward_barrier + hop.reverse_barrier)
            barriers["li_vacancy_near_solute"] = _quantity(
                mean,
                _hop_ids(near),
                _hop_note(
                    hop,
                    f"{hop.hop}: (forward {hop.forward_barrier:.4f} + reverse "
                    f"{hop.reverse_barrier:.4f}) / 2",
                ),
            )
    pure = pure_system(b.sources.system)
    layers = {
        int(entry["layer"]): float(entry["value"])
        for entry in payload.get("vacancy", {}).get("formation_by_layer", [])
    }
    barriers["interlayer"] = _interlayer_barriers(b, by_kind, pure, layers)
    if barriers["interlayer"]:
        if solute is not None:
            b.notes.append(
                f"barriers.interlayer: the Li hops of the pure {pure} interface (Li hops away "
                f"from {solute}, most hops at a few at.% {solute}); a hop next to {solute} "
                "has no field in the KMC export and is not used"
            )
        in_host = all(
            "host_supercell" in item.document.metadata
            for key, item in by_kind.items()
            if key[0] == "interface"
        )
        where = (
            "one site pair of the interface-defect host, relaxed locally"
            if in_host
            else "an interface cell that is not the interface-defect host"
        )
        b.notes.append(
            f"barriers.interlayer: each hop joins {where}; the model takes (forward + "
            "reverse)/2 as the kinetically resolved barrier and the layer energies for the "
            "end states (not the hop's own reaction energy)"
        )
    else:
        b.lack(
            "barriers.interlayer",
            required=False,
            effect="interlayer hops use the bulk Li-vacancy barrier",
        )
    for item in b.sources.hops:
        hop = item.document
        b.notes += [f"flagged input ({hop.hop}): {w}" for w in hop.warnings]


def kmc_export_from_sources(
    sources: KmcSources, *, solute_fraction: float | None = None, strict: bool = False
) -> KmcExport:
    """Map the documents of :func:`collect_kmc_sources` onto a :class:`KmcExport`.

    Parameters
    ----------
    sources
        The documents (one calculator).
    solute_fraction
        Nominal solute atomic fraction; default: the interface preset's.
    strict
        Refuse to leave out optional inputs.

    Returns
    -------
    KmcExport
        The validated export.

    Raises
    ------
    MissingKmcInputError
        Naming every missing required input (with ``strict``: every missing input).
    MixedCalculatorError
        If the documents come from different calculators or settings.
    """
    b = _Builder(sources)
    documents = sources.all_documents()
    calculator = None
    if documents:
        calculator = require_same_calculator(
            [d.document.calculator for d in documents],
            f"the KMC parameters of {sources.system}",
        )
    payload: dict[str, Any] = {
        "system": sources.system,
        "electrolyte": b.spec.substrate,
        "metal_facet": "".join(str(i) for i in b.spec.film_miller),
        "source": "workflow",
        "vacancy": {},
    }
    if payload["metal_facet"] not in ("100", "110"):
        msg = f"{sources.system}: metal facet {b.spec.film_miller} is not one the KMC lattice has"
        raise KmcExportError(msg)
    _defect_fields(b, payload)
    _solute_fields(b, payload, solute_fraction)
    _barrier_fields(b, payload)
    b.notes += sources.ignored
    where = f"run {sources.run_id}" if sources.run_id else "the store"
    if b.missing or (strict and b.optional):
        missing = b.missing + (b.optional if strict else [])
        context = f"the KMC export of {sources.system!r} from {where}"
        if sources.ignored:
            context += " (" + "; ".join(sources.ignored) + ")"
        raise MissingKmcInputError(missing, context)
    assert calculator is not None
    payload["calculator"] = calculator.model_dump()
    payload["notes"] = [
        f"built by anodefree from {where}; documents: "
        + ", ".join(sorted({f"{type(d.document).__name__} (job {d.job_uuid})" for d in documents})),
        *b.notes,
    ]
    return KmcExport.from_dict(payload, origin=f"KMC export of {sources.system!r}")
