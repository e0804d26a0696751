"""Benchmarks: run on demand with `make bench` (python -m tests.benchmarks), never collected by pytest."""
