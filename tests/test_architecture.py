"""The import direction of DESIGN.md, and a core that imports without torch or matplotlib."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "mrambnn"

# Level of each top-level module or package; a module may import only lower levels, or
# its own unit. `datasets` is NumPy-only data access at level 0 (see README).
LEVELS = {
    "units": 0, "bits": 0, "datasets": 0,
    "physics": 1, "engine": 1,
    "montecarlo": 2, "memory": 2, "nn": 2, "models": 2,
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


def test_core_imports_without_torch_and_matplotlib() -> None:
    script = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('torch', 'matplotlib'):
            raise ImportError('blocked: ' + name)
sys.meta_path.insert(0, Block())
import mrambnn.bits, mrambnn.units, mrambnn.engine, mrambnn.memory, mrambnn.physics
import mrambnn.experiments, mrambnn.datasets, mrambnn.models
assert 'torch' not in sys.modules and 'matplotlib' not in sys.modules
"""
    subprocess.run([sys.executable, "-c", script], check=True)
