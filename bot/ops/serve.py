"""Run the Slack app: HTTP mode (POST /slack/events) or Socket Mode, plus GET /healthz,
GET /readyz and GET /metrics; stop gracefully on SIGTERM/SIGINT (bot.ops.shutdown)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request

from bot.ops import health as readiness
from bot.ops import logs, shutdown
from bot.settings import Settings
from bot.slack import body as slack_body
from bot.slack.app import Bot
from bot.store.db import Store
from ssh_probes.errors import StoreError

log = logging.getLogger("triagebot.serve")
ALERT_DESK = web.AppKey("alert_desk", object)
# In a container the pod's address is the one Slack (or the ingress) reaches.
ALL_INTERFACES = "0.0.0.0"  # noqa: S104


def web_app(bot: Bot, *, events: bool = True) -> web.Application:
    """The aiohttp application: /slack/events (HTTP mode), /healthz, /readyz, /metrics, the
    outbox loop."""
    app = web.Application()
    health = readiness.add_routes(app, bot.store)

    async def slack_events(request: web.Request) -> web.Response:
        if health.draining:
            # Slack retries elsewhere: the Service has stopped routing here (/readyz is 503).
            return web.json_response({"ok": False, "error": "shutting down"}, status=503)
        secret = bot.settings.slack_signing_secret
        refused = slack_body.problem(
            await request.read(), request.headers, secret.get_secret_value() if secret else None
        )
        if refused is not None:
            return web.json_response({"ok": False, "error": refused[1]}, status=refused[0])
        bolt_response = await bot.app.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(bolt_response)

    async def healthz(_request: web.Request) -> web.Response:
        try:
            revision = await bot.store.revision()
        except StoreError as exc:
            return web.json_response({"ok": False, "error": str(exc)}, status=503)
        return web.json_response({"ok": True, "schema": revision})

    async def outbox(_app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(bot.poster.run_outbox(bot.settings.slack_outbox_interval_s))
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await bot.drain()

    if bot.settings.alerts_enabled():
        add_alert_receivers(app, bot)
    if events:
        app.router.add_post("/slack/events", slack_events)
    app.router.add_get("/healthz", healthz)
    app.cleanup_ctx.append(outbox)
    return app


def add_alert_receivers(app: web.Application, bot: Bot) -> None:
    """POST /alerts/alertmanager and /alerts/grafana, and the desk that answers them."""
    from bot.alerts.receiver import add_routes
    from bot.alerts.routing import parse_route
    from bot.alerts.worker import AlertDesk

    # The policy file was read and checked when the bot was built: its alerts: section here.
    route = parse_route(bot.auth.policy.alerts, bot.settings.alerts_channel)
    desk = AlertDesk(bot.store, bot.settings, bot.poster.post, route)
    add_routes(app, desk, bot.settings)
    app[ALERT_DESK] = desk

    async def work(_app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(desk.run())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        # Routines already started get the shutdown grace; their notifications stay kept.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(desk.settle(), bot.settings.shutdown_grace_s)

    app.cleanup_ctx.append(work)


async def serve(
    settings: Settings, host: str = ALL_INTERFACES, stopper: shutdown.Stopper | None = None
) -> None:
    """Serve in the mode the tokens allow (HTTP or Socket Mode) until stopped or cancelled.

    On stop: /readyz and /slack/events answer 503 (Socket Mode disconnects), in-flight runs
    get settings.shutdown_grace_s to finish, the rest are stored as interrupted.
    """
    loop = asyncio.get_running_loop()
    if stopper is None:
        stopper = shutdown.Stopper()
        stopper.install(loop)
    store = Store(settings.database_url)
    await store.ensure_schema()
    bot = Bot(settings, store)
    mode = settings.slack_mode()
    app = web_app(bot, events=mode == "http")
    health = app[readiness.HEALTH]
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, host, settings.port)
    await site.start()
    # Digests and retention run in every replica; the DB claim makes each post happen once.
    scheduler = asyncio.create_task(digest_loop(store, settings, bot))
    handler = None
    try:
        if mode == "socket" and settings.slack_app_token is not None:
            from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

            handler = AsyncSocketModeHandler(
                bot.app, settings.slack_app_token.get_secret_value(), web_client=bot.client
            )
            health.slack_connected = handler.client.is_connected
            await handler.connect_async()  # type: ignore[no-untyped-call]
            log.info("Socket Mode connected; /healthz on port %s", settings.port)
        else:
            log.info("HTTP mode: POST /slack/events and /healthz on port %s", settings.port)
        await stopper.stop.wait()
        health.draining = True
        if handler is not None:
            # No new envelopes: Slack sends them to the other replicas' connections.
            await handler.close_async()  # type: ignore[no-untyped-call]
            handler = None
        await shutdown.finish_in_flight(bot.ctx, settings.shutdown_grace_s, stopper.hurry)
    finally:
        health.draining = True
        if handler is not None:
            await handler.close_async()  # type: ignore[no-untyped-call]
        scheduler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await scheduler
        await runner.cleanup()
        await store.close()
        log.info("stopped")


async def digest_loop(store: Store, settings: Settings, bot: Bot) -> None:
    """The scheduler (bot.digests.scheduler), posting through the bot's own poster and outbox."""
    from bot.digests.refresh import refresh_for
    from bot.digests.scheduler import Scheduler

    await Scheduler(store, settings, bot.poster, refresh=refresh_for(settings)).run()


def run(settings: Settings) -> None:
    """Blocking entry point for `triagebot start`: returns (exit 0) after a graceful stop."""
    logs.configure(settings.log_level, settings.log_format)
    with contextlib.suppress(KeyboardInterrupt):  # a SIGINT before the handlers are in
        asyncio.run(serve(settings))
