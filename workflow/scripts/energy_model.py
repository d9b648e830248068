"""Snakemake job: XGBoost energy model on ULE fractions or barcodes (Optuna TPE, grouped CV)."""
import hashlib

from mgbarcode import learning, logs, provenance
from mgbarcode.io import write_json, write_parquet

log = logs.to_file(snakemake.log[0])
features, model = snakemake.wildcards.features, snakemake.params.model
train = learning.load_dataset(snakemake.input.features, snakemake.input.catalogue, ["train"],
                              snakemake.params.feature_prefix)
# The study name carries a fingerprint of the training data: a stored study resumes only
# for the very same data, never for a regenerated data set of the same shape.
fingerprint = hashlib.sha256(train.X.tobytes() + train.y.tobytes()).hexdigest()[:16]
log.info("%s model: %d train samples, %d trajectories, %d features; study %s-%s", features, len(train.y),
         len(set(train.groups)), train.X.shape[1], features, fingerprint)
fit = learning.tune_and_fit(
    train.X, train.y, train.groups, model["search_space"], model["n_trials"], model["n_folds"],
    model["early_stopping_rounds"], model["max_boost_rounds"], model["seed"], n_threads=snakemake.threads,
    storage_path=snakemake.params.study, study_name=f"{features}-{fingerprint}", feature_names=train.feature_names)
log.info("best CV RMSE %.3f meV/atom with %d rounds, %s", 1000 * fit.cv_rmse, fit.n_rounds, fit.best_params)
record = provenance.record(snakemake.config, seeds={"model": model["seed"]})
learning.save_booster(fit.booster, snakemake.output.model)
write_parquet(fit.trials.drop(columns=[c for c in fit.trials.columns if c.startswith(("datetime", "duration"))]),
              snakemake.output.trials, record)
write_json(snakemake.output.summary, {
    "features": features, "best_params": fit.best_params, "cv_rmse_meV_per_atom": 1000 * fit.cv_rmse,
    "n_rounds": fit.n_rounds, "n_train_samples": len(train.y), "n_train_trajectories": len(set(train.groups)),
    "n_features": train.X.shape[1], "study": f"{features}-{fingerprint}", "provenance": record})
