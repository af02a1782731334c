"""Pytest fixtures for the lab: `lab` (per session), `lab_host` (per test) and `target_for`.

Without root, sshd or `ip` the lab tests are skipped, except when `CI` is set: there a
missing lab is a failure, so CI cannot go green by skipping them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from ssh_probes.model import HostTarget
from ssh_probes.rules import Thresholds
from tests.lab.netns import SSHD, Lab, LabHost
from tests.unavailable import unavailable

# Thresholds for lab triages. The lab hosts share this machine's CPUs with the test run, so
# the load probe would report the suite's own load (CPU saturation has its own fault tests);
# and they share its kernel, so a machine booted minutes ago (a fresh CI machine) rightly
# reports host.rebooted on every host (the uptime check has its own tests).
CALM = Thresholds(load_per_core=1000.0, load_per_core_critical=2000.0, reboot_recent_min=0.0)


def _missing() -> str:
    if os.geteuid() != 0:
        return "the lab needs root (network namespaces)"
    if not os.access(SSHD, os.X_OK):
        return f"the lab needs OpenSSH sshd at {SSHD}"
    for tool in ("ip", "nsenter", "ssh-keygen"):
        if shutil.which(tool) is None:
            return f"the lab needs `{tool}` on PATH"
    return ""


@pytest.fixture(scope="session")
def lab() -> Iterator[Lab]:
    """The session's lab; skipped (failed under CI) when this machine cannot run it."""
    why = _missing()
    if why:
        unavailable(why, under_ci=f"lab unavailable under CI: {why}")
    the_lab = Lab()
    try:
        yield the_lab
    finally:
        the_lab.close()


@pytest.fixture
def lab_host(lab: Lab) -> Iterator[LabHost]:
    """A fresh host with sshd running, destroyed after the test."""
    host = lab.add_host()
    try:
        yield host
    finally:
        host.destroy()


def target_for(host: LabHost, **overrides: Any) -> HostTarget:
    """The registry entry for `host`: its address, the lab user key and its pinned host key."""
    target = HostTarget(
        name=host.name,
        address=host.address,
        port=host.port,
        user=host.user,
        key_path=host.key_path,
        host_keys=(host.host_key_line,),
    )
    return replace(target, **overrides)
