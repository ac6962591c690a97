"""The public packages' surfaces: ``__all__`` complete, importable, documented, nothing private.

``billport.client`` is the library users program against, so its names are also pinned to
the reference table of docs/client.md ("Public names").
"""

from __future__ import annotations

import importlib
import re
import types
from pathlib import Path

import pytest

import billport.client

PACKAGES = ["billport.client", "billport.outputs", "billport.reconcile"]
CLIENT_DOCS = Path(__file__).resolve().parents[2] / "docs" / "client.md"


def public_names(module: types.ModuleType) -> set[str]:
    """What a module binds that is neither private, a submodule, nor ``from __future__``."""
    return {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and name != "annotations"
    }


@pytest.mark.parametrize("module_name", PACKAGES)
def test_public_surface_is_complete(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert sorted(module.__all__) == sorted(set(module.__all__)), "a name listed twice"
    assert set(module.__all__) == public_names(module)


@pytest.mark.parametrize("module_name", PACKAGES)
def test_star_import_gives_every_listed_name(module_name: str) -> None:
    namespace: dict[str, object] = {}
    exec(f"from {module_name} import *", namespace)  # a fixed module name: nothing untrusted
    module = importlib.import_module(module_name)
    assert {n for n in namespace if n != "__builtins__"} == set(module.__all__)
    assert all(namespace[name] is getattr(module, name) for name in module.__all__)


def test_the_client_leaks_nothing_private() -> None:
    for name in billport.client.__all__:
        assert not name.startswith("_"), name
        value = getattr(billport.client, name)
        home = getattr(value, "__module__", None)
        if home is None:  # a constant: nothing to trace
            assert isinstance(value, str), name
            continue
        assert home.startswith("billport.client."), f"{name} comes from {home}"
        assert not any(part.startswith("_") for part in home.split(".")), f"{name}: {home}"
        assert not getattr(value, "__name__", name).startswith("_"), name


def documented_client_names() -> list[str]:
    """The names in the first column of the "Public names" table of docs/client.md."""
    text = CLIENT_DOCS.read_text("utf-8")
    section = text.split("### Public names", 1)[1]
    section = re.split(r"\n#{1,3} ", section, maxsplit=1)[0]
    return re.findall(r"^\| `([A-Za-z_][A-Za-z0-9_]*)` \|", section, flags=re.MULTILINE)


def test_every_public_client_name_is_documented_once() -> None:
    documented = documented_client_names()
    assert sorted(documented) == sorted(set(documented)), "a name documented twice"
    assert set(documented) == set(billport.client.__all__)
