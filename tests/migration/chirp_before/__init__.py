"""The chirp app as a stream-django 1.8 project wrote it (``chirp_after`` is the same after the switch)."""
