"""Every energy model scored against its references on data no stage of training saw.

The XGBoost models (on ULE fractions and on the barcode), ridge on ULE fractions and ridge on
the mean SOAP vector (fitted to the global IS energies only; :mod:`mgbarcode.linear_reference`),
the per-atom ULE-energy fit (:mod:`mgbarcode.ule_energy`) and the train mean, each scored on
the independent ``test`` split and the size-transfer ``size`` split
(:func:`mgbarcode.learning.regression_metrics`), beside its grouped CV error on ``train``.
Units: eV/atom in the predictions, meV/atom in the CV errors.
"""

import json
import logging
from pathlib import Path

import pandas as pd

from . import learning, linear_reference, provenance, ule_energy
from .errors import InputError
from .io import write_json, write_parquet
from .results_layout import FEATURE_PREFIX, SIZE_SPLIT, TEST_SPLIT, THERMAL_SPLITS, TRAIN_SPLIT

log = logging.getLogger(__name__)

FITTED_TO = {"xgboost_fractions": "global IS energies", "xgboost_barcode": "global IS energies",
             "ridge_fractions": "global IS energies", "ridge_mean_soap": "global IS energies",
             "ule_energy_per_atom_fit": "per-atom EAM energies of every train atom",
             "train_mean": "global IS energies"}


def score_models(catalogue, tables, ule_energies, boosters, model_config, k, ule_energies_path="ule energies"):
    """Predictions of every model on every split and their metrics.

    ``tables``: the feature tables ``fractions``, ``barcode``, ``counts`` and ``mean_soap``
    (DataFrames with ``sample_id`` and the feature columns of
    :data:`mgbarcode.results_layout.FEATURE_PREFIX`); ``ule_energies``:
    ``ule_id`` and ``mean_energy_eV`` of every ULE; ``boosters``: ``{"xgboost_fractions":
    (model path, fit JSON path), "xgboost_barcode": (...)}``; ``model_config``: the ``model``
    config section.  Returns ``(metrics, predictions)``: the dict written to
    ``model/metrics.json`` (without provenance) and one row per sample, split and model."""
    data = {(table, split): learning.load_dataset(tables[table], catalogue, [split], FEATURE_PREFIX[table])
            for table in tables for split in THERMAL_SPLITS}
    train = data["fractions", TRAIN_SPLIT]
    n_train_atoms = int(train.n_atoms[0])
    energies = ule_energies.sort_values("ule_id")
    if energies["ule_id"].tolist() != list(range(len(train.feature_names))):
        raise InputError(ule_energies_path, "ule_id", "does not list the ULEs of the fractions table",
                         "rerun the ule_energies rule (snakemake --forcerun ule_energies)")

    predictors, cv = {}, {}
    for name, (model_path, fit_path) in boosters.items():
        booster, table = learning.load_booster(model_path), name.removeprefix("xgboost_")
        predictors[name] = (table, lambda X, booster=booster: learning.predict(booster, X))
        cv[name] = json.loads(Path(fit_path).read_text())["cv_rmse_meV_per_atom"]
    ridges = {}
    for name, table in (("ridge_fractions", "fractions"), ("ridge_mean_soap", "mean_soap")):
        fitted = data[table, TRAIN_SPLIT]
        ridges[name] = linear_reference.fit_ridge(fitted.X, fitted.y, fitted.groups,
                                                  model_config["ridge_relative_alphas"], model_config["n_folds"],
                                                  model_config["seed"])
        predictors[name] = (table, ridges[name].predict)
        cv[name] = 1000 * ridges[name].cv_rmse
        log.info("%s: relative alpha %g chosen by grouped CV (RMSE by alpha, meV/atom: %s)", name,
                 ridges[name].relative_alpha,
                 {a: round(1000 * r, 3) for a, r in ridges[name].cv_rmse_by_alpha.items()})
    predictors["ule_energy_per_atom_fit"] = (
        "counts", lambda X: ule_energy.predict_energy_per_atom(X, energies["mean_energy_eV"]))
    cv["ule_energy_per_atom_fit"] = None  # fitted to per-atom energies of all train atoms: no grouped CV here
    predictors["train_mean"] = ("fractions", lambda X: [train.y.mean()] * len(X))
    cv["train_mean"] = 1000 * linear_reference.grouped_cv_rmse_of_mean(train.y, train.groups, model_config["n_folds"],
                                                                       model_config["seed"])

    metrics = {"n_train_samples": len(train.y), "n_atoms_train": n_train_atoms, "n_ules": len(train.feature_names),
               "k": k, "paper_sigma1_meV": 1000 * learning.PAPER_SIGMA1_EV, "fitted_to": dict(FITTED_TO),
               "ridge_relative_alpha": {name: fit.relative_alpha for name, fit in ridges.items()}}
    predictions = []
    for name, (table, predict) in predictors.items():
        metrics[name] = {"cv_rmse_meV_per_atom": cv[name]}
        for split in THERMAL_SPLITS:
            samples = data[table, split]
            predicted = predict(samples.X)
            predictions.append(pd.DataFrame({"sample_id": samples.sample_ids, "split": split, "model": name,
                                             "energy_eV_per_atom": samples.y, "predicted_eV_per_atom": predicted}))
            if split != TRAIN_SPLIT:
                metrics[name][split] = learning.regression_metrics(samples.y, predicted, n_train_atoms,
                                                                   samples.n_atoms)
        log.info("%-24s CV %s | test RMSE %.3f meV/atom, R2 %.3f, sigma1 %.1f meV | size RMSE %.3f, R2 %.3f, "
                 "sigma1 %.1f", name, "  -  " if cv[name] is None else f"{cv[name]:.3f}",
                 metrics[name][TEST_SPLIT]["rmse_meV_per_atom"], metrics[name][TEST_SPLIT]["r2"],
                 metrics[name][TEST_SPLIT]["sigma1_meV"], metrics[name][SIZE_SPLIT]["rmse_meV_per_atom"],
                 metrics[name][SIZE_SPLIT]["r2"], metrics[name][SIZE_SPLIT]["sigma1_meV"])
    return metrics, pd.concat(predictions, ignore_index=True)


def write_model_scores(catalogue_path, table_paths, ule_energies_path, booster_paths, model_config, k, metrics_path,
                       predictions_path, config):
    """The model_metrics job: :func:`score_models` on the feature tables at ``table_paths``
    (``{"fractions": path, "barcode": ..., "counts": ..., "mean_soap": ...}``) and the boosters
    at ``booster_paths`` (``{"xgboost_fractions": (model path, fit JSON path), ...}``); writes the
    metrics JSON and the predictions table, with the provenance record of the run's ``config``."""
    tables = {name: pd.read_parquet(path) for name, path in table_paths.items()}
    metrics, predictions = score_models(pd.read_parquet(catalogue_path), tables, pd.read_parquet(ule_energies_path),
                                        booster_paths, model_config, k, ule_energies_path=ule_energies_path)
    record = provenance.record(config)
    write_parquet(predictions, predictions_path, record)
    write_json(metrics_path, {**metrics, "provenance": record})
