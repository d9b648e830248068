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
