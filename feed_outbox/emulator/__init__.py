"""A local Stream Feeds v2 emulator for tests, demos and benchmarks (stdlib + PyJWT only)."""

from .server import Emulator

__all__ = ["Emulator"]
