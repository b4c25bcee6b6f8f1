"""Line-level CPU profile of the compiled KMC kernel (numba) with Linux ``perf``.

``perf`` sees numba's JIT code only as anonymous addresses. This script runs one scenario of
``benchmarks/kmc_events.py`` under ``perf record`` with numba's debug line info switched on
(in a private numba cache, so the shipped cache is untouched), writes the kernel's address and
assembly from inside the run, re-assembles that assembly with ``llvm-mc`` into an object with
line tables, and maps every sample that fell into the kernel to its line of
``models/kmc/engine.py``. It prints the hottest lines with their share of the kernel's samples.

Needs ``perf`` (``linux-perf``) and ``llvm-mc`` (``llvm``), and a kernel that lets a user
process sample itself (``/proc/sys/kernel/perf_event_paranoid`` <= 2). Debug info changes
the code a little; use it to see where time goes, and ``benchmarks/kmc_kernel_ab.py`` to
measure a change.

Run: ``.venv/bin/python scripts/profile_kmc_kernel.py li-mg-stripping --seconds 8``.
"""

from __future__ import annotations

import argparse
import bisect
import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENGINE = ROOT / "models" / "kmc" / "engine.py"
SCENARIOS = ["dilute-layers", "dilute-divacancy", "li-li2s-stripping", "li-mg-stripping"]


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        msg = f"{name} is not installed (needed to profile the JIT kernel)"
        raise SystemExit(msg)
    return path


def child(scenario: str, seconds: float, workdir: Path) -> None:
    """Run the scenario (inside perf) and write the kernel's address and assembly."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import kmc_events

    from anodefree.models.kmc import engine as kernel_module

    engine, strip_rate = kmc_events.build_engine(scenario)
    start = engine.occupancy()
    engine.run(200_000, strip_rate=strip_rate)  # compile, warm up
    kernel = kernel_module._KERNELS[engine.tables.has_solute]  # noqa: SLF001 - the subject
    compiled = kernel.overloads[kernel.signatures[0]]
    address = compiled.library.get_pointer_to_function(compiled.fndesc.llvm_func_name)
    (workdir / "address").write_text(str(address))
    (workdir / "kernel.s").write_text(compiled.library.get_asm_str())
    events, cpu = 0, 0.0
    while cpu < seconds:
        before = engine.counters.events
        t0 = time.process_time()
        status = engine.run(1_000_000, strip_rate=strip_rate)
        cpu += time.process_time() - t0
        events += engine.counters.events - before
        if status == kernel_module.STATUS_CONTACT_LOST:
            engine.set_configuration(start)
    print(f"{scenario}: {events / cpu:.3g} events per CPU second under perf (debug info on)")


def _line_table(obj: Path) -> tuple[list[int], list[int | None]]:
    """Instruction offsets of the object's code and the engine.py line of each."""
    dump = subprocess.run(  # noqa: S603 - fixed tool and arguments
        [_tool("objdump"), "-d", "-l", "--no-show-raw-insn", str(obj)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    offsets: list[int] = []
    lines: list[int | None] = []
    current = None
    for row in dump.splitlines():
        if match := re.match(r"^/.*:(\d+)", row):
            current = int(match.group(1))
        elif match := re.match(r"^\s+([0-9a-f]+):", row):
            offsets.append(int(match.group(1), 16))
            lines.append(current)
    return offsets, lines


def report(workdir: Path, data: Path, top: int) -> None:
    """Map the perf samples inside the kernel to engine.py lines and print the hottest."""
    address = int((workdir / "address").read_text())
    asm = (workdir / "kernel.s").read_text()
    # llvm-mc does not know the large-code-model section flag "l"; it is irrelevant here.
    for flags in ('"axl"', '"awl"', '"al"'):
        asm = asm.replace(flags, flags.replace("l", ""))
    source = workdir / "kernel_mc.s"
    source.write_text(asm)
    obj = workdir / "kernel.o"
    subprocess.run([_tool("llvm-mc"), "-filetype=obj", "-o", str(obj), str(source)], check=True)  # noqa: S603
    offsets, lines = _line_table(obj)
    end = offsets[-1] + 16
    script = subprocess.run(  # noqa: S603
        [_tool("perf"), "script", "-i", str(data), "-F", "ip"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    total = 0
    by_line: collections.Counter = collections.Counter()
    for row in script.split():
        try:
            offset = int(row, 16) - address
        except ValueError:
            continue
        if 0 <= offset < end:
            total += 1
            by_line[lines[max(bisect.bisect_right(offsets, offset) - 1, 0)]] += 1
    if not total:
        raise SystemExit("no sample fell into the kernel (was perf allowed to sample?)")
    text = ENGINE.read_text().splitlines()
    print(f"{total} samples in the kernel")
    for line, count in by_line.most_common(top):
        code = text[line - 1].strip()[:88] if line else "(no line)"
        print(f"{100 * count / total:5.1f}%  {line}: {code}")


def main() -> None:
    """Profile one scenario (parent: runs perf and maps the samples)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", choices=SCENARIOS)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--top", type=int, default=30, help="number of lines shown")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.scenario, args.seconds, args.child)
        return
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        data = workdir / "perf.data"
        env = {
            **os.environ,
            "NUMBA_DEBUGINFO": "1",
            "NUMBA_CACHE_DIR": str(workdir / "numba"),
            "NUMBA_NUM_THREADS": "1",
        }
        command = [
            _tool("perf"),
            "record",
            "-F",
            "5000",
            "-o",
            str(data),
            sys.executable,
            __file__,
            args.scenario,
            "--seconds",
            str(args.seconds),
            "--child",
            str(workdir),
        ]
        subprocess.run(command, env=env, check=True)  # noqa: S603
        report(workdir, data, args.top)


if __name__ == "__main__":
    main()
