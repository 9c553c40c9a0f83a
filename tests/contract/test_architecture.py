"""The layer contracts of .importlinter hold, and what import-linter cannot check: no cycles, doors, names."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_layer_contracts_are_kept():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint_imports)], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_models_and_migrations_agree(db):
    from django.core.management import call_command

    call_command("makemigrations", "lc_runtime", "--check", "--dry-run", verbosity=0)


def _import_graph():
    import grimp

    return grimp.build_graph("lc_runtime")


def _cycles(graph) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for start in sorted(graph.modules):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.find_modules_directly_imported_by(start))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            module, edges = work[-1]
            for target in edges:
                if not target.startswith("lc_runtime"):
                    continue
                if target not in index:
                    index[target] = low[target] = counter
                    counter += 1
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph.find_modules_directly_imported_by(target)))))
                    break
                if target in on_stack:
                    low[module] = min(low[module], index[target])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[module])
                if low[module] == index[module]:
                    group = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == module:
                            break
                    if len(group) > 1:
                        found.append(sorted(group))
    return found


def test_no_import_cycle_inside_the_package():
    # Imports inside functions count too: a late import only hides a cycle.
    assert _cycles(_import_graph()) == []


def test_the_cycle_finder_finds_a_cycle():
    class Graph:
        modules = {"lc_runtime.a", "lc_runtime.b", "lc_runtime.c"}
        edges = {"lc_runtime.a": {"lc_runtime.b"}, "lc_runtime.b": {"lc_runtime.a"}, "lc_runtime.c": {"lc_runtime.a"}}

        def find_modules_directly_imported_by(self, module):
            return self.edges[module]

    assert _cycles(Graph()) == [["lc_runtime.a", "lc_runtime.b"]]


def test_content_packages_are_entered_through_their_api():
    """
    Outside a content package, only its ``api`` module is imported; models modules may also import
    each other's models, and Django's model discovery imports them all.
    """
    graph = _import_graph()
    concepts = {"lc_runtime.content." + name for name in ("assets", "courses", "dates", "learners", "pools", "roles")}
    allowed_everywhere = {f"{concept}.api" for concept in concepts}
    model_registrars = {"lc_runtime.models", "lc_runtime.content.setup"}
    reached_in: list[str] = []
    for module in sorted(graph.modules):
        home = next((concept for concept in concepts if module == concept or module.startswith(concept + ".")), None)
        for target in graph.find_modules_directly_imported_by(module):
            target_home = next((c for c in concepts if target == c or target.startswith(c + ".")), None)
            if target_home is None or target_home == home or target in allowed_everywhere:
                continue
            if target.endswith(".models") and (module in model_registrars or module.endswith(".models")):
                continue
            reached_in.append(f"{module} -> {target}")
    assert reached_in == []


def test_no_module_is_named_like_a_package():
    """One meaning per name: no module shares its name with a package of lc_runtime (``api``/``models`` aside)."""
    package_root = ROOT / "lc_runtime"
    packages = {path.parent.name for path in package_root.rglob("__init__.py")}
    clashes = sorted(
        str(path.relative_to(ROOT))
        for path in package_root.rglob("*.py")
        if "migrations" not in path.parts and path.stem in packages and path.stem not in ("api", "models")
    )
    assert clashes == []
