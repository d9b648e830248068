"""Assess any structure with a finished pipeline: its barcode, predicted IS energy, thermal
reference and heterogeneity verdict (the paper's two-step recipe, as one call).

Everything comes from a ``results`` folder of a finished run; nothing is retrained.
"""

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import barcode as barcode_module
from . import results_layout as layout
from . import basins, descriptors, heterogeneity, learning, md, structures, ule_energy
from .domain import TrainingDomain, atom_fractions
from .errors import InputError
from .histories import species_counts
from .io import read_provenance
from .ules import encoding, leader_dictionary


@dataclass
class TrainedPipeline:
    """The pieces of a finished run that assessing a structure needs."""

    results_dir: Path
    config: dict
    dictionary: leader_dictionary.UleDictionary
    threshold: float
    top_ules: pd.DataFrame
    fractions_model: object
    barcode_model: object
    ule_energies: pd.DataFrame  # mean per-atom energy of each ULE (mgbarcode.ule_energy)
    thermal: pd.DataFrame     # thermal samples: catalogue rows with barcodes (references: heterogeneity.reference_pool)
    summary: pd.DataFrame     # per-condition heterogeneity summary (may be empty)
    domain: TrainingDomain    # the ranges of the train samples (mgbarcode.domain)

    @property
    def barcode_columns(self):
        return barcode_module.barcode_column_names(len(self.top_ules))

    @classmethod
    def load(cls, results_dir, config):
        """Read a results folder and check that its parts belong together."""
        results = Path(results_dir)
        paths = {name: results / relative for name, relative in {
            "dictionary": layout.DICTIONARY,
            "threshold": layout.THRESHOLD,
            "top_ules": layout.TOP_ULES,
            "barcodes": layout.BARCODES,
            "catalogue": layout.CATALOGUE,
            "fractions_model": layout.model_output("fractions", "model"),
            "barcode_model": layout.model_output("barcode", "model"),
            "fractions_fit": layout.model_output("fractions", "fit"),
            "barcode_fit": layout.model_output("barcode", "fit"),
            "ule_energies": layout.ULE_ENERGIES,
            "fractions": layout.FRACTIONS,
            "counts": layout.COUNTS,
        }.items()}
        for name, path in paths.items():
            if not path.is_file():
                raise InputError(path, name, "not found: the results folder is not from a finished run",
                                 f"run the workflow to the end (snakemake --config results_dir={results}) "
                                 "or pass --results with a finished folder")
        dictionary = leader_dictionary.read_dictionary(paths["dictionary"])
        dictionary_hash = read_provenance(paths["dictionary"]).get("config_sha256")
        for name in ("top_ules", "barcodes", "ule_energies"):
            if read_provenance(paths[name]).get("config_sha256") != dictionary_hash:
                raise InputError(paths[name], "provenance.config_sha256",
                                 "made with another configuration than the ULE dictionary",
                                 "rerun the workflow so that every stage comes from one configuration")
        for name in ("fractions_fit", "barcode_fit"):
            fit_hash = json.loads(paths[name].read_text())["provenance"]["config_sha256"]
            if fit_hash != dictionary_hash:
                raise InputError(paths[name], "provenance.config_sha256",
                                 "the model belongs to another dictionary (another configuration)",
                                 "retrain the models on this dictionary (rerun the workflow)")
        fractions_model = learning.load_booster(paths["fractions_model"])
        barcode_model = learning.load_booster(paths["barcode_model"])
        top_ules = pd.read_parquet(paths["top_ules"])
        if fractions_model.num_features() != len(dictionary.frame):
            raise InputError(paths["fractions_model"], "features", f"{fractions_model.num_features()} features but "
                             f"the dictionary has {len(dictionary.frame)} ULEs",
                             "the model belongs to another dictionary: rerun the workflow")
        if barcode_model.num_features() != len(top_ules) or top_ules["ule_id"].max() >= len(dictionary.frame):
            raise InputError(paths["barcode_model"], "features", "the barcode model does not fit the top ULEs "
                             "of this dictionary", "the model belongs to another dictionary: rerun the workflow")
        catalogue = pd.read_parquet(paths["catalogue"], columns=["sample_id", "split", "n_atoms", "energy_eV_per_atom",
                                                                 "number_density_per_A3", "repeat_of"])
        domain = cls._training_domain(catalogue, paths, top_ules["ule_id"].to_numpy(), config)
        thermal = pd.read_parquet(paths["barcodes"]).merge(catalogue, on="sample_id")
        thermal = thermal[thermal["split"].isin(layout.THERMAL_SPLITS)].reset_index(drop=True)
        summary_path = results / layout.HETEROGENEITY_SUMMARY
        summary = pd.read_parquet(summary_path) if summary_path.is_file() else pd.DataFrame()
        threshold = leader_dictionary.read_threshold(paths["threshold"])
        ule_energies = pd.read_parquet(paths["ule_energies"]).sort_values("ule_id").reset_index(drop=True)
        return cls(results, config, dictionary, threshold, top_ules, fractions_model, barcode_model, ule_energies,
                   thermal, summary, domain)

    @staticmethod
    def _training_domain(catalogue, paths, top_ids, config):
        """The :class:`TrainingDomain` of the distinct train samples of a finished run."""
        train = basins.distinct(catalogue[catalogue["split"] == layout.TRAIN_SPLIT]).set_index("sample_id")
        fractions = pd.read_parquet(paths["fractions"], columns=["sample_id", "n_atoms", "n_unmatched"])
        fractions = fractions.set_index("sample_id").loc[train.index]
        counts = pd.read_parquet(paths["counts"], columns=["sample_id"] + [encoding.ule_column(i) for i in top_ids])
        at_top = counts.set_index("sample_id").loc[train.index].to_numpy().sum(axis=1)
        n_atoms = fractions["n_atoms"].to_numpy()
        composition = config["alloy"]["composition"]
        n_train = int(n_atoms[0])
        counts_per_element = species_counts(composition, n_train)
        return TrainingDomain.from_training(
            1.0 - fractions["n_unmatched"].to_numpy() / n_atoms, at_top / n_atoms,
            train["number_density_per_A3"], train["energy_eV_per_atom"],
            {element: count / n_train for element, count in counts_per_element.items()}, config["domain"])


def assess(path, pipeline, minimize=False, type_elements=None):
    """Assess one structure file; returns a JSON-serialisable dict.

    ``minimize``: first CG-minimise it to its inherent structure with the configured potential
    (the models were trained on inherent structures); the IS energy LAMMPS finds is reported
    beside the prediction.  ``type_elements``: element of each LAMMPS atom type.
    """
    config = pipeline.config
    species = sorted(set(pipeline.dictionary.frame["species"]) | set(config["soap"]["species"]))
    atoms = structures.read(path, type_elements=type_elements)
    structures.check(atoms, path, allowed_species=config["soap"]["species"])
    if len(atoms) < 2:
        raise InputError(path, "atoms", "a single atom has no environment to describe", "give a bulk structure")
    computed_energy = math.nan
    if minimize:
        potential = md.Potential.from_config(config["potential"])
        potential.check(required_elements=set(atoms.get_chemical_symbols()))
        atoms = md.evaluate(atoms, potential, config["md"]["neighbor_skin_A"], config["md"]["minimize"],
                            config["md"]["pressure_bar"])
        computed_energy = atoms.get_potential_energy() / len(atoms)
    soap = descriptors.make_soap(**config["soap"])
    unit_vectors, _ = descriptors.soap_vectors(atoms, soap, source=str(path))
    if unit_vectors.shape[1] != pipeline.dictionary.unit_vectors.shape[1]:
        raise InputError(path, "soap", f"{unit_vectors.shape[1]} SOAP features but the dictionary has "
                         f"{pipeline.dictionary.unit_vectors.shape[1]}",
                         "use the config the results were made with (--configfile)")
    nearest, matched, n_unmatched = encoding.encode_sample(unit_vectors, pipeline.dictionary.unit_vectors,
                                                       pipeline.threshold, config["ules"]["batch_size"])
    n_atoms = len(atoms)
    fractions = matched / n_atoms
    top_ids = pipeline.top_ules["ule_id"].to_numpy()
    s, zero = barcode_module.barcodes(nearest[None, :], top_ids)
    energy_fractions = float(learning.predict(pipeline.fractions_model, fractions[None, :])[0])
    energy_barcode = float(learning.predict(pipeline.barcode_model, s)[0]) if not zero[0] else math.nan
    energy_ules = float(ule_energy.predict_energy_per_atom(nearest[None, :], pipeline.ule_energies["mean_energy_eV"])[0])
    # The thermal reference and the domain are judged at the IS energy LAMMPS computed when there
    # is one; only otherwise at the predicted energy.
    energy = computed_energy if not math.isnan(computed_energy) else \
        energy_barcode if not zero[0] else energy_fractions
    violations = pipeline.domain.violations(
        1.0 - n_unmatched / len(atoms), float(nearest[top_ids].sum()) / len(atoms), len(atoms) / atoms.get_volume(),
        energy, atom_fractions(atoms.get_chemical_symbols()))
    groups = pipeline.top_ules["group"].to_numpy()
    het = config["heterogeneity"]
    # The references and the thermal range come from the thermal samples a sheared sample of
    # this number of atoms would be compared with.
    thermal = heterogeneity.reference_pool(pipeline.thermal, n_atoms)
    if len(thermal):
        verdict = heterogeneity.assess_heterogeneity(
            s[0], energy, thermal[pipeline.barcode_columns].to_numpy(), thermal["energy_eV_per_atom"].to_numpy(),
            groups, het["energy_tolerance_eV_per_atom"], het["thermal_range_quantile"], het["min_thermal_references"],
            summary=pipeline.summary if len(pipeline.summary) else None)
    else:
        sizes = sorted(int(n) for n in heterogeneity.reference_pool(pipeline.thermal)["n_atoms"].unique())
        verdict = heterogeneity.HeterogeneityVerdict(
            math.nan, math.nan, -1, math.nan, math.nan, 0, None,
            f"no thermal sample of {n_atoms} atoms in the results (their sizes: {sizes}): the counting noise of a "
            "barcode depends on the number of atoms, so heterogeneity cannot be assessed; give a structure of one "
            "of those sizes")
    reference = thermal.iloc[verdict.reference_index] if verdict.reference_index >= 0 else None
    return {
        "structure": str(path),
        "n_atoms": n_atoms,
        "composition": atoms.get_chemical_formula(mode="metal"),
        "species_in_dictionary": species,
        "minimized": bool(minimize),
        "computed_IS_energy_eV_per_atom": computed_energy,
        "predicted_IS_energy_eV_per_atom": {"barcode_model": energy_barcode, "fractions_model": energy_fractions,
                                            "ule_energy": energy_ules},
        "n_unmatched_atoms": int(n_unmatched),
        "zero_barcode": bool(zero[0]),
        "barcode": dict(zip(pipeline.barcode_columns, s[0].tolist())),
        "barcode_groups": groups.tolist(),
        "thermal_reference": None if reference is None else {
            "sample_id": reference["sample_id"], "energy_eV_per_atom": float(reference["energy_eV_per_atom"]),
            "energy_distance_eV_per_atom": verdict.energy_distance_eV_per_atom},
        "group2_spread": verdict.spread_group2,
        "group1_spread": verdict.spread_group1,
        "thermal_range_upper": verdict.thermal_upper,
        "in_training_domain": not violations,
        "domain_violations": violations,
        "verdict": verdict.verdict if not violations else
        "outside the training domain (" + "; ".join(violations) + "): the predictions are extrapolations",
    }


def headline(report):
    """One line for the terminal; no energy for a structure outside the training domain."""
    if not report["in_training_domain"]:
        return f"{report['structure']}: {report['verdict']}"
    energy = report["predicted_IS_energy_eV_per_atom"]["barcode_model"]
    if math.isnan(energy):
        energy = report["predicted_IS_energy_eV_per_atom"]["fractions_model"]
    computed = report["computed_IS_energy_eV_per_atom"]
    computed_text = "" if math.isnan(computed) else f" (LAMMPS IS: {computed:.4f})"
    return f"{report['structure']}: predicted IS energy {energy:.4f} eV/atom{computed_text}; {report['verdict']}"


def to_json(reports):
    """JSON text of a list of reports (NaN written as null)."""
    def clean(value):
        if isinstance(value, float) and math.isnan(value):
            return None
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, list):
            return [clean(v) for v in value]
        if isinstance(value, np.generic):
            return clean(value.item())
        return value
    return json.dumps(clean(reports), indent=2) + "\n"
