"""The ``mgbarcode`` command.

``mgbarcode check-setup [--configfile F …] [--config KEY=VALUE …]``: checks that the
configured potential exists and is usable and that the LAMMPS module loads; says how to fix it
if not.

``mgbarcode assess STRUCTURE … [--configfile F …] [--results DIR] [--minimize] [--types Cu,Zr]
[--output F]``: barcode, predicted IS energy, thermal reference and heterogeneity verdict of
each structure (extended XYZ, LAMMPS data or dump), from a finished results folder.

``mgbarcode report RESULTS [--nve-drift JSON] [--glass-transition JSON] [--note TEXT]
[--output F]``: the page of a finished run: its glasses (energies against the noise floor,
pressures, tau_alpha, repeats, stage times, T_g) and its models (against their references,
barcode, learning curve).
"""

import argparse
import sys

from .errors import InputError

# Each command imports the modules it uses when it runs, so that one command does not load
# another's (assess loads the descriptors and models; report only reads tables).


def check_setup(argv):
    """Exit status 0 if the potential and LAMMPS are usable, 1 with instructions if not.

    Takes the Snakemake command line of the run it precedes: its ``--configfile`` and
    ``--config`` arguments are read, every other argument is left to Snakemake."""
    parser = argparse.ArgumentParser(prog="mgbarcode check-setup", add_help=False, allow_abbrev=False)
    parser.add_argument("--configfile", "--configfiles", nargs="+", action="extend", default=[])
    parser.add_argument("--config", "-C", nargs="+", action="extend", default=[])
    known, _ = parser.parse_known_args(argv)
    from . import config as config_module
    from . import md

    overrides = [item for item in known.config if "=" in item]
    try:
        config = config_module.load(*known.configfile, overrides=overrides)
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


def assess(argv):
    """Print a one-line verdict per structure and write the full reports as JSON."""
    parser = argparse.ArgumentParser(prog="mgbarcode assess", description=(
        "Barcode, predicted inherent-structure energy and heterogeneity verdict of structures, "
        "from a finished mgbarcode results folder."))
    parser.add_argument("structures", nargs="+", help="extended XYZ (.xyz/.extxyz), LAMMPS data (.data/.lmp) "
                        "or dump (.dump/.lammpstrj) files")
    parser.add_argument("--configfile", nargs="+", action="extend", default=[],
                        help="the config files the results were made with (over config/config.yaml)")
    parser.add_argument("--results", help="results folder of a finished run (default: the config's results_dir)")
    parser.add_argument("--minimize", action="store_true",
                        help="CG-minimise each structure to its inherent structure with the configured potential first")
    parser.add_argument("--types", help="element of each LAMMPS atom type, in type order, e.g. Cu,Zr")
    parser.add_argument("--output", default="assessment.json", help="JSON report (default: assessment.json)")
    args = parser.parse_args(argv)
    from . import assess as assess_module
    from . import config as config_module
    from .io import write_text

    try:
        config = config_module.load(*args.configfile)
        pipeline = assess_module.TrainedPipeline.load(args.results or config["results_dir"], config)
        type_elements = args.types.split(",") if args.types else None
        reports = [assess_module.assess(path, pipeline, minimize=args.minimize, type_elements=type_elements)
                   for path in args.structures]
    except InputError as error:
        print(f"mgbarcode assess: {error}", file=sys.stderr)
        return 1
    for report in reports:
        print(assess_module.headline(report))
    write_text(args.output, assess_module.to_json(reports))
    print(f"full reports: {args.output}", file=sys.stderr)
    outside = [report["structure"] for report in reports if not report["in_training_domain"]]
    if outside:
        print(f"mgbarcode assess: {len(outside)} structure(s) outside the training domain: {', '.join(outside)}",
              file=sys.stderr)
        return 3
    return 0


def report(argv):
    """Write the page of a finished results folder (e.g. docs/study.md)."""
    parser = argparse.ArgumentParser(prog="mgbarcode report", description=(
        "The glasses (energies against the noise floor, pressures, tau_alpha, repeats, stage times) "
        "and the models (against their references, barcode, learning curve) of a finished run, as "
        "Markdown generated from its results."))
    parser.add_argument("results", help="results folder of a finished run")
    parser.add_argument("--title", default="A run of mgbarcode", help="page title")
    parser.add_argument("--nve-drift", help="JSON written by benchmarks/nve_energy_drift.py --json")
    parser.add_argument("--glass-transition", help="JSON written by benchmarks/glass_transition.py --json")
    parser.add_argument("--note", help="a line on how the run was made (command, wall and CPU time)")
    parser.add_argument("--output", help="write here instead of standard output")
    args = parser.parse_args(argv)
    from .run_report import markdown
    from .io import write_text

    page = markdown(args.results, args.title, nve_drift_json=args.nve_drift, run_note=args.note,
                    glass_transition_json=args.glass_transition)
    if args.output:
        write_text(args.output, page)
    else:
        print(page)
    return 0


COMMANDS = {"check-setup": check_setup, "assess": assess, "report": report}


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in COMMANDS:
        print(f"usage: mgbarcode {{{','.join(COMMANDS)}}} …", file=sys.stderr)
        return 2
    return COMMANDS[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main())
