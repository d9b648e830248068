"""Project the core-hours and disk of a profile from per-unit costs measured here and now.

Measures, on one core: LAMMPS MD of a 2000-atom Cu-Zr liquid (atom-steps/s), CG minimisation
of a quenched glass to its IS (atoms/s), DScribe SOAP of that glass with the profile's
parameters (atoms/s) and a float32 matrix product of the encoder's shape (FLOP/s); then
multiplies the profile's workload (mgbarcode.planning) by them.

    .venv/bin/python benchmarks/project_scale.py --config config/paper.yaml
"""

import argparse
import os
import time

import numpy as np

from mgbarcode import config as config_module
from mgbarcode import descriptors, md, planning, samples
from mgbarcode.cli import merged_config


def measure_md_and_minimisation(config, n_atoms, steps):
    """(MD atom-steps/s, minimised atoms/s, the quenched glass) for ``n_atoms`` atoms: the
    first segment of the thermal protocol (random start, melt, a fast quench, minimisation),
    each command timed on its own."""
    settings = config_module.md_settings(config)
    potential = md.Potential.from_config(config["potential"])
    thermal = config["thermal"]
    probe = samples.ThermalTrajectory(
        trajectory_id="probe", split="train", n_atoms=n_atoms, composition=dict(config["alloy"]["composition"]),
        cooling_rate_K_per_s=1e16, seed=1, melt_temperature_K=thermal["melt_temperature_K"],
        melt_time_ps=steps * settings.timestep_ps, quench_final_temperature_K=thermal["quench_final_temperature_K"],
        anneal_temperatures_K=(), anneal_time_ps=1.0, snapshot_interval_ps=1.0)
    md_seconds = md_steps = inherent_structure_seconds = 0
    in_inherent_structure = False  # from the IS's own commands on (not the random start's relaxation)
    with md.lammps_session(preamble=False) as lmp:
        for command in next(samples.thermal_protocol(probe, settings, potential)):
            in_inherent_structure |= command.startswith(f"variable {samples.MD_PRESSURE_VARIABLE} ")
            started = time.perf_counter()
            lmp.command(command)
            seconds = time.perf_counter() - started
            if command.startswith("run ") and not command.startswith("run 0"):
                md_seconds, md_steps = md_seconds + seconds, md_steps + int(command.split()[1])
            elif in_inherent_structure:
                inherent_structure_seconds += seconds  # CG at fixed box and every cell round
        glass = md.current_atoms(lmp, list(potential.elements))
    return n_atoms * md_steps / md_seconds, n_atoms / inherent_structure_seconds, glass


def measure_soap(config, atoms):
    soap = descriptors.make_soap(**config["soap"])
    started = time.perf_counter()
    descriptors.soap_vectors(atoms, soap)
    return len(atoms) / (time.perf_counter() - started)


def measure_gemm(n_features, n_ules, batch=4096, repeats=3):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((batch, n_features), dtype=np.float32)
    b = rng.standard_normal((n_ules, n_features), dtype=np.float32)
    a @ b.T
    started = time.perf_counter()
    for _ in range(repeats):
        a @ b.T
    return repeats * 2.0 * batch * n_features * n_ules / (time.perf_counter() - started)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", nargs="*", default=["config/paper.yaml"], help="profile files over config/config.yaml")
    parser.add_argument("--probe-atoms", type=int, default=2000)
    parser.add_argument("--probe-steps", type=int, default=2000)
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    config = merged_config(args.config)
    config_module.validate(config)
    md_rate, min_rate, glass = measure_md_and_minimisation(config, args.probe_atoms, args.probe_steps)
    rates = {"md_atom_steps_per_s": md_rate, "minimised_atoms_per_s": min_rate,
             "soap_atoms_per_s": measure_soap(config, glass),
             "gemm_flops_per_s": measure_gemm(planning.soap_length(config["soap"]), config["ules"]["target_size"] or 5000)}
    work, core_hours, disk = planning.projection(config, rates)
    print(f"profile {' + '.join(args.config)}: {work.n_trajectories} thermal trajectories, samples {work.n_samples}, "
          f"{work.shear_samples} sheared samples, {sum(work.environments.values()):.3g} environments x "
          f"{work.n_features} features")
    print("measured per-unit costs (one core): " + ", ".join(
        f"{name} = {value:.3g}" for name, value in rates.items()))
    print(f"{'stage':34s} {'core-hours':>12s}")
    for name, hours in core_hours.items():
        print(f"{name:34s} {hours:12.1f}")
    print(f"{'total':34s} {sum(core_hours.values()):12.1f}")
    print(f"{'disk':34s} {'GB':>12s}")
    for name, gigabytes in disk.items():
        print(f"{name:34s} {gigabytes:12.1f}")


if __name__ == "__main__":
    main()
