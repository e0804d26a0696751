"""``python -m relay``: run the relay with the Django settings of DJANGO_SETTINGS_MODULE."""

from __future__ import annotations

import argparse
import os
import sys


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="python -m relay", description=__doc__)
    from relay import cli

    cli.add_arguments(parser)
    parser.add_argument("-v", "--verbosity", type=int, default=1)
    args = parser.parse_args(argv)
    if not os.environ.get("DJANGO_SETTINGS_MODULE"):
        parser.error("DJANGO_SETTINGS_MODULE is not set: the relay reads the project's settings")
    import django

    django.setup()
    cli.configure_logging(args.verbosity)
    return cli.run(args, argv)


if __name__ == "__main__":
    sys.exit(main())
