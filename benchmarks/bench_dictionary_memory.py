"""Benchmark: peak memory of the streaming dictionary build from Parquet files
(build_dictionary_from_files) at 1x and --scale x the number of samples.
Target: peak memory grows by <= 10 % from 1x to 10x.

Each sample file holds the SOAP vectors of one of a few random CuZr-like base structures with
small Gaussian noise (renormalised), so environments recur with variations as in a glass and
the dictionary size settles; the build then meets --scale times more environments with a
dictionary of about the same size, which is what this measures.  Each build runs in its own
subprocess; it reports its peak RSS, its peak RSS after imports, and the
tracemalloc peak (numpy arrays; Arrow buffers are not traced) during the build.  Peak RSS is
the kernel's high-water mark of the process's own memory (VmHWM in /proc/self/status):
``resource``'s ru_maxrss would also count the parent's memory at fork time.

    PYTHONPATH=src python benchmarks/bench_dictionary_memory.py [--samples 10 --scale 10]
"""

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench_soap import machine_note, random_structures
from mgbarcode import descriptors
from mgbarcode.config import merged_config

TARGET_GROWTH = 0.10


def write_samples(folder, n_samples, base_structures, base_vectors, noise, seed):
    """``n_samples`` SOAP files, sample i a noisy copy of base structure i mod n_bases."""
    rng = np.random.default_rng(seed)
    paths = []
    for number in range(n_samples):
        base = number % len(base_structures)
        noisy = base_vectors[base] + rng.normal(scale=noise, size=base_vectors[base].shape).astype(np.float32)
        noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
        path = folder / f"sample-{number:05d}.parquet"
        descriptors.write_soap_parquet(path, path.stem, base_structures[base], noisy,
                                       np.ones(len(noisy), np.float32), provenance={})
        paths.append(path)
    return paths


def measure(paths, threshold, batch_size):
    """Run one streaming build in a fresh interpreter; returns its report (dict)."""
    command = [sys.executable, __file__, "--worker", json.dumps(
        {"paths": [str(p) for p in paths], "threshold": threshold, "batch_size": batch_size})]
    completed = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(completed.stdout.strip().splitlines()[-1])


def peak_rss_MB():
    """High-water mark of this process's resident memory (MB); Linux, else ru_maxrss."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker(spec):
    import tracemalloc

    from mgbarcode.ules import leader_dictionary

    rss_after_imports = peak_rss_MB()
    tracemalloc.start()
    tick = time.perf_counter()
    dictionary = leader_dictionary.build_dictionary_from_files(spec["paths"], spec["threshold"], spec["batch_size"])
    seconds = time.perf_counter() - tick
    traced_peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    print(json.dumps({"n_ules": len(dictionary), "n_environments": dictionary.n_environments,
                      "seconds": seconds, "rss_after_imports_MB": rss_after_imports,
                      "peak_rss_MB": peak_rss_MB(),
                      "tracemalloc_peak_MB": traced_peak}))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=20,
                        help="sample files at 1x (default 20: enough batches that 1x already reaches the "
                             "steady state of a full batch meeting a full dictionary)")
    parser.add_argument("--scale", type=int, default=10, help="the large run has scale x samples (default 10)")
    parser.add_argument("--n-atoms", type=int, default=1000, help="atoms per sample (default 1000)")
    parser.add_argument("--n-bases", type=int, default=3, help="base structures (default 3)")
    parser.add_argument("--noise", type=float, default=0.002,
                        help="std of the noise added to each SOAP component before renormalising (default 0.002)")
    parser.add_argument("--threshold", type=float, default=0.9, help="similarity threshold (default 0.9)")
    parser.add_argument("--batch-size", type=int, default=None, help="default: config ules.batch_size")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--config", nargs="*", default=[], help="profile files over config/config.yaml")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(json.loads(args.worker))
    config = merged_config(args.config)
    batch_size = args.batch_size or config["ules"]["batch_size"]
    soap = descriptors.make_soap(**config["soap"])
    bases = random_structures(args.n_bases, args.n_atoms, config, args.seed)
    base_vectors = [descriptors.soap_vectors(atoms, soap)[0] for atoms in bases]
    with tempfile.TemporaryDirectory(prefix="bench_dictionary_memory_") as tmp:
        paths = write_samples(Path(tmp), args.samples * args.scale, bases, base_vectors, args.noise, args.seed)
        disk_MB = sum(path.stat().st_size for path in paths) / 1e6
        small = measure(paths[:args.samples], args.threshold, batch_size)
        large = measure(paths, args.threshold, batch_size)
    print(f"bench_dictionary_memory: threshold {args.threshold}, batch {batch_size}, {args.n_atoms} atoms per "
          f"sample, {soap.get_number_of_features()} features ({machine_note()})")
    for label, run, n_samples in (("1x", small, args.samples), (f"{args.scale}x", large, args.samples * args.scale)):
        added = run["peak_rss_MB"] - run["rss_after_imports_MB"]
        print(f"  {label:>4}: {n_samples:5d} samples, {run['n_environments']:8d} environments, "
              f"{run['n_ules']:5d} ULEs, {run['seconds']:6.1f} s; peak RSS {run['peak_rss_MB']:7.1f} MB "
              f"(after imports {run['rss_after_imports_MB']:.1f} MB, build adds {added:.1f} MB); "
              f"tracemalloc peak {run['tracemalloc_peak_MB']:.1f} MB")
    print(f"  data on disk at {args.scale}x: {disk_MB:.0f} MB "
          f"(all environments as float32: {large['n_environments'] * soap.get_number_of_features() * 4 / 1e6:.0f} MB)")
    growth = large["peak_rss_MB"] / small["peak_rss_MB"] - 1
    build_growth = ((large["peak_rss_MB"] - large["rss_after_imports_MB"])
                    / (small["peak_rss_MB"] - small["rss_after_imports_MB"]) - 1)
    traced_growth = large["tracemalloc_peak_MB"] / small["tracemalloc_peak_MB"] - 1
    print(f"  growth {args.scale}x vs 1x: peak RSS {100 * growth:+.1f} %, memory added by the build "
          f"{100 * build_growth:+.1f} %, tracemalloc peak {100 * traced_growth:+.1f} %   target <= "
          f"{100 * TARGET_GROWTH:.0f} % (peak RSS)   {'MET' if growth <= TARGET_GROWTH else 'NOT MET'}")


if __name__ == "__main__":
    main()
