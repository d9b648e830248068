"""The page a finished run is read from: its glasses (:mod:`mgbarcode.glass_report`), its
models against their references, the barcode and the learning curve, all generated from the
results folder (``mgbarcode report``), never typed.  Units: meV/atom, meV (σ₁), s.
"""

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from . import glass_report
from .ule_energy import within_ule_spread_eV

MODEL_ORDER = ("xgboost_barcode", "xgboost_fractions", "ridge_fractions", "ridge_mean_soap", "train_mean",
               "ule_energy_per_atom_fit")


def model_table(metrics):
    """One row per model: CV (train), test and size RMSE and R², σ₁ on both, what it is fitted to."""
    rows = []
    for name in MODEL_ORDER:
        if name not in metrics:
            continue
        scores = metrics[name]
        cv = scores.get("cv_rmse_meV_per_atom")
        rows.append({"model": name, "fitted to": metrics["fitted_to"][name],
                     "CV RMSE": math.nan if cv is None else cv,
                     "test RMSE": scores["test"]["rmse_meV_per_atom"], "test R²": scores["test"]["r2"],
                     "test σ₁ (meV)": scores["test"]["sigma1_meV"],
                     "size RMSE": scores["size"]["rmse_meV_per_atom"], "size R²": scores["size"]["r2"],
                     "size σ₁ (meV)": scores["size"]["sigma1_meV"]})
    return pd.DataFrame(rows)


def sub_ule_shift_table(predictions, n_atoms_by_split, sigma_w_eV):
    """What the ULE quantisation leaves out, per split.  The ``ule_energy_per_atom_fit``
    prediction of a sample is the mean over its atoms of their ULEs' mean energies, so its
    residual is the sample's mean *within-ULE* deviation (e_i − ē_ULE(i)).  Were those
    deviations independent noise, the residual's std would be the floor σ_w/√N and it would not
    follow the energy; a larger std and a correlation with the energy mean a shift shared by
    all atoms of a sample, which the ULE means do not carry.  Columns in meV/atom."""
    rows = []
    fit = predictions[predictions["model"] == "ule_energy_per_atom_fit"]
    for split, group in fit.groupby("split", sort=False):
        shift = 1000 * (group["energy_eV_per_atom"] - group["predicted_eV_per_atom"])
        energy = 1000 * group["energy_eV_per_atom"]
        rows.append({"split": split, "samples": len(group), "energy std": energy.std(ddof=1),
                     "sub-ULE shift std": shift.std(ddof=1),
                     "floor σ_w/√N": 1000 * sigma_w_eV / math.sqrt(n_atoms_by_split[split]),
                     "r(shift, energy)": float(np.corrcoef(shift, energy)[0, 1])})
    return pd.DataFrame(rows)


def heterogeneity_table(summary, catalogue):
    """One row per shear temperature from ``heterogeneity/summary.parquet`` and the mechanical
    rows of the catalogue (their per-interval localisation measures, averaged)."""
    mech = catalogue[catalogue["split"] == "mech"].groupby("shear_T_K")
    rows = []
    for row in summary.itertuples(index=False):
        localisation = mech.get_group(row.shear_T_K)
        rows.append({"shear T (K)": row.shear_T_K, "runs": row.n_runs, "IS": row.n_mech,
                     "interval η std": row.strain_heterogeneity, "± s.e.": row.strain_heterogeneity_sem,
                     "cumulative η std": row.cumulative_strain_std,
                     "participation ratio": localisation["interval_participation_ratio"].mean(),
                     "hot share": localisation["interval_hot_fraction"].mean(),
                     "slab localisation": localisation["interval_slab_localisation"].mean(),
                     "std δs group 2": row.std_delta_group2_mean,
                     "excess group 2": row.excess_std_delta_group2_mean,
                     "± s.e. ": row.excess_std_delta_group2_sem})
    return pd.DataFrame(rows)


def markdown(results_dir, title, nve_drift_json=None, run_note=None, glass_transition_json=None):
    """The run's page: glasses, then models, barcode and learning curve (Markdown)."""
    results_dir = Path(results_dir)
    parts = [glass_report.markdown(results_dir, title, nve_drift_json=nve_drift_json, run_note=run_note,
                                   glass_transition_json=glass_transition_json)]
    metrics = json.loads((results_dir / "model" / "metrics.json").read_text())
    tail = json.loads((results_dir / "model" / "shap_long_tail.json").read_text())
    summary = json.loads((results_dir / "barcode" / "summary.json").read_text())
    stability = tail["top_k_stability"]
    parts += ["## Energy models against their references", "",
              f"{metrics['n_train_samples']} distinct `train` IS of {metrics['n_atoms_train']} atoms, "
              f"{metrics['n_ules']} ULEs. RMSE in meV/atom: CV is grouped by trajectory on `train` (early "
              "stopping on other trajectories than the scored fold); `test` and `size` (2N, no retraining) were "
              "seen by no stage of training. σ₁ = RMSE per system / √N, size-free; the paper's is "
              f"{metrics['paper_sigma1_meV']:.1f} meV.", "", glass_report.table(model_table(metrics)), "",
              "## Barcode", "",
              f"K_eff = {tail['k_eff']} ULEs with non-zero mean |SHAP| (configured K = {tail['k_config']}); the "
              f"barcode has {summary['k']} entries, {summary['n_group1']} group 1 (Kasper-like) and "
              f"{summary['n_group2']} group 2, {summary['n_icosahedral']} icosahedral. SHAP computed on "
              f"{tail['shap_samples']}. Long tail after {tail['k_long_tail']} ULEs "
              f"({100 * tail['tail_share']:.0f} % of the total importance). Top-K_eff sets of the fractions model "
              f"refitted under seeds {stability['seeds']}: mean overlap {stability['mean_overlap']:.2f} "
              f"(pairwise {', '.join(f'{o:.2f}' for o in stability['pairwise_overlap'])}). Zero barcodes: "
              f"{summary['n_zero_barcodes'] or 'none'}.", ""]
    predictions = pd.read_parquet(results_dir / "model" / "predictions.parquet")
    catalogue = pd.read_parquet(results_dir / "samples.parquet", columns=["split", "n_atoms"])
    sigma_w = within_ule_spread_eV(pd.read_parquet(results_dir / "ules" / "energies.parquet"))
    parts += ["## What the ULE quantisation leaves out", "",
              "The residual of `ule_energy_per_atom_fit` is each sample's mean within-ULE deviation of its "
              "atoms' energies. Independent per-atom noise would give a std at the floor σ_w/√N and no "
              "correlation with the energy; a shift above the floor that follows the energy is shared by the "
              "atoms of a sample and is not carried by which ULE each environment falls into (meV/atom).", "",
              glass_report.table(sub_ule_shift_table(predictions, catalogue.groupby("split")["n_atoms"].first(),
                                                     sigma_w)), ""]
    summary_path = results_dir / "heterogeneity" / "summary.parquet"
    if summary_path.exists():
        parts += ["## Heterogeneity of the sheared glasses", "",
                  "Per shear temperature: the strain heterogeneity (std of the per-interval von Mises strain, "
                  "mean ± s.e. blocked by shear run) beside the cumulative one, how the interval strain is "
                  "carried (participation ratio, share of atoms above the hot threshold, slab localisation), "
                  "and the group-2 barcode spread against the thermal reference with its excess over the "
                  "thermal-against-thermal spread.", "",
                  glass_report.table(heterogeneity_table(pd.read_parquet(summary_path),
                                                         pd.read_parquet(results_dir / "samples.parquet"))), ""]
    curve_path = results_dir / "model" / "learning_curve.parquet"
    if curve_path.exists():
        curve = pd.read_parquet(curve_path)
        wide = curve.pivot_table(index=["threshold", "n_ules", "n_histories", "n_train_samples"], columns="model",
                                 values="test_rmse_meV_per_atom").reset_index()
        wide.columns.name = None
        parts += ["## Learning curve (Fig. A1)", "",
                  "Dictionary, encoding and models redone on nested subsets of the `train` histories at each "
                  "threshold; `test` RMSE in meV/atom (`figures/learning_curve.png`).", "",
                  glass_report.table(wide), ""]
    return "\n".join(parts)
