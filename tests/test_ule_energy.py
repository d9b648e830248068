"""ULE energies: per-ULE means of per-atom energies, and the sample energies they predict."""

import numpy as np
import pytest
from ase.build import bulk

from mgbarcode import descriptors, md, ule_energy
from mgbarcode.ules import encoding, leader_dictionary

B2_CUZR_A = 3.237  # Å, CuZr_mm (METHOD §1)


def test_means_and_spreads_by_hand():
    table = ule_energy.ule_energies([0, 0, 2, 2, 2], [-3.0, -4.0, -5.0, -5.0, -5.3], n_ules=3)
    assert table["n_atoms"].tolist() == [2, 0, 3]
    assert table["mean_energy_eV"][0] == pytest.approx(-3.5)
    assert table["mean_energy_eV"][2] == pytest.approx(-5.1)
    assert table["std_energy_eV"][0] == pytest.approx(0.5)
    assert table["std_energy_eV"][2] == pytest.approx(np.std([-5.0, -5.0, -5.3]))
    # a ULE no atom is nearest to: the mean over all atoms, and no spread
    assert table["mean_energy_eV"][1] == pytest.approx(np.mean([-3.0, -4.0, -5.0, -5.0, -5.3]))
    assert np.isnan(table["std_energy_eV"][1])


def test_planted_ule_energies_predict_sample_energies_exactly():
    """When every atom's energy is its ULE's energy, the prediction is the sample's energy."""
    rng = np.random.default_rng(3)
    n_ules, n_atoms = 12, 200
    planted = rng.uniform(-5.5, -3.0, n_ules)
    samples = [rng.integers(0, n_ules, n_atoms) for _ in range(30)]
    table = ule_energy.ule_energies(np.concatenate(samples), planted[np.concatenate(samples)], n_ules)
    np.testing.assert_allclose(table["mean_energy_eV"], planted, rtol=0, atol=1e-12)
    counts = np.stack([np.bincount(sample, minlength=n_ules) for sample in samples])
    predicted = ule_energy.predict_energy_per_atom(counts, table["mean_energy_eV"])
    np.testing.assert_allclose(predicted, [planted[sample].mean() for sample in samples], rtol=0, atol=1e-12)


def test_b2_crystal_energy_from_its_two_ules_matches_lammps(default_config, soap):
    """B2 CuZr: one ULE per species; their LAMMPS per-atom energies give back the crystal's
    energy per atom, also for a bigger cell of the same crystal (the model is intensive)."""
    potential = md.Potential.from_config(default_config["potential"])
    skin = default_config["md"]["neighbor_skin_A"]
    small = md.evaluate(bulk("CuZr", "cesiumchloride", a=B2_CUZR_A).repeat(3), potential, skin)
    vectors, _ = descriptors.soap_vectors(small, soap)
    dictionary = leader_dictionary.LeaderDictionary(0.95, vectors.shape[1], 16)
    dictionary.add(vectors)
    index, _, _ = encoding.nearest_ule(vectors, dictionary.unit_vectors, 0.95, 64)
    table = ule_energy.ule_energies(index, small.get_potential_energies(), len(dictionary))
    assert len(dictionary) == 2 and (table["std_energy_eV"] < 1e-9).all()

    large = md.evaluate(bulk("CuZr", "cesiumchloride", a=B2_CUZR_A).repeat(4), potential, skin)
    large_vectors, _ = descriptors.soap_vectors(large, soap)
    nearest_counts, _, _ = encoding.encode_sample(large_vectors, dictionary.unit_vectors, 0.95, 64)
    predicted = ule_energy.predict_energy_per_atom(nearest_counts[None, :], table["mean_energy_eV"])[0]
    assert predicted == pytest.approx(large.get_potential_energy() / len(large), abs=1e-9)
