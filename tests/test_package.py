"""The package surface and its architecture: one import surface, one error tree, layers
without cycles, no work at import time, optional dependencies loaded on first use."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
import subprocess
import sys
import textwrap
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

import registration_fsm
from registration_fsm import errors

PACKAGE = Path(registration_fsm.__file__).parent

#: The names a user needs (issue 8): all from the one surface.
SURFACE = (
    "Synchronizer", "MemoryStore", "SQLiteStore", "Boto3RegistrationApi",
    "EmulatedRegistrationApi", "EmulatorClient", "serve", "Registration", "LIFECYCLE",
    "LifecyclePolicy", "CommandRefused", "ConflictError", "ApiError", "TransitionEvent",
)  # fmt: skip

#: What each layer may import from the package (besides itself and the error tree).
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "domain": set(),
    "ports": set(),
    "arguments": {"domain", "ports"},
    "quotas": set(),
    "pacing": set(),
    "store": {"domain"},
    "audit": {"domain", "store"},
    "emulator": {"domain", "ports", "arguments", "quotas", "pacing"},
    "adapters": {"domain", "ports", "arguments", "quotas", "pacing"},
    "sync": {"domain", "ports", "store", "quotas", "pacing"},
    "diagrams": {"domain", "quotas"},
    "report": {"domain", "store", "audit", "diagrams"},
    "fleet": {"domain", "ports", "store", "quotas", "pacing", "sync", "adapters"},
    "testing": {
        "domain",
        "ports",
        "arguments",
        "store",
        "sync",
        "emulator",
        "adapters",
        "quotas",
        "pacing",
    },
    "cli": {
        "domain",
        "ports",
        "arguments",
        "store",
        "sync",
        "emulator",
        "adapters",
        "audit",
        "diagrams",
        "report",
        "quotas",
        "pacing",
        "fleet",
    },
}


def test_the_surface_names_come_from_one_import() -> None:
    namespace: dict[str, object] = {}
    exec(f"from registration_fsm import {', '.join(SURFACE)}", namespace)
    for name in SURFACE:
        assert namespace[name] is not None, name


def test_all_is_sorted_unique_and_complete() -> None:
    exported = registration_fsm.__all__
    assert len(set(exported)) == len(exported)
    assert sorted(exported, key=lambda n: (not n.isupper(), n)) == exported
    for name in exported:
        assert getattr(registration_fsm, name) is not None, name
    # Every public class and function bound in the package namespace is exported.
    bound = {
        n
        for n, v in vars(registration_fsm).items()
        if not n.startswith("_")
        and (inspect.isclass(v) or inspect.isfunction(v))
        and v.__module__.startswith("registration_fsm")
    }
    assert bound <= set(exported), bound - set(exported)
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = registration_fsm.Nope


def _modules() -> Iterator[str]:
    yield "registration_fsm"
    for info in pkgutil.walk_packages([str(PACKAGE)], "registration_fsm."):
        if info.name.endswith("__main__"):
            continue
        yield info.name


def test_every_exception_lives_in_the_error_tree() -> None:
    homes: dict[str, str] = {}
    for name in _modules():
        if name.startswith("registration_fsm.testing.") and name.rsplit(".", 1)[1] in (
            "machine",
            "strategies",
        ):
            pytest.importorskip("hypothesis")
        module = importlib.import_module(name)
        for attr, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and not issubclass(value, Warning)  # emitted, never raised
                and value.__module__ == name
                and not attr.startswith("_")
            ):
                homes[attr] = name
    assert set(homes.values()) == {"registration_fsm.errors"}, homes
    tree = [v for v in vars(errors).values() if isinstance(v, type) and issubclass(v, Exception)]
    assert len(tree) > 30
    for cls in tree:
        assert issubclass(cls, registration_fsm.RegistrationError), cls
    # The API's conflicts are API errors; wrong values are ValueErrors, wrong types TypeErrors.
    assert issubclass(errors.ConflictError, errors.ApiError)
    assert issubclass(errors.InvalidArgument, ValueError)
    assert issubclass(errors.InvalidRegistrationId, ValueError)
    assert issubclass(errors.InvalidArgumentType, TypeError)
    assert issubclass(errors.UnknownDetail, TypeError)
    # No generic names that clash with common libraries.
    assert not {"ValidationError", "InternalError"} & set(vars(errors))


def test_the_error_tree_is_drawn_in_the_docstring() -> None:
    doc = errors.__doc__ or ""
    for name in errors.__all__:
        value = getattr(errors, name)
        if isinstance(value, type) and issubclass(value, Exception):
            assert re.search(rf"^\s*(├── |└── |│   )*{name}\b", doc, re.M), name


def _imports() -> dict[str, set[str]]:
    """Module -> the package modules it imports (top level, in functions and under
    TYPE_CHECKING alike), from the source."""
    names = set(_modules())
    out: dict[str, set[str]] = defaultdict(set)
    for name in names:
        spec = importlib.util.find_spec(name)
        assert spec is not None
        assert spec.origin is not None
        tree = ast.parse(Path(spec.origin).read_text())
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [
                    f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in names else node.module
                    for a in node.names
                ]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            for imported in targets:
                found = imported
                while found and found not in names:
                    found = found.rpartition(".")[0]
                # The top package is the facade: importing a submodule loads it first,
                # but nothing below depends on what it holds.
                if found and found not in (name, "registration_fsm"):
                    out[name].add(found)
    return out


def _layer(module: str) -> str:
    return module.split(".")[1] if "." in module else "registration_fsm"


def test_no_import_cycles_not_even_under_type_checking() -> None:
    graph = _imports()
    for start in graph:
        seen: set[str] = set()
        todo = list(graph[start])
        while todo:
            current = todo.pop()
            assert current != start, f"{start} imports itself through {sorted(seen)}"
            if current not in seen:
                seen.add(current)
                todo.extend(graph.get(current, ()))


def test_layers_import_only_the_layers_below() -> None:
    broken = []
    for module, targets in _imports().items():
        layer = _layer(module)
        if layer == "registration_fsm":
            continue
        for target in targets:
            other = _layer(target)
            if other not in (layer, "errors") and other not in ALLOWED[layer]:
                broken.append(f"{module} imports {target}")
    assert not broken, "\n".join(sorted(broken))


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, check=False
    )


BLOCK = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"boto3", "botocore", "hypothesis"}:
            raise ImportError(f"blocked {name}")
sys.meta_path.insert(0, Block())
"""


def test_core_imports_without_optional_dependencies_and_does_no_work() -> None:
    result = _run(
        BLOCK
        + """
import registration_fsm, registration_fsm.adapters, registration_fsm.ports
for heavy in ("transitions", "sqlite3", "http.server", "concurrent.futures"):
    assert heavy not in sys.modules, heavy + " was imported with the package"
r = registration_fsm.Registration.new("registration-1", "arn:x", "T")
r.submit()
assert "transitions" in sys.modules, "the lifecycle's machine is built on first use"
print(r.current_version.status)
"""
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "SUBMITTED"


def test_lazy_names_load_on_first_use_and_say_which_extra_is_missing() -> None:
    result = _run(
        BLOCK
        + """
from registration_fsm import EmulatedRegistrationApi, MemoryStore, Synchronizer, serve
from registration_fsm import Boto3RegistrationApi, MissingDependency
syncer = Synchronizer(EmulatedRegistrationApi(seed=1), MemoryStore())
reg = syncer.create("US_TEN_DLC_BRAND_REGISTRATION", actor="alice")
print(reg.status)
try:
    Boto3RegistrationApi.from_config(region="us-east-1")
except MissingDependency as err:
    print(str(err))
"""
    )
    assert result.returncode == 0, result.stderr
    status, missing = result.stdout.strip().splitlines()
    assert status == "CREATED"
    assert "pip install 'registration-fsm[aws]'" in missing
