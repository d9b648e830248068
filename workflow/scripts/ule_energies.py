"""Snakemake job: each ULE's mean per-atom energy over the train atoms nearest to it."""
from mgbarcode import logs, ule_energy
from mgbarcode.ules import leader_dictionary

logs.to_file(snakemake.log[0])
dictionary = leader_dictionary.read_dictionary(snakemake.input.dictionary)
ule_energy.write_ule_energies(snakemake.input.atoms, snakemake.input.structures,
                              dictionary.frame["species"].to_numpy(), snakemake.input.catalogue,
                              snakemake.output[0], snakemake.config)
