"""POST /alerts/alertmanager and /alerts/grafana: authenticate, bound, validate, keep, 200.

Authentication is a bearer token (TRIAGEBOT_ALERTS_TOKEN) or HTTP basic auth
(TRIAGEBOT_ALERTS_USER / TRIAGEBOT_ALERTS_PASSWORD), compared in constant time; both are
what Alertmanager's `http_config` and Grafana's webhook contact point can send. Every answer
is JSON with one line of reason; nothing is parsed before the caller is authenticated.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging

from aiohttp import web

from bot.alerts.payload import PayloadError
from bot.alerts.worker import AlertDesk
from bot.settings import Settings
from ssh_probes.errors import StoreError

log = logging.getLogger("triagebot.alerts")


def authorized(header: str, settings: Settings) -> bool:
    """True when the Authorization header carries the configured token or user:password."""
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and settings.alerts_token is not None:
        want = settings.alerts_token.get_secret_value().encode()
        return hmac.compare_digest(value.encode(), want)
    if scheme.lower() == "basic" and settings.alerts_user and settings.alerts_password:
        try:
            given = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return False
        want = f"{settings.alerts_user}:{settings.alerts_password.get_secret_value()}".encode()
        return hmac.compare_digest(given, want)
    return False


def add_routes(app: web.Application, desk: AlertDesk, settings: Settings) -> None:
    """The two receivers on `app`."""

    async def receive(request: web.Request) -> web.Response:
        source = request.match_info["source"]
        if not authorized(request.headers.get("Authorization", ""), settings):
            return web.json_response(
                {"ok": False, "error": "unauthorized"},
                status=401,
                headers={"WWW-Authenticate": 'Bearer realm="triagebot", Basic realm="triagebot"'},
            )
        limit = settings.alerts_max_body_bytes
        if (request.content_length or 0) > limit:
            return web.json_response({"ok": False, "error": f"body over {limit} bytes"}, status=413)
        body = await request.content.read(limit + 1)
        if len(body) > limit:
            return web.json_response({"ok": False, "error": f"body over {limit} bytes"}, status=413)
        try:
            note = await desk.accept(source, body)
        except PayloadError as exc:
            return web.json_response({"ok": False, "error": str(exc)[:300]}, status=400)
        except StoreError as exc:
            log.error("alert not kept: %s", exc)
            # Alertmanager retries a 5xx; nothing was kept, so the retry is not a duplicate.
            return web.json_response({"ok": False, "error": "cannot store it now"}, status=503)
        return web.json_response({"ok": True, "alerts": len(note.alerts)})

    app.router.add_post("/alerts/{source:alertmanager|grafana}", receive)
