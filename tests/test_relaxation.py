"""τα from the self-intermediate scattering function: a crystal's F_s stays on its plateau,
a hot liquid's decays; unwrapping follows atoms across the periodic boundary."""

import numpy as np
import pytest
from ase.build import bulk

from mgbarcode import md, relaxation
from mgbarcode.descriptors import random_structure


def md_frames(atoms, potential, temperature_K, n_frames, frame_steps, timestep_ps=0.002, seed=3):
    """Positions and cells of NVT frames (Nosé–Hoover) after a short equilibration."""
    positions, cells = [], []
    with md.lammps_session() as lmp:
        md.load_atoms(lmp, atoms, list(potential.elements))
        md.define_potential(lmp, potential, list(potential.elements), 1.0)
        lmp.commands_list(["minimize 0 1e-2 200 400", f"timestep {timestep_ps}",
                           f"velocity all create {temperature_K} {seed} dist gaussian mom yes",
                           f"fix integrate all nvt temp {temperature_K} {temperature_K} 0.1", "run 500"])
        for _ in range(n_frames):
            lmp.command(f"run {frame_steps} pre no post no")
            positions.append(md.gather_per_atom(lmp, "x", float, 3))
            cells.append(md.cell_matrix(lmp)[0])
    return relaxation.unwrap(np.array(positions), np.array(cells))


@pytest.fixture(scope="module")
def potential(default_config):
    return md.Potential.from_config(default_config["potential"])


def test_crystal_stays_on_its_plateau_and_hot_liquid_decays(potential):
    crystal = bulk("CuZr", "cesiumchloride", a=3.237).repeat(5)  # B2 CuZr, 250 atoms
    lags, f_crystal = relaxation.self_intermediate_scattering(
        md_frames(crystal, potential, 300.0, 60, 50), 0.1, 2.7)
    assert f_crystal[-1] > 0.8  # Debye–Waller plateau exp(-q²<u²>/3), <u²> ~ 0.03 Å² at 300 K
    assert np.isnan(relaxation.relaxation_time(lags, f_crystal))

    liquid = random_structure(250, {"Cu": 0.56, "Zr": 0.44}, 0.054, 2.0, seed=2)
    lags, f_liquid = relaxation.self_intermediate_scattering(
        md_frames(liquid, potential, 2000.0, 60, 25), 0.05, 2.7)
    tau = relaxation.relaxation_time(lags, f_liquid)
    assert f_liquid[-1] < relaxation.RELAXED_LEVEL
    assert 0.05 < tau < 1.0  # a hot metallic liquid relaxes in a fraction of a ps


def test_relaxation_time_interpolates_the_crossing():
    lags = np.linspace(0.0, 3.0, 31)
    f_s = np.exp(-lags / 1.5)
    assert relaxation.relaxation_time(lags, f_s) == pytest.approx(1.5, rel=1e-3)


def test_unwrap_follows_atoms_across_the_boundary_of_a_changing_cell():
    rng = np.random.default_rng(1)
    steps = rng.normal(0, 0.3, size=(40, 20, 3))
    true = np.cumsum(steps, axis=0) + 5.0
    scale = 1.0 + 0.01 * np.sin(np.arange(40))[:, None, None]  # the cell breathes, as under NPT
    cells = scale * np.eye(3)[None] * 10.0
    # Positions of a cell that changes size move affinely with it; wrap into the cell.
    fractional = true / 10.0
    wrapped = (fractional - np.floor(fractional)) * scale * 10.0
    unwrapped = relaxation.unwrap(wrapped, cells)
    expected = wrapped[:1] + np.cumsum(np.concatenate([np.zeros((1, 20, 3)),
                                                        np.diff(fractional, axis=0) * scale[1:] * 10.0]), axis=0)
    np.testing.assert_allclose(unwrapped, expected, atol=1e-9)
