# Shared by every rule file: config check, paths, wildcard constraints, input functions.
import mgbarcode.config as mgb_config
from mgbarcode.provenance import config_hash

mgb_config.validate(config, source="the config (config/config.yaml and any --configfile/--config)")

R = config["results_dir"].rstrip("/")
THERMAL_TRAJECTORIES = mgb_config.thermal_trajectories(config)
TRAJECTORY_IDS = [t.trajectory_id for t in THERMAL_TRAJECTORIES]
CONFIG_SHA256 = config_hash(config)


wildcard_constraints:
    trajectory="|".join(TRAJECTORY_IDS),


def resources_for(rule_name):
    """Threads, memory (MB) and wall time (min) of a rule: config.resources[rule] over default."""
    spec = dict(config["resources"]["default"])
    spec.update(config["resources"].get(rule_name, {}))
    return spec


def trajectory_param(wildcards):
    return mgb_config.trajectory_by_id(config, wildcards.trajectory)


def trajectory_tables(wildcards=None):
    return expand(f"{R}/samples/{{trajectory}}.parquet", trajectory=TRAJECTORY_IDS)


def final_outputs():
    return [f"{R}/samples.parquet"]
