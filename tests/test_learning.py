"""Grouped CV, Optuna tuning with resume, SHAP ranking and metrics on planted data."""

import numpy as np
import pytest

from mgbarcode import learning
from mgbarcode.errors import InputError

SEARCH_SPACE = {"max_depth": [2, 4], "eta": [0.05, 0.3], "gamma": [0.0, 1e-6],
                "min_child_weight": [0.0, 2.0], "subsample": [0.7, 1.0],
                "colsample_bytree": [0.7, 1.0]}
PLANTED = (7, 23, 41)
WEIGHTS = (-0.8, 0.5, 0.3)  # eV/atom per unit fraction


def planted_data(n_trajectories=30, per_trajectory=10, n_ules=60, seed=0):
    """ULE fractions (Dirichlet per trajectory) and eV/atom energies linear in 3 columns."""
    rng = np.random.default_rng(seed)
    groups = np.repeat(np.arange(n_trajectories), per_trajectory)
    # Samples of a trajectory share a base composition, like correlated snapshots, but
    # spread widely enough that unseen trajectories stay inside the trained range.
    base = rng.dirichlet(np.full(n_ules, 1.0), size=n_trajectories)
    X = np.vstack([rng.dirichlet(2.0 * base[g] + 0.3) for g in groups])
    y = -5.0 + X[:, PLANTED] @ np.array(WEIGHTS) + rng.normal(0, 2e-4, len(groups))
    return X, y, groups


def fit(X, y, groups, n_trials, storage_path=None, seed=3):
    return learning.tune_and_fit(X, y, groups, SEARCH_SPACE, n_trials=n_trials, n_folds=5,
                                 early_stopping_rounds=20, max_boost_rounds=300, seed=seed,
                                 n_threads=1, storage_path=storage_path)


def test_grouped_folds_keep_groups_and_cover_all_samples():
    groups = np.repeat(np.arange(13), np.arange(1, 14))  # unequal trajectory lengths
    folds = learning.grouped_folds(groups, n_folds=4, seed=5)
    assert len(folds) == 4
    valid = np.concatenate([v for _, v in folds])
    assert np.array_equal(np.sort(valid), np.arange(len(groups)))
    for train_idx, valid_idx in folds:
        assert not set(groups[train_idx]) & set(groups[valid_idx])
        assert len(train_idx) + len(valid_idx) == len(groups)
    again = learning.grouped_folds(groups, n_folds=4, seed=5)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(folds, again))
    with pytest.raises(InputError, match="lower model.n_folds"):
        learning.grouped_folds(np.arange(3), n_folds=5, seed=0)


def test_planted_ules_rank_first_and_unseen_groups_are_predicted():
    X, y, groups = planted_data()
    train = groups < 24  # the last 6 trajectories are never seen in training
    names = [f"ule_{i:04d}" for i in range(X.shape[1])]
    result = learning.tune_and_fit(X[train], y[train], groups[train], SEARCH_SPACE,
                                   n_trials=3, n_folds=4, early_stopping_rounds=20,
                                   max_boost_rounds=300, seed=1, feature_names=names)
    assert len(result.trials) == 3
    assert result.n_rounds >= 1 and result.cv_rmse > 0
    ranking = learning.shap_ranking(result.booster, X[train], names)
    assert set(ranking["feature"][:3]) == {names[i] for i in PLANTED}
    assert list(ranking["rank"]) == list(range(1, len(names) + 1))
    assert ranking["mean_abs_shap"].is_monotonic_decreasing
    metrics = learning.regression_metrics(y[~train], learning.predict(result.booster, X[~train],
                                                                      names), n_atoms_train=256)
    assert metrics["r2"] > 0.9
    assert metrics["n_samples"] == int((~train).sum())
    assert metrics["rmse_eV_per_system"] == pytest.approx(metrics["rmse_meV_per_atom"] * 0.256)


def test_study_resumes_and_booster_round_trips(tmp_path):
    X, y, groups = planted_data(n_trajectories=10, per_trajectory=8, n_ules=45)
    storage = tmp_path / "study.journal"
    first = fit(X, y, groups, n_trials=3, storage_path=storage)
    assert len(first.trials) == 3
    second = fit(X, y, groups, n_trials=5, storage_path=storage)
    assert len(second.trials) == 5
    # The first three trials are the stored ones, not re-run.
    assert np.allclose(second.trials["value"][:3], first.trials["value"])
    # Resumed proposals equal those of an uninterrupted study (sampler seeded per trial).
    straight = fit(X, y, groups, n_trials=5)
    assert np.allclose(straight.trials["value"], second.trials["value"])
    with pytest.raises(InputError, match="other settings"):
        fit(X, y, groups, n_trials=5, storage_path=storage, seed=4)
    path = tmp_path / "model" / "booster.json"
    learning.save_booster(second.booster, path)
    loaded = learning.load_booster(path)
    assert np.array_equal(learning.predict(loaded, X), learning.predict(second.booster, X))


def test_metrics_and_long_tail():
    metrics = learning.regression_metrics([0.0, 0.002], [0.001, 0.001], n_atoms_train=2000)
    assert metrics["rmse_meV_per_atom"] == pytest.approx(1.0)
    assert metrics["rmse_eV_per_system"] == pytest.approx(2.0)
    assert metrics["mae_meV_per_atom"] == pytest.approx(1.0)
    assert metrics["r2"] == pytest.approx(0.0)
    values = np.array([0, 0, 0, 1, 1, 1, 1, 1, 6, 9])  # median of positives = 1
    # Sorted: 0.05, 0.04, 0.006, 0.002 (0.098 in all): 0.05 + 0.04 = 0.09 is 92 % of it.
    assert learning.long_tail_k([0.006, 0.05, 0.002, 0.04], tail_share=0.9) == 2
    assert learning.long_tail_k([0.006, 0.05, 0.002, 0.04], tail_share=0.95) == 3
    assert learning.long_tail_threshold([0.006, 0.05, 0.002, 0.04], tail_share=0.9) == 0.04
    assert learning.long_tail_k(np.zeros(4), tail_share=0.9) == 0


def test_cv_does_not_flatter_a_model_of_pure_noise():
    """Energies that are noise, independent of the features: early stopping on the scored fold
    picks each fold's luckiest round count and hides most of the trees' loss to the mean; the
    project's CV, which stops on other trajectories, shows it."""
    import xgboost

    from mgbarcode.linear_reference import grouped_cv_rmse_of_mean

    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(20), 8)
    X = rng.normal(size=(len(groups), 30))
    y = rng.normal(0, 1e-2, len(groups))
    hyper = {"max_depth": 3, "eta": 0.05, "gamma": 0.0, "min_child_weight": 0.0, "subsample": 1.0,
             "colsample_bytree": 1.0}
    folds = learning.grouped_folds(groups, 5, seed=1)
    honest, _ = learning.cross_validate(X, y, groups, folds, hyper, 10, 300, seed=1, n_threads=1)
    leaky_squared = 0.0
    for train_idx, valid_idx in folds:
        dvalid = xgboost.DMatrix(X[valid_idx], label=y[valid_idx])
        booster = xgboost.train(learning._xgb_params(hyper, 1, 1), xgboost.DMatrix(X[train_idx], label=y[train_idx]),
                                300, evals=[(dvalid, "v")], early_stopping_rounds=10, verbose_eval=False)
        predicted = booster.predict(dvalid, iteration_range=(0, booster.best_iteration + 1))
        leaky_squared += float(np.sum((predicted - y[valid_idx]) ** 2))
    leaky = np.sqrt(leaky_squared / len(y))
    # Nothing predicts noise better than the mean: the honest CV shows the trees losing to it,
    # the leaky one hides most of that loss.
    mean = grouped_cv_rmse_of_mean(y, groups, 5, seed=1)
    assert honest > mean
    assert leaky - mean < 0.5 * (honest - mean)


def test_effective_k_stops_at_features_no_tree_uses():
    X, y, groups = planted_data()
    X[:, 50:] = 0.25  # constant columns: no split can use them, so their SHAP is exactly 0
    booster = fit(X, y, groups, n_trials=2).booster
    ranking = learning.shap_ranking(booster, X, [f"ule_{i}" for i in range(X.shape[1])])
    k_eff = learning.effective_k(ranking["mean_abs_shap"], 60)
    assert k_eff == int((ranking["mean_abs_shap"] > 0).sum()) <= 50
    assert not set(ranking["feature"].head(k_eff)) & {f"ule_{i}" for i in range(50, 60)}
    assert learning.effective_k(ranking["mean_abs_shap"], 3) == 3


def test_ridge_reference_recovers_planted_coefficients():
    from mgbarcode import linear_reference

    rng = np.random.default_rng(6)
    groups = np.repeat(np.arange(12), 10)
    X = rng.normal(size=(len(groups), 5))
    weights = np.array([2.0, -1.0, 0.5, 0.0, 3.0])
    y = 1.5 + X @ weights + rng.normal(0, 1e-3, len(groups))
    fit = linear_reference.fit_ridge(X, y, groups, [1e-8, 1e-4, 1e-2, 1.0], n_folds=4, seed=0)
    np.testing.assert_allclose(fit.coef, weights, atol=2e-3)
    assert fit.relative_alpha <= 1e-4 and fit.cv_rmse < 2e-3
    np.testing.assert_allclose(fit.predict(X[:3]), y[:3], atol=5e-3)
    # More features than samples: the dual form gives the same answer as the primal.
    wide = rng.normal(size=(8, 20))
    centred = wide - wide.mean(axis=0)
    target = rng.normal(size=8)
    primal = np.linalg.solve(centred.T @ centred + 0.1 * np.eye(20), centred.T @ target)
    np.testing.assert_allclose(linear_reference.ridge_coefficients(centred, target, 0.1), primal, atol=1e-10)


def test_sigma1_is_size_free():
    metrics = learning.regression_metrics([0.0, 0.0], [1e-3, -1e-3], 2000, n_atoms=[2000, 2000])
    assert metrics["sigma1_meV"] == pytest.approx(1e-3 * np.sqrt(2000) * 1000)
    assert learning.PAPER_SIGMA1_EV * 1000 == pytest.approx(52.77, abs=0.01)


def test_learning_curve_subsets_are_nested_and_seeded():
    from mgbarcode.learning_curve import nested_history_subsets

    ids = [f"t{i:02d}" for i in range(12)] * 3  # repeated ids, as one per sample
    subsets = nested_history_subsets(ids, [1.0, 0.25, 0.5], seed=5)
    assert list(subsets) == [0.25, 0.5, 1.0]
    assert [len(v) for v in subsets.values()] == [3, 6, 12]
    assert set(subsets[0.25]) <= set(subsets[0.5]) <= set(subsets[1.0])
    assert subsets == nested_history_subsets(ids, [0.25, 0.5, 1.0], seed=5)
    assert subsets != nested_history_subsets(ids, [0.25, 0.5, 1.0], seed=6)
    assert len(nested_history_subsets(ids[:3], [0.1], seed=0)[0.1]) == 2  # never fewer than 2
