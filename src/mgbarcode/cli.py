"""The ``mgbarcode`` command.

``mgbarcode check-setup [--configfile F …]``: checks that the configured potential exists
and is usable and that the LAMMPS module loads; says how to fix it if not.
"""

import argparse
import sys

from .errors import InputError


def merged_config(configfiles):
    """config/config.yaml updated by each ``--configfile`` in turn, as Snakemake merges them."""
    import yaml

    from .config import REPO_ROOT

    def update(base, override):
        for key, value in override.items():
            if isinstance(value, dict) and isinstance(base.get(key), dict):
                update(base[key], value)
            else:
                base[key] = value
        return base

    config = yaml.safe_load((REPO_ROOT / "config" / "config.yaml").read_text())
    for path in configfiles:
        update(config, yaml.safe_load(open(path)) or {})
    return config


def check_setup(argv):
    """Exit status 0 if the potential and LAMMPS are usable, 1 with instructions if not."""
    parser = argparse.ArgumentParser(prog="mgbarcode check-setup", add_help=False)
    parser.add_argument("--configfile", "--configfiles", nargs="+", action="extend", default=[])
    known, _ = parser.parse_known_args(argv)
    from . import config as config_module
    from . import md

    try:
        config = merged_config(known.configfile)
        config_module.validate(config, source=" + ".join(["config/config.yaml", *known.configfile]))
        potential = md.Potential.from_config(config["potential"])
        sha = potential.check(required_elements=config["alloy"]["composition"])
    except InputError as error:
        print(f"mgbarcode: {error}", file=sys.stderr)
        if error.field == "potential.file":
            print("  To get the default potential (Mendelev et al. 2007 Cu-Zr, CuZr_mm.eam.fs):\n"
                  "    sudo apt-get install lammps-data\n"
                  "  Or use another EAM file: in your config set\n"
                  "    potential: {file: /path/to/file.eam.fs, pair_style: eam/fs, elements: [Cu, Zr]}\n"
                  "  (pair_style eam/alloy for setfl files; elements in the order of the file's header).",
                  file=sys.stderr)
        return 1
    print(f"mgbarcode: potential {potential.file} ({potential.pair_style}, sha256 {sha[:12]}…) OK; "
          f"LAMMPS {md.lammps_version()} OK", file=sys.stderr)
    return 0


COMMANDS = {"check-setup": check_setup}


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in COMMANDS:
        print(f"usage: mgbarcode {{{','.join(COMMANDS)}}} …", file=sys.stderr)
        return 2
    return COMMANDS[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main())
