"""Snakemake job: score the fractions and barcode models, the ULE-energy reference and a mean
baseline on the independent test split and the size-transfer split, which no earlier stage
touched."""
import pandas as pd

from mgbarcode import learning, logs, provenance, ule_energy
from mgbarcode.errors import InputError
from mgbarcode.io import write_json, write_parquet

log = logs.to_file(snakemake.log[0])
inputs, params = snakemake.input, snakemake.params
# Each table is read once; load_dataset takes DataFrames.
catalogue = pd.read_parquet(inputs.catalogue)
fractions, barcodes, counts = (pd.read_parquet(path) for path in (inputs.fractions, inputs.barcodes, inputs.counts))
train = learning.load_dataset(fractions, catalogue, ["train"], "ule_")
n_train_atoms = int(train.n_atoms[0])
energies = pd.read_parquet(inputs.ule_energies).sort_values("ule_id")
if energies["ule_id"].tolist() != list(range(len(train.feature_names))):
    raise InputError(inputs.ule_energies, "ule_id", f"does not list the ULEs of {inputs.fractions}",
                     "rerun the ule_energies rule (snakemake --forcerun ule_energies)")


learned = {"fractions": (fractions, inputs.fractions_model, "ule_"),
           "barcode": (barcodes, inputs.barcode_model, "s_")}
boosters = {name: learning.load_booster(model_path) for name, (_, model_path, _) in learned.items()}
models = [*learned, "ule_energy"]


def scored(name, split):
    """The samples of ``split`` and model ``name``'s predictions for them (eV/atom)."""
    if name == "ule_energy":
        data = learning.load_dataset(counts, catalogue, [split], "ule_")
        return data, ule_energy.predict_energy_per_atom(data.X, energies["mean_energy_eV"])
    features, _, prefix = learned[name]
    data = learning.load_dataset(features, catalogue, [split], prefix)
    return data, learning.predict(boosters[name], data.X, data.feature_names)


metrics = {"n_train_samples": len(train.y), "n_atoms_train": n_train_atoms,
           "n_ules": len(train.feature_names), "k": params.k}
predictions = []
for name in models:
    metrics[name] = {}
    for split in ("train", "test", "size"):
        data, predicted = scored(name, split)
        predictions.append(pd.DataFrame({"sample_id": data.sample_ids, "split": split, "model": name,
                                         "energy_eV_per_atom": data.y, "predicted_eV_per_atom": predicted}))
        if split != "train":
            metrics[name][split] = learning.regression_metrics(data.y, predicted, n_train_atoms)
metrics["baseline_train_mean"] = {}
for split in ("test", "size"):
    data = learning.load_dataset(fractions, catalogue, [split], "ule_")
    metrics["baseline_train_mean"][split] = learning.regression_metrics(
        data.y, [train.y.mean()] * len(data.y), n_train_atoms)
for name in (*models, "baseline_train_mean"):
    for split in ("test", "size"):
        scores = metrics[name][split]
        log.info("%-20s %-4s RMSE %.3f meV/atom (%.3f eV/system at N=%d), R2 %.3f, n=%d", name, split,
                 scores["rmse_meV_per_atom"], scores["rmse_eV_per_system"], n_train_atoms, scores["r2"],
                 scores["n_samples"])
record = provenance.record(snakemake.config)
write_parquet(pd.concat(predictions, ignore_index=True), snakemake.output.predictions, record)
write_json(snakemake.output.metrics, {**metrics, "provenance": record})
