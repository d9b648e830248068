"""Voronoi kernels of the top ULEs (the paper's Figs. 3 and 7); their barcode entries' relation to
energy is in :mod:`mgbarcode.barcode`.

The kernel of a ULE is the first-neighbour Voronoi polyhedron of its centre atom in its
source inherent structure, summarised by the Voronoi index ⟨n3, n4, n5, n6⟩ (nk = number of
faces with k edges).  Faces with 7 or more edges are not part of the index (the field's
convention); :func:`kernel_table` reports their number as ``n7_plus`` so none is hidden.

Tessellation: OVITO's ``VoronoiAnalysisModifier`` with ``compute_indices=True``.  In OVITO 3.x
(checked with 3.17) the ``Voronoi Index`` property of a particle is a vector whose i-th
component (1-based) counts faces with i edges: it starts at n1, so its first two components
are always zero, n3 is the third (0-based column 2), and its length equals the largest face
order in the structure (global attribute ``Voronoi.max_face_order``).
:func:`face_order_histogram` checks both facts, fails loudly if an OVITO build lays the
vector out otherwise, and returns it shifted so that column k counts k-edged faces.
"""

import json
import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from . import barcode, provenance
from .errors import InputError
from .io import read_structure, write_parquet
from .results_layout import DICTIONARY

log = logging.getLogger(__name__)

#: Face orders of the Voronoi index ⟨n3, n4, n5, n6⟩.
INDEX_FACE_ORDERS = (3, 4, 5, 6)
ICOSAHEDRON = (0, 0, 12, 0)


def face_order_histogram(atoms, use_radii=False, radii_A=None, face_threshold_A2=0.0,
                         relative_face_threshold=0.0, edge_threshold_A=0.0):
    """Per-atom count of Voronoi faces by number of edges, for every atom of ``atoms``.

    Parameters
    ----------
    atoms : ase.Atoms
        The structure; its ``pbc`` flags and cell are used (the pipeline's structures are
        periodic in all three directions).
    use_radii : bool
        False: plain Voronoi (bisecting planes).  True: radical (power) tessellation with
        per-species radii ``radii_A`` ({symbol: radius in Å}), which must then cover every
        species present.
    face_threshold_A2, relative_face_threshold, edge_threshold_A : float
        OVITO's filters: faces below an absolute area (Å²) or a fraction of the cell's
        surface are dropped, and edges shorter than a length (Å) are not counted.

    Returns an int array [n_atoms, max_face_order + 1]: column k = faces with k edges.
    """
    from ovito.io.ase import ase_to_ovito
    from ovito.modifiers import VoronoiAnalysisModifier

    data = ase_to_ovito(atoms)
    if use_radii:
        symbols = atoms.get_chemical_symbols()
        missing = sorted(set(symbols) - set(radii_A or {}))
        if missing:
            raise InputError("config", "kernels.radii_A", f"no Voronoi radius for {missing}",
                             "give a radius (Å) for every species or turn use_radii off")
        data.particles_.create_property(
            "Radius", data=np.array([radii_A[symbol] for symbol in symbols], dtype=np.float64))
    data.apply(VoronoiAnalysisModifier(
        compute_indices=True, use_radii=bool(use_radii), face_threshold=face_threshold_A2,
        relative_face_threshold=relative_face_threshold, edge_threshold=edge_threshold_A))
    from_n1 = np.asarray(data.particles["Voronoi Index"], dtype=np.int64).reshape(len(atoms), -1)
    if (from_n1.shape[1] != data.attributes["Voronoi.max_face_order"]
            or from_n1[:, :min(2, from_n1.shape[1])].any()):
        raise RuntimeError("OVITO's 'Voronoi Index' does not start at n1 (faces with 1 edge): "
                           "this OVITO version lays it out differently than mgbarcode assumes")
    # Prepend a zero column for 0-edged faces so that column k counts k-edged faces.
    return np.hstack([np.zeros((len(atoms), 1), dtype=np.int64), from_n1])


def voronoi_indices(atoms, atom_indices=None, use_radii=False, radii_A=None,
                    face_threshold_A2=0.0, relative_face_threshold=0.0, edge_threshold_A=0.0):
    """Voronoi index ⟨n3, n4, n5, n6⟩ of atoms of ``atoms`` (all, or ``atom_indices``).

    Tessellation options as in :func:`face_order_histogram` (default: plain Voronoi, no
    thresholds).  Returns an int array [n, 4].
    """
    histogram = face_order_histogram(atoms, use_radii, radii_A, face_threshold_A2,
                                     relative_face_threshold, edge_threshold_A)
    return _index_columns(histogram)[_selection(atoms, atom_indices)]


def _selection(atoms, atom_indices):
    return np.arange(len(atoms)) if atom_indices is None else np.asarray(atom_indices, dtype=int)


def _index_columns(histogram):
    """⟨n3..n6⟩ columns of a face-order histogram, zero-padded when no face has 6 edges."""
    padded = np.zeros((len(histogram), max(histogram.shape[1], INDEX_FACE_ORDERS[-1] + 1)),
                      dtype=np.int64)
    padded[:, :histogram.shape[1]] = histogram
    return padded[:, INDEX_FACE_ORDERS[0]:INDEX_FACE_ORDERS[-1] + 1]


def kasper_group(index):
    """1 for a Kasper-like kernel (n3 = 0 and 2·n4 + n5 = 12, the paper's rule), else 2.
    ``index`` is ⟨n3, n4, n5, n6⟩.

    Note: a Voronoi cell whose vertices are all 3-fold obeys Euler's relation
    Σ_k (6 − k)·n_k = 12, so without face/edge thresholds the rule amounts to "no triangular
    face and no face with 7 or more edges": e.g. ⟨0,3,6,4⟩ and ⟨0,2,8,1⟩ are group 1.
    """
    n3, n4, n5, _ = (int(v) for v in index)
    return 1 if n3 == 0 and 2 * n4 + n5 == 12 else 2


def is_icosahedral(index):
    """True for the icosahedral kernel ⟨0, 0, 12, 0⟩."""
    return tuple(int(v) for v in index) == ICOSAHEDRON


def format_index(index):
    """``"<n3,n4,n5,n6>"``."""
    return "<" + ",".join(str(int(v)) for v in index) + ">"


def _structure(structure_for_sample, sample_id):
    source = (structure_for_sample[sample_id] if isinstance(structure_for_sample, Mapping)
              else structure_for_sample(sample_id))
    if hasattr(source, "get_chemical_symbols"):  # already an ase.Atoms
        return source
    return read_structure(source)


def kernel_table(top_ules, dictionary, structure_for_sample, voronoi_options=None):
    """Voronoi kernel of each top ULE's centre atom in its source structure.

    Parameters
    ----------
    top_ules : DataFrame
        ``rank, ule_id, mean_abs_shap`` (from the SHAP ranking).
    dictionary : DataFrame
        ``ule_id, species, source_sample_id, source_atom`` (extra columns ignored).
    structure_for_sample : mapping or callable
        ``sample_id ->`` path of the sample's inherent structure, or an ``ase.Atoms``.  Each
        source structure is read and tessellated once.
    voronoi_options : dict or None
        Keyword arguments of :func:`face_order_histogram` (radii, thresholds).

    Returns a DataFrame in ``top_ules`` order with ``rank, ule_id, mean_abs_shap, species,
    source_sample_id, source_atom, voronoi_index ("<n3,n4,n5,n6>"), n3, n4, n5, n6, n7_plus,
    group (1 Kasper-like / 2 other), icosahedral``.
    """
    voronoi_options = voronoi_options or {}
    columns = ["ule_id", "species", "source_sample_id", "source_atom"]
    table = top_ules[["rank", "ule_id", "mean_abs_shap"]].merge(
        dictionary[columns], on="ule_id", how="left", validate="one_to_one")
    unknown = table.loc[table["source_sample_id"].isna(), "ule_id"].tolist()
    if unknown:
        raise InputError(Path(DICTIONARY).name, "ule_id", f"top ULEs {unknown} are not in the "
                         "dictionary", "rebuild the ranking and dictionary from the same run")
    index = np.zeros((len(table), 4), dtype=np.int64)
    n7_plus = np.zeros(len(table), dtype=np.int64)
    for sample_id, rows in table.groupby("source_sample_id", sort=True).groups.items():
        atoms = _structure(structure_for_sample, sample_id)
        positions = table.index.get_indexer(rows)
        atom_ids = table.loc[rows, "source_atom"].to_numpy(dtype=int)
        symbols = np.array(atoms.get_chemical_symbols())[atom_ids]
        expected = table.loc[rows, "species"].to_numpy()
        if (symbols != expected).any():
            raise InputError(sample_id, "source_atom", "the atom's species differs from the "
                             "dictionary's", "use the structures the dictionary was built from")
        histogram = face_order_histogram(atoms, **voronoi_options)[atom_ids]
        index[positions] = _index_columns(histogram)
        n7_plus[positions] = histogram[:, INDEX_FACE_ORDERS[-1] + 1:].sum(axis=1)
    table["voronoi_index"] = [format_index(row) for row in index]
    for column, values in zip(("n3", "n4", "n5", "n6"), index.T):
        table[column] = values
    table["n7_plus"] = n7_plus
    table["group"] = [kasper_group(row) for row in index]
    table["icosahedral"] = [is_icosahedral(row) for row in index]
    return table


def write_top_ules(ranking_path, tail_path, dictionary_path, catalogue_path, k, voronoi_options, config_source,
                   out_path, config):
    """The top_ule_kernels job: the top-K_eff ULEs of the SHAP ranking (K_eff from the long-tail
    JSON, so no entry is filled by a tie-break), the Voronoi kernel of each one's centre atom
    (:func:`kernel_table`) and its group, in barcode order
    (:func:`mgbarcode.barcode.order_top_ules`), with the provenance record of the run's
    ``config``.  ``k``: the configured barcode.k, checked against the dictionary's size
    (``config_source`` names the config in the error)."""
    ranking = pd.read_parquet(ranking_path)
    dictionary = pd.read_parquet(dictionary_path, columns=["ule_id", "species", "source_sample_id", "source_atom"])
    barcode.check_k(k, len(dictionary), config_source)
    k_eff = json.loads(Path(tail_path).read_text())["k_eff"]
    structures = pd.read_parquet(catalogue_path, columns=["sample_id", "structure"])
    structure_of = dict(zip(structures["sample_id"], structures["structure"]))
    top = kernel_table(ranking.head(k_eff)[["rank", "ule_id", "mean_abs_shap"]], dictionary, structure_of,
                       voronoi_options=voronoi_options)
    ordered = barcode.order_top_ules(top)
    log.info("top %d ULEs: %d in group 1 (Kasper-like), %d in group 2, %d icosahedral", k_eff,
             (ordered.group == 1).sum(), (ordered.group == 2).sum(), ordered.icosahedral.sum())
    write_parquet(ordered, out_path, provenance.record(config))
