"""Snakemake job: rank every ULE by mean |SHAP| of the fractions model over the train samples;
K_eff, the long tail, and how stable the top K_eff is across model seeds."""
import json
from pathlib import Path

from mgbarcode import learning, logs, provenance
from mgbarcode.errors import InputError
from mgbarcode.io import write_json, write_parquet

log = logs.to_file(snakemake.log[0])
train = learning.load_dataset(snakemake.input.features, snakemake.input.catalogue, ["train"], "ule_")
ranking = learning.shap_ranking(learning.load_booster(snakemake.input.model), train.X, train.feature_names)
ranking.insert(1, "ule_id", ranking["feature"].str.removeprefix("ule_").astype(int))
tail_share, k = snakemake.params.tail_share, snakemake.params.k
k_eff = learning.effective_k(ranking["mean_abs_shap"], k)
if k_eff == 0:
    raise InputError(snakemake.input.model, "trees", "the fractions model splits on no ULE, so no ULE has any "
                     "importance and there is no barcode to make",
                     "check model/fractions_fit.json: a model.search_space whose gamma or min_child_weight is large "
                     "for the energy scale forbids every split; otherwise the train split holds no energy signal")
fit = json.loads(Path(snakemake.input.fit).read_text())
stability = learning.top_k_stability(train.X, train.y, train.feature_names, fit["best_params"], fit["n_rounds"],
                                     snakemake.params.stability_seeds, k_eff, n_threads=snakemake.threads)
tail = {"k_config": k, "k_eff": k_eff, "k_long_tail": learning.long_tail_k(ranking["mean_abs_shap"], tail_share),
        "tail_threshold_eV_per_atom": learning.long_tail_threshold(ranking["mean_abs_shap"], tail_share),
        "tail_share": tail_share, "n_ules": len(ranking),
        "n_ules_with_nonzero_shap": int((ranking["mean_abs_shap"] > 0).sum()),
        "shap_samples": f"the {len(train.y)} train samples (distinct IS) the fractions model was fitted on",
        "top_k_stability": stability,
        "rule": "k_eff = min(k_config, ULEs with non-zero mean |SHAP|); k_long_tail = the fewest top-ranked "
                "ULEs whose mean |SHAP| adds up to tail_share of the total"}
if k_eff < k:
    log.warning("barcode.k = %d but only %d ULEs have non-zero mean |SHAP|: the barcode uses K_eff = %d", k, k_eff,
                k_eff)
log.info("%d ULEs ranked on %d train samples, %d with non-zero SHAP; long tail after %d; top-%d overlap "
         "across seeds %s: %.2f", len(ranking), len(train.y), tail["n_ules_with_nonzero_shap"], tail["k_long_tail"],
         k_eff, stability["seeds"], stability["mean_overlap"])
record = provenance.record(snakemake.config)
write_parquet(ranking.drop(columns="feature"), snakemake.output.ranking, record)
write_json(snakemake.output.tail, {**tail, "provenance": record})
