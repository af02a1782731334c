"""The report buttons: Re-run, Raw output and Triage HOST. Each carries a run id only.

A click is checked against the STORED run, never against what the button says: the click
must come from the channel the run was posted in, the clicking user must be allowed the
stored command there, and a write action never runs from a button. Raw output goes to the
clicking user alone (ephemeral, or a file in a DM with them). Anything else (an old-format
value such as `triage:12` or `triage web-1`, a forged one, a run of another channel) is
refused with an audit event saying why.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

from bot.auth import is_write
from bot.commands import REGISTRY
from bot.render import blocks
from bot.render.addresses import seen_in
from bot.slack import compare_button, running
from bot.slack.posting import POST_ERRORS, describe
from bot.store.hosts import HostRepo
from bot.store.runs import RunRepo, StoredRun
from commands import validate
from ssh_probes.errors import InputError
from ssh_probes.redact import redact

if TYPE_CHECKING:
    from bot.slack.context import Context

log = logging.getLogger("triagebot.buttons")
RUN_ID = re.compile(r"[1-9][0-9]{0,11}")


class Click:
    """Who clicked what, where, and the thread to answer in."""

    def __init__(self, body: dict[str, Any], action: str) -> None:
        self.user = str(body["user"]["id"])
        self.channel = str((body.get("channel") or {}).get("id") or "")
        first = body["actions"][0]
        self.action_id = str(first.get("action_id") or "")
        self.value = str(first.get("value") or "")[:200]
        self.action = action
        message = body.get("message") or {}
        self.root = str(message.get("thread_ts") or message.get("ts") or "") or None


async def refuse(ctx: Context, click: Click, why: str) -> None:
    """Tell the clicker (ephemeral) and audit the refusal with its reason."""
    await ctx.poster.ephemeral(click.channel, click.user, f":no_entry: {why}", click.root)
    await ctx.repo.audit(
        user=click.user, channel=click.channel, action=click.action,
        detail=f"{click.action_id} {click.value}", outcome="refused", reason=why,
    )  # fmt: skip


async def stored_run(ctx: Context, click: Click) -> StoredRun | None:
    """The run the button names, when this click may act on it (else refused, None)."""
    if not RUN_ID.fullmatch(click.value):
        await refuse(ctx, click, "This button is from an older version or not ours: "
                     "run the command again for a fresh report.")  # fmt: skip
        return None
    run = await RunRepo(ctx.store).get(int(click.value))
    if run is None:
        await refuse(ctx, click, f"Run {click.value} is not stored (any more).")
        return None
    if not click.channel or run.channel != click.channel:
        await refuse(ctx, click, f"Run {run.run_id} was posted in another channel: "
                     "its buttons work only there.")  # fmt: skip
        return None
    return run


async def allowed(ctx: Context, click: Click, command: str, words: list[str]) -> bool:
    """The stored command is a read the clicker may run in this channel (else refused)."""
    spec = REGISTRY.get(command)
    if spec is None or spec.runner is None or command not in ctx.commands:
        await refuse(ctx, click, f"`/{command}` is not available from a button here.")
        return False
    action = spec.action(words)
    if is_write(action):
        await refuse(ctx, click, "Buttons never change anything: type the command instead.")
        return False
    decision = await ctx.auth.check(action, click.user, click.channel)
    if not decision.allowed:
        await refuse(ctx, click, decision.reason)
    return decision.allowed


async def rerun(ctx: Context, body: dict[str, Any]) -> None:
    """Re-run: the stored command and target again, answered in the thread."""
    click = Click(body, "button:rerun")
    run = await stored_run(ctx, click)
    if run is None:
        return
    words = run.target.split()
    if await allowed(ctx, click, run.command, words):
        detail = f"run {run.run_id}: {run.command} {run.target}"
        await running.accepted(ctx, run.command, words, click.user, click.channel, detail,
                           thread_ts=click.root, action=click.action)  # fmt: skip


async def triage_host(ctx: Context, body: dict[str, Any]) -> None:
    """Triage HOST on a dig/http result: only a registered host whose address that run saw."""
    click = Click(body, "button:triage_host")
    run = await stored_run(ctx, click)
    if run is None:
        return
    name = click.action_id.partition(":")[2]
    try:
        spec = await HostRepo(ctx.store).get(validate.host_name(name))
    except InputError as exc:
        await refuse(ctx, click, str(exc))
        return
    if run.command not in ("dig", "http") or spec.address not in seen_in(run.facts):
        await refuse(ctx, click, f"Run {run.run_id} did not see `{spec.name}`.")
        return
    if await allowed(ctx, click, "triage", [spec.name]):
        await running.accepted(ctx, "triage", [spec.name], click.user, click.channel,
                           f"run {run.run_id}: triage {spec.name}", thread_ts=click.root,
                           action=click.action, rerun=False)  # fmt: skip


async def raw(ctx: Context, body: dict[str, Any]) -> None:
    """Raw output of the stored run, to the clicking user alone."""
    click = Click(body, "button:raw_output")
    run = await stored_run(ctx, click)
    if run is None or not await allowed(ctx, click, run.command, run.target.split()):
        return
    text = blocks.raw_text(await ctx.repo.raw_outputs(run.run_id))
    if len(text) <= blocks.MAX_SECTION_CHARS - 8:
        await ctx.poster.ephemeral(click.channel, click.user, f"```{text}```", click.root)
    else:
        try:
            await send_file(ctx, click.user, f"run-{run.run_id}-raw.txt", text)
        except POST_ERRORS as exc:
            log.warning("raw output of run %s to %s: %s", run.run_id, click.user, describe(exc))
            await refuse(ctx, click, "The raw output could not be sent to you; try again.")
            return
        note = f"Raw output of run {run.run_id} is in your direct messages with me."
        await ctx.poster.ephemeral(click.channel, click.user, note, click.root)
    await ctx.repo.audit(
        user=click.user, channel=click.channel, action=click.action,
        detail=f"run {run.run_id}", outcome="ok", run_id=run.run_id,
    )  # fmt: skip


async def send_file(ctx: Context, user: str, filename: str, text: str) -> None:
    """A text file shared with `user` alone: in the bot's direct conversation with them."""
    opened = await ctx.client.conversations_open(users=user)
    channel = str((opened.get("channel") or {}).get("id") or "")
    if not channel:
        raise OSError("conversations.open gave no channel")
    await ctx.client.files_upload_v2(
        channel=channel, filename=filename, title=filename, content=redact(text)
    )


async def compare(ctx: Context, body: dict[str, Any]) -> None:
    """The work behind a click: check the run and the user, then compare in the thread."""
    user, channel = str(body["user"]["id"]), str(body["channel"]["id"])
    value = str(body["actions"][0].get("value") or "")[:40]
    message = body.get("message") or {}
    root = str(message.get("thread_ts") or message.get("ts") or "") or None
    action = f"button:{compare_button.ACTION}"
    try:
        words = await compare_button.words_for_click(ctx.store, value, channel)
    except InputError as exc:
        await ctx.poster.ephemeral(channel, user, f":warning: {exc}", root)
        ctx.refuse(user, channel, action, f"run {value}", str(exc))
        return
    detail = f"run {value}: triage {' '.join(words)}"
    decision = await ctx.auth.check("triage", user, channel)
    if not decision.allowed:
        await ctx.poster.ephemeral(channel, user, f":no_entry: {decision.reason}", root)
        ctx.refuse(user, channel, action, detail, decision.reason)
        return
    await running.accepted(
        ctx, "triage", words, user, channel, detail, thread_ts=root, action=action, rerun=False
    )
