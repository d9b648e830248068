"""Benchmark: the batched leader dictionary (LeaderDictionary) against the plain
one-environment-at-a-time loop (build_dictionary_reference) on the same environments.
Target: batched >= 50x faster; the two dictionaries must be identical (asserted).

Environments: real SOAP (config) of random CuZr-like structures, in structure order.  The
speed-up grows with the number of environments (the dictionary saturates, most environments
match one of the few most popular ULEs, while the plain loop scans every ULE), so the default
is 100000 (measured here, one BLAS thread: 35x at 50000, 53x at 100000); the workflow's
builds are far larger (the paper: 2e7 environments).

    PYTHONPATH=src python benchmarks/bench_dictionary.py [--n-environments 100000 --threshold 0.875]
"""

import argparse
import time

import numpy as np

from bench_soap import add_environment_options, environment_setup, machine_note, soap_environments
from mgbarcode import ules

TARGET_SPEEDUP = 50.0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-environments", type=int, default=100000, help="default 100000 (at least 50000)")
    parser.add_argument("--threshold", type=float, default=0.875,
                        help="similarity threshold (default 0.875: ~1100 ULEs from 100000 random-structure "
                             "environments)")
    add_environment_options(parser, seed=1)
    args = parser.parse_args()
    config, threads_note, batch_size = environment_setup(args, "ule_dictionary")

    tick = time.perf_counter()
    vectors, _ = soap_environments(args.n_environments, args.atoms_per_structure, config, args.seed)
    setup_s = time.perf_counter() - tick

    tick = time.perf_counter()
    batched = ules.LeaderDictionary(args.threshold, vectors.shape[1], batch_size)
    batched_leaders = batched.add(vectors)
    batched_s = time.perf_counter() - tick

    tick = time.perf_counter()
    reference_leaders = ules.build_dictionary_reference(vectors, args.threshold)
    reference_s = time.perf_counter() - tick

    assert np.array_equal(batched_leaders, reference_leaders), "batched dictionary differs from the reference"
    assert np.array_equal(batched.unit_vectors, vectors[reference_leaders])
    n = len(vectors)
    print(f"bench_dictionary: {n} environments x {vectors.shape[1]} features, threshold {args.threshold}, "
          f"batch {batch_size} ({machine_note()}, {threads_note}; set-up {setup_s:.0f} s)")
    print(f"  plain loop (reference): {reference_s:8.2f} s  {n / reference_s:9.0f} environments/s")
    print(f"  LeaderDictionary:       {batched_s:8.2f} s  {n / batched_s:9.0f} environments/s")
    print(f"  identical dictionaries: yes ({len(reference_leaders)} ULEs)")
    speedup = reference_s / batched_s
    print(f"  speed-up batched/plain: {speedup:.1f}x   target >= {TARGET_SPEEDUP:.0f}x   "
          f"{'MET' if speedup >= TARGET_SPEEDUP else 'NOT MET'}")


if __name__ == "__main__":
    main()
