"""What of the docker probe's output may be stored: `docker inspect` without environments.

A container's `Config.Env` holds its database passwords, API keys and signing secrets, most
of them in shapes no redaction pattern knows (`FOO=bar`). The stored raw output keeps each
variable's NAME only; a URL-valued one keeps its scheme, host and port (what the docker rules
read from the facts), never its credentials, path or query.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
DROPPED = (
    "(docker inspect output not stored: it could not be read as JSON, so the containers' "
    "environments could not be taken out of it)"
)


def _env_entry(item: object) -> str:
    """`NAME` for `NAME=value`; `NAME=scheme://host:port` for a URL value."""
    name, sep, value = str(item).partition("=")
    if not sep or not _URL.match(value):
        return name
    try:
        parts = urlsplit(value)
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return name
    return f"{name}={parts.scheme}://{parts.hostname}{port}" if parts.hostname else name


def without_env(doc: Any) -> Any:
    """One inspect document with Config.Env reduced to names (URLs: scheme, host, port)."""
    config = doc.get("Config") if isinstance(doc, dict) else None
    if isinstance(config, dict) and isinstance(config.get("Env"), list):
        config["Env"] = [_env_entry(item) for item in config["Env"]]
    return doc


def stored_output(stdout: str) -> str:
    """The probe's output with every container's environment values removed."""
    lines = stdout.split("\n")
    if "@@inspect" not in lines:
        return stdout  # no inspect section: no docker, no daemon
    start = lines.index("@@inspect") + 1
    # The section ends at the next marker (`@@stats` or `@@end`): JSON lines never start with @@.
    ends = [i for i, line in enumerate(lines) if line.startswith("@@") and i >= start]
    end = ends[0] if ends else len(lines)
    body = "\n".join(lines[start:end])
    try:
        docs = json.loads(body) if body.strip() else []
    except json.JSONDecodeError:
        docs = None
    shown = DROPPED
    if isinstance(docs, list):
        shown = json.dumps([without_env(d) for d in docs], indent=4) if docs else ""
    return "\n".join([*lines[:start], *([shown] if shown else []), *lines[end:]])
