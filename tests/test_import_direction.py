"""Data flows one way (DESIGN.md section 1): a stage imports only stages to its left and the basics.

Every ``import`` / ``from ... import`` of every module under ``ecodata/`` is checked, wherever it
appears (module level, inside functions, under ``if TYPE_CHECKING``), so a function-level import
cannot hide a loop. The intended order, left to right:

    basics: errors, settings, paths, lock (the data directory's write lock), storage (failed
            writes as one error), and the shared declaration modules endpoints (the
            endpoints and their keys), tables.schemas (every table's columns), snapshot.schema
            (the raw row) and restrictions (the tariff restriction fields); they import only basics
    snapshot < fetch < transform < history < tables < fx < pricing < sql < spark < pipeline < dataset < demo < cli
            < ecodata (the package's public __init__)

* ``transform`` builds frames of the declared tables (``tables.schemas``, a basic); ``tables`` is
  storage (write, read, reference checks); ``pipeline`` runs the transforms into storage.
* No module imports an underscore module of another package (``ecodata.transform._decode`` is
  transform's own business), with no exemption.
* ``fx`` (EUR reference rates) is read by pricing and by the SQL views.
* ``pricing`` reads written tables through ``tables.reader``; it imports neither ``sql`` nor
  ``dataset``. ``dataset`` (``ecodata.open``, ``compare``) queries the views.
* ``pipeline`` orchestrates fetch -> transform -> session costs -> views; ``dataset`` (whose
  ``build`` is the public front door of the daily job), ``demo`` and ``cli`` call it.
* ``simulator`` is isolated: it imports only basics, and only ``demo`` and ``cli`` (which bring
  the simulator and the pipeline together) import it.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "ecodata"

BASICS = {"ecodata.errors", "ecodata.settings", "ecodata.paths", "ecodata.lock", "ecodata.storage",
          "ecodata.endpoints", "ecodata.tables.schemas",
          "ecodata.snapshot.schema", "ecodata.restrictions"}
ORDER = ["snapshot", "fetch", "transform", "history", "tables", "fx", "pricing", "sql", "spark", "pipeline", "lake", "dataset",
         "demo", "cli",
         "ecodata"]
SIMULATOR_USERS = {"demo", "cli"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def stage(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "ecodata"


def ecodata_imports(path: Path) -> set[str]:
    """Every ecodata module a file imports, relative imports resolved, at any depth of the tree."""
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            # "from ecodata.x import y" may name a submodule y: check it as x.y when it is one
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.add(sub if (PACKAGE.parent / sub.replace(".", "/")).with_suffix(".py").is_file()
                          or (PACKAGE.parent / sub.replace(".", "/")).is_dir() else target)
    return {name for name in found if name == "ecodata" or name.startswith("ecodata.")}


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def allowed(importer: str, imported: str) -> bool:
    if imported in BASICS:
        return True
    if importer in BASICS:
        return False  # a basic imports only basics
    source, target = stage(importer), stage(imported)
    if source == target:
        return True
    if "simulator" in (source, target):
        return target == "simulator" and source in SIMULATOR_USERS
    return ORDER.index(target) < ORDER.index(source)


def test_every_module_has_a_stage():
    stages = {stage(m) for m in MODULES if m not in BASICS}
    assert stages - {"simulator"} <= set(ORDER), sorted(stages - {"simulator"} - set(ORDER))


@pytest.mark.parametrize("module", sorted(MODULES))
def test_a_module_imports_only_stages_to_its_left(module):
    wrong = sorted(t for t in ecodata_imports(MODULES[module]) if not allowed(module, t))
    assert wrong == [], f"{module} imports {wrong}: against the data flow (see this test's docstring)"


def private_to_another_package(importer: str, imported: str) -> bool:
    """True when ``imported`` is an underscore module of a package other than ``importer``'s own."""
    package, _, leaf = imported.rpartition(".")
    own = importer if (PACKAGE.parent / importer.replace(".", "/")).is_dir() else importer.rpartition(".")[0]
    return leaf.startswith("_") and package != own


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_imports_another_packages_private_module(module):
    wrong = sorted(t for t in ecodata_imports(MODULES[module]) if private_to_another_package(module, t))
    assert wrong == [], f"{module} imports private modules of another package: {wrong}"


def test_the_private_module_rule_bites():
    assert private_to_another_package("ecodata.pipeline", "ecodata.transform._decode")
    assert private_to_another_package("ecodata.tables.write", "ecodata.transform._common")
    assert not private_to_another_package("ecodata.transform.prices", "ecodata.transform._common")
    assert not private_to_another_package("ecodata.transform", "ecodata.transform._decode")


def test_function_level_imports_are_seen_and_the_rules_bite():
    cli = ecodata_imports(MODULES["ecodata.cli"])
    assert {"ecodata.pipeline", "ecodata.dataset", "ecodata.simulator"} <= cli  # all inside commands
    assert "ecodata.fx" in ecodata_imports(MODULES["ecodata.pricing.vectorised"])  # inside a function
    for importer, imported in [("ecodata.pricing.comparison", "ecodata.dataset"), ("ecodata.tables.write", "ecodata.sql"),
                               ("ecodata.tables.write", "ecodata.pricing"), ("ecodata.pipeline", "ecodata.simulator"),
                               ("ecodata.simulator.app", "ecodata.snapshot.writer"),
                               ("ecodata.transform.prices", "ecodata.tables.write"),
                               ("ecodata.paths", "ecodata.fetch")]:
        assert not allowed(importer, imported), (importer, imported)
    assert allowed("ecodata.transform.prices", "ecodata.tables.schemas")
    assert allowed("ecodata.pipeline", "ecodata.fetch")
