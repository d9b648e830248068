"""ULE energies: each ULE's mean per-atom potential energy over the ``train`` atoms whose nearest
ULE it is, and the IS energy per atom they predict for any sample.

The paper's picture taken literally: a glass is a mixture of local environments, each with its
own energy, so a sample's energy per atom is the count-weighted mean of its ULEs' energies,

    Ê/N = Σ_k c_k ε_k / N,   ε_k = mean of e_i over train atoms i with nearest ULE k,

with e_i the per-atom potential energy of the EAM potential (LAMMPS ``pe/atom``, stored with
every IS) and c_k the sample's nearest-ULE counts.  It fits nothing but these means, so it is
a reference for the learned models: what the ULE encoding itself carries about the energy.
Its error has a floor set by the spread of e_i within a ULE (``std_energy_eV``) divided by
√N.  Units: eV (per atom).
"""

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from . import basins, io, provenance
from .results_layout import TRAIN_SPLIT

log = logging.getLogger(__name__)


def ule_energies(ule_index, atom_energies_eV, n_ules):
    """Mean and standard deviation of the per-atom energy at each ULE.

    Parameters
    ----------
    ule_index : int array [n_atoms]
        Nearest ULE of each atom (0 … n_ules−1).
    atom_energies_eV : float array [n_atoms]
        Per-atom potential energy (eV).
    n_ules : int

    Returns
    -------
    DataFrame with one row per ULE: ``ule_id, n_atoms, mean_energy_eV, std_energy_eV``
    (population std).  A ULE that no atom is nearest to gets the mean over all atoms and a
    NaN std (this cannot occur for a dictionary built from the same atoms, whose leaders are
    their own nearest ULEs).
    """
    ule_index = np.asarray(ule_index, dtype=np.int64)
    energies = np.asarray(atom_energies_eV, dtype=np.float64)
    if ule_index.shape != energies.shape:
        raise ValueError(f"{ule_index.shape[0]} ULE indices but {energies.shape[0]} energies")
    counts = np.bincount(ule_index, minlength=n_ules)
    seen = counts > 0
    mean = np.full(n_ules, energies.mean())
    spread = np.full(n_ules, np.nan)
    mean[seen] = np.bincount(ule_index, weights=energies, minlength=n_ules)[seen] / counts[seen]
    # two passes (residuals about each ULE's mean): E[x²] − E[x]² would lose ~1e-7 eV to rounding
    residual = energies - mean[ule_index]
    spread[seen] = np.sqrt(np.bincount(ule_index, weights=residual ** 2, minlength=n_ules)[seen] / counts[seen])
    return pd.DataFrame({"ule_id": np.arange(n_ules, dtype=np.int64), "n_atoms": counts.astype(np.int64),
                         "mean_energy_eV": mean, "std_energy_eV": spread})


def predict_energy_per_atom(nearest_counts, mean_energy_eV):
    """IS energy per atom (eV/atom) of each sample: Σ_k c_k ε_k / Σ_k c_k.

    ``nearest_counts`` [n_samples, n_ules] (all atoms, as in ``encoding/counts.parquet``);
    ``mean_energy_eV`` [n_ules] from :func:`ule_energies`.
    """
    counts = np.asarray(nearest_counts, dtype=np.float64)
    return counts @ np.asarray(mean_energy_eV, dtype=np.float64) / counts.sum(axis=1)


def within_ule_spread_eV(ule_energy_table):
    """σ_w: rms per-atom energy spread within a ULE, weighted by the atoms at each ULE (eV),
    from a :func:`ule_energies` table; it sets the noise floor σ_w/√N of any model of ULE
    fractions."""
    table = ule_energy_table.dropna(subset=["std_energy_eV"])
    return float(np.sqrt(np.average(table["std_energy_eV"] ** 2, weights=table["n_atoms"])))


def write_ule_energies(atoms_paths, structure_folders, species, catalogue_path, out_path, config):
    """The ule_energies job: :func:`ule_energies` over every atom of the distinct ``train``
    samples, from the per-atom ULE assignment of the encoding batches (``atoms_paths``) and
    the per-atom energies stored with each IS (in its history's folder among
    ``structure_folders``).  ``species``: the centre species of every ULE, in id order.  Writes
    the table with the provenance record of the run's ``config``."""
    catalogue = pd.read_parquet(catalogue_path, columns=["sample_id", "split", "trajectory_id", "structure",
                                                         "repeat_of"])
    train = basins.distinct(catalogue[catalogue["split"] == TRAIN_SPLIT]).set_index("sample_id")
    folder_of = {Path(folder).name: Path(folder) for folder in structure_folders}
    ule_index, atom_energies = [], []
    for atoms_path in atoms_paths:  # one batch at a time: memory ~ one batch + two arrays
        atoms = pd.read_parquet(atoms_path, columns=["sample_id", "atom", "ule_id"])
        for sample_id, group in atoms[atoms["sample_id"].isin(train.index)].groupby("sample_id", sort=False):
            row = train.loc[sample_id]
            structure = io.read_structure(folder_of[row["trajectory_id"]] / Path(row["structure"]).name)
            ule_index.append(group["ule_id"].to_numpy())
            atom_energies.append(structure.get_potential_energies()[group["atom"].to_numpy()])
    ule_index, atom_energies = np.concatenate(ule_index), np.concatenate(atom_energies)
    table = ule_energies(ule_index, atom_energies, len(species))
    table.insert(1, "species", np.asarray(species))
    log.info("%d train atoms over %d ULEs: per-atom energy std %.1f meV, within a ULE %.1f meV (rms)",
             len(atom_energies), len(table), 1000 * atom_energies.std(), 1000 * within_ule_spread_eV(table))
    io.write_parquet(table, out_path, provenance.record(config))
