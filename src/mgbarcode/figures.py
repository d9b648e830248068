"""Figures of the learning and barcode stages (analogues of the paper's Figs. 2, 4, 7, A1, A2).

Every function takes arrays/frames and ``output``: either a path stem (``.png`` and ``.svg``
are appended) or a ``(png_path, svg_path)`` pair.  Both files are written atomically and
without timestamps, so equal data give equal bytes.  Returns the two paths.
"""

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from . import barcode  # noqa: E402
from .io import atomic_path  # noqa: E402
from .results_layout import HELD_OUT_SPLITS, TRAIN_SPLIT  # noqa: E402

GROUP_COLOURS = {1: "tab:blue", 2: "tab:orange"}
# Fixed hash salt: matplotlib otherwise puts random ids into SVG files.
SVG_HASH_SALT = "mgbarcode"


def output_paths(output):
    """``(png, svg)`` paths from a stem or a pair."""
    if isinstance(output, (tuple, list)):
        png, svg = (Path(p) for p in output)
        return png, svg
    stem = Path(output)
    return stem.with_name(stem.name + ".png"), stem.with_name(stem.name + ".svg")


def save_figure(fig, output, dpi=150):
    """Save ``fig`` as PNG (``dpi``) and SVG atomically, close it, return the two paths."""
    paths = output_paths(output)
    metadata = {"png": {"Software": None}, "svg": {"Date": None}}
    for path, fmt in zip(paths, ("png", "svg")):
        with plt.rc_context({"svg.hashsalt": SVG_HASH_SALT}), atomic_path(path) as tmp:
            fig.savefig(tmp, format=fmt, dpi=dpi, metadata=metadata[fmt], bbox_inches="tight")
    plt.close(fig)
    return paths


def _energy_ticks(axis):
    """At most five plain (no offset) ticks: energies like -4.6625 eV/atom stay readable."""
    from matplotlib.ticker import MaxNLocator, ScalarFormatter

    formatter = ScalarFormatter(useOffset=False)
    axis.set_major_locator(MaxNLocator(5))
    axis.set_major_formatter(formatter)


def _group_boundary(ax, groups):
    """Dashed line between the last group-1 and first group-2 entry (entries 1-based)."""
    groups = np.asarray(groups)
    n_group1 = int(np.sum(groups == 1))
    if 0 < n_group1 < len(groups):
        ax.axvline(n_group1 + 0.5, color="k", linestyle="--", linewidth=0.8,
                   label="group 1 | group 2")


def parity_plot(panels, output):
    """Predicted vs. true IS energy (eV/atom), one panel per model (paper Fig. 2, left).

    ``panels``: ``{title: {label: (true_eV_per_atom, predicted_eV_per_atom)}}``, panels on
    shared axes; each legend gives its sets' RMSE in meV/atom.
    """
    n_cols = min(3, len(panels))
    n_rows = -(-len(panels) // n_cols)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(4.5 * n_cols, 4.5 * n_rows), sharex=True, sharey=True,
                             squeeze=False)
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    all_values = []
    for ax, (title, panel_sets) in zip(axes.flat, panels.items()):
        for label, (true, predicted) in panel_sets.items():
            true, predicted = np.asarray(true, float), np.asarray(predicted, float)
            rmse = 1000.0 * np.sqrt(np.mean((predicted - true) ** 2))
            ax.scatter(true, predicted, s=8, alpha=0.6, label=f"{label} (RMSE {rmse:.2f} meV/atom)")
            all_values.extend([true, predicted])
        ax.set_title(title, fontsize="medium")
        ax.set_xlabel("true IS energy (eV/atom)")
        _energy_ticks(ax.xaxis)
        ax.legend(fontsize="small")
    values = np.concatenate(all_values)
    limits = [values.min(), values.max()]
    for ax in axes.flat[:len(panels)]:
        ax.plot(limits, limits, color="k", linewidth=0.8)
    for row in axes:
        row[0].set_ylabel("predicted IS energy (eV/atom)")
        _energy_ticks(row[0].yaxis)
    return save_figure(fig, output)


def shap_distribution(mean_abs_shap, k, tail_k, tail_threshold, output, n_bins=50):
    """Ranked mean |SHAP| on a log axis, with the chosen K, the long-tail count and its
    threshold marked, and a histogram inset (paper Fig. A2).  SHAP values in eV/atom."""
    values = np.sort(np.asarray(mean_abs_shap, float))[::-1]
    ranks = np.arange(1, len(values) + 1)
    positive = values > 0
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.semilogy(ranks[positive], values[positive], ".", markersize=3, color="tab:blue")
    ax.axvline(k + 0.5, color="tab:red", linestyle="--", label=f"K = {k}")
    ax.axvline(tail_k + 0.5, color="tab:green", linestyle=":", label=f"long tail: {tail_k}")
    if tail_threshold > 0:
        ax.axhline(tail_threshold, color="grey", linewidth=0.8, label="end of the long tail")
    ax.set_xlabel("ULE rank")
    ax.set_ylabel("mean |SHAP| (eV/atom)")
    ax.legend(fontsize="small", loc="lower left")
    inset = ax.inset_axes([0.55, 0.5, 0.4, 0.4])
    inset.hist(values, bins=n_bins, color="tab:blue")
    inset.set_yscale("log")
    inset.set_xlabel("mean |SHAP| (eV/atom)", fontsize="x-small")
    inset.set_ylabel("ULEs", fontsize="x-small")
    inset.tick_params(labelsize="x-small")
    return save_figure(fig, output)


def representative_indices(energies, n_show):
    """Indices of ``n_show`` samples spread evenly over the energy ranking (lowest to highest)."""
    order = np.argsort(np.asarray(energies, float), kind="stable")
    positions = np.round(np.linspace(0, len(order) - 1, min(n_show, len(order)))).astype(int)
    return order[np.unique(positions)]


def barcode_panels(barcode_matrix, energies_eV_per_atom, groups, output):
    """Bars of s_i for each given sample (one panel each, labelled by its energy), group
    boundary marked (paper Fig. 2, right).  Choose rows with :func:`representative_indices`."""
    s = np.atleast_2d(np.asarray(barcode_matrix, float))
    entries = np.arange(1, s.shape[1] + 1)
    colours = [GROUP_COLOURS[int(g)] for g in groups]
    fig, axes = plt.subplots(len(s), 1, figsize=(7, 1.4 * len(s) + 0.6), sharex=True,
                             squeeze=False)
    for ax, row, energy in zip(axes[:, 0], s, energies_eV_per_atom):
        ax.bar(entries, row, color=colours, width=0.8)
        _group_boundary(ax, groups)
        ax.set_ylabel("s_i (fraction)")
        ax.set_title(f"E = {energy:.4f} eV/atom", fontsize="small")
    axes[-1, 0].set_xlabel("barcode entry i")
    return save_figure(fig, output)


def pearson_plot(r, icosahedral, groups, output):
    """Pearson r of each barcode entry with energy; icosahedral kernels as red circles, others
    as grey squares (paper Fig. 4)."""
    r = np.asarray(r, float)
    icosahedral = np.asarray(icosahedral, bool)
    entries = np.arange(1, len(r) + 1)
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.axhline(0.0, color="k", linewidth=0.6)
    ax.plot(entries[~icosahedral], r[~icosahedral], "s", color="grey", label="other kernels")
    ax.plot(entries[icosahedral], r[icosahedral], "o", color="red", label="<0,0,12,0> kernel")
    _group_boundary(ax, groups)
    ax.set_xlabel("barcode entry i")
    ax.set_ylabel("Pearson r (s_i, IS energy)")
    ax.legend(fontsize="small")
    return save_figure(fig, output)


def group_sums_plot(sums, energies_eV_per_atom, output):
    """Σ group 1, Σ group 2 and Σ icosahedral entries vs. IS energy (paper Fig. 7).

    ``sums``: DataFrame from :func:`mgbarcode.barcode.group_sums`."""
    panels = (("sum_group1", "Σ s_i, group 1"), ("sum_group2", "Σ s_i, group 2"),
              ("sum_icosahedral", "Σ s_i, <0,0,12,0> kernels"))
    fig, axes = plt.subplots(1, len(panels), figsize=(11, 3.5))
    for ax, (column, label) in zip(axes, panels):
        ax.scatter(energies_eV_per_atom, sums[column], s=6, alpha=0.6)
        ax.set_xlabel("IS energy (eV/atom)")
        _energy_ticks(ax.xaxis)
        ax.set_ylabel(f"{label} (fraction)")
    return save_figure(fig, output)


def ule_count_vs_threshold(thresholds, n_ules, output, chosen_threshold=None):
    """Dictionary size vs. similarity threshold on a log axis (paper Fig. A1 analogue)."""
    fig, ax = plt.subplots(figsize=(4.5, 3.5))
    ax.semilogy(thresholds, n_ules, "o-")
    if chosen_threshold is not None:
        ax.axvline(chosen_threshold, color="tab:red", linestyle="--",
                   label=f"chosen: {chosen_threshold:g}")
        ax.legend(fontsize="small")
    ax.set_xlabel("similarity threshold Δ_th (unitless)")
    ax.set_ylabel("number of ULEs")
    return save_figure(fig, output)


def strain_distributions(strains_by_condition, output, n_bins=60):
    """Probability density of the per-atom von Mises strain (unitless) of each condition's
    sheared IS, one curve per condition (paper Fig. 5).  ``strains_by_condition``:
    ``{label: 1-D array}``."""
    fig, ax = plt.subplots(figsize=(5, 3.5))
    upper = max(float(np.percentile(v, 99.5)) for v in strains_by_condition.values())
    bins = np.linspace(0.0, upper, n_bins)
    for label, strains in strains_by_condition.items():
        ax.hist(strains, bins=bins, density=True, histtype="step", linewidth=1.5,
                label=f"{label} (std {np.std(strains):.3f})")
    ax.set_xlabel("atomic von Mises strain η (unitless)")
    ax.set_ylabel("probability density")
    ax.legend(fontsize="small")
    return save_figure(fig, output)


def barcode_pairs(pairs, groups, output):
    """Barcodes of a thermal reference and a mechanical sample side by side, one panel per
    condition (paper Fig. 5/6).  ``pairs``: ``[(label, s_thermal, s_mech, ΔE eV/atom)]``."""
    groups = np.asarray(groups)
    entries = np.arange(1, len(groups) + 1)
    fig, axes = plt.subplots(len(pairs), 1, figsize=(7, 1.6 * len(pairs) + 0.6), sharex=True, squeeze=False)
    for ax, (label, s_thermal, s_mech, gap) in zip(axes[:, 0], pairs):
        ax.bar(entries - 0.2, s_thermal, width=0.4, color="tab:grey", label="thermal reference")
        ax.bar(entries + 0.2, s_mech, width=0.4, color="tab:red", label="mechanical")
        _group_boundary(ax, groups)
        ax.set_ylabel("s_i")
        ax.set_title(f"{label}: ΔE = {1000 * gap:+.2f} meV/atom", fontsize="small")
    axes[0, 0].legend(fontsize="x-small", loc="upper right")
    axes[-1, 0].set_xlabel("barcode entry i")
    return save_figure(fig, output)


def heterogeneity_trends(summary, labels, output):
    """Left: mean Σ group-1 and Σ group-2 ratios (thermal/mechanical) per condition.  Right:
    std(δs) over group 1 and group 2 (mean ± s.e. over matched pairs) against the strain
    heterogeneity of each condition (paper Fig. 6).  ``summary``: from
    :func:`mgbarcode.heterogeneity.condition_summary`."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    positions = np.arange(len(summary))
    left.bar(positions - 0.2, summary["ratio_sum_group1_mean"], width=0.4, color=GROUP_COLOURS[1], label="Σ group 1")
    left.bar(positions + 0.2, summary["ratio_sum_group2_mean"], width=0.4, color=GROUP_COLOURS[2], label="Σ group 2")
    left.axhline(1.0, color="k", linewidth=0.8)
    left.set_xticks(positions, labels)
    left.set_ylabel("ratio thermal / mechanical")
    left.legend(fontsize="small")
    strain = summary["strain_heterogeneity"]
    for group in (1, 2):
        right.errorbar(strain, summary[f"std_delta_group{group}_mean"], yerr=summary[f"std_delta_group{group}_sem"],
                       fmt="o-", capsize=3, color=GROUP_COLOURS[group], label=f"group {group}")
    for x, y, label in zip(strain, summary["std_delta_group2_mean"], labels):
        right.annotate(label, (x, y), textcoords="offset points", xytext=(4, 4), fontsize="x-small")
    right.set_xlabel("strain heterogeneity: std of per-interval atomic von Mises strain")
    right.set_ylabel("std(δs_i) within group")
    right.legend(fontsize="small")
    return save_figure(fig, output)


def strain_slab_profiles(windows, labels, output):
    """Where each shear run's steady-state window strain sits: the mean η per slab over the
    mean η (1: uniform), along the direction in which it is most localised, rolled so the
    largest slab is in the middle; one panel per condition (``labels``: condition → label), one
    thin line per run, the condition's mean thick.  ``windows``: from
    :func:`mgbarcode.heterogeneity.window_strains`."""
    conditions = sorted(windows["shear_T_K"].unique())
    fig, axes = plt.subplots(1, len(conditions), figsize=(3.2 * len(conditions), 3.2), sharey=True, squeeze=False)
    for ax, condition in zip(axes[0], conditions):
        runs = windows[windows["shear_T_K"] == condition]
        profiles = np.vstack(runs["window_slab_profile"].to_numpy())
        offsets = np.arange(profiles.shape[1]) - profiles.shape[1] // 2
        for profile in profiles:
            ax.plot(offsets, profile, color="grey", linewidth=0.8)
        ax.plot(offsets, profiles.mean(axis=0), "o-", color="k", linewidth=2)
        ax.axhline(1.0, color="k", linestyle=":", linewidth=0.8)
        ax.set_title(f"{labels[condition]}: localisation {runs['window_slab_localisation'].mean():.2f}",
                     fontsize="small")
        ax.set_xlabel("slab, from the most strained")
    axes[0][0].set_ylabel("slab mean η / mean η (window)")
    return save_figure(fig, output)


def learning_curve_plot(table, output):
    """Test RMSE (meV/atom) against training histories (one line per threshold and model) and
    against dictionary size (paper Fig. A1); the training mean's error for scale."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2))
    styles = {"xgboost_fractions": "-o", "ridge_fractions": "--s", "train_mean": ":"}
    for (model, threshold), group in table.groupby(["model", "threshold"], sort=True):
        group = group.sort_values("n_histories")
        label = "train mean" if model == "train_mean" else f"{model.replace('_', ' ')}, Δ_th {threshold:g}"
        if model == "train_mean" and threshold != table["threshold"].min():
            continue
        left.plot(group["n_histories"], group["test_rmse_meV_per_atom"], styles[model], label=label,
                  color="grey" if model == "train_mean" else None)
        if model != "train_mean":
            largest = group[group["n_histories"] == group["n_histories"].max()]
            right.plot(largest["n_ules"], largest["test_rmse_meV_per_atom"], styles[model][-1],
                       label=f"{model.replace('_', ' ')}, Δ_th {threshold:g}")
    left.set_xlabel("train histories")
    right.set_xlabel("ULEs in the dictionary (all train histories)")
    right.set_xscale("log")
    for ax in (left, right):
        ax.set_ylabel("test RMSE (meV/atom)")
        ax.legend(fontsize="x-small")
    return save_figure(fig, output)


# ----------------------------------------------------------------------- one job's figures

# The parity plot's panels: each scored model it shows (mgbarcode.model_scores), with its title.
PARITY_TITLES = {"xgboost_fractions": "XGBoost on ULE fractions", "xgboost_barcode": "XGBoost on the barcode",
                 "ridge_fractions": "ridge on ULE fractions", "ridge_mean_soap": "ridge on mean SOAP",
                 "ule_energy_per_atom_fit": "ULE energies (fitted to per-atom energies)",
                 "train_mean": "training mean"}


def model_figures(predictions_path, ranking_path, tail_path, top_ules_path, barcodes_path, catalogue_path,
                  n_barcodes_shown, outputs):
    """The model_figures job: the parity plot of every model on the held-out splits (one
    series per split and system size), the SHAP distribution, ``n_barcodes_shown``
    representative train barcodes, each entry's Pearson r with the energy, and the group sums.
    ``outputs``: ``{"parity": (png, svg), "shap": ..., "barcodes": ..., "pearson": ...,
    "group_sums": ...}``."""
    predictions = pd.read_parquet(predictions_path)
    predictions = predictions[predictions["split"].isin(HELD_OUT_SPLITS)].merge(
        pd.read_parquet(catalogue_path, columns=["sample_id", "n_atoms"]), on="sample_id")
    parity_plot({
        title: {f"{split} (N={int(n)})": (group["energy_eV_per_atom"], group["predicted_eV_per_atom"])
                for (split, n), group in predictions[predictions["model"] == model].groupby(["split", "n_atoms"])}
        for model, title in PARITY_TITLES.items()}, outputs["parity"])
    ranking, tail = pd.read_parquet(ranking_path), json.loads(Path(tail_path).read_text())
    shap_distribution(ranking["mean_abs_shap"], tail["k_config"], tail["k_long_tail"],
                      tail["tail_threshold_eV_per_atom"], outputs["shap"])
    top = pd.read_parquet(top_ules_path)
    names = barcode.barcode_column_names(len(top))
    samples = pd.read_parquet(barcodes_path).merge(
        pd.read_parquet(catalogue_path, columns=["sample_id", "split", "energy_eV_per_atom"]), on="sample_id")
    samples = samples[(samples["split"] == TRAIN_SPLIT) & ~samples["zero_barcode"]].reset_index(drop=True)
    shown = representative_indices(samples["energy_eV_per_atom"], n_barcodes_shown)
    barcode_panels(samples.loc[shown, names].to_numpy(), samples.loc[shown, "energy_eV_per_atom"], top["group"],
                   outputs["barcodes"])
    pearson_plot(top["pearson_r"], top["icosahedral"], top["group"], outputs["pearson"])
    sums = barcode.group_sums(samples[names].to_numpy(), top["group"].to_numpy(), top["icosahedral"].to_numpy())
    group_sums_plot(sums, samples["energy_eV_per_atom"], outputs["group_sums"])


def heterogeneity_figures(comparison, outputs):
    """The figures of a :class:`mgbarcode.heterogeneity.ConditionComparison`: the strain
    distributions, the slab profiles of the window strain, the closest barcode pair of each
    condition and the trends across conditions.  ``outputs``: ``{"strains": (png, svg),
    "slab_profiles": ..., "pairs": ..., "trends": ...}``."""
    strain_distributions(comparison.strains, outputs["strains"])
    strain_slab_profiles(comparison.windows, comparison.condition_labels, outputs["slab_profiles"])
    barcode_pairs(comparison.closest_pairs, comparison.groups, outputs["pairs"])
    heterogeneity_trends(comparison.summary, comparison.summary["condition"], outputs["trends"])
