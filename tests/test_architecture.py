"""The layers of the package: imports point down, whole levels, the README's table says the
same; the core imports without torch, matplotlib or the Monte Carlo evaluators; importing
changes nothing in the importing process."""

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "mrambnn"

# Level of each top-level module or package; a module may import only lower levels, or
# its own unit. `datasets` is data access at level 0, NumPy and Pillow only (see README).
LEVELS = {
    "units": 0, "bits": 0, "datasets": 0, "architectures": 0,
    "physics": 1, "engine": 1,
    "montecarlo": 2, "memory": 2, "nn": 2, "models": 2, "importers": 2,
    "experiments": 3,
    "plots": 4,
    "report": 5,
    "cli": 6,
}
ROOT_ALLOWED = {"mrambnn"}  # `from mrambnn import __version__`


def _unit(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0].removesuffix(".py")


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def _modules():
    return [p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py" or p.parent != PACKAGE]


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down(path: Path) -> None:
    unit = _unit(path)
    assert unit in LEVELS, f"{unit} has no level in the architecture table"
    for name in _imports(path):
        parts = name.split(".")
        if parts[0] != "mrambnn" or len(parts) == 1:
            if parts[0] == "torch":
                assert unit == "nn", f"{path.name} imports torch; only nn/ may"
            if parts[0] == "matplotlib":
                assert unit.startswith("plots"), f"{path.name} imports matplotlib"
            continue
        target = parts[1]
        assert target in LEVELS, f"{path} imports unknown unit {target}"
        assert target == unit or LEVELS[target] < LEVELS[unit], (
            f"{path.relative_to(PACKAGE)} (level {LEVELS[unit]}) imports {name} "
            f"(level {LEVELS[target]})")


def test_levels_are_whole_and_cover_the_tree() -> None:
    assert all(isinstance(level, int) for level in LEVELS.values())
    units = {p.name.removesuffix(".py") for p in PACKAGE.iterdir()
             if (p.suffix == ".py" and p.name != "__init__.py")
             or (p.is_dir() and (p / "__init__.py").exists())}
    assert units == set(LEVELS)


def test_readme_architecture_table_matches_the_levels() -> None:
    """Each row `| level | unit, unit | ... |` of README's table names units of that level."""
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("| level | package |"):].split("\n\n")[0]
    listed = {}
    for row in table.splitlines()[2:]:
        level, names = row.split("|")[1:3]
        for name in re.findall(r"`(\w+)", names):
            listed[name] = int(level)
    assert listed == LEVELS


_FRESH = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('torch', 'matplotlib'):
            raise ImportError('blocked: ' + name)
sys.meta_path.insert(0, Block())
"""


def test_core_imports_without_torch_matplotlib_or_the_evaluators() -> None:
    script = _FRESH + """
import mrambnn.engine
assert not any(m.startswith('mrambnn.montecarlo') for m in sys.modules), 'engine imports montecarlo'
import mrambnn.bits, mrambnn.units, mrambnn.memory, mrambnn.physics, mrambnn.montecarlo
import mrambnn.experiments, mrambnn.datasets, mrambnn.models
assert 'torch' not in sys.modules and 'matplotlib' not in sys.modules
"""
    subprocess.run([sys.executable, "-c", script], check=True)


def test_importing_changes_nothing_in_the_process() -> None:
    """No environment variable, no numba threading layer or thread count is set by an
    import of any module of the package."""
    modules = sorted(".".join(("mrambnn", *p.relative_to(PACKAGE).with_suffix("").parts))
                     .removesuffix(".__init__") for p in PACKAGE.rglob("*.py")
                     if p.name != "__main__.py")  # that one runs the command
    script = f"""
import os, numba
before = (dict(os.environ), numba.config.THREADING_LAYER, numba.get_num_threads())
import importlib
for name in {modules!r}:
    importlib.import_module(name)
after = (dict(os.environ), numba.config.THREADING_LAYER, numba.get_num_threads())
assert before == after, [k for k in set(before[0]) ^ set(after[0])] or after[1:]
"""
    subprocess.run([sys.executable, "-c", script], check=True)
