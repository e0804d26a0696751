"""Command line: `STREAM_API_SECRET=S python -m feed_outbox.emulator --port 8700 --api-key K ...`."""

from __future__ import annotations

import argparse
import os
import sys

from .feed_groups import V3_BUILT_IN_GROUPS, parse_cli_group
from .server import Emulator

V3_APPS: dict[str, dict | None] = {"set-up": None, "new": V3_BUILT_IN_GROUPS, "empty": {}}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m feed_outbox.emulator", description="Local Stream Feeds v2 emulator."
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8700, help="port; 0 picks a free one")
    parser.add_argument("--api-key", default=os.environ.get("STREAM_API_KEY", "key"))
    parser.add_argument(
        "--api-secret",
        default=None,
        help="app secret; prefer env STREAM_API_SECRET, which keeps it out of `ps`",
    )
    parser.add_argument("--data", metavar="FILE", help="persist state to this SQLite file")
    parser.add_argument(
        "--feed-group",
        action="append",
        default=[],
        metavar="NAME:TYPE",
        help="add or override a feed group (flat|aggregated|notification)",
    )
    parser.add_argument(
        "--v3-app",
        choices=("set-up", "new", "empty"),
        default="set-up",
        help="the Feeds v3 app's feed groups: v2's as outbox_setup_v3 makes them (set-up, the "
        "default), a new app's built-in ones (new) or none (empty)",
    )
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--latency-jitter-ms", type=float, default=0.0)
    parser.add_argument("--error-rate", type=float, default=0.0)
    parser.add_argument("--lost-response-rate", type=float, default=0.0)
    parser.add_argument("--rate-limits", choices=("off", "stream"), default="off")
    parser.add_argument("--rate-limit-scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, help="seed fault injection for reproducible runs")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    secret = args.api_secret
    if secret is None:
        secret = os.environ.get("STREAM_API_SECRET", "secret")
    else:
        print(
            "warning: --api-secret is visible to every user in `ps`; "
            "set STREAM_API_SECRET in the environment instead",
            file=sys.stderr,
        )
    try:
        groups = dict(parse_cli_group(g) for g in args.feed_group)
        emulator = Emulator(
            api_key=args.api_key,
            api_secret=secret,
            host=args.host,
            port=args.port,
            feed_groups=groups,
            v3_feed_groups=V3_APPS[args.v3_app],
            data_path=args.data,
            seed=args.seed,
            faults={
                "latency_ms": args.latency_ms,
                "latency_jitter_ms": args.latency_jitter_ms,
                "error_rate": args.error_rate,
                "lost_response_rate": args.lost_response_rate,
                "rate_limits": args.rate_limits,
                "rate_limit_scale": args.rate_limit_scale,
            },
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    def announce(emu: Emulator) -> None:
        # exactly one line on stdout: parents read the port from it
        print(f"Stream emulator listening on {emu.url}", flush=True)

    try:
        emulator.serve_forever(on_ready=announce)
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
