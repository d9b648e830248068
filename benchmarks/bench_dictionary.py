"""Benchmark: the batched leader dictionary (LeaderDictionary) against the plain
one-environment-at-a-time loop (build_dictionary_reference) on the same environments.
Target: batched >= 50x faster on >= 50000 environments; the two dictionaries must be
identical (asserted).

Environments: real SOAP (config) of random CuZr-like structures, in structure order, with
their centre species (the batched build meets each species' ULEs first).  The speed-up grows
with the number of environments: the dictionary saturates and most environments match one
of the popular ULEs of their species, while the plain loop scans every ULE.  So the
benchmark runs at several sizes (prefixes of one stream, whose dictionaries are prefixes of
each other) and prints the speed-up at each; the workflow's builds are far larger (the
paper: 2e7 environments).

    PYTHONPATH=src python benchmarks/bench_dictionary.py [--n-environments 50000 100000 200000]
"""

import argparse
import time

import numpy as np

from bench_soap import add_environment_options, environment_setup, machine_note, soap_environments
from mgbarcode.ules import leader_dictionary

TARGET_SPEEDUP = 50.0


def timed(function, *args, **kwargs):
    tick = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - tick


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-environments", type=int, nargs="+", default=[50000, 100000, 200000],
                        help="sizes to compare at (default 50000 100000 200000; the reference loop takes "
                             "~2.5 min at 200000 here)")
    parser.add_argument("--threshold", type=float, default=0.875,
                        help="similarity threshold (default 0.875: ~900 ULEs from 50000 random-structure "
                             "environments, ~1400 from 200000)")
    add_environment_options(parser, seed=1)
    args = parser.parse_args()
    config, threads_note, batch_size = environment_setup(args, "ule_dictionary")
    sizes = sorted(set(args.n_environments))

    (vectors, species), setup_s = timed(soap_environments, sizes[-1], args.atoms_per_structure, config, args.seed)
    print(f"bench_dictionary: {vectors.shape[1]} features, threshold {args.threshold}, batch {batch_size} "
          f"({machine_note()}, {threads_note}; set-up {setup_s:.0f} s)")
    print(f"  {'environments':>12} {'ULEs':>6} {'plain loop s':>13} {'batched s':>10} {'env/s batched':>14} "
          f"{'speed-up':>9}")
    for n in sizes:
        batched = leader_dictionary.LeaderDictionary(args.threshold, vectors.shape[1], batch_size)
        batched_leaders, batched_s = timed(batched.add, vectors[:n], species=species[:n])
        reference_leaders, reference_s = timed(leader_dictionary.build_dictionary_reference, vectors[:n],
                                               args.threshold)
        assert np.array_equal(batched_leaders, reference_leaders), f"{n}: batched dictionary differs"
        assert np.array_equal(batched.unit_vectors, vectors[reference_leaders])
        speedup = reference_s / batched_s
        verdict = "MET" if n >= 50000 and speedup >= TARGET_SPEEDUP else "not met"
        print(f"  {n:12d} {len(reference_leaders):6d} {reference_s:13.2f} {batched_s:10.3f} {n / batched_s:14.0f} "
              f"{speedup:8.1f}x  target >= {TARGET_SPEEDUP:.0f}x at >= 50000: {verdict}", flush=True)
    print("  dictionaries identical to the plain loop at every size: yes")


if __name__ == "__main__":
    main()
