"""The compiled rejection-free (n-fold way / BKL) kernel of the stripping KMC.

State: one occupancy byte per site (vacancy, Li, solute, reservoir "sink", wall). Events:

- a Li atom or a solute on a first neighbour u of a vacancy v hops into v (the vacancy moves
  v -> u);
- a vacancy next to the reservoir layer is filled from the reservoir (annihilation), and a Li
  atom next to the reservoir leaves into it (emission of a vacancy); the reservoir holds Li at
  the chemical potential of bcc Li, the reference of the vacancy formation energies;
- stripping: a Li atom of L1 leaves into the electrolyte (galvanostatic channel of constant
  total rate, spread evenly over the Li atoms of L1).

Rates: r = nu exp(-E_a / kT) with the kinetically resolved activation energy

    E_a = max(E_KRA + dE / 2, dE, 0)

where dE = E(final) - E(initial) and E_KRA is the hop barrier of the end-state-independent
(kinetically resolved) kind. The clipping keeps E_a(forward) - E_a(reverse) = dE for every
pair of end states, so r_forward / r_reverse = exp(-dE / kT) exactly (detailed balance):
if E_KRA < |dE| / 2 the downhill hop is barrier-free and the uphill hop costs dE.

Energies are kept as per-site fields: phi(x) is the energy of a vacancy placed at x (its layer
formation energy plus its interactions with the solutes and with the other vacancies present),
psi(x) that of a solute at x (segregation energy plus interactions with the vacancies). They
are updated incrementally when an occupancy changes, as exact integers in units of 1e-12 eV
(:data:`ENERGY_QUANTUM`), so dE of any event costs O(1) and never drifts:

- Li at u hops into vacancy v:      dE = phi(u) - phi(v) - V_vv(u, v)
- solute at u hops into vacancy v:  dE = psi(v) - psi(u) + phi(u) - phi(v) - V_vv(u, v)
  + 2 V_sv(u, v)
- reservoir fills vacancy v:        dE = -phi(v);  Li at x leaves into it: dE = +phi(x).

Selection: only "active" sites (vacancies, and Li atoms next to the reservoir) have events.
They are kept in a compact list whose slots are the leaves of a binary sum tree holding each
site's total rate (its eight neighbour slots are scanned linearly), so selection and update
are O(log n_active). After an event only the rates that can have changed are recomputed: an
event changes occupancies at one or two sites C and energies within the interaction reach R
of them, F = C + shells_R(C); a site's rates depend on itself and its first neighbours, so
the sites of F are checked, and the first neighbours of a site of F only when that site has a
vacancy neighbour besides the changed sites (a per-site bit mask of vacancy neighbours is
kept, so only the vacant neighbours are visited). A site of F gets all eight rates
recomputed; a vacancy found next to a site y of F only the rate of its hop towards y (a
per-site slot mask), unless it is in F itself. For a hop (C = {x, u}, the two reaches
overlap) a per-class table lists the sites of F once each, with the net field change there,
so the field update and the scan of F are one pass. For a Li hop, the sites of F where only
psi changes (no vacancy pair energy there, not next to x or u; the third shell with
solute-vacancy interactions) come last in the row and get a cheaper loop: psi(y) enters
only the rates of solute hops into or out of y, so most of them (Li atoms) need nothing.
The kernel is compiled twice, with and without the solute code (runs without a solute
leave it out entirely).

Geometry: sites are grouped into classes with identical neighbour index offsets (position in
the stacking motif, in-plane wrap, distance from the top and bottom) and identical pair-energy
variants and barrier kinds per slot; a slab of 10^5 sites has about a hundred classes. The
kernel reads one class number per site and small per-class tables instead of per-site
neighbour lists.

Random numbers: xoshiro256** with its own state per engine, seeded by splitmix64, so that two
engines in one process never share a stream and a seed reproduces a run exactly.
"""

from __future__ import annotations

import math
import platform
from dataclasses import dataclass
from typing import TYPE_CHECKING

import llvmlite.binding as llvm_binding
import numba as nb
import numpy as np
from llvmlite import ir
from numba.core import types
from numba.extending import intrinsic

if TYPE_CHECKING:
    from anodefree.models.kmc.lattice import SlabLattice
    from anodefree.models.kmc.parameters import KmcTables

VAC, LI, SOL, SINK, WALL = 0, 1, 2, 3, 4
"""Site occupancies."""

(
    STATUS_MAX_EVENTS,
    STATUS_STRIP_TARGET,
    STATUS_TIME_LIMIT,
    STATUS_NO_EVENTS,
    STATUS_CONTACT_LOST,
    STATUS_GROW,
) = range(6)
STATUS_NAMES = {
    STATUS_MAX_EVENTS: "event budget of the chunk used",
    STATUS_STRIP_TARGET: "stripping target reached",
    STATUS_TIME_LIMIT: "time limit reached",
    STATUS_NO_EVENTS: "no event possible",
    STATUS_CONTACT_LOST: "no Li left in L1 to strip (L1 holds only vacancies and solute)",
    STATUS_GROW: "event list full (internal; the engine grows it and continues)",
}

# Indices of the integer state vector.
(
    I_CONTACT,
    I_STAMP,
    I_EVENTS,
    I_STRIPPED,
    I_SINK_FILL,
    I_SINK_EMIT,
    I_LI_HOPS,
    I_SOL_HOPS,
    I_NACT,
) = range(9)
N_ISTATE = 9

_MASK64 = (1 << 64) - 1

RATE_CACHE_BITS = 12
"""log2 of the entries of the engine's rate cache: rates keyed by the exact (integer) energy
change and the barrier kind, so that the exponential is computed once per distinct pair."""

RATE_KEY_SHIFT = 16
"""Rate-cache key: (energy change in quanta << 16) | barrier kind; kinds stay below 2^16
(3 + the number of layers) and energy changes below 2^46 quanta (70 eV)."""
RATE_KEY_EMPTY = -(1 << 63)
"""Key of an empty rate-cache entry (no energy change and kind give it)."""

ENERGY_QUANTUM = 1e-12
"""Energies in the kernel are integers in units of 1e-12 eV: the incremental sums of pair
energies are exact (no rounding drift, identical environments give identical energies),
and the rounding of the inputs changes rates by less than 1e-10 relative."""

MAX_ENERGY_CHANGE = (1 << 46) * ENERGY_QUANTUM
"""Bound in eV on the energy change of an event that the rate-cache key can hold."""


def quantize(energies: np.ndarray) -> np.ndarray:
    """Energies in eV as integers in units of :data:`ENERGY_QUANTUM`."""
    return np.round(np.asarray(energies, dtype=float) / ENERGY_QUANTUM).astype(np.int64)


def seed_state(seed: int) -> np.ndarray:
    """xoshiro256** state from an integer seed (splitmix64).

    Parameters
    ----------
    seed
        Any non-negative integer.

    Returns
    -------
    numpy.ndarray
        Four uint64 words.
    """
    if seed < 0:
        msg = f"seed must be non-negative, got {seed}"
        raise ValueError(msg)
    x = seed & _MASK64
    words = []
    for _ in range(4):
        x = (x + 0x9E3779B97F4A7C15) & _MASK64
        z = x
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
        words.append(z ^ (z >> 31))
    return np.array(words, dtype=np.uint64)


@nb.njit(inline="always", error_model="numpy")
def _xoshiro(s0: np.uint64, s1: np.uint64, s2: np.uint64, s3: np.uint64) -> tuple:
    """One xoshiro256** step: a uniform double in [0, 1) and the new state words."""
    m = s1 * np.uint64(5)
    result = ((m << np.uint64(7)) | (m >> np.uint64(57))) * np.uint64(9)
    t = s1 << np.uint64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = (s3 << np.uint64(45)) | (s3 >> np.uint64(19))
    return (result >> np.uint64(11)) * (1.0 / 9007199254740992.0), s0, s1, s2, s3


@nb.njit(cache=True, error_model="numpy")
def uniform_draws(state: np.ndarray, n: int) -> np.ndarray:
    """Draw ``n`` uniforms from a xoshiro256** state (advanced in place)."""
    out = np.empty(n)
    s0, s1, s2, s3 = state[0], state[1], state[2], state[3]
    for i in range(n):
        out[i], s0, s1, s2, s3 = _xoshiro(s0, s1, s2, s3)
    state[0], state[1], state[2], state[3] = s0, s1, s2, s3
    return out


MODE_RUN, MODE_FORCED, MODE_REBUILD = 0, 1, 2

OUTSIDE = -(1 << 40)
"""Offset-table entry of a neighbour outside the slab (the dummy wall site stands for it)."""


@nb.njit(inline="always")
def _ix(i: int) -> np.uint64:
    """Return the index as unsigned, so that numba leaves out the negative-index wraparound.

    Numba adds a compare and a select to every array access with a signed index (Python's
    ``a[-1]``) unless it can prove the index non-negative (as for ``range`` loop counters).
    The kernel never uses negative indices; its site, class, tree and event-list indices
    go through this function.
    """
    return np.uint64(i)


@nb.njit(inline="always")
def _shifted(x: int, offset: int, dummy: int) -> int:
    """Return the site at ``offset`` from ``x``, or the dummy for :data:`OUTSIDE`."""
    return dummy if offset == OUTSIDE else x + offset


@intrinsic
def _lowest_bit(typingctx: object, value: types.Integer) -> tuple:  # noqa: ARG001
    """Index of the lowest set bit of a non-zero int64 (one ``tzcnt`` instruction)."""

    def codegen(context: object, builder: ir.IRBuilder, signature: object, args: list) -> ir.Value:  # noqa: ARG001
        return builder.cttz(args[0], ir.Constant(ir.IntType(1), 1))

    return types.int64(types.int64), codegen


@nb.njit(inline="always")
def _queue_back_slots(
    y: int,
    vm: int,
    cy: int,
    nbr_off: np.ndarray,
    back_slot: np.ndarray,
    stamp: np.ndarray,
    sid: int,
    pend: np.ndarray,
    n_pend: int,
    pmask: np.ndarray,
) -> int:
    """Queue, for each vacancy neighbour v of y (bit d of ``vm``), v's slot back to y.

    A site enters the refresh list ``pend`` once per event (``stamp``); ``pmask`` collects
    the slots to recompute. A set bit of the mask is never a neighbour outside the slab.
    Returns the new length of the list.
    """
    while vm != 0:
        dd = _lowest_bit(vm)
        vm &= vm - 1
        v = y + nbr_off[_ix(cy), dd]
        if stamp[_ix(v)] != sid:
            stamp[_ix(v)] = sid
            pend[n_pend] = v
            n_pend += 1
            pmask[_ix(v)] = back_slot[dd]
        else:
            pmask[_ix(v)] |= back_slot[dd]
    return n_pend


_X86_64 = platform.machine().lower() in {"x86_64", "amd64"}
_AVX = _X86_64 and "+avx," in llvm_binding.get_host_cpu_features().flatten() + ","
if _X86_64:
    # The mask below is two instructions of inline assembly, which numba's JIT can only
    # assemble with LLVM's assembly parser for the host.
    llvm_binding.initialize_native_asmparser()


@intrinsic
def _taken(typingctx: object, r: types.Float, left: types.Float) -> tuple:  # noqa: ARG001
    """Return ``left`` if ``r >= left`` else 0.0, without a branch.

    The tree descent subtracts this from r at every level. Written as a comparison and a
    select (or a multiplication by the comparison result), LLVM turns it into a
    conditional branch, which the processor mispredicts half of the time: that made the
    descent four times slower. On x86-64 it is a compare-to-mask and an AND (SSE2 or AVX);
    elsewhere a plain select.
    """

    def codegen(context: object, builder: ir.IRBuilder, signature: object, args: list) -> ir.Value:  # noqa: ARG001
        dbl = ir.DoubleType()
        if _X86_64:
            if _AVX:
                text = "vcmpnltsd $2, $1, $0\n\tvandpd $2, $0, $0"
            else:
                text = "movapd $1, $0\n\tcmpnltsd $2, $0\n\tandpd $2, $0"
            mask = ir.InlineAsm(ir.FunctionType(dbl, [dbl, dbl]), text, "=&x,x,x")
            return builder.call(mask, args)
        taken = builder.fcmp_ordered(">=", args[0], args[1])
        return builder.select(taken, args[1], ir.Constant(dbl, 0.0))

    return types.float64(types.float64, types.float64), codegen


# The kernel is one function on purpose: numba increments and decrements the reference count
# of every array handed to a helper function (an atomic operation), which cost three quarters
# of the run time when the event logic was split into helpers. Inside one function the arrays
# are unpacked once and the loop body touches no reference counts.
def _make_kernel(with_solute: bool):  # noqa: ANN202, C901, PLR0915 - returns the dispatcher
    """Compile the kernel for runs with or without a solute (dead code left out)."""

    @nb.njit(cache=True, error_model="numpy")
    def _kernel(  # noqa: C901, PLR0912, PLR0915 - one function on purpose, see above
        mode: int,
        max_events: int,
        stop_stripped: int,
        t_stop: float,
        strip_rate: float,
        forced_site: int,
        forced_slot: int,
        fstate: np.ndarray,
        rng: np.ndarray,
        geo: tuple,
        ener: tuple,
        st: tuple,
        base: tuple,
    ) -> int:
        """Run events (MODE_RUN), carry out one given event (MODE_FORCED) or rebuild everything.

        Returns the status code (MODE_RUN), the event kind (MODE_FORCED: 1 hop, 2 reservoir fill,
        3 vacancy emission, 4 stripping) or the number of active sites (MODE_REBUILD; -1 when
        the event list is too small).
        """
        (nbr_off, layer, cls, shell_off, reach_off, gint, hop_vectors, reach_adj0, hop_tab,
         hop_len, back_slot, field_vv, field_sv, slot_vv, slot_sv, kra_code,
         slot_code) = geo  # fmt: skip
        hop_width = hop_tab.shape[1]
        hop_tab = hop_tab.reshape(-1)
        phi, psi, par, _, rc_key, rc_val = ener
        has_solute = with_solute  # a compile-time constant: no solute code without one
        (occ, nsol1, apos, act, arates, tree, contact, cpos, stamp, nvl, acc, tl, disp, scratch,
         istate, vmask, pmask) = st  # fmt: skip
        ef_layer, eseg_layer = base
        # Sites next to the reservoir form one index range (sites are numbered layer by layer).
        sa_lo, sa_hi = gint[0], gint[1]
        sink_zone = gint[2]  # from this site index on, neighbours may be Li next to the reservoir
        inv_kT, nu_li, nu_sol, quantum = par[0], par[1], par[2], par[3]
        rc_shift = np.uint64(64 - RATE_CACHE_BITS)
        leaf0 = tree.shape[0] // 2
        dummy = occ.shape[0] - 1
        n_sites = dummy
        n_shell = shell_off.shape[1]
        n_reach = reach_off.shape[1]
        margin = 2 * (n_reach + 1) * 9 + 4
        pend = np.empty(margin, np.int64)
        t = fstate[0]
        s0, s1, s2, s3 = rng[0], rng[1], rng[2], rng[3]
        chg_site = np.zeros(2, np.int64)
        chg_old = np.zeros(2, np.int64)
        chg_new = np.zeros(2, np.int64)
        upd_slot = np.zeros(2, np.int64)
        upd_val = np.zeros(2)
        status = STATUS_MAX_EVENTS
        kind = 0
        rebuild = mode == MODE_REBUILD
        if rebuild:
            for lay in range(nvl.shape[0]):
                acc[_ix(lay)] += nvl[_ix(lay)] * (t - tl[_ix(lay)])
                tl[_ix(lay)] = t
                nvl[_ix(lay)] = 0
            for x in range(n_sites + 1):
                lx = layer[_ix(x)]
                phi[_ix(x)] = ef_layer[_ix(lx)] if lx >= 0 else 0
                psi[_ix(x)] = eseg_layer[_ix(lx)] if lx >= 0 else 0
                nsol1[_ix(x)] = 0
                vmask[_ix(x)] = 0
                apos[_ix(x)] = -1
                cpos[_ix(x)] = -1
            tree[:] = 0.0
            istate[I_NACT] = 0
            istate[I_CONTACT] = 0
        n = 0
        while True:
            # ------------------------------------------------------------ choose the event
            n_chg = 0
            x = -1
            d = -1
            transfer = False
            if rebuild:
                pass
            elif mode == MODE_FORCED:
                if n > 0:
                    break
                if forced_slot < 0:
                    chg_site[0] = forced_site
                    chg_old[0] = LI
                    chg_new[0] = VAC
                    n_chg = 1
                    istate[I_STRIPPED] += 1
                    kind = 4
                else:
                    x = forced_site
                    d = forced_slot
            else:
                if n >= max_events:
                    break
                if istate[I_NACT] + margin > leaf0:
                    status = STATUS_GROW
                    break
                if strip_rate > 0.0 and istate[I_CONTACT] == 0:
                    status = STATUS_CONTACT_LOST
                    break
                r_total = tree[1] + strip_rate
                if r_total <= 0.0:
                    status = STATUS_NO_EVENTS
                    break
                u1, s0, s1, s2, s3 = _xoshiro(s0, s1, s2, s3)
                dt = -math.log(1.0 - u1) / r_total
                if t + dt > t_stop:
                    t = t_stop
                    status = STATUS_TIME_LIMIT
                    break
                t += dt
                u2, s0, s1, s2, s3 = _xoshiro(s0, s1, s2, s3)
                r = u2 * r_total
                if r < strip_rate:
                    k = min(int(r / strip_rate * istate[I_CONTACT]), istate[I_CONTACT] - 1)
                    chg_site[0] = contact[_ix(k)]
                    chg_old[0] = LI
                    chg_new[0] = VAC
                    n_chg = 1
                    istate[I_STRIPPED] += 1
                else:
                    r -= strip_rate
                    # Descend the sum tree; a rounding miss that lands on an empty leaf draws again.
                    while True:
                        # Branch-free descent (the comparisons are unpredictable): go right
                        # by adding the comparison result and subtract the left sum through a
                        # mask (_taken); r - 0.0 == r, so the arithmetic is that of the
                        # branching form.
                        node = 1
                        while node < leaf0:
                            node <<= 1
                            left = tree[_ix(node)]
                            node += 1 if r >= left else 0
                            r -= _taken(r, left)
                        if tree[_ix(node)] > 0.0:
                            break
                        u3, s0, s1, s2, s3 = _xoshiro(s0, s1, s2, s3)
                        r = u3 * tree[1]
                    k = node - leaf0
                    cum = 0.0
                    for dd in range(8):
                        rd = arates[_ix(k), dd]
                        if rd > 0.0:
                            d = dd
                            cum += rd
                            if r < cum:
                                break
                    x = act[_ix(k)]
            if x >= 0:
                # A hop-type event (site x, slot d): decode it into occupancy changes.
                u = _shifted(x, nbr_off[_ix(cls[_ix(x)]), d], dummy)
                if occ[_ix(x)] == VAC:
                    species = occ[_ix(u)]
                    if species == SINK:
                        chg_site[0] = x
                        chg_old[0] = VAC
                        chg_new[0] = LI
                        n_chg = 1
                        istate[I_SINK_FILL] += 1
                        kind = 2
                    else:
                        chg_site[0] = u
                        chg_old[0] = species
                        chg_new[0] = VAC
                        chg_site[1] = x
                        chg_old[1] = VAC
                        chg_new[1] = species
                        n_chg = 2
                        transfer = True
                        for c in range(3):
                            disp[c] += hop_vectors[_ix(d), c]
                        if species == SOL:
                            istate[I_SOL_HOPS] += 1
                        else:
                            istate[I_LI_HOPS] += 1
                        kind = 1
                else:
                    chg_site[0] = x
                    chg_old[0] = LI
                    chg_new[0] = VAC
                    n_chg = 1
                    istate[I_SINK_EMIT] += 1
                    kind = 3
            # ------------------------------------------------------------ apply the changes
            n_outer = n_sites if rebuild else n_chg
            for c in range(n_outer):
                if rebuild:
                    x = c
                    old = -1
                    new = occ[_ix(x)]
                else:
                    x = chg_site[c]
                    old = chg_old[c]
                    new = chg_new[c]
                lx = layer[_ix(x)]
                cx = cls[_ix(x)]
                for phase in range(2):
                    sp = old if phase == 0 else new
                    isign = -1 if phase == 0 else 1
                    if sp == VAC:
                        acc[_ix(lx)] += nvl[_ix(lx)] * (t - tl[_ix(lx)])
                        tl[_ix(lx)] = t
                        nvl[_ix(lx)] += isign
                        # Vacancy-neighbour masks: the neighbour's slot pointing back to x.
                        for dd in range(8):
                            vmask[_ix(_shifted(x, nbr_off[_ix(cx), dd], dummy))] ^= back_slot[dd]
                    elif sp == SOL:
                        for dd in range(8):
                            nsol1[_ix(_shifted(x, nbr_off[_ix(cx), dd], dummy))] += isign
                    elif sp == LI and lx == 0:
                        if phase == 0:
                            kc = cpos[_ix(x)]
                            last = contact[_ix(istate[I_CONTACT] - 1)]
                            contact[_ix(kc)] = last
                            cpos[_ix(last)] = kc
                            cpos[_ix(x)] = -1
                            istate[I_CONTACT] -= 1
                        else:
                            kc = istate[I_CONTACT]
                            contact[_ix(kc)] = x
                            cpos[_ix(x)] = kc
                            istate[I_CONTACT] = kc + 1
                    if phase == 0:
                        occ[_ix(x)] = new
                # Fields: a vacancy shifts phi by V_vv and psi by V_sv around it, a solute shifts
                # phi by V_sv; the pair energies of the site's class already carry the
                # interface variant of each slot. Integer sums: exact in any order.
                dv = (1 if new == VAC else 0) - (1 if old == VAC else 0)
                ds = (1 if new == SOL else 0) - (1 if old == SOL else 0)
                if (dv != 0 or ds != 0) and not transfer:
                    for kk in range(n_shell):
                        y = _shifted(x, shell_off[_ix(cx), kk], dummy)
                        phi[_ix(y)] += dv * field_vv[_ix(cx), kk] + ds * field_sv[_ix(cx), kk]
                        if has_solute:
                            psi[_ix(y)] += dv * field_sv[_ix(cx), kk]
            if transfer:
                # The vacancy moved x -> u: hand its event slot over to u.
                u = chg_site[0]
                x = chg_site[1]
                if apos[_ix(u)] < 0 and apos[_ix(x)] >= 0:
                    k = apos[_ix(x)]
                    act[_ix(k)] = u
                    apos[_ix(u)] = k
                    apos[_ix(x)] = -1
            # ------------------------------------------------------------ refresh the rates
            # The rates of an active site w depend on w and its first neighbours. An event
            # changes occupancies at the changed sites C and energies (and solute counts) within
            # the reach R of C, the set F = C + S_R(C). So w needs new rates iff w is in F or
            # next to a site of F. F is scanned; the neighbours of a site of F only when it has
            # a vacancy neighbour that is not a changed site (vmask marks them) or lies next to
            # the reservoir layer, whose Li atoms have events too.
            sid = istate[I_STAMP] + 1
            if sid >= 2147483647:
                stamp[:] = 0
                sid = 1
            istate[I_STAMP] = sid
            n_pend = 0
            if not rebuild:
                # The changed sites in registers (stores to the arrays below would make the
                # compiler reload them from memory on every visit).
                c0 = chg_site[0]
                c1 = chg_site[1] if n_chg == 2 else -1
                now_vac = occ[_ix(c0)] == VAC  # the vacancy after the event, if any
                if transfer:
                    # A hop: one visit per site of the union of both reaches (hop table row of
                    # x's class and slot d), which also applies the net field change there.
                    xh = chg_site[1]
                    hop_row = np.int64(cls[_ix(xh)]) * 8 + d
                    row = hop_row * hop_width
                    s_hop = 1 if chg_new[1] == SOL else 0
                    # A Li hop leaves phi unchanged at the row's quiet sites (after the others,
                    # psi only); they get their own loop below.
                    n_all = hop_len[_ix(hop_row), 0]
                    n_visit = n_all if s_hop else hop_len[_ix(hop_row), 1]
                else:
                    n_visit = n_chg * (n_reach + 1)
                for q in range(n_visit):
                    if transfer:
                        j = row + 4 * q
                        y = xh + hop_tab[_ix(j)]
                        net_sv = hop_tab[_ix(j + 2)]
                        phi[_ix(y)] += hop_tab[_ix(j + 1)] - s_hop * net_sv
                        if has_solute:
                            psi[_ix(y)] += net_sv
                        flag = hop_tab[_ix(j + 3)]
                        known = (flag & 1) != 0
                        changed = flag >= 2
                    else:
                        c = q // (n_reach + 1)
                        e = q - c * (n_reach + 1) - 1
                        xc = chg_site[c]
                        y = xc if e < 0 else _shifted(xc, reach_off[_ix(cls[_ix(xc)]), e], dummy)
                        if y == dummy:
                            continue
                        known = now_vac and e >= 0 and reach_adj0[e]
                        changed = y == c0 or y == c1  # noqa: PLR1714 - two compares in numba
                    o = occ[_ix(y)]
                    vm = np.int64(vmask[_ix(y)])
                    if y < sink_zone:
                        # Away from the reservoir (most visits; no Li atom there has events).
                        cond = o == VAC or changed
                        # Most reach sites are Li atoms without vacancy neighbours: nothing.
                        if not cond and vm == 0:
                            continue
                    else:
                        cond = o == VAC or (y >= sa_lo and y < sa_hi) or changed
                    # A site enters the list once per event (stamp), in the order of its
                    # first mention; a site of F gets all eight slots recomputed (mask 255).
                    if cond:
                        if stamp[_ix(y)] != sid:
                            stamp[_ix(y)] = sid
                            pend[n_pend] = y
                            n_pend += 1
                        pmask[_ix(y)] = 255
                    if y < sink_zone:
                        if vm == 0:
                            continue
                        # Vacancy neighbours already among the changed sites need no scan
                        # ("known": next to the vacancy after a hop, or next to a new vacancy).
                        if known and (vm & (vm - 1)) == 0:
                            continue
                    cy = cls[_ix(y)]
                    if y >= sink_zone:
                        # Li atoms next to the reservoir have events too.
                        for dd in range(8):
                            v = _shifted(y, nbr_off[_ix(cy), dd], dummy)
                            if v >= sa_lo and v < sa_hi:
                                vm |= 1 << dd
                    # A neighbour v of y outside F: only its slot pointing back to y can
                    # have changed.
                    n_pend = _queue_back_slots(
                        y, vm, cy, nbr_off, back_slot, stamp, sid, pend, n_pend, pmask
                    )
                if transfer and s_hop == 0 and has_solute:
                    # Quiet sites of a Li hop: psi changes, phi and the solute counts do not.
                    # psi(y) enters only the rates of solute hops into or out of y: those of a
                    # vacancy y with a solute neighbour, and the back slots of the vacancies
                    # next to a solute y. Most are Li atoms: nothing to refresh.
                    for q in range(n_visit, n_all):
                        j = row + 4 * q
                        y = xh + hop_tab[_ix(j)]
                        psi[_ix(y)] += hop_tab[_ix(j + 2)]
                        o = occ[_ix(y)]
                        if o == VAC:
                            if nsol1[_ix(y)] > 0:
                                if stamp[_ix(y)] != sid:
                                    stamp[_ix(y)] = sid
                                    pend[n_pend] = y
                                    n_pend += 1
                                pmask[_ix(y)] = 255
                        elif o == SOL:
                            vm = np.int64(vmask[_ix(y)])
                            cy = cls[_ix(y)]
                            n_pend = _queue_back_slots(
                                y, vm, cy, nbr_off, back_slot, stamp, sid, pend, n_pend, pmask
                            )
            n_loop = n_sites if rebuild else n_pend
            for q in range(n_loop):
                y = q if rebuild else pend[q]
                o = occ[_ix(y)]
                total = 0.0
                k = apos[_ix(y)]
                # Slots to recompute; the others keep their rates (an active site only).
                m = 255 if (rebuild or k < 0) else pmask[_ix(y)]
                if o == VAC or (o == LI and y >= sa_lo and y < sa_hi):
                    fy = phi[_ix(y)]
                    # Neighbouring slots often share barrier and energy change (a vacancy in
                    # plain bulk: all eight); the exponential is then reused, exactly.
                    last_key = RATE_KEY_EMPTY
                    last_r = 0.0
                    cy = cls[_ix(y)]
                    for dd in range(8):
                        if not (m >> dd) & 1:
                            r = arates[_ix(k), dd]
                            scratch[dd] = r
                            total += r
                            continue
                        u = _shifted(y, nbr_off[_ix(cy), dd], dummy)
                        ou = occ[_ix(u)]
                        r = 0.0
                        li_like = False
                        valid = False
                        dq = 0
                        code = 0  # barrier kind: 0 solute hop, see below for the Li-like ones
                        if o == VAC:
                            if ou == SOL:
                                dq = psi[_ix(y)] - psi[_ix(u)] + phi[_ix(u)] - fy
                                dq += 2 * slot_sv[_ix(cy), dd] - slot_vv[_ix(cy), dd]
                                valid = True
                            elif ou == LI:
                                dq = phi[_ix(u)] - fy - slot_vv[_ix(cy), dd]
                                li_like = True
                            elif ou == SINK:
                                dq = -fy
                                li_like = True
                        elif ou == SINK:
                            dq = fy
                            li_like = True
                        if li_like:
                            # 1 bulk, 2 next to a solute, 3 + upper layer across a layer
                            # boundary with its own barrier (the class table holds 0 or the last).
                            code = slot_code[_ix(cy), dd]
                            if code == 0:
                                code = 1
                                if has_solute and (nsol1[_ix(y)] > 0 or nsol1[_ix(u)] > 0):
                                    code = 2
                            valid = True
                        if valid:
                            # The rate is a function of (dq, code) alone, packed into one key:
                            # reuse the previous slot's, else look it up in the engine's rate
                            # cache (direct-mapped; a miss computes the exponential and stores it).
                            key = (dq << RATE_KEY_SHIFT) | code
                            if key == last_key:
                                r = last_r
                            else:
                                h = np.uint64(key) * np.uint64(0x9E3779B97F4A7C15)
                                slot = int(h >> rc_shift)
                                if rc_key[_ix(slot)] == key:
                                    r = rc_val[_ix(slot)]
                                else:
                                    dE = dq * quantum
                                    ea = max(kra_code[_ix(code)] + 0.5 * dE, dE, 0.0)
                                    r = (nu_sol if code == 0 else nu_li) * math.exp(-ea * inv_kT)
                                    rc_key[_ix(slot)] = key
                                    rc_val[_ix(slot)] = r
                                last_key, last_r = key, r
                        scratch[dd] = r
                        total += r
                n_upd = 0
                if total > 0.0:
                    if k < 0:
                        k = istate[I_NACT]
                        if k >= leaf0:
                            # Only in a rebuild: the event list is too small.
                            fstate[0] = t
                            return -1
                        act[_ix(k)] = y
                        apos[_ix(y)] = k
                        istate[I_NACT] = k + 1
                    for dd in range(8):
                        arates[_ix(k), dd] = scratch[dd]
                    upd_slot[0] = k
                    upd_val[0] = total
                    n_upd = 1
                elif k >= 0:
                    last = istate[I_NACT] - 1
                    if k != last:
                        z = act[_ix(last)]
                        act[_ix(k)] = z
                        apos[_ix(z)] = k
                        for dd in range(8):
                            arates[_ix(k), dd] = arates[_ix(last), dd]
                        upd_slot[0] = k
                        upd_val[0] = tree[_ix(leaf0 + last)]
                        n_upd = 1
                    upd_slot[n_upd] = last
                    upd_val[n_upd] = 0.0
                    n_upd += 1
                    apos[_ix(y)] = -1
                    istate[I_NACT] = last
                # Each parent is the sum of its two children. The running sum is carried in a
                # register (a + b == b + a exactly), so no level waits for the store of the one
                # below it.
                for w in range(n_upd):
                    node = leaf0 + upd_slot[w]
                    val = upd_val[w]
                    tree[_ix(node)] = val
                    while node > 1:
                        val += tree[_ix(node ^ 1)]
                        node >>= 1
                        tree[_ix(node)] = val
            if rebuild:
                status = istate[I_NACT]
                break
            if mode == MODE_RUN:
                istate[I_EVENTS] += 1
                n += 1
                if istate[I_STRIPPED] >= stop_stripped:
                    status = STATUS_STRIP_TARGET
                    break
            else:
                n += 1
        fstate[0] = t
        rng[0], rng[1], rng[2], rng[3] = s0, s1, s2, s3
        return kind if mode == MODE_FORCED else status

    return _kernel


_KERNELS = {False: _make_kernel(with_solute=False), True: _make_kernel(with_solute=True)}
"""The compiled kernel without and with a solute (``KmcTables.has_solute``)."""


def _hop_visits(
    x: int, d: int, site_class: np.ndarray, tables: tuple[np.ndarray, ...]
) -> tuple[list[tuple[int, int, int, int]], list[tuple[int, int, int, int]]]:
    """Return the visits of the hop of a vacancy at x along slot d (see :func:`_hop_tables`).

    Two lists, each in the order of first mention: the loud visits and the quiet ones
    (where the vacancy pair energies do not change, other than x, u and their neighbours).
    """
    nbr_off, shell_off, reach_off, reach_adj0, reach_adjx, field_vv, field_sv = tables
    cx = int(site_class[x])
    u = x + int(nbr_off[cx, d])
    cu = int(site_class[u])
    # (centre, offset, next to u, u or x or next to one) in the order of a scan of u,
    # u's reach, x, x's reach.
    order = [(u, 0, False, True)]
    order += [(u, o, a, a) for o, a in zip(reach_off[cu], reach_adj0, strict=True)]
    order += [(x, 0, True, True)]
    order += [
        (x, o, a, a0) for o, a, a0 in zip(reach_off[cx], reach_adjx[cx, d], reach_adj0, strict=True)
    ]
    visits: dict[int, list[int]] = {}
    close: set[int] = set()
    for centre, offset, near_u, near in order:
        if offset == OUTSIDE:
            continue
        site = centre + int(offset)
        if near:
            close.add(site)
        if site not in visits:
            visits[site] = [0, 0, int(near_u)]
        elif bool(visits[site][2]) != bool(near_u):
            # Both reaches must agree on whether a shared site is next to u.
            msg = f"hop table: site {site} is and is not next to {u} (inconsistent classes)"
            raise RuntimeError(msg)
    for site in (u, x):
        visits[site][2] |= 2  # the two sites whose occupancy changes
    for centre, cc, sign in ((u, cu, 1), (x, cx, -1)):
        for offset, vv, sv in zip(shell_off[cc], field_vv[cc], field_sv[cc], strict=True):
            if offset != OUTSIDE:
                entry = visits[centre + int(offset)]
                entry[0] += sign * int(vv)
                entry[1] += sign * int(sv)
    entries = [(site - x, vv, sv, near) for site, (vv, sv, near) in visits.items()]
    quiet = [vv == 0 and x + offset not in close for offset, vv, _, _ in entries]
    loud = [entry for entry, q in zip(entries, quiet, strict=True) if not q]
    return loud, [entry for entry, q in zip(entries, quiet, strict=True) if q]


def _hop_tables(
    site_class: np.ndarray, tables: tuple[np.ndarray, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """Per class of the vacancy site x and hop slot d: the sites a hop visits, in order.

    A hop moves the vacancy from x to u = x + nbr_off[d]. The kernel visits u, the reach
    sites of u, x and the reach sites of x, each once (first mention kept, which is the
    order in which the sites would enter the refresh list if each reach were scanned in
    turn), and at each applies the net field change of the hop: the vacancy's pair
    energies around u minus those around x (``net_vv``; ``net_sv`` for the solute
    fields). Row ``8 * class + d`` holds (offset from x, net_vv, net_sv, flags) per
    visited site, flags = 1 if next to u, + 2 for u and x themselves; sites outside the slab
    are left out. The quiet sites (see :func:`_hop_visits`) come last. The union is built on
    one site of each class, which stands for all: the offsets and pair energies of a class
    and of its hop targets are the same for all its sites.

    Parameters
    ----------
    site_class
        Class of each site (without the dummy).
    tables
        The class tables: first-neighbour, field-shell and reach offsets, whether a reach
        slot is a first-shell slot, whether reach slot e of x is next to the target of
        slot d, and the field pair energies (V_vv, V_sv) of each shell slot.

    Returns
    -------
    tuple[numpy.ndarray, numpy.ndarray]
        The table (n_classes * 8, 4 * max visits) and, per row, the number of visits and
        the number of those that are not quiet (n_classes * 8, 2).
    """
    nbr_off = tables[0]
    _, representative = np.unique(site_class, return_index=True)
    parts = [
        _hop_visits(int(representative[cx]), d, site_class, tables)
        if nbr_off[cx, d] != OUTSIDE
        else ([], [])
        for cx in range(nbr_off.shape[0])
        for d in range(8)
    ]
    rows = [loud + quiet for loud, quiet in parts]
    width = max(len(row) for row in rows)
    table = np.zeros((len(rows), 4 * width), dtype=np.int64)
    for i, row in enumerate(rows):
        if row:
            table[i, : 4 * len(row)] = np.asarray(row, dtype=np.int64).reshape(-1)
    lengths = [(len(row), len(loud)) for row, (loud, _) in zip(rows, parts, strict=True)]
    return table, np.array(lengths, dtype=np.int64).reshape(-1, 2)


def _back_slot_bits(hop_vectors: np.ndarray) -> np.ndarray:
    """For each hop slot d, the mask bit of the slot that points back (vector -v_d)."""
    back = np.zeros(len(hop_vectors), dtype=np.int64)
    for d, vector in enumerate(hop_vectors):
        match = np.flatnonzero(np.abs(hop_vectors + vector).max(axis=1) < 1e-6)
        if len(match) != 1:
            msg = f"hop vector {vector} has no unique opposite"
            raise ValueError(msg)
        back[d] = 1 << int(match[0])
    return back


def _relative(table: np.ndarray, n: int) -> np.ndarray:
    """Neighbour table rows of the n sites as index offsets, :data:`OUTSIDE` for the dummy."""
    rel = table[:n].astype(np.int64) - np.arange(n)[:, None]
    rel[table[:n] == n] = OUTSIDE
    return rel


def _row_classes(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact grouping of identical integer rows: (index of one row per group, group of each).

    Rows are hashed to one integer first (fast); the grouping is then checked row by row
    against each group's representative, and redone exactly on a hash collision.
    """
    weights = np.random.default_rng(0).integers(1, 2**62, size=rows.shape[1], dtype=np.int64)
    with np.errstate(over="ignore"):
        hashes = (rows * weights).sum(axis=1)
    _, first, inverse = np.unique(hashes, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    if not np.array_equal(rows, rows[first][inverse]):
        _, first, inverse = np.unique(rows, axis=0, return_index=True, return_inverse=True)
        inverse = inverse.reshape(-1)
    return first, inverse


def _offset_classes(
    lattice: SlabLattice,
    shell_nbr: np.ndarray,
    reach_nbr: np.ndarray,
    attributes: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Group the sites by their neighbour offsets, so the kernel reads no per-site table.

    Sites are numbered layer by layer, so the neighbour at a given lattice vector sits at an
    index offset that depends only on the site's position in the stacking motif, on whether
    it lies on an in-plane wrap, and on its distance from the top and bottom of the slab.
    Sites with identical offset rows (first neighbours, field shells, reach shells; a
    neighbour outside the slab as :data:`OUTSIDE`) whose hop targets are alike in the same
    sense form one class (a slab has about a hundred), so that one class also shares which reach
    sites are first neighbours of each hop target. The kernel then reads one small integer
    per site and class tables that stay in the L1 cache, instead of three neighbour rows per
    site (tens of MB for a slab of 10^5 sites). Further per-site integer ``attributes``
    (pair-energy variants, barrier kinds) also split classes, so that they too are per class.

    Returns
    -------
    tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray, numpy.ndarray, numpy.ndarray, numpy.ndarray]
        Per-site class (int16, n_sites + 1; the dummy gets class 0 and is never looked up),
        first-neighbour offsets (n_classes, 8), field-shell offsets (n_classes, n_field),
        reach-shell offsets (n_classes, n_reach), whether reach slot k of a site is a
        first neighbour of the site one hop away along slot d (n_classes, 8, n_reach), and
        the attributes per class (n_classes, n_attributes).
    """
    n = lattice.n_sites
    nbr1 = lattice.nbr1
    first = _relative(nbr1, n)
    field = _relative(shell_nbr, n)
    reach = _relative(reach_nbr, n)
    if attributes is None:
        attributes = np.zeros((n, 0), dtype=np.int64)
    _, offset_class = _row_classes(np.concatenate([first, field, reach, attributes], axis=1))
    # The dummy as a hop target gets its own label.
    target_class = np.append(offset_class, -1)[nbr1[:n]]
    representative, inverse = _row_classes(np.column_stack([offset_class, target_class]))
    if representative.shape[0] > np.iinfo(np.int16).max:
        msg = f"{representative.shape[0]} neighbour-offset classes exceed the int16 class index"
        raise ValueError(msg)
    hop_neighbours = nbr1[nbr1[representative]]  # (n_classes, 8, 8)
    targets = reach_nbr[representative]  # (n_classes, n_reach)
    adjacent = (targets[:, None, :, None] == hop_neighbours[:, :, None, :]).any(-1)
    cls = np.zeros(n + 1, dtype=np.int16)
    cls[:n] = inverse
    return (
        cls,
        np.ascontiguousarray(first[representative]),
        np.ascontiguousarray(field[representative]),
        np.ascontiguousarray(reach[representative]),
        np.ascontiguousarray(adjacent),
        np.ascontiguousarray(attributes[representative]),
    )


@dataclass
class Counters:
    """Event counts of an engine since its configuration was set."""

    events: int
    stripped: int
    sink_fills: int
    sink_emissions: int
    li_hops: int
    solute_hops: int


class KmcEngine:
    """A lattice KMC of a bcc Li slab: state arrays plus the compiled kernel.

    Parameters
    ----------
    lattice
        The slab. With ``sink=True`` its deepest layer is the Li reservoir (the vacancy sink).
    tables
        Energies, barriers and frequencies compiled from an export.
    sink
        Whether the deepest layer is a reservoir that absorbs and emits vacancies.
    seed
        Seed of the engine's random stream.
    """

    def __init__(self, lattice: SlabLattice, tables: KmcTables, *, sink: bool, seed: int) -> None:
        if tables.formation_by_layer.shape[0] != lattice.n_layers:
            msg = (
                f"tables compiled for {tables.formation_by_layer.shape[0]} layers, "
                f"lattice has {lattice.n_layers}"
            )
            raise ValueError(msg)
        if lattice.n_shells < tables.n_shells:
            msg = f"lattice built for {lattice.n_shells} shells, tables need {tables.n_shells}"
            raise ValueError(msg)
        if sink and lattice.periodic_z:
            msg = "a slab periodic along z cannot have a sink layer"
            raise ValueError(msg)
        if lattice.periodic_z and lattice.n_layers < 4:
            msg = "a slab periodic along z needs at least 4 layers"
            raise ValueError(msg)
        self.lattice = lattice
        self.tables = tables
        self.sink = sink
        self.seed = seed
        n = lattice.n_sites
        self.n_sites = n
        self._geo = self._geometry(lattice, tables, sink=sink)
        # 1/kT, attempt frequencies; the barriers are in the geometry's per-kind table.
        self._par = np.array([1.0 / tables.kT, tables.nu_li, tables.nu_solute, ENERGY_QUANTUM])
        self._phi = np.zeros(n + 1, dtype=np.int64)
        self._psi = np.zeros(n + 1, dtype=np.int64)
        self._ener = (
            self._phi,
            self._psi,
            self._par,
            tables.has_solute,
            *self._rate_cache(),
        )
        self.occ = np.full(n + 1, LI, dtype=np.int8)
        self.occ[n] = WALL
        self._nsol1 = np.zeros(n + 1, dtype=np.int16)
        self._vmask = np.zeros(n + 1, dtype=np.uint8)
        self._pmask = np.zeros(n + 1, dtype=np.uint8)
        self._apos = np.full(n + 1, -1, dtype=np.int32)
        self._act = np.zeros(n + 1, dtype=np.int32)
        self._contact = np.zeros(lattice.sites_per_layer, dtype=np.int32)
        self._cpos = np.full(n + 1, -1, dtype=np.int32)
        self._stamp = np.zeros(n + 1, dtype=np.int32)
        self._nvl = np.zeros(lattice.n_layers, dtype=np.int64)
        self._acc = np.zeros(lattice.n_layers)
        self._tl = np.zeros(lattice.n_layers)
        self._disp = np.zeros(3)
        self._scratch = np.zeros(8)
        self._rng = seed_state(seed)
        self._istate = np.zeros(N_ISTATE, dtype=np.int64)
        self._fstate = np.zeros(1)
        self._t_average_start = 0.0
        self._base = (quantize(tables.formation_by_layer), quantize(tables.segregation_by_layer))
        self._allocate_events(1024)
        initial = np.full(n, LI, dtype=np.int8)
        if sink:
            initial[lattice.layer_sites(lattice.n_layers - 1)] = SINK
        self.set_configuration(initial)

    @staticmethod
    def _rate_cache() -> tuple[np.ndarray, np.ndarray]:
        """Empty rate cache: packed keys (see :data:`RATE_KEY_SHIFT`) and rates."""
        keys = np.full(1 << RATE_CACHE_BITS, RATE_KEY_EMPTY, dtype=np.int64)
        return keys, np.zeros(1 << RATE_CACHE_BITS)

    def _geometry(self, lattice: SlabLattice, tables: KmcTables, *, sink: bool) -> tuple:
        """Class offset tables, per-class pair energies and barriers, and index ranges."""
        n = lattice.n_sites
        # Only the shells that carry interactions enter the fields.
        n_shells = tables.n_shells
        shell_mask = lattice.shell_of_slot < n_shells
        shell_nbr = np.ascontiguousarray(lattice.shell_nbr[:, shell_mask])
        shell_of_slot = lattice.shell_of_slot[shell_mask]
        # Energies (and solute neighbour counts) change up to this shell around a change.
        reach = max(n_shells, 1 if tables.has_solute else 0)
        reach_mask = lattice.shell_of_slot < reach
        reach_nbr = np.ascontiguousarray(lattice.shell_nbr[:, reach_mask])
        reach_adj0 = np.ascontiguousarray(lattice.shell_of_slot[reach_mask] == 0)
        n_l = lattice.n_layers
        gint = np.zeros(3, dtype=np.int64)
        if sink:
            adjacent = lattice.layer_sites(n_l - 2)
            gint[:2] = (adjacent[0], adjacent[-1] + 1)
        # Neighbours of sites from this index on may be Li atoms next to the reservoir.
        gint[2] = lattice.layer_sites(n_l - 3)[0] if sink else n + 1

        # Per site and slot: which pair-energy variant (0 bulk, 1 interface: either site in
        # L1) a field shell or a hop uses, and the barrier kind of a hop across a layer
        # boundary with its own barrier (code 3 + upper layer; 0: bulk or near solute,
        # decided in the kernel). Sites of one class share all of them.
        layer = lattice.layer
        lx = layer[:n, None]
        field_variant = ((lx == 0) | (layer[shell_nbr[:n]] == 0)).astype(np.int64)
        nbr1 = lattice.nbr1[:n]
        lu = layer[nbr1]
        hop_variant = ((lx == 0) | (lu == 0)).astype(np.int64)
        kra_boundary = np.full(n_l, -1.0)
        finite = np.isfinite(tables.kra_interlayer)
        kra_boundary[: len(finite)][finite] = tables.kra_interlayer[finite]
        upper = np.minimum(lx, lu)
        across = (np.abs(lu - lx) == 1) & (nbr1 != n) & (upper >= 0)
        crossing_barrier = np.where(across, kra_boundary[np.clip(upper, 0, None)], -1.0)
        hop_code = np.where(crossing_barrier >= 0.0, 3 + upper, 0).astype(np.int64)
        cls, nbr_off, shell_off, reach_off, reach_adjx, attributes = _offset_classes(
            lattice,
            shell_nbr,
            reach_nbr,
            np.concatenate([field_variant, hop_variant, hop_code], axis=1),
        )
        k = shell_nbr.shape[1]
        field_variant, hop_variant, hop_code = (
            attributes[:, :k],
            attributes[:, k : k + 8],
            attributes[:, k + 8 :],
        )
        vv = quantize(tables.vv_pair)
        sv = quantize(tables.sv_pair)
        # Barrier of each kind: 0 solute hop, 1 bulk Li, 2 Li next to a solute, 3 + upper
        # layer across a layer boundary with its own barrier (-1 where there is none).
        kra_code = np.concatenate(
            [[tables.kra_solute, tables.kra_li_bulk, tables.kra_li_near_solute], kra_boundary]
        )
        field_vv = vv[field_variant, shell_of_slot[None, :]]
        field_sv = sv[field_variant, shell_of_slot[None, :]]
        # |dE| of any event is below four times the largest site energy (a base energy plus
        # one pair energy per shell slot); the rate-cache key holds energy changes up to
        # MAX_ENERGY_CHANGE.
        base = np.abs(quantize(tables.formation_by_layer)).max(initial=0) + np.abs(
            quantize(tables.segregation_by_layer)
        ).max(initial=0)
        pairs = (np.abs(field_vv) + np.abs(field_sv)).sum(axis=1).max(initial=0)
        bound = 4 * (int(base) + int(pairs)) * ENERGY_QUANTUM
        if bound >= MAX_ENERGY_CHANGE:
            msg = (
                f"energies up to {bound:.3g} eV (formation, segregation and pair energies) "
                f"exceed what the kernel holds ({MAX_ENERGY_CHANGE:.3g} eV)"
            )
            raise ValueError(msg)
        # Free slots the kernel keeps in the event list (it stops to grow it below that).
        self._margin = 2 * (reach_nbr.shape[1] + 1) * 9 + 4
        hop_tab, hop_len = _hop_tables(
            cls[:n], (nbr_off, shell_off, reach_off, reach_adj0, reach_adjx, field_vv, field_sv)
        )
        return (
            nbr_off,
            layer.astype(np.int16),
            cls,
            shell_off,
            reach_off,
            gint,
            np.ascontiguousarray(lattice.hop_vectors),
            reach_adj0,
            hop_tab,
            hop_len,
            _back_slot_bits(lattice.hop_vectors),
            np.ascontiguousarray(field_vv),
            np.ascontiguousarray(field_sv),
            np.ascontiguousarray(vv[hop_variant, 0]),
            np.ascontiguousarray(sv[hop_variant, 0]),
            kra_code,
            np.ascontiguousarray(hop_code),
        )

    def _allocate_events(self, capacity: int) -> None:
        """(Re)allocate the event list and sum tree for ``capacity`` active sites."""
        # Never more than every site plus the safety margin the kernel keeps free.
        ceiling = 1 << math.ceil(math.log2(self.n_sites + self._margin + 8))
        size = 64
        while size < capacity:
            size *= 2
        size = min(size, ceiling)
        old_rates = getattr(self, "_arates", None)
        n_act = int(self._istate[I_NACT])
        self._arates = np.zeros((size, 8))
        self._tree = np.zeros(2 * size)
        if old_rates is not None and n_act:
            self._arates[:n_act] = old_rates[:n_act]
            self._tree[size : size + n_act] = self._arates[:n_act].sum(axis=1)
            for node in range(size - 1, 0, -1):
                self._tree[node] = self._tree[2 * node] + self._tree[2 * node + 1]
        self._st = (
            self.occ,
            self._nsol1,
            self._apos,
            self._act,
            self._arates,
            self._tree,
            self._contact,
            self._cpos,
            self._stamp,
            self._nvl,
            self._acc,
            self._tl,
            self._disp,
            self._scratch,
            self._istate,
            self._vmask,
            self._pmask,
        )

    # ------------------------------------------------------------------ state

    def set_configuration(self, occupancy: np.ndarray) -> None:
        """Set all occupancies (VAC/LI/SOL, SINK on the reservoir layer) and rebuild rates.

        Counters, time, displacement and time averages restart from zero; the random
        stream continues.

        Parameters
        ----------
        occupancy
            int array of length ``n_sites``.
        """
        occupancy = np.asarray(occupancy, dtype=np.int8)
        if occupancy.shape != (self.n_sites,):
            msg = f"occupancy must have {self.n_sites} entries, got {occupancy.shape}"
            raise ValueError(msg)
        layer = self.lattice.layer[: self.n_sites]
        in_sink = (layer == self.lattice.n_layers - 1) if self.sink else np.zeros_like(layer, bool)
        if not np.all(occupancy[in_sink] == SINK):
            msg = "the reservoir layer must be all SINK"
            raise ValueError(msg)
        active = occupancy[~in_sink]
        if np.any((active != VAC) & (active != LI) & (active != SOL)):
            msg = "sites outside the reservoir layer must be VAC, LI or SOL"
            raise ValueError(msg)
        self.occ[: self.n_sites] = occupancy
        self._istate[:] = 0
        self._fstate[0] = 0.0
        self._disp[:] = 0.0
        self._stamp[:] = 0
        self._acc[:] = 0.0
        self._tl[:] = 0.0
        self._t_average_start = 0.0
        self.rebuild()

    def rebuild(self) -> None:
        """Recompute fields, contact list, layer counts, rates and the sum tree (O(N)).

        Incremental updates keep all of these exact (integer energies), so a rebuild only
        serves tests and configuration changes. Time averages are not disturbed.
        """
        while True:
            n_act = self._call(MODE_REBUILD)
            if n_act >= 0:
                break
            self._istate[I_NACT] = 0
            self._allocate_events(2 * self._tree.shape[0])

    # ------------------------------------------------------------------ running

    def run(
        self,
        max_events: int,
        *,
        strip_rate: float = 0.0,
        stop_stripped: int | None = None,
        t_stop: float = math.inf,
    ) -> int:
        """Run events until the first stop condition.

        Parameters
        ----------
        max_events
            Most events carried out in this call.
        strip_rate
            Total stripping rate in 1/s (0: stripping off).
        stop_stripped
            Stop once this many atoms have been stripped in total.
        t_stop
            Stop at this simulated time in s (the pending event is not carried out; the
            exponential waiting time makes that exact).

        Returns
        -------
        int
            A status code, see :data:`STATUS_NAMES` (never the internal grow status).
        """
        if strip_rate < 0:
            msg = f"strip_rate must be >= 0, got {strip_rate}"
            raise ValueError(msg)
        stop = np.iinfo(np.int64).max if stop_stripped is None else int(stop_stripped)
        remaining = int(max_events)
        while True:
            before = int(self._istate[I_EVENTS])
            status = self._call(MODE_RUN, remaining, stop, t_stop, strip_rate)
            remaining -= int(self._istate[I_EVENTS]) - before
            if status != STATUS_GROW:
                return status
            self._allocate_events(2 * self._tree.shape[0])

    def execute(self, site: int, slot: int) -> int:
        """Carry out one given event now, without advancing time (for tests).

        Parameters
        ----------
        site
            The site of the event.
        slot
            Neighbour slot 0..7 of a hop, reservoir fill or emission; -1 strips the Li atom
            of L1 site ``site``.

        Returns
        -------
        int
            1 for a hop, 2 for a reservoir fill, 3 for a vacancy emission, 4 for stripping.
        """
        if slot < 0:
            if self.lattice.layer[site] != 0 or self.occ[site] != LI:
                msg = f"site {site} is not a Li atom of L1 and cannot be stripped"
                raise ValueError(msg)
        elif self.site_rates(site)[slot] <= 0.0:
            msg = f"event (site {site}, slot {slot}) has zero rate"
            raise ValueError(msg)
        if int(self._istate[I_NACT]) + self._margin > self._tree.shape[0] // 2:
            self._allocate_events(2 * self._tree.shape[0])
        return self._call(MODE_FORCED, forced_site=site, forced_slot=slot)

    def _call(
        self,
        mode: int,
        max_events: int = 0,
        stop_stripped: int = 0,
        t_stop: float = math.inf,
        strip_rate: float = 0.0,
        forced_site: int = -1,
        forced_slot: int = -1,
    ) -> int:
        return int(
            _KERNELS[self.tables.has_solute](
                mode,
                int(max_events),
                int(stop_stripped),
                float(t_stop),
                float(strip_rate),
                int(forced_site),
                int(forced_slot),
                self._fstate,
                self._rng,
                self._geo,
                self._ener,
                self._st,
                self._base,
            )
        )

    # ------------------------------------------------------------------ observables

    @property
    def time(self) -> float:
        """Simulated time in s."""
        return float(self._fstate[0])

    @property
    def total_rate(self) -> float:
        """Sum of all hop, sink and emission rates in 1/s (stripping excluded)."""
        return float(self._tree[1])

    def site_rates(self, site: int) -> np.ndarray:
        """Rates in 1/s of the eight events of one site (zeros if it has none)."""
        k = int(self._apos[site])
        return self._arates[k].copy() if k >= 0 else np.zeros(8)

    @property
    def vacancy_field(self) -> np.ndarray:
        """Energy in eV of a vacancy at each site, given the rest of the configuration."""
        return self._phi[: self.n_sites] * ENERGY_QUANTUM

    @property
    def vacancy_displacement(self) -> np.ndarray:
        """Sum of all vacancy hop vectors since the configuration was set, in angstrom."""
        return self._disp.copy()

    @property
    def counters(self) -> Counters:
        """Event counts since the configuration was set."""
        s = self._istate
        return Counters(
            events=int(s[I_EVENTS]),
            stripped=int(s[I_STRIPPED]),
            sink_fills=int(s[I_SINK_FILL]),
            sink_emissions=int(s[I_SINK_EMIT]),
            li_hops=int(s[I_LI_HOPS]),
            solute_hops=int(s[I_SOL_HOPS]),
        )

    @property
    def n_contact_li(self) -> int:
        """Number of Li atoms in L1 (the strippable sites)."""
        return int(self._istate[I_CONTACT])

    def occupancy(self) -> np.ndarray:
        """Copy of the occupancy of every site."""
        return self.occ[: self.n_sites].copy()

    def vacancies_by_layer(self) -> np.ndarray:
        """Return the current number of vacancies in each layer."""
        return self._nvl.copy()

    def take_time_average(self) -> tuple[np.ndarray, float]:
        """Time-integrated vacancy counts per layer since the last call, and that duration.

        Returns
        -------
        tuple[numpy.ndarray, float]
            (integral over time of the vacancy count of each layer, in s; elapsed time in
            s); their ratio is the time-averaged vacancy count. The accumulators restart.
        """
        t = self.time
        integral = self._acc + self._nvl * (t - self._tl)
        elapsed = t - self._t_average_start
        self._acc[:] = 0.0
        self._tl[:] = t
        self._t_average_start = t
        return integral.copy(), elapsed
