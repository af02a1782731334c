"""The fleet finding codes, with their catalog entries (emitted by commands.fleet.compare)."""

from __future__ import annotations

from ssh_probes.codes import Code

FLEET_OUTLIER = Code(
    "fleet.outlier",
    "fleet",
    "The host differs from the majority of its group",
    "Hosts with the same label (group=web) should look alike; this one differs from most of its "
    "siblings in a way that matters: a port they listen on and it does not (or the reverse), a "
    "failed unit, a container image or restart count, the kernel or OS, disk or inode use, "
    "connection states, load, I/O wait or steal, errors in its logs, DNS answers.",
    "Start with what only this host has (the finding names the siblings' values): compare its "
    "deploy, config and recent changes with a sibling's; drain it if it serves traffic.",
)

FLEET_SIBLINGS = Code(
    "fleet.siblings",
    "fleet",
    "Which siblings the comparison used",
    "A comparison is only as good as the siblings it had: a group of one has nothing to compare "
    "with, and unreachable siblings (or ones whose run failed) do not count toward the majority.",
    "Register more hosts with the same label, or fix the unreachable ones (`triagebot triage "
    "NAME`), then compare again.",
)

CODES = (FLEET_OUTLIER, FLEET_SIBLINGS)
