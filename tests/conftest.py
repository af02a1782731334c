"""Fixtures shared by the whole suite."""

pytest_plugins = [
    "tests.store_fixtures",
    "tests.lab.fixtures",
    "tests.lab.bind",
    "tests.http_fixtures",
    "tests.slack_fixtures",
]
