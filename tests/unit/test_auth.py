"""Access policy: per-command users, user groups and channels; admins for changes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.auth import Authorizer, Policy, load_policy, parse_policy
from ssh_probes.errors import ConfigError


class Groups:
    """Stands in for AsyncWebClient.usergroups_users_list; counts the calls."""

    def __init__(self, members: dict[str, list[str]]) -> None:
        self.members = members
        self.calls = 0

    async def usergroups_users_list(self, usergroup: str) -> dict[str, Any]:
        self.calls += 1
        return {"ok": True, "users": self.members.get(usergroup, [])}


POLICY = {
    "admins": ["UADMIN"],
    "commands": {
        "triage": {"users": ["U1"], "usergroups": ["S1"], "channels": ["C1"]},
        "hosts": None,
    },
}


def auth(policy: Policy, groups: Groups | None = None) -> Authorizer:
    return Authorizer(policy, groups or Groups({}), cache_s=300)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("action", "user", "channel", "allowed"),
    [
        ("triage", "U1", "C1", True),
        ("triage", "U3", "C1", True),  # via user group S1
        ("triage", "U2", "C1", False),
        ("triage", "U1", "C2", False),  # wrong channel
        ("hosts", "U2", "C9", True),  # listed with no lists: open
        ("dig", "U1", "C1", False),  # not listed, no "*"
        ("hosts.write", "U1", "C1", False),
        ("hosts.write", "UADMIN", "C1", True),
        ("digest.write", "U1", "C1", False),
        ("help", "U2", "C2", True),
    ],
)
async def test_policy_decisions(action: str, user: str, channel: str, allowed: bool) -> None:
    decision = await auth(parse_policy(POLICY), Groups({"S1": ["U3"]})).check(action, user, channel)
    assert decision.allowed is allowed
    assert bool(decision.reason) is not allowed


async def test_refusals_say_what_to_do() -> None:
    a = auth(parse_policy(POLICY))
    assert "<#C1>" in (await a.check("triage", "U1", "C2")).reason
    assert "TRIAGEBOT_ADMINS" in (await a.check("hosts.write", "U1", "C1")).reason


async def test_no_policy_file_answers_only_the_admins() -> None:
    # Issue 13: without a policy file Slack is closed to all but the admins (was: open).
    a = auth(load_policy(None, admins=["UADMIN"]))
    for action in ("triage", "help", "hosts", "hosts.write", "dig.write"):
        refused = await a.check(action, "U9", "C9")
        assert not refused.allowed and "TRIAGEBOT_POLICY_FILE" in refused.reason
        assert (await a.check(action, "UADMIN", "C9")).allowed


@pytest.mark.parametrize("action", ["hosts.write", "digest.write", "dig.write"])
async def test_writes_need_an_admin_or_an_explicit_entry(action: str) -> None:
    a = auth(parse_policy({"admins": ["UADMIN"], "commands": {"*": {}, action: {"users": ["U3"]}}}))
    assert not (await a.check(action, "U1", "C1")).allowed  # "*" never opens a write
    assert (await a.check(action, "U3", "C1")).allowed
    assert (await a.check(action, "UADMIN", "C1")).allowed
    assert (await a.check(action.split(".")[0], "U1", "C1")).allowed


async def test_star_rule_covers_unlisted_commands() -> None:
    a = auth(parse_policy({"commands": {"*": {"channels": ["C7"]}}}))
    assert (await a.check("dig", "U1", "C7")).allowed
    assert not (await a.check("dig", "U1", "C8")).allowed


async def test_user_groups_are_cached() -> None:
    groups = Groups({"S1": ["U3"]})
    a = auth(parse_policy(POLICY), groups)
    for _ in range(3):
        assert (await a.check("triage", "U3", "C1")).allowed
    assert groups.calls == 1


@pytest.mark.parametrize(
    "text",
    ["- a list", "commands: [triage]", "commands:\n  triage: {people: [U1]}", "admins: U1", "a: ["],
    ids=["list", "commands-list", "unknown-key", "admins-string", "bad-yaml"],
)
def test_bad_policy_files_are_config_errors(tmp_path: Path, text: str) -> None:
    path = tmp_path / "policy.yml"
    path.write_text(text)
    with pytest.raises(ConfigError, match="policy file"):
        load_policy(path)


def test_missing_policy_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="policy file"):
        load_policy(tmp_path / "absent.yml")


def test_policy_holds_targets_and_alerts_sections_beside_the_rules() -> None:
    policy = parse_policy(
        {
            "commands": {"*": {}},
            "targets": {"deny": ["10.0.0.0/8"], "commands": {"http": {"allow": ["127.0.0.1"]}}},
            "alerts": {"channel": "C0ALERTS"},
        }
    )
    assert [str(n) for n in policy.targets.everywhere.deny] == ["10.0.0.0/8"]
    assert [str(n) for n in policy.targets.commands["http"].allow] == ["127.0.0.1/32"]
    with pytest.raises(ConfigError, match=r"targets\.commands takes only"):
        parse_policy({"targets": {"commands": {"ssh": {}}}})
