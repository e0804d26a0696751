"""The Quickstart and Testing pages run as printed: their blocks, extracted from the Markdown,
make a fresh project whose own tests pass in a subprocess under ``-W error``.

A ``{code-block}`` whose caption names a file is that whole file, or, with ", at the end", what
is appended to it; ``sh`` blocks are commands, run in order when they set the project up or
test it, checked when they install the package, left out when they serve until stopped (the
relay, the emulator). A command the pages print that this test does not know fails it, and so
does a block that is neither a file nor a command (a Python fragment must at least compile),
so no block is left unchecked by accident.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "docs" / "quickstart.md", ROOT / "docs" / "testing.md"]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]

FENCE = re.compile(r"^```(?P<info>[^\n`]*)\n(?P<body>.*?)^```$", re.M | re.S)
DIRECTIVE = re.compile(r"\{code-block\}\s+(?P<language>\S+)")
OPTION = re.compile(r":(?P<name>[\w-]+):\s*(?P<value>.*)")
APPEND = ", at the end"

# Commands the pages print that set up or test the project, run in order; their first words.
RUN = [
    ("django-admin", "startproject"),
    ("python", "manage.py", "startapp"),
    ("python", "manage.py", "makemigrations"),
    ("python", "manage.py", "migrate"),
    ("pytest",),
]
# Commands that serve until stopped: the project's relay, the emulator.
LONG_RUNNING = [("python", "manage.py", "relay"), ("python", "-m", "feed_outbox.emulator")]


@dataclass(frozen=True)
class Block:
    page: str
    language: str
    caption: str | None
    body: str


def blocks(page: str, text: str) -> list[Block]:
    """The fenced blocks of a MyST page, in order, with their ``:caption:`` when they have one."""
    found = []
    for fence in FENCE.finditer(text):
        info, body = fence["info"].strip(), fence["body"]
        directive = DIRECTIVE.fullmatch(info)
        if directive is None:
            found.append(Block(page, info, None, body))
            continue
        options: dict[str, str] = {}
        lines = body.splitlines(keepends=True)
        while lines and (option := OPTION.fullmatch(lines[0].strip())):
            options[option["name"]] = option["value"]
            lines.pop(0)
        if lines and not lines[0].strip():
            lines.pop(0)  # the blank line between a directive's options and its content
        found.append(Block(page, directive["language"], options.get("caption"), "".join(lines)))
    return found


def commands(block: Block) -> list[list[str]]:
    """A shell block's commands as argument lists, environment assignments in front included."""
    return [shlex.split(line, comments=True) for line in block.body.splitlines() if line.strip()]


def words(command: list[str]) -> list[str]:
    """The command without the ``NAME=value`` assignments before it."""
    start = 0
    while start < len(command) and re.fullmatch(r"\w+=.*", command[start]):
        start += 1
    return command[start:]


def starts_with(command: list[str], prefixes: list[tuple[str, ...]]) -> bool:
    return any(tuple(words(command)[: len(prefix)]) == prefix for prefix in prefixes)


def check_pip_install(block: Block, command: list[str]) -> None:
    """``pip install <this distribution>[extras]``, with extras pyproject.toml defines."""
    assert words(command)[:2] == ["pip", "install"] and words(command)[2:], command
    for argument in words(command)[2:]:
        requirement = Requirement(argument)
        assert requirement.name == PROJECT["name"], f"{block.page} installs {argument}"
        assert requirement.extras <= PROJECT["optional-dependencies"].keys(), argument


def python_command(command: list[str]) -> list[str]:
    """The command run by this interpreter (the venv's, which has the package)."""
    command = words(command)
    if command[0] == "python":
        return [sys.executable, *command[1:]]
    if command[0] == "django-admin":
        return [sys.executable, "-m", "django", *command[1:]]
    return [sys.executable, "-m", "pytest", "-W", "error", "-p", "no:cacheprovider", *command[1:]]


def project_env() -> dict[str, str]:
    """This environment without what points at our own test settings, database or Stream, and
    with this checkout first on the import path (the installed package may be another one)."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DJANGO_", "DATABASE_", "STREAM_", "FEED_OUTBOX_", "PYTEST_"))
    }
    env["PYTHONPATH"] = str(ROOT)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=cwd, env=project_env(), capture_output=True, text=True, timeout=300
    )


def build_and_test(
    directory: Path, pages: dict[str, str], settings_tail: str = ""
) -> tuple[str, int]:
    """Follow the pages (name: text) in order in ``directory``: pytest's output and the number
    of tests the pages' files define. ``settings_tail`` ends the settings when pytest runs."""
    tested = None
    defined = 0
    for block in [b for page, text in pages.items() for b in blocks(page, text)]:
        if block.caption is not None:
            name = block.caption.removesuffix(APPEND)
            path = directory / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if block.caption.endswith(APPEND):
                assert path.exists(), f"{block.page}: {name} is added to before it exists"
                path.write_text(path.read_text() + "\n" + block.body)
            else:
                path.write_text(block.body)
            if block.language == "python":
                compile(block.body, name, "exec")
                defined += len(re.findall(r"^def test_", block.body, re.M))
        elif block.language == "sh":
            for command in commands(block):
                if words(command)[:2] == ["pip", "install"]:
                    check_pip_install(block, command)
                elif starts_with(command, LONG_RUNNING):
                    continue
                elif starts_with(command, RUN):
                    if words(command)[0] == "pytest" and settings_tail:
                        [settings] = directory.glob("*/settings.py")
                        settings.write_text(settings.read_text() + settings_tail)
                    ran = run(python_command(command), directory)
                    assert ran.returncode == 0, f"{shlex.join(command)}:\n{ran.stdout}{ran.stderr}"
                    if words(command)[0] == "pytest":
                        tested = ran.stdout
                else:
                    pytest.fail(f"{block.page} prints a command this test does not know: {command}")
        elif block.language == "python":
            compile(block.body, block.page, "exec")  # a fragment: at least it parses
        else:
            pytest.fail(f"{block.page}: a {block.language!r} block with no file name")
    assert tested is not None, "the pages never run pytest"
    return tested, defined


def printed() -> dict[str, str]:
    return {page.name: page.read_text() for page in PAGES}


def passed(output: str) -> int:
    found = re.search(r"(\d+) passed", output)
    return int(found[1]) if found else 0


@pytest.mark.slow
def test_the_quickstart_and_testing_pages_run_as_printed_on_sqlite(tmp_path):
    output, defined = build_and_test(tmp_path, printed())

    assert defined >= 2
    assert passed(output) == defined, output
    assert not re.search(r"\d+ warnings?\b", output), output


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.django_db
def test_the_pages_project_tests_pass_on_postgresql(tmp_path):
    # The pages keep startproject's SQLite; production runs on PostgreSQL, so the same project
    # runs its tests there too, on a database of this run's own (pytest-django makes test_<it>).
    from django.db import connection

    database = {**connection.settings_dict, "NAME": f"{connection.settings_dict['NAME']}_docs"}
    tail = "\nDATABASES = {'default': %r}\n" % {
        key: database[key] for key in ("ENGINE", "NAME", "USER", "PASSWORD", "HOST", "PORT")
    }
    output, defined = build_and_test(tmp_path, printed(), settings_tail=tail)

    assert passed(output) == defined, output


# The example README.md printed before these pages, which failed twice: the user it saves
# with is undefined, and, with a user, the test has no django_db mark to reach the database.
README_EXAMPLES = """\
import pytest
from django.contrib.auth import get_user_model

from feed_outbox.feed_manager import feed_manager
from tweets.models import Tweet


def test_tweet_reaches_feed(stream_emulator, outbox_drain):
    tweet = Tweet.objects.create(user=user, text="hi")
    outbox_drain()
    assert feed_manager.get_user_feed(user.pk).get()["results"][0]["text"] == "hi"


def test_tweet_of_a_defined_user_reaches_feed(stream_emulator, outbox_drain):
    user = get_user_model().objects.create_user("alice")
    tweet = Tweet.objects.create(user=user, text="hi")
    outbox_drain()
    assert feed_manager.get_user_feed(user.pk).get()["results"][0]["text"] == "hi"
"""


@pytest.mark.slow
def test_a_broken_example_on_the_pages_fails_the_check(tmp_path):
    pages = printed()
    [example] = [
        block.body
        for block in blocks("testing.md", pages["testing.md"])
        if block.caption == "tweets/tests.py"
    ]
    pages["testing.md"] = pages["testing.md"].replace(example, README_EXAMPLES)

    with pytest.raises(AssertionError) as failed:
        build_and_test(tmp_path, pages)

    assert "2 failed" in str(failed.value)
    assert "NameError: name 'user' is not defined" in str(failed.value)
    assert "Database access not allowed" in str(failed.value)


def test_a_command_the_check_does_not_know_fails_it(tmp_path):
    page = "```sh\npython manage.py runserver\n```\n"
    with pytest.raises(pytest.fail.Exception, match="does not know.*runserver"):
        build_and_test(tmp_path, {"quickstart.md": page})
