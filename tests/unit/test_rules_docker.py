"""Docker rules and label/env parsing, on facts parsed from the real captures."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from ssh_probes.model import Facts, Finding, HostTarget, ProbeResult
from ssh_probes.probes.docker_refs import (
    caddy_hosts,
    proxy_hosts,
    proxy_port,
    traefik_hosts,
    url_env,
)
from ssh_probes.rules import Thresholds, evaluate
from ssh_probes.rules.docker_calls import detail_targets, talk_pairs
from tests.fixtures.capture import OUTPUTS

GOLDEN = OUTPUTS / "docker"


def facts(case: str = "three-hosts-merged") -> Facts:
    data: Facts = json.loads((GOLDEN / f"{case}.json").read_text())["facts"]
    return data


def run(f: Facts, talks: str = "", t: Thresholds | None = None) -> list[Finding]:
    host = HostTarget(name="web-1", labels={"talks": talks} if talks else {})
    return evaluate([ProbeResult("docker", host.name, True, facts=f)], host, t)


def with_container(name: str, **changes: Any) -> Facts:
    f = copy.deepcopy(facts())
    for c in f["containers"]:
        if c["name"] == name:
            c.update(changes)
    return f


def codes(findings: list[Finding]) -> list[tuple[str, str]]:
    return sorted((f.code, f.severity) for f in findings)


def test_real_capture_without_talks_label_has_no_finding() -> None:
    assert run(facts()) == []


@pytest.mark.parametrize(
    ("case", "why"),
    [("no-docker", "docker not installed"), ("no-daemon", "Docker daemon not reachable")],
)
def test_missing_docker_is_info_only(case: str, why: str) -> None:
    findings = run(facts(case), talks="a:b")
    assert [(f.code, f.severity, f.evidence["why"]) for f in findings] == [
        ("source.unavailable", "info", why)
    ]


def test_permission_denied_names_the_docker_group() -> None:
    [f] = run(facts("permission-denied"))
    assert (f.code, f.severity) == ("source.unavailable", "info")
    assert "permission denied" in f.title
    assert "docker group" in f.suggestion


RESTARTING = [
    ("state-restarting", {"state": "restarting", "exit_code": 1, "restart_count": 1}, "critical"),
    ("count-at-threshold", {"restart_count": 3, "exit_code": 1}, "warning"),
    ("count-below", {"restart_count": 2, "exit_code": 1}, None),
    ("oom-exited", {"state": "exited", "oom_killed": True, "exit_code": 137}, "critical"),
    ("oom-flag-but-running", {"state": "running", "oom_killed": True}, None),
]


@pytest.mark.parametrize(
    ("changes", "severity"), [r[1:] for r in RESTARTING], ids=[r[0] for r in RESTARTING]
)
def test_restarting(changes: dict[str, Any], severity: str | None) -> None:
    findings = run(with_container("cluster01-elastic", **changes))
    if severity is None:
        assert findings == []
        return
    assert codes(findings) == [("docker.restarting", severity)]
    f = findings[0]
    assert f.evidence["container"] == "cluster01-elastic"
    assert f"{changes.get('restart_count', 0)} restarts" in f.title
    assert "docker logs --tail 200 cluster01-elastic" in f.suggestion
    assert "docker inspect cluster01-elastic --format '{{.State.OOMKilled}}" in f.suggestion
    assert "3072 MiB" in f.suggestion  # the container's own memory limit
    assert "docker update --memory 6144m --memory-swap 6144m cluster01-elastic" in f.suggestion


def test_restart_threshold_is_configurable() -> None:
    f = with_container("web1", restart_count=3)
    assert run(f, t=Thresholds(docker_restarts_warning=4)) == []
    assert codes(run(f)) == [("docker.restarting", "warning")]


def test_no_shared_network_names_the_network_to_connect() -> None:
    [f] = run(facts(), talks="web1:cluster01-elastic")
    assert (f.code, f.severity) == ("docker.network_isolated", "warning")
    assert f.evidence["from_networks"] == ["bridge"]
    assert f.evidence["to_networks"] == ["data-mesh-network"]
    assert "`docker network connect data-mesh-network web1`" in f.suggestion
    assert "`http://cluster01-elastic:9200`" in f.suggestion
    assert "docker exec web1 wget -qO- --timeout=5 http://cluster01-elastic:9200/" in f.suggestion


def test_default_bridge_does_not_count_as_shared() -> None:
    [f] = run(facts(), talks="Teladoc-app:web1")
    assert f.evidence["shared"] == ["bridge"]
    assert "where names do not resolve" in f.title
    assert "docker network create web1-net" in f.suggestion


def test_shared_user_network_is_fine_and_pairs_are_checked_independently() -> None:
    f = with_container(
        "web1",
        networks=[{"name": "data-mesh-network", "ip": "172.20.0.9", "aliases": ["web1"]}],
    )
    findings = run(f, talks="web1:cluster01-elastic,Teladoc-app:cluster01-elastic")
    assert [x.evidence["pair"] for x in findings] == ["Teladoc-app:cluster01-elastic"]


def test_missing_container_is_a_warning_naming_it() -> None:
    [f] = run(facts(), talks="dashboard:cluster01-elastic")
    assert f.severity == "warning"
    assert f.evidence["missing"] == ["dashboard"]
    assert "no container named dashboard" in f.title


def test_env_pointing_at_a_name_the_peer_serves_is_named_in_the_fix() -> None:
    f = with_container(
        "cluster01-elastic",
        proxy_hosts=[{"host": "search.example.com", "via": "traefik"}],
    )
    for c in f["containers"]:
        if c["name"] == "web1":
            c["url_env"] = [
                {
                    "name": "SEARCH_URL",
                    "scheme": "https",
                    "host": "search.example.com",
                    "port": None,
                }
            ]
    [finding] = run(f, talks="web1:cluster01-elastic")
    assert "set SEARCH_URL to `http://cluster01-elastic:9200`" in finding.suggestion


@pytest.mark.parametrize(
    ("value", "pairs"),
    [
        ("dashboard:supabase-kong,api:db", [("dashboard", "supabase-kong"), ("api", "db")]),
        ("a:b, c:d", [("a", "b"), ("c", "d")]),
        ("lonely,:x,y:,a:b:c", []),
        ("", []),
    ],
)
def test_talk_pairs(value: str, pairs: list[tuple[str, str]]) -> None:
    assert talk_pairs(value) == pairs


# Label values as Coolify generated them, from coollabsio/coolify issue #2472.
COOLIFY_LABELS = {
    "traefik.enable": "true",
    "traefik.http.routers.http-0-n008sg0.rule": "Host(`n008sg0.mydomain.io`) && PathPrefix(`/`)",
    "traefik.http.routers.https-0-n008sg0.rule": "Host(`n008sg0.mydomain.io`) && PathPrefix(`/`)",
    "traefik.http.services.http-0-n008sg0.loadbalancer.server.port": "80",
    "caddy_0": "https://n008sg0.mydomain.io",
    "caddy_0.handle_path.0_reverse_proxy": "{{upstreams 80}}",
    "caddy_ingress_network": "coolify",
}


def test_proxy_hosts_from_coolify_labels() -> None:
    assert proxy_hosts(COOLIFY_LABELS) == [{"host": "n008sg0.mydomain.io", "via": "caddy"}]
    traefik_only = {k: v for k, v in COOLIFY_LABELS.items() if k.startswith("traefik")}
    assert proxy_hosts(traefik_only) == [{"host": "n008sg0.mydomain.io", "via": "traefik"}]


@pytest.mark.parametrize(
    ("rule", "hosts"),
    [
        (
            "Host(`a.example.com`, `b.example.com`) || Host(`c.example.com`)",
            ["a.example.com", "b.example.com", "c.example.com"],
        ),
        ('Host("auth.mailstation.de")', ["auth.mailstation.de"]),  # traefik/traefik#7377
        ("PathPrefix(`/calibre`) || Host(`calibre.mailstation.de`)", ["calibre.mailstation.de"]),
        ("HostSNI(`*`)", []),
        ("Host:www.example.com,example.com", ["www.example.com", "example.com"]),  # v1
        ("PathPrefix(`/api`)", []),
    ],
)
def test_traefik_hosts(rule: str, hosts: list[str]) -> None:
    assert traefik_hosts(rule) == hosts


def test_caddy_hosts_skip_placeholders_and_keep_hosts() -> None:
    assert caddy_hosts("https://a.example.com b.example.com:8443, {{upstreams 80}}") == [
        "a.example.com",
        "b.example.com",
    ]


def test_url_env_keeps_only_scheme_host_port_and_redacts_credentials() -> None:
    env = [
        "SUPABASE_URL=https://supabase.example.com",
        "DATABASE_URL=postgres://app:s3cret@db:5432/app",
        "ELASTIC_PASSWORD=projector-tenfold-hydrolysis",
        "PATH=/usr/local/bin:/usr/bin",
        "BROKEN=http://[::1",
    ]
    got = url_env(env)
    assert got == [
        {"name": "SUPABASE_URL", "scheme": "https", "host": "supabase.example.com", "port": None},
        {
            "name": "DATABASE_URL",
            "scheme": "postgres",
            "host": "db",
            "port": 5432,
            "credentials": "[REDACTED]",
        },
    ]
    assert "s3cret" not in json.dumps(got)


def test_secrets_in_real_env_never_become_facts() -> None:
    text = json.dumps(facts())
    assert "projector-tenfold-hydrolysis" not in text  # ELASTIC_PASSWORD of cluster01-elastic
    assert "secret_value" not in text  # Django_secret_key of web1


def test_host_regexp_is_a_pattern_not_a_name() -> None:
    rule = "HostRegexp(`{sub:[a-z]+}.example.com`) || Host(`api.example.com`)"
    assert traefik_hosts(rule) == ["api.example.com"]


def test_served_names_from_nginx_proxy_and_coolify_env() -> None:
    env = ["VIRTUAL_HOST=shop.example.com,www.shop.example.com", "COOLIFY_FQDN=app.example.com"]
    assert proxy_hosts({}, env) == [
        {"host": "shop.example.com", "via": "nginx-proxy"},
        {"host": "www.shop.example.com", "via": "nginx-proxy"},
    ]
    # COOLIFY_FQDN counts only on a container Coolify manages.
    assert {"host": "app.example.com", "via": "coolify"} in proxy_hosts(
        {"coolify.managed": "true"}, env
    )
    assert proxy_port(COOLIFY_LABELS) == 80


def test_url_env_reads_host_port_lists_and_host_variables_only() -> None:
    env = [
        "KAFKA_BROKERS=kafka-1:9092,kafka-2:9092",
        "REDIS_HOST=redis",
        "DB_SERVER=postgres.internal",
        "GREETING=hello",
        "TIMEOUT=10:30",
        "VIRTUAL_HOST=shop.example.com",
        "SECRET_KEY=abc:def",
    ]
    assert [(e["name"], e["host"], e["port"]) for e in url_env(env)] == [
        ("KAFKA_BROKERS", "kafka-1", 9092),
        ("KAFKA_BROKERS", "kafka-2", 9092),
        ("REDIS_HOST", "redis", None),
        ("DB_SERVER", "postgres.internal", None),
    ]


def _pair(env_host: str, **target: Any) -> Facts:
    """web1 (bridge) names cluster01-elastic (data-mesh-network) in ES_URL."""
    f = with_container("cluster01-elastic", **target)
    for c in f["containers"]:
        if c["name"] == "web1":
            c["url_env"] = [{"name": "ES_URL", "scheme": "http", "host": env_host, "port": 9200}]
    return f


@pytest.mark.parametrize("name", ["cluster01-elastic", "elastic"])
def test_isolation_found_without_talks_label(name: str) -> None:
    f = _pair(name, service="elastic")
    [finding] = run(f)
    assert (finding.code, finding.severity) == ("docker.network_isolated", "warning")
    assert finding.evidence["from"] == "web1"
    assert finding.evidence["variables"] == [{"name": "ES_URL", "host": name}]
    assert "docker network connect data-mesh-network web1" in finding.suggestion


def test_same_network_call_by_name_is_quiet() -> None:
    f = _pair("cluster01-elastic")
    for c in f["containers"]:
        if c["name"] == "web1":
            c["networks"] = [{"name": "data-mesh-network", "ip": "", "aliases": []}]
    assert run(f) == []


def test_talks_label_and_env_give_one_finding_per_pair() -> None:
    findings = run(_pair("cluster01-elastic"), talks="web1:cluster01-elastic")
    assert [f.evidence["pair"] for f in findings] == ["web1:cluster01-elastic"]


def test_detail_targets_are_served_names_and_failing_or_calling_containers() -> None:
    f = _pair("search.example.com", proxy_hosts=[{"host": "search.example.com", "via": "caddy"}])
    for c in f["containers"]:
        if c["name"] == "Teladoc-app":
            c.update(state="restarting")
    names, ids = detail_targets(f)
    assert names == ["search.example.com"]
    by_id = {c["id"]: c["name"] for c in f["containers"]}
    assert sorted(by_id[i] for i in ids) == ["Teladoc-app", "web1"]


def test_published_port_is_not_port_not_listening() -> None:
    """userland-proxy off: Docker publishes by DNAT and nothing LISTENs on the port."""
    sockets = json.loads((OUTPUTS / "sockets" / "nothing-listening.json").read_text())["facts"]
    host = HostTarget(name="web-1", expect_ports=(3011, 3012))
    results = [ProbeResult("sockets", host.name, True, facts=sockets)]
    docker = ProbeResult("docker", host.name, True, facts=facts())  # Teladoc-app: 3011->3000
    alone = [f.evidence["port"] for f in evaluate(results, host) if f.code == "port.not_listening"]
    assert alone == [3011, 3012]
    both = evaluate([*results, docker], host)
    assert [f.evidence["port"] for f in both if f.code == "port.not_listening"] == [3012]
