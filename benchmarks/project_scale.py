"""Project a profile's cost per stage, beside a proposed profile's, from unit costs measured here
and now.  Each stage gets core-hours, wall time on --nodes x --cores-per-node, disk and peak memory.

The script measures, on one core and each in a fresh process (whose peak memory is its own):
- LAMMPS MD of a 2000-atom Cu-Zr system, in atom-steps/s, for the liquid, the quench, a
  supercooled hold, a glass anneal and Lees-Edwards shear;
- minimisation of the IS of each, in atoms/s, including the relaxed-cell rounds;
- DScribe SOAP of the largest glass of the profiles, in atoms/s;
- the float32 product of an encoding batch, in FLOP/s.
It then multiplies each profile's histories (mgbarcode.config / mgbarcode.histories) by these
costs.  It also counts each split's IS and independent IS, using the tau_alpha and the shear
decorrelation strain measured by a finished run (--catalogue).  With --markdown PATH it writes
the result between the generated-section markers of PATH (docs/scale.md).  The disk part counts SOAP
only when the profile stores it (``soap.store``); ``--disk-only`` prints it without measuring.

    nice .venv/bin/python benchmarks/project_scale.py --markdown docs/scale.md   # paper.yaml vs paper_independent.yaml
    .venv/bin/python benchmarks/project_scale.py --config config/paper.yaml --disk-only
"""

import argparse
import concurrent.futures
import json
import math
import multiprocessing
import os
import pickle
import platform
import resource
import time

import numpy as np
import pandas as pd

from mgbarcode import config as config_module
from mgbarcode import descriptors, disk_footprint, histories, md, samples, shear
from mgbarcode.md_settings import md_settings
from mgbarcode.config import merged_config
from mgbarcode.results_layout import CATALOGUE, MECH_SPLIT, TRAIN_SPLIT


def print_disk(disk):
    print(f"{'disk':34s} {'GB':>12s}")
    for name, gigabytes in disk.items():
        print(f"{name:34s} {gigabytes:12.1f}")
    print(f"{'total':34s} {sum(disk.values()):12.1f}")


# ---- Per-stage projection of two profiles side by side ------------------------------------------
# Unit costs are measured in this run, each heavy stage in a fresh process so that its peak memory
# is its own.  The MD rates are split by regime: liquid (melt), quench, supercooled (the ladder's
# coldest level), glass (the anneals) and shear.  The IS rates are split by what is minimised:
# the quenched glass, a supercooled snapshot, an annealed glass, a sheared glass.

GB = 1e9
MARK_BEGIN = "<!-- project_scale.py: begin generated section -->"
MARK_END = "<!-- project_scale.py: end generated section -->"


def _peak_rss_gb():
    """Peak resident memory of this process so far (GB; Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / GB


def _with_peak(function, args):
    return function(*args), _peak_rss_gb()


def in_fresh_process(function, *args):
    """``(function(*args), peak resident memory GB)``, run in a new process whose peak is its own."""
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(_with_peak, function, args).result()


def _timed_segments(lmp, segments):
    """Run the LAMMPS ``segments``.  For each segment, return the (steps, seconds) of each MD run
    before its minimisation, and the seconds of that minimisation.  The minimisation is timed from
    the MD-state variables on: CG at the snapshot's box and every relaxed-cell round."""
    timings = []
    for segment in segments:
        runs, minimise, in_is = [], 0.0, False
        for command in segment:
            in_is |= command.startswith(f"variable {samples.MD_PRESSURE_VARIABLE} ")
            started = time.perf_counter()
            lmp.command(command)
            seconds = time.perf_counter() - started
            if in_is:
                minimise += seconds
            elif command.startswith("run ") and not command.startswith("run 0"):
                runs.append((int(command.split()[1]), seconds))
        timings.append((runs, minimise))
    return timings


def probe_thermal(config, n_atoms, steps, supercooled_K, glass_K):
    """One-core rates for ``n_atoms`` atoms, each MD regime ``steps`` steps long: a melt, a linear
    quench, a hold at ``supercooled_K`` and one at ``glass_K`` (from the quenched IS, as an
    anneal).  The IS after the quench and after each hold is minimised as ``md.minimize`` says.
    Returns ({regime: MD atom-steps/s}, {regime: IS atoms/s}, the last IS, pickled bytes per atom
    of one IS held in memory)."""
    settings = md_settings(config)
    potential = md.Potential.from_config(config["potential"])
    thermal = config["thermal"]
    span_ps = steps * settings.timestep_ps
    t_melt, t_final = thermal["melt_temperature_K"], thermal["quench_final_temperature_K"]
    probe = histories.ThermalTrajectory(
        trajectory_id="probe", split=TRAIN_SPLIT, n_atoms=n_atoms, composition=dict(config["alloy"]["composition"]),
        cooling_rate_K_per_s=(t_melt - t_final) / span_ps * 1e12, seed=1, melt_temperature_K=t_melt,
        melt_time_ps=span_ps, quench_final_temperature_K=t_final, anneal_temperatures_K=(supercooled_K, glass_K),
        anneal_time_ps=span_ps, snapshot_interval_ps=span_ps)
    with md.lammps_session(preamble=False) as lmp:
        timings = _timed_segments(lmp, samples.thermal_protocol(probe, settings, potential))
        glass = md.current_atoms(lmp, list(potential.elements))
    (*_, melt, quench), quench_is = timings[0]
    md_rates = {"liquid": n_atoms * melt[0] / melt[1], "quench": n_atoms * quench[0] / quench[1]}
    is_rates = {"quench": n_atoms / quench_is}
    for regime, ((hold,), minimise) in zip(("supercooled", "glass"), timings[1:]):
        md_rates[regime] = n_atoms * hold[0] / hold[1]
        is_rates[regime] = n_atoms / minimise
    return md_rates, is_rates, glass, len(pickle.dumps(glass)) / n_atoms


def probe_shear(config, glass, steps, temperature_K, strain_rate_per_ps):
    """One-core rates of the shear protocol on ``glass``: Lees-Edwards MD (``fix nvt/sllod``) for
    ``steps`` steps at ``temperature_K`` after a short hold.  The sheared IS is minimised with
    the triclinic relaxed cell.  Returns (MD atom-steps/s, IS atoms/s)."""
    settings = md_settings(config)
    potential = md.Potential.from_config(config["potential"])
    span_ps = steps * settings.timestep_ps
    strain = strain_rate_per_ps * span_ps
    trajectory = histories.ShearTrajectory(
        trajectory_id="probe", source_trajectory_id="probe", source_sample_id="probe", cooling_rate_K_per_s=math.nan,
        temperature_K=float(temperature_K), strain_rate_per_ps=float(strain_rate_per_ps), total_strain=strain,
        steady_state_strain=strain, snapshot_strain_interval=strain, equilibration_time_ps=span_ps / 4, seed=1)
    with md.lammps_session() as lmp:
        md.load_atoms(lmp, glass, list(potential.elements))
        timings = _timed_segments(lmp, shear.shear_protocol(trajectory, settings, potential))
    (*_, sheared), minimise = timings[1]
    return len(glass) * sheared[0] / sheared[1], len(glass) / minimise


def probe_soap_and_encoding(config, glass, n_atoms, n_ules, batch, repeats=3):
    """Measure SOAP atoms/s on one core for a glass of at least ``n_atoms`` atoms (``glass``
    repeated along x), and the peak memory (GB) with its descriptors held.  Then measure the
    float32 FLOP/s of encoding one batch of ``batch`` of those vectors against ``n_ules`` ULEs.
    The process peak at that point is an encoding job's with ``soap.store`` false: one sample's
    SOAP, the dictionary and a batch product.  Returns (SOAP atoms/s, SOAP peak GB, FLOP/s)."""
    structure = glass.repeat((math.ceil(n_atoms / len(glass)), 1, 1))
    soap = descriptors.make_soap(**config["soap"])
    started = time.perf_counter()
    vectors = descriptors.soap_vectors(structure, soap)
    soap_rate = len(structure) / (time.perf_counter() - started)
    vectors = np.asarray(vectors[0] if isinstance(vectors, tuple) else vectors, dtype=np.float32)
    soap_peak = _peak_rss_gb()
    dictionary = np.random.default_rng(0).standard_normal((n_ules, vectors.shape[1]), dtype=np.float32)
    rows = np.resize(vectors, (batch, vectors.shape[1]))
    rows @ dictionary.T
    started = time.perf_counter()
    for _ in range(repeats):
        rows @ dictionary.T
    flops = repeats * 2.0 * batch * vectors.shape[1] * n_ules / (time.perf_counter() - started)
    return soap_rate, soap_peak, flops


def measure_unit_costs(before, after, probe_atoms, probe_steps):
    """Every unit cost of the projection, measured now on one core (``OMP_NUM_THREADS=1``), with the
    peak memory of each probe process.  The MD and minimisation settings are the ``before``
    profile's (``after`` must share them).  The supercooled hold is at the ``after`` profile's
    coldest ladder level, the shear at its median shear temperature."""
    for section in ("potential", "md", "alloy", "soap"):
        if before[section] != after[section]:
            raise SystemExit(f"the two profiles differ in '{section}': unit costs measured with one would not "
                             "apply to the other; project them in two runs")
    supercooled_K = min(after["thermal"]["ladder"]["parent_temperatures_K"])
    glass_K = float(np.median(before["thermal"]["anneal_temperatures_K"]))
    shear_config = after["shear"]
    shear_K = float(np.median(shear_config["temperatures_K"]))
    (md_rates, is_rates, glass, is_bytes_per_atom), thermal_peak = in_fresh_process(
        probe_thermal, before, probe_atoms, probe_steps, supercooled_K, glass_K)
    (shear_rate, sheared_is_rate), shear_peak = in_fresh_process(
        probe_shear, before, glass, probe_steps, shear_K, shear_config["strain_rate_per_ps"])
    largest = max(spec["n_atoms"] for profile in (before, after) for spec in profile["thermal"]["splits"].values())
    n_ules = max(disk_footprint.dictionary_size(profile["ules"]) for profile in (before, after))
    batch = max(profile["ules"]["batch_size"] for profile in (before, after))
    (soap_rate, soap_peak, flops), encoding_peak = in_fresh_process(
        probe_soap_and_encoding, before, glass, largest, n_ules, batch)
    md_rates["shear"], is_rates["sheared"] = shear_rate, sheared_is_rate
    return {"md_atom_steps_per_s": md_rates, "is_atoms_per_s": is_rates, "soap_atoms_per_s": soap_rate,
            "gemm_flops_per_s": flops, "is_bytes_per_atom": is_bytes_per_atom,
            "peak_gb": {"thermal": thermal_peak, "shear": shear_peak, "soap": soap_peak, "encoding": encoding_peak},
            "probe": {"n_atoms": probe_atoms, "steps": probe_steps, "melt_K": before["thermal"]["melt_temperature_K"],
                      "supercooled_K": supercooled_K, "glass_K": glass_K, "shear_K": shear_K, "soap_atoms": largest,
                      "n_ules": n_ules, "batch": batch}}


def measured_relaxation(catalogue_path):
    """Read from a finished run's catalogue (``samples.parquet``): the largest measured tau_alpha
    (ps) at each ladder parent temperature (K), and the decorrelation strain of steady shear.
    If a fraction f of the atoms is hot (``heterogeneity.hot_strain_threshold``) in each strain
    interval dγ, the share of atoms never hot falls as (1 - f)^(γ/dγ).  It reaches 1/e at
    γ_c = dγ / -ln(1 - f).  Returns (tau table, γ_c, f, dγ)."""
    table = pd.read_parquet(catalogue_path)
    ladder = table[table["protocol"] == "ladder"].dropna(subset=["tau_alpha_ps"])
    # A negative tau_alpha: F_s had not decayed within the recorded window (longer than measured).
    tau = {float(t): (math.inf if (group < 0).any() else float(group.max()))
           for t, group in ladder.groupby("parent_T_K")["tau_alpha_ps"]}
    mech = table[table["split"] == MECH_SPLIT].dropna(subset=["interval_hot_fraction"])
    if mech.empty:
        return tau, math.inf, math.nan, math.nan
    interval = float(table[table["split"] == MECH_SPLIT].sort_values("strain").groupby("trajectory_id")["strain"]
                     .diff().median())
    hot = float(mech["interval_hot_fraction"].mean())
    return tau, interval / -math.log1p(-hot), hot, interval


def tau_alpha_at(temperature_K, tau):
    """Relaxation time (ps) at ``temperature_K`` from the measured levels ``tau``: log-interpolated
    in 1/T between them.  Above the hottest level, that level's value (an upper bound).  Below the
    coldest level, infinite: not measured, and below T_g (880 K) longer than any MD here."""
    temperatures = sorted(tau)
    if temperature_K < temperatures[0]:
        return math.inf
    if temperature_K >= temperatures[-1]:
        return tau[temperatures[-1]]
    lower = max(t for t in temperatures if t <= temperature_K)
    upper = min(t for t in temperatures if t > temperature_K)
    if temperature_K == lower or math.inf in (tau[lower], tau[upper]):
        return tau[lower]
    weight = (1 / temperature_K - 1 / upper) / (1 / lower - 1 / upper)
    return math.exp((1 - weight) * math.log(tau[upper]) + weight * math.log(tau[lower]))


def independent_thermal(trajectory, tau):
    """Independent IS of a thermal history: one per tau_alpha at each temperature where it
    samples, up to its snapshot count.  A quench history counts its quenched glass once, plus
    what each anneal relaxes (nothing below T_g).  A ladder chain counts each level's snapshots
    spaced by at least tau_alpha."""
    if isinstance(trajectory, histories.LadderTrajectory):
        count = sum(min(trajectory.snapshots_per_level,
                        math.floor(trajectory.snapshots_per_level * interval / tau_alpha_at(temperature, tau) + 1e-9))
                    for temperature, _, interval in trajectory.levels())
        return max(1, count)
    return 1 + sum(min(trajectory.n_snapshots(), math.floor(trajectory.anneal_time_ps / tau_alpha_at(t, tau) + 1e-9))
                   for t in trajectory.anneal_temperatures_K)


def independent_sheared(trajectory, tau, decorrelation_strain, timestep_ps):
    """Independent IS of a shear run.  Its snapshots span the steady-state strain window, and one
    counts per decorrelation strain: the smaller of γ_c and rate × tau_alpha(T)."""
    strains = [strain for _, strain, _ in trajectory.sample_plan(timestep_ps)]
    renewal = min(decorrelation_strain, trajectory.strain_rate_per_ps * tau_alpha_at(trajectory.temperature_K, tau))
    return min(len(strains), 1 + math.floor((strains[-1] - strains[0]) / renewal + 1e-9))


def makespan_hours(job_core_seconds, threads, nodes, cores_per_node):
    """Wall time (h) of independent jobs of ``threads`` threads each (at most a node's cores) on
    ``nodes`` nodes of ``cores_per_node`` cores, placed
    longest first on the least loaded slot.  Thread scaling within a job is taken as ideal, so
    this is a lower bound for MD (LAMMPS OPENMP on a few thousand atoms scales less than linearly)."""
    if not job_core_seconds:
        return 0.0
    threads = max(1, min(threads, cores_per_node))
    loads = [0.0] * min(len(job_core_seconds), nodes * (cores_per_node // threads))
    for seconds in sorted(job_core_seconds, reverse=True):
        loads[loads.index(min(loads))] += seconds / threads
    return max(loads) / 3600.0


def _threads(config, rule):
    return config_module.resources_for(config, rule)["threads"]


def _batches(items, size):
    return [items[i:i + size] for i in range(0, len(items), size)]


def project_profile(config, costs, tau, decorrelation_strain, nodes, cores_per_node):
    """Per stage of ``config``: jobs, threads per job, core-hours, wall hours on ``nodes`` nodes,
    disk (GB) and peak memory per job (GB).  Also the IS and independent IS per split."""
    settings = md_settings(config)
    md_rate, is_rate = costs["md_atom_steps_per_s"], costs["is_atoms_per_s"]
    peak, held = costs["peak_gb"], costs["is_bytes_per_atom"]
    counts, thermal_jobs, thermal_memory = {}, [], []
    md_seconds = is_seconds = anneal_seconds = 0.0
    for trajectory in histories.thermal_trajectories(config):
        n, n_is = trajectory.n_atoms, len(trajectory.sample_plan())
        melt = n * settings.steps(trajectory.melt_time_ps) / md_rate["liquid"]
        if isinstance(trajectory, histories.LadderTrajectory):
            hold = n * settings.steps(trajectory.md_time_ps() - trajectory.melt_time_ps) / md_rate["supercooled"]
            minimise = n_is * n / is_rate["supercooled"]
            # tau_alpha frames: positions every frame_interval_ps from half-way through the equilibration.
            frames = max((t_eq / 2 + trajectory.snapshots_per_level * interval) / trajectory.frame_interval_ps
                         for _, t_eq, interval in trajectory.levels())
        else:
            anneal = n * settings.steps(trajectory.md_time_ps() - trajectory.melt_time_ps
                                        - trajectory.quench_time_ps()) / md_rate["glass"]
            hold = n * settings.steps(trajectory.quench_time_ps()) / md_rate["quench"] + anneal
            anneal_seconds += anneal
            minimise = n / is_rate["quench"] + (n_is - 1) * n / is_rate["glass"]
            frames = 0
        md_seconds, is_seconds = md_seconds + melt + hold, is_seconds + minimise
        thermal_jobs.append(melt + hold + minimise)
        thermal_memory.append(peak["thermal"] + (n_is * n * held + frames * n * 24) / GB)
        split = counts.setdefault(trajectory.split, [0, 0])
        split[0] += n_is
        split[1] += independent_thermal(trajectory, tau)
    shear_config = config["shear"]
    shear_n = config["thermal"]["splits"][shear_config["source_split"]]["n_atoms"]
    shear_jobs, shear_md = [], 0.0
    mech = counts.setdefault(MECH_SPLIT, [0, 0])
    for trajectory in histories.shear_trajectories(config):
        n_is = len(trajectory.sample_plan(settings.timestep_ps))
        steps = settings.steps(trajectory.equilibration_time_ps) + \
            settings.steps(trajectory.total_strain / trajectory.strain_rate_per_ps)
        run_md = shear_n * steps / md_rate["shear"]
        shear_md += run_md
        shear_jobs.append(run_md + (n_is + 1) * shear_n / is_rate["sheared"])
        mech[0] += n_is
        mech[1] += independent_sheared(trajectory, tau, decorrelation_strain, settings.timestep_ps)
    shear_is = sum(shear_jobs) - shear_md
    shear_memory = peak["shear"] + (max(mech[0], 1) / max(len(shear_jobs), 1) + 1) * shear_n * held / GB
    # SOAP, dictionary and encoding: every IS's environments (sheared ones included), per job batch.
    n_features = disk_footprint.soap_length(config["soap"])
    n_ules = disk_footprint.dictionary_size(config["ules"])
    gemm_seconds_per_env = 2.0 * n_features * n_ules / costs["gemm_flops_per_s"]
    per_job = config["jobs"]["trajectories_per_job"]
    environments = [len(t.sample_plan()) * t.n_atoms for t in histories.thermal_trajectories(config)]
    mech_environments = [len(t.sample_plan(settings.timestep_ps)) * shear_n for t in histories.shear_trajectories(config)]
    batches = [sum(batch) for batch in _batches(environments, per_job) + _batches(mech_environments, per_job)]
    train_environments = sum(len(t.sample_plan()) * t.n_atoms for t in histories.thermal_trajectories(config)
                             if t.split == TRAIN_SPLIT)
    _, disk = disk_footprint.projection(config)
    soap_disk = sum(gb for name, gb in disk.items() if name.startswith("SOAP"))
    mech_disk = mech[0] * shear_n * disk_footprint.EXTXYZ_BYTES_PER_ATOM / GB
    stage = {}

    def add(name, jobs, threads, core_seconds, wall_jobs, disk_gb, memory_gb):
        """A stage; without ``wall_jobs`` it is part of the next stage's jobs (core-hours only)."""
        stage[name] = {"jobs": jobs, "threads": threads, "core_hours": core_seconds / 3600.0, "part": wall_jobs is None,
                       "wall_hours": None if wall_jobs is None else makespan_hours(wall_jobs, threads, nodes,
                                                                                   cores_per_node),
                       "disk_gb": disk_gb, "peak_gb": memory_gb}

    threads = _threads(config, "thermal_trajectory")
    add("thermal MD", len(thermal_jobs), threads, md_seconds, None, None, None)
    add("thermal IS minimisation", len(thermal_jobs), threads, is_seconds, None, None, None)
    add("thermal_trajectory jobs (MD + IS)", len(thermal_jobs), threads, md_seconds + is_seconds, thermal_jobs,
        disk["structures (extxyz)"], max(thermal_memory))
    threads = _threads(config, "shear_trajectory")
    add("shear MD", len(shear_jobs), threads, shear_md, None, None, None)
    add("shear IS minimisation", len(shear_jobs), threads, shear_is, None, None, None)
    add("shear_trajectory jobs (MD + IS)", len(shear_jobs), threads, shear_md + shear_is, shear_jobs, mech_disk,
        shear_memory if shear_jobs else 0.0)
    soap_jobs = [env / costs["soap_atoms_per_s"] for env in batches]
    add("SOAP (one pass over every IS)", len(soap_jobs), _threads(config, "soap_descriptors"), sum(soap_jobs),
        soap_jobs, soap_disk, peak["soap"])
    dictionary = train_environments * gemm_seconds_per_env
    add("ULE dictionary (upper bound)", 1, _threads(config, "ule_dictionary"), dictionary, [dictionary],
        disk["dictionary"], peak["encoding"])
    encoding_jobs = [env * gemm_seconds_per_env for env in batches]
    add("encoding", len(encoding_jobs), _threads(config, "ule_encoding"), sum(encoding_jobs), encoding_jobs,
        disk["encodings (fractions + counts)"], peak["encoding"])
    return stage, counts, anneal_seconds / 3600.0


def _number(value, digits=3):
    if value is None:
        return ""
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.{digits}g}"


def glass_transition(path="docs/data/glass_transition.json"):
    """(T_g K, cooling rate K/s) of the fastest-cooled row of benchmarks/glass_transition.py's output."""
    with open(path) as handle:
        row = max(json.load(handle)["rows"], key=lambda row: row["rate_K_per_s"])
    return row["T_g_K"], row["rate_K_per_s"]


def render(before_name, after_name, before, after, costs, tau, decorrelation, nodes, cores_per_node):
    """The projection as Markdown lines: unit costs, stages side by side, samples per split."""
    (stages_b, counts_b, anneal_b), (stages_a, counts_a, anneal_a) = before, after
    md_rate, is_rate, peak = costs["md_atom_steps_per_s"], costs["is_atoms_per_s"], costs["peak_gb"]
    probe = costs["probe"]
    t_g, t_g_rate = glass_transition()
    lines = [
        f"Measured on {platform.node()} ({_cpu_model()}), {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        "one core per probe (OMP_NUM_THREADS=1), by "
        f"`benchmarks/project_scale.py --config {before_name} --after {after_name}"
        f" --nodes {nodes} --cores-per-node {cores_per_node}`.",
        "",
        f"Unit costs (MD of {probe['n_atoms']} atoms, {probe['steps']} steps per regime):",
        "",
        "* MD, atom-steps/s per core: " + ", ".join(
            f"{name} {value:,.0f}" for name, value in (
                (f"liquid {probe['melt_K']:g} K", md_rate["liquid"]), ("linear quench", md_rate["quench"]),
                (f"supercooled {probe['supercooled_K']:g} K", md_rate["supercooled"]),
                (f"glass {probe['glass_K']:g} K", md_rate["glass"]),
                (f"Lees-Edwards shear {probe['shear_K']:g} K", md_rate["shear"]))) + ".",
        "* IS minimisation (CG and every relaxed-cell round), atoms/s per core: " + ", ".join(
            f"{name} {value:.3g}" for name, value in (
                ("quenched glass", is_rate["quench"]), ("supercooled snapshot", is_rate["supercooled"]),
                ("annealed glass", is_rate["glass"]), ("sheared glass", is_rate["sheared"]))) + ".",
        f"* SOAP: {costs['soap_atoms_per_s']:,.0f} atoms/s ({probe['soap_atoms']} atoms); encoding product: "
        f"{costs['gemm_flops_per_s'] / 1e9:.3g} GFLOP/s float32 ({probe['batch']} x {probe['n_ules']} ULEs).",
        f"* Peak memory of the probe processes (GB): thermal MD + IS {peak['thermal']:.2f}, shear MD + IS "
        f"{peak['shear']:.2f}, SOAP of {probe['soap_atoms']} atoms {peak['soap']:.2f}, encoding {peak['encoding']:.2f}. "
        f"The peak of a trajectory job adds the IS it holds ({costs['is_bytes_per_atom']:.0f} bytes per atom each).",
        "",
        f"Wall time on {nodes} nodes x {cores_per_node} cores: each stage's jobs are placed longest first, at "
        "their rule's `resources` threads, with ideal thread scaling, so MD walls are lower bounds. Peak memory is "
        "per job.",
        "",
        f"| stage | jobs | core-hours | wall (h), {nodes} x {cores_per_node} cores | disk (GB) | peak memory per job (GB) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name in stages_b:
        b, a = stages_b[name], stages_a[name]
        keys = ("core_hours",) if b["part"] else ("jobs", "core_hours", "wall_hours", "disk_gb", "peak_gb")
        lines.append(f"| {'of which: ' if b['part'] else ''}{name} | " + " | ".join(
            f"{_number(b[key])} → {_number(a[key])}" if key in keys else ""
            for key in ("jobs", "core_hours", "wall_hours", "disk_gb", "peak_gb")) + " |")
    md_keys = ("thermal_trajectory jobs (MD + IS)", "shear_trajectory jobs (MD + IS)")
    total_b = sum(stages_b[k]["core_hours"] for k in md_keys)
    total_a = sum(stages_a[k]["core_hours"] for k in md_keys)
    every_b = sum(v["core_hours"] for v in stages_b.values() if not v["part"])
    every_a = sum(v["core_hours"] for v in stages_a.values() if not v["part"])
    lines += [
        f"| **thermal + shear** | | **{_number(total_b)} → {_number(total_a)}** | | | |",
        f"| all stages above | | {_number(every_b)} → {_number(every_a)} | | | |",
        "",
        "The SOAP row is one pass over every IS, in the encoding batches.  With `soap.store` false it runs "
        "inside the jobs that read SOAP, once per reading job.",
        "",
        f"Thermal + shear after / before: **{total_a / total_b:.2f}** (target ≤ 0.5).  Anneals make up "
        f"{_number(anneal_b)} → {_number(anneal_a)} core-hours of the thermal MD.  Below T_g they add no independent "
        "sample, but they make the paper's aged glasses, so both plans keep them.  They are the next lever.",
        "",
        "Independent samples.  A history gives one IS per measured τα at each temperature it samples.  The largest "
        "τα measured by the ladder chains of the catalogue is " + ", ".join(
            f"{value:.2f} ps at {t:g} K" for t, value in sorted(tau.items(), reverse=True)) + ".  Colder "
        f"temperatures count as never relaxing (T_g = {t_g:.0f} K at {t_g_rate:.0e} K/s, "
        "docs/data/glass_transition.json).  So a quench-and-anneal history whose anneals are all colder counts "
        "once.  A shear run counts its first steady-state IS and one more per decorrelation strain "
        f"γ_c = {decorrelation[0]:.2f}, the strain that leaves 1/e of the atoms never hot at the catalogue's "
        f"{decorrelation[1]:.3f} hot atoms per {decorrelation[2]:.3g} of strain.",
        "",
        "| split | IS before | independent before | IS after | independent after |",
        "| --- | --- | --- | --- | --- |",
    ]
    for split in list(dict.fromkeys(list(counts_b) + list(counts_a))):
        b, a = counts_b.get(split, [0, 0]), counts_a.get(split, [0, 0])
        lines.append(f"| {split} | {b[0]:,} | {b[1]:,} | {a[0]:,} | {a[1]:,} |")
    return lines


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def write_markdown_section(path, lines):
    """Replace the text between MARK_BEGIN and MARK_END in ``path`` with ``lines``; if there are no
    markers, append them."""
    text = open(path).read() if os.path.exists(path) else ""
    section = "\n".join([MARK_BEGIN, *lines, MARK_END])
    if MARK_BEGIN in text and MARK_END in text:
        head, rest = text.split(MARK_BEGIN, 1)
        text = head + section + rest.split(MARK_END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    with open(path + ".tmp", "w") as out:
        out.write(text)
    os.replace(path + ".tmp", path)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", nargs="*", default=["config/paper.yaml"], help="profile files over config/config.yaml")
    parser.add_argument("--after", nargs="*", default=["config/paper.yaml", "config/paper_independent.yaml"],
                        help="the proposed profile, projected beside --config (default: the paper profile with "
                             "config/paper_independent.yaml over it)")
    parser.add_argument("--probe-atoms", type=int, default=2000, help="atoms of the MD and IS probes")
    parser.add_argument("--probe-steps", type=int, default=2000, help="MD steps per probed regime")
    parser.add_argument("--nodes", type=int, default=4, help="nodes for the wall times (default 4)")
    parser.add_argument("--cores-per-node", type=int, default=64, help="cores per node (default 64)")
    parser.add_argument("--catalogue", default=f"results_heterogeneity/{CATALOGUE}",
                        help="a finished run's samples.parquet whose ladder chains measured tau_alpha and whose "
                             "sheared samples measured the hot fraction per strain interval")
    parser.add_argument("--decorrelation-strain", type=float, default=None,
                        help="override the decorrelation strain of steady shear read from --catalogue")
    parser.add_argument("--markdown", metavar="PATH",
                        help="also write the projection into PATH between its generated-section markers")
    parser.add_argument("--disk-only", action="store_true", help="print the disk projection only (no MD, no timing)")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    config = merged_config(args.config)
    config_module.validate(config)
    if args.disk_only:
        work, disk = disk_footprint.projection(config)
        print(f"profile {' + '.join(args.config)}: {sum(work.environments.values()):.3g} environments x "
              f"{work.n_features} features, soap.store {config['soap']['store']}")
        print_disk(disk)
        return
    after = merged_config(args.after)
    config_module.validate(after)
    tau, decorrelation, hot, interval = measured_relaxation(args.catalogue)
    decorrelation = args.decorrelation_strain or decorrelation
    costs = measure_unit_costs(config, after, args.probe_atoms, args.probe_steps)
    projections = [project_profile(profile, costs, tau, decorrelation, args.nodes, args.cores_per_node)
                   for profile in (config, after)]
    lines = render(" ".join(args.config), " ".join(args.after), *projections, costs, tau,
                   (decorrelation, hot, interval), args.nodes, args.cores_per_node)
    print("\n".join(lines))
    if args.markdown:
        write_markdown_section(args.markdown, lines)


if __name__ == "__main__":
    main()
