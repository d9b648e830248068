"""Snakemake job: thermal references at matching IS energy for every mechanical sample, the
barcode contrast δs, per-condition summary, its correlation with strain heterogeneity, figures."""
from pathlib import Path

import numpy as np
import pandas as pd

from mgbarcode import atomic_strain, barcode, figures, heterogeneity, histories, logs, provenance
from mgbarcode.io import read_structure, write_json, write_parquet

log = logs.to_file(snakemake.log[0])
inputs, out, params = snakemake.input, snakemake.output, snakemake.params
top = pd.read_parquet(inputs.top_ules)
names = barcode.barcode_column_names(len(top))
table = pd.read_parquet(inputs.barcodes).merge(pd.read_parquet(inputs.catalogue), on="sample_id", validate="one_to_one")
mech = table[table["split"] == histories.MECH_SPLIT].reset_index(drop=True)
thermal = table[table["split"].isin(params.reference_splits)].reset_index(drop=True)
pairs = heterogeneity.pair_table(mech, thermal, names, top["group"].to_numpy(), params.tolerance)
windows = heterogeneity.window_strains(mech, lambda path: read_structure(Path(path)), params.n_slabs)
summary = heterogeneity.condition_summary(pairs, windows=windows)
summary.insert(1, "condition", [histories.condition_label(t) for t in summary["shear_T_K"]])
correlation = heterogeneity.heterogeneity_correlation(summary)
for row in summary.itertuples():
    log.info("%s: %d of %d mechanical samples matched (%d runs, median |dE| %.2f meV/atom, %.1f thermal references "
             "each); std(ds) group 1 %.4f, group 2 %.4f; in excess of thermal: group 1 %.4f +- %.4f, group 2 "
             "%.4f +- %.4f; strain heterogeneity %.4f", row.condition, row.n_matched, row.n_mech, row.n_runs,
             1000 * row.median_abs_delta_energy_eV_per_atom, row.n_reference_mean, row.std_delta_group1_mean,
             row.std_delta_group2_mean, row.excess_std_delta_group1_mean, row.excess_std_delta_group1_sem,
             row.excess_std_delta_group2_mean, row.excess_std_delta_group2_sem, row.strain_heterogeneity)
log.info("Pearson r with strain heterogeneity across conditions: group 2 %.3f (excess %.3f), group 1 %.3f "
         "(excess %.3f); %d conditions", correlation["r_group2"], correlation["r_excess_group2"],
         correlation["r_group1"], correlation["r_excess_group1"], correlation["n_conditions"])
record = provenance.record(snakemake.config)
write_parquet(pairs, out.pairs, record)
write_parquet(summary, out.summary, record)
write_parquet(windows, out.windows, record)
write_json(out.correlation, {**correlation, "energy_tolerance_eV_per_atom": params.tolerance,
                             "reference_splits": list(params.reference_splits),
                             "n_mech": int(len(pairs)), "n_matched": int(pairs["matched"].sum()), "provenance": record})

strains = {}
for temperature, rows in mech.groupby("shear_T_K"):
    arrays = [read_structure(Path(path)).arrays[atomic_strain.STRAIN_ARRAY] for path in rows["structure"]]
    strains[histories.condition_label(temperature)] = np.concatenate(arrays)
figures.strain_distributions(strains, (out.strains, out.strains_svg))
figures.strain_slab_profiles(windows, {t: histories.condition_label(t) for t in windows["shear_T_K"]},
                             (out.slab_profiles, out.slab_profiles_svg))
shown = []
for temperature, rows in pairs[pairs["matched"]].groupby("shear_T_K"):
    closest = rows.loc[rows["delta_energy_eV_per_atom"].abs().idxmin()]
    s_mech = mech.loc[mech["sample_id"] == closest["sample_id"], names].to_numpy()[0]
    # The reference the contrast uses: the mean thermal barcode within the tolerance.
    window = ((thermal["energy_eV_per_atom"] - closest["energy_eV_per_atom"]).abs() <= params.tolerance) & (
        thermal["n_atoms"] == mech.loc[mech["sample_id"] == closest["sample_id"], "n_atoms"].iloc[0])
    s_thermal = thermal.loc[window & ~thermal["zero_barcode"], names].to_numpy().mean(axis=0)
    shown.append((histories.condition_label(temperature), s_thermal, s_mech, closest["delta_energy_eV_per_atom"]))
if not shown:
    log.warning("no mechanical sample has a thermal reference within %.4f eV/atom", params.tolerance)
    shown = [("no matched pair", np.zeros(len(names)), np.zeros(len(names)), np.nan)]
figures.barcode_pairs(shown, top["group"], (out.pairs_figure, out.pairs_figure_svg))
figures.heterogeneity_trends(summary, summary["condition"], (out.trends, out.trends_svg))
