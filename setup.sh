#!/usr/bin/env bash
# Set up mgbarcode on a fresh Debian machine and run it.
#   ./setup.sh run [snakemake args]   set up, then run the workflow (default: --cores 2, config/config.yaml)
#   ./setup.sh test [pytest args]     set up (with the test extras), then run the test suite
#   ./setup.sh                        set up only
# The set-up is idempotent and quick when nothing changed: a venv at .venv with the pinned
# packages of requirements.lock, the mgbarcode package (editable), and, when run as root,
# Debian's lammps-data (the default potential) and graphviz (DAG pictures).
set -euo pipefail
cd "$(dirname "$0")"
mode=${1:-setup}
[ $# -gt 0 ] && shift

say() { printf '[setup] %s\n' "$*" >&2; }

install_debian_packages() {
  local wanted=("$@") missing=()
  for package in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    say "not root: cannot install Debian packages ${missing[*]}; ask an administrator for: apt-get install ${missing[*]}"
    return 0
  fi
  say "installing Debian packages: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

install_debian_packages lammps-data graphviz

python=${PYTHON:-$(command -v python3.11 || command -v python3)}
if [ ! -x .venv/bin/python ]; then
  say "creating .venv with $python ($("$python" --version 2>&1))"
  "$python" -m venv .venv
fi
stamp=.venv/.mgbarcode-lock
wanted_stamp=$(cat requirements.lock pyproject.toml | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted_stamp" ]; then
  say "installing pinned packages (requirements.lock) into .venv; takes a few minutes the first time"
  .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.lock
  .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps -e .
  echo "$wanted_stamp" > "$stamp"
fi

case "$mode" in
  setup)
    .venv/bin/python -m mgbarcode.cli check-setup ;;
  run)
    # The potential must exist before any job starts; --configfile arguments are honoured.
    .venv/bin/python -m mgbarcode.cli check-setup "$@"
    if printf '%s\n' "$@" | grep -qE '^(--cores|-c|--jobs|-j|--profile)'; then
      exec .venv/bin/snakemake "$@"
    fi
    exec .venv/bin/snakemake --cores 2 "$@" ;;
  test)
    [ -x tools/install_slurm.sh ] && bash tools/install_slurm.sh
    .venv/bin/python -m mgbarcode.cli check-setup
    exec .venv/bin/python -m pytest "$@" ;;
  *)
    say "unknown mode '$mode': use run, test or nothing"; exit 2 ;;
esac
