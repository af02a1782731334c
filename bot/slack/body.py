"""The first look at what Slack sent: which delivery it is (across Slack's retries), and for
a POST /slack/events body: signed, then readable, before Bolt parses it.

Bolt parses the body before it checks the signature, and a malformed body (a `payload` that
is not JSON, a cut JSON event) is an exception there: a 500 with a traceback in the log for
anyone who can reach the port. Here the signature is checked on the raw bytes first (401),
then the body's shape (400); only a signed, well-formed body reaches Bolt.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Mapping
from typing import Any

from slack_sdk.signature import SignatureVerifier

MAX_BODY_BYTES = 1_000_000  # Slack's payloads are far smaller


def problem(raw: bytes, headers: Mapping[str, str], secret: str | None) -> tuple[int, str] | None:
    """(status, reason) when the body must be refused, None when Bolt may have it."""
    if len(raw) > MAX_BODY_BYTES:
        return 413, "body too large"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if secret is not None:
        timestamp = headers.get("X-Slack-Request-Timestamp", "")
        signature = headers.get("X-Slack-Signature", "")
        if (
            text is None
            or not timestamp.isdigit()
            or not SignatureVerifier(secret).is_valid(text, timestamp, signature)
        ):
            return 401, "invalid signature"
    if text is None:
        return 400, "body is not UTF-8"
    return None if readable(text, headers.get("Content-Type", "")) else (400, "malformed body")


def readable(text: str, content_type: str) -> bool:
    """True when the body is what Slack sends: a JSON object, or a form (its `payload` JSON)."""
    try:
        if content_type.startswith("application/json"):
            return isinstance(json.loads(text), dict)
        form = urllib.parse.parse_qs(text, keep_blank_values=True, strict_parsing=bool(text))
        if "payload" in form:
            return isinstance(json.loads(form["payload"][0]), dict)
        return True
    except ValueError:
        return False


def delivery_key(body: Mapping[str, Any]) -> str | None:
    """What identifies one delivery across Slack's retries (HTTP and Socket Mode alike)."""
    if body.get("event_id"):
        return f"event:{body['event_id']}"
    if body.get("trigger_id"):
        return f"trigger:{body['trigger_id']}"
    actions = body.get("actions") or []
    if actions and actions[0].get("action_ts"):
        return f"action:{body.get('user', {}).get('id')}:{actions[0]['action_ts']}"
    return None
