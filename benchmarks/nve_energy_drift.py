"""NVE total-energy drift of the Cu-Zr liquid at the melt temperature for several timesteps
(default 1, 2 and 2.5 fs), to justify the MD timestep.

One liquid is prepared once: N atoms at the config's composition at random positions in a
cubic box at --number-density (overlap md.initial_min_distance_A), CG-minimised (md.minimize),
then equilibrated NPT at md.pressure_bar and thermal.melt_temperature_K for --equilibration-ps
with md.timestep_ps (damps md.thermostat_damp_ps / md.barostat_damp_ps), and written to a
restart file.  Each timestep then starts from that identical state in a fresh LAMMPS session,
runs ``fix nve`` for --time-ps, and samples etotal every --sample-ps.  Reported per timestep:
drift = least-squares slope of etotal/N against time (µeV/atom/ps), the rms of etotal/N about
that line (µeV/atom), mean temperature (K) and pressure (GPa), and the NVE wall time (s).
Neighbour list as in the pipeline: ``neighbor md.neighbor_skin_A bin``,
``neigh_modify every 1 delay 0 check yes`` (from md.potential_commands).

    PYTHONPATH=src .venv/bin/python benchmarks/nve_energy_drift.py [--n-atoms 500 --time-ps 20 --json F]
"""

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from mgbarcode import config as config_module
from mgbarcode import md
from mgbarcode.histories import species_counts

MICRO = 1e6  # eV -> µeV
BAR_PER_GPA = 1e4



def prepare_liquid(args, config, potential, restart_file, log_file):
    """Random start, minimise, NPT at the melt temperature; write the state to ``restart_file``."""
    md_config, types = config["md"], list(potential.elements)
    temperature, dt = args.temperature, md_config["timestep_ps"]
    counts = species_counts(config["alloy"]["composition"], args.n_atoms)
    length = (args.n_atoms / args.number_density) ** (1.0 / 3.0)
    with md.lammps_session(log_file, threads=args.threads) as lmp:
        lmp.commands_list(["boundary p p p", f"region cell block 0 {length} 0 {length} 0 {length}",
                           f"create_box {len(types)} cell"])
        for type_index, element in enumerate(types, start=1):
            if counts.get(element):
                lmp.command(f"create_atoms {type_index} random {counts[element]} {args.seed + type_index} NULL "
                            f"overlap {md_config['initial_min_distance_A']} maxtry 1000")
        # thermo_style first: it resets the thermo_modify settings that define_potential makes.
        lmp.commands_list([f"timestep {dt}", "thermo_style custom step temp pe etotal press vol", "thermo 1000"])
        md.define_potential(lmp, potential, types, md_config["neighbor_skin_A"])
        lmp.commands_list(md.minimize_commands(**md.fixed_box_params(md_config["minimize"]))[:-1] + [
            f"velocity all create {temperature} {args.seed + 99} dist gaussian mom yes rot yes",
            f"fix integrate all npt temp {temperature} {temperature} {md_config['thermostat_damp_ps']} "
            f"iso {md_config['pressure_bar']} {md_config['pressure_bar']} {md_config['barostat_damp_ps']}",
            f"run {round(args.equilibration_ps / dt)}",
            "unfix integrate",
            f"write_restart {restart_file}",
        ])
        return counts, lmp.get_thermo("vol"), lmp.get_thermo("temp"), lmp.get_thermo("press")


def nve_run(args, config, potential, restart_file, dt, log_file):
    """``fix nve`` from the restart for ``args.time_ps``; returns the row of the table."""
    n_samples, every = round(args.time_ps / args.sample_ps), round(args.sample_ps / dt)
    assert abs(every * dt - args.sample_ps) < 1e-9, f"--sample-ps must be a multiple of the timestep {dt}"
    with md.lammps_session(log_file, preamble=False, threads=args.threads) as lmp:
        lmp.commands_list([f"read_restart {restart_file}", "atom_modify sort 0 0.0", "reset_timestep 0", f"timestep {dt}",
                           "thermo_style custom step temp pe etotal press", f"thermo {every}"])
        md.define_potential(lmp, potential, list(potential.elements), config["md"]["neighbor_skin_A"])
        lmp.commands_list(["fix integrate all nve", "run 0"])
        samples = [(0.0, lmp.get_thermo("etotal"), lmp.get_thermo("temp"), lmp.get_thermo("press"))]
        started = time.perf_counter()
        for k in range(1, n_samples + 1):
            lmp.command(f"run {every} pre no post no")
            samples.append((k * every * dt, lmp.get_thermo("etotal"), lmp.get_thermo("temp"),
                            lmp.get_thermo("press")))
        wall = time.perf_counter() - started
    t, etotal, temp, press = np.array(samples).T
    e_atom = etotal / args.n_atoms  # thermo_modify norm no (md.potential_commands): etotal is per system
    slope, intercept = np.polyfit(t, e_atom, 1)
    rms = np.sqrt(np.mean((e_atom - (slope * t + intercept)) ** 2))
    return {"timestep_fs": dt * 1000, "drift_ueV_per_atom_ps": slope * MICRO, "abs_drift_ueV_per_atom_ps":
            abs(slope) * MICRO, "rms_fluctuation_ueV_per_atom": rms * MICRO, "mean_T_K": temp.mean(),
            "mean_P_GPa": press.mean() / BAR_PER_GPA, "wall_s": wall, "n_samples": len(t)}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="config/config.yaml")
    parser.add_argument("--n-atoms", type=int, default=500)
    parser.add_argument("--number-density", type=float, default=0.0568,
                        help="atoms/Å^3 of the random start (about the potential's zero-pressure liquid)")
    parser.add_argument("--temperature", type=float, help="K (default: thermal.melt_temperature_K)")
    parser.add_argument("--equilibration-ps", type=float, default=10.0)
    parser.add_argument("--time-ps", type=float, default=20.0, help="NVE time per timestep")
    parser.add_argument("--sample-ps", type=float, default=0.1, help="etotal sampling interval")
    parser.add_argument("--timesteps-fs", type=float, nargs="+", default=[1.0, 2.0, 2.5])
    parser.add_argument("--seed", type=int, default=4242)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--log-dir", help="keep the LAMMPS logs here (default: none)")
    parser.add_argument("--json", help="also write the results to this JSON file")
    args = parser.parse_args()
    config = config_module.load(args.config)
    if args.temperature is None:
        args.temperature = float(config["thermal"]["melt_temperature_K"])
    potential = md.Potential.from_config(config["potential"])
    potential.check(config["alloy"]["composition"])
    log = (lambda name: Path(args.log_dir, name)) if args.log_dir else (lambda name: None)
    if args.log_dir:
        Path(args.log_dir).mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory() as tmp:
        restart_file = Path(tmp, "liquid.restart")
        started = time.perf_counter()
        counts, volume, temp, press = prepare_liquid(args, config, potential, restart_file, log("log.prepare"))
        print(f"liquid {counts} at {args.temperature} K: NPT {args.equilibration_ps} ps in "
              f"{time.perf_counter() - started:.1f} s, final density {args.n_atoms / volume:.5f} /Å^3, "
              f"T {temp:.0f} K, P {press / BAR_PER_GPA:.3f} GPa")
        rows = [nve_run(args, config, potential, restart_file, fs / 1000, log(f"log.nve_{fs:g}fs"))
                for fs in args.timesteps_fs]

    print(f"\nNVE {args.time_ps} ps per timestep, etotal every {args.sample_ps} ps, {args.n_atoms} atoms\n")
    print("| timestep_fs | drift µeV/atom/ps | \\|drift\\| | rms fluctuation µeV/atom | mean T K | mean P GPa | wall s |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['timestep_fs']:g} | {r['drift_ueV_per_atom_ps']:+.3f} | {r['abs_drift_ueV_per_atom_ps']:.3f} | "
              f"{r['rms_fluctuation_ueV_per_atom']:.2f} | {r['mean_T_K']:.1f} | {r['mean_P_GPa']:+.3f} | "
              f"{r['wall_s']:.1f} |")
    if args.json:
        Path(args.json).write_text(json.dumps({"settings": {k: v for k, v in vars(args).items() if k != "json"},
                                               "composition_counts": counts, "results": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
