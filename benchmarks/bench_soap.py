"""Benchmark: soap_for_structures (read XYZ, SOAP, normalise, write Parquet) against bare
DScribe ``create()`` on the same structures.  Target: our atoms/s >= 0.9 x DScribe's.

Also holds the synthetic-data helpers the other benchmarks import (random CuZr-like
structures through real SOAP), so every benchmark uses the same kind of environments.

    PYTHONPATH=src python benchmarks/bench_soap.py [--n-structures 6 --n-atoms 2000]
"""

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from mgbarcode import config as config_module
from mgbarcode import descriptors
from mgbarcode import results_layout as layout
from mgbarcode.config import merged_config

TARGET_RATIO = 0.9


def random_structures(n_structures, n_atoms, config, seed):
    """Random CuZr-like configurations at the config's composition, number density and
    initial minimum distance (seeds seed, seed+1, ...)."""
    md = config["md"]
    return [descriptors.random_structure(n_atoms, config["alloy"]["composition"],
                                         md["number_density_per_A3"], md["initial_min_distance_A"],
                                         seed=seed + number) for number in range(n_structures)]


def soap_environments(n_environments, atoms_per_structure, config, seed):
    """Unit SOAP vectors (float32 [n_environments, n_features]) and species of real
    environments: random structures through the config's SOAP, until there are enough."""
    soap = descriptors.make_soap(**config["soap"])
    n_structures = -(-n_environments // atoms_per_structure)
    vectors, species = [], []
    for atoms in random_structures(n_structures, atoms_per_structure, config, seed):
        vectors.append(descriptors.soap_vectors(atoms, soap)[0])
        species.extend(atoms.get_chemical_symbols())
    return np.concatenate(vectors)[:n_environments], np.asarray(species[:n_environments], dtype=object)


def machine_note():
    return f"cores: {os.cpu_count()}, load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}"


def add_environment_options(parser, seed):
    """The options shared by the benchmarks on SOAP environments (dictionary, encoder)."""
    parser.add_argument("--batch-size", type=int, default=None, help="default: config ules.batch_size")
    parser.add_argument("--atoms-per-structure", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=seed)
    parser.add_argument("--blas-threads", type=int, default=None,
                        help="BLAS threads (default: the threads config resources give the workflow rule that "
                             "does this work, as Snakemake sets OPENBLAS_NUM_THREADS to them)")
    parser.add_argument("--config", nargs="*", default=[], help="profile files over config/config.yaml")


def environment_setup(args, rule):
    """Config, BLAS-threads note and batch size from :func:`add_environment_options`'s options,
    with BLAS limited as the workflow ``rule`` would have it."""
    config = merged_config(args.config)
    threads_note = limit_blas_threads(args.blas_threads, config, rule)
    return config, threads_note, args.batch_size or config["ules"]["batch_size"]


def limit_blas_threads(n_threads, config, rule):
    """Limit BLAS to ``n_threads``, by default the threads of ``rule`` in config resources
    (its entry over ``default``); returns a note for the printout."""
    from threadpoolctl import threadpool_info, threadpool_limits

    if n_threads is None:
        n_threads = config_module.resources_for(config, rule)["threads"]
    threadpool_limits(limits=n_threads, user_api="blas")
    threads = sorted({pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"})
    return f"BLAS threads: {', '.join(map(str, threads)) or '?'}"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-structures", type=int, default=6, help="structures per run (default 6)")
    parser.add_argument("--n-atoms", type=int, default=2000, help="atoms per structure (default 2000)")
    parser.add_argument("--repeats", type=int, default=2, help="runs of each side; the best counts (default 2)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--config", nargs="*", default=[], help="profile files over config/config.yaml")
    args = parser.parse_args()
    config = merged_config(args.config)
    structures = random_structures(args.n_structures, args.n_atoms, config, args.seed)
    n_atoms_total = sum(len(atoms) for atoms in structures)
    with tempfile.TemporaryDirectory(prefix="bench_soap_") as tmp:
        tmp = Path(tmp)
        structure_paths = []
        for number, atoms in enumerate(structures):
            structure_paths.append(tmp / f"is{number:03d}.xyz")
            atoms.write(structure_paths[-1], format="extxyz")
        sample_ids = [path.stem for path in structure_paths]
        out_paths = [tmp / "soap" / layout.soap_file(sample_id) for sample_id in sample_ids]
        soap = descriptors.make_soap(**config["soap"])
        soap.create(structures[0][:10])  # first-call set-up outside the timings
        bare_s, ours_s, bare_cpu_s, ours_cpu_s = [], [], [], []
        for _ in range(args.repeats):  # interleaved, so both sides see the same machine load
            tick, cpu_tick = time.perf_counter(), time.process_time()
            for atoms in structures:
                soap.create(atoms)
            bare_s.append(time.perf_counter() - tick)
            bare_cpu_s.append(time.process_time() - cpu_tick)
            tick, cpu_tick = time.perf_counter(), time.process_time()
            descriptors.soap_for_structures(structure_paths, sample_ids, out_paths, config["soap"], provenance={})
            ours_s.append(time.perf_counter() - tick)
            ours_cpu_s.append(time.process_time() - cpu_tick)
        megabytes = sum(path.stat().st_size for path in out_paths) / 1e6
    bare_rate, ours_rate = n_atoms_total / min(bare_s), n_atoms_total / min(ours_s)
    print(f"bench_soap: {args.n_structures} structures x {args.n_atoms} atoms, "
          f"{soap.get_number_of_features()} features, {machine_note()}")
    print(f"  bare DScribe create():     {min(bare_s):7.2f} s  {bare_rate:8.0f} atoms/s  (runs: "
          f"{', '.join(f'{s:.2f}' for s in bare_s)})")
    print(f"  soap_for_structures():     {min(ours_s):7.2f} s  {ours_rate:8.0f} atoms/s  (runs: "
          f"{', '.join(f'{s:.2f}' for s in ours_s)}; read XYZ + SOAP + normalise + write "
          f"{megabytes:.0f} MB Parquet)")
    print(f"  CPU time (all threads): bare {min(bare_cpu_s):.2f} s, ours {min(ours_cpu_s):.2f} s "
          f"(ratio {min(bare_cpu_s) / min(ours_cpu_s):.3f}: the wall-time ratio when no core is free for "
          f"the writer thread)")
    print(f"  ratio ours/bare: {ours_rate / bare_rate:.3f}   target >= {TARGET_RATIO}   "
          f"{'MET' if ours_rate / bare_rate >= TARGET_RATIO else 'NOT MET'}")


if __name__ == "__main__":
    main()
