"""The chirp app after the switch: ``chirp_before`` with its stream_django imports replaced."""
