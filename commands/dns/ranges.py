"""Which provider an address belongs to, from the published IP range lists we ship.

Each list is a text file in `commands/knowledge/ranges/`: `# key: value` header lines
(provider, kind cdn|cloud, source URL, where the copy came from, retrieved date), then one
CIDR per line. Files load once, on first lookup; a lookup is a binary search per provider.
"""

from __future__ import annotations

import bisect
import ipaddress
import re
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache, cached_property
from pathlib import Path
from typing import Any, Protocol

RANGES_DIR = Path(__file__).resolve().parent.parent / "knowledge" / "ranges"

# Matched in this order, so CloudFront wins over the AWS-wide list that contains it.
ORDER = ("cloudflare", "aws-cloudfront", "fastly", "azure-front-door", "google-cloud", "aws")

# Where `update_ranges` refreshes each file from (the provider's own published list).
OFFICIAL: dict[str, tuple[str, ...]] = {
    "cloudflare": ("https://www.cloudflare.com/ips-v4/", "https://www.cloudflare.com/ips-v6/"),
    "aws-cloudfront": ("https://ip-ranges.amazonaws.com/ip-ranges.json",),
    "aws": ("https://ip-ranges.amazonaws.com/ip-ranges.json",),
    "fastly": ("https://api.fastly.com/public-ip-list",),
    "google-cloud": ("https://www.gstatic.com/ipranges/cloud.json",),
}

# Providers without a public address list are still recognisable by their CNAME targets.
CNAME_SUFFIXES: dict[str, tuple[str, str]] = {
    "cloudfront.net": ("AWS CloudFront", "cdn"),
    "fastly.net": ("Fastly", "cdn"),
    "fastlylb.net": ("Fastly", "cdn"),
    "cdn.cloudflare.net": ("Cloudflare", "cdn"),
    "akamaiedge.net": ("Akamai", "cdn"),
    "edgekey.net": ("Akamai", "cdn"),
    "edgesuite.net": ("Akamai", "cdn"),
    "akamaized.net": ("Akamai", "cdn"),
    "azurefd.net": ("Azure Front Door", "cdn"),
    "azureedge.net": ("Azure CDN", "cdn"),
}


@dataclass(frozen=True)
class RangeList:
    """One provider's ranges: per family, the disjoint address intervals their CIDRs cover
    (overlapping and adjacent ones merged), sorted for bisection.

    `ipaddress.collapse_addresses` gives the maximal CIDR blocks inside such an interval,
    which is what a lookup names (`range`); the block holding an address is computed for
    that address alone, so a file loads in integers (~10x faster than building and
    collapsing every network: `dig` loads every file in each CLI process).
    """

    key: str
    provider: str
    kind: str
    meta: Mapping[str, str]
    starts: dict[int, list[int]] = field(default_factory=dict)
    ends: dict[int, list[int]] = field(default_factory=dict)

    @cached_property
    def nets(self) -> dict[int, list[ipaddress.IPv4Network | ipaddress.IPv6Network]]:
        """Per family, the collapsed networks (what collapse_addresses gives), in order."""
        out: dict[int, list[ipaddress.IPv4Network | ipaddress.IPv6Network]] = {}
        for version, starts in self.starts.items():
            addr = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address
            out[version] = [
                net
                for first, last in zip(starts, self.ends[version], strict=True)
                for net in ipaddress.summarize_address_range(addr(first), addr(last))
            ]
        return out

    def find(self, ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
        """The published (collapsed) range containing `ip`, or None."""
        value, starts = int(ip), self.starts.get(ip.version, [])
        at = bisect.bisect_right(starts, value) - 1
        if at < 0 or value > self.ends[ip.version][at]:
            return None
        bits = ip.max_prefixlen
        first, last = starts[at], self.ends[ip.version][at]
        while True:  # the interval's largest aligned blocks, first to last, as summarize does
            size = first & -first or 1 << bits
            while size > last - first + 1:
                size >>= 1
            if value < first + size:
                prefix = bits - size.bit_length() + 1
                network = ipaddress.IPv4Network if bits == 32 else ipaddress.IPv6Network
                return str(network((first, prefix)))
            first += size


_V4 = re.compile(r"(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})"
                 r"/(0|[1-9]\d?)")  # fmt: skip
_V6 = re.compile(r"([0-9a-f:]{2,39})/(0|[1-9]\d{0,2})")


def cidr_span(text: str) -> tuple[int, int, int]:
    """(family, first, last address as integers) of a CIDR, host bits ignored.

    What `ipaddress.ip_network(text, strict=False)` covers (and its ValueError for anything
    else): plain dotted quads and canonical IPv6 are read with integers and socket, every
    other spelling by ipaddress itself.
    """
    if m := _V4.fullmatch(text):
        octets, prefix = [int(g) for g in m.groups()[:4]], int(m.group(5))
        if max(octets) <= 255 and prefix <= 32:
            value = octets[0] << 24 | octets[1] << 16 | octets[2] << 8 | octets[3]
            size = 1 << (32 - prefix)
            first = value & ~(size - 1)
            return 4, first, first + size - 1
    elif (m := _V6.fullmatch(text)) and int(m.group(2)) <= 128:
        try:
            packed = socket.inet_pton(socket.AF_INET6, m.group(1))
        except OSError:
            packed = b""
        # Only the canonical spelling (what inet_ntop writes), which ipaddress reads alike.
        if packed and socket.inet_ntop(socket.AF_INET6, packed) == m.group(1):
            size = 1 << (128 - int(m.group(2)))
            first = int.from_bytes(packed, "big") & ~(size - 1)
            return 6, first, first + size - 1
    net = ipaddress.ip_network(text, strict=False)
    return net.version, int(net.network_address), int(net.broadcast_address)


def parse_list(key: str, text: str) -> RangeList:
    """A range file's text -> RangeList (overlaps and neighbours merged: bisection is exact)."""
    meta: dict[str, str] = {}
    raw: dict[int, list[tuple[int, int]]] = {4: [], 6: []}
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("#"):
            name, _, value = line[1:].partition(":")
            meta.setdefault(name.strip(), value.strip())
        elif line:
            version, first, last = cidr_span(line)
            raw[version].append((first, last))
    ranges = RangeList(key, meta.get("provider", key), meta.get("kind", "cloud"), meta)
    for version, spans in raw.items():
        starts: list[int] = []
        ends: list[int] = []
        for first, last in sorted(spans):
            if ends and first <= ends[-1] + 1:
                ends[-1] = max(ends[-1], last)
            else:
                starts.append(first)
                ends.append(last)
        ranges.starts[version], ranges.ends[version] = starts, ends
    return ranges


@cache
def load(directory: Path = RANGES_DIR) -> tuple[RangeList, ...]:
    """Every range file of `directory`, in match order (cached: read once per process)."""
    files = {p.stem: p for p in sorted(directory.glob("*.txt"))}
    keys = [k for k in ORDER if k in files] + [k for k in files if k not in ORDER]
    return tuple(parse_list(k, files[k].read_text(encoding="utf-8")) for k in keys)


def attribute(address: str, directory: Path = RANGES_DIR) -> dict[str, str] | None:
    """{"name", "kind", "range"} for the provider owning `address`, or None."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    for ranges in load(directory):
        hit = ranges.find(ip)
        if hit is not None:
            return {"name": ranges.provider, "kind": ranges.kind, "range": hit}
    return None


def attribute_name(name: str) -> dict[str, str] | None:
    """{"name", "kind", "suffix"} for a CNAME target under a known CDN domain, or None."""
    name = name.rstrip(".").lower()
    for suffix, (provider, kind) in CNAME_SUFFIXES.items():
        if name == suffix or name.endswith("." + suffix):
            return {"name": provider, "kind": kind, "suffix": suffix}
    return None


class HTTPClient(Protocol):
    """The part of httpx.AsyncClient that `update_ranges` uses."""

    async def get(self, url: str) -> Any:
        """GET `url`; the response has raise_for_status(), text and json()."""
        ...


def _from_json(key: str, body: Any) -> list[str]:
    if key in ("aws", "aws-cloudfront"):
        want = "CLOUDFRONT" if key == "aws-cloudfront" else None
        v4 = [p["ip_prefix"] for p in body["prefixes"] if want in (None, p.get("service"))]
        v6 = [p["ipv6_prefix"] for p in body["ipv6_prefixes"] if want in (None, p.get("service"))]
        return sorted(set(v4)) + sorted(set(v6))
    if key == "fastly":
        return [*body["addresses"], *body["ipv6_addresses"]]
    # google-cloud
    return [p.get("ipv4Prefix") or p["ipv6Prefix"] for p in body["prefixes"]]


def _render(key: str, old: Mapping[str, str], urls: Iterable[str], cidrs: list[str]) -> str:
    for cidr in cidrs:
        ipaddress.ip_network(cidr, strict=False)  # refuse a list that is not CIDRs
    head = [
        f"# provider: {old.get('provider', key)}",
        f"# kind: {old.get('kind', 'cloud')}",
        f"# source: {' and '.join(urls)}",
        "# copied from: the source itself (triagebot ranges update)",
        f"# retrieved: {datetime.now(UTC):%Y-%m-%d}",
    ]
    return "\n".join([*head, *cidrs]) + "\n"


async def update_ranges(dest_dir: Path, client: HTTPClient) -> dict[str, int]:
    """Fetch each official list with `client` and rewrite its file; {key: prefix count}.

    Azure Front Door is not refreshed here: its service-tag file moves to a new URL weekly.
    """
    counts: dict[str, int] = {}
    texts: dict[str, str] = {}
    current = {r.key: r.meta for r in load(RANGES_DIR)}
    for key, urls in OFFICIAL.items():
        cidrs: list[str] = []
        for url in urls:
            response = await client.get(url)
            response.raise_for_status()
            if url.endswith((".json", "public-ip-list")):
                cidrs += _from_json(key, response.json())
            else:
                cidrs += [line.strip() for line in response.text.splitlines() if line.strip()]
        if not cidrs:
            raise ValueError(f"{key}: the official list was empty; nothing was changed")
        texts[key] = _render(key, current.get(key, {}), urls, cidrs)
        counts[key] = len(cidrs)
    # Every list fetched and checked before any file changes: a failure half-way keeps the
    # old data whole. Each file is replaced by rename, never left half-written.
    for key, text in texts.items():
        tmp = dest_dir / f".{key}.txt.tmp"
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(dest_dir / f"{key}.txt")
    load.cache_clear()
    return counts
