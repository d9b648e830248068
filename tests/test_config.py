"""The config is checked before anything runs; each error names the key and the fix."""

import re

import pytest
import yaml

from mgbarcode import cli
from mgbarcode import config as config_module
from mgbarcode import histories
from mgbarcode.errors import InputError
from tests.conftest import REPO, SHENG_POTENTIAL, run_snakemake


def test_default_profile_is_valid(default_config):
    config_module.validate(default_config)
    trajectories = histories.thermal_trajectories(default_config)
    assert len({t.trajectory_id for t in trajectories}) == len(trajectories)
    assert len({t.seed for t in trajectories}) == len(trajectories)


@pytest.mark.parametrize("change, key, words", [
    (lambda c: c["md"].update(timestep_ps="1 fs"), "md.timestep_ps", "not of type 'number'"),
    (lambda c: c["md"].update(timstep_ps=0.001), "md.timstep_ps", "unknown key"),
    (lambda c: c["thermal"]["cooling_rates_K_per_s"].__setitem__(0, "1.0e13"), "thermal.cooling_rates_K_per_s[0]",
     "signed exponent"),
    (lambda c: c.update(extra_section={}), "extra_section", "unknown key"),
    (lambda c: c["thermal"]["cooling_rates_K_per_s"].__setitem__(0, 0.0), "thermal.cooling_rates_K_per_s[0]", "minimum"),
    (lambda c: c["thermal"]["cooling_rates_K_per_s"].__setitem__(1, -1e12), "thermal.cooling_rates_K_per_s[1]", "minimum"),
    (lambda c: c["thermal"].update(anneal_temperatures_K=[700.0, 2500.0]), "thermal.anneal_temperatures_K[1]", "not below the melt"),
    (lambda c: c["ules"].update(threshold=1.2), "ules.threshold", "threshold strictly between 0 and 1"),
    (lambda c: c["ules"].update(threshold=0.0), "ules.threshold", "threshold strictly between 0 and 1"),
    (lambda c: c["thermal"]["splits"]["test"].update(seed_base=c["thermal"]["splits"]["train"]["seed_base"] + 1),
     "thermal.splits.test.seed_base", "overlap"),
    (lambda c: c["alloy"].update(composition={"Cu": 0.6, "Zr": 0.6}), "alloy.composition", "add up to"),
    (lambda c: c["alloy"].update(composition={"Cu": 0.5, "Al": 0.5}), "potential.elements", "Al"),
    # 512 atoms round Zr44Cu56 to Cu287Zr225, train's 250 give Cu140Zr110: refused, valid N named.
    (lambda c: c["thermal"]["splits"]["size"].update(n_atoms=512), "thermal.splits.size.n_atoms",
     "multiples of 25 (e.g. 500"),
    (lambda c: c["thermal"]["ladder"].update(snapshot_intervals_ps=[1.0]), "thermal.ladder", "differ in length"),
    (lambda c: c["thermal"]["ladder"]["parent_temperatures_K"].reverse(), "thermal.ladder.parent_temperatures_K",
     "do not descend"),
    (lambda c: c["thermal"]["splits"]["test"].update(replicas_per_rate=0, ladder_chains=0), "thermal.splits.test",
     "no histories"),
    (lambda c: c["md"].update(ensemble="nvt"), "md.minimize.cell", "relaxed with md.ensemble nvt"),
    (lambda c: c["md"]["minimize"].update(cell="box"), "md.minimize.cell", "use fixed"),
    # The alloy's elements, the potential's, SOAP's and the Voronoi radii are checked against each other.
    (lambda c: c["soap"].update(species=["Cu"]), "soap.species", "set soap.species: [Cu, Zr]"),
    (lambda c: c["soap"].update(species=["Cu", "Zr", "Al"]), "soap.species", "differ from the elements"),
    (lambda c: c["soap"].update(species=["Cu", "ZR"]), "soap.species", "not chemical symbols"),
    (lambda c: c["soap"].update(species=["Cu", "Zr", "Cu"]), "soap.species", "non-unique"),
    (lambda c: c["potential"].update(elements=["Cu", "Cu"]), "potential.elements", "non-unique"),
    (lambda c: c["potential"].update(elements=["Zr", "Cu"]), "potential.elements",
     "lists ['Cu', 'Zr']. Fix: set potential.elements: [Cu, Zr]"),
    (lambda c: c["potential"].update(file="/usr/share/lammps/potentials/CoAl.eam.alloy", pair_style="eam/alloy",
                                     elements=["Al", "Co"]) or c["alloy"].update(composition={"Al": 0.5, "Co": 0.5})
     or c["soap"].update(species=["Al", "Co"]), "potential.elements", "set potential.elements: [Co, Al]"),
    (lambda c: c["kernels"].update(use_radii=True, radii_A={"Cu": 1.28}), "kernels.radii_A",
     "no Voronoi radius for ['Zr']"),
    # 250 train atoms at 0.1 % Al round to no Al atom at all.
    (lambda c: c["alloy"].update(composition={"Cu": 0.56, "Zr": 0.439, "Al": 0.001})
     or c["potential"].update(file="/nonexistent.eam.alloy", elements=["Cu", "Zr", "Al"])
     or c["soap"].update(species=["Cu", "Zr", "Al"]), "thermal.splits.train.n_atoms", "no atom of ['Al']"),
])
def test_bad_config_names_the_key(config, change, key, words):
    change(config)
    with pytest.raises(InputError) as raised:
        config_module.validate(config, source="my.yaml")
    message = str(raised.value)
    assert message.startswith(f"my.yaml: {key}:"), message
    assert words in message and "Fix:" in message


def test_kernel_radii_may_be_incomplete_when_unused(config):
    config["kernels"].update(use_radii=False, radii_A={})
    config_module.validate(config)


def test_the_header_order_of_sheng_s_eam_alloy_file_is_checked(config):
    """Sheng's Zr-Cu file lists Zr before Cu (the shared file, read in place; skipped without it)."""
    if not SHENG_POTENTIAL.is_file():
        pytest.skip(f"{SHENG_POTENTIAL} is absent (set MGBARCODE_SHARED_POTENTIALS to its folder)")
    config["potential"].update(file=str(SHENG_POTENTIAL), pair_style="eam/alloy", elements=["Cu", "Zr"])
    wrong_order = r"potential.elements: .* lists \['Zr', 'Cu'\]\. Fix: set potential.elements: \[Zr, Cu\]"
    with pytest.raises(InputError, match=wrong_order):
        config_module.validate(config, source="my.yaml")
    config["potential"]["elements"] = ["Zr", "Cu"]
    config_module.validate(config)


def test_an_overlay_profile_for_another_alloy_drops_the_default_elements():
    """Profiles merge key by key, so tests/data/tiny_coal.yaml removes Cu and Zr by null; the
    merged config is Co-Al alone, with every element check passed."""
    merged = config_module.merged_config([REPO / "tests" / "data" / "tiny.yaml", REPO / "tests" / "data" / "tiny_coal.yaml"])
    config_module.validate(merged)
    assert merged["alloy"]["composition"] == {"Co": 0.5, "Al": 0.5}
    counts = [t.species_counts() for t in histories.thermal_trajectories(merged)]
    assert all(set(c) == {"Al", "Co"} and c["Al"] == c["Co"] for c in counts)


def test_snakemake_refuses_a_bad_config_before_running(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"thermal": {"cooling_rates_K_per_s": [1e13, -5.0]}}))
    completed = run_snakemake(tmp_path / "results", "-n", extra=["--configfile", str(bad)], check=False)
    assert completed.returncode != 0
    assert "thermal.cooling_rates_K_per_s[1]" in completed.stdout + completed.stderr
    assert not (tmp_path / "results").exists()


def test_a_resources_entry_must_name_a_rule(tmp_path):
    misspelt = tmp_path / "misspelt.yaml"
    misspelt.write_text(yaml.safe_dump({"resources": {"energy_modle": {"threads": 2}}}))
    completed = run_snakemake(tmp_path / "results", "-n", extra=["--configfile", str(misspelt)], check=False)
    assert completed.returncode != 0
    assert "resources.energy_modle: names no rule of the workflow" in completed.stdout + completed.stderr
    assert "energy_model" in completed.stdout + completed.stderr


def test_rate_labels_are_filename_safe():
    assert histories.rate_label(5e14) == "5e14"
    assert histories.rate_label(2.5e13) == "2.5e13"
    assert histories.rate_label(1e10) == "1e10"


def test_trajectory_batches_keep_kinds_apart_and_order(default_config):
    ids = {"thermal": [t.trajectory_id for t in histories.thermal_trajectories(default_config)],
           "mech": ["mech_a", "mech_b", "mech_c"]}
    for per_job in (1, 2, 4, 1000):
        batches = histories.trajectory_batches(ids, per_job)
        assert [t for members in batches.values() for t in members] == ids["thermal"] + ids["mech"]
        for batch_id, members in batches.items():
            assert 1 <= len(members) <= per_job
            assert set(members) <= set(ids[batch_id.rsplit("_b", 1)[0]])
    assert list(histories.trajectory_batches(ids, 2))[-2:] == ["mech_b000", "mech_b001"]
    assert len(histories.trajectory_batches(ids, 1)) == len(ids["thermal"]) + 3
    with pytest.raises(ValueError):
        histories.trajectory_batches(ids, 0)


def test_provenance_carries_hash_seeds_and_potential_checksum(default_config):
    from mgbarcode import provenance

    record = provenance.record(default_config, seeds={"trajectory": 100001})
    assert record["config_sha256"] == provenance.config_hash(default_config)
    assert record["potential_sha256"] == provenance.sha256_file(default_config["potential"]["file"])
    assert record["seeds"]["thermal.splits.train.seed_base"] == default_config["thermal"]["splits"]["train"]["seed_base"]
    assert record["seeds"]["model.seed"] == default_config["model"]["seed"] and record["seeds"]["trajectory"] == 100001
    assert {"lammps", "dscribe", "xgboost"} <= set(record["versions"])
    # where and how a run executes does not change the hash; the science does
    moved = {**default_config, "results_dir": "elsewhere", "jobs": {"trajectories_per_job": 1},
             "md": {**default_config["md"], "engine": "mpirun -np 2 lmp"}}
    assert provenance.config_hash(moved) == record["config_sha256"]
    changed = {**default_config, "barcode": {**default_config["barcode"], "k": 7}}
    assert provenance.config_hash(changed) != record["config_sha256"]


def test_check_setup_reads_the_snakemake_command_line_it_precedes(capsys, tmp_path):
    # ./setup.sh run passes its Snakemake arguments to check-setup: --config is read (not taken
    # for an abbreviation of --configfile), the rest is left to Snakemake.
    assert cli.main(["check-setup", "--config", f"results_dir={tmp_path}", "--cores", "2", "-n"]) == 0
    missing = tmp_path / "none.eam.fs"
    assert cli.main(["check-setup", "--cores", "2", "--config", f"results_dir={tmp_path}",
                     f"potential={{file: {missing}}}"]) == 1
    message = capsys.readouterr().err
    assert f"{missing}: potential.file: file not found" in message


def documented_keys(readme_text):
    """{key path or 'section.*': the row's text} from config/README.md's table: a first cell
    lists `a.b`, then `.c` (a sibling of the previous key) or `a.{b,c}`."""
    rows = {}
    for line in readme_text.splitlines():
        if not line.startswith("| `"):
            continue
        first, text = line.split(" | ", 1)
        previous = None
        for name in re.findall(r"`([^`]+)`", first):
            if name.startswith("."):
                if previous is None:
                    continue
                name = previous.rsplit(".", 1)[0] + name
            elif "." not in name and previous is not None:
                continue  # a value named in the cell, such as (`npt`/`nvt`)
            group = re.fullmatch(r"(.*)\{(.*)\}", name)
            for full in ([group.group(1) + member for member in group.group(2).split(",")] if group else [name]):
                rows[full] = text
            previous = name
    return rows


def test_every_config_key_is_described_in_config_readme(default_config):
    rows = documented_keys((REPO / "config" / "README.md").read_text())

    def leaves(node, path):
        for key, value in node.items():
            full = f"{path}.{key}" if path else key
            if full == "resources":
                yield "resources.<rule>"
            elif full in ("alloy.composition", "kernels.radii_A"):  # maps by element, described as a whole
                yield full
            elif isinstance(value, dict) and value:
                yield from leaves(value, full)
            else:
                yield full

    undescribed = []
    for key in leaves(default_config, ""):
        parts = key.split(".")
        ancestors = [".".join(parts[:i]) for i in range(len(parts) - 1, 0, -1)]
        # A key is described by its own row, or named in the row of a section that holds it.
        described = key in rows or any(f"`{parts[-1]}`" in rows.get(name, "") + rows.get(f"{name}.*", "")
                                       for name in ancestors)
        if not described:
            undescribed.append(key)
    assert not undescribed, f"config/README.md describes no row for {undescribed}"
