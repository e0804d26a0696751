"""Every public name of stream-django 1.8's modules, read from its installed source, compared
with the feed_outbox module of the same name: ``python -m tests.migration.public_names ORDER``
prints a JSON list of problems (empty: none) after importing feed_outbox in the given ORDER.

A process per order, because "whichever the project imported first" is about a fresh process.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import sys
from pathlib import Path
from typing import Any

MODULES = (
    "",
    ".activity",
    ".client",
    ".conf",
    ".context_processors",
    ".enrich",
    ".exceptions",
    ".feed_manager",
    ".managers",
    ".models",
    ".templatetags.activity_tags",
    ".utils",
)

# The ways a project can first reach the manager, each run before django.setup() and after it.
ORDERS = {
    "package_first": "from feed_outbox import feed_manager",
    "module_first": "import feed_outbox.feed_manager",
    "object_first": "from feed_outbox.feed_manager import feed_manager",
    "submodule_attribute": "import feed_outbox.feed_manager as fm",
}

# Values that differ on purpose, each a row of docs/topics/migrating.md's "What behaves differently" table.
DOCUMENTED = {
    ("conf", "NOTIFICATION_FEED"): "stream-django read STREAM_PERSONAL_FEED",
}


def source_names(module: Any) -> list[str]:
    """Public top-level names a module's source binds (defs, classes, assignments, imports),
    within its top-level ``if`` and ``try`` blocks too, that it bound on this Django."""
    tree = ast.parse(Path(inspect.getsourcefile(module)).read_text())
    names: list[str] = []
    statements = list(tree.body)
    while statements:
        node = statements.pop(0)
        if isinstance(node, (ast.If, ast.Try)):
            statements += [*node.body, *node.orelse]
            statements += getattr(node, "finalbody", [])
            for handler in getattr(node, "handlers", []):
                statements += handler.body
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names += [t.id for t in targets if isinstance(t, ast.Name)]
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names += [(a.asname or a.name).split(".")[0] for a in node.names]
    return [
        name
        for name in dict.fromkeys(names)
        if not name.startswith("_") and hasattr(module, name)
    ]


def class_members(cls: type) -> set[str]:
    """Public attributes of a class and its bases, with those an ``__init__`` assigns to self."""
    names = set(dir(cls))
    for klass in cls.__mro__:
        init = vars(klass).get("__init__")
        if inspect.isfunction(init):
            tree = ast.parse(inspect.getsource(init).strip())
            names |= {
                node.attr
                for node in ast.walk(tree)
                if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store)
            }
    return {name for name in names if not name.startswith("_")}


def counterpart(cls: type) -> type | None:
    """feed_outbox's class for a stream-django class (same module and name), else None."""
    if not cls.__module__.startswith("stream_django"):
        return None
    module = importlib.import_module(cls.__module__.replace("stream_django", "feed_outbox", 1))
    return getattr(module, cls.__name__, None)


def compare(where: str, name: str, theirs: Any, ours: Any, problems: list[str]) -> None:
    if inspect.isclass(theirs):
        if not inspect.isclass(ours):
            problems.append(f"{where}.{name}: a class in stream-django, {ours!r} here")
        elif theirs.__module__.startswith("stream_django"):  # another library's: a class is enough
            missing = class_members(theirs) - class_members(ours)
            problems += [f"{where}.{name}.{member}: missing" for member in sorted(missing)]
    elif inspect.isroutine(theirs):
        if not callable(ours) or inspect.isclass(ours):
            problems.append(f"{where}.{name}: a function in stream-django, {ours!r} here")
    elif theirs is None:
        if ours is not None:
            problems.append(f"{where}.{name}: None in stream-django, {ours!r} here")
    elif not isinstance(ours, counterpart(type(theirs)) or type(theirs)):
        problems.append(
            f"{where}.{name}: a {type(theirs).__name__} in stream-django, "
            f"a {type(ours).__name__} here"
        )
    elif isinstance(theirs, (str, int, float, bool, tuple, list, dict)):
        if isinstance(theirs, str):  # a dotted path names the library's own class
            theirs = theirs.replace("stream_django.", "feed_outbox.")
        if ours != theirs and (where.rsplit(".", 1)[-1], name) not in DOCUMENTED:
            problems.append(f"{where}.{name}: {theirs!r} in stream-django, {ours!r} here")


def problems() -> list[str]:
    found: list[str] = []
    for suffix in MODULES:
        theirs_module = importlib.import_module("stream_django" + suffix)
        where = "feed_outbox" + suffix
        try:
            ours_module = importlib.import_module(where)
        except ImportError as exc:
            found.append(f"{where}: cannot be imported ({exc})")
            continue
        for name in source_names(theirs_module):
            theirs = getattr(theirs_module, name, None)
            if inspect.ismodule(theirs):
                if theirs.__name__.startswith("stream_django."):  # one of its own modules
                    counterpart = theirs.__name__.replace("stream_django", "feed_outbox", 1)
                    try:
                        importlib.import_module(counterpart)
                    except ImportError:
                        found.append(f"{where}.{name}: no module {counterpart}")
                continue  # another library's module is an import, not an API
            if not hasattr(ours_module, name):
                found.append(f"{where}.{name}: missing")
                continue
            compare(where, name, theirs, getattr(ours_module, name), found)
    return found


def main(order: str) -> None:
    import django

    exec(ORDERS[order.removesuffix("_before_setup")], {})
    if order.endswith("_before_setup"):
        django.setup()
    else:
        django.setup()
        exec(ORDERS[order], {})
    import feed_outbox
    from feed_outbox.managers import FeedManager

    found = problems()
    # Whatever came first, the package's name is the manager (the object stream-django has).
    if not isinstance(feed_outbox.feed_manager, FeedManager):
        found.append(f"feed_outbox.feed_manager is {feed_outbox.feed_manager!r} after {order}")
    print(json.dumps(found))


if __name__ == "__main__":
    main(sys.argv[1])
