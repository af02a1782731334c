"""Provider attribution from the shipped range files, and their refresh from official lists."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import httpx
import pytest

from commands.dns import ranges
from commands.dns.ranges import RANGES_DIR, attribute, attribute_name, load, update_ranges


@pytest.mark.parametrize(
    ("address", "provider", "kind"),
    [
        ("104.16.132.229", "Cloudflare", "cdn"),  # the seed: 104.x.x.x is Cloudflare
        ("172.67.1.1", "Cloudflare", "cdn"),  # the seed: 172.67.x.x is Cloudflare
        ("2606:4700::6810:84e5", "Cloudflare", "cdn"),
        ("13.225.1.1", "AWS CloudFront", "cdn"),  # the seed: 13.225.x.x is CloudFront
        ("2600:9000:2000::1", "AWS CloudFront", "cdn"),
        ("151.101.1.1", "Fastly", "cdn"),
        ("199.232.0.1", "Fastly", "cdn"),
        ("52.95.110.1", "AWS", "cloud"),
        ("34.80.0.1", "Google Cloud", "cloud"),
        ("192.0.2.1", None, None),
        ("10.0.0.1", None, None),
        ("not-an-ip", None, None),
    ],
)
def test_attribution(address: str, provider: str | None, kind: str | None) -> None:
    hit = attribute(address)
    assert (hit["name"] if hit else None, hit["kind"] if hit else None) == (provider, kind)


def test_every_file_says_where_it_came_from() -> None:
    lists = load(RANGES_DIR)
    assert [r.key for r in lists][:6] == list(ranges.ORDER)
    for r in lists:
        for key in ("provider", "kind", "source", "copied from", "retrieved"):
            assert r.meta.get(key), f"{r.key}.txt lacks '# {key}:'"
        assert r.kind in ("cdn", "cloud")
        assert r.nets[4] or r.nets[6]


def test_azure_front_door_is_a_cdn() -> None:
    first = next(r for r in load(RANGES_DIR) if r.key == "azure-front-door").nets[4][0]
    hit = attribute(str(first.network_address))
    assert hit is not None and (hit["name"], hit["kind"]) == ("Azure Front Door", "cdn")


@pytest.mark.parametrize(
    ("name", "provider"),
    [
        ("d111111abcdef8.cloudfront.net.", "AWS CloudFront"),
        ("www.example.com.edgekey.net", "Akamai"),
        ("example.global.ssl.fastly.net", "Fastly"),
        ("cloudfront.net.example.com", None),
    ],
)
def test_cname_attribution(name: str, provider: str | None) -> None:
    hit = attribute_name(name)
    assert (hit["name"] if hit else None) == provider


async def test_update_ranges_rewrites_each_official_list(tmp_path: Path) -> None:
    bodies = {
        "https://www.cloudflare.com/ips-v4/": "173.245.48.0/20\n103.21.244.0/22\n",
        "https://www.cloudflare.com/ips-v6/": "2400:cb00::/32\n",
        "https://ip-ranges.amazonaws.com/ip-ranges.json": json.dumps(
            {
                "prefixes": [
                    {"ip_prefix": "13.32.0.0/15", "service": "CLOUDFRONT"},
                    {"ip_prefix": "3.5.140.0/22", "service": "AMAZON"},
                ],
                "ipv6_prefixes": [{"ipv6_prefix": "2600:9000::/28", "service": "CLOUDFRONT"}],
            }
        ),
        "https://api.fastly.com/public-ip-list": json.dumps(
            {"addresses": ["151.101.0.0/16"], "ipv6_addresses": ["2a04:4e42::/32"]}
        ),
        "https://www.gstatic.com/ipranges/cloud.json": json.dumps(
            {"prefixes": [{"ipv4Prefix": "34.80.0.0/15"}, {"ipv6Prefix": "2600:1900::/35"}]}
        ),
    }

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text=bodies[str(request.url)])

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        counts = await update_ranges(tmp_path, client)
    assert counts == {
        "cloudflare": 3,
        "aws-cloudfront": 2,
        "aws": 3,
        "fastly": 2,
        "google-cloud": 2,
    }
    fresh = load(tmp_path)
    front = next(r for r in fresh if r.key == "aws-cloudfront")
    assert front.provider == "AWS CloudFront" and front.kind == "cdn"
    assert front.meta["source"] == "https://ip-ranges.amazonaws.com/ip-ranges.json"
    assert attribute("13.33.0.1", tmp_path) == {
        "name": "AWS CloudFront",
        "kind": "cdn",
        "range": "13.32.0.0/15",
    }
    assert attribute("3.5.140.9", tmp_path) == {
        "name": "AWS",
        "kind": "cloud",
        "range": "3.5.140.0/22",
    }


async def test_update_ranges_failing_half_way_changes_no_file(tmp_path: Path) -> None:
    (tmp_path / "cloudflare.txt").write_text("old cloudflare data\n")

    def handler(request: httpx.Request) -> httpx.Response:
        if "cloudflare" in str(request.url):
            return httpx.Response(200, text="173.245.48.0/20\n")
        return httpx.Response(503, text="unavailable")

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(httpx.HTTPStatusError):
            await update_ranges(tmp_path, client)
    assert (tmp_path / "cloudflare.txt").read_text() == "old cloudflare data\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cloudflare.txt"]


def _collapsed(path: Path) -> dict[int, list[ipaddress.IPv4Network | ipaddress.IPv6Network]]:
    """What the lists were read as before: every CIDR through ipaddress, collapsed."""
    nets: dict[int, list[ipaddress.IPv4Network | ipaddress.IPv6Network]] = {4: [], 6: []}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            net = ipaddress.ip_network(line, strict=False)
            nets[net.version].append(net)
    return {
        v: sorted(ipaddress.collapse_addresses(n), key=lambda x: int(x.network_address))
        for v, n in nets.items()
    }


@pytest.mark.parametrize("path", sorted(RANGES_DIR.glob("*.txt")), ids=lambda p: p.stem)
def test_integer_reading_is_ipaddress_collapse(path: Path) -> None:
    """The integer intervals give the very networks collapse_addresses gave, and a lookup
    names the same one, at each network's edges and just outside them."""
    old = _collapsed(path)
    new = ranges.parse_list(path.stem, path.read_text(encoding="utf-8"))
    assert new.nets == old
    for version, nets in old.items():
        top = 2**32 - 1 if version == 4 else 2**128 - 1
        for net in nets:
            for value in (int(net.network_address) - 1, int(net.network_address),
                          int(net.network_address) + net.num_addresses // 2,
                          int(net.broadcast_address), int(net.broadcast_address) + 1):  # fmt: skip
                if not 0 <= value <= top:
                    continue
                ip = ipaddress.ip_address(value) if version == 4 else ipaddress.IPv6Address(value)
                hit = next((str(n) for n in nets if ip in n), None)
                assert new.find(ip) == hit


@pytest.mark.parametrize(
    "text",
    ["10.1.2.3/8", "0.0.0.0/0", "255.255.255.255/32", "2600:1f00::/24", "2600:1F00::/24",
     "::/0", "::ffff:1.2.3.4/128", "1:0:0:0:0:0:0:0/16", "10.0.0.0/255.0.0.0",
     "010.0.0.0/8", "10.0.0.0/33", "1.2.3/24", "2600::1::/64", "fe80::1/129", "10.0.0.0/08",
     "x"],
)  # fmt: skip
def test_cidr_span_reads_as_ipaddress_does(text: str) -> None:
    try:
        net = ipaddress.ip_network(text, strict=False)
    except ValueError:
        with pytest.raises(ValueError):
            ranges.cidr_span(text)
        return
    assert ranges.cidr_span(text) == (
        net.version,
        int(net.network_address),
        int(net.broadcast_address),
    )
