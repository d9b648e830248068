"""The pipeline's configuration: validation against the schema and the checks the schema
cannot express.  The histories a config plans (ids, seeds, samples) are
:mod:`mgbarcode.histories`.
"""

import math
import shlex
from fractions import Fraction
from pathlib import Path

import yaml

from .errors import InputError
from .histories import SEED_STRIDE, seed_ranges, species_counts
from .md import Potential, relaxes_cell
from .results_layout import THERMAL_SPLITS

REPO_ROOT = Path(__file__).resolve().parents[2]
SCHEMA_PATH = REPO_ROOT / "config" / "schema.yaml"


def resources_for(config, rule_name):
    """Threads, memory (MB) and wall time (min) of the jobs of ``rule_name``: its entry of
    ``resources`` over ``default``, key by key.  The rules and the benchmarks read them here."""
    return {**config["resources"]["default"], **config["resources"].get(rule_name, {})}


def _read_yaml(path):
    path = Path(path)
    try:
        return yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        raise InputError(path, "(file)", "config file not found", "pass an existing --configfile")
    except yaml.YAMLError as error:
        raise InputError(path, "(YAML syntax)", str(error).replace("\n", " "), "fix the YAML syntax at that line")


def _update(base, override):
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _update(base[key], value)
        else:
            base[key] = value
    return base


def merged_config(configfiles, overrides=()):
    """config/config.yaml updated by each of ``configfiles`` in turn, then by each ``KEY=VALUE``
    of ``overrides`` (VALUE read as YAML), key by key as Snakemake merges ``--configfile`` and
    ``--config``.  Not validated: :func:`load` also validates."""
    config = _read_yaml(REPO_ROOT / "config" / "config.yaml")
    for path in configfiles:
        _update(config, _read_yaml(path))
    for item in overrides:
        key, value = item.split("=", 1)
        _update(config, {key: yaml.safe_load(value)})
    return config


def load(*configfiles, overrides=()):
    """The validated config of ``configfiles`` and ``overrides`` merged over config/config.yaml
    (:func:`merged_config`); an error names them as its source."""
    config = merged_config(configfiles, overrides)
    sources = ["config/config.yaml", *map(str, configfiles), *(f"--config {item}" for item in overrides)]
    validate(config, " + ".join(sources))
    return config


def _key_path(error_path):
    parts = []
    for part in error_path:
        parts.append(f"[{part}]" if isinstance(part, int) else f".{part}")
    return "".join(parts).lstrip(".") or "(top level)"


def validate(config, source="config"):
    """Check ``config`` against ``config/schema.yaml`` and the cross-field rules.

    Raises :class:`InputError` naming ``source``, the offending key and the fix.
    """
    import jsonschema  # third-party, loaded where used (docs/CONVENTIONS.md)

    _drop_removed_elements(config)
    schema = yaml.safe_load(SCHEMA_PATH.read_text())
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: (len(e.path), list(map(str, e.path))))
    if errors:
        error = errors[0]
        key = _key_path(error.absolute_path)
        if error.validator == "additionalProperties":
            extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
            key = ".".join(filter(None, [_key_path(error.absolute_path).replace("(top level)", ""), extra[0]]))
            raise InputError(source, key, "unknown key", f"remove it or correct its spelling "
                             f"(allowed here: {', '.join(sorted(error.schema.get('properties', {})))})")
        fix = error.schema.get("description", "see config/schema.yaml for the allowed values")
        if error.validator == "type" and isinstance(error.instance, str) and _is_number(error.instance):
            # YAML 1.1 reads 1.0e13 (no sign in the exponent) as text, a common surprise.
            fix = (f"write it as {float(error.instance):.6g} or with a signed exponent (e.g. 1.0e+13): "
                   f"YAML reads '{error.instance}' as text")
        raise InputError(source, key, error.message, fix)
    _check_cross_fields(config, source)
    return config


def _check_md_engine(engine, source):
    """``md.engine``: ``python`` or a command line a shell would split (balanced quotes).  Whether
    its program exists is checked where it runs (:mod:`mgbarcode.lammps_engine`), not here: the
    machine that plans the workflow need not have it."""
    if engine is None:
        return
    try:
        shlex.split(engine)
    except ValueError as error:
        raise InputError(source, "md.engine", f"'{engine}' is not a command line: {error}",
                         "balance the quotes, or give python (LAMMPS' Python module)")


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def _check_cross_fields(config, source):
    if config["md"]["ensemble"] == "nvt" and relaxes_cell(config["md"]["minimize"]):
        raise InputError(source, "md.minimize.cell", "relaxed with md.ensemble nvt: the anneals and shear runs "
                         "that start from an IS would leave md.number_density_per_A3 for the IS's relaxed volume",
                         "set md.minimize.cell: fixed for a fixed-density protocol, or md.ensemble: npt")
    _check_md_engine(config["md"].get("engine"), source)
    thermal = config["thermal"]
    melt = thermal["melt_temperature_K"]
    for i, temperature in enumerate(thermal["anneal_temperatures_K"]):
        if temperature >= melt:
            raise InputError(source, f"thermal.anneal_temperatures_K[{i}]",
                             f"{temperature} K is not below the melt temperature {melt} K",
                             "anneal below thermal.melt_temperature_K (near T_g, e.g. 500-700 K)")
    if "ladder" in thermal:
        ladder = thermal["ladder"]
        lengths = {key: len(ladder[key]) for key in ("parent_temperatures_K", "equilibration_times_ps",
                                                      "snapshot_intervals_ps")}
        if len(set(lengths.values())) != 1:
            raise InputError(source, "thermal.ladder", f"its lists differ in length: {lengths}",
                             "give one equilibration time and one snapshot interval per parent temperature")
        temperatures = ladder["parent_temperatures_K"]
        if any(colder >= hotter for hotter, colder in zip(temperatures, temperatures[1:])):
            raise InputError(source, "thermal.ladder.parent_temperatures_K", f"{temperatures} do not descend",
                             "list the parent temperatures from the hottest to the coldest: a chain is cooled level "
                             "by level")
        for i, temperature in enumerate(temperatures):
            if temperature >= melt:
                raise InputError(source, f"thermal.ladder.parent_temperatures_K[{i}]",
                                 f"{temperature} K is not below the melt temperature {melt} K",
                                 "give parent temperatures between the glass transition and the melt")
        if "relaxation" not in thermal:
            raise InputError(source, "thermal.relaxation", "missing: the ladder measures tau_alpha at each level",
                             "add thermal.relaxation with wavenumber_per_A and frame_interval_ps")
    if thermal["quench_final_temperature_K"] >= melt:
        raise InputError(source, "thermal.quench_final_temperature_K", "not below the melt temperature",
                         "quench to a temperature below thermal.melt_temperature_K")
    if config["ules"]["threshold"] is None and config["ules"]["target_size"] is None:
        raise InputError(source, "ules.threshold", "neither ules.threshold nor ules.target_size is set",
                         "set one of them")
    for split in THERMAL_SPLITS:
        spec = thermal["splits"][split]
        for key in ("replicas_per_rate", "ladder_chains"):
            if spec.get(key, 0) > SEED_STRIDE:
                raise InputError(source, f"thermal.splits.{split}.{key}", "more histories than seeds per stride",
                                 f"use at most {SEED_STRIDE}")
        # With imported structures a split may have no MD history (imported_samples.check_coverage).
        if spec["replicas_per_rate"] + spec.get("ladder_chains", 0) == 0 and not config.get("imported", {}).get("table"):
            raise InputError(source, f"thermal.splits.{split}", "no histories: replicas_per_rate and ladder_chains are 0",
                             "give the split at least one quench replica or one ladder chain, or bring structures "
                             "of that split in imported.table")
        if spec.get("ladder_chains", 0) and "ladder" not in thermal:
            raise InputError(source, f"thermal.splits.{split}.ladder_chains", "ladder chains asked for but there "
                             "is no thermal.ladder section", "add thermal.ladder (config/README.md) or set 0")
    ordered = sorted(seed_ranges(config).items(), key=lambda item: item[1])
    for (key_a, (lo_a, hi_a)), (key_b, (lo_b, hi_b)) in zip(ordered, ordered[1:]):
        if lo_b < hi_a:
            raise InputError(source, key_b, f"its seeds [{lo_b}, {hi_b}) overlap those of {key_a} [{lo_a}, {hi_a})",
                             f"give every split a seed_base at least {SEED_STRIDE} x (number of rates) away from the "
                             "others")
    total = sum(config["alloy"]["composition"].values())
    if abs(total - 1.0) > 1e-6:
        raise InputError(source, "alloy.composition", f"atom fractions add up to {total}, not 1",
                         "make the fractions add up to 1")
    _check_elements(config, source)
    _check_split_compositions(config, source)


def _drop_removed_elements(config):
    """Remove the elements an overlay profile set to null from ``alloy.composition`` (in place).

    Snakemake and ``mgbarcode.cli`` merge profiles key by key, so a profile for another alloy
    cannot replace the default composition, only add to it: it removes the default's elements
    by giving them null (``{Co: 0.5, Al: 0.5, Cu: null, Zr: null}``)."""
    composition = config.get("alloy", {}).get("composition")
    if isinstance(composition, dict):
        for element in [e for e, fraction in composition.items() if fraction is None]:
            del composition[element]


def _check_elements(config, source):
    """The alloy's elements are chemical symbols; the potential (in its file's order), the SOAP
    descriptor and, when used, the Voronoi radii know every one of them; SOAP no other."""
    from ase.data import chemical_symbols  # third-party, loaded where used (docs/CONVENTIONS.md)

    alloy = set(config["alloy"]["composition"])
    listed = {"alloy.composition": sorted(alloy), "potential.elements": config["potential"]["elements"],
              "soap.species": config["soap"]["species"]}
    for key, elements in listed.items():
        unknown = [e for e in elements if e not in chemical_symbols[1:]]
        if unknown:
            raise InputError(source, key, f"{unknown} are not chemical symbols",
                             "write element symbols as in the periodic table (e.g. Cu, Zr, Al)")
    missing = sorted(alloy - set(config["potential"]["elements"]))
    if missing:
        raise InputError(source, "potential.elements", f"no entry for {missing} of alloy.composition",
                         f"use a potential covering every element of the alloy and list its header's elements "
                         f"(alloy.composition has {sorted(alloy)})")
    species = set(config["soap"]["species"])
    if species != alloy:
        raise InputError(source, "soap.species", f"{sorted(config['soap']['species'])} differ from the elements of "
                         f"alloy.composition {sorted(alloy)}",
                         f"set soap.species: [{', '.join(sorted(alloy))}] (an element without atoms only lengthens "
                         f"every SOAP vector; one the descriptor lacks stops the SOAP jobs)")
    _check_potential_header(config["potential"], source)
    kernels = config["kernels"]
    no_radius = sorted(alloy - set(kernels["radii_A"]))
    if kernels["use_radii"] and no_radius:
        raise InputError(source, "kernels.radii_A", f"no Voronoi radius for {no_radius} with kernels.use_radii true",
                         f"give kernels.radii_A a radius in Å for every element of alloy.composition "
                         f"({sorted(alloy)}), or set kernels.use_radii: false")


def _check_potential_header(potential_config, source):
    """``potential.elements`` must be the header's elements in its order, as
    :meth:`mgbarcode.md.Potential.check` demands in every LAMMPS job: checked here, before any
    job starts, it catches a config written for another file.  A missing file is left to that
    check (the machine that plans the workflow need not hold the potential)."""
    potential = Potential.from_config(potential_config)
    if potential.pair_style not in Potential.SUPPORTED_STYLES or not Path(potential.file).is_file():
        return
    header = list(potential._header_elements())
    if header != list(potential.elements):
        raise InputError(source, "potential.elements", f"{list(potential.elements)} but the header of "
                         f"{potential.file} lists {header}",
                         f"set potential.elements: [{', '.join(header)}] (the file's order)")


def exact_size_multiple(composition):
    """The smallest N for which every count N·x of ``composition`` is a whole number."""
    denominators = [Fraction(x).limit_denominator(10000).denominator for x in composition.values()]
    return math.lcm(*denominators)


def _formula(counts):
    return "".join(f"{element}{count}" for element, count in counts.items())


def _check_split_compositions(config, source):
    """Every split must have train's composition: a size split of another composition
    measures the composition change as much as the size (0.2 at.% Zr is ~6 meV/atom here)."""
    composition = config["alloy"]["composition"]
    splits = config["thermal"]["splits"]
    reference = species_counts(composition, splits["train"]["n_atoms"])
    multiple = exact_size_multiple(composition)
    absent = sorted(e for e, count in reference.items() if count == 0)
    if absent:
        raise InputError(source, "thermal.splits.train.n_atoms", f"{splits['train']['n_atoms']} atoms give no atom "
                         f"of {absent} at alloy.composition", f"use a multiple of {multiple} atoms, or drop "
                         f"{absent} from alloy.composition (set them to null in an overlay profile)")
    for split in THERMAL_SPLITS[1:]:
        n_atoms = splits[split]["n_atoms"]
        counts = species_counts(composition, n_atoms)
        n_train = splits["train"]["n_atoms"]
        if any(counts[e] * n_train != reference[e] * n_atoms for e in reference):
            nearest = max(multiple, multiple * round(n_atoms / multiple))
            raise InputError(source, f"thermal.splits.{split}.n_atoms",
                             f"{n_atoms} atoms give {_formula(counts)}, another composition than train's "
                             f"{n_train} atoms ({_formula(reference)})",
                             f"use atom counts that are exact for alloy.composition in every split: multiples "
                             f"of {multiple} (e.g. {nearest} here, with train a multiple of {multiple} too)")
