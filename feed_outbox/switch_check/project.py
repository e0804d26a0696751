"""Switch-check findings about the project's code and settings: stream_django imports and setting
values left behind, settings whose meaning changed, and writes that reach Stream outside the outbox."""

from __future__ import annotations

import ast
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from django.apps import AppConfig
from django.apps import apps as global_apps
from django.conf import settings

from feed_outbox import conf
from feed_outbox.activity import Activity
from feed_outbox.switch_check.findings import Finding, display_path
from feed_outbox.switch_check.source import (
    calls_in,
    class_file,
    defining_class,
    function_source,
    is_project_file,
    module_file,
    parse_file,
    python_files,
)

_MANAGER_WRITES = (
    "add_activity_to_feed",
    "remove_activity_from_feed",
    "update_activity_in_feed",
    "follow_user",
    "unfollow_user",
    "follow_feed",
    "unfollow_feed",
    "activity_created",
    "activity_delete",
)
_DIRECT_CHANGE = (
    "Follows: feed_manager.follow_user / unfollow_user or follow_feed / unfollow_feed; "
    "activities: let the Activity model publish its saves, or feed_outbox.publishing.publish("
    "instances) for rows written another way. Both write outbox events in the caller's "
    "transaction, which the relay delivers with retries."
)


# -- where things are ---------------------------------------------------------------------


def settings_files() -> list[str]:
    """The settings module's file and the project modules it star-imports, nearest first."""
    files: list[str] = []
    pending = [getattr(settings, "SETTINGS_MODULE", None)]
    while pending:
        file = module_file(pending.pop(0) or "")
        if not file or file in files or not is_project_file(file):
            continue
        files.append(file)
        tree = parse_file(file)
        for node in tree.body if tree else []:
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                if any(alias.name == "*" for alias in node.names):
                    pending.append(node.module)
    return files


def setting_line(name: str) -> tuple[str | None, int | None]:
    """Where ``name`` is last assigned in the nearest settings file assigning it."""
    for file in settings_files():
        tree = parse_file(file)
        lines = [
            node.lineno
            for node in (tree.body if tree else [])
            if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign))
            and name in {getattr(t, "id", None) for t in _targets(node)}
        ]
        if lines:
            return file, lines[-1]
    files = settings_files()
    return (files[0] if files else None), None


def _targets(node: ast.AST) -> list[ast.AST]:
    if isinstance(node, ast.Assign):
        return list(node.targets)
    return [node.target]  # type: ignore[attr-defined]  # AnnAssign or AugAssign: one target


def string_line(value: str) -> tuple[str | None, int | None]:
    """Where the string ``value`` is written in the settings files."""
    for file in settings_files():
        tree = parse_file(file)
        for node in ast.walk(tree) if tree else []:
            if isinstance(node, ast.Constant) and node.value == value:
                return file, node.lineno
    return None, None


def project_files(configs: Iterable[AppConfig]) -> dict[Path, str]:
    """``{file: module name}`` of the project's own modules: its apps' (tests excepted) and its
    settings files."""
    found: dict[Path, str] = {}
    for config in configs:
        root = Path(config.path)
        for path in python_files(root):
            inside = path.relative_to(root).parts
            if any(p == "tests" or p.startswith(("test_", "tests.", "conftest")) for p in inside):
                continue
            parts = [*inside[:-1], path.stem] if path.stem != "__init__" else list(inside[:-1])
            found[path.resolve()] = ".".join([config.name, *parts])
    for file in settings_files():
        found.setdefault(Path(file).resolve(), getattr(settings, "SETTINGS_MODULE", ""))
    return found


# -- what is there ------------------------------------------------------------------------


def _replacement(module: str, names: list[str]) -> str:
    # Every public name of stream-django's modules is in feed_outbox's module of the same name
    # (the package's feed_manager is the manager object there too).
    return statement_of("feed_outbox" + module[len("stream_django") :], names)


def statement_of(module: str, names: list[str]) -> str:
    return f"from {module} import {', '.join(names)}" if names else f"import {module}"


def stream_django_imports(configs: Iterable[AppConfig]) -> list[Finding]:
    """``import stream_django…`` / ``from stream_django… import`` in the project's modules."""
    findings = []
    for path in project_files(configs):
        tree = parse_file(str(path))
        for node in ast.walk(tree) if tree else []:
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                modules = [(node.module or "", [a.name for a in node.names])]
            elif isinstance(node, ast.Import):
                modules = [(a.name, []) for a in node.names]
            else:
                continue
            for module, names in modules:
                if module != "stream_django" and not module.startswith("stream_django."):
                    continue
                statement = statement_of(module, names)
                findings.append(
                    Finding(
                        "feed_outbox.W103",
                        module,
                        display_path(str(path)),
                        node.lineno,
                        f"`{statement}` still imports stream-django, which publishes inline "
                        "from post_save and reads its settings once at import.",
                        f"Write `{_replacement(module, names)}` (the same names).",
                    )
                )
    return findings


def _strings(value: Any, depth: int = 0) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif depth < 6 and isinstance(value, dict):
        for item in (*value.keys(), *value.values()):
            yield from _strings(item, depth + 1)
    elif depth < 6 and isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            yield from _strings(item, depth + 1)


def stream_django_settings() -> list[Finding]:
    """Setting values naming stream_django: INSTALLED_APPS, STREAM_FEED_MANAGER_CLASS, TEMPLATES…"""
    findings = []
    for name in sorted(n for n in dir(settings) if n.isupper()):
        with warnings.catch_warnings():  # reading a setting Django deprecates warns (6.1)
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", PendingDeprecationWarning)
            value_of_setting = getattr(settings, name, None)
        for value in sorted(set(_strings(value_of_setting))):
            if value != "stream_django" and not value.startswith("stream_django."):
                continue
            file, line = string_line(value)
            if file is None:
                file, line = setting_line(name)
            if name == "INSTALLED_APPS":
                why = (
                    "stream_django is still installed: its feed manager publishes its Activity "
                    "models inline from post_save, and both apps define the activity_tags "
                    "template library."
                )
                change = (
                    'Replace it with "feed_outbox", "relay" '
                    '(docs: "Migrating from stream-django", step 1).'
                )
            else:
                why = f"{name} names {value!r}: stream-django's, not feed_outbox's."
                change = f"Use {'feed_outbox' + value[len('stream_django') :]!r}, or drop it."
            findings.append(
                Finding("feed_outbox.W104", name, display_path(file), line, why, change)
            )
    findings += _manager_derived_from_stream_django()
    return findings


def _manager_class() -> type | None:
    from feed_outbox.utils import get_class_from_string

    path = conf.get("STREAM_FEED_MANAGER_CLASS")
    if not isinstance(path, str) or path.startswith("stream_django"):
        return None
    try:
        return get_class_from_string(path)
    except Exception:  # an unimportable class fails on first use, with its own error
        return None


def _manager_derived_from_stream_django() -> list[Finding]:
    manager = _manager_class()
    bases = [k for k in getattr(manager, "__mro__", ()) if k.__module__.startswith("stream_django")]
    if manager is None or not bases:
        return []
    file, line = setting_line("STREAM_FEED_MANAGER_CLASS")
    return [
        Finding(
            "feed_outbox.W104",
            "STREAM_FEED_MANAGER_CLASS",
            display_path(file),
            line,
            f"{manager.__module__}.{manager.__qualname__} derives from stream_django's "
            f"{bases[0].__qualname__}, which publishes inline from post_save.",
            "Derive it from feed_outbox.managers.FeedManager.",
        )
    ]


def changed_settings() -> list[Finding]:
    """Settings stream-django read differently: STREAM_NEWS_FEEDS, the notification feed, USE_TZ."""
    findings = []
    feeds = conf.get("STREAM_NEWS_FEEDS")
    if isinstance(feeds, dict) and any(k != v for k, v in feeds.items()):
        file, line = setting_line("STREAM_NEWS_FEEDS")
        same = "{" + ", ".join(f"{k!r}: {k!r}" for k in feeds) + "}"
        findings.append(
            Finding(
                "feed_outbox.W105",
                "STREAM_NEWS_FEEDS",
                display_path(file),
                line,
                f"STREAM_NEWS_FEEDS is {feeds!r}: stream-django followed and read its keys as "
                "feed groups (managers.py:53-57), feed-outbox its values, so news feeds are "
                f"read and followed in {sorted(set(feeds.values()))} instead of {sorted(feeds)}.",
                f"Keep the feed groups stream-django wrote: STREAM_NEWS_FEEDS = {same}.",
            )
        )
    personal = getattr(settings, "STREAM_PERSONAL_FEED", None)
    notification = conf.get("STREAM_NOTIFICATION_FEED")
    if personal is not None and personal != notification:
        file, line = setting_line("STREAM_PERSONAL_FEED")
        findings.append(
            Finding(
                "feed_outbox.W106",
                "STREAM_PERSONAL_FEED",
                display_path(file),
                line,
                f"STREAM_PERSONAL_FEED is {personal!r}: stream-django read it as the "
                "notification feed group (conf.py:20); feed-outbox ignores it and reads "
                f"STREAM_NOTIFICATION_FEED ({notification!r}).",
                f"Set STREAM_NOTIFICATION_FEED = {personal!r} and remove STREAM_PERSONAL_FEED.",
            )
        )
    elif personal is None and notification != "notification":
        file, line = setting_line("STREAM_NOTIFICATION_FEED")
        findings.append(
            Finding(
                "feed_outbox.W106",
                "STREAM_NOTIFICATION_FEED",
                display_path(file),
                line,
                f"STREAM_NOTIFICATION_FEED is {notification!r}: stream-django ignored it and "
                "used 'notification' (conf.py:20, it read STREAM_PERSONAL_FEED); feed-outbox "
                "honours it, so notifications are read from another feed group.",
                "If the notifications you have are in 'notification', remove the setting.",
            )
        )
    if _naive_local_times():
        file, line = setting_line("USE_TZ")
        findings.append(
            Finding(
                "feed_outbox.W112",
                "USE_TZ",
                display_path(file),
                line,
                f"USE_TZ is False and TIME_ZONE is {settings.TIME_ZONE!r}: stream-django sent "
                "naive times as they were, local times Stream read as UTC (activity.py:99-104); "
                "feed-outbox reads them in TIME_ZONE, so an activity's time, part of its "
                "identity in Stream, differs by the zone's offset.",
                "Deploy, then run `python manage.py outbox_adopt_stream_django` (docs: "
                '"Migrating from stream-django", step 4).',
            )
        )
    return findings


def _naive_local_times() -> bool:
    if settings.USE_TZ or settings.TIME_ZONE in (None, "UTC", "Etc/UTC", "GMT"):
        return False
    return any(issubclass(m, Activity) for m in global_apps.get_models())


def feed_manager_bypassing_outbox() -> list[Finding]:
    """A custom STREAM_FEED_MANAGER_CLASS whose write hooks call Stream themselves."""
    manager = _manager_class()
    if manager is None:
        return []
    findings = []
    for hook in _MANAGER_WRITES:
        owner = defining_class(manager, hook)
        if owner is None or not is_project_file(class_file(owner)):
            continue
        source = function_source(vars(owner)[hook])
        if source is None:
            continue
        _, stream = calls_in(source.node, source.file, source.offset)
        if not stream:
            continue
        called = ", ".join(sorted({c.text for c in stream}))
        findings.append(
            Finding(
                "feed_outbox.W108",
                f"{owner.__module__}.{owner.__qualname__}.{hook}",
                display_path(source.file),
                source.line,
                f"{owner.__qualname__}.{hook} (STREAM_FEED_MANAGER_CLASS) calls {called}: a "
                "write to Stream that bypasses the outbox. It runs inside the request and its "
                "transaction, is lost when Stream fails and is not undone by a rollback.",
                f"Call super().{hook}(...), which writes an outbox event; extra feeds belong in "
                "the model's activity_feeds() or activity_notify, extra follows in "
                "feed_manager.follow_feed.",
            )
        )
    return findings


def _enclosing_functions(tree: ast.AST) -> dict[int, list[tuple[int, str]]]:
    """``{line of a call: [(line, name) of the classes and functions around it, outermost
    first]}``."""
    enclosing: dict[int, list[tuple[int, str]]] = {}
    for function in ast.walk(tree):  # breadth first: outer definitions come first
        if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            for node in ast.walk(function):
                if isinstance(node, ast.Call):
                    around = enclosing.setdefault(node.lineno, [])
                    if (function.lineno, function.name) not in around:
                        around.append((function.lineno, function.name))
    return enclosing


def direct_stream_writes(configs: Iterable[AppConfig], skip: set) -> list[Finding]:
    """stream-python writes (``feed.add_activity``, ``feed.follow``…) in the project's modules."""
    findings = []
    for path, module in project_files(configs).items():
        tree = parse_file(str(path))
        if tree is None:
            continue
        shown = display_path(str(path))
        _, stream = calls_in(tree, str(path), 0)
        enclosing = _enclosing_functions(tree)
        for call in stream:
            around = enclosing.get(call.line, [])
            if any((shown, line) in skip for line, _ in around):
                continue  # inside a receiver or manager hook reported already
            where = ".".join([module, *(name for _, name in around)])
            findings.append(
                Finding(
                    "feed_outbox.W109",
                    where,
                    shown,
                    call.line,
                    f"{call.text}(...) writes to Stream directly. That is not transactional: it "
                    "happens when called, is lost when Stream fails and is not undone by a "
                    "rollback, and the outbox (reconcile, replay) never knows of it.",
                    _DIRECT_CHANGE,
                )
            )
    return findings
