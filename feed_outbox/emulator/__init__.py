"""A local Stream Feeds emulator for tests, demos and benchmarks (stdlib + PyJWT only).

One server (``server``: dispatch, faults, ``protocol``, ``inspector``, the ``--data`` file of
``persistence``) serves two APIs side by side: Feeds v2 (``v2/``, stream-python) and Feeds v3
(``v3/``, the getstream SDK), each with its own routes, auth, errors, store and persistence.
"""

from .server import Emulator

__all__ = ["Emulator"]
