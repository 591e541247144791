"""The sandbox fixtures live in ``tests/sandbox_fixtures.py`` (a plugin for every test)."""
