"""Snakemake job: the top-K_eff ULEs, the Voronoi index of each one's centre atom, its group."""
import json
from pathlib import Path

import pandas as pd

from mgbarcode import barcode, kernels, logs, provenance
from mgbarcode.io import write_parquet

log = logs.to_file(snakemake.log[0])
ranking = pd.read_parquet(snakemake.input.ranking)
dictionary = pd.read_parquet(snakemake.input.dictionary, columns=["ule_id", "species", "source_sample_id", "source_atom"])
barcode.check_k(snakemake.params.k, len(dictionary), snakemake.params.config_source)
k = json.loads(Path(snakemake.input.tail).read_text())["k_eff"]  # no entry filled by a tie-break
structures = pd.read_parquet(snakemake.input.catalogue, columns=["sample_id", "structure"])
structure_of = dict(zip(structures["sample_id"], structures["structure"]))
top = kernels.kernel_table(ranking.head(k)[["rank", "ule_id", "mean_abs_shap"]], dictionary, structure_of,
                           voronoi_options=snakemake.params.voronoi)
ordered = barcode.order_top_ules(top)
log.info("top %d ULEs: %d in group 1 (Kasper-like), %d in group 2, %d icosahedral", k, (ordered.group == 1).sum(),
         (ordered.group == 2).sum(), ordered.icosahedral.sum())
write_parquet(ordered, snakemake.output[0], provenance.record(snakemake.config))
