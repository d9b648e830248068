"""Voronoi indices of known crystals and clusters, kernel groups, correlations, figures."""

import ase
import numpy as np
import pandas as pd
import pytest
from ase.build import bulk

from mgbarcode import barcode, figures, kernels


def icosahedron(box_A=30.0, radius_A=2.7):
    """Centre atom (index 0) plus 12 vertices of a regular icosahedron in a periodic box."""
    phi = (1 + 5 ** 0.5) / 2
    vertices = []
    for a in (1, -1):
        for b in (1, -1):
            vertices += [(0, a, b * phi), (a, b * phi, 0), (b * phi, 0, a)]
    vertices = np.array(vertices) * radius_A / np.linalg.norm(vertices[0])
    positions = np.vstack([[0, 0, 0], vertices]) + box_A / 2
    return ase.Atoms("Zr" + "Cu" * 12, positions=positions, cell=[box_A] * 3, pbc=True)


def test_voronoi_indices_of_known_structures():
    fcc = bulk("Cu", "fcc", a=3.639, cubic=True).repeat(3)
    assert np.array_equal(kernels.voronoi_indices(fcc), np.tile([0, 12, 0, 0], (len(fcc), 1)))
    b2 = bulk("CuZr", "cesiumchloride", a=3.237).repeat(3)
    assert np.array_equal(kernels.voronoi_indices(b2, [0, 1]), [[0, 6, 0, 8], [0, 6, 0, 8]])
    assert tuple(kernels.voronoi_indices(icosahedron(), [0])[0]) == (0, 0, 12, 0)
    # Radical tessellation with equal radii is the plain one.
    radical = kernels.voronoi_indices(b2, [0], use_radii=True, radii_A={"Cu": 1.3, "Zr": 1.3})
    assert tuple(radical[0]) == (0, 6, 0, 8)


def test_kasper_groups():
    assert kernels.kasper_group((0, 0, 12, 0)) == 1
    assert kernels.kasper_group((0, 2, 8, 2)) == 1
    # 2*3 + 6 = 12: group 1 by the paper's rule (see kasper_group's docstring).
    assert kernels.kasper_group((0, 3, 6, 4)) == 1
    assert kernels.kasper_group((1, 2, 8, 2)) == 2  # a triangular face
    assert kernels.kasper_group((0, 6, 0, 8)) == 1  # B2 truncated octahedron, 2*6 + 0 = 12
    assert kernels.kasper_group((12, 0, 0, 4)) == 2  # diamond: triangular faces
    assert kernels.is_icosahedral((0, 0, 12, 0)) and not kernels.is_icosahedral((0, 2, 8, 2))
    assert kernels.format_index((0, 2, 8, 2)) == "<0,2,8,2>"


def test_kernel_table_reads_each_source_once():
    structures = {"ico": icosahedron(), "b2": bulk("CuZr", "cesiumchloride", a=3.237).repeat(2),
                  "diamond": bulk("Cu", "diamond", a=5.0, cubic=True)}
    reads = []

    def structure_for_sample(sample_id):
        reads.append(sample_id)
        return structures[sample_id]

    top = pd.DataFrame({"rank": [1, 2, 3], "ule_id": [5, 2, 9],
                        "mean_abs_shap": [3e-3, 2e-3, 1e-3]})
    dictionary = pd.DataFrame({"ule_id": [2, 5, 9, 11, 12],
                               "species": ["Cu", "Zr", "Cu", "Cu", "Zr"],
                               "source_sample_id": ["b2", "ico", "diamond", "ico", "b2"],
                               "source_atom": [0, 0, 1, 3, 1]})
    table = kernels.kernel_table(top, dictionary, structure_for_sample)
    assert sorted(reads) == ["b2", "diamond", "ico"]
    assert list(table["ule_id"]) == [5, 2, 9]
    assert list(table["voronoi_index"]) == ["<0,0,12,0>", "<0,6,0,8>", "<12,0,0,4>"]
    assert list(table["group"]) == [1, 1, 2]
    assert list(table["icosahedral"]) == [True, False, False]
    assert list(table["n7_plus"]) == [0, 0, 0]


def test_pearson_and_group_sums():
    energies = np.array([1.0, 2.0, 3.0, 4.0])
    s = np.array([[0.1, 0.5, 0.4], [0.2, 0.4, 0.4], [0.3, 0.3, 0.4], [0.4, 0.2, 0.4]])
    r = barcode.pearson_with_energy(s, energies)
    assert r[0] == pytest.approx(1.0) and r[1] == pytest.approx(-1.0) and np.isnan(r[2])
    sums = barcode.group_sums(s, groups=[1, 1, 2], icosahedral=[True, False, False])
    assert np.allclose(sums["sum_group1"], s[:, 0] + s[:, 1])
    assert np.allclose(sums["sum_group2"], s[:, 2])
    assert np.allclose(sums["sum_icosahedral"], s[:, 0])


def test_figures_write_png_and_svg(tmp_path):
    rng = np.random.default_rng(0)
    energies = -5.0 + 0.01 * rng.random(30)
    s = rng.dirichlet(np.ones(6), size=30)
    groups = np.array([1, 1, 1, 1, 2, 2])
    icosahedral = np.array([True, False, True, False, False, False])
    shap_values = np.sort(rng.exponential(1e-4, 100))[::-1]
    written = [
        figures.parity_plot({"model": {"test": (energies, energies + 1e-3 * rng.standard_normal(30)),
                                       "size": (energies, energies)}}, tmp_path / "parity"),
        figures.shap_distribution(shap_values, k=6, tail_k=4, tail_threshold=3e-4,
                                  output=tmp_path / "shap"),
        figures.barcode_panels(s[figures.representative_indices(energies, 3)],
                               np.sort(energies)[[0, 15, 29]], groups, tmp_path / "barcodes"),
        figures.pearson_plot(barcode.pearson_with_energy(s, energies), icosahedral, groups,
                             tmp_path / "pearson"),
        figures.group_sums_plot(barcode.group_sums(s, groups, icosahedral), energies,
                                tmp_path / "sums"),
        figures.ule_count_vs_threshold([0.9, 0.95, 0.97], [3, 40, 400],
                                       (tmp_path / "a1.png", tmp_path / "a1.svg"),
                                       chosen_threshold=0.95),
    ]
    for png, svg in written:
        assert png.suffix == ".png" and png.read_bytes()[:4] == b"\x89PNG"
        assert svg.suffix == ".svg" and b"<svg" in svg.read_bytes()
    assert not list(tmp_path.glob(".*.tmp"))
