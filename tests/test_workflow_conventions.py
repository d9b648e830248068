"""Workflow conventions: every rule has a log, threads, resources and a conda env that parses
and lists the packages its script imports; heavy rules have a benchmark; the lint is clean; the
package has no import cycle and plans its histories without the config checks or LAMMPS."""

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO

PIP_NAME = {"yaml": "pyyaml", "sklearn": "scikit-learn"}
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


@pytest.mark.parametrize("rule, block", sorted(rule_blocks().items()))
def test_rule_has_log_resources_env_and_a_matching_env_file(rule, block):
    for directive in ("log:", "threads:", "resources:", "conda:"):
        assert f"    {directive}" in block, f"rule {rule} lacks {directive}"
    if rule in HEAVY_RULES:
        assert "    benchmark:" in block, f"heavy rule {rule} lacks a benchmark"
    env_path = REPO / "workflow" / "rules" / re.search(r'conda:\n\s+"([^"]+)"', block).group(1)
    env = yaml.safe_load(env_path.read_text())
    pip = next(item["pip"] for item in env["dependencies"] if isinstance(item, dict))
    listed = {re.split(r"[\[=<> ]", requirement)[0].lower() for requirement in pip if not requirement.startswith("-e")}
    assert any(r.startswith("-e ..") for r in pip), f"{env_path.name} does not install the mgbarcode package"
    script = REPO / "workflow" / "rules" / re.search(r'script:\n\s+"([^"]+)"', block).group(1)
    missing = imported_packages(script) - listed
    assert not missing, f"{env_path.name} lacks {sorted(missing)} imported by {script.name}"


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
