"""Reading the project's own source for the switch check: which files are the project's, where a
name is defined, and which calls in a function reach the feed manager or Stream itself."""

from __future__ import annotations

import ast
import functools
import inspect
import os
import site
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The feed manager's write hooks and signal receivers (stream-django's names, feed_outbox's too).
MANAGER_CALLS = frozenset(
    {
        "activity_created",
        "activity_delete",
        "add_activity_to_feed",
        "remove_activity_from_feed",
        "update_activity_in_feed",
        "follow_user",
        "unfollow_user",
    }
)
# stream-python's writes: Feed methods and the client's batch calls.
STREAM_WRITES = frozenset(
    {
        "add_activity",
        "add_activities",
        "remove_activity",
        "update_activity_to_targets",
        "follow",
        "unfollow",
        "follow_many",
        "unfollow_many",
        "add_to_many",
        "update_activity",
        "update_activities",
        "activity_partial_update",
        "activities_partial_update",
    }
)
_SKIPPED_DIRS = frozenset(
    {"site-packages", "dist-packages", "node_modules", "__pycache__", "migrations", ".git"}
)


@dataclass(frozen=True)
class Call:
    """A call found in source: ``name`` is the method called, ``line`` its line in ``file``."""

    file: str
    line: int
    name: str
    text: str


@dataclass(frozen=True)
class Function:
    """A function's parsed source: ``line`` is its ``def`` line in ``file``."""

    file: str
    line: int
    node: ast.AST
    offset: int  # added to a line of ``node`` to get the line in ``file``


@functools.cache
def _library_roots() -> tuple[Path, ...]:
    import feed_outbox

    roots = {Path(feed_outbox.__file__).resolve().parent}
    for name in ("relay", "stream_django", "stream", "django"):
        module = sys.modules.get(name)
        file = getattr(module, "__file__", None) if module is not None else None
        if file:
            roots.add(Path(file).resolve().parent)
    for prefix in {sys.prefix, sys.base_prefix, sys.exec_prefix}:
        roots.add(Path(prefix).resolve())
    for path in [*site.getsitepackages(), site.getusersitepackages()]:
        roots.add(Path(path).resolve())
    return tuple(roots)


def is_project_file(path: str | Path | None) -> bool:
    """True for a source file of the project: not in a library, the virtualenv or site-packages."""
    if not path:
        return False
    resolved = Path(path).resolve()
    if _SKIPPED_DIRS.intersection(resolved.parts):
        return False
    return not any(resolved.is_relative_to(root) for root in _library_roots())


def python_files(directory: str | Path) -> Iterator[Path]:
    """The project's .py files under ``directory`` (no virtualenvs, caches, hidden directories
    or migrations; pruned while walking, so a node_modules is never read)."""
    root = Path(directory)
    if not is_project_file(root):
        return
    for current, dirs, files in os.walk(root):
        dirs[:] = sorted(
            d
            for d in dirs
            if d not in _SKIPPED_DIRS
            and not d.startswith(".")
            and is_project_file(Path(current, d))
        )
        for name in sorted(files):
            if name.endswith(".py"):
                yield Path(current, name)


@functools.cache
def parse_file(path: str) -> ast.Module | None:
    try:
        return ast.parse(Path(path).read_text(encoding="utf-8"), filename=path)
    except (OSError, SyntaxError, ValueError, UnicodeDecodeError):
        return None


def underlying_function(obj: Any) -> Any:
    """The plain function behind a receiver: a bound method, a partial, a decorated function,
    a property or a callable object."""
    for _ in range(5):
        if isinstance(obj, functools.partial):
            obj = obj.func
        elif isinstance(obj, (property, functools.cached_property)):
            obj = obj.fget if isinstance(obj, property) else obj.func
        elif isinstance(obj, (classmethod, staticmethod)) or inspect.ismethod(obj):
            obj = obj.__func__
        else:
            break
    obj = inspect.unwrap(obj) if callable(obj) else obj
    if inspect.isfunction(obj):
        return obj
    call = vars(type(obj)).get("__call__")  # a callable object: its class's method
    return call if inspect.isfunction(call) else None


def function_source(obj: Any) -> Function | None:
    """The parsed source of a project function (None for library code or unreadable source)."""
    func = underlying_function(obj)
    if func is None:
        return None
    try:
        file = inspect.getsourcefile(func)
        lines, start = inspect.getsourcelines(func)
    except (OSError, TypeError):
        return None
    if not is_project_file(file):
        return None
    try:
        tree = ast.parse(textwrap.dedent("".join(lines)))
    except SyntaxError:  # a lambda in the middle of an expression
        return None
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            return Function(str(file), start + node.lineno - 1, node, start - 1)
    return None


def _names(expr: ast.AST) -> Iterator[str]:
    """Every identifier of an attribute/call/subscript chain: ``a.b(c)["x"].d`` → d, b, a."""
    while True:
        if isinstance(expr, ast.Attribute):
            yield expr.attr
            expr = expr.value
        elif isinstance(expr, ast.Call):
            expr = expr.func
        elif isinstance(expr, ast.Subscript):
            expr = expr.value
        elif isinstance(expr, ast.Name):
            yield expr.id
            return
        else:
            return


def is_stream_object(expr: ast.AST) -> bool:
    """Whether an expression is (by its names) a stream-python Feed or client: ``feed``,
    ``get_user_feed(1)``, ``news_feeds["timeline"]``, ``stream_client``, ``client``."""
    for name in _names(expr):
        lowered = name.lower()
        if lowered == "feed_manager":  # its own methods go through the outbox
            continue
        if "feed" in lowered or "timeline" in lowered or lowered.endswith("stream_client"):
            return True
        if lowered in {"client", "stream"}:  # stream.connect(...) kept as ``client``
            return True
    return False


def calls_in(node: ast.AST, file: str, offset: int) -> tuple[list[Call], list[Call]]:
    """``(feed manager calls, direct Stream writes)`` made in ``node`` (lines in ``file``)."""
    manager: list[Call] = []
    stream: list[Call] = []
    for call in ast.walk(node):
        if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Attribute):
            continue
        name = call.func.attr
        found = Call(file, call.lineno + offset, name, ast.unparse(call.func))
        if name in MANAGER_CALLS:
            manager.append(found)
        elif name in STREAM_WRITES and is_stream_object(call.func.value):
            stream.append(found)
    return manager, stream


def self_attributes(node: ast.AST) -> dict[str, int]:
    """``{attribute: first line}`` of every ``self.<attribute>`` read in a function."""
    reads: dict[str, int] = {}
    for item in ast.walk(node):
        if (
            isinstance(item, ast.Attribute)
            and isinstance(item.value, ast.Name)
            and item.value.id == "self"
            and isinstance(item.ctx, ast.Load)
        ):
            reads.setdefault(item.attr, item.lineno)
    return reads


def returns_only(node: ast.AST, accepted: set[str]) -> bool:
    """Whether every ``return`` of a function returns one of ``accepted`` (source text)."""
    body = node.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) else []
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    returns = [n for n in ast.walk(node) if isinstance(n, ast.Return)]
    if not returns or len(body) != len(returns):
        return False
    return all(r.value is not None and ast.unparse(r.value) in accepted for r in returns)


def defining_class(cls: type, name: str) -> type | None:
    """The class of ``cls``'s MRO whose body defines ``name``."""
    return next((k for k in cls.__mro__ if name in vars(k)), None)


def class_attribute_line(cls: type, name: str) -> tuple[str, int] | None:
    """``(file, line)`` where the class of ``cls``'s MRO that defines ``name`` assigns or defs it."""
    owner = defining_class(cls, name)
    if owner is None:
        return None
    try:
        file = inspect.getsourcefile(owner)
        lines, start = inspect.getsourcelines(owner)
        tree = ast.parse(textwrap.dedent("".join(lines)))
    except (OSError, TypeError, SyntaxError):
        return None
    if not is_project_file(file):
        return None
    klass = tree.body[0] if tree.body else None
    for node in getattr(klass, "body", []):
        targets: list[ast.AST] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, ast.AnnAssign):
            targets = [node.target]
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
            return str(file), start + node.lineno - 1
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            return str(file), start + node.lineno - 1
    return str(file), start


def class_file(cls: type) -> str | None:
    try:
        return inspect.getsourcefile(cls)
    except TypeError:  # a class of a built-in module
        return None


def class_line(cls: type) -> tuple[str | None, int | None]:
    """``(file, line)`` of a class statement, or ``(None, None)``."""
    try:
        return inspect.getsourcefile(cls), inspect.getsourcelines(cls)[1]
    except (OSError, TypeError):
        return None, None


def module_file(name: str) -> str | None:
    module = sys.modules.get(name)
    return getattr(module, "__file__", None) if module is not None else None
