"""Run the Slack app: HTTP mode (POST /slack/events) or Socket Mode, plus GET /healthz."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request

from bot.app import Bot
from bot.settings import Settings
from bot.store.db import Store
from ssh_probes.errors import StoreError
from ssh_probes.redact import redact

log = logging.getLogger("triagebot.serve")
# In a container the pod's address is the one Slack (or the ingress) reaches.
ALL_INTERFACES = "0.0.0.0"  # noqa: S104


def web_app(bot: Bot, *, events: bool = True) -> web.Application:
    """The aiohttp application: /slack/events (HTTP mode), /healthz, the outbox loop."""
    app = web.Application()

    async def slack_events(request: web.Request) -> web.Response:
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

    if events:
        app.router.add_post("/slack/events", slack_events)
    app.router.add_get("/healthz", healthz)
    app.cleanup_ctx.append(outbox)
    return app


async def _forever() -> None:
    await asyncio.Event().wait()


async def serve(settings: Settings, host: str = ALL_INTERFACES) -> None:
    """Serve until cancelled in the mode the tokens allow (HTTP or Socket Mode)."""
    store = Store(settings.database_url)
    await store.ensure_schema()
    bot = Bot(settings, store)
    mode = settings.slack_mode()
    runner = web.AppRunner(web_app(bot, events=mode == "http"))
    await runner.setup()
    site = web.TCPSite(runner, host, settings.port)
    await site.start()
    handler = None
    try:
        if mode == "socket" and settings.slack_app_token is not None:
            from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

            handler = AsyncSocketModeHandler(
                bot.app, settings.slack_app_token.get_secret_value(), web_client=bot.client
            )
            await handler.connect_async()  # type: ignore[no-untyped-call]
            log.info("Socket Mode connected; /healthz on port %s", settings.port)
        else:
            log.info("HTTP mode: POST /slack/events and /healthz on port %s", settings.port)
        await _forever()
    finally:
        if handler is not None:
            await handler.close_async()  # type: ignore[no-untyped-call]
        await runner.cleanup()
        await store.close()


class RedactingFilter(logging.Filter):
    """Redacts every log line: Bolt logs request bodies (e.g. on a bad signature)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Replace the message with its redacted rendering."""
        record.msg, record.args = redact(record.getMessage()), None
        return True


def run(settings: Settings) -> None:
    """Blocking entry point for `triagebot start`."""
    logging.basicConfig(level=settings.log_level)
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactingFilter())
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(settings))
