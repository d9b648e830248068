"""Per-job overhead of the SOAP stage of a finished run: each ``soap_descriptors`` job's wall
time (Snakemake's benchmark file) against the time it spent describing and writing structures
(the job log's "SOAP done" line).  The rest is start-up: the interpreter, Snakemake's script
preamble and imports (DScribe pulls in scikit-learn).  Target: per-job overhead <= 10 % of
the stage's time.  Printed two ways: the overhead summed over jobs against the summed job
time (the share of the stage's CPU that is start-up), and the largest per-job overhead against
the stage's wall time (first SOAP job's start to the last one's end, from the benchmark files'
times: what a user waits for).

    python benchmarks/soap_job_overhead.py [results]
"""

import argparse
import re
from pathlib import Path

import pandas as pd

from mgbarcode import results_layout as layout

TARGET_SHARE = 0.10
SOAP_DONE = re.compile(r"SOAP done: (\d+) atoms in ([0-9.]+) s")


def soap_jobs(results_dir):
    """One row per SOAP job of ``results_dir``: batch, atoms, wall_s, soap_s, overhead_s."""
    rows = []
    for benchmark in sorted(Path(results_dir).glob(layout.benchmark_file("soap_descriptors", "*"))):
        batch = benchmark.stem
        log_text = (Path(results_dir) / layout.log_file("soap_descriptors", batch)).read_text()
        done = SOAP_DONE.findall(log_text)
        if not done:
            raise SystemExit(f"{batch}: no 'SOAP done' line in its log; did the job finish?")
        atoms, soap_s = int(done[-1][0]), float(done[-1][1])
        wall_s = float(pd.read_csv(benchmark, sep="\t")["s"].iloc[-1])
        end = benchmark.stat().st_mtime  # Snakemake writes the benchmark file as the job ends
        rows.append({"batch": batch, "atoms": atoms, "wall_s": wall_s, "soap_s": soap_s,
                     "overhead_s": wall_s - soap_s, "start": end - wall_s, "end": end})
    if not rows:
        raise SystemExit(f"{results_dir}: no SOAP job benchmarks under benchmarks/soap_descriptors/")
    return pd.DataFrame(rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", nargs="?", default="results", help="results folder of a finished run")
    args = parser.parse_args()
    jobs = soap_jobs(args.results)
    print(jobs.drop(columns=["start", "end"]).to_string(index=False, float_format=lambda x: f"{x:.2f}"))
    summed_share = jobs["overhead_s"].sum() / jobs["wall_s"].sum()
    stage_wall_s = jobs["end"].max() - jobs["start"].min()
    wall_share = jobs["overhead_s"].max() / stage_wall_s
    print(f"{len(jobs)} SOAP jobs: {jobs['wall_s'].sum():.1f} s of job time, {jobs['overhead_s'].sum():.1f} s "
          f"outside SOAP (mean {jobs['overhead_s'].mean():.1f} s, max {jobs['overhead_s'].max():.1f} s per job); "
          f"the stage took {stage_wall_s:.1f} s of wall time")
    for name, share in (("summed over jobs / summed job time", summed_share),
                        ("largest per-job overhead / stage wall time", wall_share)):
        print(f"overhead share, {name}: {share:.3f} (target <= {TARGET_SHARE}): "
              f"{'met' if share <= TARGET_SHARE else 'NOT met'}")


if __name__ == "__main__":
    main()
