"""Fixtures shared by the whole suite."""

pytest_plugins = [
    "tests.store_fixtures",
    "tests.lab.fixtures",
    "tests.http_fixtures",
]
