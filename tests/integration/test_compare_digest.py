"""The digest's group lines, from runs stored in SQLite and PostgreSQL (the golden facts).

The same comparison as `triage HOST compare`, over each watched host's latest stored run:
one line per `group` label with the hosts that stand out.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from bot.digests.build import build
from bot.digests.render import messages
from bot.store.db import Store
from bot.store.digests import DigestRepo
from bot.store.models import HostRow
from bot.store.runs import RunRepo
from commands.report import Report
from ssh_probes.model import ProbeResult
from tests.fixtures.compare_facts import load, members

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


async def add_host(store: Store, name: str, labels: dict[str, str]) -> None:
    async with store.session() as session:
        session.add(
            HostRow(name=name, address="192.0.2.10", port=22, user="root", host_keys=[],
                    expect_ports=[], logs=[], labels=labels, watched=True)
        )  # fmt: skip


async def save_case(store: Store, case: str, group: str, at: datetime) -> None:
    """Each host of the case: registered with the label, one stored triage with its facts."""
    for m in members(load(case)):
        await add_host(store, m.name, {"group": group})
        results = tuple(ProbeResult(p, m.name, True, f) for p, f in m.facts.items())
        await RunRepo(store).save(Report("triage", m.name, "ok", at, 10, results=results))


async def test_digest_says_which_host_stands_out_in_its_group(store: Store) -> None:
    await save_case(store, "tcp-states", "web", T0)
    # Another group where nobody stands out, and a lone host (no line: nothing to compare).
    for name in ("api-1", "api-2", "api-3"):
        await add_host(store, name, {"group": "api,edge"})
        m = members(load("ports-tie"))[0]
        results = tuple(ProbeResult(p, name, True, f) for p, f in m.facts.items())
        await RunRepo(store).save(Report("triage", name, "ok", T0, 10, results=results))
    await add_host(store, "solo-1", {"group": "solo"})
    schedule = await DigestRepo(store).add("C0DIGEST", "0 * * * *", "UTC", "*", (), "U1", now=T0)
    slot = T0 + timedelta(hours=1)
    digest = await build(store, schedule, slot, slot)
    assert digest.fleet == [
        "group=api (3 hosts): no host stands out",
        "group=edge (3 hosts): no host stands out",
        "group=web (5 hosts): stand out: web-1 (tcp TIME-WAIT, tcp CLOSE-WAIT)",
    ]
    lines = digest.lines()
    assert lines[lines.index("Groups:") + 3] == (
        "  group=web (5 hosts): stand out: web-1 (tcp TIME-WAIT, tcp CLOSE-WAIT)"
    )
    # The Slack summary carries the same lines.
    summary = json.dumps(messages(digest, None)[0]["blocks"])
    assert "*Groups:*" in summary and "stand out: web-1 (tcp TIME-WAIT, tcp CLOSE-WAIT)" in summary


async def test_digest_without_groups_has_no_group_section(store: Store) -> None:
    await add_host(store, "web-1", {})
    schedule = await DigestRepo(store).add("C0DIGEST", "0 * * * *", "UTC", "*", (), "U1", now=T0)
    digest = await build(store, schedule, T0, T0)
    assert digest.fleet == [] and "Groups:" not in digest.lines()
