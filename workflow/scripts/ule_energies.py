"""Snakemake job: each ULE's mean per-atom energy over the train atoms nearest to it."""
from pathlib import Path

import numpy as np
import pandas as pd

from mgbarcode import basins, io, logs, provenance, ule_energy, ules

log = logs.to_file(snakemake.log[0])
dictionary = ules.read_dictionary(snakemake.input.dictionary)
catalogue = pd.read_parquet(snakemake.input.catalogue,
                            columns=["sample_id", "split", "trajectory_id", "structure", "repeat_of"])
train = basins.distinct(catalogue[catalogue["split"] == "train"]).set_index("sample_id")
folder_of = {Path(folder).name: Path(folder) for folder in snakemake.input.structures}
ule_index, atom_energies = [], []
for atoms_path in snakemake.input.atoms:  # one batch at a time: memory ~ one batch + two arrays
    atoms = pd.read_parquet(atoms_path, columns=["sample_id", "atom", "ule_id"])
    for sample_id, group in atoms[atoms["sample_id"].isin(train.index)].groupby("sample_id", sort=False):
        row = train.loc[sample_id]
        structure = io.read_structure(folder_of[row["trajectory_id"]] / Path(row["structure"]).name)
        ule_index.append(group["ule_id"].to_numpy())
        atom_energies.append(structure.get_potential_energies()[group["atom"].to_numpy()])
ule_index, atom_energies = np.concatenate(ule_index), np.concatenate(atom_energies)
table = ule_energy.ule_energies(ule_index, atom_energies, len(dictionary.frame))
table.insert(1, "species", dictionary.frame["species"].to_numpy())
log.info("%d train atoms over %d ULEs: per-atom energy std %.1f meV, within a ULE %.1f meV (rms)",
         len(atom_energies), len(table), 1000 * atom_energies.std(),
         1000 * ule_energy.within_ule_spread_eV(table))
io.write_parquet(table, snakemake.output[0], provenance.record(snakemake.config))
