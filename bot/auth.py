"""Who may run what, where: the policy file, user groups (cached), and the decision.

Policy file (YAML, TRIAGEBOT_POLICY_FILE):

    admins: [U0ADMIN1]                # may change the registry and schedules
    commands:
      triage: {users: [U1], usergroups: [S0ONCALL], channels: [C0INCIDENTS]}
      hosts: {}                       # listed with no lists: everyone, everywhere
      "*": {channels: [C0OPS]}        # any command not listed above

With a policy file, a command that is neither listed nor covered by "*" is refused. Without
one the bot is closed: it answers only its admins (TRIAGEBOT_ADMINS) and tells everyone else
how to be let in. Write actions (`hosts.write`, `digest.write`, `dig.write`: see
bot.commands) need an admin (policy `admins` or TRIAGEBOT_ADMINS) or an explicit entry.
The Authorizer serves Slack only: the CLI and the console are a person at the machine.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from commands.targets import Targets, parse_targets
from ssh_probes.errors import ConfigError

if TYPE_CHECKING:  # slack_sdk and aiohttp: ~0.2 s a CLI run (guard_for) does not need
    from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger("triagebot.auth")

OPEN_ACTIONS = frozenset({"help"})
CHANGES = {
    "hosts.write": "the host registry",
    "digest.write": "digest schedules",
    "dig.write": "the watched domains",
}
RULE_KEYS = frozenset({"users", "usergroups", "channels"})


def is_write(action: str) -> bool:
    """True for an action that changes something stored (`hosts.write`, `dig.write`, ...)."""
    return action.endswith(".write")


@dataclass(frozen=True)
class Rule:
    """Allow-lists for one command; an empty list does not restrict."""

    users: frozenset[str] = frozenset()
    usergroups: frozenset[str] = frozenset()
    channels: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Policy:
    """The rules per command (None: no policy file) and the admins."""

    rules: dict[str, Rule] | None = None
    admins: frozenset[str] = field(default_factory=frozenset)
    targets: Targets = field(default_factory=Targets)  # what commands may connect to
    alerts: Any = None  # the `alerts:` section as written; bot.alerts.routing parses it


@dataclass(frozen=True)
class Decision:
    """Allowed, or refused with a message saying what to do."""

    allowed: bool
    reason: str = ""

    def refused(self, reason: str) -> Decision:
        """The same question, refused for `reason`."""
        return Decision(False, reason)


def _ids(value: Any, where: str) -> frozenset[str]:
    if value is None:
        return frozenset()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"policy file: {where} must be a list of Slack ids")
    return frozenset(value)


def parse_policy(data: Any, admins: Iterable[str] = ()) -> Policy:
    """A Policy from the YAML document's data; a wrong shape is a ConfigError."""
    if data is None:
        data = {}
    # `alerts` is read by bot.alerts.routing; `targets` by commands.targets.
    if not isinstance(data, dict) or set(data) - {"admins", "commands", "targets", "alerts"}:
        raise ConfigError(
            "policy file: expected a mapping with `admins`, `commands`, `targets`, `alerts`"
        )
    rules: dict[str, Rule] = {}
    commands = data.get("commands") or {}
    if not isinstance(commands, dict):
        raise ConfigError("policy file: `commands` must map command names to rules")
    for name, body in commands.items():
        body = body or {}
        if not isinstance(body, dict) or set(body) - RULE_KEYS:
            raise ConfigError(f"policy file: commands.{name} takes only {sorted(RULE_KEYS)}")
        rules[str(name)] = Rule(
            users=_ids(body.get("users"), f"commands.{name}.users"),
            usergroups=_ids(body.get("usergroups"), f"commands.{name}.usergroups"),
            channels=_ids(body.get("channels"), f"commands.{name}.channels"),
        )
    all_admins = _ids(data.get("admins"), "admins") | frozenset(admins)
    return Policy(
        rules=rules,
        admins=all_admins,
        targets=parse_targets(data.get("targets")),
        alerts=data.get("alerts"),
    )


def load_policy(path: Path | None, admins: Iterable[str] = ()) -> Policy:
    """The policy at `path`, or the open default (admins only for changes) when None."""
    if path is None:
        return Policy(rules=None, admins=frozenset(admins))
    import yaml  # only with a policy file: `triagebot dig` without one does not load it

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"policy file {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"policy file {path}: not valid YAML ({exc})") from None
    return parse_policy(data, admins)


def closed_reason(channel: str | None = None) -> str:
    """The one line for everyone but the admins when there is no policy file."""
    where = f" (<#{channel}>)" if channel and channel[:1] in "CG" else ""
    return (
        "This bot answers only its admins until a policy file (TRIAGEBOT_POLICY_FILE) lets "
        f"others in: ask an admin to allow you or this channel{where}."
    )


def write_reason(action: str) -> str:
    """Why a write was refused, and whom to ask."""
    what = CHANGES.get(action, f"what `{action}` changes")
    return (
        f"Only admins may change {what}. Ask an admin, or have your user id added "
        "to TRIAGEBOT_ADMINS or the policy file's `admins`."
    )


class Authorizer:
    """Decides per action, user and channel; resolves user groups via the Web API, cached."""

    def __init__(self, policy: Policy, client: AsyncWebClient, cache_s: float = 300.0) -> None:
        self.policy = policy
        self.client = client
        self.cache_s = cache_s
        self._groups: dict[str, tuple[float, frozenset[str]]] = {}

    async def members(self, group: str) -> frozenset[str]:
        """The user ids of a user group (usergroups.users.list), cached for cache_s."""
        now = time.monotonic()
        cached = self._groups.get(group)
        if cached and cached[0] > now:
            return cached[1]
        try:
            resp = await self.client.usergroups_users_list(usergroup=group)
            users = frozenset(str(u) for u in resp.get("users") or [])
        except Exception as exc:  # an unreadable group grants nothing; the reason is logged
            log.warning("user group %s could not be read: %s", group, exc)
            return frozenset()
        self._groups[group] = (now + self.cache_s, users)
        return users

    async def _user_ok(self, rule: Rule, user: str) -> bool:
        if not rule.users and not rule.usergroups:
            return True
        if user in rule.users or user in self.policy.admins:
            return True
        for group in sorted(rule.usergroups):
            if user in await self.members(group):
                return True
        return False

    async def _match(self, action: str, rule: Rule, user: str, channel: str) -> Decision:
        command = action.split(".", 1)[0]
        if rule.channels and channel not in rule.channels:
            where = ", ".join(f"<#{c}>" for c in sorted(rule.channels))
            return Decision(False, f"`/{command}` can be used in {where} only; try it there.")
        if not await self._user_ok(rule, user):
            return Decision(
                False,
                f"You are not allowed to run `/{command}` here. Ask an admin to add you "
                "(or one of your user groups) to its entry in the policy file.",
            )
        return Decision(True)

    def is_admin(self, user: str) -> bool:
        """An admin: in the policy's `admins` or TRIAGEBOT_ADMINS."""
        return user in self.policy.admins

    async def may_run(self, action: str, user: str) -> bool:
        """May `user` do `action` in some channel (what the App Home offers them)?"""
        rules = self.policy.rules
        if self.is_admin(user):
            return True
        if rules is None:
            return False
        if action in OPEN_ACTIONS:
            return True
        rule = rules.get(action) if is_write(action) else rules.get(action) or rules.get("*")
        if rule is None or (is_write(action) and not (rule.users or rule.usergroups)):
            return False
        return await self._user_ok(rule, user)

    async def check(self, action: str, user: str, channel: str) -> Decision:
        """May `user` do `action` (`triage`, `hosts`, `hosts.write`, ...) in `channel`?"""
        rules = self.policy.rules
        if rules is None:  # no policy file: closed to all but the admins
            admin = self.is_admin(user)
            return Decision(True) if admin else Decision(False, closed_reason(channel))
        if action in OPEN_ACTIONS:
            return Decision(True)
        if is_write(action):
            if self.is_admin(user):
                return Decision(True)
            rule = rules.get(action)
            if rule is not None and (rule.users or rule.usergroups):
                return await self._match(action, rule, user, channel)
            return Decision(False, write_reason(action))
        rule = rules.get(action) or rules.get("*")
        if rule is None:
            return Decision(
                False, f"`/{action}` is not enabled by this workspace's policy; ask an admin."
            )
        return await self._match(action, rule, user, channel)
