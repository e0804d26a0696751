"""A test-only app written the way the surveyed stream-django apps are (see tests/migration/test_*_patterns.py)."""
