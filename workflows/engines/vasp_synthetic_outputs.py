"""Write small, format-valid VASP output files from chosen numbers (test tooling).

VASP cannot run on machines without a licence, but the VASP engine's Makers and its
``parse_output`` must still be exercised end to end. :func:`write_vasp_outputs` writes a
``vasprun.xml``, ``OUTCAR``, ``OSZICAR`` and ``CONTCAR`` for a relaxation path whose
structures, energies, forces and stresses the caller chooses, in the layout VASP 6
writes them, so that pymatgen's parsers and emmet's ``TaskDoc.from_directory`` read them
like real outputs. Nothing here is a physical result: the numbers are the caller's.

Only the parts of the files that the parsers read are written (no eigenvalues or
density of states; the band-structure analysis of atomate2 is then skipped, as for any
run with ``LORBIT`` unset).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import numpy as np
from pymatgen.core import Element, Structure
from pymatgen.io.vasp import Incar, Kpoints, Poscar

#: POTCAR titles (``TITEL``) of the PBE.54 set used by the reference methods.
POTCAR_TITLES: dict[str, str] = {
    "Li_sv": "PAW_PBE Li_sv 10Sep2004",
    "Mg_pv": "PAW_PBE Mg_pv 13Apr2007",
    "Ag": "PAW_PBE Ag 02Apr2005",
    "S": "PAW_PBE S 06Sep2000",
}

#: Valence electrons (ZVAL) of those POTCARs.
POTCAR_ZVAL: dict[str, float] = {"Li_sv": 3.0, "Mg_pv": 8.0, "Ag": 11.0, "S": 6.0}


@dataclass
class IonicStepData:
    """One ionic step of a synthetic VASP run.

    Parameters
    ----------
    structure
        Positions and cell of the step.
    energy
        ``energy(sigma->0)`` in eV (what pymatgen reports as the final energy).
    forces
        Forces in eV/A, one row per site.
    stress
        Stress tensor in kbar (VASP's sign convention), zeros if not given.
    entropy_term
        ``-T*S`` smearing term in eV: the free energy TOTEN is ``energy + entropy_term/2``
        (the Gaussian/MP extrapolation used by VASP for ``energy(sigma->0)``).
    electronic_steps
        Number of SCF steps of this ionic step.
    """

    structure: Structure
    energy: float
    forces: Sequence[Sequence[float]]
    stress: Sequence[Sequence[float]] | None = None
    entropy_term: float = -0.002
    electronic_steps: int = 12
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def free_energy(self) -> float:
        """Free energy TOTEN in eV."""
        return self.energy + self.entropy_term / 2

    @property
    def energy_without_entropy(self) -> float:
        """Energy without the smearing entropy in eV."""
        return self.free_energy - self.entropy_term


def _species_blocks(structure: Structure) -> list[tuple[str, int]]:
    """Return the runs of equal elements in site order (VASP's POSCAR species blocks)."""
    blocks: list[tuple[str, int]] = []
    for site in structure:
        symbol = site.specie.symbol
        if blocks and blocks[-1][0] == symbol:
            blocks[-1] = (symbol, blocks[-1][1] + 1)
        else:
            blocks.append((symbol, 1))
    return blocks


def _fmt(value: float) -> str:
    return f"{value:16.8f}"


def _v(values: Sequence[float], indent: int) -> str:
    return " " * indent + "<v>" + " ".join(_fmt(float(x)) for x in values) + " </v>"


def _incar_item(key: str, value: Any, indent: int = 2) -> str:
    pad = " " * indent
    if isinstance(value, bool):
        return f'{pad}<i type="logical" name="{key}"> {"T" if value else "F"}  </i>'
    if isinstance(value, int):
        return f'{pad}<i type="int" name="{key}">{value:6d}</i>'
    if isinstance(value, float):
        return f'{pad}<i name="{key}">{_fmt(value)}</i>'
    if isinstance(value, list | tuple):
        return f'{pad}<v name="{key}">' + " ".join(_fmt(float(x)) for x in value) + "</v>"
    return f'{pad}<i type="string" name="{key}">{escape(str(value))}</i>'


def _structure_xml(
    structure: Structure, name: str | None, indent: int, selective: list | None
) -> list[str]:
    pad = " " * indent
    label = f' name="{name}" ' if name else ""
    lines = [f"{pad}<structure{label}>", f"{pad} <crystal>", f'{pad}  <varray name="basis" >']
    lines += [_v(row, indent + 3) for row in structure.lattice.matrix]
    lines += [f"{pad}  </varray>", f'{pad}  <i name="volume">{_fmt(structure.volume)} </i>']
    lines.append(f'{pad}  <varray name="rec_basis" >')
    lines += [_v(row, indent + 3) for row in structure.lattice.inv_matrix.T]
    lines += [f"{pad}  </varray>", f"{pad} </crystal>", f'{pad} <varray name="positions" >']
    lines += [_v(row, indent + 2) for row in structure.frac_coords]
    lines.append(f"{pad} </varray>")
    if selective is not None:
        lines.append(f'{pad} <varray type="logical" name="selective" >')
        lines += [
            f'{pad}  <v type="logical" > {" ".join("T" if f else "F" for f in flags)} </v>'
            for flags in selective
        ]
        lines.append(f"{pad} </varray>")
    lines.append(f"{pad}</structure>")
    return lines


def _kpoints_xml(kpoints: Kpoints, structure: Structure) -> list[str]:
    """Return the <kpoints> block: generation scheme and the irreducible k-points."""
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    mesh = tuple(int(n) for n in kpoints.kpts[0])
    shift = tuple(float(s) for s in (kpoints.kpts_shift or (0, 0, 0)))
    is_gamma = kpoints.style == Kpoints.supported_modes.Gamma
    irreducible = SpacegroupAnalyzer(structure, symprec=1e-3).get_ir_reciprocal_mesh(
        mesh, is_shift=(0, 0, 0) if is_gamma else tuple(1 - n % 2 for n in mesh)
    )
    total = sum(weight for _, weight in irreducible)
    lines = [
        " <kpoints>",
        f'  <generation param="{"Gamma" if is_gamma else "Monkhorst-Pack"}">',
        '   <v type="int" name="divisions">' + " ".join(f"{n:8d}" for n in mesh) + " </v>",
        '   <v name="usershift">' + " ".join(_fmt(s) for s in shift) + " </v>",
    ]
    for i in range(3):
        vec = [1.0 / mesh[i] if j == i else 0.0 for j in range(3)]
        lines.append(f'   <v name="genvec{i + 1}">' + " ".join(_fmt(x) for x in vec) + " </v>")
    lines += [
        '   <v name="shift">' + " ".join(_fmt(0.0) for _ in range(3)) + " </v>",
        "  </generation>",
        '  <varray name="kpointlist" >',
    ]
    lines += [_v(k, 3) for k, _ in irreducible]
    lines += ["  </varray>", '  <varray name="weights" >']
    lines += [f"   <v>{_fmt(weight / total)} </v>" for _, weight in irreducible]
    lines += ["  </varray>", " </kpoints>"]
    return lines


def _scf_energies(step: IonicStepData) -> list[tuple[float, float, float]]:
    """SCF history converging onto the step's energies (free, without entropy, sigma->0)."""
    history = []
    for k in range(step.electronic_steps):
        offset = 0.0 if k == step.electronic_steps - 1 else 0.5 * 10.0 ** (-k)
        history.append(
            (
                step.free_energy + offset,
                step.energy_without_entropy + offset,
                step.energy + offset,
            )
        )
    return history


def _parameters(incar: Incar, nelect: float, nbands: int) -> dict[str, Any]:
    """Return the <parameters> block: the INCAR plus VASP defaults that parsers read."""
    nsw = int(incar.get("NSW", 0))
    params: dict[str, Any] = {
        "SYSTEM": "unknown system",
        "PREC": str(incar.get("PREC", "Normal")).lower(),
        "ENMAX": float(incar.get("ENCUT", 400.0)),
        "EDIFF": float(incar.get("EDIFF", 1e-4)),
        "NELECT": float(nelect),
        "NBANDS": nbands,
        "ISMEAR": int(incar.get("ISMEAR", 1)),
        "SIGMA": float(incar.get("SIGMA", 0.2)),
        "ISPIN": int(incar.get("ISPIN", 1)),
        "NELM": int(incar.get("NELM", 60)),
        "NSW": nsw,
        "IBRION": int(incar.get("IBRION", -1 if nsw in (-1, 0) else 0)),
        "ISIF": int(incar.get("ISIF", 0 if int(incar.get("IBRION", -1)) == 0 else 2)),
        "EDIFFG": float(incar.get("EDIFFG", float(incar.get("EDIFF", 1e-4)) * 10)),
        "POTIM": 0.5,
        "GGA": str(incar.get("GGA", "--")).upper(),
        "LASPH": bool(incar.get("LASPH", False)),
        "LREAL": bool(incar.get("LREAL", False)),
        "LORBIT": int(incar.get("LORBIT", -1)),
        "LEPSILON": False,
        "LCHIMAG": False,
        "LSORBIT": False,
        "LNONCOLLINEAR": False,
        "LHFCALC": False,
        "METAGGA": "--",
    }
    return params


def write_vasp_outputs(
    directory: Path | str,
    steps: Sequence[IonicStepData],
    incar: Incar | dict,
    kpoints: Kpoints,
    potcar_symbols: Sequence[str],
    elapsed_time: float = 3600.0,
    cores: int = 64,
    vasp_version: str = "6.4.2",
    efermi: float = 0.0,
) -> None:
    """Write ``vasprun.xml``, ``OUTCAR``, ``OSZICAR`` and ``CONTCAR`` for a synthetic run.

    Parameters
    ----------
    directory
        Where to write (created if missing).
    steps
        The ionic steps in order; the last one is the final state.
    incar, kpoints
        The inputs the run "used" (echoed in ``vasprun.xml``).
    potcar_symbols
        POTCAR symbol of each POSCAR species block (e.g. ``["Li_sv", "S"]``); titles and
        valences come from :data:`POTCAR_TITLES` and :data:`POTCAR_ZVAL`.
    elapsed_time
        Wall time reported in ``OUTCAR`` in s.
    cores
        Number of MPI ranks reported in ``OUTCAR``.
    vasp_version
        Version string in the ``vasprun.xml`` generator block.
    efermi
        Fermi energy in eV reported in ``OUTCAR``.
    """
    if not steps:
        raise ValueError("a VASP run has at least one ionic step")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    incar = Incar(incar)
    first = steps[0].structure
    blocks = _species_blocks(first)
    if len(blocks) != len(potcar_symbols):
        raise ValueError(
            f"{len(potcar_symbols)} POTCAR symbols for {len(blocks)} species blocks {blocks}"
        )
    for symbol in potcar_symbols:
        if symbol not in POTCAR_TITLES:
            raise ValueError(f"no synthetic POTCAR title for {symbol!r}")
    nelect = sum(
        POTCAR_ZVAL[sym] * count for sym, (_, count) in zip(potcar_symbols, blocks, strict=True)
    )
    nbands = max(8, math.ceil(0.6 * nelect + len(first) / 2))
    selective = first.site_properties.get("selective_dynamics")
    if selective is not None:
        selective = [[bool(f) for f in flags] for flags in selective]

    _write_vasprun(
        directory / "vasprun.xml",
        steps,
        incar,
        kpoints,
        potcar_symbols,
        blocks,
        selective,
        nelect,
        nbands,
        vasp_version,
    )
    _write_outcar(directory / "OUTCAR", steps, incar, nelect, nbands, elapsed_time, cores, efermi)
    _write_oszicar(directory / "OSZICAR", steps)
    final = steps[-1].structure.copy()
    if selective is not None:
        final.add_site_property("selective_dynamics", selective)
    Poscar(final, comment=first.composition.reduced_formula).write_file(directory / "CONTCAR")


def _write_vasprun(
    path: Path,
    steps: Sequence[IonicStepData],
    incar: Incar,
    kpoints: Kpoints,
    potcar_symbols: Sequence[str],
    blocks: list[tuple[str, int]],
    selective: list | None,
    nelect: float,
    nbands: int,
    vasp_version: str,
) -> None:
    first = steps[0].structure
    lines = [
        '<?xml version="1.0" encoding="ISO-8859-1"?>',
        "<modeling>",
        " <generator>",
        '  <i name="program" type="string">vasp </i>',
        f'  <i name="version" type="string">{vasp_version}  </i>',
        '  <i name="subversion" type="string">synthetic test output (not a VASP run) </i>',
        '  <i name="platform" type="string">LinuxIFC </i>',
        '  <i name="date" type="string">2026 01 01 </i>',
        '  <i name="time" type="string">00:00:00 </i>',
        " </generator>",
        " <incar>",
    ]
    lines += [_incar_item(key, value) for key, value in incar.items()]
    lines.append(" </incar>")
    lines += _kpoints_xml(kpoints, first)
    lines += [" <parameters>", '  <separator name="general" >']
    lines += [_incar_item(k, v, 3) for k, v in _parameters(incar, nelect, nbands).items()]
    lines += ["  </separator>", " </parameters>", " <atominfo>"]
    lines += [
        f"  <atoms>{len(first):8d} </atoms>",
        f"  <types>{len(blocks):8d} </types>",
        '  <array name="atoms" >',
        '   <dimension dim="1">ion</dimension>',
        '   <field type="string">element</field>',
        '   <field type="int">atomtype</field>',
        "   <set>",
    ]
    for type_index, (element, count) in enumerate(blocks, start=1):
        lines += [f"    <rc><c>{element:2s}</c><c>{type_index:4d}</c></rc>"] * count
    lines += [
        "   </set>",
        "  </array>",
        '  <array name="atomtypes" >',
        '   <dimension dim="1">type</dimension>',
        '   <field type="int">atomspertype</field>',
        '   <field type="string">element</field>',
        "   <field>mass</field>",
        "   <field>valence</field>",
        '   <field type="string">pseudopotential</field>',
        "   <set>",
    ]
    for (element, count), symbol in zip(blocks, potcar_symbols, strict=True):
        mass = float(Element(element).atomic_mass)
        lines.append(
            f"    <rc><c>{count:4d}</c><c>{element:2s}</c><c>{_fmt(mass)}</c>"
            f"<c>{_fmt(POTCAR_ZVAL[symbol])}</c><c>  {POTCAR_TITLES[symbol]:38s}</c></rc>"
        )
    lines += ["   </set>", "  </array>", " </atominfo>"]
    lines += _structure_xml(first, "initialpos", 1, selective)
    for step in steps:
        lines.append(" <calculation>")
        for free, wo_entropy, sigma0 in _scf_energies(step):
            lines += [
                "  <scstep>",
                '   <time name="total">    1.00    1.00</time>',
                "   <energy>",
                f'    <i name="e_fr_energy">{_fmt(free)} </i>',
                f'    <i name="e_wo_entrp">{_fmt(wo_entropy)} </i>',
                f'    <i name="e_0_energy">{_fmt(sigma0)} </i>',
                "   </energy>",
                "  </scstep>",
            ]
        lines += _structure_xml(step.structure, None, 2, selective)
        lines.append('  <varray name="forces" >')
        lines += [_v(row, 3) for row in np.asarray(step.forces, dtype=float)]
        lines.append("  </varray>")
        stress = np.zeros((3, 3)) if step.stress is None else np.asarray(step.stress, dtype=float)
        lines.append('  <varray name="stress" >')
        lines += [_v(row, 3) for row in stress]
        lines += [
            "  </varray>",
            "  <energy>",
            f'   <i name="e_fr_energy">{_fmt(step.free_energy)} </i>',
            f'   <i name="e_wo_entrp">{_fmt(step.energy_without_entropy)} </i>',
            f'   <i name="e_0_energy">{_fmt(step.energy)} </i>',
            "  </energy>",
            '  <time name="totalsc">   10.00   10.00</time>',
            " </calculation>",
        ]
    lines += _structure_xml(steps[-1].structure, "finalpos", 1, selective)
    lines.append("</modeling>")
    path.write_text("\n".join(lines) + "\n")


def _write_outcar(
    path: Path,
    steps: Sequence[IonicStepData],
    incar: Incar,
    nelect: float,
    nbands: int,
    elapsed_time: float,
    cores: int,
    efermi: float,
) -> None:
    lines = [
        " vasp.6.4.2 (synthetic test output, not a VASP run)",
        f" running on {cores:4d} total cores",
        f"   IBRION = {int(incar.get('IBRION', -1)):6d}",
        f"   NSW    = {int(incar.get('NSW', 0)):6d}",
        f"   number of bands    NBANDS= {nbands:6d}",
        "   total plane-waves  NPLWV =  32768",
        "",
    ]
    for index, step in enumerate(steps, start=1):
        forces = np.asarray(step.forces, dtype=float)
        drift = forces.sum(axis=0)
        lines += [
            f"{'-' * 39} Iteration {index:6d}(  12)  {'-' * 39}",
            " POSITION                                       TOTAL-FORCE (eV/Angst)",
            " " + "-" * 83,
        ]
        for site, force in zip(step.structure, forces, strict=True):
            lines.append(
                "     "
                + "".join(f"{x:13.5f}" for x in site.coords)
                + "     "
                + "".join(f"{f:14.6f}" for f in force)
            )
        lines += [
            " " + "-" * 83,
            "    total drift:                     " + "".join(f"{d:14.6f}" for d in drift),
            "",
            "  FREE ENERGIE OF THE ION-ELECTRON SYSTEM (eV)",
            "  ---------------------------------------------------",
            f"  free  energy   TOTEN  = {step.free_energy:18.8f} eV",
            "",
            (
                f"  energy  without entropy= {step.energy_without_entropy:18.8f}"
                f"  energy(sigma->0) = {step.energy:18.8f}"
            ),
            "",
            f" E-fermi : {efermi:10.4f}     XC(G=0):  -1.0000     alpha+bet : -1.0000",
            "",
            f" number of electron {nelect:15.7f} magnetization",
            "",
        ]
    lines += [
        " General timing and accounting informations for this job:",
        " ========================================================",
        "",
        f"                  Total CPU time used (sec): {elapsed_time * cores:15.3f}",
        f"                            User time (sec): {elapsed_time * cores * 0.98:15.3f}",
        f"                          System time (sec): {elapsed_time * cores * 0.02:15.3f}",
        f"                         Elapsed time (sec): {elapsed_time:15.3f}",
        "",
        "                   Maximum memory used (kb):      512000.",
        "                   Average memory used (kb):          N/A",
        "",
    ]
    path.write_text("\n".join(lines) + "\n")


def _write_oszicar(path: Path, steps: Sequence[IonicStepData]) -> None:
    lines = []
    previous = 0.0
    for index, step in enumerate(steps, start=1):
        lines.append("       N       E                     dE             d eps       ncg     rms")
        history = _scf_energies(step)
        for k, (free, _, _) in enumerate(history, start=1):
            lines.append(
                f"DAV: {k:3d}    {free: .12E}   {free - previous: .5E}   {-1e-6: .5E}"
                f"  {100:6d}   {1e-3:.3E}"
            )
            previous = free
        delta = step.free_energy - (steps[index - 2].free_energy if index > 1 else 0.0)
        lines.append(
            f"{index:4d} F= {step.free_energy: .8E} E0= {step.energy: .8E}  d E ={delta: .6E}"
        )
    path.write_text("\n".join(lines) + "\n")
