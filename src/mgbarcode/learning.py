"""Energy regression on ULE fractions or barcodes: grouped CV, Optuna tuning, XGBoost, SHAP.

Targets are inherent-structure energies in eV/atom, so one model serves any system size;
:func:`regression_metrics` also reports the per-system error at the training size N.

Cross-validation folds split by trajectory (``groups``): the snapshots of one annealing
trajectory are strongly correlated, so a random split would leak and flatter the CV error.
For the same reason early stopping inside a fold stops on trajectories of the fold's training
part, never on the fold it is scored on.
"""

import dataclasses
import hashlib
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from . import provenance
from .basins import distinct
from .errors import InputError
from .io import atomic_path, write_json, write_parquet
from .results_layout import TRAIN_SPLIT, ULE_PREFIX, model_output

log = logging.getLogger(__name__)

#: Hyperparameters the search tunes; ``eta`` is sampled on a log scale, ``max_depth`` as an
#: integer, the rest uniformly.
SEARCH_PARAMETERS = ("max_depth", "eta", "gamma", "min_child_weight", "subsample",
                     "colsample_bytree")
LOG_SCALE_PARAMETERS = ("eta",)
INTEGER_PARAMETERS = ("max_depth",)

# Study attributes that must match when a stored study is resumed; a study made with other
# settings would mix incomparable trials.
_STUDY_SETTINGS_ATTR = "mgbarcode_settings"


def grouped_folds(groups, n_folds, seed):
    """Split samples into ``n_folds`` validation folds that never split a group.

    ``groups`` holds one label per sample (the trajectory id).  Groups are shuffled with
    ``seed`` and then, largest first (stable, so shuffled order breaks ties), each goes to the
    fold that currently holds the fewest samples (lowest fold index on ties).  This balances
    fold sizes when trajectories differ in length.

    Returns a list of ``(train_idx, valid_idx)`` integer arrays (sorted); every sample is in
    exactly one validation fold.  Raises :class:`InputError` if there are fewer groups than
    folds.
    """
    groups = np.asarray(groups)
    labels, inverse, sizes = np.unique(groups, return_inverse=True, return_counts=True)
    if n_folds < 2:
        raise InputError("config", "model.n_folds", f"{n_folds} folds cannot cross-validate",
                         "set model.n_folds to 2 or more")
    if len(labels) < n_folds:
        raise InputError("config", "model.n_folds",
                         f"only {len(labels)} trajectories (groups) for {n_folds} folds, so a "
                         "fold would have no validation samples",
                         f"lower model.n_folds to at most {len(labels)} or add trajectories")
    order = np.random.default_rng(seed).permutation(len(labels))
    order = order[np.argsort(-sizes[order], kind="stable")]
    fold_of_group = np.empty(len(labels), dtype=int)
    fold_sizes = np.zeros(n_folds, dtype=int)
    for group in order:
        fold = int(np.argmin(fold_sizes))
        fold_of_group[group] = fold
        fold_sizes[fold] += sizes[group]
    fold_of_sample = fold_of_group[inverse]
    return [(np.flatnonzero(fold_of_sample != fold), np.flatnonzero(fold_of_sample == fold))
            for fold in range(n_folds)]


@dataclasses.dataclass
class FitResult:
    """Outcome of :func:`tune_and_fit`.

    ``cv_rmse`` is the best trial's pooled out-of-fold RMSE in target units (eV/atom);
    ``n_rounds`` the number of boosting rounds of the refitted ``booster``; ``trials`` one row
    per trial of the (possibly resumed) study.
    """

    booster: object
    best_params: dict
    cv_rmse: float
    n_rounds: int
    trials: pd.DataFrame


def _xgb_params(hyper, seed, n_threads):
    """Full XGBoost parameter dict: tuned ``hyper`` plus the fixed, determinism-relevant ones."""
    params = {"objective": "reg:squarederror", "eval_metric": "rmse", "tree_method": "hist",
              "seed": int(seed), "nthread": int(n_threads), "verbosity": 0}
    params.update(hyper)
    return params


def _dmatrix(X, y=None, feature_names=None):
    import xgboost

    return xgboost.DMatrix(np.asarray(X, dtype=np.float64), label=y,
                           feature_names=None if feature_names is None else list(feature_names))


def early_stopping_split(groups, n_folds, seed):
    """Inside one training fold: ``(fit_idx, stop_idx)``, the samples a booster is fitted on and
    the ones that decide when it stops, apart by group (one of ``n_folds`` grouped folds, fewer
    when the fold holds fewer groups, at least 2)."""
    n_groups = len(np.unique(groups))
    if n_groups < 2:
        raise InputError("config", "model.n_folds", "a training fold holds a single trajectory, so early "
                         "stopping has no trajectory of its own to stop on", "add trajectories to train")
    return grouped_folds(groups, min(n_folds, n_groups), seed + 1)[0]


def cross_validate(X, y, groups, folds, hyper, early_stopping_rounds, max_boost_rounds, seed, n_threads):
    """Grouped CV of one hyperparameter set, with early stopping that never sees the scored fold.

    In each fold the training part is split again by trajectory (:func:`early_stopping_split`):
    the booster is fitted on one part and stopped on the other, then scores the held-out fold.
    Stopping on the scored fold itself would pick, for each fold, the round count that fits
    that fold best, and flatter the CV error the hyperparameter search minimises.

    Returns ``(rmse, best_rounds)``: the RMSE over all out-of-fold predictions pooled (target
    units) and, per fold, the number of rounds that early stopping kept.
    """
    import xgboost

    params = _xgb_params(hyper, seed, n_threads)
    groups = np.asarray(groups)
    squared_error = 0.0
    best_rounds = []
    for train_idx, valid_idx in folds:
        fit, stop = (train_idx[part] for part in early_stopping_split(groups[train_idx], len(folds), seed))
        booster = xgboost.train(params, _dmatrix(X[fit], y[fit]), num_boost_round=max_boost_rounds,
                                evals=[(_dmatrix(X[stop], y[stop]), "stop")],
                                early_stopping_rounds=early_stopping_rounds, verbose_eval=False)
        n_rounds = booster.best_iteration + 1
        predicted = booster.predict(_dmatrix(X[valid_idx]), iteration_range=(0, n_rounds))
        squared_error += float(np.sum((predicted - y[valid_idx]) ** 2))
        best_rounds.append(n_rounds)
    return float(np.sqrt(squared_error / len(y))), best_rounds


def _check_search_space(search_space):
    missing = [name for name in SEARCH_PARAMETERS if name not in search_space]
    unknown = [name for name in search_space if name not in SEARCH_PARAMETERS]
    if missing or unknown:
        raise InputError("config", "model.search_space",
                         f"missing {missing}, unknown {unknown}",
                         f"give exactly {list(SEARCH_PARAMETERS)} as [low, high]")
    for name in SEARCH_PARAMETERS:
        low, high = search_space[name]
        if not low <= high or (name in LOG_SCALE_PARAMETERS and low <= 0):
            raise InputError("config", f"model.search_space.{name}",
                             f"[{low}, {high}] is not a valid range",
                             "give low <= high" + (" with low > 0 (log scale)"
                                                   if name in LOG_SCALE_PARAMETERS else ""))


def _suggest(trial, search_space):
    hyper = {}
    for name in SEARCH_PARAMETERS:
        low, high = search_space[name]
        if name in INTEGER_PARAMETERS:
            hyper[name] = trial.suggest_int(name, int(low), int(high))
        else:
            hyper[name] = trial.suggest_float(name, float(low), float(high),
                                              log=name in LOG_SCALE_PARAMETERS)
    return hyper


def _journal_storage(storage_path):
    """Optuna journal-file storage: an append-only log, so a killed study keeps its trials."""
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    storage_path = Path(storage_path)
    storage_path.parent.mkdir(parents=True, exist_ok=True)
    return JournalStorage(JournalFileBackend(str(storage_path)))


def tune_and_fit(X, y, groups, search_space, n_trials, n_folds, early_stopping_rounds,
                 max_boost_rounds, seed, n_threads=1, storage_path=None,
                 study_name="mgbarcode", feature_names=None):
    """Tune XGBoost by Optuna TPE on grouped CV, then refit on all of ``X``.

    Parameters
    ----------
    X, y : array [n_samples, n_features], array [n_samples]
        Features (ULE fractions or barcode entries) and targets (IS energy, eV/atom).
    groups : array [n_samples]
        Trajectory id of each sample; CV folds never split one (:func:`grouped_folds`).
    search_space : dict
        ``{name: [low, high]}`` for every name in :data:`SEARCH_PARAMETERS`.
    n_trials : int
        Total number of completed trials wanted.  With ``storage_path`` a study that already
        holds some completed trials runs only the rest (a killed job resumes).
    early_stopping_rounds, max_boost_rounds : int
        Early stopping patience and upper bound on boosting rounds per CV fit.
    seed : int
        Seeds the folds, XGBoost and the sampler.  The sampler of trial number t is seeded
        with ``seed + t``, so a trial depends only on the stored history and its number: a
        resumed study proposes what an uninterrupted one would have.
    n_threads : int
        XGBoost threads; fixed so that results do not depend on the machine.
    storage_path : path or None
        Optuna journal file (e.g. ``results/model/study.journal``); None keeps the study in
        memory.  Resuming checks that the stored study was made with the same settings.
    feature_names : list of str or None
        Stored in the booster so that :func:`predict` can check column order.

    The objective is the pooled out-of-fold RMSE (minimised; the same as maximising −RMSE).
    The final booster is trained on all samples with the best parameters for the mean over
    folds of the early-stopping round counts of the best trial (rounded, at least 1).
    """
    import optuna
    import xgboost

    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if X.ndim != 2 or len(X) != len(y) or len(y) != len(groups):
        raise ValueError(f"X {X.shape}, y {y.shape} and groups ({len(groups)}) do not match")
    _check_search_space(search_space)
    folds = grouped_folds(groups, n_folds, seed)

    def objective(trial):
        rmse, best_rounds = cross_validate(X, y, groups, folds, _suggest(trial, search_space),
                                           early_stopping_rounds, max_boost_rounds, seed,
                                           n_threads)
        trial.set_user_attr("fold_rounds", best_rounds)
        return rmse

    settings = {"search_space": {k: list(map(float, v)) for k, v in search_space.items()},
                "n_folds": int(n_folds), "seed": int(seed),
                "early_stopping_rounds": int(early_stopping_rounds),
                "max_boost_rounds": int(max_boost_rounds), "n_samples": int(len(y)),
                "early_stopping": "inner grouped split of each training fold",
                "n_features": int(X.shape[1])}
    storage = None if storage_path is None else _journal_storage(storage_path)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name=study_name, storage=storage, direction="minimize",
                                load_if_exists=True)
    stored = study.user_attrs.get(_STUDY_SETTINGS_ATTR)
    if stored is None:
        study.set_user_attr(_STUDY_SETTINGS_ATTR, settings)
    elif stored != settings:
        raise InputError(storage_path, study_name,
                         f"stored study was made with other settings ({stored}, now {settings})",
                         "delete the study file or use a new study name")

    def n_complete():
        return sum(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)

    done = n_complete()
    log.info("study %s: %d completed trials stored, %d wanted", study_name, done, n_trials)
    while n_complete() < n_trials:
        # A fresh sampler per trial, seeded by the trial number (see docstring).
        study.sampler = optuna.samplers.TPESampler(seed=seed + len(study.trials))
        study.optimize(objective, n_trials=1)

    best = study.best_trial
    n_rounds = max(1, int(round(float(np.mean(best.user_attrs["fold_rounds"])))))
    best_params = {name: best.params[name] for name in SEARCH_PARAMETERS}
    booster = xgboost.train(_xgb_params(best_params, seed, n_threads),
                            _dmatrix(X, y, feature_names), num_boost_round=n_rounds)
    return FitResult(booster=booster, best_params=best_params, cv_rmse=float(best.value),
                     n_rounds=n_rounds, trials=study.trials_dataframe())


def fit_booster(X, y, hyper, n_rounds, seed, n_threads=1, feature_names=None):
    """One XGBoost fit with fixed hyperparameters and round count (no search, no stopping)."""
    import xgboost

    return xgboost.train(_xgb_params(hyper, seed, n_threads), _dmatrix(X, y, feature_names),
                         num_boost_round=int(n_rounds))


def predict(booster, X, feature_names=None):
    """Predictions (target units, eV/atom) of ``booster`` for ``X`` [n_samples, n_features].

    If the booster stores feature names and ``feature_names`` is given, they must agree (a
    guard against a different column order).
    """
    stored = booster.feature_names
    if feature_names is not None and stored is not None and list(feature_names) != list(stored):
        raise ValueError("feature names differ from the ones the model was trained on")
    return booster.predict(_dmatrix(X, feature_names=stored)).astype(np.float64)


#: The paper's barcode-model error, size-free: 2.36 eV per 2000-atom system / √2000 (eV).
PAPER_SIGMA1_EV = 2.36 / np.sqrt(2000.0)


def regression_metrics(y_true, y_pred, n_atoms_train, n_atoms=None):
    """Errors of per-atom energy predictions (eV/atom in).

    Returns ``rmse_meV_per_atom``, ``rmse_eV_per_system`` (per-atom RMSE × ``n_atoms_train``,
    the paper's per-system figure at the training size), ``sigma1_meV`` (the size-free error
    σ₁ = RMSE per system / √N = √mean(N_i e_i²), e_i the per-atom error of a sample of N_i
    atoms; the paper's is 52.8 meV), ``mae_meV_per_atom``, ``r2`` (1 − SS_res/SS_tot; NaN if
    the targets are constant) and ``n_samples``.  ``n_atoms``: atoms of each sample (default
    ``n_atoms_train`` for all).
    """
    y_true = np.asarray(y_true, dtype=np.float64)
    residual = np.asarray(y_pred, dtype=np.float64) - y_true
    n_atoms = np.full(len(y_true), n_atoms_train, dtype=np.float64) if n_atoms is None else \
        np.asarray(n_atoms, dtype=np.float64)
    rmse = float(np.sqrt(np.mean(residual ** 2)))
    total = float(np.sum((y_true - y_true.mean()) ** 2))
    return {"rmse_meV_per_atom": 1000.0 * rmse,
            "rmse_eV_per_system": rmse * n_atoms_train,
            "sigma1_meV": 1000.0 * float(np.sqrt(np.mean(n_atoms * residual ** 2))),
            "mae_meV_per_atom": 1000.0 * float(np.mean(np.abs(residual))),
            "r2": 1.0 - float(np.sum(residual ** 2)) / total if total > 0 else float("nan"),
            "n_samples": int(len(y_true))}


def shap_ranking(booster, X, feature_names):
    """Rank features by mean |SHAP| over the samples of ``X`` (``shap.TreeExplainer``).

    Returns a DataFrame ``rank`` (1 = most important), ``feature``, ``mean_abs_shap`` (target
    units, eV/atom), sorted by decreasing importance; ties go by feature name.
    """
    import shap

    frame = pd.DataFrame(np.asarray(X, dtype=np.float64), columns=list(feature_names))
    values = shap.TreeExplainer(booster).shap_values(frame)
    table = pd.DataFrame({"feature": list(feature_names),
                          "mean_abs_shap": np.abs(values).mean(axis=0).astype(np.float64)})
    table = table.sort_values(["mean_abs_shap", "feature"], ascending=[False, True],
                              kind="stable").reset_index(drop=True)
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return table


def effective_k(mean_abs_shap, k):
    """K_eff = min(k, number of features with non-zero mean |SHAP|).  Features that no tree uses
    have zero SHAP everywhere; ranking among them would only be a tie-break, so a barcode never
    goes past them."""
    return int(min(k, int(np.count_nonzero(np.asarray(mean_abs_shap, dtype=np.float64) > 0))))


def top_k_stability(X, y, feature_names, hyper, n_rounds, seeds, k, n_threads=1):
    """How stable the top-``k`` SHAP set is against the model's own randomness: the booster is
    refitted with ``hyper`` and ``n_rounds`` under each seed (row and column subsampling
    change), ranked by mean |SHAP| on ``X``, and the top-``k`` sets compared.

    Returns a dict: ``seeds``, ``k``, ``top_k`` (feature lists per seed), ``pairwise_overlap``
    (|A ∩ B| / k for every pair of seeds) and its ``mean_overlap``.
    """
    tops = []
    for seed in seeds:
        booster = fit_booster(X, y, hyper, n_rounds, seed, n_threads, feature_names)
        ranking = shap_ranking(booster, X, feature_names)
        tops.append(list(ranking["feature"].head(effective_k(ranking["mean_abs_shap"], k))))
    overlaps = [len(set(a) & set(b)) / max(1, k) for i, a in enumerate(tops) for b in tops[i + 1:]]
    return {"seeds": [int(seed) for seed in seeds], "k": int(k), "top_k": tops, "pairwise_overlap": overlaps,
            "mean_overlap": float(np.mean(overlaps)) if overlaps else float("nan")}


def long_tail_k(mean_abs_shap, tail_share):
    """Where the long tail of importance ends (reported beside the configured K, the paper's
    Fig. A2): the smallest number of top-ranked features whose mean |SHAP| values add up to at
    least ``tail_share`` (in (0, 1]) of the total.  0 if no feature has any importance.

    A share of the total, rather than a multiple of a typical value, stays meaningful whether
    hundreds of features carry small importances or only a handful carry any.
    """
    values = np.sort(np.asarray(mean_abs_shap, dtype=np.float64))[::-1]
    total = values.sum()
    if total <= 0:
        return 0
    return int(np.searchsorted(np.cumsum(values) / total, tail_share - 1e-12) + 1)


def long_tail_threshold(mean_abs_shap, tail_share):
    """The mean |SHAP| of the last feature inside :func:`long_tail_k` (0 if there is none)."""
    k = long_tail_k(mean_abs_shap, tail_share)
    return float(np.sort(np.asarray(mean_abs_shap, dtype=np.float64))[::-1][k - 1]) if k else 0.0


def save_booster(booster, path):
    """Write ``booster`` as XGBoost JSON to ``path`` atomically."""
    raw = booster.save_raw(raw_format="json")
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(bytes(raw))


def load_booster(path):
    """Read a booster written by :func:`save_booster`."""
    import xgboost

    booster = xgboost.Booster()
    booster.load_model(bytearray(Path(path).read_bytes()))
    return booster


@dataclasses.dataclass
class Dataset:
    """Samples of some splits as a learning problem: features, IS energy per atom (eV/atom),
    trajectory groups and sizes, in ``sample_id`` order."""

    sample_ids: np.ndarray
    X: np.ndarray
    y: np.ndarray
    groups: np.ndarray
    n_atoms: np.ndarray
    splits: np.ndarray
    feature_names: list


def load_dataset(features, catalogue, splits, feature_prefix):
    """Join a feature table (one row per ``sample_id``; feature columns start with
    ``feature_prefix``) with the sample catalogue and keep the rows of ``splits``.  An IS
    that repeats an earlier one of its trajectory (catalogue ``repeat_of``) counts once: it is
    left out, for training and for scoring alike.

    ``features`` and ``catalogue`` are DataFrames or Parquet paths.
    """
    features = features if isinstance(features, pd.DataFrame) else pd.read_parquet(features)
    catalogue = catalogue if isinstance(catalogue, pd.DataFrame) else pd.read_parquet(catalogue)
    names = [c for c in features.columns if c.startswith(feature_prefix)]
    if not names:
        raise ValueError(f"no feature columns starting with '{feature_prefix}'")
    catalogue = distinct(catalogue)
    joined = catalogue[["sample_id", "split", "trajectory_id", "n_atoms", "energy_eV_per_atom"]].merge(
        features[["sample_id", *names]], on="sample_id", how="inner", validate="one_to_one")
    joined = joined[joined["split"].isin(list(splits))].sort_values("sample_id", kind="stable")
    if joined.empty:
        raise ValueError(f"no samples of splits {list(splits)} have features")
    return Dataset(sample_ids=joined["sample_id"].to_numpy(), X=joined[names].to_numpy(np.float64),
                   y=joined["energy_eV_per_atom"].to_numpy(np.float64),
                   groups=joined["trajectory_id"].to_numpy(), n_atoms=joined["n_atoms"].to_numpy(),
                   splits=joined["split"].to_numpy(), feature_names=names)


# ------------------------------------------------------------------------------ the jobs

def fit_energy_model(features_name, features_path, catalogue_path, feature_prefix, model_config, study_path,
                     model_path, trials_path, summary_path, config, n_threads=1):
    """The energy_model job: tune and fit the XGBoost model of the ``train`` IS energies on the
    feature table ``features_name`` (:func:`tune_and_fit`), and write the booster, its trials
    and a fit summary, with the provenance record of the run's ``config`` and the model seed.

    The Optuna study at ``study_path`` is named after the features and a fingerprint of the
    training data: a stored study resumes only for the very same data, never for a regenerated
    data set of the same shape."""
    train = load_dataset(features_path, catalogue_path, [TRAIN_SPLIT], feature_prefix)
    fingerprint = hashlib.sha256(train.X.tobytes() + train.y.tobytes()).hexdigest()[:16]
    study_name = f"{features_name}-{fingerprint}"
    log.info("%s model: %d train samples, %d trajectories, %d features; study %s", features_name, len(train.y),
             len(set(train.groups)), train.X.shape[1], study_name)
    fit = tune_and_fit(
        train.X, train.y, train.groups, model_config["search_space"], model_config["n_trials"],
        model_config["n_folds"], model_config["early_stopping_rounds"], model_config["max_boost_rounds"],
        model_config["seed"], n_threads=n_threads, storage_path=study_path, study_name=study_name,
        feature_names=train.feature_names)
    log.info("best CV RMSE %.3f meV/atom with %d rounds, %s", 1000 * fit.cv_rmse, fit.n_rounds, fit.best_params)
    record = provenance.record(config, seeds={"model": model_config["seed"]})
    save_booster(fit.booster, model_path)
    write_parquet(fit.trials.drop(columns=[c for c in fit.trials.columns if c.startswith(("datetime", "duration"))]),
                  trials_path, record)
    write_json(summary_path, {
        "features": features_name, "best_params": fit.best_params, "cv_rmse_meV_per_atom": 1000 * fit.cv_rmse,
        "n_rounds": fit.n_rounds, "n_train_samples": len(train.y), "n_train_trajectories": len(set(train.groups)),
        "n_features": train.X.shape[1], "study": study_name, "provenance": record})


def rank_ules(model_path, fit_path, fractions_path, catalogue_path, k, tail_share, stability_seeds, ranking_path,
              tail_path, config, n_threads=1):
    """The shap_ranking job: every ULE ranked by the mean |SHAP| of the fractions model over the
    ``train`` samples it was fitted on (:func:`shap_ranking`); K_eff (:func:`effective_k`), the
    long tail (:func:`long_tail_k`) and how stable the top K_eff is across model seeds
    (:func:`top_k_stability`).  Writes the ranking and the long-tail JSON, with the provenance
    record of the run's ``config``.  Raises :class:`InputError` when no ULE has any importance."""
    train = load_dataset(fractions_path, catalogue_path, [TRAIN_SPLIT], ULE_PREFIX)
    ranking = shap_ranking(load_booster(model_path), train.X, train.feature_names)
    ranking.insert(1, "ule_id", ranking["feature"].str.removeprefix(ULE_PREFIX).astype(int))
    k_eff = effective_k(ranking["mean_abs_shap"], k)
    if k_eff == 0:
        raise InputError(model_path, "trees", "the fractions model splits on no ULE, so no ULE has any "
                         "importance and there is no barcode to make",
                         f"check {model_output('fractions', 'fit')}: a model.search_space whose gamma or "
                         "min_child_weight is large for the energy scale forbids every split; otherwise the train "
                         "split holds no energy signal")
    fit = json.loads(Path(fit_path).read_text())
    stability = top_k_stability(train.X, train.y, train.feature_names, fit["best_params"], fit["n_rounds"],
                                stability_seeds, k_eff, n_threads=n_threads)
    tail = {"k_config": k, "k_eff": k_eff, "k_long_tail": long_tail_k(ranking["mean_abs_shap"], tail_share),
            "tail_threshold_eV_per_atom": long_tail_threshold(ranking["mean_abs_shap"], tail_share),
            "tail_share": tail_share, "n_ules": len(ranking),
            "n_ules_with_nonzero_shap": int((ranking["mean_abs_shap"] > 0).sum()),
            "shap_samples": f"the {len(train.y)} train samples (distinct IS) the fractions model was fitted on",
            "top_k_stability": stability,
            "rule": "k_eff = min(k_config, ULEs with non-zero mean |SHAP|); k_long_tail = the fewest top-ranked "
                    "ULEs whose mean |SHAP| adds up to tail_share of the total"}
    if k_eff < k:
        log.warning("barcode.k = %d but only %d ULEs have non-zero mean |SHAP|: the barcode uses K_eff = %d", k,
                    k_eff, k_eff)
    log.info("%d ULEs ranked on %d train samples, %d with non-zero SHAP; long tail after %d; top-%d overlap "
             "across seeds %s: %.2f", len(ranking), len(train.y), tail["n_ules_with_nonzero_shap"],
             tail["k_long_tail"], k_eff, stability["seeds"], stability["mean_overlap"])
    record = provenance.record(config)
    write_parquet(ranking.drop(columns="feature"), ranking_path, record)
    write_json(tail_path, {**tail, "provenance": record})
