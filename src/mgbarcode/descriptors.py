"""Per-atom SOAP descriptors (DScribe), their unit vectors, and the per-sample Parquet files.

Every atom of an inherent structure is described by its SOAP power spectrum p (DScribe,
species, cut-off radius in Å, Gaussian width in Å), stored as the unit vector p̂ = p/‖p‖
(float32) beside the raw norm ‖p‖, so that the raw vector is ``norm * unit`` (METHOD §2).

One Parquet file per sample, one row per atom, columns::

    sample_id  string                    the same on every row (so a folder is one dataset)
    atom       int32                     index of the atom in its structure
    species    string                    chemical symbol of the centre atom
    norm       float32                   ‖p‖ of the raw SOAP vector
    soap       fixed_size_list<float32>  p̂, n_features numbers

The workflow either stores these files (``soap.store: true``) or stores none and computes each
sample's vectors from its structure as a consumer streams it (``soap.store: false``): a
*source* of SOAP is a Parquet path or a :class:`StructureSample`, and :func:`read_sample_soap`
gives the same :class:`SoapTable` (the same float32 vectors, the same order) from either.

Nothing here holds more than one sample's descriptors at a time except
:func:`iter_soap_batches`, which holds one file plus one batch (METHOD §5), and
:func:`iter_sample_soap` with worker processes, which holds at most ``n_workers`` + 1 samples.
"""

import collections
import functools
import json
import logging
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from threadpoolctl import threadpool_limits

from . import io, provenance
from . import results_layout as layout
from .errors import InputError

log = logging.getLogger(__name__)

SOAP_COLUMNS = ("sample_id", "atom", "species", "norm", "soap")


# --------------------------------------------------------------------------- descriptors

def make_soap(species, r_cut_A, n_max, l_max, sigma_A, rbf, periodic, store=None):
    """A DScribe ``SOAP`` descriptor with float32 output.

    Parameters
    ----------
    species : sequence of str
        Every chemical symbol that may occur (e.g. ``["Cu", "Zr"]``).
    r_cut_A : float
        Cut-off radius (Å).
    n_max, l_max : int
        Number of radial basis functions; maximum degree of the spherical harmonics.
    sigma_A : float
        Standard deviation of the atomic Gaussians (Å).
    rbf : str
        Radial basis, ``"gto"`` or ``"polynomial"``.
    periodic : bool
        Use the cell's periodic images.
    store : bool, optional
        The config's ``soap.store`` (whether the workflow keeps the vectors on disk); it does
        not change the descriptor and is accepted so that the config's ``soap`` section can be
        passed whole.
    """
    from dscribe.descriptors import SOAP

    # DScribe computes in double precision and casts on output (measured: relative
    # difference 3e-8 from its float64 output), which saves memory and ~15 % time.
    # The GTO basis is orthonormalised here with LAPACK, whose result depends on its thread count
    # on some CPUs (measured on a Xeon: 75 % of the float32 SOAP entries differ, by up to
    # 1.2e-7, between 1 and 2 OpenBLAS threads).  One thread gives every job the same vectors,
    # whatever its threads; jobs parallelise over structures with worker processes instead.
    with threadpool_limits(limits=1):
        return SOAP(species=list(species), r_cut=float(r_cut_A), n_max=int(n_max), l_max=int(l_max),
                    sigma=float(sigma_A), rbf=rbf, periodic=bool(periodic), dtype="float32")


def descriptor_parameters(soap_config):
    """The keyword arguments of :func:`make_soap` that shape the vectors: the config's ``soap``
    section without ``store`` (which only says whether the vectors are kept on disk)."""
    return {key: value for key, value in soap_config.items() if key != "store"}


def soap_vectors(atoms, soap, source="<atoms>"):
    """Unit SOAP vectors and raw norms of every atom of ``atoms``.

    Parameters
    ----------
    atoms : ase.Atoms
    soap : dscribe SOAP (from :func:`make_soap`)
    source : str
        Names the structure in error messages (usually its file).

    Returns
    -------
    unit_vectors : float32 array [n_atoms, n_features]
        p̂ = p / ‖p‖, each row of L2 norm 1 (to float32 rounding, ~1e-7).
    norms : float32 array [n_atoms]
        ‖p‖ of the raw vectors (dimensionless, as DScribe's output).

    Raises :class:`InputError` if a species is not in the descriptor, or a row is zero or
    not finite (a zero vector has no direction, so no similarity).
    """
    known = set(soap.species)
    unknown = sorted(set(atoms.get_chemical_symbols()) - known)
    if unknown:
        raise InputError(source, "species", f"{unknown} not among the SOAP species {sorted(known)}",
                         "add them to soap.species in the config")
    raw = np.asarray(soap.create(atoms), dtype=np.float32).reshape(len(atoms), -1)
    # Norms in float64: the sum of 3289 squares in float32 would lose ~4 digits.
    norms = np.sqrt(np.einsum("ij,ij->i", raw, raw, dtype=np.float64))
    bad = np.flatnonzero(~np.isfinite(norms) | (norms == 0))
    if len(bad):
        raise InputError(source, "soap", f"atoms {bad[:10].tolist()} have a zero or non-finite SOAP "
                         "vector", "check the structure (positions, cell) and soap.r_cut_A")
    norms = norms.astype(np.float32)  # stored as float32, so unit = raw / stored norm
    np.divide(raw, norms[:, None], out=raw)
    return raw, norms


def random_structure(n_atoms, composition, number_density_per_A3, min_distance_A, seed):
    """A random periodic configuration with no pair closer than ``min_distance_A`` (Å).

    For exercising and benchmarking the descriptor and dictionary code without MD: atoms are
    placed one at a time in a cubic box of the given number density (atoms/Å³), rejecting
    positions too close to earlier atoms (minimum image).  ``composition`` maps symbols to
    atom fractions; counts are rounded, with the remainder given to the first symbol.
    """
    import ase

    rng = np.random.default_rng(seed)
    box_A = (n_atoms / number_density_per_A3) ** (1.0 / 3.0)
    counts = {symbol: int(round(fraction * n_atoms)) for symbol, fraction in composition.items()}
    first = next(iter(counts))
    counts[first] += n_atoms - sum(counts.values())
    symbols = [symbol for symbol, count in counts.items() for _ in range(count)]
    rng.shuffle(symbols)
    positions = np.empty((n_atoms, 3))
    placed = 0
    max_tries = 1000 * n_atoms
    for _ in range(max_tries):
        if placed == n_atoms:
            break
        trial = rng.uniform(0.0, box_A, 3)
        delta = positions[:placed] - trial
        delta -= box_A * np.round(delta / box_A)
        if placed == 0 or np.einsum("ij,ij->i", delta, delta).min() >= min_distance_A ** 2:
            positions[placed] = trial
            placed += 1
    if placed < n_atoms:
        raise ValueError(f"placed only {placed} of {n_atoms} atoms: lower min_distance_A or the density")
    return ase.Atoms(symbols, positions=positions, cell=[box_A] * 3, pbc=True)


# --------------------------------------------------------------------------- Parquet

def unit_vector_column(unit_vectors):
    """A pyarrow ``fixed_size_list<float32>`` array holding the rows of a 2-D float32 array
    (zero-copy when the array is C-contiguous float32)."""
    vectors = np.ascontiguousarray(unit_vectors, dtype=np.float32)
    if vectors.ndim != 2:
        raise ValueError(f"unit vectors must be 2-D [n, n_features], got shape {vectors.shape}")
    return pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1)), vectors.shape[1])


def vectors_from_column(column, source, field="soap"):
    """The float32 array [n_rows, n_features] behind a ``fixed_size_list<float32>`` column.

    Zero-copy when the column is one chunk (one row group, the usual case).  Raises
    :class:`InputError` naming ``source`` for another type or null rows.
    """
    if isinstance(column, pa.ChunkedArray):
        column = column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()
    if not (pa.types.is_fixed_size_list(column.type) and column.type.value_type == pa.float32()):
        raise InputError(source, field, f"type {column.type}, expected fixed_size_list<float32>",
                         "rewrite the file with mgbarcode.descriptors")
    if column.null_count:
        raise InputError(source, field, f"{column.null_count} null rows", "rewrite the file")
    values = column.flatten().to_numpy(zero_copy_only=True)
    return values.reshape(len(column), column.type.list_size)


def write_soap_parquet(path, sample_id, atoms, unit_vectors, norms, provenance):
    """Write one sample's unit SOAP vectors and norms (layout in the module docstring).

    ``atoms`` (ase.Atoms) gives the species of each row; row i is atom i.
    """
    n_atoms = len(atoms)
    if unit_vectors.shape[0] != n_atoms or len(norms) != n_atoms:
        raise ValueError(f"{n_atoms} atoms but {unit_vectors.shape[0]} vectors and {len(norms)} norms")
    table = pa.table({
        "sample_id": pa.array([str(sample_id)] * n_atoms, type=pa.string()),
        "atom": pa.array(np.arange(n_atoms, dtype=np.int32)),
        "species": pa.array(atoms.get_chemical_symbols(), type=pa.string()),
        "norm": pa.array(np.asarray(norms, dtype=np.float32)),
        "soap": unit_vector_column(unit_vectors),
    })
    # Dictionary-encode only the repetitive text columns: dictionary pages for 3289-float
    # lists cost encoding time and save nothing (measured, 2000 atoms: 0.16 -> 0.10 s CPU).
    io.write_parquet(table, path, provenance=provenance, use_dictionary=["sample_id", "species"])


class SoapTable(NamedTuple):
    """One sample's SOAP file in memory."""

    sample_id: str
    atom: np.ndarray  # int32 [n_atoms]
    species: np.ndarray  # object (str) [n_atoms]
    unit_vectors: np.ndarray  # float32 [n_atoms, n_features]
    norms: np.ndarray  # float32 [n_atoms]


def read_soap_parquet(path):
    """Read a file written by :func:`write_soap_parquet` as a :class:`SoapTable`."""
    try:
        table = pq.read_table(path, columns=list(SOAP_COLUMNS))
    except (OSError, pa.ArrowInvalid, KeyError) as error:
        raise InputError(path, "file", f"not a SOAP Parquet file ({error})",
                         "rerun the soap rule that writes it") from error
    sample_ids = table.column("sample_id").unique().to_pylist()
    if len(sample_ids) > 1:
        raise InputError(path, "sample_id", f"{len(sample_ids)} different sample ids in one file",
                         "write one sample per file")
    return SoapTable(
        sample_id=sample_ids[0] if sample_ids else "",
        atom=table.column("atom").to_numpy().astype(np.int32, copy=False),
        species=table.column("species").to_numpy(zero_copy_only=False),
        unit_vectors=vectors_from_column(table.column("soap"), path),
        norms=table.column("norm").to_numpy().astype(np.float32, copy=False),
    )


def read_sample_soap(source):
    """One sample's :class:`SoapTable` from a SOAP source: read from its Parquet file (a path)
    or computed from its structure (a :class:`StructureSample`).  Both give the same arrays:
    the stored file holds exactly the float32 vectors and norms computed here."""
    if isinstance(source, StructureSample):
        atoms = io.read_structure(source.structure_path)
        soap = _cached_soap(json.dumps(source.soap_params, sort_keys=True))
        unit_vectors, norms = soap_vectors(atoms, soap, source=str(source.structure_path))
        return SoapTable(sample_id=source.sample_id, atom=np.arange(len(atoms), dtype=np.int32),
                         species=np.asarray(atoms.get_chemical_symbols(), dtype=object),
                         unit_vectors=unit_vectors, norms=norms)
    return read_soap_parquet(source)


@functools.lru_cache(maxsize=4)
def _cached_soap(soap_params_json):
    """One DScribe descriptor per parameter set and process (built once, reused per sample)."""
    return make_soap(**json.loads(soap_params_json))


class StructureSample(NamedTuple):
    """A sample whose SOAP is computed from its structure when it is read (``soap.store: false``).

    ``n_workers``: processes that describe the structures of a list of such samples ahead of
    its reader (:func:`iter_sample_soap`; the job's threads).  ``str()`` gives the structure
    file, so error messages about the source name it."""

    sample_id: str
    structure_path: Path
    soap_params: dict  # keyword arguments of make_soap
    n_workers: int = 1

    def __str__(self):
        return str(self.structure_path)


def iter_sample_soap(sources):
    """Each source's :class:`SoapTable` (:func:`read_sample_soap`), in the order given.

    When the sources are :class:`StructureSample` s with ``n_workers`` > 1, that many forked
    processes describe the structures ahead of the reader, at most ``n_workers`` + 1 samples
    ahead, and the tables still come in order; each is the same function's result on the same
    file, so the vectors do not depend on the number of workers.
    """
    sources = list(sources)
    n_workers = getattr(sources[0], "n_workers", 1) if sources else 1  # a Parquet path: 1
    if n_workers <= 1 or len(sources) < 2:
        for source in sources:
            yield read_sample_soap(source)
        return
    log.info("describing %d structures in %d worker processes", len(sources), n_workers)
    # fork: the workers need no re-import, and a workflow script has no __main__ guard for spawn.
    with ProcessPoolExecutor(max_workers=n_workers, mp_context=multiprocessing.get_context("fork")) as pool:
        pending = collections.deque()
        upcoming = iter(sources)
        for source in upcoming:
            pending.append(pool.submit(_read_in_worker, source))
            if len(pending) > n_workers:
                break
        while pending:
            table = pending.popleft().result()
            if isinstance(table, _WorkerInputError):
                raise InputError(*table)
            for source in upcoming:
                pending.append(pool.submit(_read_in_worker, source))
                break
            yield table


class _WorkerInputError(NamedTuple):
    """An InputError's fields, sent back from a worker process (the exception itself does not
    unpickle: its constructor takes four arguments)."""

    file: str
    field: str
    problem: str
    fix: str


def _read_in_worker(source):
    try:
        return read_sample_soap(source)
    except InputError as error:
        return _WorkerInputError(error.file, error.field, error.problem, error.fix)


def structure_files(tables, structure_folders):
    """``{sample_id: structure file}`` over per-trajectory sample tables paired in order with
    the folders holding their structures (the file name from the table's ``structure`` column,
    the folder from the workflow, so a moved results folder still reads).  Insertion order is
    table order, then row order."""
    tables, structure_folders = list(tables), list(structure_folders)
    if len(tables) != len(structure_folders):
        raise ValueError(f"{len(tables)} sample tables but {len(structure_folders)} structure folders: "
                         "they must pair up")
    files = {}
    for table_path, folder in zip(tables, structure_folders):
        try:
            table = pd.read_parquet(table_path, columns=["sample_id", "structure"])
        except (OSError, pa.ArrowInvalid, KeyError) as error:
            raise InputError(table_path, "sample_id, structure", f"not a sample table ({error})",
                             "rerun the trajectory's job that writes it") from error
        for sample_id, structure in zip(table["sample_id"], table["structure"]):
            files[str(sample_id)] = Path(folder) / Path(structure).name
    return files


def soap_sources(sample_ids, soap_folders=None, tables=None, structure_folders=None, soap_params=None,
                 n_workers=1):
    """Where the unit SOAP vectors of each of ``sample_ids`` come from, in that order.

    Stored mode (``soap_folders`` given): each sample's Parquet file in the per-batch SOAP
    folders (:func:`find_soap_files`).  Streamed mode (``soap.store: false``; ``tables``,
    ``structure_folders`` and ``soap_params``, the config's ``soap`` section, given instead): a
    :class:`StructureSample` per sample, described by ``n_workers`` processes ahead of the
    reader (:func:`iter_sample_soap`).  Either list goes to
    :func:`iter_soap_batches`, :func:`mean_unit_vectors` or the dictionary and encoding
    functions of :mod:`mgbarcode.ules`, which then see the same vectors in the same order.
    """
    sample_ids = [str(sample_id) for sample_id in sample_ids]
    if soap_folders:
        return find_soap_files(list(soap_folders), sample_ids)
    if tables is None or structure_folders is None or soap_params is None:
        raise ValueError("give soap_folders (stored SOAP) or tables, structure_folders and soap_params "
                         "(SOAP computed from the structures)")
    files = structure_files(tables, structure_folders)
    missing = [sample_id for sample_id in sample_ids if sample_id not in files]
    if missing:
        shown = ", ".join(str(table) for table in list(tables)[:3]) + (", ..." if len(tables) > 3 else "")
        raise InputError(shown, "sample_id", f"no structure for {len(missing)} samples (e.g. {missing[:3]})",
                         "give the sample tables of every trajectory whose samples are read")
    parameters = descriptor_parameters(soap_params)
    make_soap(**parameters)  # a bad parameter fails here, before any job work
    return [StructureSample(sample_id, files[sample_id], parameters, int(n_workers)) for sample_id in sample_ids]


def source_sample_ids(soap_folders=None, tables=None):
    """The sample ids with SOAP in ``soap_folders`` (stored mode: one ``<sample_id>.parquet``
    each) or in the sample ``tables`` (streamed mode), sorted."""
    if soap_folders:
        return sorted(path.stem for folder in soap_folders
                      for path in Path(folder).glob(f"*{layout.SOAP_FILE_SUFFIX}"))
    return sorted(str(sample_id) for table in (tables or [])
                  for sample_id in pd.read_parquet(table, columns=["sample_id"])["sample_id"])


class SoapInput(NamedTuple):
    """Where a job reads its SOAP from: the stored per-batch folders (``soap.store: true``), or
    the per-trajectory sample tables and structure folders, paired in order, from which
    ``n_workers`` processes compute it with ``soap_params`` (the config's ``soap`` section) as
    the job streams it (``soap.store: false``).  See :func:`soap_sources`."""

    soap_folders: list = None
    tables: list = None
    structure_folders: list = None
    soap_params: dict = None
    n_workers: int = 1

    @classmethod
    def of_job(cls, inputs, params, threads):
        """A Snakemake job's SOAP input: its ``soap`` input (stored folders) or its
        ``soap_tables`` and ``soap_structures`` inputs with its ``soap`` param, described by
        ``threads`` worker processes (workflow/rules/common.smk, ``soap_input``)."""
        return cls(inputs.get("soap"), inputs.get("soap_tables"), inputs.get("soap_structures"), params.get("soap"),
                   threads)

    def sources(self, sample_ids):
        """The SOAP source of each of ``sample_ids``, in that order (:func:`soap_sources`)."""
        return soap_sources(sample_ids, soap_folders=self.soap_folders, tables=self.tables,
                            structure_folders=self.structure_folders, soap_params=self.soap_params,
                            n_workers=self.n_workers)

    def sample_ids(self):
        """Every sample id with SOAP here, sorted (:func:`source_sample_ids`)."""
        return source_sample_ids(soap_folders=self.soap_folders, tables=self.tables)


def find_soap_files(folders, sample_ids):
    """The SOAP file of each of ``sample_ids`` among the per-sample files in ``folders``.

    Files are named :func:`mgbarcode.results_layout.soap_file` (one folder per job batch).
    Raises :class:`InputError` naming the folders when a sample has no file.
    """
    by_sample = {path.stem: path for folder in folders for path in Path(folder).glob(f"*{layout.SOAP_FILE_SUFFIX}")}
    missing = [sample_id for sample_id in sample_ids if sample_id not in by_sample]
    if missing:
        shown = ", ".join(str(folder) for folder in list(folders)[:3]) + (", ..." if len(folders) > 3 else "")
        raise InputError(shown, "sample_id", f"no SOAP file for {len(missing)} samples (e.g. {missing[:3]})",
                         "rerun the soap_descriptors jobs (snakemake --forcerun soap_descriptors)")
    return [by_sample[sample_id] for sample_id in sample_ids]


def mean_unit_vectors(paths):
    """Each sample's mean L2-normalised SOAP vector (float64), one sample at a time: the sample's
    structure as a linear model of per-atom SOAP sees it.  ``paths``: SOAP sources (Parquet
    files or :class:`StructureSample` s, :func:`soap_sources`).  Returns ``(sample_ids, matrix)``."""
    sample_ids, rows = [], []
    for table in iter_sample_soap(paths):
        sample_ids.append(table.sample_id)
        rows.append(table.unit_vectors.astype(np.float64).mean(axis=0))
    return sample_ids, np.vstack(rows)


class SoapBatch(NamedTuple):
    """Consecutive environments streamed from several SOAP files."""

    file_index: np.ndarray  # int32 [n]: position of each row's file in the ``paths`` given
    sample_ids: np.ndarray  # object (str) [n]
    atoms: np.ndarray  # int32 [n]
    species: np.ndarray  # object (str) [n]
    unit_vectors: np.ndarray  # float32 [n, n_features]

    def rows(self, start, stop):
        return SoapBatch(*(field[start:stop] for field in self))

    def copy(self):
        return SoapBatch(*(np.array(field) for field in self))

    @staticmethod
    def concatenate(pieces):
        return SoapBatch(*(np.concatenate(fields) for fields in zip(*pieces)))


def iter_soap_batches(paths, batch_size):
    """Stream the environments of SOAP sources in the order of ``paths`` (atoms in file order).

    ``paths``: Parquet files or :class:`StructureSample` s (:func:`soap_sources`); a structure's
    vectors are computed as it is reached, so the batches are the same either way.

    Yields :class:`SoapBatch` es of exactly ``batch_size`` rows (the last may be shorter);
    a batch may span files, so small samples still give full batches.  At any time this
    holds one file, at most one batch being yielded, and a carried-over remainder smaller
    than a batch (copied, so the previous file can be freed).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    carried, n_carried = [], 0
    for file_index, soap in enumerate(iter_sample_soap(paths)):
        n_rows = len(soap.atom)
        current = SoapBatch(np.full(n_rows, file_index, dtype=np.int32),
                            np.full(n_rows, soap.sample_id, dtype=object),
                            soap.atom, soap.species, soap.unit_vectors)
        start = 0
        if n_carried:
            start = min(batch_size - n_carried, n_rows)
            carried.append(current.rows(0, start).copy())
            n_carried += start
            if n_carried == batch_size:
                yield SoapBatch.concatenate(carried)
                carried, n_carried = [], 0
        while n_rows - start >= batch_size:
            yield current.rows(start, start + batch_size)
            start += batch_size
        if start < n_rows:
            carried.append(current.rows(start, n_rows).copy())
            n_carried += n_rows - start
    if n_carried:
        yield SoapBatch.concatenate(carried)


# --------------------------------------------------------------------------- one job

def soap_for_structures(structure_paths, sample_ids, out_paths, soap_params, provenance):
    """Compute and write the SOAP file of every structure of one job (e.g. one trajectory).

    The descriptor is built once and reused; writing a file (Parquet encoding and disk) runs
    in one background thread while the next structure is described, so at most two samples'
    descriptors are in memory.  Logs one line per file with its rate in atoms/s.

    Parameters
    ----------
    structure_paths, sample_ids, out_paths : sequences of equal length
        Extended-XYZ inputs, their sample ids, and the Parquet files to write.
    soap_params : dict
        Keyword arguments of :func:`make_soap` (the config's ``soap:`` section).
    provenance : dict
        From :func:`mgbarcode.provenance.record`; the SOAP parameters are added to it.
    """
    if not len(structure_paths) == len(sample_ids) == len(out_paths):
        raise ValueError(f"{len(structure_paths)} structures, {len(sample_ids)} sample ids and "
                         f"{len(out_paths)} outputs: they must pair up")
    soap = make_soap(**soap_params)
    n_features = soap.get_number_of_features()
    file_provenance = {**provenance, "soap": dict(soap_params), "soap_n_features": n_features}
    log.info("SOAP %s: %d features per atom, %d structures", soap_params, n_features, len(out_paths))
    started, n_atoms_total = time.perf_counter(), 0
    with ThreadPoolExecutor(max_workers=1) as writer:
        pending = None
        for number, (structure_path, sample_id, out_path) in enumerate(
                zip(structure_paths, sample_ids, out_paths), start=1):
            tick = time.perf_counter()
            atoms = io.read_structure(structure_path)
            unit_vectors, norms = soap_vectors(atoms, soap, source=structure_path)
            if pending is not None:
                pending.result()  # re-raises a failed write; bounds memory to two samples
            pending = writer.submit(write_soap_parquet, out_path, sample_id, atoms, unit_vectors,
                                    norms, file_provenance)
            seconds = time.perf_counter() - tick
            n_atoms_total += len(atoms)
            log.info("[%d/%d] %s: %d atoms in %.2f s (%.0f atoms/s)", number, len(out_paths),
                     sample_id, len(atoms), seconds, len(atoms) / max(seconds, 1e-9))
        if pending is not None:
            pending.result()
    elapsed = time.perf_counter() - started
    log.info("SOAP done: %d atoms in %.1f s (%.0f atoms/s)", n_atoms_total, elapsed,
             n_atoms_total / max(elapsed, 1e-9))


def write_batch_soap(tables, structure_folders, out_folder, soap_params, config):
    """The soap_descriptors job: the SOAP file of every inherent structure of a batch's
    histories (``tables`` paired in order with ``structure_folders``) into ``out_folder``, which
    appears whole or not at all; the files carry the provenance record of the run's ``config``."""
    structure_of = structure_files(tables, structure_folders)
    with io.atomic_directory(out_folder) as tmp_dir:
        soap_for_structures(structure_paths=list(structure_of.values()), sample_ids=list(structure_of),
                            out_paths=[Path(tmp_dir) / layout.soap_file(sample_id) for sample_id in structure_of],
                            soap_params=soap_params, provenance=provenance.record(config))


def mean_soap_columns(n_features):
    """Column names of the mean-SOAP features: ``soap_0000`` ..."""
    return [f"{layout.MEAN_SOAP_PREFIX}{i:04d}" for i in range(n_features)]


def write_mean_soap(soap_input, out_path, config):
    """The mean_soap job: the mean unit SOAP vector (:func:`mean_unit_vectors`) of every sample
    of ``soap_input`` (a :class:`SoapInput`), by sample id, one row each, with the provenance
    record of the run's ``config``."""
    sources = soap_input.sources(soap_input.sample_ids())
    sample_ids, matrix = mean_unit_vectors(sources)
    table = pd.concat([pd.DataFrame({"sample_id": sample_ids}),
                       pd.DataFrame(matrix, columns=mean_soap_columns(matrix.shape[1]))], axis=1)
    io.write_parquet(table, out_path, provenance.record(config))
    log.info("mean SOAP of %d samples, %d features", len(table), matrix.shape[1])
