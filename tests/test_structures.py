"""Structure files a user brings: each bad file gives an error naming the file, the field and
the fix; good LAMMPS and extended-XYZ files read back the same atoms."""

import numpy as np
import pytest
from ase.build import bulk
from ase.io import write

from mgbarcode.errors import InputError
from mgbarcode.structures import read


@pytest.fixture()
def crystal():
    return bulk("CuZr", "cesiumchloride", a=3.24).repeat(3)


def test_extxyz_and_lammps_files_read_back(tmp_path, crystal):
    write(tmp_path / "good.extxyz", crystal, format="extxyz")
    write(tmp_path / "good.data", crystal, format="lammps-data", specorder=["Cu", "Zr"])
    for name, kwargs in (("good.extxyz", {}), ("good.data", {"type_elements": ["Cu", "Zr"]})):
        atoms = read(tmp_path / name, **kwargs)
        assert atoms.get_chemical_formula() == crystal.get_chemical_formula()
        assert np.allclose(atoms.cell.volume, crystal.cell.volume)


def bad_files(tmp_path, crystal):
    text = (tmp_path / "src.extxyz")
    write(text, crystal, format="extxyz")
    lines = text.read_text().splitlines()
    nan = crystal.copy()
    nan.positions[3] = np.nan
    overlapping = crystal.copy()
    overlapping.positions[1] = overlapping.positions[0] + 0.1
    cases = {
        "empty.extxyz": ("", None),
        "truncated.extxyz": ("\n".join(lines[: len(lines) // 2]) + "\n", None),
        "garbage.extxyz": ("this is not a structure\n", None),
        "nan.extxyz": (nan, None),
        "overlap.extxyz": (overlapping, None),
        "untyped.data": (crystal, None),
        "structure.pdf": ("%PDF", None),
    }
    for name, (content, _) in cases.items():
        path = tmp_path / name
        if isinstance(content, str):
            path.write_text(content)
        elif name.endswith(".data"):
            write(path, content, format="lammps-data", specorder=["Cu", "Zr"])
        else:
            write(path, content, format="extxyz")
    return tmp_path


@pytest.mark.parametrize("name, field, words", [
    ("empty.extxyz", "(file)", "empty"),
    ("truncated.extxyz", "(contents)", "truncated"),
    ("garbage.extxyz", "(contents)", "cannot be read"),
    ("nan.extxyz", "atom 3 position", "NaN"),
    ("overlap.extxyz", "atoms 0 and 1", "overlapping"),
    ("untyped.data", "atom types", "--types"),
    ("structure.pdf", "file name", "suffix"),
    ("missing.extxyz", "(file)", "not found"),
])
def test_bad_structure_files(tmp_path, crystal, name, field, words):
    folder = bad_files(tmp_path, crystal)
    with pytest.raises(InputError) as raised:
        read(folder / name)
    message = str(raised.value)
    assert message.startswith(f"{folder / name}: {field}:"), message
    assert words in message and "Fix:" in message


def test_unknown_species_are_named(tmp_path):
    from mgbarcode.structures import check

    atoms = bulk("Al", "fcc", a=4.05).repeat(2)
    with pytest.raises(InputError, match=r"\['Al'\] not among the model's species"):
        check(atoms, tmp_path / "al.extxyz", allowed_species=["Cu", "Zr"])
