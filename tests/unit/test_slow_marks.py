"""The fast run (``-m "not slow"``) starts no real processes: every acceptance module is slow."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ACCEPTANCE = Path(__file__).resolve().parents[1] / "acceptance"


def module_marks(path: Path) -> set[str]:
    """The ``pytest.mark.<name>`` names in a module's ``pytestmark`` assignment."""
    for node in ast.parse(path.read_text("utf-8")).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets
        ):
            return {
                n.attr
                for n in ast.walk(node.value)
                if isinstance(n, ast.Attribute)
                and isinstance(n.value, ast.Attribute)
                and n.value.attr == "mark"
            }
    return set()


@pytest.mark.parametrize("path", sorted(ACCEPTANCE.glob("test_*.py")), ids=lambda p: p.name)
def test_every_acceptance_module_is_marked_slow(path: Path) -> None:
    assert "slow" in module_marks(path), f"{path.name}: add pytestmark = pytest.mark.slow"
