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
from . import results_layout as layout
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
                     **{column: scores[split][key] for split in layout.HELD_OUT_SPLITS
                        for column, key in ((f"{split} RMSE", "rmse_meV_per_atom"), (f"{split} R²", "r2"),
                                            (f"{split} σ₁ (meV)", "sigma1_meV"))}})
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


def glass_transition_K(glass_transition_json):
    """T_g (K) and its cooling rate (K/s) at the slowest rate measured by
    ``benchmarks/glass_transition.py`` (the closest to the potential's own)."""
    rows = json.loads(Path(glass_transition_json).read_text())["rows"]
    slowest = min(rows, key=lambda row: row["rate_K_per_s"])
    return slowest["T_g_K"], slowest["rate_K_per_s"]


def heterogeneity_table(summary, catalogue, t_g_K=None):
    """One row per shear temperature from ``heterogeneity/summary.parquet`` and the mechanical
    rows of the catalogue (their per-interval localisation measures, averaged); with ``t_g_K``
    the shear temperature as a fraction of T_g."""
    mech = catalogue[catalogue["split"] == layout.MECH_SPLIT].groupby("shear_T_K")
    rows = []
    for row in summary.itertuples(index=False):
        localisation = mech.get_group(row.shear_T_K)
        rows.append({"shear T (K)": row.shear_T_K,
                     **({"T / T_g": row.shear_T_K / t_g_K} if t_g_K else {}),
                     "runs": row.n_runs, "IS": row.n_mech,
                     "interval η std": row.strain_heterogeneity, "± s.e.": row.strain_heterogeneity_sem,
                     "cumulative η std": row.cumulative_strain_std,
                     "participation ratio": localisation["interval_participation_ratio"].mean(),
                     "hot share": localisation["interval_hot_fraction"].mean(),
                     "slab localisation": localisation["interval_slab_localisation"].mean(),
                     "window slab localisation": getattr(row, "window_slab_localisation_mean", math.nan),
                     "± s.e.  ": getattr(row, "window_slab_localisation_sem", math.nan),
                     "std δs group 2": row.std_delta_group2_mean,
                     "excess group 2": row.excess_std_delta_group2_mean,
                     "± s.e. ": row.excess_std_delta_group2_sem})
    return pd.DataFrame(rows)


# A difference between the coldest and the warmest condition counts as resolved when it exceeds
# this many combined standard errors (blocked by shear run).
RESOLVED_STANDARD_ERRORS = 2.0


def _cold_minus_warm(summary, column):
    """(coldest − warmest value, its combined standard error) of a per-condition column."""
    ordered = summary.sort_values("shear_T_K")
    cold, warm = ordered.iloc[0], ordered.iloc[-1]
    sem = f"{column}_sem" if f"{column}_sem" in summary else column.replace("_mean", "_sem")
    error = math.hypot(cold.get(sem, math.nan), warm.get(sem, math.nan))
    return cold[column] - warm[column], error


def _trend_verdict(difference, error, expected_sign):
    if not (math.isfinite(difference) and math.isfinite(error)) or abs(difference) <= RESOLVED_STANDARD_ERRORS * error:
        return "not resolved"
    return "as in the paper" if math.copysign(1.0, difference) == expected_sign else "opposite to the paper"


def _per_condition(summary, column, digits=3):
    ordered = summary.sort_values("shear_T_K")
    return ", ".join(f"{value:.{digits}g}" for value in ordered[column])


def paper_figure6_table(summary, correlation):
    """The paper's claims on the heterogeneity of sheared glasses (its Sec. 3.3, Figs. 5 and
    6), each beside what this run measured and whether the coldest-minus-warmest difference is
    resolved (:data:`RESOLVED_STANDARD_ERRORS`) in the paper's direction.  Values are listed
    per condition from the coldest."""
    rows = []
    claims = (
        ("strain heterogeneity rises as the shear temperature falls", "M300 most heterogeneous (Fig. 5)",
         "strain_heterogeneity", "interval η std"),
        ("strain localises (shear banding) at the coldest condition, not the warmest",
         "shear bands inside the cold samples (Sec. 3.3)", "window_slab_localisation_mean",
         "window slab localisation"),
        ("std δs over group 2 grows with heterogeneity", "largest at M300 (Fig. 6 right)",
         "std_delta_group2_mean", "std δs group 2"),
        ("... in excess of the thermal-against-thermal spread", "(not separated in the paper)",
         "excess_std_delta_group2_mean", "excess group 2"),
        ("std δs over group 1 stays flat", "flat (Fig. 6 right)", "std_delta_group1_mean", "std δs group 1"),
    )
    for claim, paper, column, name in claims:
        if column not in summary:
            continue
        difference, error = _cold_minus_warm(summary, column)
        expected = 0.0 if "group 1" in name else 1.0
        verdict = _trend_verdict(difference, error, expected) if expected else \
            ("flat" if math.isfinite(error) and abs(difference) <= RESOLVED_STANDARD_ERRORS * error else "not flat")
        rows.append({"claim": claim, "paper": paper, "here (coldest first)": f"{name}: {_per_condition(summary, column)}",
                     "coldest − warmest": f"{difference:.3g} ± {error:.2g}", "verdict": verdict})
    for group in (1, 2):
        column = f"ratio_sum_group{group}_mean"
        rows.append({"claim": f"Σ group {group}, thermal / mechanical, is about 1", "paper": "close to 1 (Fig. 6 middle)",
                     "here (coldest first)": _per_condition(summary, column), "coldest − warmest": "",
                     "verdict": f"{summary[column].min():.3f}–{summary[column].max():.3f}"})
    rows.append({"claim": "r(std δs group 2, strain heterogeneity) across conditions", "paper": "strong, positive",
                 "here (coldest first)": f"r = {correlation['r_group2']:.2f}; excess: {correlation['r_excess_group2']:.2f}",
                 "coldest − warmest": "", "verdict": f"{correlation['n_conditions']} conditions"})
    return pd.DataFrame(rows)


def markdown(results_dir, title, nve_drift_json=None, run_note=None, glass_transition_json=None):
    """The run's page: glasses, then models, barcode and learning curve (Markdown)."""
    results_dir = Path(results_dir)
    parts = [glass_report.markdown(results_dir, title, nve_drift_json=nve_drift_json, run_note=run_note,
                                   glass_transition_json=glass_transition_json)]
    metrics = json.loads((results_dir / layout.METRICS).read_text())
    tail = json.loads((results_dir / layout.SHAP_LONG_TAIL).read_text())
    summary = json.loads((results_dir / layout.BARCODE_SUMMARY).read_text())
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
    predictions = pd.read_parquet(results_dir / layout.PREDICTIONS)
    catalogue = pd.read_parquet(results_dir / layout.CATALOGUE, columns=["split", "n_atoms"])
    sigma_w = within_ule_spread_eV(pd.read_parquet(results_dir / layout.ULE_ENERGIES))
    parts += ["## What the ULE quantisation leaves out", "",
              "The residual of `ule_energy_per_atom_fit` is each sample's mean within-ULE deviation of its "
              "atoms' energies. Independent per-atom noise would give a std at the floor σ_w/√N and no "
              "correlation with the energy; a shift above the floor that follows the energy is shared by the "
              "atoms of a sample and is not carried by which ULE each environment falls into (meV/atom).", "",
              glass_report.table(sub_ule_shift_table(predictions, catalogue.groupby("split")["n_atoms"].first(),
                                                     sigma_w)), ""]
    summary_path = results_dir / layout.HETEROGENEITY_SUMMARY
    t_g = glass_transition_K(glass_transition_json) if glass_transition_json else (None, None)
    if summary_path.exists():
        conditions = pd.read_parquet(summary_path)
        correlation = json.loads((results_dir / layout.HETEROGENEITY_CORRELATION).read_text())
        parts += ["## Heterogeneity of the sheared glasses", "",
                  "Per shear temperature: the strain heterogeneity (std of the per-interval von Mises strain, "
                  "mean ± s.e. blocked by shear run) beside the cumulative one, how the interval strain is "
                  "carried (participation ratio, share of atoms above the hot threshold, slab localisation), "
                  "and the group-2 barcode spread against the thermal reference with its excess over the "
                  "thermal-against-thermal spread. Window slab localisation: the strain of each run's whole "
                  "steady-state window, its largest slab mean over its mean (along y or x, whichever is larger; "
                  f"`{layout.figure('strain_slab_profiles')}`), mean ± s.e. over runs"
                  + (f"; T_g = {t_g[0]:.0f} K at {t_g[1]:.0e} K/s (`benchmarks/glass_transition.py`)" if t_g[0] else "")
                  + ".", "",
                  glass_report.table(heterogeneity_table(conditions, pd.read_parquet(results_dir / layout.CATALOGUE),
                                                         t_g[0])), "",
                  "## Against the paper's Fig. 6", "",
                  "Each claim of the paper on sheared glasses beside this run's values per shear temperature "
                  f"(coldest first). A coldest-minus-warmest difference is resolved when it exceeds "
                  f"{RESOLVED_STANDARD_ERRORS:g} combined standard errors (blocked by shear run).", "",
                  glass_report.table(paper_figure6_table(conditions, correlation)), ""]
    curve_path = results_dir / layout.LEARNING_CURVE
    if curve_path.exists():
        curve = pd.read_parquet(curve_path)
        wide = curve.pivot_table(index=["threshold", "n_ules", "n_histories", "n_train_samples"], columns="model",
                                 values="test_rmse_meV_per_atom").reset_index()
        wide.columns.name = None
        parts += ["## Learning curve (Fig. A1)", "",
                  "Dictionary, encoding and models redone on nested subsets of the `train` histories at each "
                  f"threshold; `test` RMSE in meV/atom (`{layout.figure('learning_curve')}`).", "",
                  glass_report.table(wide), ""]
    return "\n".join(parts)
