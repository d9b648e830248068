#!/usr/bin/env bash
# Install what the SLURM tests (tests/test_slurm.py, tests/slurm_cluster.py) need on a
# Debian/Ubuntu machine: slurmctld, slurmd, the SLURM client commands and munge.
# Idempotent and quick when everything is there already. As root it installs what is
# missing with apt-get; otherwise it prints what to install and exits 0 (the tests then
# skip, naming what is missing). No accounting daemon (slurmdbd) is needed: the test
# cluster runs without accounting and the executor checks job status with squeue.
#
# The Python side (snakemake-executor-plugin-slurm) is pinned with the project's
# other Python requirements, not installed here.
set -euo pipefail

packages=(slurmctld slurmd slurm-client munge)

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "install_slurm: already installed: ${packages[*]}"
    exit 0
fi

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "install_slurm: missing Debian packages: ${missing[*]}"
    echo "install_slurm: install them as root with: apt-get install -y --no-install-recommends ${missing[*]}"
    exit 0
fi

export DEBIAN_FRONTEND=noninteractive
echo "install_slurm: installing ${missing[*]}"
# Update the package lists only when the first attempt fails (e.g. on a fresh machine).
if ! apt-get install -y -q --no-install-recommends "${missing[@]}"; then
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
# Packages' maintainer scripts may try to start the services; the tests start their own
# daemons and refuse to run beside daemons they did not start, so report any.
if pgrep -x 'slurmctld|slurmd|slurmdbd' >/dev/null 2>&1; then
    echo "install_slurm: note: SLURM daemons are running (started by the packages?):"
    pgrep -a -x 'slurmctld|slurmd|slurmdbd' || true
    echo "install_slurm: stop them before running the SLURM tests"
fi
echo "install_slurm: done"
