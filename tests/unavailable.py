"""A real component a test needs is missing: skipped on a developer's machine, a failure in CI.

CI must not go green by skipping the tests that use real sshd, BIND, dockerd or helm.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def unavailable(reason: str, *, under_ci: str | None = None) -> NoReturn:
    """Skip with `reason`; under CI (env CI set) fail with `under_ci` (default: `reason`)."""
    if os.environ.get("CI"):
        pytest.fail(under_ci or reason)
    pytest.skip(reason)
