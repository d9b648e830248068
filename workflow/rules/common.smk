# Shared by all rule files. Config check, paths, input functions.
import re

import mgbarcode.config as mgb_config
from mgbarcode import imported_samples
from mgbarcode import results_layout as layout
from mgbarcode.errors import InputError
from mgbarcode.provenance import EXECUTION_MD_KEYS
from mgbarcode.histories import (shear_trajectories, shear_trajectory_by_id, thermal_trajectories, trajectory_batches,
                                 trajectory_by_id)

CONFIG_SOURCE = "the config (config/config.yaml and any --configfile/--config)"
mgb_config.validate(config, source=CONFIG_SOURCE)

R = config["results_dir"].rstrip("/")


def result(relative):
    """A file of the results folder from its path inside it (mgbarcode.results_layout)."""
    return f"{R}/{relative}"


THERMAL_TRAJECTORIES = thermal_trajectories(config)
THERMAL_IDS = [t.trajectory_id for t in THERMAL_TRAJECTORIES]
SHEAR_TRAJECTORIES = shear_trajectories(config)
MECH_IDS = [t.trajectory_id for t in SHEAR_TRAJECTORIES]
# Histories a user brings (imported.table), read and checked now, before any job runs.
IMPORTED_TABLE = config["imported"]["table"]
IMPORTED_TRAJECTORIES = imported_samples.read_table(IMPORTED_TABLE, THERMAL_IDS + MECH_IDS) if IMPORTED_TABLE else []
if IMPORTED_TABLE:
    imported_samples.check_coverage(THERMAL_TRAJECTORIES, IMPORTED_TRAJECTORIES, IMPORTED_TABLE)
IMPORTED_IDS = [t.trajectory_id for t in IMPORTED_TRAJECTORIES]
IMPORTED_BY_ID = {t.trajectory_id: t for t in IMPORTED_TRAJECTORIES}
# Thermal and mechanical trajectories, made or imported, share the downstream rules.
ALL_THERMAL_IDS = THERMAL_IDS + [t.trajectory_id for t in IMPORTED_TRAJECTORIES if t.split != layout.MECH_SPLIT]
ALL_MECH_IDS = MECH_IDS + [t.trajectory_id for t in IMPORTED_TRAJECTORIES if t.split == layout.MECH_SPLIT]
TRAJECTORY_IDS = ALL_THERMAL_IDS + ALL_MECH_IDS
# SOAP and encoding jobs each work on a batch of thermal or of sheared trajectories (config jobs:).
BATCHES = trajectory_batches({layout.THERMAL_BATCH_KIND: ALL_THERMAL_IDS, layout.MECH_BATCH_KIND: ALL_MECH_IDS},
                             config["jobs"]["trajectories_per_job"])
# Feature tables the energy models learn from, by the features wildcard.
FEATURE_TABLES = {features: result(path) for features, path in layout.FEATURE_TABLES.items()}


# The MD settings of a history job (thermal, sheared or imported), without md.engine, which the
# job reads from the config so that changing it re-runs nothing (md_settings.history_job_settings).
MD_PARAMS = {key: value for key, value in config["md"].items() if key not in EXECUTION_MD_KEYS}


def history_params(trajectory, **settings):
    """The params of a history job: its ``trajectory`` (an input function giving the history's
    plan), the MD settings and the potential, then the job's own ``settings``."""
    return {"trajectory": trajectory, "md": MD_PARAMS, "potential": config["potential"], **settings}


def history_outputs():
    """The outputs of a history job (thermal, sheared or imported): its catalogue rows and the
    folder of its inherent structures."""
    return {"table": result(layout.trajectory_table("{trajectory}")),
            "structures": directory(result(layout.trajectory_structures("{trajectory}")))}


def history_logs(rule):
    """The logs of a history job: the job's own and LAMMPS's."""
    return {"job": result(layout.log_file(rule, "{trajectory}")),
            "lammps": result(layout.log_file(rule, "{trajectory}", kind="lammps.log"))}


def figure_files(key, name, category):
    """A figure's outputs ``key`` (PNG, in the report under ``category`` with the caption
    workflow/report/<name>.rst) and ``key_svg``."""
    return {key: report(result(layout.figure(name)), category=category, caption=f"../report/{name}.rst"),
            f"{key}_svg": result(layout.figure(name, "svg"))}


def one_of(ids):
    """A wildcard constraint matching exactly these ids ("(?!)" matches nothing: a rule whose
    list is empty must not claim any file)."""
    return "|".join(re.escape(i) for i in ids) or "(?!)"


def resources_for(rule_name):
    """Threads, memory (MB) and wall time (min) of the named rule's jobs (mgbarcode.config.resources_for)."""
    return mgb_config.resources_for(config, rule_name)


def check_resource_rules(rule_names):
    """Refuse a config.resources entry that names no rule: it would be ignored, silently."""
    for name in config["resources"]:
        if name != "default" and name not in rule_names:
            raise InputError(CONFIG_SOURCE, f"resources.{name}", "names no rule of the workflow",
                             f"use default or one of {', '.join(sorted(rule_names))}")


# The threads and resources of every rule, all written the same way (`threads: config_threads`,
# `resources: **CONFIG_RESOURCES`): Snakemake evaluates them per job and passes the name of the
# job's rule, so the numbers are that rule's entry of config.resources (over default) and are
# written nowhere else. --set-threads and --set-resources (or a profile's set-resources) still
# override them.
def config_threads(wildcards, rulename):
    return resources_for(rulename)["threads"]


CONFIG_RESOURCES = {
    "mem_mb": lambda wildcards, rulename: resources_for(rulename)["mem_mb"],
    "runtime": lambda wildcards, rulename: resources_for(rulename)["runtime_min"],
}


def trajectory_param(wildcards):
    return trajectory_by_id(config, wildcards.trajectory)


def shear_param(wildcards):
    return shear_trajectory_by_id(config, wildcards.trajectory)


def imported_param(wildcards):
    return IMPORTED_BY_ID[wildcards.trajectory]


def imported_files(wildcards):
    """Input function: the structure files an imported history's job reads."""
    return IMPORTED_BY_ID[wildcards.trajectory].files()


def trajectory_tables(wildcards=None):
    return expand(result(layout.trajectory_table("{trajectory}")), trajectory=TRAJECTORY_IDS)


def batch_tables(wildcards):
    """Input function: the sample tables of the trajectories of batch ``wildcards.batch``."""
    return expand(result(layout.trajectory_table("{trajectory}")), trajectory=BATCHES[wildcards.batch])


def batch_structures(wildcards):
    """Input function: the structure folders of the trajectories of batch ``wildcards.batch``."""
    return expand(result(layout.trajectory_structures("{trajectory}")), trajectory=BATCHES[wildcards.batch])


def soap_input(*splits):
    """Input function (for ``unpack``) of a job that reads SOAP: that of the batches holding a
    trajectory of ``splits`` (none: the job's own ``wildcards.batch``).  soap.store true:
    ``soap``, the batches' SOAP folders; false: ``soap_tables`` and ``soap_structures``, the
    sample tables and structure folders of the batches' trajectories, paired in order, from
    which the job computes the vectors (mgbarcode.descriptors.soap_sources)."""
    def soap_of(wildcards):
        batches = split_batches(*splits) if splits else [wildcards.batch]
        if config["soap"]["store"]:
            return {"soap": expand(result(layout.soap_folder("{batch}")), batch=batches)}
        trajectories = [trajectory for batch in batches for trajectory in BATCHES[batch]]
        return {"soap_tables": expand(result(layout.trajectory_table("{trajectory}")), trajectory=trajectories),
                "soap_structures": expand(result(layout.trajectory_structures("{trajectory}")), trajectory=trajectories)}
    return soap_of


def soap_stream_params():
    """Params (for ``**``) of a job that reads SOAP: with soap.store false, the descriptor's
    parameters, which it computes the vectors with (so that changing them reruns it); none when
    it reads stored files (their own rule, soap_descriptors, has them)."""
    return {} if config["soap"]["store"] else {"soap": config["soap"]}


def split_trajectory_ids(split):
    return [t.trajectory_id for t in THERMAL_TRAJECTORIES + SHEAR_TRAJECTORIES + IMPORTED_TRAJECTORIES
            if t.split == split]


def split_batches(*splits):
    """The batches holding a trajectory of any of ``splits``, each once, in order."""
    ids = {trajectory for split in splits for trajectory in split_trajectory_ids(split)}
    return [batch for batch, members in BATCHES.items() if ids.intersection(members)]


def feature_table(wildcards):
    return FEATURE_TABLES[wildcards.features]


def final_outputs():
    return [result(path) for path in (
        layout.CATALOGUE,
        layout.FRACTIONS,
        layout.METRICS,
        layout.TOP_ULES,
        layout.figure("parity"),
        layout.figure("learning_curve"),
    )] + ([result(layout.HETEROGENEITY_SUMMARY)] if ALL_MECH_IDS else [])
