"""Start and stop a throw-away single-node SLURM cluster on this machine, for tests.

Used by ``tests/test_slurm.py`` (as a pytest fixture helper) and runnable by hand::

    python tests/slurm_cluster.py            # start, print facts and start-up time, stop
    python tests/slurm_cluster.py --hold 60  # ... and keep it up 60 s (try sbatch/sinfo)

What :func:`start_cluster` does, from nothing:

* a private ``munged`` (own random key, own socket, own PID file) in a fresh directory,
  so a system munged, if any, is neither needed nor touched;
* ``/etc/slurm/slurm.conf`` for one node (this host, its real CPUs and memory), one
  default partition, ``proctrack/linuxproc`` and ``task/none`` (no cgroups), no
  accounting, spool/state/logs/PID files in that directory.  The file has to be at
  the default path: the SLURM executor plugin's job step clears ``SLURM_*`` variables,
  so ``SLURM_CONF`` would be lost inside jobs.  An existing file is backed up and put
  back by :meth:`SlurmCluster.stop`;
* ``slurmctld`` and ``slurmd`` as daemons, then waits until ``sinfo`` shows the node idle.

The daemons are started by a small reaper process (this file run with ``--_reaper``), a
child subreaper: every process below it (daemons, ``slurmstepd``, job processes) stays its
descendant and is reaped by it, so no zombie is left even where init does not reap.  The
daemons also carry the environment variable ``MGBARCODE_SLURM_HARNESS=<token>``.
:meth:`SlurmCluster.stop` cancels the jobs left, then signals exactly those processes (the
marked ones and the reaper's descendants), by PID: nothing else is ever signalled.  A
record file (``/run/mgbarcode-slurm-harness.json``) lets a later start clean up after a run
that was killed before it could stop its cluster, and refuses to start while another live
harness owns the cluster.

When the machine cannot run the daemons (not root, binaries missing, a port or a
daemon already taken by someone else, a daemon that fails to come up) it raises
:class:`ClusterUnavailable` with a reason naming what failed; tests turn that into
``pytest.skip(reason)``.  ``tools/install_slurm.sh`` installs the Debian packages.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

#: Where SLURM's clients, daemons and the executor plugin's job steps read the configuration.
SLURM_CONF = Path("/etc/slurm/slurm.conf")
#: Record of the running harness instance (owner PID, token, directory, backup).
RECORD = Path("/run/mgbarcode-slurm-harness.json")
#: Environment variable that marks every process the harness started (and their children).
MARKER = "MGBARCODE_SLURM_HARNESS"
#: Default ports of slurmctld and slurmd.
CTLD_PORT = 6817
SLURMD_PORT = 6818
#: Binaries needed, and the Debian package that ships each.
BINARIES = {
    "munged": "munge",
    "munge": "munge",
    "slurmctld": "slurmctld",
    "slurmd": "slurmd",
    "sinfo": "slurm-client",
    "sbatch": "slurm-client",
    "squeue": "slurm-client",
    "scancel": "slurm-client",
    "scontrol": "slurm-client",
    "srun": "slurm-client",
}
_SEARCH_PATH = os.pathsep.join(
    [os.environ.get("PATH", ""), "/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]
)


class ClusterUnavailable(RuntimeError):
    """This machine cannot run the test cluster; ``reason`` says what failed."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class SlurmCluster:
    """A running single-node cluster started by :func:`start_cluster`.

    Attributes are plain facts a test can use: ``node`` and ``partition`` names, the node's
    ``cpus`` and ``mem_mb``, ``min_job_age_s`` (how long finished jobs stay visible to
    ``squeue``), the log files (``ctld_log`` has one ``sched: Allocate JobId=N`` line per job
    started, ``jobcomp_log`` one ``JobId=N ... JobState=...`` line per job finished) and
    ``startup_seconds`` (wall time of :func:`start_cluster`).
    """

    base_dir: Path
    token: str
    node: str
    partition: str
    cpus: int
    mem_mb: int
    min_job_age_s: int
    binaries: dict[str, str]
    ctld_log: Path
    slurmd_log: Path
    jobcomp_log: Path
    munge_log: Path
    startup_seconds: float = 0.0
    remove_dir_on_stop: bool = True
    _conf_backup: Path | None = None
    _reaper: subprocess.Popen | None = field(default=None, repr=False)
    _stopped: bool = field(default=False, repr=False)

    # ----------------------------------------------------------------- queries
    def run(self, *args: str, timeout: float = 30, check: bool = True) -> subprocess.CompletedProcess:
        """Run a SLURM client command (``sinfo``, ``squeue`` ...) and return its result."""
        exe = self.binaries.get(args[0], args[0])
        return subprocess.run(
            [exe, *args[1:]], capture_output=True, text=True, timeout=timeout, check=check
        )

    def started_job_ids(self) -> set[int]:
        """Job ids the controller allocated resources to (from its log)."""
        text = self.ctld_log.read_text(errors="replace") if self.ctld_log.exists() else ""
        # The main scheduler logs "sched: Allocate JobId=N", the backfill scheduler
        # "sched/backfill: _start_job: Started JobId=N".
        return {int(m) for m in re.findall(r"(?:sched: Allocate|_start_job: Started) JobId=(\d+)", text)}

    def finished_jobs(self) -> dict[int, dict[str, str]]:
        """Finished jobs from the job-completion log: ``{job_id: {field: value}}``."""
        jobs: dict[int, dict[str, str]] = {}
        if not self.jobcomp_log.exists():
            return jobs
        for line in self.jobcomp_log.read_text(errors="replace").splitlines():
            fields = dict(re.findall(r"(\w+)=(\S*)", line))
            if "JobId" in fields:
                jobs[int(fields["JobId"])] = fields
        return jobs

    def own_pids(self) -> list[int]:
        """PIDs of the live processes this cluster started (daemons, job steps, jobs)."""
        return _own_processes(self.token, self._reaper.pid if self._reaper is not None else None)

    def log_tail(self, n: int = 30) -> str:
        """Last lines of every daemon log, for error messages."""
        return _log_tails([self.munge_log, self.ctld_log, self.slurmd_log], n)

    # ----------------------------------------------------------------- stop
    def stop(self, timeout: float = 20.0) -> None:
        """Cancel jobs, stop exactly the processes this cluster started, restore the config."""
        if self._stopped:
            return
        self._stopped = True
        try:
            _cancel_all_jobs(self.binaries, timeout=min(timeout, 10.0))
        finally:
            reaper_pid = self._reaper.pid if self._reaper is not None else None
            _terminate(self.token, timeout, reaper=reaper_pid)
            if self._reaper is not None:
                _finish_reaper(self._reaper.pid, self._reaper)
            _restore_conf(self._conf_backup)
            _remove_record(self.token)
            if self.remove_dir_on_stop:
                shutil.rmtree(self.base_dir, ignore_errors=True)

    def __enter__(self) -> "SlurmCluster":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


# --------------------------------------------------------------------- helpers
def _which(name: str) -> str | None:
    return shutil.which(name, path=_SEARCH_PATH)


def _proc_environ(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return b""


def _proc_comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _proc_state(pid: int) -> str:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return ""


def _all_pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def _pids_with_marker(token: str) -> list[int]:
    """Live (non-zombie) processes whose environment carries ``MARKER=token``."""
    needle = f"{MARKER}={token}".encode()
    me = os.getpid()
    return [
        pid
        for pid in _all_pids()
        if pid != me and needle in _proc_environ(pid).split(b"\0") and _proc_state(pid) not in ("Z", "")
    ]


def _foreign_daemons() -> list[str]:
    """slurmctld/slurmd processes running that no harness instance started."""
    found = []
    for pid in _all_pids():
        comm = _proc_comm(pid)
        if comm in ("slurmctld", "slurmd", "slurmdbd") and _proc_state(pid) not in ("Z", ""):
            if f"{MARKER}=".encode() not in _proc_environ(pid):
                found.append(f"{comm} (pid {pid})")
    return found


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("0.0.0.0", port))
        except OSError:
            return True
    return False


def _descendants(root: int) -> list[int]:
    """Live descendants of ``root`` (children, grandchildren ...)."""
    parent_of: dict[int, int] = {}
    for p in _all_pids():
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields and fields[0] != "Z":
            parent_of[p] = int(fields[1])
    found: list[int] = []
    frontier = {root}
    while frontier:
        nxt = {p for p, pp in parent_of.items() if pp in frontier}
        found.extend(sorted(nxt))
        frontier = nxt
    return found


def _own_processes(token: str, reaper: int | None) -> list[int]:
    """Processes a harness instance started: marked ones and everything below its reaper."""
    pids = set(_pids_with_marker(token))
    if reaper is not None and _pid_alive(reaper):
        pids.update(_descendants(reaper))
    pids.discard(reaper)
    pids.discard(os.getpid())
    return sorted(pids)


def _send_signal(pid: int, sig: int) -> None:
    """Signal ``pid``; a process that has already exited is fine."""
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _terminate(token: str, timeout: float, reaper: int | None = None) -> None:
    """SIGTERM every process the instance started (but its reaper), SIGKILL what is left after ``timeout``."""
    for pid in _own_processes(token, reaper):
        _send_signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _own_processes(token, reaper):
            return
        time.sleep(0.1)
    for pid in _own_processes(token, reaper):
        _send_signal(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while _own_processes(token, reaper) and time.monotonic() < deadline:
        time.sleep(0.1)


def _wait_at_most(proc: subprocess.Popen, seconds: float) -> None:
    """Wait for ``proc`` to exit, giving up (silently) after ``seconds``."""
    try:
        proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        pass


def _finish_reaper(pid: int, proc: subprocess.Popen | None) -> None:
    """End the reaper (after :func:`_terminate`): it exits by itself once it has no children."""
    deadline = time.monotonic() + 5
    while _pid_alive(pid) and time.monotonic() < deadline:
        for child in _descendants(pid):
            _send_signal(child, signal.SIGKILL)
        if proc is not None:
            _wait_at_most(proc, 0.2)
        else:
            time.sleep(0.2)
    if _pid_alive(pid):
        _send_signal(pid, signal.SIGKILL)
    if proc is not None:
        _wait_at_most(proc, 5)
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def _cancel_all_jobs(binaries: dict[str, str], timeout: float) -> None:
    """Cancel every job of the (test-only) cluster and wait briefly for them to end."""
    try:
        subprocess.run([binaries["scancel"], "--full", "--user", "root"], capture_output=True, timeout=timeout)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            out = subprocess.run(
                [binaries["squeue"], "--noheader", "--states=PENDING,RUNNING,COMPLETING,CONFIGURING", "-o", "%i"],
                capture_output=True, text=True, timeout=timeout,
            )
            if out.returncode != 0 or not out.stdout.strip():
                return
            time.sleep(0.3)
    except (OSError, subprocess.SubprocessError):
        pass


def _restore_conf(backup: Path | None) -> None:
    if backup is not None and backup.exists():
        shutil.copy2(backup, SLURM_CONF)
    else:
        try:
            SLURM_CONF.unlink()
        except FileNotFoundError:
            pass


def _read_record() -> dict | None:
    try:
        return json.loads(RECORD.read_text())
    except (OSError, ValueError):
        return None


def _remove_record(token: str) -> None:
    record = _read_record()
    if record is not None and record.get("token") == token:
        RECORD.unlink(missing_ok=True)


def _pid_alive(pid: int) -> bool:
    return pid > 0 and Path(f"/proc/{pid}").exists() and _proc_state(pid) not in ("Z", "")


def _recover_stale_instance() -> None:
    """Clean up after a harness run that died without stopping its cluster.

    Raises ClusterUnavailable when the recorded instance's owner is still alive.
    """
    record = _read_record()
    if record is None:
        RECORD.unlink(missing_ok=True)
        return
    owner = int(record.get("owner_pid", 0))
    if _pid_alive(owner) and owner != os.getpid():
        raise ClusterUnavailable(
            f"another test SLURM cluster started by pid {owner} is running "
            f"(record {RECORD}); stop it first"
        )
    reaper = int(record.get("reaper_pid") or 0) or None
    if reaper is not None and f"{MARKER}={record.get('token')}".encode() not in _proc_environ(reaper):
        reaper = None  # that PID now belongs to another process
    _terminate(str(record.get("token")), timeout=10, reaper=reaper)
    if reaper is not None:
        _finish_reaper(reaper, None)
    backup = record.get("conf_backup")
    _restore_conf(Path(backup) if backup else None)
    if record.get("base_dir"):
        shutil.rmtree(record["base_dir"], ignore_errors=True)
    RECORD.unlink(missing_ok=True)


def _log_tails(paths: list[Path], n: int) -> str:
    parts = []
    for p in paths:
        if p.exists():
            lines = p.read_text(errors="replace").splitlines()[-n:]
            parts.append(f"--- {p.name} (last {len(lines)} lines)\n" + "\n".join(lines))
    return "\n".join(parts)


def _node_hardware(slurmd: str) -> tuple[int, int, str]:
    """(CPUs, memory in MB to offer, 'Sockets=..' topology string) of this machine."""
    cpus = os.cpu_count() or 1
    mem_mb = 0
    topo = ""
    try:
        out = subprocess.run([slurmd, "-C"], capture_output=True, text=True, timeout=20).stdout
        fields = dict(re.findall(r"(\w+)=(\S+)", out.splitlines()[0])) if out else {}
        cpus = int(fields.get("CPUs", cpus))
        mem_mb = int(fields.get("RealMemory", 0))
        if all(k in fields for k in ("SocketsPerBoard", "CoresPerSocket", "ThreadsPerCore")):
            boards = int(fields.get("Boards", 1))
            topo = (
                f"Sockets={boards * int(fields['SocketsPerBoard'])} "
                f"CoresPerSocket={fields['CoresPerSocket']} ThreadsPerCore={fields['ThreadsPerCore']}"
            )
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        pass
    if mem_mb <= 0:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_mb = int(line.split()[1]) // 1024
    # Offer what the node really has, less a margin for the OS and the daemons.
    return cpus, max(256, int(mem_mb * 0.9)), topo


def _write_conf(
    path: Path, *, d: Path, host: str, cpus: int, mem_mb: int, topo: str, partition: str, min_job_age_s: int
) -> None:
    text = f"""\
# Written by mgbarcode tests/slurm_cluster.py for a throw-away single-node test cluster.
# The original file (if any) is restored when the cluster stops.
ClusterName=mgbtest
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={CTLD_PORT}
SlurmdPort={SLURMD_PORT}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={d}/munge/munge.socket
CredType=cred/munge
StateSaveLocation={d}/state
SlurmdSpoolDir={d}/spool
SlurmctldPidFile={d}/slurmctld.pid
SlurmdPidFile={d}/slurmd.pid
SlurmctldLogFile={d}/slurmctld.log
SlurmdLogFile={d}/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# No cgroups: plain /proc process tracking, no task binding.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
SwitchType=switch/none
# No accounting database: sacct does not work, squeue sees jobs for MinJobAge seconds.
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc={d}/jobcomp.log
MinJobAge={min_job_age_s}
SchedulerType=sched/backfill
# Start batch jobs as soon as they are submitted (the default may wait up to 3 s).
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=60
InactiveLimit=0
KillWait=5
Waittime=0
NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} {topo} RealMemory={mem_mb} State=UNKNOWN
PartitionName={partition} Nodes={host} Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
"""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".conf.tmp")
    tmp.write_text(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def _daemon_env(token: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
    env[MARKER] = token
    return env


def _start_daemon(cmd: list[str], env: dict[str, str], what: str, pidfile: Path, logs: list[Path]) -> int:
    """Run a self-daemonising command; return the daemon PID from its PID file."""
    try:
        res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError) as exc:
        raise ClusterUnavailable(f"{what} failed to start: {exc}") from exc
    if res.returncode != 0:
        raise ClusterUnavailable(
            f"{what} failed to start (exit {res.returncode}): {(res.stderr or res.stdout).strip()}\n"
            + _log_tails(logs, 20)
        )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            pid = int(pidfile.read_text().split()[0])
            if _pid_alive(pid):
                return pid
        except (OSError, ValueError, IndexError):
            pass
        time.sleep(0.05)
    raise ClusterUnavailable(f"{what} did not come up (no live PID in {pidfile})\n" + _log_tails(logs, 20))


def _update_record(token: str, **values) -> None:
    record = _read_record()
    if record is not None and record.get("token") == token:
        record.update(values)
        RECORD.write_text(json.dumps(record))


def _launch_reaper(daemons: list[dict], env: dict[str, str]) -> tuple[subprocess.Popen, dict]:
    """Start the reaper process, which starts the daemons; return it and its answer.

    The reaper (this file run with ``--_reaper``) makes itself a child subreaper, starts the
    self-daemonising munged/slurmctld/slurmd, and then reaps everything that ends below it
    (daemons, fork intermediates, slurmstepd), so no zombie is left on machines whose init
    does not reap.  It exits by itself once it has no children left.
    """
    proc = subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), "--_reaper"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        env=env, text=True, start_new_session=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(json.dumps(daemons))
    proc.stdin.close()
    proc.stdin = None
    line = proc.stdout.readline()  # the reaper bounds every start-up step by a timeout
    try:
        answer = json.loads(line)
    except ValueError:
        answer = {"error": f"the daemon starter exited (status {proc.poll()}) without an answer"}
    return proc, answer


def _reaper_main() -> int:
    import ctypes

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_CHILD_SUBREAPER = 36
    subreaper = libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    daemons = json.loads(sys.stdin.read())
    answer: dict = {"pids": {}}
    try:
        for spec in daemons:
            answer["pids"][spec["what"]] = _start_daemon(
                spec["cmd"], dict(os.environ), spec["what"], Path(spec["pidfile"]),
                [Path(p) for p in spec["logs"]],
            )
    except ClusterUnavailable as exc:
        answer = {"error": exc.reason}
    if not subreaper and "error" not in answer:
        answer["warning"] = "prctl(PR_SET_CHILD_SUBREAPER) failed; exited daemons may stay zombies"
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()
    sys.stdout.close()
    while True:
        try:
            os.wait()
        except ChildProcessError:
            return 0
        except InterruptedError:
            continue


# --------------------------------------------------------------------- start
def check_prerequisites() -> dict[str, str]:
    """Return the paths of the needed binaries; raise ClusterUnavailable naming what is missing."""
    if not sys.platform.startswith("linux"):
        raise ClusterUnavailable(f"the test SLURM cluster needs Linux, not {sys.platform}")
    if os.geteuid() != 0:
        raise ClusterUnavailable("the test SLURM cluster needs root (it writes /etc/slurm/slurm.conf)")
    found = {name: _which(name) for name in BINARIES}
    missing = sorted(n for n, p in found.items() if p is None)
    if missing:
        pkgs = sorted({BINARIES[n] for n in missing})
        raise ClusterUnavailable(
            f"SLURM/munge binaries missing: {', '.join(missing)} "
            f"(install Debian packages {' '.join(pkgs)}, e.g. with tools/install_slurm.sh)"
        )
    return {n: str(p) for n, p in found.items()}


def start_cluster(
    base_dir: str | os.PathLike | None = None,
    *,
    partition: str = "debug",
    min_job_age_s: int = 300,
    timeout_s: float = 60.0,
) -> SlurmCluster:
    """Start munged, slurmctld and slurmd; return when the node is idle.

    base_dir: a fresh directory for state, spool and logs is made inside it (default: the
      system temp dir); it must be reachable by all users (munged insists on that).
    partition: name of the one (default) partition.
    min_job_age_s: seconds a finished job stays visible to ``squeue``; keep it at least
      3x the executor's ``--slurm-init-seconds-before-status-checks``.
    timeout_s: how long to wait for the node to become idle.
    """
    t0 = time.monotonic()
    binaries = check_prerequisites()
    _recover_stale_instance()
    foreign = _foreign_daemons()
    if foreign:
        raise ClusterUnavailable(
            "SLURM daemons not started by this harness are running: " + ", ".join(foreign)
        )
    for port in (CTLD_PORT, SLURMD_PORT):
        if _port_in_use(port):
            raise ClusterUnavailable(f"TCP port {port} (SLURM's) is already in use on this machine")

    parent = Path(base_dir) if base_dir is not None else Path(tempfile.gettempdir())
    d = Path(tempfile.mkdtemp(prefix="mgb-slurm-", dir=parent))
    os.chmod(d, 0o755)  # munged requires execute permission for all on its socket's path
    for sub in ("munge", "state", "spool"):
        (d / sub).mkdir(mode=0o755)
    token = uuid.uuid4().hex
    host = socket.gethostname().split(".")[0]
    cpus, mem_mb, topo = _node_hardware(binaries["slurmd"])

    backup = None
    if SLURM_CONF.exists():
        backup = d / "slurm.conf.orig"
        shutil.copy2(SLURM_CONF, backup)
    RECORD.parent.mkdir(parents=True, exist_ok=True)
    RECORD.write_text(
        json.dumps(
            {"owner_pid": os.getpid(), "token": token, "base_dir": str(d),
             "conf_backup": str(backup) if backup else None}
        )
    )
    cluster = SlurmCluster(
        base_dir=d, token=token, node=host, partition=partition, cpus=cpus, mem_mb=mem_mb,
        min_job_age_s=min_job_age_s, binaries=binaries,
        ctld_log=d / "slurmctld.log", slurmd_log=d / "slurmd.log", jobcomp_log=d / "jobcomp.log",
        munge_log=d / "munge" / "munged.log", _conf_backup=backup,
    )
    env = _daemon_env(token)
    try:
        key = d / "munge" / "munge.key"
        key.write_bytes(os.urandom(1024))
        os.chmod(key, 0o400)
        _write_conf(SLURM_CONF, d=d, host=host, cpus=cpus, mem_mb=mem_mb, topo=topo,
                    partition=partition, min_job_age_s=min_job_age_s)
        daemons = [
            # munged: private key, socket, PID and log files.
            {"what": "munged", "pidfile": f"{d}/munge/munged.pid", "logs": [str(cluster.munge_log)],
             "cmd": [binaries["munged"], f"--key-file={key}", f"--socket={d}/munge/munge.socket",
                     f"--pid-file={d}/munge/munged.pid", f"--log-file={d}/munge/munged.log",
                     f"--seed-file={d}/munge/munged.seed"]},
            # -c: start with a clean state (no jobs or node state from an earlier run).
            {"what": "slurmctld", "pidfile": f"{d}/slurmctld.pid", "logs": [str(cluster.ctld_log)],
             "cmd": [binaries["slurmctld"], "-c"]},
            {"what": "slurmd", "pidfile": f"{d}/slurmd.pid", "logs": [str(cluster.slurmd_log)],
             "cmd": [binaries["slurmd"]]},
        ]
        cluster._reaper, answer = _launch_reaper(daemons, env)
        _update_record(token, reaper_pid=cluster._reaper.pid)
        if "error" in answer:
            raise ClusterUnavailable(answer["error"])
        _wait_idle(cluster, timeout_s)
    except ClusterUnavailable as exc:
        cluster.remove_dir_on_stop = False  # keep the logs for a look
        cluster.stop(timeout=10)
        raise ClusterUnavailable(f"{exc.reason}\n(state and logs kept in {d})") from None
    except BaseException:
        cluster.stop(timeout=10)
        raise
    cluster.startup_seconds = time.monotonic() - t0
    return cluster


def _wait_idle(cluster: SlurmCluster, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    state = ""
    while time.monotonic() < deadline:
        res = cluster.run("sinfo", "--noheader", "-n", cluster.node, "-o", "%T", check=False, timeout=10)
        state = res.stdout.strip() or res.stderr.strip()
        if res.returncode == 0 and state == "idle":
            return
        for name in ("slurmctld", "slurmd", "munged"):
            if not any(_proc_comm(p) == name for p in cluster.own_pids()):
                raise ClusterUnavailable(f"{name} exited during start-up\n" + cluster.log_tail())
        time.sleep(0.2)
    raise ClusterUnavailable(
        f"node {cluster.node} not idle after {timeout_s:.0f} s (sinfo: {state!r})\n" + cluster.log_tail()
    )


# --------------------------------------------------------------------- CLI
def main(argv: list[str] | None = None) -> int:
    if (argv if argv is not None else sys.argv[1:]) == ["--_reaper"]:
        return _reaper_main()
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hold", type=float, default=0.0, help="seconds to keep the cluster up")
    args = ap.parse_args(argv)
    try:
        cluster = start_cluster()
    except ClusterUnavailable as exc:
        print(f"cluster unavailable: {exc.reason}", file=sys.stderr)
        return 2
    try:
        print(f"cluster up in {cluster.startup_seconds:.2f} s: node {cluster.node} "
              f"({cluster.cpus} CPUs, {cluster.mem_mb} MB), partition {cluster.partition}, "
              f"state in {cluster.base_dir}")
        print(cluster.run("sinfo").stdout, end="")
        if args.hold > 0:
            time.sleep(args.hold)
    finally:
        t = time.monotonic()
        cluster.stop()
        print(f"cluster stopped in {time.monotonic() - t:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
