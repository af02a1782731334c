"""`triagebot digest add|list|remove|run` and `triagebot scheduler [--once]`.

The digest commands take the same words as `/digest` in Slack (a quoted cron is split):
    triagebot digest add C0123ABC '0 9 * * 1-5' hosts=web-* tz=Europe/Paris
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.common import WORDS, JsonFlag

if TYPE_CHECKING:
    from bot.settings import Settings
    from bot.store.db import Store

digest_app = typer.Typer(
    help="Scheduled digest posts: add, list, remove, run now.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
scheduler_app = typer.Typer(
    help="Run the digest scheduler and retention (what `start` runs next to Slack).",
    invoke_without_command=True,
    rich_markup_mode=None,
)


def _run(verb: str, ctx: typer.Context, as_json: bool) -> None:
    from bot.cli.common import print_json, with_store
    from bot.commands import run
    from bot.service import Who

    words = [verb, *(w for arg in ctx.args if arg != "--json" for w in arg.split())]
    as_json = as_json or "--json" in ctx.args
    report = with_store(lambda store, settings: run("digest", store, settings, words, Who()))
    if as_json:
        print_json(report.as_dict())
        return
    for result in report.results:
        for line in result.facts.get("lines", []):
            typer.echo(line)


@digest_app.command("add", context_settings=WORDS)
def digest_add(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """CHANNEL CRON [hosts=PATTERN] [domains=a,b] [tz=Area/City]: add a schedule."""
    _run("add", ctx, as_json)


@digest_app.command("list", context_settings=WORDS)
def digest_list(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Schedules and watched domains."""
    _run("list", ctx, as_json)


@digest_app.command("remove", context_settings=WORDS)
def digest_remove(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """ID: remove a schedule."""
    _run("remove", ctx, as_json)


@digest_app.command("run", context_settings=WORDS)
def digest_run(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """ID: build the digest now and post it (printed when no SLACK_BOT_TOKEN is set)."""
    _run("run", ctx, as_json)


@scheduler_app.callback()
def scheduler(
    once: Annotated[bool, typer.Option("--once", help="One tick, then exit.")] = False,
) -> None:
    """Claim and post due digests, retry failed posts, prune old runs."""
    from bot.cli.common import with_store

    async def work(store: Store, settings: Settings) -> int:
        from bot.digests.refresh import refresh_for
        from bot.digests.scheduler import Scheduler

        poster = None
        if settings.slack_bot_token is not None:
            from bot.slack.posting import Poster, make_client

            poster = Poster(make_client(settings), store, settings)
        else:
            typer.echo("no SLACK_BOT_TOKEN: retention only, digests are left to other replicas")
        sched = Scheduler(store, settings, poster, refresh=refresh_for(settings))
        if not once:
            await sched.run()
        return await sched.tick()

    posted = with_store(work)
    typer.echo(f"{posted} digest(s) posted")
