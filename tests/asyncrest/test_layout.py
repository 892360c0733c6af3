"""The engine's layout: no import circles, no oversized module, nothing of the tagging app or the site."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[2] / "asyncrest"
MAX_LINES = 300


def module_name(path: Path) -> str:
    parts = path.relative_to(ENGINE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def engine_modules() -> dict[str, Path]:
    return {module_name(path): path for path in ENGINE.rglob("*.py") if "migrations" not in path.parts}


def with_parents(name: str) -> list[str]:
    """Importing `a.b.c` runs `a`, `a.b` and `a.b.c`."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """Every engine module that `name` imports, at the top or inside a function, parents included."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                base_name = ".".join(base + ([node.module] if node.module else []))
            else:
                base_name = node.module or ""
            targets = [base_name] + [f"{base_name}.{alias.name}" for alias in node.names]
        for target in targets:
            found.update(module for module in with_parents(target) if module in known)
    # A module's own packages run before it, whoever imports it: those are not circles.
    return found - set(with_parents(name))


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """Return one import circle of `graph`, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for other in sorted(graph[node]):
            if state.get(other) == 1:
                return stack[stack.index(other):] + [other]
            if other not in state and (cycle := visit(other)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_engine_has_no_import_circles_not_even_through_imports_inside_functions():
    modules = engine_modules()
    graph = {name: imports_of(name, path, set(modules)) for name, path in modules.items()}
    assert graph["asyncrest.api.views"] >= {"asyncrest.lifecycle", "asyncrest.broker.dispatch"}  # the parser works
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


def test_the_cycle_finder_finds_a_circle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_engine_module_is_over_300_lines():
    sizes = {name: len(path.read_text().splitlines()) for name, path in engine_modules().items()}
    assert {name: size for name, size in sizes.items() if size > MAX_LINES} == {}


def test_the_engine_imports_nothing_of_the_tagging_app_or_the_site():
    for name, path in engine_modules().items():
        imported = {n.module or "" for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.ImportFrom)}
        imported |= {a.name for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.Import) for a in n.names}
        assert not {m for m in imported if m.split(".")[0] in {"tagging", "demosite", "tests"}}, name


def test_the_client_imports_without_django_settings():
    code = (
        "import sys\n"
        "import asyncrest.client, asyncrest.client.cli\n"
        "assert not any(m == 'django.conf' or m.startswith('rest_framework') for m in sys.modules), sorted(sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={"PATH": "/usr/bin:/bin"}, cwd=ENGINE.parent)
    assert result.returncode == 0, result.stderr
