"""Write envs/<family>.yaml, the conda environment of each tool family (snakemake --use-conda),
from pyproject.toml and requirements.lock.

A family is an extra of pyproject.toml (md, descriptors, learning, analysis). Its environment
installs the package with that extra (``-e ..[md]``) beside every distribution that this
needs, the core dependencies and the extra's with all of theirs, each pinned at its version in
requirements.lock. pip then has nothing left to choose: the environment holds the lock's
versions only. The dependencies of each pinned version are read from the metadata of the
installed distributions, so run it in the set-up's .venv (which setup.sh installs from the
lock); a distribution whose installed version is not the lock's is an error.

    python tools/pin_envs.py           # (re)write envs/<family>.yaml
    python tools/pin_envs.py --check   # exit 1 when a file differs from what it would write

tests/test_workflow_conventions.py runs the check.
"""

import argparse
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[1]
FAMILIES = ("md", "descriptors", "learning", "analysis")
PYTHON = "3.11"
HEADER = """\
# Conda environment of the {family} rules (snakemake --use-conda): the mgbarcode package with its
# `{family}` extra (pyproject.toml) and every distribution that needs, pinned from requirements.lock.
# Written by tools/pin_envs.py; do not edit by hand.
"""


def normalize(name):
    """PEP 503 name: lower case, runs of -, _ and . as one -."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_lock(path=REPO / "requirements.lock"):
    """{normalized name: (name as the lock spells it, version)} of requirements.lock."""
    pins = {}
    for line in Path(path).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            pins[normalize(name)] = (name, version)
    return pins


def project(path=REPO / "pyproject.toml"):
    return tomllib.loads(Path(path).read_text())["project"]


def closure(requirements, lock):
    """Normalized names of the distributions ``requirements`` (strings) pull in, themselves
    included, on this platform: each at its installed version, which must be the lock's."""
    seen = set()
    pending = [(Requirement(r), set()) for r in requirements]
    while pending:
        requirement, parent_extras = pending.pop()
        # A dependency with a marker counts when the marker holds here for one of the extras
        # its parent was asked with (or none).
        if requirement.marker and not any(requirement.marker.evaluate({"extra": extra})
                                          for extra in parent_extras or {""}):
            continue
        name = normalize(requirement.name)
        key = (name, frozenset(requirement.extras))
        if key in seen:
            continue
        seen.add(key)
        if name not in lock:
            raise SystemExit(f"{requirement.name} is needed but not pinned in requirements.lock")
        installed = metadata.version(requirement.name)
        if installed != lock[name][1]:
            raise SystemExit(f"{requirement.name} {installed} is installed, requirements.lock pins "
                             f"{lock[name][1]}: run tools/pin_envs.py in the set-up's .venv")
        for child in metadata.requires(requirement.name) or []:
            pending.append((Requirement(child), set(requirement.extras)))
    return {name for name, _ in seen}


def family_requirements(family, pyproject=None):
    """The requirement strings of the package installed with ``family``: core and the extra."""
    pyproject = pyproject or project()
    return list(pyproject["dependencies"]) + list(pyproject["optional-dependencies"][family])


def env_text(family, lock=None, pyproject=None):
    lock = lock or read_lock()
    pins = sorted(closure(family_requirements(family, pyproject), lock))
    lines = [HEADER.format(family=family),
             f"name: mgbarcode-{family}\n",
             "channels: [conda-forge, nodefaults]\n",
             "dependencies:\n",
             f"  - python={PYTHON}\n",
             "  - pip\n",
             "  - pip:\n"]
    lines += [f"      - {lock[name][0]}=={lock[name][1]}\n" for name in pins]
    lines.append(f"      - -e ..[{family}]  # the mgbarcode package of this repository\n")
    return "".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 on a difference")
    args = parser.parse_args(argv)
    lock, pyproject = read_lock(), project()
    stale = []
    for family in FAMILIES:
        path = REPO / "envs" / f"{family}.yaml"
        text = env_text(family, lock, pyproject)
        if path.exists() and path.read_text() == text:
            continue
        stale.append(path.relative_to(REPO))
        if not args.check:
            path.parent.mkdir(exist_ok=True)
            path.write_text(text)
    if args.check and stale:
        print(f"out of date (run tools/pin_envs.py): {', '.join(map(str, stale))}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
