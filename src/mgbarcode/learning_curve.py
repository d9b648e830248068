"""How the energy error falls with more training histories and more ULEs (the paper's Fig. A1).

For each dictionary threshold and each nested subset of the ``train`` histories, the whole
learning chain is redone on that subset alone: the ULE dictionary from its environments, the
encoding of its samples and of ``test``, and two models of the ULE fractions fitted to the
global energies, XGBoost (with the hyperparameters and round count tuned on the full
``train`` split, so each point costs one fit, not a search) and ridge (regularisation by
grouped CV).  Both are scored on ``test``.  A user reads off what data their accuracy needs:
whether the error still falls with histories (more data helps) or with ULEs (a finer
dictionary helps), or has met the encoding's noise floor.
"""

import json
import logging
import math
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from . import basins, figures, learning, linear_reference, provenance
from .io import write_parquet
from .results_layout import TEST_SPLIT, TRAIN_SPLIT, ULE_PREFIX
from .ules import encoding, leader_dictionary

log = logging.getLogger(__name__)


def nested_history_subsets(trajectory_ids, history_fractions, seed, min_histories=2):
    """``{fraction: [trajectory ids]}``, nested: each subset holds the smaller ones.  The
    histories are shuffled once with ``seed``; a subset takes the first ceil(fraction·n)
    (at least ``min_histories``)."""
    ids = sorted(set(trajectory_ids))
    order = [ids[i] for i in np.random.default_rng(seed).permutation(len(ids))]
    return {float(fraction): sorted(order[:max(min_histories, math.ceil(fraction * len(ids)))])
            for fraction in sorted(history_fractions)}


def _fractions_matrix(encoded):
    columns = [c for c in encoded.fractions.columns if c.startswith(ULE_PREFIX)]
    return encoded.fractions[columns].to_numpy(np.float64)


def learning_curve(train, test, soap_path_of, thresholds, history_fractions, hyper, n_rounds, model_config,
                   batch_size, seed, n_threads=1):
    """The learning-curve table: one row per (threshold, history fraction, model).

    ``train``/``test``: DataFrames with ``sample_id, trajectory_id, energy_eV_per_atom``
    (distinct IS); ``soap_path_of``: sample id → SOAP file; ``hyper``/``n_rounds``: the
    XGBoost parameters to refit with; ``model_config``: the ``model`` config section (folds,
    seed, ridge grid).  Columns: ``threshold, history_fraction, n_histories, n_train_samples,
    n_ules, model, test_rmse_meV_per_atom, test_r2``.
    """
    rows = []
    train = train.sort_values("sample_id", kind="stable")
    test_ids = list(test.sort_values("sample_id", kind="stable")["sample_id"])
    y_test = test.set_index("sample_id").loc[test_ids, "energy_eV_per_atom"].to_numpy()
    subsets = nested_history_subsets(train["trajectory_id"], history_fractions, seed)
    with tempfile.TemporaryDirectory() as scratch:
        for threshold in thresholds:
            for fraction, histories in subsets.items():
                chosen = train[train["trajectory_id"].isin(histories)]
                ids = list(chosen["sample_id"])
                dictionary = leader_dictionary.build_dictionary_from_files([soap_path_of[s] for s in ids], threshold,
                                                                          batch_size)
                path = Path(scratch) / "dictionary.parquet"
                dictionary.write(path)
                encoded = encoding.encode_files([soap_path_of[s] for s in ids + test_ids], ids + test_ids, path,
                                                threshold, batch_size)
                X = _fractions_matrix(encoded)
                X_train, X_test = X[:len(ids)], X[len(ids):]
                y_train, groups = chosen["energy_eV_per_atom"].to_numpy(), chosen["trajectory_id"].to_numpy()
                booster = learning.fit_booster(X_train, y_train, hyper, n_rounds, seed, n_threads)
                ridge = linear_reference.fit_ridge(X_train, y_train, groups, model_config["ridge_relative_alphas"],
                                                   min(model_config["n_folds"], len(histories)), model_config["seed"])
                predictions = {"xgboost_fractions": learning.predict(booster, X_test),
                               "ridge_fractions": ridge.predict(X_test),
                               "train_mean": np.full(len(y_test), y_train.mean())}
                for model, predicted in predictions.items():
                    scores = learning.regression_metrics(y_test, predicted, 1)
                    rows.append({"threshold": float(threshold), "history_fraction": fraction,
                                 "n_histories": len(histories), "n_train_samples": len(ids),
                                 "n_ules": len(dictionary), "model": model,
                                 "test_rmse_meV_per_atom": scores["rmse_meV_per_atom"], "test_r2": scores["r2"]})
    return pd.DataFrame(rows)


def write_learning_curve(catalogue_path, fit_path, soap_input, curve_config, model_config, batch_size, table_path,
                         figure_paths, config, n_threads=1):
    """The learning_curve job: :func:`learning_curve` over the distinct ``train`` and ``test``
    IS, refitting XGBoost with the tuned parameters of the full fractions model (its fit JSON at
    ``fit_path``); SOAP from ``soap_input`` (a :class:`mgbarcode.descriptors.SoapInput`).
    ``curve_config``: the ``learning_curve`` config section.  Writes the table, with the
    provenance record of the run's ``config``, and its figure (PNG and SVG paths)."""
    catalogue = basins.distinct(pd.read_parquet(catalogue_path))
    train, test = (catalogue[catalogue["split"] == split] for split in (TRAIN_SPLIT, TEST_SPLIT))
    ids = list(train["sample_id"]) + list(test["sample_id"])
    soap_path_of = dict(zip(ids, soap_input.sources(ids)))
    fit = json.loads(Path(fit_path).read_text())
    table = learning_curve(train, test, soap_path_of, curve_config["thresholds"], curve_config["history_fractions"],
                           fit["best_params"], fit["n_rounds"], model_config, batch_size, curve_config["seed"],
                           n_threads)
    for row in table.itertuples():
        log.info("threshold %.3f, %d histories (%d samples), %d ULEs: %s test RMSE %.3f meV/atom, R2 %.3f",
                 row.threshold, row.n_histories, row.n_train_samples, row.n_ules, row.model,
                 row.test_rmse_meV_per_atom, row.test_r2)
    write_parquet(table, table_path, provenance.record(config))
    figures.learning_curve_plot(table, figure_paths)
