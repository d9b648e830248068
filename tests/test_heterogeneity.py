"""Strain heterogeneity and barcode contrast: the analytic strain of a homogeneous shear (with
and without LAMMPS' box flip), matching within a tolerance, and the contrast arithmetic."""

import numpy as np
import pandas as pd
import pytest
from ase.build import bulk

from mgbarcode import atomic_strain
from mgbarcode import heterogeneity as het


def affinely_sheared(reference, shear_strain, flip):
    """``reference`` under simple shear x += γ·y; with ``flip`` the cell's b vector is then
    replaced by b − a, as LAMMPS does when the tilt passes half the box (same lattice)."""
    sheared = reference.copy()
    deformation = np.eye(3)
    deformation[0, 1] = shear_strain
    sheared.set_cell(reference.cell.array @ deformation.T, scale_atoms=True)
    if flip:
        cell = sheared.cell.array.copy()
        cell[1] -= cell[0]
        sheared.set_cell(cell, scale_atoms=False)
    sheared.wrap()
    return sheared


def simple_shear_von_mises(shear_strain):
    """η of OVITO's definition for F = I + γ e_x⊗e_y: E = (FᵀF − I)/2 has E_xy = γ/2,
    E_yy = γ²/2 and no other component, so η² = E_xy² + ((E_xx−E_yy)² + (E_yy−E_zz)²)/6."""
    e_xy, e_yy = shear_strain / 2, shear_strain ** 2 / 2
    return np.sqrt(e_xy ** 2 + (e_yy ** 2 + e_yy ** 2) / 6)


@pytest.fixture(scope="module")
def crystal():
    atoms = bulk("Cu", "fcc", a=3.61, cubic=True).repeat(4)
    atoms.rattle(0.03, seed=3)  # an arbitrary (non-lattice) reference: the strain is still uniform
    return atoms


@pytest.mark.parametrize("shear_strain", [0.3, 1.0])
@pytest.mark.parametrize("flip", [False, True])
def test_affine_simple_shear_gives_the_analytic_uniform_strain(crystal, shear_strain, flip):
    expected = simple_shear_von_mises(shear_strain)
    assert expected == pytest.approx(np.sqrt(shear_strain ** 2 / 4 + shear_strain ** 4 / 12))
    sheared = affinely_sheared(crystal, shear_strain, flip)
    strains = atomic_strain.von_mises_strain(crystal, sheared, cutoff_A=3.0, xy_strain=shear_strain)
    assert strains.shape == (len(crystal),)
    np.testing.assert_allclose(strains, expected, rtol=1e-9)
    statistic = atomic_strain.heterogeneity_statistic(strains, percentile=95.0)
    assert statistic["von_mises_strain_std"] == pytest.approx(0.0, abs=1e-9)
    assert statistic["von_mises_strain_mean"] == pytest.approx(expected)


def test_a_flipped_cell_without_the_strain_is_wrong(crystal):
    """Why the strain must be passed: read naively, the flipped basis is a different shear."""
    sheared = affinely_sheared(crystal, 0.3, flip=True)
    naive = atomic_strain.von_mises_strain(crystal, sheared, cutoff_A=3.0)
    assert abs(naive.mean() - simple_shear_von_mises(0.3)) > 0.1


def test_strain_heterogeneity_statistic_and_condition_summary():
    strains = np.array([0.0, 0.1, 0.2, 0.3])
    statistic = atomic_strain.heterogeneity_statistic(strains, percentile=50.0)
    assert statistic == pytest.approx({"von_mises_strain_std": np.std(strains), "von_mises_strain_mean": 0.15,
                                       "von_mises_strain_percentile": 0.15})
    # The condition's strain heterogeneity: the primary statistic's mean over its samples (the
    # NaN of a window's first IS left out), its standard error blocked by shear run.
    primary = het.PRIMARY_STRAIN_STATISTIC
    thermal = pd.DataFrame({"sample_id": ["t0"], "energy_eV_per_atom": [-4.65], "s_1": [0.5], "s_2": [0.5]})
    mech = pd.DataFrame({"sample_id": ["a0", "a1", "b0", "c0"], "trajectory_id": ["a", "a", "b", "c"],
                         "shear_T_K": [300.0, 300.0, 300.0, 700.0], "energy_eV_per_atom": [-4.65] * 4,
                         "von_mises_strain_std": [0.1, 0.1, 0.3, 0.05], primary: [np.nan, 0.1, 0.3, 0.05],
                         "s_1": [0.5] * 4, "s_2": [0.5] * 4})
    summary = het.condition_summary(het.pair_table(mech, thermal, ["s_1", "s_2"], np.array([1, 2]), 0.001))
    assert summary["shear_T_K"].tolist() == [300.0, 700.0]
    assert summary["n_mech"].tolist() == [3, 1]
    assert summary["strain_heterogeneity"].tolist() == pytest.approx([0.2, 0.05])
    assert summary["strain_heterogeneity_sem"].iloc[0] == pytest.approx(np.std([0.1, 0.3], ddof=1) / np.sqrt(2))
    assert np.isnan(summary["strain_heterogeneity_sem"].iloc[1])
    assert summary["cumulative_strain_std"].tolist() == pytest.approx([0.5 / 3, 0.05])


def test_matching_never_exceeds_the_tolerance_and_takes_the_nearest():
    rng = np.random.default_rng(0)
    for trial in range(200):
        thermal = np.round(rng.uniform(-4.70, -4.60, rng.integers(1, 30)), rng.integers(2, 6))  # rounding makes ties
        mech = rng.uniform(-4.72, -4.58, rng.integers(1, 30))
        tolerance = rng.uniform(0.0, 0.02)
        indices, distances = het.match_thermal_references(mech, thermal, tolerance)
        gaps = np.abs(mech[:, None] - thermal[None, :])
        np.testing.assert_allclose(distances, gaps.min(axis=1))
        matched = indices >= 0
        assert (distances[matched] <= tolerance).all() and (distances[~matched] > tolerance).all()
        assert (np.abs(mech[matched] - thermal[indices[matched]]) <= tolerance).all()
        # the nearest one, and the lowest position among equally near ones
        np.testing.assert_array_equal(indices[matched], gaps.argmin(axis=1)[matched])
    indices, distances = het.match_thermal_references([-4.6], [], 0.01)
    assert indices.tolist() == [-1] and np.isinf(distances).all()


def test_barcode_contrast_of_identical_barcodes_is_zero_with_unit_ratios():
    rng = np.random.default_rng(1)
    groups = np.array([1] * 5 + [2] * 3)
    s = rng.dirichlet(np.ones(8), size=4)
    delta, table = het.barcode_contrast(s, s.copy(), groups)
    assert (delta == 0).all()
    assert (table[["std_delta_group1", "std_delta_group2"]].to_numpy() == 0).all()
    np.testing.assert_allclose(table[["ratio_sum_group1", "ratio_sum_group2"]].to_numpy(), 1.0)


def test_barcode_contrast_by_hand():
    groups = np.array([1, 1, 2, 2])
    thermal = np.array([[0.4, 0.2, 0.3, 0.1]])
    mech = np.array([[0.3, 0.3, 0.1, 0.3]])
    delta, table = het.barcode_contrast(thermal, mech, groups)
    np.testing.assert_allclose(delta, [[0.1, -0.1, 0.2, -0.2]])
    assert table["std_delta_group1"][0] == pytest.approx(0.1)
    assert table["std_delta_group2"][0] == pytest.approx(0.2)
    assert table["ratio_sum_group1"][0] == pytest.approx(1.0)
    assert table["ratio_sum_group2"][0] == pytest.approx(0.4 / 0.4)


def test_condition_mean_ratio_leaves_out_pairs_with_an_empty_mechanical_group():
    groups = np.array([1, 1, 2, 2])
    thermal = pd.DataFrame({"sample_id": ["t0", "t1"], "energy_eV_per_atom": [-4.65, -4.64],
                            "s_1": [0.4, 0.5], "s_2": [0.2, 0.1], "s_3": [0.3, 0.2], "s_4": [0.1, 0.2]})
    mech = pd.DataFrame({"sample_id": ["m0", "m1"], "shear_T_K": [300.0, 300.0],
                         "energy_eV_per_atom": [-4.65, -4.64], "von_mises_strain_std": [0.1, 0.1],
                         het.PRIMARY_STRAIN_STATISTIC: [0.05, 0.05],
                         "s_1": [0.5, 0.6], "s_2": [0.1, 0.4], "s_3": [0.2, 0.0], "s_4": [0.2, 0.0]})
    pairs = het.pair_table(mech, thermal, ["s_1", "s_2", "s_3", "s_4"], groups, 0.001)
    assert np.isinf(pairs.loc[1, "ratio_sum_group2"])  # m1 has nothing in group 2
    summary = het.condition_summary(pairs).iloc[0]
    assert summary["ratio_sum_group2_mean"] == pytest.approx(0.4 / 0.4)
    assert summary["ratio_sum_group2_n_undefined"] == 1
    assert summary["ratio_sum_group1_mean"] == pytest.approx((0.6 / 0.6 + 0.6 / 1.0) / 2)
    assert summary["ratio_sum_group1_n_undefined"] == 0


def synthetic_samples(seed=2):
    """Thermal barcodes close to a smooth energy trend; mechanical ones with group-2 noise
    that grows as the temperature falls (as the paper reports), strain std likewise."""
    rng = np.random.default_rng(seed)
    groups = np.array([1] * 6 + [2] * 4)
    columns = [f"s_{i:02d}" for i in range(1, 11)]

    def barcode(energy, group2_noise, n):
        base = np.linspace(1.0, 2.0, 10) + 30.0 * (energy[:, None] + 4.65) * np.linspace(-1, 1, 10)
        noisy = base + rng.normal(0, 0.01, (n, 10))
        noisy[:, groups == 2] += rng.normal(0, group2_noise, (n, 4))
        noisy = np.clip(noisy, 1e-6, None)
        return noisy / noisy.sum(axis=1, keepdims=True)

    thermal_energy = np.linspace(-4.68, -4.62, 61)
    thermal = pd.DataFrame(barcode(thermal_energy, 0.0, 61), columns=columns)
    thermal.insert(0, "energy_eV_per_atom", thermal_energy)
    thermal.insert(0, "sample_id", [f"t{i}" for i in range(61)])
    frames = []
    for temperature, noise, strain_std in ((300.0, 0.3, 0.12), (500.0, 0.15, 0.08), (700.0, 0.05, 0.05)):
        energy = rng.uniform(-4.67, -4.63, 8)
        frame = pd.DataFrame(barcode(energy, noise, 8), columns=columns)
        frame.insert(0, "von_mises_strain_std", 2 * strain_std + rng.normal(0, 0.002, 8))
        frame.insert(0, het.PRIMARY_STRAIN_STATISTIC, strain_std + rng.normal(0, 0.002, 8))
        frame.insert(0, "energy_eV_per_atom", energy)
        frame.insert(0, "shear_T_K", temperature)
        frame.insert(0, "sample_id", [f"m{temperature:g}_{i}" for i in range(8)])
        frames.append(frame)
    mech = pd.concat(frames, ignore_index=True)
    mech.loc[0, "energy_eV_per_atom"] = -4.60  # beyond every thermal energy: must stay unmatched
    return thermal, mech, columns, groups


def test_pairs_condition_summary_and_correlation():
    thermal, mech, columns, groups = synthetic_samples()
    tolerance = 0.001
    pairs = het.pair_table(mech, thermal, columns, groups, tolerance)
    assert len(pairs) == len(mech)
    assert not pairs.loc[0, "matched"] and np.isnan(pairs.loc[0, "std_delta_group2"])
    matched = pairs[pairs["matched"]]
    assert (matched["delta_energy_eV_per_atom"].abs() <= tolerance).all()
    summary = het.condition_summary(pairs)
    assert summary["shear_T_K"].tolist() == [300.0, 500.0, 700.0]
    assert summary["n_mech"].tolist() == [8, 8, 8]
    assert summary["n_matched"].tolist() == [7, 8, 8]
    assert (summary["max_abs_delta_energy_eV_per_atom"] <= tolerance).all()
    # group 2 spread grows with the built-in heterogeneity; group 1 does not
    assert summary["std_delta_group2_mean"].is_monotonic_decreasing
    assert (summary["std_delta_group2_sem"] > 0).all()
    correlation = het.heterogeneity_correlation(summary)
    assert correlation["n_conditions"] == 3
    assert correlation["r_group2"] > 0.9


def test_references_have_the_mechanical_samples_number_of_atoms():
    # Thermal samples of another size at the same energy carry another counting noise: they are
    # never references, and a size with no thermal sample leaves its mechanical samples unmatched.
    thermal, mech, columns, groups = synthetic_samples()
    small, large = thermal.assign(n_atoms=500), thermal.assign(n_atoms=3000)
    shifted = large.assign(**{column: large[column] + 0.05 for column in columns},
                           sample_id=[f"big_{i}" for i in range(len(large))])
    mech = mech.assign(n_atoms=np.where(np.arange(len(mech)) % 2, 500, 3000))
    alone_small = het.pair_table(mech[mech["n_atoms"] == 500], small, columns, groups, 0.001)
    alone_large = het.pair_table(mech[mech["n_atoms"] == 3000], shifted, columns, groups, 0.001)
    mixed = het.pair_table(mech, pd.concat([small, shifted], ignore_index=True), columns, groups, 0.001)
    assert mixed["sample_id"].tolist() == mech["sample_id"].tolist()
    pd.testing.assert_frame_equal(mixed[mech["n_atoms"].to_numpy() == 500].reset_index(drop=True), alone_small)
    pd.testing.assert_frame_equal(mixed[mech["n_atoms"].to_numpy() == 3000].reset_index(drop=True), alone_large)
    assert not het.pair_table(mech, small, columns, groups, 0.001)["matched"][mech["n_atoms"] == 3000].any()


def test_the_reference_pool_and_window():
    # The one statement of which thermal samples may be a reference: a barcode, the size asked.
    thermal = pd.DataFrame({"sample_id": ["a", "b", "c", "d"], "n_atoms": [500, 500, 3000, 500],
                            "zero_barcode": [False, True, False, False],
                            "energy_eV_per_atom": [-4.300, -4.300, -4.300, -4.302]})
    assert het.reference_pool(thermal, 500)["sample_id"].tolist() == ["a", "d"]
    assert het.reference_pool(thermal)["sample_id"].tolist() == ["a", "c", "d"]
    assert het.reference_pool(thermal.drop(columns="zero_barcode"), 3000)["sample_id"].tolist() == ["c"]
    # The window is inclusive: a sample exactly at the tolerance belongs to it (values exact in binary).
    window = het.reference_window([-4.0, -4.5, -4.625], -4.25, 0.25)
    assert window.tolist() == [True, True, False]


def test_verdict_separates_a_heterogeneous_structure_from_a_thermal_one():
    thermal, mech, columns, groups = synthetic_samples()
    thermal_barcodes = thermal[columns].to_numpy()
    energies = thermal["energy_eV_per_atom"].to_numpy()
    pairs = het.pair_table(mech, thermal, columns, groups, 0.003)
    summary = het.condition_summary(pairs)
    kwargs = dict(groups=groups, tolerance=0.003, thermal_quantile=0.95, min_thermal_window=3, summary=summary)
    # a thermal sample itself: against the mean of its window, as its thermal peers are
    thermal_like = het.assess_heterogeneity(thermal_barcodes[30], energies[30], thermal_barcodes, energies, **kwargs)
    assert "within the thermal range" in thermal_like.verdict
    window = np.abs(energies - energies[30]) <= 0.003
    assert thermal_like.n_thermal_window == window.sum()
    assert thermal_like.spread_group2 == pytest.approx(
        np.std((thermal_barcodes[window].mean(axis=0) - thermal_barcodes[30])[groups == 2]))
    hot = mech[mech["shear_T_K"] == 300.0].iloc[1]
    verdict = het.assess_heterogeneity(hot[columns].to_numpy(float), hot["energy_eV_per_atom"], thermal_barcodes,
                                       energies, **kwargs)
    assert verdict.spread_group2 > verdict.thermal_upper and "above the thermal range" in verdict.verdict
    assert verdict.closest_condition == 300.0 and "M300" in verdict.verdict
    far = het.assess_heterogeneity(thermal_barcodes[0], -4.50, thermal_barcodes, energies, **kwargs)
    assert far.reference_index == -1 and "cannot be assessed" in far.verdict
    few = het.assess_heterogeneity(thermal_barcodes[30], energies[30], thermal_barcodes, energies,
                                   **{**kwargs, "min_thermal_window": 100})
    assert "undetermined" in few.verdict


def test_zero_barcodes_and_no_thermal_samples_stay_unmatched():
    thermal, mech, columns, groups = synthetic_samples()
    mech = mech.assign(zero_barcode=False)
    mech.loc[3, "zero_barcode"] = True
    thermal = thermal.assign(zero_barcode=False)
    pairs = het.pair_table(mech, thermal, columns, groups, 0.001)
    assert not pairs.loc[3, "matched"] and pairs.loc[3, "zero_barcode"]
    # a zero-barcode thermal sample is never a reference
    thermal.loc[:, "zero_barcode"] = True
    assert not het.pair_table(mech, thermal, columns, groups, 0.001)["matched"].any()
    empty = het.pair_table(mech, thermal.iloc[:0], columns, groups, 0.001)
    assert not empty["matched"].any() and np.isinf(empty["nearest_distance_eV_per_atom"]).all()
    summary = het.condition_summary(empty)
    assert (summary["n_matched"] == 0).all() and summary["std_delta_group2_mean"].isna().all()
    assert het.heterogeneity_correlation(summary)["n_conditions"] == 0


def test_contrast_against_the_mean_reference_in_excess_of_the_thermal_spread():
    """The reference is the mean thermal barcode at the energy; shear adds group-2 spread above
    what thermal samples show against each other there, group 1 none; errors are blocked by
    shear run."""
    thermal, mech, columns, groups = synthetic_samples()
    mech["trajectory_id"] = [f"{row.sample_id.split('_')[0]}_run{int(row.sample_id.split('_')[1]) % 2}"
                             for row in mech.itertuples()]
    tolerance = 0.003
    pairs = het.pair_table(mech, thermal, columns, groups, tolerance)
    matched = pairs[pairs["matched"]]
    row = matched.iloc[0]
    energy = row["energy_eV_per_atom"]
    window = thermal[(thermal["energy_eV_per_atom"] - energy).abs() <= tolerance]
    assert row["n_reference"] == len(window) > 2
    delta = window[columns].to_numpy().mean(axis=0) - mech.loc[mech["sample_id"] == row["sample_id"], columns].to_numpy()[0]
    assert row["std_delta_group2"] == pytest.approx(delta[groups == 2].std())
    summary = het.condition_summary(pairs)
    assert summary["n_runs"].tolist() == [2, 2, 2]
    assert (summary["excess_std_delta_group2_mean"] > 0).all()
    assert summary["excess_std_delta_group2_mean"].is_monotonic_decreasing
    assert (summary["excess_std_delta_group1_mean"].abs() < 0.25 * summary["excess_std_delta_group2_mean"]).all()
    # two runs per condition: the blocked error is the spread of two run means over sqrt(2)
    runs = matched[matched["shear_T_K"] == 500.0].groupby("trajectory_id")["std_delta_group2"].mean()
    assert summary.loc[1, "std_delta_group2_sem"] == pytest.approx(runs.std(ddof=1) / np.sqrt(2))
    assert het.heterogeneity_correlation(summary)["r_excess_group2"] > 0.9


def test_thermal_self_spreads_by_hand():
    groups = np.array([1, 2, 2])
    barcodes = np.array([[0.2, 0.4, 0.4], [0.4, 0.2, 0.4], [0.3, 0.3, 0.4]])
    group1, group2 = het.thermal_self_spreads(barcodes, [-4.650, -4.651, -4.700], groups, 0.002)
    # the first two are each other's only reference: δ = ±(0.2, -0.2, 0); the third has none
    np.testing.assert_allclose(group1[:2], 0.0)
    np.testing.assert_allclose(group2[:2], 0.1)
    assert np.isnan(group1[2]) and np.isnan(group2[2])


def banded(reference, band_strain, band_slab, n_slabs):
    """``reference`` with all its shear in one slab along y: x += γ_band·(y − y_band) inside
    slab ``band_slab`` of ``n_slabs``, a rigid offset above it; the box tilt carries the total."""
    height = reference.cell[1, 1]
    low, high = band_slab * height / n_slabs, (band_slab + 1) * height / n_slabs
    y = reference.positions[:, 1]
    sheared = reference.copy()
    sheared.positions[:, 0] += band_strain * (np.clip(y, low, high) - low)
    cell = reference.cell.array.copy()
    cell[1, 0] += band_strain * (high - low)
    sheared.set_cell(cell, scale_atoms=False)
    return sheared, band_strain * (high - low) / height


def test_window_strain_finds_a_planted_band_and_none_in_affine_flow():
    n_slabs = 4
    reference = bulk("Cu", "fcc", a=3.61, cubic=True).repeat((4, 8, 4))
    reference.positions[:, 1] += 3.61 / 8  # keep atomic planes off the slab boundaries
    reference.wrap()
    band, box_strain = banded(reference, band_strain=0.4, band_slab=1, n_slabs=n_slabs)
    statistics, profile = het.window_strain(reference, band, box_strain, cutoff_A=3.0, n_slabs=n_slabs)
    assert statistics["window_strain"] == pytest.approx(0.1)
    # The band's slab carries most of the strain (its boundary planes share it with their neighbours).
    assert statistics["window_slab_localisation_y"] > 0.6 * n_slabs
    assert statistics["window_slab_localisation"] == statistics["window_slab_localisation_y"]
    assert statistics["window_slab_localisation_x"] == pytest.approx(1.0, abs=0.05)
    assert int(np.argmax(profile)) == n_slabs // 2
    uniform, _ = het.window_strain(reference, affinely_sheared(reference, 0.1, flip=False), 0.1, 3.0, n_slabs)
    assert uniform["window_slab_localisation"] == pytest.approx(1.0, abs=1e-6)
    assert uniform["window_von_mises_std"] == pytest.approx(0.0, abs=1e-9)
    assert uniform["window_participation_ratio"] == pytest.approx(1.0)


def test_window_strains_per_run_and_their_condition_means():
    reference = bulk("Cu", "fcc", a=3.61, cubic=True).repeat((4, 8, 4))
    reference.positions[:, 1] += 3.61 / 8
    reference.wrap()
    band, box_strain = banded(reference, 0.4, 1, 4)
    structures = {"a0": reference, "a1": band, "b0": reference,
                  "b1": affinely_sheared(reference, box_strain, flip=False)}
    # Rows out of strain order: each run's window runs from its least to its most strained IS.
    mech = pd.DataFrame({"trajectory_id": ["a", "b", "a", "b"], "shear_T_K": [300.0] * 4,
                         "strain": [0.15 + box_strain, 0.15, 0.15, 0.15 + box_strain], "strain_cutoff_A": [3.0] * 4,
                         "structure": ["a1", "b0", "a0", "b1"]})
    windows = het.window_strains(mech, structures.__getitem__, n_slabs=4)
    assert windows["trajectory_id"].tolist() == ["a", "b"]
    assert windows["window_slab_localisation"].iloc[0] > 2.4
    assert windows["window_slab_localisation"].iloc[1] == pytest.approx(1.0, abs=1e-6)
    thermal = pd.DataFrame({"sample_id": ["t0"], "energy_eV_per_atom": [-4.65], "s_1": [0.5], "s_2": [0.5]})
    pairs_of = pd.DataFrame({"sample_id": ["a1", "b1"], "trajectory_id": ["a", "b"], "shear_T_K": [300.0] * 2,
                             "energy_eV_per_atom": [-4.65] * 2, het.PRIMARY_STRAIN_STATISTIC: [0.1, 0.1],
                             "von_mises_strain_std": [0.1, 0.1], "s_1": [0.5] * 2, "s_2": [0.5] * 2})
    summary = het.condition_summary(het.pair_table(pairs_of, thermal, ["s_1", "s_2"], np.array([1, 2]), 0.001),
                                    windows=windows)
    localisation = windows["window_slab_localisation"]
    assert summary["window_slab_localisation_mean"].iloc[0] == pytest.approx(localisation.mean())
    assert summary["window_slab_localisation_sem"].iloc[0] == pytest.approx(localisation.std(ddof=1) / np.sqrt(2))
