"""GET /readyz and GET /metrics, and the state they report (draining, Slack connected)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from bot.ops import metrics
from bot.store.db import Store

# Below the chart's readinessProbe timeoutSeconds (3), so a hung database reads as "not ready".
DATABASE_TIMEOUT_S = 2.0


@dataclass
class Health:
    """What readiness depends on besides the database."""

    draining: bool = False  # a shutdown began: no new commands
    # Socket Mode: is the websocket up? None in HTTP mode, where serving is being connected.
    slack_connected: Callable[[], Awaitable[bool]] | None = None


HEALTH = web.AppKey("triagebot_health", Health)


async def database_problem(store: Store, timeout_s: float = DATABASE_TIMEOUT_S) -> str | None:
    """None when `SELECT 1` answers within `timeout_s`, else why not (one redacted line)."""
    try:
        async with asyncio.timeout(timeout_s):
            async with store.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
    except TimeoutError:
        return f"database: no answer within {timeout_s:g}s"
    except (SQLAlchemyError, OSError) as exc:
        return store.explain(exc)
    return None


async def not_ready(store: Store, health: Health) -> str | None:
    """Why this replica should get no traffic, or None when it is ready."""
    if health.draining:
        return "shutting down"
    problem = await database_problem(store)
    if problem is not None:
        return problem
    if health.slack_connected is not None and not await health.slack_connected():
        return "slack: Socket Mode not connected"
    return None


def add_routes(app: web.Application, store: Store) -> Health:
    """Register /readyz and /metrics on `app`; returns the Health the server updates."""
    health = app[HEALTH] = Health()
    metrics.install(store)

    async def readyz(_request: web.Request) -> web.Response:
        why = await not_ready(store, health)
        if why is not None:
            return web.json_response({"ready": False, "reason": why}, status=503)
        return web.json_response({"ready": True})

    async def metrics_page(_request: web.Request) -> web.Response:
        body, content_type = metrics.exposition()
        # aiohttp wants the charset apart from the media type.
        media, _, params = content_type.partition(";")
        charset = params.partition("charset=")[2].strip() or None
        return web.Response(body=body, content_type=media.strip(), charset=charset)

    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_page)
    return health
