"""Atomic file output, Parquet tables with provenance, extended-XYZ structures.

Every writer here writes to a temporary file in the destination folder and renames it
into place, so a killed job leaves either the old file or the new one, never half of one.
The temporary is hidden (``.<name>.partial.tmp``); the one a killed job leaves behind is
removed when the same output is next written (a SOAP batch's can be gigabytes).
"""

import contextlib
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from . import structures

PROVENANCE_KEY = b"mgbarcode.provenance"


def _partial(path):
    """The temporary beside ``path``, with any a killed write of it left removed first (only
    one job writes a given output at a time, so a temporary there now is dead)."""
    partial = path.parent / f".{path.name}.partial.tmp"
    if partial.is_dir() and not partial.is_symlink():
        shutil.rmtree(partial)
    elif partial.exists() or partial.is_symlink():
        partial.unlink()
    return partial


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; rename it onto ``path`` if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _partial(path)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@contextlib.contextmanager
def atomic_directory(path):
    """Yield a fresh temporary directory beside ``path``; it replaces ``path`` on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _partial(path)
    tmp.mkdir()
    try:
        yield tmp
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def write_text(path, text):
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        Path(tmp).write_text(text)


def write_json(path, obj):
    """Write ``obj`` as indented, key-sorted JSON atomically (stable bytes for equal content)."""
    write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n")


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def write_parquet(table, path, provenance=None, **write_options):
    """Write a DataFrame or pyarrow Table to ``path`` atomically.

    ``provenance`` (a JSON-serialisable dict) is stored in the file's schema metadata under
    ``mgbarcode.provenance``; :func:`read_provenance` returns it.  The index of a DataFrame
    is not written.  ``write_options`` go to ``pyarrow.parquet.write_table``.
    """
    if isinstance(table, pd.DataFrame):
        table = pa.Table.from_pandas(table, preserve_index=False)
    if provenance is not None:
        metadata = dict(table.schema.metadata or {})
        metadata[PROVENANCE_KEY] = json.dumps(provenance, sort_keys=True, default=_json_default).encode()
        table = table.replace_schema_metadata(metadata)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, **write_options)


def read_provenance(path):
    """Return the provenance dict stored by :func:`write_parquet`, or ``{}``."""
    metadata = pq.read_schema(path).metadata or {}
    raw = metadata.get(PROVENANCE_KEY)
    return json.loads(raw) if raw else {}


def write_structure(atoms, path):
    """Write an ASE ``Atoms`` (with an attached calculator holding ``energy``/``energies``/
    ``forces`` if available) to extended XYZ atomically."""
    import ase.io

    with atomic_path(path) as tmp:
        ase.io.write(tmp, atoms, format="extxyz")


def read_structure(path, index=-1, type_elements=None):
    """Read one frame of an extended-XYZ, LAMMPS data or LAMMPS dump file as ASE ``Atoms``.

    Raises :class:`mgbarcode.errors.InputError` naming the file when it cannot be read.
    """
    return structures.read(path, index=index, type_elements=type_elements)
