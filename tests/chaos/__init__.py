"""Jepsen-style chaos suite: a randomized workload, injected faults, and a checker against the truth."""
