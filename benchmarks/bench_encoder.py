"""Benchmark: the encoder (nearest ULE of every environment) against a plain float32 GEMM of
the same shape (n_environments x n_features times n_features x n_ules), in one run: the GEMM,
the plain encoder (``nearest_ule(prune=False)``: that GEMM, then the exact argmax and matched
flag) and the pruned one (``nearest_ule()``: head-feature bounds, full dots only for the ULEs
they leave in the running; same assignments, asserted).  Target: pruned encoder
environments/s >= 2 x GEMM-only rate.

The dictionary is a real leader dictionary: the first --n-ules leaders of random CuZr-like
environments (SOAP from the config) at --threshold (a prefix of a leader dictionary is the
dictionary of a prefix of the stream); the encoded environments come from other structures.

    PYTHONPATH=src python benchmarks/bench_encoder.py [--n-ules 5000 --n-environments 20000]
"""

import argparse
import time

import numpy as np

from bench_soap import add_environment_options, environment_setup, machine_note, soap_environments
from mgbarcode import descriptors
from mgbarcode.ules import encoding, exact_bounds, leader_dictionary

TARGET_RATIO = 2.0


def first_ules(n_ules, threshold, atoms_per_structure, config, seed):
    """The first ``n_ules`` ULEs of random environments, structure by structure."""
    soap = descriptors.make_soap(**config["soap"])
    dictionary = leader_dictionary.LeaderDictionary(threshold, soap.get_number_of_features(),
                                                    config["ules"]["batch_size"])
    structure_seed = seed
    while len(dictionary) < n_ules:
        vectors, species = soap_environments(atoms_per_structure, atoms_per_structure, config, structure_seed)
        dictionary.add(vectors, species)
        structure_seed += 1
    return dictionary.unit_vectors[:n_ules].copy(), dictionary.n_environments


def gemm_only(vectors, dictionary_vectors, batch_size):
    """Seconds for the float32 products alone, batch by batch into one reused buffer."""
    scratch = np.empty((batch_size, len(dictionary_vectors)), dtype=np.float32)
    tick = time.perf_counter()
    for start in range(0, len(vectors), batch_size):
        batch = vectors[start:start + batch_size]
        np.matmul(batch, dictionary_vectors.T, out=scratch[:len(batch)])
    return time.perf_counter() - tick


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-ules", type=int, default=5000, help="dictionary size (default 5000)")
    parser.add_argument("--n-environments", type=int, default=20000, help="environments to encode (default 20000)")
    parser.add_argument("--threshold", type=float, default=0.92,
                        help="similarity threshold of the dictionary and the encoding (default 0.92)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each side; the best counts (default 3)")
    add_environment_options(parser, seed=1000)
    args = parser.parse_args()
    config, threads_note, batch_size = environment_setup(args, "ule_encoding")

    tick = time.perf_counter()
    dictionary_vectors, pool = first_ules(args.n_ules, args.threshold, args.atoms_per_structure,
                                                 config, args.seed)
    vectors, _ = soap_environments(args.n_environments, args.atoms_per_structure, config, args.seed + 10_000)
    setup_s = time.perf_counter() - tick

    gemm_s, plain_s, encode_s = [], [], []
    for _ in range(args.repeats):  # interleaved, so all sides see the same machine load
        gemm_s.append(gemm_only(vectors, dictionary_vectors, batch_size))
        tick = time.perf_counter()
        plain = encoding.nearest_ule(vectors, dictionary_vectors, args.threshold, batch_size, prune=False)
        plain_s.append(time.perf_counter() - tick)
        tick = time.perf_counter()
        index, similarity, matched = encoding.nearest_ule(vectors, dictionary_vectors, args.threshold, batch_size)
        encode_s.append(time.perf_counter() - tick)
    same = np.array_equal(index, plain[0]) and np.array_equal(matched, plain[2])
    if not same:
        raise SystemExit("bench_encoder: the pruned encoder's assignments differ from the plain one's")

    # How many rows needed a re-check (near-tie of the best ULE, or best dot near the cut).
    error = exact_bounds.dot_error_bound(vectors.shape[1], exact_bounds.FLOAT32_UNIT_ROUNDOFF)
    dots = vectors[:batch_size] @ dictionary_vectors.T
    search = encoding._NearestSearch(dictionary_vectors, args.threshold)
    sample, squared_norms = exact_bounds.checked_unit_vectors_and_squared_norms(vectors[:batch_size])
    found = search._candidates(search.bound.project(sample, squared_norms), None)  # None: GEMM fallback
    candidates = np.isfinite(found[1]).sum(axis=1) if found is not None else np.full(len(sample), len(search))
    top2 = np.partition(dots, -2, axis=1)[:, -2:]
    near_tie = (top2[:, 1] - top2[:, 0] <= 3 * error).mean()
    near_cut = (np.abs(top2[:, 1].astype(np.float64) - exact_bounds.min_dot_for_threshold(args.threshold))
                <= 2 * error).mean()

    n, d, f = len(vectors), len(dictionary_vectors), vectors.shape[1]
    gflop = 2.0 * n * d * f / 1e9
    gemm_rate, plain_rate, encode_rate = n / min(gemm_s), n / min(plain_s), n / min(encode_s)
    print(f"bench_encoder: {n} environments x {d} ULEs x {f} features, batch {batch_size}, threshold "
          f"{args.threshold} ({machine_note()}, {threads_note}; set-up {setup_s:.0f} s, dictionary "
          f"from {pool} environments)")
    print(f"  float32 GEMM only:  {min(gemm_s):6.2f} s  {gemm_rate:9.0f} environments/s  "
          f"{gflop / min(gemm_s):6.1f} GFLOP/s  (runs: {', '.join(f'{s:.2f}' for s in gemm_s)})")
    for name, seconds, rate in (("plain encoder:", plain_s, plain_rate), ("pruned encoder:", encode_s, encode_rate)):
        print(f"  {name:18s}  {min(seconds):6.2f} s  {rate:9.0f} environments/s  "
              f"{gflop / min(seconds):6.1f} GFLOP/s-equivalent  (runs: {', '.join(f'{s:.2f}' for s in seconds)})")
    print(f"  per environment: {1e3 * min(encode_s) / n:.3f} ms (METHOD §5 bound at 140 GFLOP/s: "
          f"{1e3 * 2 * d * f / 140e9:.3f} ms); matched {matched.mean():.3f}, mean similarity "
          f"{similarity.mean():.3f}; plain encoder's re-checked rows: near-tie {near_tie:.3f}, near-threshold "
          f"{near_cut:.3f}; pruned encoder: {exact_bounds.HEAD_FEATURES} head features, full dots for "
          f"{candidates.mean():.2f} ULEs per environment (max {candidates.max()}) of the first batch")
    print(f"  assignments (ULE, matched) of plain and pruned encoders identical: {same}")
    print(f"  ratio plain encoder/GEMM: {plain_rate / gemm_rate:.3f};  pruned/plain: {encode_rate / plain_rate:.3f}")
    print(f"  ratio pruned encoder/GEMM: {encode_rate / gemm_rate:.3f}   target >= {TARGET_RATIO}   "
          f"{'MET' if encode_rate / gemm_rate >= TARGET_RATIO else 'NOT MET'}")


if __name__ == "__main__":
    main()
