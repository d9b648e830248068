"""The page a finished run is read from: its glasses (:mod:`mgbarcode.glass_report`), its
models against their references, the barcode and the learning curve, all generated from the
results folder (``mgbarcode report``), never typed.  Units: meV/atom, meV (σ₁), s.
"""

import json
import math
from pathlib import Path

import pandas as pd

from . import glass_report

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


def markdown(results_dir, title, nve_drift_json=None, run_note=None):
    """The run's page: glasses, then models, barcode and learning curve (Markdown)."""
    results_dir = Path(results_dir)
    parts = [glass_report.markdown(results_dir, title, nve_drift_json=nve_drift_json, run_note=run_note)]
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
