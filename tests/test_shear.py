"""Mechanical samples: trajectory ids and seeds, the shear protocol in LAMMPS (minimised IS in
a box tilted by the applied strain, flips included), and strain heterogeneity of a sheared
glass against the same glass held at the same temperature."""

import math

import numpy as np
import pandas as pd
import pytest

from mgbarcode import atomic_strain, heterogeneity, histories, md, samples, shear
from mgbarcode.md_settings import MDSettings
from mgbarcode.io import read_structure

SHEAR_T_K = 300.0
RATE_PER_PS = 0.1  # fast, so that the box flips (strain > 0.5) within a few thousand steps
SNAPSHOT_STRAINS = (0.2, 0.4, 0.6)
STRAIN_CUTOFF_A = 5.0


def test_trajectory_ids_seeds_and_plan(config):
    trajectories = histories.shear_trajectories(config)
    temperatures, n_sources = config["shear"]["temperatures_K"], config["shear"]["n_sources"]
    assert len(trajectories) == len(temperatures) * n_sources
    assert trajectories[0].trajectory_id == f"mech_T{temperatures[0]:g}_s00"
    for trajectory in trajectories:
        t_index = temperatures.index(trajectory.temperature_K)
        s_index = int(trajectory.trajectory_id.rsplit("_s", 1)[1])
        assert trajectory.seed == config["shear"]["seed_base"] + 1000 * t_index + s_index
        assert trajectory.split == "mech" and trajectory.source_sample_id.startswith(config["shear"]["source_split"])
    assert len({t.seed for t in trajectories}) == len(trajectories)
    plan = trajectories[0].sample_plan(config["md"]["timestep_ps"])
    strains = [strain for _, strain, _ in plan]
    interval = config["shear"]["snapshot_strain_interval"]
    assert strains[0] >= config["shear"]["steady_state_strain"] - 1e-12
    assert strains[-1] <= config["shear"]["total_strain"] + 1e-12
    np.testing.assert_allclose(np.diff(strains), interval)
    steps = np.cumsum([n for _, _, n in plan])
    np.testing.assert_allclose(steps * config["md"]["timestep_ps"] * config["shear"]["strain_rate_per_ps"], strains)
    assert [sample_id for sample_id, _, _ in plan][:2] == [f"{trajectories[0].trajectory_id}_0000",
                                                            f"{trajectories[0].trajectory_id}_0001"]


def test_plan_rejects_an_empty_strain_window(config):
    from mgbarcode.errors import InputError

    config["shear"]["steady_state_strain"] = 0.26
    config["shear"]["total_strain"] = 0.27
    config["shear"]["snapshot_strain_interval"] = 0.1
    with pytest.raises(InputError, match="snapshot_strain_interval"):
        histories.shear_trajectories(config)


@pytest.fixture(scope="module")
def potential(default_config):
    return md.Potential.from_config(default_config["potential"])


@pytest.fixture(scope="module")
def settings(default_config):
    return MDSettings.from_config(default_config["md"])


@pytest.fixture(scope="module")
def glass(potential, settings):
    """A 108-atom Cu-Zr glass: a very fast quench (the IS right after it)."""
    trajectory = histories.ThermalTrajectory(
        trajectory_id="glass", split="train", n_atoms=108, composition={"Cu": 0.56, "Zr": 0.44},
        cooling_rate_K_per_s=1e15, seed=17, melt_temperature_K=2000.0, melt_time_ps=0.3,
        quench_final_temperature_K=1.0, anneal_temperatures_K=(), anneal_time_ps=1.0, snapshot_interval_ps=1.0)
    return samples.run_thermal_trajectory(trajectory, settings, potential)[0]


def shear_trajectory(seed=5):
    return histories.ShearTrajectory(
        trajectory_id="mech_T300_s00", source_trajectory_id="glass", source_sample_id="glass_0000",
        cooling_rate_K_per_s=1e15, temperature_K=SHEAR_T_K, strain_rate_per_ps=RATE_PER_PS,
        total_strain=SNAPSHOT_STRAINS[-1], steady_state_strain=SNAPSHOT_STRAINS[0],
        snapshot_strain_interval=SNAPSHOT_STRAINS[1] - SNAPSHOT_STRAINS[0], equilibration_time_ps=0.5, seed=seed)


@pytest.fixture(scope="module")
def sheared(glass, potential, settings, default_config, tmp_path_factory):
    log_file = tmp_path_factory.mktemp("shear") / "shear.lammps.log"
    return shear.run_shear_trajectory(glass.atoms, shear_trajectory(), settings, potential,
                                      heterogeneity=default_config["heterogeneity"], log_file=log_file)


@pytest.fixture(scope="module")
def held(glass, potential, settings):
    """The same glass held at the shear temperature for the same time (equilibration plus
    shear), then minimised: the thermal counterpart of the first sheared IS."""
    trajectory = shear_trajectory()
    elements = list(potential.elements)
    hold_ps = trajectory.equilibration_time_ps + SNAPSHOT_STRAINS[0] / RATE_PER_PS
    with md.lammps_session() as lmp:
        md.load_atoms(lmp, glass.atoms, elements)
        md.define_potential(lmp, potential, elements, settings.neighbor_skin_A)
        md.minimize(lmp, settings.minimize, settings.pressure_bar)
        reference = md.current_atoms(lmp, elements)
        lmp.commands_list([
            f"timestep {settings.timestep_ps}",
            f"velocity all create {SHEAR_T_K} {trajectory.seed} dist gaussian mom yes rot no",
            f"fix integrate all nvt temp {SHEAR_T_K} {SHEAR_T_K} {settings.thermostat_damp_ps}",
            f"run {settings.steps(hold_ps)}",
        ])
        md.minimize(lmp, settings.minimize, settings.pressure_bar)
        return reference, md.current_atoms(lmp, elements)


@pytest.mark.slow
def test_sheared_inherent_structures_are_minimised_in_the_tilted_box(sheared, glass, settings):
    reference, structures = sheared
    assert [s.meta["strain"] for s in structures] == pytest.approx(SNAPSHOT_STRAINS)
    # the reference is the source, re-minimised in place: the same IS
    assert reference.atoms.get_potential_energy() == pytest.approx(glass.atoms.get_potential_energy(), abs=1e-4)
    assert settings.minimize["cell"] == "relaxed"
    # Under NPT the glass first takes its volume at the shear temperature; from then on the shear
    # is at fixed volume.  Each IS then scales that box (tilt included) to zero pressure: divided
    # by its scale factor (V_IS / V_MD)^(1/3), every IS cell is the MD box, with xy = γ·l_y.
    def md_cell(structure):
        scale = (structure.meta["md_number_density_per_A3"] * structure.atoms.get_volume() / len(structure.atoms))
        return structure.atoms.cell.array / scale ** (1 / 3)

    reference_cell = reference.atoms.cell.array  # the source IS: zero pressure, untilted
    shear_box = np.diag(md_cell(structures[0]))
    assert settings.ensemble == "npt" and not np.allclose(shear_box, np.diag(reference_cell), rtol=1e-6)
    lx, ly = shear_box[0], shear_box[1]
    for structure in structures:
        atoms, meta = structure.atoms, structure.meta
        assert md.max_force(atoms) < settings.minimize["force_tol_eV_per_A"]
        assert abs(meta["pressure_GPa"]) <= settings.minimize["pressure_tol_GPa"]
        assert meta["protocol"] == "shear" and meta["shear_T_K"] == SHEAR_T_K
        assert meta["strain_rate_per_ps"] == RATE_PER_PS and meta["source_sample_id"] == "glass_0000"
        assert math.isnan(meta["anneal_T_K"])
        cell = md_cell(structure)
        np.testing.assert_allclose(np.diag(cell), shear_box, rtol=1e-9)
        # LAMMPS keeps |xy| <= lx/2 by flipping; the tilt equals γ·l_y up to whole box lengths.
        xy = cell[1, 0]
        assert abs(xy) <= lx / 2 + 1e-6
        turns = (reference_cell[1, 0] + meta["strain"] * ly - xy) / lx
        assert turns == pytest.approx(round(turns), abs=1e-6)
    assert round((SNAPSHOT_STRAINS[-1] * ly - md_cell(structures[-1])[1, 0]) / lx) == 1  # flipped


@pytest.mark.slow
def test_shear_makes_strain_heterogeneous(sheared, held):
    _, structures = sheared
    first = structures[0]
    assert first.atoms.get_array(atomic_strain.STRAIN_ARRAY).shape == (len(first.atoms),)
    held_reference, held_atoms = held
    held_strain = atomic_strain.heterogeneity_statistic(
        atomic_strain.von_mises_strain(held_reference, held_atoms, STRAIN_CUTOFF_A))
    # the flow leaves a broad distribution; a thermal hold only a narrow one (measured here:
    # std 0.047 against 0.016, mean 0.126 against 0.035)
    assert first.meta["von_mises_strain_std"] > 2 * held_strain["von_mises_strain_std"]
    assert first.meta["von_mises_strain_mean"] > 2 * held_strain["von_mises_strain_mean"]
    # and the strain accumulates with the applied strain
    assert structures[-1].meta["von_mises_strain_mean"] > structures[0].meta["von_mises_strain_mean"]
    # the neighbour cutoff is the first minimum of the glass's g(r): beyond the first shell's peak
    # (Cu-Cu 2.5, Zr-Zr 3.2 A), before the second shell (~4.5 A)
    cutoff = first.meta["strain_cutoff_A"]
    assert 3.3 < cutoff < 4.3 and all(s.meta["strain_cutoff_A"] == cutoff for s in structures)
    # per interval: none for the window's first IS; then at least the interval's affine strain
    # (η = Δγ/2 for small Δγ), carried unevenly (participation ratio below 1)
    assert np.isnan(first.meta[heterogeneity.PRIMARY_STRAIN_STATISTIC])
    interval = SNAPSHOT_STRAINS[1] - SNAPSHOT_STRAINS[0]
    for structure in structures[1:]:
        meta = structure.meta
        assert meta["interval_von_mises_mean"] > 0.9 * interval / 2
        assert 0 < meta["interval_participation_ratio"] < 1
        assert 0 <= meta["interval_hot_fraction"] <= 1 and meta["interval_slab_localisation"] >= 1
        assert structure.atoms.get_array(atomic_strain.INTERVAL_STRAIN_ARRAY).shape == (len(structure.atoms),)


@pytest.mark.slow
def test_mechanical_catalogue_rows(sheared, tmp_path):
    _, structures = sheared
    trajectory = shear_trajectory()
    columns = shear.SHEAR_CATALOGUE_COLUMNS
    assert set(atomic_strain.STRAIN_STATISTIC_COLUMNS) <= set(columns)
    table = samples.write_trajectory(structures, trajectory, tmp_path / "mech.parquet", tmp_path / "mech",
                                     potential_sha256="x", lammps_version="y", provenance={},
                                     repeat_tolerances={"energy_tol_eV_per_atom": 1e-4, "position_tol_A": 0.1},
                                     extra_columns=columns)
    written = pd.read_parquet(tmp_path / "mech.parquet")
    assert list(written.columns) == list(samples.CATALOGUE_COLUMNS) + list(columns)
    assert (written["split"] == "mech").all() and (written["protocol"] == "shear").all()
    assert written["strain"].tolist() == pytest.approx(SNAPSHOT_STRAINS)
    assert written["seed"].tolist() == [trajectory.seed] * len(structures)
    assert table["sample_id"].tolist() == [s.sample_id for s in structures]
    reread = read_structure(written["structure"].iloc[-1])
    np.testing.assert_allclose(reread.get_array(atomic_strain.STRAIN_ARRAY),
                               structures[-1].atoms.get_array(atomic_strain.STRAIN_ARRAY), rtol=1e-6)
