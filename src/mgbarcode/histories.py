"""The histories the pipeline plans: every thermal and sheared history of a config, with its
id, seed, split and samples, and which thermal history each shear starts from.

Thermal histories (:func:`thermal_trajectories`), made by one of two protocols:

- ``quench`` (:class:`ThermalTrajectory`, the paper's): melt, linear quench at a cooling rate,
  one inherent structure (IS) of the quenched glass, then for each anneal temperature one IS
  per snapshot;
- ``ladder`` (:class:`LadderTrajectory`): inherent structures of equilibrium liquids along a
  ladder of parent temperatures (Sastry, Debenedetti & Stillinger, Nature 393 (1998) 554),
  snapshots spaced by about the structural relaxation time τα.

A shear history (:class:`ShearTrajectory`) takes the glass of one thermal history (its
``glass_sample_id``) and shears it at one temperature.

Ids, seeds and snapshot plans follow from the config alone, so the workflow's rules, the
stages and the config checks plan the same histories.  Seeds come in blocks of
:data:`SEED_STRIDE`: within a split, one block per cooling rate (quench replicas) and one for
the ladder chains; in the shear section, one block per temperature (sources).
:func:`seed_ranges` gives the range each seed base spans, which the config check keeps apart.
The LAMMPS input of each protocol is :mod:`mgbarcode.samples` and :mod:`mgbarcode.shear`.

Units: ps, K, K/s, 1/ps (strain rates).
"""

import math
from dataclasses import dataclass

import numpy as np

from .errors import InputError
from .results_layout import MECH_SPLIT, THERMAL_SPLITS

# Seeds per block: seed = seed_base + SEED_STRIDE * block + index within the block.
SEED_STRIDE = 1000
# Tolerance (in units of snapshot_strain_interval) when deciding which multiples of the
# interval fall inside [steady_state_strain, total_strain]: absorbs float round-off only.
_STRAIN_ROUND_OFF = 1e-9


# --------------------------------------------------------------------------------------------
# Thermal histories


def sample_id(trajectory_id, number):
    """The id of a history's ``number``-th sample (0-based), in the order it was taken:
    ``train_q1e13_r00_0003``."""
    return f"{trajectory_id}_{number:04d}"


def rate_label(rate_K_per_s):
    """Compact, filename-safe label of a cooling rate: 5e14, 2.5e13."""
    mantissa, exponent = f"{rate_K_per_s:.6e}".split("e")
    return f"{float(mantissa):g}e{int(exponent)}"


def species_counts(composition, n_atoms):
    """Atoms per element (sorted by symbol): fractions rounded so that the counts add up to
    ``n_atoms`` (largest remainder).  :func:`mgbarcode.config.validate` refuses splits whose
    counts give different compositions."""
    elements = sorted(composition)
    exact = np.array([composition[e] * n_atoms for e in elements])
    counts = np.floor(exact + 1e-9).astype(int)
    for i in np.argsort(-(exact - counts), kind="stable")[: n_atoms - counts.sum()]:
        counts[i] += 1
    return dict(zip(elements, counts.tolist()))


@dataclass(frozen=True)
class ThermalTrajectory:
    """One cooling history of the paper's protocol (melt, quench, anneal)."""

    PROTOCOL = "quench"

    trajectory_id: str
    split: str
    n_atoms: int
    composition: dict  # element -> atom fraction
    cooling_rate_K_per_s: float
    seed: int
    melt_temperature_K: float
    melt_time_ps: float
    quench_final_temperature_K: float
    anneal_temperatures_K: tuple
    anneal_time_ps: float
    snapshot_interval_ps: float

    def species_counts(self):
        return species_counts(self.composition, self.n_atoms)

    def n_snapshots(self):
        return int(round(self.anneal_time_ps / self.snapshot_interval_ps))

    def md_time_ps(self):
        """Simulated time of the whole history (ps)."""
        return self.melt_time_ps + self.quench_time_ps() + len(self.anneal_temperatures_K) * self.anneal_time_ps

    def glass_sample_id(self):
        """The IS that stands for this history's glass (the shear stage's source): the quenched IS,
        which exists whatever the anneal settings."""
        return self.sample_plan()[0][0]

    def quench_time_ps(self):
        """Duration of the linear quench (ps) at this cooling rate."""
        return (self.melt_temperature_K - self.quench_final_temperature_K) / self.cooling_rate_K_per_s * 1e12

    def sample_plan(self):
        """(sample_id, protocol, anneal_T_K, anneal_time_ps) of every IS, in the order made."""
        plan = [(f"{self.trajectory_id}_0000", "quench", math.nan, 0.0)]
        for temperature in self.anneal_temperatures_K:
            for k in range(1, self.n_snapshots() + 1):
                plan.append((sample_id(self.trajectory_id, len(plan)), "anneal", float(temperature),
                             k * self.snapshot_interval_ps))
        return plan


@dataclass(frozen=True)
class LadderTrajectory:
    """One chain of the parent-temperature ladder: the melt stepped down through
    ``parent_temperatures_K``, equilibrated ``equilibration_times_ps`` at each, then
    ``snapshots_per_level`` snapshots ``snapshot_intervals_ps`` apart minimised to IS.

    Positions are recorded every ``frame_interval_ps`` at each level, from half-way through
    its equilibration (the first half is the transient after the temperature step) to its last
    snapshot; τα is measured from them at ``wavenumber_per_A``.
    """

    PROTOCOL = "ladder"

    trajectory_id: str
    split: str
    n_atoms: int
    composition: dict
    seed: int
    melt_temperature_K: float
    melt_time_ps: float
    parent_temperatures_K: tuple
    equilibration_times_ps: tuple
    snapshot_intervals_ps: tuple
    snapshots_per_level: int
    frame_interval_ps: float
    wavenumber_per_A: float
    cooling_rate_K_per_s: float = math.nan  # no cooling rate: the catalogue keeps the column

    def species_counts(self):
        return species_counts(self.composition, self.n_atoms)

    def levels(self):
        """(parent temperature K, equilibration ps, snapshot interval ps) of each level."""
        return list(zip(self.parent_temperatures_K, self.equilibration_times_ps, self.snapshot_intervals_ps))

    def md_time_ps(self):
        return self.melt_time_ps + sum(t_eq + self.snapshots_per_level * interval
                                       for _, t_eq, interval in self.levels())

    def glass_sample_id(self):
        """The IS that stands for this history's glass (the shear stage's source): the last IS of
        the coldest level (the last level: the config check keeps the ladder descending)."""
        return self.sample_plan()[-1][0]

    def sample_plan(self):
        """(sample_id, protocol, parent_T_K, time at the level ps) of every IS, in the order made."""
        plan = []
        for temperature, t_eq, interval in self.levels():
            for k in range(1, self.snapshots_per_level + 1):
                plan.append((sample_id(self.trajectory_id, len(plan)), self.PROTOCOL, float(temperature),
                             t_eq + k * interval))
        return plan


def _cooling_rates(thermal, spec):
    """The cooling rates of a split: its own, else the ``thermal`` section's."""
    return spec.get("cooling_rates_K_per_s", thermal["cooling_rates_K_per_s"])


def thermal_trajectories(config):
    """All thermal trajectories of the config: per split (train, test, size), the quench
    histories (by rate, then replica), then the ladder chains.

    Seeds: quench ``seed_base + SEED_STRIDE * rate_index + replica``; ladder chains take the
    next block, ``seed_base + SEED_STRIDE * n_rates + chain``."""
    thermal = config["thermal"]
    trajectories = []
    for split in THERMAL_SPLITS:
        spec = thermal["splits"][split]
        rates = _cooling_rates(thermal, spec)
        common = dict(split=split, n_atoms=spec["n_atoms"], composition=dict(config["alloy"]["composition"]),
                      melt_temperature_K=thermal["melt_temperature_K"], melt_time_ps=thermal["melt_time_ps"])
        for rate_index, rate in enumerate(rates):
            for replica in range(spec["replicas_per_rate"]):
                trajectories.append(ThermalTrajectory(
                    trajectory_id=f"{split}_q{rate_label(rate)}_r{replica:02d}",
                    cooling_rate_K_per_s=float(rate),
                    seed=spec["seed_base"] + SEED_STRIDE * rate_index + replica,
                    quench_final_temperature_K=thermal["quench_final_temperature_K"],
                    anneal_temperatures_K=tuple(thermal["anneal_temperatures_K"]),
                    anneal_time_ps=thermal["anneal_time_ps"],
                    snapshot_interval_ps=thermal["snapshot_interval_ps"],
                    **common,
                ))
        for chain in range(spec.get("ladder_chains", 0)):
            ladder, relaxation = thermal["ladder"], thermal["relaxation"]
            trajectories.append(LadderTrajectory(
                trajectory_id=f"{split}_ladder_c{chain:02d}",
                seed=spec["seed_base"] + SEED_STRIDE * len(rates) + chain,
                parent_temperatures_K=tuple(map(float, ladder["parent_temperatures_K"])),
                equilibration_times_ps=tuple(map(float, ladder["equilibration_times_ps"])),
                snapshot_intervals_ps=tuple(map(float, ladder["snapshot_intervals_ps"])),
                snapshots_per_level=ladder["snapshots_per_level"],
                frame_interval_ps=relaxation["frame_interval_ps"],
                wavenumber_per_A=relaxation["wavenumber_per_A"],
                **common,
            ))
    return trajectories


def find_trajectory(trajectories, trajectory_id):
    """The trajectory of ``trajectories`` (thermal or shear) with ``trajectory_id``."""
    for trajectory in trajectories:
        if trajectory.trajectory_id == trajectory_id:
            return trajectory
    raise KeyError(f"no trajectory '{trajectory_id}' in this config")


def trajectory_by_id(config, trajectory_id):
    """The thermal trajectory ``trajectory_id`` of the config (KeyError naming it if none)."""
    return find_trajectory(thermal_trajectories(config), trajectory_id)


# --------------------------------------------------------------------------------------------
# Shear histories


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
            plan.append((sample_id(self.trajectory_id, number), target / steps_per_strain, target - done))
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

    Seeds: ``shear.seed_base + SEED_STRIDE * temperature_index + source_index`` (the range that
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
                seed=shear["seed_base"] + SEED_STRIDE * temperature_index + source_index,
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


# --------------------------------------------------------------------------------------------
# Seeds and job batches


def seed_ranges(config):
    """``{seed base key: (first seed, end)}``: the seeds each seed base of the config may give,
    a block of :data:`SEED_STRIDE` per cooling rate plus one for the ladder chains in each
    thermal split, a block per temperature in the shear section.  In ``THERMAL_SPLITS`` order,
    then ``shear.seed_base``."""
    thermal, shear = config["thermal"], config["shear"]
    ranges = {}
    for split in THERMAL_SPLITS:
        spec = thermal["splits"][split]
        n_rates = len(_cooling_rates(thermal, spec))
        ranges[f"thermal.splits.{split}.seed_base"] = (spec["seed_base"],
                                                       spec["seed_base"] + SEED_STRIDE * (n_rates + 1))
    ranges["shear.seed_base"] = (shear["seed_base"],
                                 shear["seed_base"] + SEED_STRIDE * len(shear["temperatures_K"]))
    return ranges


def trajectory_batches(trajectory_ids_by_kind, trajectories_per_job):
    """Group trajectories into the batches that SOAP and encoding jobs work on.

    Each batch holds up to ``trajectories_per_job`` consecutive trajectories of one kind
    (``thermal`` or ``mech``: trajectories whose structures become ready at the same stage,
    so a batch does not hold thermal SOAP back until the shear runs end).  Several
    trajectories per job spread a job's fixed cost (Python start-up and imports, ~3 s with
    DScribe's scikit-learn) over more structures where trajectories are small.

    Parameters
    ----------
    trajectory_ids_by_kind : dict
        ``{kind: [trajectory_id, ...]}``, in the order the batches should follow.
    trajectories_per_job : int
        Batch size (config ``jobs.trajectories_per_job``), at least 1.

    Returns
    -------
    dict
        ``{batch_id: [trajectory_id, ...]}`` in order; batch ids are ``<kind>_b<index>``
        (e.g. ``thermal_b000``).
    """
    if trajectories_per_job < 1:
        raise ValueError(f"trajectories_per_job must be >= 1, got {trajectories_per_job}")
    batches = {}
    for kind, ids in trajectory_ids_by_kind.items():
        for index, start in enumerate(range(0, len(ids), trajectories_per_job)):
            batches[f"{kind}_b{index:03d}"] = list(ids[start:start + trajectories_per_job])
    return batches
