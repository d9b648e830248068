"""Snakemake job: barcodes of every sample; Pearson r of each entry with the IS energy."""
import numpy as np
import pandas as pd

from mgbarcode import barcode, basins, kernels, logs, provenance
from mgbarcode.io import write_json, write_parquet

log = logs.to_file(snakemake.log[0])
top = pd.read_parquet(snakemake.input.kernels)
counts = pd.read_parquet(snakemake.input.counts)
count_matrix = barcode.ule_count_matrix(counts)
s, zero = barcode.barcodes(count_matrix, top["ule_id"].to_numpy())
table = barcode.barcode_table(counts["sample_id"], s, zero, count_matrix[:, top["ule_id"].to_numpy()].sum(axis=1))
catalogue = pd.read_parquet(snakemake.input.catalogue, columns=["sample_id", "split", "energy_eV_per_atom", "repeat_of"])
joined = table.merge(catalogue, on="sample_id", validate="one_to_one")
train = basins.distinct(joined[(joined["split"] == "train") & ~joined["zero_barcode"]])
names = barcode.barcode_column_names(len(top))
top["pearson_r"] = kernels.pearson_with_energy(train[names].to_numpy(), train["energy_eV_per_atom"].to_numpy())
zero_ids = joined.loc[joined["zero_barcode"], ["sample_id", "split"]]
for split, group in zero_ids.groupby("split"):
    log.warning("%d %s samples have a zero barcode (none of their atoms is nearest to a top ULE): %s",
                len(group), split, ", ".join(group["sample_id"]))
record = provenance.record(snakemake.config)
write_parquet(table, snakemake.output.barcodes, record)
write_parquet(top, snakemake.output.top_ules, record)
write_json(snakemake.output.summary, {
    "k": len(top), "k_config": snakemake.params.k,
    "k_note": "k = K_eff, the ULEs with non-zero mean |SHAP| (model/shap_long_tail.json), when fewer than k_config", "n_group1": int((top.group == 1).sum()), "n_group2": int((top.group == 2).sum()),
    "n_icosahedral": int(top.icosahedral.sum()), "n_samples": len(table),
    "n_zero_barcodes": {split: int(n) for split, n in zero_ids.groupby("split").size().items()},
    "zero_barcode_samples": zero_ids["sample_id"].tolist(),
    "pearson_r_computed_on": f"{len(train)} train samples (distinct IS)", "provenance": record})
