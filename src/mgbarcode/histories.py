"""The histories the pipeline plans: which glasses are sheared, at which temperatures, with
which seeds and ids, and which thermal history each one starts from.

A shear history (:class:`ShearTrajectory`) takes the glass of one thermal history (its
``glass_sample_id``) and shears it at one temperature; its id (``mech_T300_s00``), its seed and
its snapshot plan follow from the ``shear`` config section alone, so the workflow's rules, the
stages and the checks plan the same histories.  The thermal histories are planned by
:func:`mgbarcode.config.thermal_trajectories`.
"""

import math
from dataclasses import dataclass

from .config import find_trajectory, thermal_trajectories
from .errors import InputError

MECH_SPLIT = "mech"
SEED_STRIDE_PER_TEMPERATURE = 1000  # seed = shear.seed_base + 1000 * temperature_index + source_index
# Tolerance (in units of snapshot_strain_interval) when deciding which multiples of the
# interval fall inside [steady_state_strain, total_strain]: absorbs float round-off only.
_STRAIN_ROUND_OFF = 1e-9


@dataclass(frozen=True)
class ShearTrajectory:
    """One shear history: a thermal source IS sheared at one temperature.

    ``cooling_rate_K_per_s`` is the source's cooling rate (kept so that a mechanical sample's
    catalogue row says which thermal history it came from).
    """

    trajectory_id: str
    source_trajectory_id: str
    source_sample_id: str
    cooling_rate_K_per_s: float
    temperature_K: float
    strain_rate_per_ps: float
    total_strain: float
    steady_state_strain: float
    snapshot_strain_interval: float
    equilibration_time_ps: float
    seed: int
    split: str = MECH_SPLIT

    def snapshot_indices(self):
        """k of the snapshots at strain k·interval, steady_state_strain ≤ k·interval ≤ total_strain."""
        first = max(1, math.ceil(self.steady_state_strain / self.snapshot_strain_interval - _STRAIN_ROUND_OFF))
        last = math.floor(self.total_strain / self.snapshot_strain_interval + _STRAIN_ROUND_OFF)
        return list(range(first, last + 1))

    def sample_plan(self, timestep_ps):
        """(sample_id, strain, steps) of every sheared IS in the order made.

        ``steps`` is the number of MD steps (of ``timestep_ps``) run since the previous
        snapshot (or since the shear started); ``strain`` is the strain the box actually has
        after those steps, rate × elapsed time, so it is exact even where the nominal
        multiple of the interval is not a whole number of steps.
        """
        steps_per_strain = 1.0 / (self.strain_rate_per_ps * timestep_ps)
        plan, done = [], 0
        for number, k in enumerate(self.snapshot_indices()):
            target = int(round(k * self.snapshot_strain_interval * steps_per_strain))
            plan.append((f"{self.trajectory_id}_{number:04d}", target / steps_per_strain, target - done))
            done = target
        return plan


def temperature_label(temperature_K):
    """``T300`` for 300 K (``T312.5`` for 312.5 K): the temperature part of an id."""
    return f"T{float(temperature_K):g}"


def condition_label(temperature_K):
    """The paper's label of a mechanical condition: ``M300`` for shear at 300 K."""
    return f"M{float(temperature_K):g}"


def shear_trajectory_id(temperature_K, source_index):
    """``mech_T300_s00``: the shear of source ``source_index`` at ``temperature_K``.
    Sample ids append the snapshot number: ``mech_T300_s00_0000``."""
    return f"{MECH_SPLIT}_{temperature_label(temperature_K)}_s{source_index:02d}"


def shear_sources(config):
    """The thermal trajectories whose glass (:meth:`glass_sample_id`: the quenched IS, or a
    ladder chain's coldest IS) the shear stage starts from: the first ``shear.n_sources``
    trajectories of ``shear.source_split``, in catalogue order.  Steady flow forgets the
    starting state anyway.
    """
    shear = config["shear"]
    candidates = [t for t in thermal_trajectories(config) if t.split == shear["source_split"]]
    if shear["n_sources"] > len(candidates):
        raise InputError("config", "shear.n_sources",
                         f"{shear['n_sources']} sources asked for but split '{shear['source_split']}' "
                         f"has only {len(candidates)} trajectories",
                         "lower shear.n_sources or add replicas to that split")
    return candidates[: shear["n_sources"]]


def shear_trajectories(config):
    """Every shear trajectory of the config, ordered by temperature, then source.

    Seeds: ``shear.seed_base + 1000 * temperature_index + source_index`` (the range that
    :func:`mgbarcode.config.validate` keeps apart from the thermal splits' seeds).
    """
    shear = config["shear"]
    trajectories = []
    for temperature_index, temperature in enumerate(shear["temperatures_K"]):
        for source_index, source in enumerate(shear_sources(config)):
            trajectory = ShearTrajectory(
                trajectory_id=shear_trajectory_id(temperature, source_index),
                source_trajectory_id=source.trajectory_id,
                source_sample_id=source.glass_sample_id(),
                cooling_rate_K_per_s=source.cooling_rate_K_per_s,
                temperature_K=float(temperature),
                strain_rate_per_ps=float(shear["strain_rate_per_ps"]),
                total_strain=float(shear["total_strain"]),
                steady_state_strain=float(shear["steady_state_strain"]),
                snapshot_strain_interval=float(shear["snapshot_strain_interval"]),
                equilibration_time_ps=float(shear["equilibration_time_ps"]),
                seed=shear["seed_base"] + SEED_STRIDE_PER_TEMPERATURE * temperature_index + source_index,
            )
            if not trajectory.snapshot_indices():
                raise InputError("config", "shear.snapshot_strain_interval",
                                 f"no multiple of {trajectory.snapshot_strain_interval} lies between "
                                 f"steady_state_strain {trajectory.steady_state_strain} and total_strain "
                                 f"{trajectory.total_strain}", "raise shear.total_strain or lower the interval")
            trajectories.append(trajectory)
    return trajectories


def shear_trajectory_by_id(config, trajectory_id):
    """The shear trajectory ``trajectory_id`` of the config (KeyError naming it if none)."""
    return find_trajectory(shear_trajectories(config), trajectory_id)
