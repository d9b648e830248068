"""Snakemake job: thermal references at matching IS energy for every mechanical sample, the
barcode contrast δs, per-condition summary, its correlation with strain heterogeneity, figures."""
from mgbarcode import figures, heterogeneity, logs

logs.to_file(snakemake.log[0])
inputs, out, params = snakemake.input, snakemake.output, snakemake.params
comparison = heterogeneity.compare_conditions(inputs.barcodes, inputs.top_ules, inputs.catalogue, params.tolerance,
                                              params.reference_splits, params.n_slabs)
heterogeneity.write_comparison(comparison, out.summary, out.pairs, out.windows, out.correlation, params.tolerance,
                               params.reference_splits, snakemake.config)
figures.heterogeneity_figures(comparison, {"strains": (out.strains, out.strains_svg),
                                           "slab_profiles": (out.slab_profiles, out.slab_profiles_svg),
                                           "pairs": (out.pairs_figure, out.pairs_figure_svg),
                                           "trends": (out.trends, out.trends_svg)})
