"""Snakemake job: the paper's figures of the energy model and the barcodes (PNG + SVG)."""
import json

import pandas as pd

from mgbarcode import barcode, figures, kernels, logs

log = logs.to_file(snakemake.log[0])
inputs, out = snakemake.input, snakemake.output
predictions = pd.read_parquet(inputs.predictions)
predictions = predictions[predictions["split"].isin(["test", "size"])].merge(
    pd.read_parquet(inputs.catalogue, columns=["sample_id", "n_atoms"]), on="sample_id")
model_titles = {"xgboost_fractions": "XGBoost on ULE fractions", "xgboost_barcode": "XGBoost on the barcode",
                "ridge_fractions": "ridge on ULE fractions", "ridge_mean_soap": "ridge on mean SOAP",
                "ule_energy_per_atom_fit": "ULE energies (fitted to per-atom energies)",
                "train_mean": "training mean"}
figures.parity_plot({
    title: {f"{split} (N={int(n)})": (group["energy_eV_per_atom"], group["predicted_eV_per_atom"])
            for (split, n), group in predictions[predictions["model"] == model].groupby(["split", "n_atoms"])}
    for model, title in model_titles.items()}, (out.parity, out.parity_svg))
ranking, tail = pd.read_parquet(inputs.ranking), json.loads(open(inputs.tail).read())
figures.shap_distribution(ranking["mean_abs_shap"], tail["k_config"], tail["k_long_tail"],
                          tail["tail_threshold_eV_per_atom"], (out.shap, out.shap_svg))
top = pd.read_parquet(inputs.top_ules)
names = barcode.barcode_column_names(len(top))
samples = pd.read_parquet(inputs.barcodes).merge(
    pd.read_parquet(inputs.catalogue, columns=["sample_id", "split", "energy_eV_per_atom"]), on="sample_id")
samples = samples[(samples["split"] == "train") & ~samples["zero_barcode"]].reset_index(drop=True)
shown = figures.representative_indices(samples["energy_eV_per_atom"], snakemake.params.n_barcodes_shown)
figures.barcode_panels(samples.loc[shown, names].to_numpy(), samples.loc[shown, "energy_eV_per_atom"], top["group"],
                       (out.barcodes, out.barcodes_svg))
figures.pearson_plot(top["pearson_r"], top["icosahedral"], top["group"], (out.pearson, out.pearson_svg))
sums = kernels.group_sums(samples[names].to_numpy(), top["group"].to_numpy(), top["icosahedral"].to_numpy())
figures.group_sums_plot(sums, samples["energy_eV_per_atom"], (out.group_sums, out.group_sums_svg))
log.info("figures written")
