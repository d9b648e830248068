"""Where LAMMPS runs a protocol: its Python module in this process, or an external command.

A protocol (:mod:`mgbarcode.samples`, :mod:`mgbarcode.shear`) is a sequence of :class:`Step`:
LAMMPS input commands, then optionally a :class:`Read` of what the driver needs back (an
inherent structure with its energies and forces, or a frame of positions for τα), plus the
values of named LAMMPS variables.  An engine runs the steps and returns one
:class:`Readback` per read, in order; the protocols turn those into samples, whichever engine
ran them.

- :class:`ModuleEngine` (``md.engine: python``, the default): LAMMPS' Python module in this
  process; each read is gathered from the running session (:mod:`mgbarcode.md`).
- :class:`CommandEngine` (any other ``md.engine``, e.g. ``mpirun -np 4 lmp -sf omp``,
  ``srun lmp -sf omp`` or ``lmp -k on g 1 -sf kk``): the same steps written into one LAMMPS
  input script, each read becoming a ``print`` of the scalars (energy, pressure, box,
  variables) with 17 significant digits and a ``write_dump`` of the per-atom data, parsed
  back after the run.  No protocol needs Python between its segments: what the driver reads
  is only kept, and used (τα from the frames, pressure warnings) once the run is over.  The
  random start is made on one process by the module (:func:`_serial_start`).
  A serial ``lmp`` of the same build gives the module's numbers bit for bit.  Another number
  of MPI ranks sums the forces in another order; MD amplifies that round-off, so short
  histories give the same IS to ~1e-12 eV/atom and long ones another realisation of the
  same protocol (as another OPENMP thread count does).

Units: Å, eV, GPa (LAMMPS metal: bar inside).
"""

import logging
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

from . import md
from .errors import InputError

log = logging.getLogger(__name__)

# md.engine value that selects LAMMPS' Python module.
PYTHON_MODULE = "python"
ENGINE_KEY = "md.engine"
# Scalars of every read, in the order they are printed: pressure (bar), box bounds and tilts (Å).
_BOX_KEYWORDS = ("xlo", "xhi", "ylo", "yhi", "zlo", "zhi", "xy", "xz", "yz")
_READBACK_FILE = "readbacks.txt"
_START_FILE = "start.data"
# Exact decimal form of a double in the input script's prints and dumps.
_EXACT = "%.17g"


@dataclass(frozen=True)
class Read:
    """What the driver reads after a step.

    ``structure``: the configuration as ASE ``Atoms`` with total and per-atom energies (eV) and
    forces (eV/Å) of the last evaluation; otherwise a frame: positions (Å, relative to the box
    origin, not wrapped) and the cell.  Either way the pressure (GPa) and the LAMMPS
    ``variables`` (equal-style, by name).  ``tag`` lets the protocol find the read again.
    """

    structure: bool
    tag: object = None
    variables: tuple = ()


@dataclass(frozen=True)
class Step:
    """LAMMPS input ``commands``, then the optional :class:`Read`."""

    commands: list
    read: Read = None


@dataclass
class Readback:
    """The answer to one :class:`Read`: ``atoms`` (structures) or ``positions_A`` (frames),
    ``cell_A`` (rows, LAMMPS' lower-triangular form), ``pressure_GPa`` and ``variables``."""

    read: Read
    cell_A: np.ndarray
    pressure_GPa: float
    atoms: object = None
    positions_A: np.ndarray = None
    variables: dict = field(default_factory=dict)

    @property
    def tag(self):
        return self.read.tag


def for_setting(engine_setting):
    """The engine an ``md.engine`` config value names (``None`` or ``python``: the module)."""
    if engine_setting is None or engine_setting.strip() == PYTHON_MODULE:
        return ModuleEngine()
    return CommandEngine(engine_setting)


def _log_progress(readback, started):
    if readback.read.structure and readback.read.tag is not None:
        atoms = readback.atoms
        log.info("%s: E_IS = %.5f eV/atom, P_IS = %.3f GPa (%.1f s elapsed)", readback.read.tag,
                 atoms.get_potential_energy() / len(atoms), readback.pressure_GPa, time.perf_counter() - started)


class ModuleEngine:
    """LAMMPS' Python module, in this process (threads: the OPENMP package, :func:`md.lammps_session`)."""

    def version(self):
        """The LAMMPS version of the Python module (``'20250722'``)."""
        return md.lammps_version()

    def run(self, steps, run_name, type_elements, log_file=None, threads=1, initial_atoms=None):
        """Run ``steps`` in one session; returns the :class:`Readback` of every read, in order.

        ``initial_atoms``: an ASE ``Atoms`` loaded first (after the session preamble); without
        it the steps start from an empty session and set everything up themselves.
        """
        readbacks = []
        started = time.perf_counter()
        with md.lammps_session(log_file, preamble=initial_atoms is not None, threads=threads) as lmp:
            if initial_atoms is not None:
                md.load_atoms(lmp, initial_atoms, list(type_elements))
            for step in steps:
                md.run_commands(lmp, step.commands, run_name, log_file)
                if step.read is not None:
                    readbacks.append(self._read(lmp, step.read, type_elements))
                    _log_progress(readbacks[-1], started)
        return readbacks

    @staticmethod
    def _read(lmp, read, type_elements):
        if read.structure:
            atoms = md.current_atoms(lmp, list(type_elements))
            variables = {name: lmp.extract_variable(name) for name in read.variables}
            return Readback(read, atoms.cell.array.copy(), md.pressure_GPa(lmp), atoms=atoms, variables=variables)
        cell, origin = md.cell_matrix(lmp)
        # The barostat scales the box about its centre, so the origin moves: positions are
        # taken relative to it (they are unwrapped in cell coordinates later).
        positions = md.gather_per_atom(lmp, "x", float, 3) - origin
        return Readback(read, cell, md.pressure_GPa(lmp), positions_A=positions,
                        variables={name: lmp.extract_variable(name) for name in read.variables})


class CommandEngine:
    """An external LAMMPS command: the steps as one input script, the reads parsed from files.

    ``command`` is the command line up to the LAMMPS arguments (``mpirun -np 4 lmp -sf omp``);
    ``-in``, ``-log`` and ``-nocite`` are appended.  The script and the files it writes live in
    a scratch folder beside the LAMMPS log (on a cluster, a file system the first rank shares
    with this process), removed after a successful run and kept after a failed one.
    """

    def __init__(self, command):
        self.command = command
        self.argv = shlex.split(command)
        self._version = None

    def check(self):
        """Raise :class:`InputError` if the command's program is not found."""
        if not self.argv:
            raise InputError("config", ENGINE_KEY, "empty command", f"give '{PYTHON_MODULE}' or a LAMMPS command line")
        if shutil.which(self.argv[0]) is None:
            raise InputError("config", ENGINE_KEY, f"'{self.argv[0]}' (of '{self.command}') is not an executable "
                             "on PATH", f"give the full path of the launcher or the LAMMPS executable (e.g. "
                             f"'mpirun -np 4 /opt/lammps/bin/lmp'), load its module first, or set "
                             f"{ENGINE_KEY}: {PYTHON_MODULE}")

    def version(self):
        """The LAMMPS version of the command as the Python module gives it (``'20250722'``):
        from the last run's banner, else from ``-h``."""
        if self._version is None:
            self.check()
            completed = subprocess.run(self.argv + ["-h"], capture_output=True, text=True)
            self._version = _banner_version(completed.stdout) or "unknown"
        return self._version

    def run(self, steps, run_name, type_elements, log_file=None, threads=1, initial_atoms=None):
        """Run ``steps`` as one LAMMPS input; returns the :class:`Readback` of every read, in order.

        ``threads``: ``OMP_NUM_THREADS`` of each rank unless the environment sets it.
        """
        self.check()
        started = time.perf_counter()
        parent = Path(log_file).parent if log_file else None
        if parent is not None:
            parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f"{run_name}.lammps.", dir=parent))
        script, reads = self._script(steps, work, list(type_elements), initial_atoms)
        (work / "in.lammps").write_text("\n".join(script) + "\n")
        env = dict(os.environ)
        env.setdefault("OMP_NUM_THREADS", str(int(threads)))
        argv = self.argv + ["-in", "in.lammps", "-log", str(Path(log_file).resolve()) if log_file else "none",
                            "-nocite"]
        log.info("%s: running %s in %s", run_name, shlex.join(argv), work)
        with open(work / "screen.txt", "w") as screen:
            try:
                returncode = subprocess.run(argv, cwd=work, stdout=screen, stderr=subprocess.STDOUT, env=env).returncode
            except OSError as error:
                raise InputError("config", ENGINE_KEY, f"'{self.command}' could not be started: {error}",
                                 f"give a LAMMPS command line that runs here, or set {ENGINE_KEY}: {PYTHON_MODULE}")
        screen_text = (work / "screen.txt").read_text(errors="replace")
        self._version = _banner_version(screen_text) or self._version
        readbacks_path = work / _READBACK_FILE
        done = len(readbacks_path.read_text().splitlines()) if readbacks_path.exists() else 0
        if returncode != 0 or done != len(reads):
            raise InputError(log_file or work / "screen.txt", f"LAMMPS run {run_name} ({ENGINE_KEY}: {self.command})",
                             f"exit status {returncode} after {done} of {len(reads)} reads: {_error_line(screen_text)}",
                             f"see {work} (input in.lammps, output screen.txt); if the program is missing or "
                             f"does not start, correct {ENGINE_KEY}; if atoms were lost or the energy blew up, "
                             "lower md.timestep_ps or raise md.initial_min_distance_A")
        readbacks = self._parse(work, reads, list(type_elements))
        for readback in readbacks:
            _log_progress(readback, started)
        shutil.rmtree(work)
        return readbacks

    def _script(self, steps, work, type_elements, initial_atoms):
        """The input script and the reads it answers, in order."""
        script, reads = [], []
        if initial_atoms is not None:
            lammps_cell, positions, types, triclinic = md.lammps_configuration(initial_atoms, type_elements)
            (lx, _, _), (xy, ly, _), (xz, yz, lz) = lammps_cell
            data = _write_data(work / _START_FILE, len(type_elements), (0.0, 0.0, 0.0), (lx, ly, lz),
                               (xy, xz, yz) if triclinic else None, types, positions)
            script += list(md.SESSION_PREAMBLE) + ["boundary p p p", f"read_data {data}"]
        for index, step in enumerate(steps):
            commands = list(step.commands)
            if index == 0 and initial_atoms is None:
                commands = _serial_start(commands, work)
            script += commands
            if step.read is not None:
                script += _read_commands(step.read, len(reads))
                reads.append(step.read)
        return script, reads

    @staticmethod
    def _parse(work, reads, type_elements):
        readbacks = []
        lines = (work / _READBACK_FILE).read_text().splitlines()
        for index, (read, line) in enumerate(zip(reads, lines)):
            fields = line.split()
            if int(fields[0]) != index:
                raise RuntimeError(f"{work / _READBACK_FILE}: line {index} answers read {fields[0]}")
            values = [float(v) for v in fields[1:]]
            pressure_bar, box, rest = values[0], dict(zip(_BOX_KEYWORDS, values[1:10])), values[10:]
            cell = np.array([[box["xhi"] - box["xlo"], 0.0, 0.0], [box["xy"], box["yhi"] - box["ylo"], 0.0],
                             [box["xz"], box["yz"], box["zhi"] - box["zlo"]]])
            origin = np.array([box["xlo"], box["ylo"], box["zlo"]])
            per_atom = _read_dump(work / _dump_name(index))
            if read.structure:
                energy, variables = rest[0], dict(zip(read.variables, rest[1:]))
                atoms = md.atoms_from_state(type_elements, per_atom[:, 1].astype(np.int64), per_atom[:, 2:5] - origin,
                                            cell, energy_eV=energy, energies_eV=per_atom[:, 5],
                                            forces_eV_per_A=per_atom[:, 6:9])
                readbacks.append(Readback(read, atoms.cell.array.copy(), pressure_bar / md.BAR_PER_GPA, atoms=atoms,
                                          variables=variables))
            else:
                readbacks.append(Readback(read, cell, pressure_bar / md.BAR_PER_GPA,
                                          positions_A=per_atom[:, 1:4] - origin,
                                          variables=dict(zip(read.variables, rest))))
        return readbacks


def _dump_name(index):
    return f"read_{index:06d}.dump"


def _read_commands(read, index):
    """LAMMPS commands answering ``read`` number ``index``: a ``print`` of the scalars (pressure,
    box, for a structure its energy, then the variables) and a ``write_dump`` sorted by id."""
    scalars = ["press"] + list(_BOX_KEYWORDS) + (["pe"] if read.structure else []) + [f"v_{v}" for v in read.variables]
    printed = " ".join(f"$({s}:{_EXACT})" for s in scalars)
    columns = "id type x y z c_pe_atom fx fy fz" if read.structure else "id x y z"
    return [f'print "{index} {printed}" append {_READBACK_FILE} screen no',
            f"write_dump all custom {_dump_name(index)} {columns} modify sort id format float {_EXACT}"]


def _read_dump(path):
    """The atom rows of a one-frame LAMMPS custom dump (9 header lines), as floats."""
    return np.atleast_2d(np.loadtxt(path, skiprows=9, dtype=np.float64))


def _write_data(path, n_types, box_lo_A, box_hi_A, tilts_A, types, positions_A):
    """A LAMMPS data file (atom style atomic): the box (``tilts_A`` xy, xz, yz or ``None`` for an
    orthogonal one), atom i+1 of type ``types[i]`` at ``positions_A[i]``, every number in its
    exact decimal form; returns the file's name."""
    lines = ["LAMMPS data file (mgbarcode)", "", f"{len(types)} atoms", f"{n_types} atom types", ""]
    lines += [f"{float(lo)!r} {float(hi)!r} {axis}lo {axis}hi" for lo, hi, axis in zip(box_lo_A, box_hi_A, "xyz")]
    if tilts_A is not None:
        lines.append(" ".join(repr(float(t)) for t in tilts_A) + " xy xz yz")
    lines += ["", "Atoms # atomic", ""]
    lines += [f"{i} {t} {x!r} {y!r} {z!r}" for i, (t, (x, y, z)) in
              enumerate(zip(np.asarray(types).tolist(), np.asarray(positions_A).tolist()), start=1)]
    path.write_text("\n".join(lines) + "\n")
    return path.name


def _serial_start(commands, work):
    """``commands`` with the atoms they create (``create_box`` up to the last ``create_atoms``)
    made by the Python module on one process and read from a data file instead.

    ``create_atoms random`` numbers the atoms processor by processor, so under MPI the same
    random positions would get other ids, and ``velocity create`` (which draws by id) other
    velocities: the trajectory would depend on the rank count.  Made on one process, the start
    is the module engine's, bit for bit.
    """
    created = [i for i, command in enumerate(commands) if command.split()[:1] == ["create_atoms"]]
    if not created:
        return commands
    first = next(i for i, command in enumerate(commands) if command.split()[:1] == ["create_box"])
    if any(c.split()[:1] != ["create_atoms"] for c in commands[first + 1:created[-1] + 1]):
        raise ValueError("the start of a protocol mixes create_atoms with other commands after create_box")
    with md.lammps_session(None, preamble=False) as lmp:
        md.run_commands(lmp, commands[:created[-1] + 1], "random start")
        box_lo, box_hi, xy, yz, xz, _, _ = lmp.extract_box()
        triclinic = bool(lmp.extract_global("triclinic"))
        types = md.gather_per_atom(lmp, "type", int, 1)[:, 0]
        positions = md.gather_per_atom(lmp, "x", float, 3)
        n_types = int(lmp.extract_global("ntypes"))
    data = _write_data(work / _START_FILE, n_types, box_lo, box_hi, (xy, xz, yz) if triclinic else None, types,
                       positions)
    return commands[:first] + [f"read_data {data}"] + commands[created[-1] + 1:]


def _banner_version(text):
    """``'20250722'`` from a LAMMPS banner line ``LAMMPS (22 Jul 2025 - Update 4)``."""
    match = re.search(r"LAMMPS \((\d{1,2} \w{3} \d{4})", text)
    return datetime.strptime(match.group(1), "%d %b %Y").strftime("%Y%m%d") if match else None


def _error_line(screen_text):
    """The first LAMMPS ``ERROR`` line of the output, else its last non-empty line."""
    lines = [line.strip() for line in screen_text.splitlines() if line.strip()]
    errors = [line for line in lines if "ERROR" in line]
    return (errors or lines or ["no output"])[0 if errors else -1]
