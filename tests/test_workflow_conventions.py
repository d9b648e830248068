"""Workflow conventions: every rule has a log, takes its threads and resources from the config
table, and runs in the conda env of its tool family (envs/<family>.yaml), which pins the lock and
installs the package with the extra that covers what the rule's script imports; heavy rules have
a benchmark; the lint is clean; the package has no import cycle and plans its histories without
the config checks or LAMMPS."""

import ast
import importlib.util
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from mgbarcode.config import merged_config
from tests.conftest import REPO

PIP_NAME = {"yaml": "pyyaml", "sklearn": "scikit-learn"}
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
# The extras that are tool families, each with its envs/<family>.yaml.
FAMILIES = ("md", "descriptors", "learning", "analysis")
# tools/pin_envs.py, which writes those files.
_spec = importlib.util.spec_from_file_location("pin_envs", REPO / "tools" / "pin_envs.py")
pin_envs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pin_envs)
HEAVY_RULES = {"thermal_trajectory", "shear_trajectory", "soap_descriptors", "ule_threshold_calibration",
               "ule_dictionary", "ule_encoding", "energy_model", "shap_ranking"}


def rule_blocks():
    """{rule name: its text} over workflow/rules/*.smk."""
    blocks = {}
    for path in sorted((REPO / "workflow" / "rules").glob("*.smk")):
        parts = re.split(r"^rule (\w+):\n", path.read_text(), flags=re.M)
        blocks.update(dict(zip(parts[1::2], parts[2::2])))
    return blocks


def mgbarcode_source(name):
    """The source file of mgbarcode module or package ``name`` (dotted), or None."""
    path = REPO / "src" / Path(*name.split("."))
    return next((file for file in (path.with_suffix(".py"), path / "__init__.py") if file.exists()), None)


def imported_packages(path, seen=None):
    """Third-party top-level packages a script imports, anywhere in it, following every import
    of the mgbarcode modules it uses (lazy imports included: they run when called), in
    subpackages too (``from mgbarcode.ules import encoding``, ``from ..io import ...``)."""
    seen = set() if seen is None else seen
    packages = set()
    path = Path(path)
    # The package a relative import starts from: src/mgbarcode/ules/encoding.py -> mgbarcode.ules.
    package = path.parent.relative_to(REPO / "src").parts if path.is_relative_to(REPO / "src") else ()
    tree = ast.parse(path.read_text())
    nodes = ast.walk(tree)
    for node in nodes:
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import inside mgbarcode
                module = ".".join(package[:len(package) - node.level + 1] + tuple(filter(None, [node.module])))
            else:
                module = node.module
            names = [module]
            if module.split(".")[0] == "mgbarcode":  # ``from X import a``: a may be a submodule of X
                names += [f"{module}.{a.name}" for a in node.names]
        for name in names:
            top = name.split(".")[0]
            if top == "mgbarcode":
                module_file = mgbarcode_source(name)
                if module_file is not None and module_file not in seen:
                    seen.add(module_file)
                    packages |= imported_packages(module_file, seen)
            elif top not in sys.stdlib_module_names:
                packages.add(PIP_NAME.get(top, top))
    return packages


def requirement_name(requirement):
    return pin_envs.normalize(re.split(r"[\[=<>;! ]", requirement.strip())[0])


def declared_packages(family):
    """Normalized names the package declares for ``family``: core dependencies and the extra."""
    return {requirement_name(r) for r in PYPROJECT["dependencies"] + PYPROJECT["optional-dependencies"][family]}


def env_pip(path):
    env = yaml.safe_load(path.read_text())
    return next(item["pip"] for item in env["dependencies"] if isinstance(item, dict))


# The order every rule states its directives in (a rule leaves out those it does not need).
DIRECTIVE_ORDER = ("input", "output", "log", "benchmark", "wildcard_constraints", "params", "group", "threads",
                   "resources", "conda", "script")


@pytest.mark.parametrize("rule, block", sorted(rule_blocks().items()))
def test_rule_has_log_resources_env_and_a_matching_env_file(rule, block):
    directives = re.findall(r"^    (\w+):", block, flags=re.M)
    assert set(directives) <= set(DIRECTIVE_ORDER), f"rule {rule}: a directive outside {DIRECTIVE_ORDER}"
    assert directives == sorted(directives, key=DIRECTIVE_ORDER.index), \
        f"rule {rule}: directives {directives} are not in the order {DIRECTIVE_ORDER}"
    assert "    log:" in block, f"rule {rule} lacks log:"
    if rule in HEAVY_RULES:
        assert "    benchmark:" in block, f"heavy rule {rule} lacks a benchmark"
    # Threads and resources: the rule's entry of config.resources, through the shared helpers
    # of common.smk; no rule states a number or names itself.
    assert "    threads: config_threads\n" in block, f"rule {rule}: threads: config_threads"
    assert "    resources:\n        **CONFIG_RESOURCES,\n" in block, f"rule {rule}: resources: **CONFIG_RESOURCES"
    env = re.search(r'conda:\n\s+"([^"]+)"', block).group(1)
    family = re.fullmatch(r"\.\./\.\./envs/(\w+)\.yaml", env)
    assert family and family.group(1) in FAMILIES, f"rule {rule}: conda: is not one of envs/{{{','.join(FAMILIES)}}}.yaml"
    family = family.group(1)
    script = REPO / "workflow" / "rules" / re.search(r'script:\n\s+"([^"]+)"', block).group(1)
    missing = {name for name in imported_packages(script) if pin_envs.normalize(name) not in declared_packages(family)}
    assert not missing, f"pyproject.toml: neither the core dependencies nor the {family} extra list {sorted(missing)}, " \
                        f"imported by {script.name} (rule {rule})"


def test_env_files_are_the_families_pinned_from_the_lock():
    """One env per family; each pins every distribution it installs at the lock's version and
    installs the package with the family's extra, and is what tools/pin_envs.py writes (so no
    dependency of the family is left for pip to choose)."""
    assert set(pin_envs.FAMILIES) == set(FAMILIES) <= set(PYPROJECT["optional-dependencies"])
    assert sorted(path.stem for path in (REPO / "envs").glob("*")) == sorted(FAMILIES)
    lock = pin_envs.read_lock()
    for family in FAMILIES:
        path = REPO / "envs" / f"{family}.yaml"
        pip = env_pip(path)
        editable = [r for r in pip if r.startswith("-e")]
        assert [r.split("#")[0].strip() for r in editable] == [f"-e ..[{family}]"], path.name
        for requirement in pip:
            if requirement.startswith("-e"):
                continue
            name, version = requirement.split("==")
            assert pin_envs.normalize(name) in lock, f"{path.name}: {name} is not in requirements.lock"
            assert lock[pin_envs.normalize(name)][1] == version, \
                f"{path.name}: {name}=={version}, requirements.lock pins {lock[pin_envs.normalize(name)][1]}"
        assert declared_packages(family) <= {requirement_name(r) for r in pip if not r.startswith("-e")}, path.name
        assert path.read_text() == pin_envs.env_text(family), f"{path.name} is out of date: run tools/pin_envs.py"


def test_every_rule_takes_its_resources_from_the_config_table():
    """The planned jobs of the paper profile ask for their rule's config.resources entry."""
    config = merged_config([REPO / "config" / "paper.yaml"])
    completed = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--forceall", "--cores", "64", "--nolock",
                                "--configfile", "config/paper.yaml"], cwd=REPO, capture_output=True, text=True)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    jobs = re.findall(r"^rule (\w+):\n(.*?)(?=^\S|\Z)", completed.stdout, flags=re.M | re.S)
    assert {"thermal_trajectory", "energy_model", "ule_dictionary"} <= {rule for rule, _ in jobs}
    for rule, text in jobs:
        if rule == "all":
            continue
        spec = {**config["resources"]["default"], **config["resources"].get(rule, {})}
        threads = re.search(r"^\s+threads: (\d+)$", text, re.M)
        assert (int(threads.group(1)) if threads else 1) == spec["threads"], rule
        resources = re.search(r"^\s+resources: (.*)$", text, re.M).group(1)
        assert re.search(rf"\bmem_mb={spec['mem_mb']}(,|$)", resources), f"rule {rule}: {resources}"
        assert re.search(rf"\bruntime={spec['runtime_min']}(,|$)", resources), f"rule {rule}: {resources}"


def test_rules_take_every_results_path_from_the_layout():
    """The rules name no file of the results folder themselves: mgbarcode.results_layout does,
    and common.smk's result() puts it under results_dir."""
    for path in sorted((REPO / "workflow" / "rules").glob("*.smk")):
        text = path.read_text()
        if path.name == "common.smk":
            text = text.replace('return f"{R}/{relative}"', "")
        assert "{R}/" not in text, f"{path.name} writes a results path by hand; use result(layout....)"


def test_snakemake_lint_is_clean():
    completed = subprocess.run([sys.executable, "-m", "snakemake", "--lint"], cwd=REPO, capture_output=True, text=True)
    assert "Congratulations, your workflow is in a good condition!" in completed.stdout + completed.stderr, \
        completed.stdout + completed.stderr


def package_imports():
    """{module: the mgbarcode modules it imports, anywhere in it (imports inside functions too)}
    over src/mgbarcode, subpackages included; module names are dotted (``mgbarcode.samples``)."""
    root = REPO / "src"
    files = sorted((root / "mgbarcode").rglob("*.py"))
    names = {path: ".".join(path.relative_to(root).with_suffix("").parts).removesuffix(".__init__") for path in files}
    modules = set(names.values())

    def known(name):  # the module itself, or the nearest enclosing one (a name imported from it)
        while name not in modules and "." in name:
            name = name.rsplit(".", 1)[0]
        return name

    graph = {}
    for path, name in names.items():
        package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets |= {alias.name for alias in node.names if alias.name.startswith("mgbarcode")}
            elif isinstance(node, ast.ImportFrom):
                base = ".".join(package[:len(package) - node.level + 1]) if node.level else ""
                module = ".".join(filter(None, [base, node.module]))
                if module.split(".")[0] == "mgbarcode":
                    targets |= {f"{module}.{alias.name}" for alias in node.names}
        graph[name] = {known(target) for target in targets} - {name, known(name.rsplit(".", 1)[0])}
    return graph


def test_the_package_has_no_import_cycle():
    graph = package_imports()
    done, path = set(), []

    def visit(module):
        if module in path:
            raise AssertionError("import cycle: " + " -> ".join(path[path.index(module):] + [module]))
        if module in done:
            return
        path.append(module)
        for target in sorted(graph.get(module, ())):
            visit(target)
        path.pop()
        done.add(module)

    for module in sorted(graph):
        visit(module)


def test_histories_are_planned_without_the_config_checks_or_lammps():
    graph, reached, todo = package_imports(), set(), ["mgbarcode.histories"]
    while todo:
        for target in graph[todo.pop()] - reached:
            reached.add(target)
            todo.append(target)
    assert not reached & {"mgbarcode.config", "mgbarcode.md", "mgbarcode.lammps_engine", "mgbarcode.samples",
                          "mgbarcode.shear"}, sorted(reached)
