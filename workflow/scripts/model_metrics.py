"""Snakemake job: score every energy model and its references on the independent test split and
the size-transfer split, which no earlier stage touched, beside each one's grouped CV error on
train: the XGBoost models (fractions, barcode), ridge on ULE fractions and ridge on the mean
SOAP vector (fitted to the global energies only), the per-atom ULE-energy fit, and the train mean."""
import json
from pathlib import Path

import pandas as pd

from mgbarcode import learning, linear_reference, logs, provenance, ule_energy
from mgbarcode.errors import InputError
from mgbarcode.io import write_json, write_parquet

log = logs.to_file(snakemake.log[0])
inputs, params = snakemake.input, snakemake.params
model = params.model
# Each table is read once; load_dataset takes DataFrames.
catalogue = pd.read_parquet(inputs.catalogue)
tables = {"fractions": pd.read_parquet(inputs.fractions), "barcode": pd.read_parquet(inputs.barcodes),
          "counts": pd.read_parquet(inputs.counts), "mean_soap": pd.read_parquet(inputs.mean_soap)}
prefix = {"fractions": "ule_", "barcode": "s_", "counts": "ule_", "mean_soap": "soap_"}
splits = ("train", "test", "size")
data = {(table, split): learning.load_dataset(tables[table], catalogue, [split], prefix[table])
        for table in tables for split in splits}
train = data["fractions", "train"]
n_train_atoms = int(train.n_atoms[0])
energies = pd.read_parquet(inputs.ule_energies).sort_values("ule_id")
if energies["ule_id"].tolist() != list(range(len(train.feature_names))):
    raise InputError(inputs.ule_energies, "ule_id", f"does not list the ULEs of {inputs.fractions}",
                     "rerun the ule_energies rule (snakemake --forcerun ule_energies)")

predictors, cv = {}, {}
for name, model_path, fit_path in (("xgboost_fractions", inputs.fractions_model, inputs.fractions_fit),
                                   ("xgboost_barcode", inputs.barcode_model, inputs.barcode_fit)):
    booster, table = learning.load_booster(model_path), name.removeprefix("xgboost_")
    predictors[name] = (table, lambda X, booster=booster: learning.predict(booster, X))
    cv[name] = json.loads(Path(fit_path).read_text())["cv_rmse_meV_per_atom"]
ridges = {}
for name, table in (("ridge_fractions", "fractions"), ("ridge_mean_soap", "mean_soap")):
    fitted = data[table, "train"]
    ridges[name] = linear_reference.fit_ridge(fitted.X, fitted.y, fitted.groups, model["ridge_relative_alphas"],
                                              model["n_folds"], model["seed"])
    predictors[name] = (table, ridges[name].predict)
    cv[name] = 1000 * ridges[name].cv_rmse
    log.info("%s: relative alpha %g chosen by grouped CV (RMSE by alpha, meV/atom: %s)", name,
             ridges[name].relative_alpha, {a: round(1000 * r, 3) for a, r in ridges[name].cv_rmse_by_alpha.items()})
predictors["ule_energy_per_atom_fit"] = (
    "counts", lambda X: ule_energy.predict_energy_per_atom(X, energies["mean_energy_eV"]))
cv["ule_energy_per_atom_fit"] = None  # fitted to per-atom energies of all train atoms: no grouped CV here
predictors["train_mean"] = ("fractions", lambda X: [train.y.mean()] * len(X))
cv["train_mean"] = 1000 * linear_reference.grouped_cv_rmse_of_mean(train.y, train.groups, model["n_folds"], model["seed"])

metrics = {"n_train_samples": len(train.y), "n_atoms_train": n_train_atoms, "n_ules": len(train.feature_names),
           "k": params.k, "paper_sigma1_meV": 1000 * learning.PAPER_SIGMA1_EV,
           "fitted_to": {"xgboost_fractions": "global IS energies", "xgboost_barcode": "global IS energies",
                         "ridge_fractions": "global IS energies", "ridge_mean_soap": "global IS energies",
                         "ule_energy_per_atom_fit": "per-atom EAM energies of every train atom",
                         "train_mean": "global IS energies"},
           "ridge_relative_alpha": {name: fit.relative_alpha for name, fit in ridges.items()}}
predictions = []
for name, (table, predict) in predictors.items():
    metrics[name] = {"cv_rmse_meV_per_atom": cv[name]}
    for split in splits:
        samples = data[table, split]
        predicted = predict(samples.X)
        predictions.append(pd.DataFrame({"sample_id": samples.sample_ids, "split": split, "model": name,
                                         "energy_eV_per_atom": samples.y, "predicted_eV_per_atom": predicted}))
        if split != "train":
            metrics[name][split] = learning.regression_metrics(samples.y, predicted, n_train_atoms, samples.n_atoms)
    log.info("%-24s CV %s | test RMSE %.3f meV/atom, R2 %.3f, sigma1 %.1f meV | size RMSE %.3f, R2 %.3f, sigma1 %.1f",
             name, "  -  " if cv[name] is None else f"{cv[name]:.3f}", metrics[name]["test"]["rmse_meV_per_atom"],
             metrics[name]["test"]["r2"], metrics[name]["test"]["sigma1_meV"], metrics[name]["size"]["rmse_meV_per_atom"],
             metrics[name]["size"]["r2"], metrics[name]["size"]["sigma1_meV"])
record = provenance.record(snakemake.config)
write_parquet(pd.concat(predictions, ignore_index=True), snakemake.output.predictions, record)
write_json(snakemake.output.metrics, {**metrics, "provenance": record})
