"""Functions stay short: none in src/ runs past 60 lines (DESIGN.md, "Style, by example")."""

from __future__ import annotations

import ast
from pathlib import Path

import clearwatch

lines_per_function_max = 60
SRC = Path(clearwatch.__file__).parent


def _long_functions(source: str, path: str) -> list[str]:
    """`path:line name (N lines)` for every function or method longer than the limit; a
    function's length runs from its `def` to its last line, docstring and comments included."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            assert node.end_lineno is not None
            length = node.end_lineno - node.lineno + 1
            if length > lines_per_function_max:
                found.append(f"{path}:{node.lineno} {node.name} ({length} lines)")
    return found


def test_no_function_in_src_is_longer_than_sixty_lines() -> None:
    too_long = [
        finding
        for path in sorted(SRC.rglob("*.py"))
        for finding in _long_functions(path.read_text("utf-8"), str(path.relative_to(SRC)))
    ]
    assert too_long == [], "split these by meaning:\n" + "\n".join(too_long)


def _function(name: str, lines: int, indent: str = "") -> str:
    """A function of exactly `lines` lines: its def and `lines - 1` statements."""
    body = "".join(f"{indent}    x{i} = {i}\n" for i in range(lines - 1))
    return f"{indent}def {name}():\n{body}"


def test_the_measure_counts_from_def_to_the_last_line_nested_functions_too() -> None:
    assert _long_functions(_function("fits", 60), "a.py") == []
    assert _long_functions(_function("long", 61), "a.py") == ["a.py:1 long (61 lines)"]
    # An outer function that holds a 60-line inner one is 61 lines long itself.
    outer = "def outer():\n" + _function("inner", 60, indent="    ")
    assert _long_functions(outer, "a.py") == ["a.py:1 outer (61 lines)"]
