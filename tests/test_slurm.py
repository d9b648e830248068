"""The workflow under a real single-node SLURM (``tests/slurm_cluster.py``) through the
``slurm`` executor and ``profiles/slurm``.

Needs root and the Debian packages that ``tools/install_slurm.sh`` installs; skips
(naming what is missing) otherwise.  Run with ``pytest -m slurm``.

* ``test_toy_workflow_runs_as_slurm_jobs``: a three-rule toy workflow in a temp dir
  (no LAMMPS); proves that every job ran as a SLURM job, that group bundling works, and
  that the results equal a local run's.
* ``test_workflow_slurm_matches_local``: the repository's workflow with the tiny profile
  (``tests/data/tiny.yaml``) for ``SLURM_TARGETS``; its Parquet outputs must equal those of
  a local ``--cores 2`` run.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from slurm_cluster import ClusterUnavailable, SlurmCluster, start_cluster  # noqa: E402

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[1]
PROFILE = REPO / "profiles" / "slurm"
TINY_CONFIG = REPO / "tests" / "data" / "tiny.yaml"

#: Targets of the real-workflow test, as paths under the workflow's ``results_dir``
#: (a leading ``results/`` is accepted and replaced by the test's results dir).
SLURM_TARGETS = ["results/samples.parquet"]

#: Seconds before the executor's first status check (the plugin's default is 40).
INIT_STATUS_WAIT_S = 2
#: Upper bounds on one Snakemake run; a run that takes longer fails the test.
TOY_TIMEOUT_S = 300
WORKFLOW_TIMEOUT_S = 1200


# ----------------------------------------------------------------------------- helpers
def _snakemake() -> list[str]:
    return [sys.executable, "-m", "snakemake"]


def slurm_args(logdir: Path, cores: int) -> list[str]:
    """Command-line options of a SLURM run on the test cluster (besides targets/config).

    The cluster has no accounting, so job status comes from ``squeue`` (its MinJobAge is
    300 s, over 3 x INIT_STATUS_WAIT_S).  ``--cores`` caps each (group) job at the node's
    CPUs; SLURM logs are kept under ``logdir`` so the test can read the job ids.
    """
    return [
        "--profile", str(PROFILE),
        "--slurm-status-command", "squeue",
        "--slurm-init-seconds-before-status-checks", str(INIT_STATUS_WAIT_S),
        "--slurm-logdir", str(logdir),
        "--slurm-keep-successful-logs",
        "--cores", str(cores),
        "--retries", "0",
    ]


def _env(cluster: SlurmCluster | None) -> dict[str, str]:
    """Environment for Snakemake: no inherited SLURM job context or user account."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "SBATCH_", "SRUN_"))}
    env.pop("MGBARCODE_SLURM_ACCOUNT", None)  # the test cluster has no accounts
    if cluster is not None:
        env["MGBARCODE_SLURM_PARTITION"] = cluster.partition
    return env


def run_snakemake(args: list[str], cwd: Path, log: Path, timeout: float, cluster: SlurmCluster | None = None):
    """Run Snakemake, keep its output in ``log``, fail with its tail on error."""
    cmd = _snakemake() + args
    with open(log, "w") as fh:
        fh.write("$ " + " ".join(cmd) + "\n")
        fh.flush()
        try:
            res = subprocess.run(cmd, cwd=cwd, env=_env(cluster), stdout=fh, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"snakemake did not finish in {timeout} s\n{_tail(log)}"
                        + (f"\n{cluster.log_tail()}" if cluster else ""))
    if res.returncode != 0:
        pytest.fail(f"snakemake exited {res.returncode}\n{_tail(log)}"
                    + (f"\n{cluster.log_tail()}" if cluster else ""))
    return log.read_text()


def _tail(path: Path, n: int = 60) -> str:
    lines = path.read_text(errors="replace").splitlines()
    return f"--- {path} (last {min(n, len(lines))} lines)\n" + "\n".join(lines[-n:])


def slurm_log_job_ids(logdir: Path) -> dict[int, Path]:
    """Job ids named by the executor's per-job log files (``<logdir>/<rule or group>/.../<id>.log``)."""
    return {int(p.stem): p for p in logdir.rglob("*.log") if re.fullmatch(r"\d+", p.stem)}


def assert_ran_as_slurm_jobs(cluster: SlurmCluster, logdir: Path, snakemake_output: str) -> set[int]:
    """Every job the executor logged was allocated and completed by the test cluster."""
    assert "SLURM run ID" in snakemake_output, "Snakemake did not use the slurm executor"
    ids = set(slurm_log_job_ids(logdir))
    assert ids, f"no SLURM job logs under {logdir}"
    started = cluster.started_job_ids()
    assert ids <= started, f"jobs {sorted(ids - started)} not in the controller log {cluster.ctld_log}"
    finished = cluster.finished_jobs()
    states = {i: finished.get(i, {}).get("JobState") for i in ids}
    assert all(s == "COMPLETED" for s in states.values()), f"SLURM job states: {states}"
    queue = cluster.run("squeue", "--noheader", "--states=PENDING,RUNNING,COMPLETING", "-o", "%i").stdout
    assert not queue.strip(), f"jobs still queued after the run: {queue}"
    return ids


@pytest.fixture(scope="module")
def slurm_cluster():
    """A running single-node SLURM for the module's tests; skips when the machine cannot run one."""
    if importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        pytest.skip("snakemake-executor-plugin-slurm is not installed in this Python")
    try:
        cluster = start_cluster()
    except ClusterUnavailable as exc:
        pytest.skip(f"no test SLURM cluster: {exc.reason}")
    print(f"\ntest SLURM cluster up in {cluster.startup_seconds:.2f} s "
          f"(node {cluster.node}: {cluster.cpus} CPUs, {cluster.mem_mb} MB)")
    try:
        yield cluster
    finally:
        cluster.stop()
        left = cluster.own_pids()
        assert not left, f"processes of the test cluster still running: {left}"


# ----------------------------------------------------------------------------- toy workflow
TOY_SAMPLES = ["a", "b", "c", "d"]
TOY_GROUP_COMPONENTS = 2

TOY_SNAKEFILE = textwrap.dedent(
    '''
    SAMPLES = config["samples"]

    rule all:
        input: "out/summary.txt"

    # Many small per-sample jobs, bundled by --group-components toy=N.
    rule make:
        output: "out/{s}.txt"
        group: "toy"
        threads: 1
        resources: mem_mb=100, runtime=5
        shell:
            'printf "sample={wildcards.s}\\\\nslurm_job=%s\\\\n" "${{SLURM_JOB_ID:-none}}" > {output}'

    rule square:
        input: "out/{s}.txt"
        output: "out/{s}.sq"
        group: "toy"
        threads: 1
        resources: mem_mb=100, runtime=5
        params: n=lambda wildcards: ord(wildcards.s) - ord("a") + 1
        shell:
            'printf "square=%d\\nslurm_job=%s\\n" $(({params.n} * {params.n})) "${{SLURM_JOB_ID:-none}}" > {output}'

    rule summary:
        input: expand("out/{s}.sq", s=SAMPLES), expand("out/{s}.txt", s=SAMPLES)
        output: "out/summary.txt"
        threads: 1
        resources: mem_mb=100, runtime=5
        shell:
            'cat {input} | grep -v slurm_job > {output}; echo "slurm_job=${{SLURM_JOB_ID:-none}}" >> {output}'
    '''
)


def _write_toy(root: Path) -> None:
    root.mkdir(parents=True)
    (root / "Snakefile").write_text(TOY_SNAKEFILE)
    (root / "config.yaml").write_text("samples: [" + ", ".join(TOY_SAMPLES) + "]\n")


def _job_of(path: Path) -> str:
    m = re.search(r"^slurm_job=(\S+)$", path.read_text(), re.M)
    assert m, f"{path} has no slurm_job line"
    return m.group(1)


def _without_job_lines(path: Path) -> str:
    return "".join(line for line in path.read_text().splitlines(True) if not line.startswith("slurm_job="))


def test_toy_workflow_runs_as_slurm_jobs(slurm_cluster, tmp_path):
    cluster = slurm_cluster
    cores = min(2, cluster.cpus)
    toy, local = tmp_path / "toy_slurm", tmp_path / "toy_local"
    _write_toy(toy)
    _write_toy(local)
    logdir = tmp_path / "slurm_logs"
    common = ["--configfile", "config.yaml", "--group-components", f"toy={TOY_GROUP_COMPONENTS}"]

    out = run_snakemake(slurm_args(logdir, cores) + common, cwd=toy,
                        log=tmp_path / "toy_slurm.log", timeout=TOY_TIMEOUT_S, cluster=cluster)
    ids = assert_ran_as_slurm_jobs(cluster, logdir, out)

    # Every output was written inside a SLURM job that the executor logged.
    outputs = sorted((toy / "out").iterdir())
    jobs = {p.name: _job_of(p) for p in outputs}
    assert all(j.isdigit() for j in jobs.values()), jobs
    jobs = {name: int(j) for name, j in jobs.items()}
    # Grouping: a sample's two jobs share one SLURM job, TOY_GROUP_COMPONENTS samples per
    # SLURM job; the summary is a job of its own.
    for s in TOY_SAMPLES:
        assert jobs[f"{s}.txt"] == jobs[f"{s}.sq"], jobs
    group_jobs = {jobs[f"{s}.txt"] for s in TOY_SAMPLES}
    assert len(group_jobs) == -(-len(TOY_SAMPLES) // TOY_GROUP_COMPONENTS), jobs
    assert jobs["summary.txt"] not in group_jobs
    assert ids == group_jobs | {jobs["summary.txt"]}
    group_logs = [p for i, p in slurm_log_job_ids(logdir).items() if i in group_jobs]
    assert group_logs and all(p.parent.name.startswith("group_toy") for p in group_logs), group_logs

    # Same results as a local run.
    run_snakemake(["--cores", str(cores)] + common, cwd=local, log=tmp_path / "toy_local.log",
                  timeout=TOY_TIMEOUT_S)
    assert sorted(p.name for p in (local / "out").iterdir()) == [p.name for p in outputs]
    for p in outputs:
        assert _job_of(local / "out" / p.name) == "none"
        assert _without_job_lines(p) == _without_job_lines(local / "out" / p.name), p.name


# ----------------------------------------------------------------------------- real workflow
def _targets(results_dir: Path) -> list[str]:
    out = []
    for t in SLURM_TARGETS:
        rel = t[len("results/"):] if t.startswith("results/") else t
        out.append(str(results_dir / rel))
    return out


def _parquet_tables(root: Path):
    import pandas as pd

    tables = {}
    for p in sorted(root.rglob("*.parquet")):
        df = pd.read_parquet(p)
        text = str(root)
        for col in df.columns:
            if df[col].dtype == object or pd.api.types.is_string_dtype(df[col].dtype):
                df[col] = df[col].map(lambda v: v.replace(text, "<results_dir>") if isinstance(v, str) else v)
        tables[str(p.relative_to(root))] = df
    return tables


def test_workflow_slurm_matches_local(slurm_cluster, tmp_path, tiny_results):
    """The tiny profile through SLURM gives the same Parquet outputs as the local run that
    the other end-to-end tests share (``tiny_results``)."""
    import pandas as pd

    cluster = slurm_cluster
    cores = min(2, cluster.cpus)
    slurm_results = tmp_path / "slurm_results"
    logdir = tmp_path / "slurm_logs"
    config_args = ["--configfile", str(TINY_CONFIG), "--config", f"results_dir={slurm_results}", "--"]
    out = run_snakemake(slurm_args(logdir, cores) + config_args + _targets(slurm_results),
                        cwd=REPO, log=tmp_path / "workflow_slurm.log", timeout=WORKFLOW_TIMEOUT_S,
                        cluster=cluster)
    assert_ran_as_slurm_jobs(cluster, logdir, out)
    for t in _targets(slurm_results):
        assert Path(t).exists(), f"target {t} not made by the SLURM run"

    got, want = _parquet_tables(slurm_results), _parquet_tables(tiny_results)
    assert got, f"no Parquet output under {slurm_results}"
    for name in got:
        pd.testing.assert_frame_equal(got[name], want[name], check_exact=True, obj=name)
