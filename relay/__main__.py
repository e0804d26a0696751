"""``python -m relay``: run the relay with the Django settings of DJANGO_SETTINGS_MODULE."""

from __future__ import annotations

import argparse
import os
import sys


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="python -m relay", description=__doc__)
    from feed_outbox.management.arguments import count, one_line_errors
    from relay import cli

    one_line_errors(parser)
    cli.add_arguments(parser)
    parser.add_argument("-v", "--verbosity", type=count(0, 3), default=1)
    parser.add_argument(
        "--settings",
        help="the settings module, e.g. mysite.settings (default: DJANGO_SETTINGS_MODULE)",
    )
    parser.add_argument(
        "--pythonpath", help="a directory to import the settings from, e.g. the project's"
    )
    args = parser.parse_args(argv)
    # Set in the environment too: the children of --workers read it from there.
    if args.pythonpath:
        sys.path.insert(0, args.pythonpath)
        os.environ["PYTHONPATH"] = os.pathsep.join(
            p for p in (args.pythonpath, os.environ.get("PYTHONPATH")) if p
        )
    if args.settings:
        os.environ["DJANGO_SETTINGS_MODULE"] = args.settings
    if not os.environ.get("DJANGO_SETTINGS_MODULE"):
        parser.error("DJANGO_SETTINGS_MODULE is not set: the relay reads the project's settings")
    problem = _setup_django()
    if problem:
        print(f"python -m relay: {problem}", file=sys.stderr)
        return 2
    cli.configure_logging(args.verbosity)
    return cli.run(args, argv)


def _setup_django() -> str | None:
    """``django.setup()``, or one line saying why the settings module cannot be imported (a
    relay started outside the project directory) instead of a traceback."""
    import django

    name = os.environ["DJANGO_SETTINGS_MODULE"]
    try:
        django.setup()
    except ModuleNotFoundError as exc:
        # Only the settings module (or a package of its path) not being found is ours to
        # explain: a module the settings import themselves keeps its traceback.
        if not exc.name or not (name == exc.name or name.startswith(exc.name + ".")):
            raise
        return (
            f"cannot import the settings module {name!r} named by DJANGO_SETTINGS_MODULE "
            f"({exc}): run the relay from the project directory (where manage.py is), add "
            "that directory to PYTHONPATH (or --pythonpath), or give --settings a module "
            "that can be imported"
        )
    return None


if __name__ == "__main__":
    sys.exit(main())
