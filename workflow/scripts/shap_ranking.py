"""Snakemake job: rank every ULE by mean |SHAP| of the fractions model; find the long tail."""
from mgbarcode import learning, logs, provenance
from mgbarcode.io import write_json, write_parquet

log = logs.to_file(snakemake.log[0])
train = learning.load_dataset(snakemake.input.features, snakemake.input.catalogue, ["train"], "ule_")
ranking = learning.shap_ranking(learning.load_booster(snakemake.input.model), train.X, train.feature_names)
ranking.insert(1, "ule_id", ranking["feature"].str.removeprefix("ule_").astype(int))
tail_share = snakemake.params.tail_share
tail = {"k_config": snakemake.params.k, "k_long_tail": learning.long_tail_k(ranking["mean_abs_shap"], tail_share),
        "tail_threshold_eV_per_atom": learning.long_tail_threshold(ranking["mean_abs_shap"], tail_share),
        "tail_share": tail_share, "n_ules": len(ranking),
        "n_ules_with_nonzero_shap": int((ranking["mean_abs_shap"] > 0).sum()),
        "rule": "k_long_tail = the fewest top-ranked ULEs whose mean |SHAP| adds up to tail_share of the total"}
log.info("%d ULEs ranked, %d with non-zero SHAP; long tail starts after %d (config K = %d)", len(ranking),
         tail["n_ules_with_nonzero_shap"], tail["k_long_tail"], tail["k_config"])
record = provenance.record(snakemake.config)
write_parquet(ranking.drop(columns="feature"), snakemake.output.ranking, record)
write_json(snakemake.output.tail, {**tail, "provenance": record})
