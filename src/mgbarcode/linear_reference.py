"""Linear references for the energy models: ridge regression of the global IS energy per atom
on a sample's features, the regularisation chosen by the same grouped cross-validation as the
trees.

Two feature sets make the references the learned models must beat: the ULE fractions (what
the trees see) and each sample's mean SOAP vector (the same structural information as a
per-atom linear model of SOAP, with no per-atom labels and no ULE quantisation).  Ridge
(Hoerl & Kennard, Technometrics 12 (1970) 55) on centred data,
w = argmin ‖y − Xw‖² + α‖w‖², solved in whichever of the primal (p × p) or dual (n × n) forms
is smaller.  α is given relative to the mean diagonal of the centred XᵀX of the samples fitted,
so one grid serves features of any scale and any number of samples.  Units: targets in eV/atom.
"""

import dataclasses

import numpy as np

from .learning import grouped_folds


@dataclasses.dataclass
class RidgeFit:
    """A fitted ridge model: ``predict(X) = (X − x_mean)·coef + y_mean``; ``cv_rmse`` is the
    pooled grouped out-of-fold RMSE at the chosen ``alpha`` (eV/atom); ``cv_rmse_by_alpha``
    the same for every relative alpha of the grid."""

    coef: np.ndarray
    x_mean: np.ndarray
    y_mean: float
    alpha: float
    relative_alpha: float
    cv_rmse: float
    cv_rmse_by_alpha: dict

    def predict(self, X):
        return (np.asarray(X, dtype=np.float64) - self.x_mean) @ self.coef + self.y_mean


def ridge_coefficients(X, y, alpha):
    """Ridge weights for centred ``X`` [n, p] and ``y`` [n] at absolute ``alpha``."""
    n, p = X.shape
    if p <= n:
        return np.linalg.solve(X.T @ X + alpha * np.eye(p), X.T @ y)
    return X.T @ np.linalg.solve(X @ X.T + alpha * np.eye(n), y)


def _fit(X, y, relative_alpha):
    """Weights, means and the absolute α of a ridge fit at ``relative_alpha``."""
    x_mean, y_mean = X.mean(axis=0), float(y.mean())
    centred = X - x_mean
    alpha = relative_alpha * alpha_scale(centred)
    return ridge_coefficients(centred, y - y_mean, alpha), x_mean, y_mean, alpha


def alpha_scale(centred_X):
    """Mean diagonal of XᵀX for centred ``X``: the unit relative alphas are given in."""
    return max(float(np.mean(np.sum(centred_X ** 2, axis=0))), 1e-300)


def fit_ridge(X, y, groups, relative_alphas, n_folds, seed):
    """Ridge with α chosen by grouped CV (folds of :func:`mgbarcode.learning.grouped_folds`,
    never splitting a trajectory), refitted on all samples.  Returns a :class:`RidgeFit`.

    The CV error reported is that of the chosen α on the folds that chose it, so it is a
    little optimistic (one parameter chosen among a few); the test split is what scores it.
    """
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
    folds = grouped_folds(groups, n_folds, seed)
    by_alpha = {}
    for relative in relative_alphas:
        squared = 0.0
        for train_idx, valid_idx in folds:
            coef, x_mean, y_mean, _ = _fit(X[train_idx], y[train_idx], relative)
            squared += float(np.sum(((X[valid_idx] - x_mean) @ coef + y_mean - y[valid_idx]) ** 2))
        by_alpha[float(relative)] = float(np.sqrt(squared / len(y)))
    best = min(by_alpha, key=lambda relative: (by_alpha[relative], -relative))
    coef, x_mean, y_mean, alpha = _fit(X, y, best)
    return RidgeFit(coef, x_mean, y_mean, alpha, best, by_alpha[best], by_alpha)


def grouped_cv_rmse_of_mean(y, groups, n_folds, seed):
    """Pooled grouped out-of-fold RMSE of predicting each fold by the other folds' mean."""
    y = np.asarray(y, dtype=np.float64)
    squared = sum(float(np.sum((y[valid] - y[train].mean()) ** 2)) for train, valid in grouped_folds(groups, n_folds, seed))
    return float(np.sqrt(squared / len(y)))
