"""The glass transition temperature T_g of the configured potential and alloy, from the volume
of a liquid cooled at constant rate under NPT: the temperature where straight lines fitted to
the liquid and to the glass branch of V(T) cross (the usual MD T_g; it rises with the rate).

Each rate runs the first segment of the project's quench protocol
(:func:`mgbarcode.samples.thermal_protocol`: random start, contact relaxation, melt at
``thermal.melt_temperature_K``, then a linear quench to ``thermal.quench_final_temperature_K``
at the rate, in ``md.ensemble`` at ``md.pressure_bar``), with the quench cut into chunks of
--sample-K of cooling after each of which T and V are read.  The fit: for every candidate
break T_b on a 1 K grid inside [--t-low, --t-high], a line through the points above T_b and one
through those below; T_g is the crossing of the pair with the least total squared residual.

    PYTHONPATH=src .venv/bin/python benchmarks/glass_transition.py --n-atoms 500 --rates 1e13 --json F

The shear temperatures of a heterogeneity profile are placed against this T_g, as the paper's
300/500/700 K are against its T_g of about 700 K.
"""

import argparse
import json
import time

import numpy as np

from mgbarcode import config as config_module
from mgbarcode import histories, md, samples
from mgbarcode.config import merged_config
from mgbarcode.md_settings import md_settings
from mgbarcode.results_layout import TRAIN_SPLIT


def cooling_curve(config, n_atoms, rate_K_per_s, sample_K, seed, threads=1):
    """(temperatures K, volumes Å³/atom, wall s) read every ``sample_K`` of the quench."""
    settings = md_settings(config)
    potential = md.Potential.from_config(config["potential"])
    thermal = config["thermal"]
    trajectory = histories.ThermalTrajectory(
        trajectory_id="tg", split=TRAIN_SPLIT, n_atoms=n_atoms, composition=dict(config["alloy"]["composition"]),
        cooling_rate_K_per_s=rate_K_per_s, seed=seed, melt_temperature_K=thermal["melt_temperature_K"],
        melt_time_ps=thermal["melt_time_ps"], quench_final_temperature_K=thermal["quench_final_temperature_K"],
        anneal_temperatures_K=(), anneal_time_ps=1.0, snapshot_interval_ps=1.0)
    quench_steps = settings.steps(trajectory.quench_time_ps())
    chunk = max(1, settings.steps(sample_K / rate_K_per_s * 1e12))
    temperatures, volumes = [], []
    started = time.perf_counter()
    with md.lammps_session(preamble=False, threads=threads) as lmp:
        for command in next(samples.thermal_protocol(trajectory, settings, potential)):
            if command != f"run {quench_steps}":
                lmp.command(command)
                continue
            # start/stop: the thermostat's ramp spans the whole quench, not each chunk.
            first, done = int(lmp.get_thermo("step")), 0
            while done < quench_steps:
                steps = min(chunk, quench_steps - done)
                lmp.command(f"run {steps} start {first} stop {first + quench_steps}" + (" pre no" if done else "")
                            + " post no")
                done += steps
                temperatures.append(lmp.get_thermo("temp"))
                volumes.append(lmp.get_thermo("vol") / n_atoms)
            break  # the quench is what is measured; the IS minimisation is not needed
    return np.array(temperatures), np.array(volumes), time.perf_counter() - started


def two_line_fit(temperatures, volumes, t_low_K, t_high_K):
    """T_g (K) and the two lines ((slope, intercept) glass, liquid) of the best broken fit."""
    keep = (temperatures >= t_low_K) & (temperatures <= t_high_K)
    t, v = temperatures[keep], volumes[keep]
    best = None
    for t_break in np.arange(np.ceil(t.min()) + 1, np.floor(t.max())):
        below, above = t <= t_break, t > t_break
        if below.sum() < 3 or above.sum() < 3:
            continue
        glass = np.polyfit(t[below], v[below], 1)
        liquid = np.polyfit(t[above], v[above], 1)
        residual = np.sum((np.polyval(glass, t[below]) - v[below]) ** 2) + \
            np.sum((np.polyval(liquid, t[above]) - v[above]) ** 2)
        if best is None or residual < best[0]:
            best = (residual, glass, liquid)
    if best is None:
        raise ValueError("too few points between --t-low and --t-high for two lines")
    _, glass, liquid = best
    t_g = (liquid[1] - glass[1]) / (glass[0] - liquid[0])
    if not t_low_K <= t_g <= t_high_K:
        raise ValueError(f"the two lines cross at {t_g:.0f} K, outside [{t_low_K}, {t_high_K}] K: V(T) is too noisy "
                         "for a break; use more atoms or a slower rate")
    return float(t_g), glass, liquid


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", nargs="*", default=[], help="profile files over config/config.yaml")
    parser.add_argument("--n-atoms", type=int, default=500)
    parser.add_argument("--rates", type=float, nargs="+", default=[1e13], help="cooling rates (K/s)")
    parser.add_argument("--sample-K", type=float, default=10.0, help="cooling between two readings (K)")
    parser.add_argument("--t-low", type=float, default=300.0, help="lowest temperature fitted (K)")
    parser.add_argument("--t-high", type=float, default=1400.0, help="highest temperature fitted (K)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    config = merged_config(args.config)
    config_module.validate(config)
    rows = []
    for rate in args.rates:
        temperatures, volumes, wall = cooling_curve(config, args.n_atoms, rate, args.sample_K, args.seed)
        t_g, glass, liquid = two_line_fit(temperatures, volumes, args.t_low, args.t_high)
        rows.append({"rate_K_per_s": rate, "n_atoms": args.n_atoms, "T_g_K": t_g,
                     "glass_expansion_per_K": glass[0] / np.polyval(glass, t_g),
                     "liquid_expansion_per_K": liquid[0] / np.polyval(liquid, t_g), "wall_s": wall,
                     "temperatures_K": temperatures.round(2).tolist(), "volumes_A3_per_atom": volumes.round(5).tolist()})
        print(f"rate {rate:.3g} K/s, {args.n_atoms} atoms: T_g = {t_g:.0f} K (volume expansion "
              f"{rows[-1]['glass_expansion_per_K']:.2e}/K glass, {rows[-1]['liquid_expansion_per_K']:.2e}/K liquid; "
              f"{wall:.0f} s)")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"composition": config["alloy"]["composition"], "potential": config["potential"]["file"],
                       "pressure_bar": config["md"]["pressure_bar"], "rows": rows}, handle, indent=1)


if __name__ == "__main__":
    main()
