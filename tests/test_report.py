"""`mgbarcode report` on the tiny run: every section is there, and its numbers are the
results' own (recomputed here from the catalogue, the predictions and the ULE energies)."""

import json
import math

import numpy as np
import pandas as pd
import pytest

from mgbarcode import basins, cli, run_report
from mgbarcode.ule_energy import within_ule_spread_eV


@pytest.mark.slow
def test_report_of_the_tiny_run(tiny_results, tmp_path):
    page_path = tmp_path / "page.md"
    assert cli.main(["report", str(tiny_results), "--title", "Tiny", "--output", str(page_path)]) == 0
    page = page_path.read_text()
    for heading in ("# Tiny", "## Energies against the noise floor", "## Each stage of the protocols",
                    "## Time per stage", "## Energy models against their references", "## Barcode",
                    "## What the ULE quantisation leaves out"):
        assert heading in page, heading

    catalogue = pd.read_parquet(tiny_results / "samples.parquet")
    sigma_w = within_ule_spread_eV(pd.read_parquet(tiny_results / "ules" / "energies.parquet"))
    train = basins.distinct(catalogue[catalogue["split"] == "train"])
    floor = 1000 * sigma_w / math.sqrt(train["n_atoms"].iloc[0])
    std = 1000 * train["energy_eV_per_atom"].std(ddof=1)
    assert f"| {std:.4g} | {floor:.4g} |" in page

    predictions = pd.read_parquet(tiny_results / "model" / "predictions.parquet")
    shifts = run_report.sub_ule_shift_table(predictions, catalogue.groupby("split")["n_atoms"].first(), sigma_w)
    test = predictions[(predictions["model"] == "ule_energy_per_atom_fit") & (predictions["split"] == "test")]
    row = shifts.set_index("split").loc["test"]
    shift = 1000 * (test["energy_eV_per_atom"] - test["predicted_eV_per_atom"])
    assert row["sub-ULE shift std"] == pytest.approx(shift.std(ddof=1))
    assert row["r(shift, energy)"] == pytest.approx(np.corrcoef(shift, test["energy_eV_per_atom"])[0, 1])

    metrics = json.loads((tiny_results / "model" / "metrics.json").read_text())
    assert f"{metrics['ridge_mean_soap']['test']['rmse_meV_per_atom']:.4g}" in page


def test_figure6_verdicts_follow_the_sign_and_the_standard_errors():
    summary = pd.DataFrame({
        "shear_T_K": [700.0, 300.0, 500.0],
        "strain_heterogeneity": [0.05, 0.09, 0.07], "strain_heterogeneity_sem": [0.005, 0.005, 0.005],
        "window_slab_localisation_mean": [1.2, 1.1, 1.15], "window_slab_localisation_sem": [0.01, 0.01, 0.01],
        "std_delta_group2_mean": [0.03, 0.031, 0.03], "std_delta_group2_sem": [0.004, 0.004, 0.004],
        "excess_std_delta_group2_mean": [0.0, 0.001, 0.0], "excess_std_delta_group2_sem": [0.003] * 3,
        "std_delta_group1_mean": [0.02, 0.05, 0.03], "std_delta_group1_sem": [0.001] * 3,
        "ratio_sum_group1_mean": [1.0, 0.98, 1.01], "ratio_sum_group2_mean": [1.1, 1.2, 1.15]})
    correlation = {"r_group2": 0.5, "r_excess_group2": 0.4, "n_conditions": 3}
    table = run_report.paper_figure6_table(summary, correlation).set_index("claim")
    verdicts = table["verdict"]
    assert verdicts["strain heterogeneity rises as the shear temperature falls"] == "as in the paper"
    assert table.loc["strain heterogeneity rises as the shear temperature falls", "here (coldest first)"] == \
        "interval η std: 0.09, 0.07, 0.05"
    assert verdicts["strain localises (shear banding) at the coldest condition, not the warmest"] == \
        "opposite to the paper"
    assert verdicts["std δs over group 2 grows with heterogeneity"] == "not resolved"
    assert verdicts["std δs over group 1 stays flat"] == "not flat"
    assert verdicts["Σ group 2, thermal / mechanical, is about 1"] == "1.100–1.200"


def test_shear_temperatures_against_the_slowest_measured_glass_transition(tmp_path):
    path = tmp_path / "tg.json"
    path.write_text(json.dumps({"rows": [{"rate_K_per_s": 1e14, "T_g_K": 950.0},
                                         {"rate_K_per_s": 1e13, "T_g_K": 880.0}]}))
    assert run_report.glass_transition_K(path) == (880.0, 1e13)
