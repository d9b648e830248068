# mgbarcode: interpretable ULE barcodes of metallic glasses (Liu, Wang et al., Acta Mater. 2023).
# Run: snakemake --cores N   |   plan: snakemake -n   |   DAG: snakemake --dag | dot -Tsvg > dag.svg
from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


# The package's check comes first: its errors name the config key and the fix.
include: "workflow/rules/common.smk"


validate(config, "config/schema.yaml")


wildcard_constraints:
    trajectory=one_of(TRAJECTORY_IDS),
    batch="|".join(BATCHES),
    features="|".join(FEATURE_TABLES),



include: "workflow/rules/samples.smk"
include: "workflow/rules/imported.smk"
include: "workflow/rules/ules.smk"
include: "workflow/rules/model.smk"
include: "workflow/rules/heterogeneity.smk"


check_resource_rules({rule.name for rule in workflow.rules})


localrules:
    all,


rule all:
    input:
        final_outputs(),
    default_target: True
