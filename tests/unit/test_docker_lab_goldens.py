"""Docker rules on the real lab's captured outputs (tests/lab/docker_scenes.py made them on a
real dockerd, read over SSH by the probes; see tests/fixtures/outputs/docker/README.md)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from commands.dns.ranges import attribute
from ssh_probes.model import CommandResult, Facts, Finding, HostTarget, ProbeConfig, ProbeResult
from ssh_probes.probes import docker, docker_detail
from ssh_probes.probes.logs import probe as logs_probe
from ssh_probes.rules import evaluate
from tests.fixtures.capture import OUTPUTS

HOST = HostTarget(name="web-1")


def golden(probe: str, case: str) -> Facts:
    facts: Facts = json.loads((OUTPUTS / probe / f"{case}.json").read_text())["facts"]
    return facts


def detail(case: str, **names: list[str]) -> Facts:
    """docker_detail facts with providers attributed, as commands/triage.py does."""
    facts = golden("docker_detail", case)
    facts["names"].update(names)
    addresses = {a for found in facts["names"].values() for a in found}
    hits = {a: attribute(a) for a in addresses}
    facts["providers"] = {a: h for a, h in hits.items() if h is not None}
    return facts


def run(docker_facts: Facts, detail_facts: Facts | None = None) -> list[Finding]:
    results = [ProbeResult("docker", HOST.name, True, facts=docker_facts)]
    if detail_facts is not None:
        results.append(ProbeResult("docker_detail", HOST.name, True, facts=detail_facts))
    return evaluate(results, HOST)


def by_code(findings: list[Finding], code: str) -> list[Finding]:
    return [f for f in findings if f.code == code]


def test_seed_capture_gives_hairpin_isolation_and_node_timeout() -> None:
    findings = run(golden("docker", "lab-seed"), detail("lab-seed"))
    assert sorted(f.code for f in findings) == [
        "docker.hairpin",
        "docker.network_isolated",
        "log.happy_eyeballs_timeout",
    ]
    [hairpin] = by_code(findings, "docker.hairpin")
    assert hairpin.title == (
        "dashboard calls supabase.example.test (SUPABASE_URL) through Cloudflare, but "
        "supabase-kong serves it on this host"
    )
    assert "104.16.0.0/13" in hairpin.detail  # the published Cloudflare range of 104.21.65.134
    assert hairpin.evidence["served_via"] == "traefik"
    [node] = by_code(findings, "log.happy_eyeballs_timeout")
    assert "supabase.example.test (SUPABASE_URL) -> 104.21.65.134" in node.detail


def test_seed_capture_without_the_follow_up_still_finds_the_isolation() -> None:
    findings = run(golden("docker", "lab-seed"))
    assert [f.code for f in findings] == ["docker.network_isolated"]


def test_name_resolving_to_the_host_itself_is_a_hairpin_too() -> None:
    facts = detail("lab-seed")
    own = facts["host_addresses"][0]
    findings = run(
        golden("docker", "lab-seed"), detail("lab-seed", **{"supabase.example.test": [own]})
    )
    [hairpin] = by_code(findings, "docker.hairpin")
    assert hairpin.evidence["provider"] == "this host's own address"
    assert "DNS-only" not in hairpin.suggestion


def test_name_resolving_elsewhere_is_no_hairpin() -> None:
    # 192.0.2.10 (TEST-NET-1): no CDN range, not this host: another server really serves it.
    other = detail("lab-seed", **{"supabase.example.test": ["192.0.2.10"]})
    findings = run(golden("docker", "lab-seed"), other)
    assert not by_code(findings, "docker.hairpin")
    assert by_code(findings, "docker.network_isolated")


def test_fixed_setup_capture_is_quiet() -> None:
    findings = run(golden("docker", "lab-one-network"), detail("lab-one-network"))
    assert [(f.code, f.severity) for f in findings if f.severity != "info"] == []


def test_oom_restarting_capture_is_critical_with_its_words() -> None:
    [f] = run(golden("docker", "lab-oom-restarting"), detail("lab-oom-restarting"))
    assert (f.code, f.severity) == ("docker.restarting", "critical")
    assert "Its last log lines say: warming cache (x" in f.detail
    assert "Its memory limit is 8 MiB" in f.suggestion


def aged(case: str, days: float) -> Facts:
    """The captured stdout with the container's FinishedAt moved `days` before the probe ran."""
    text = (OUTPUTS / "docker" / f"{case}.txt").read_text()
    now = int(re.search(r"^@@now (\d+)$", text, re.M)[1])  # type: ignore[index]
    stamp = datetime.fromtimestamp(now, UTC) - timedelta(days=days)
    text = re.sub(
        r'"FinishedAt": "[^"]+"', f'"FinishedAt": "{stamp:%Y-%m-%dT%H:%M:%S}.093679199Z"', text
    )
    return docker.parse(CommandResult(text, "", 0, 0.0))


def test_oom_stopped_today_is_critical() -> None:
    [f] = run(golden("docker", "lab-oom-restarting-stopped"))
    assert (f.code, f.severity) == ("docker.restarting", "critical")


@pytest.mark.parametrize(("days", "severity"), [(0.5, "critical"), (3, "info"), (40, "info")])
def test_oom_stopped_with_finished_at_aged(days: float, severity: str) -> None:
    # A real container's FinishedAt cannot be aged: the captured output is rewritten instead.
    [f] = run(aged("lab-oom-restarting-stopped", days))
    assert (f.code, f.severity) == ("docker.restarting", severity)
    if severity == "info":
        assert f"stopped {days:.0f} days ago" in f.title


def test_restarting_container_never_goes_stale() -> None:
    [f] = run(aged("lab-oom-restarting", 3))
    assert f.severity == "critical"


def test_near_limit_capture() -> None:
    [f] = run(golden("docker", "lab-near-limit"), detail("lab-near-limit"))
    assert (f.code, f.severity) == ("docker.memory_near_limit", "warning")
    # docker stats said 37.6 MiB (the 37 MiB the program holds, and the pages of its process).
    assert re.fullmatch(
        r"container search-cache uses 3[78] MiB of its 40 MiB memory limit \(9[3-4] %\)", f.title
    ), f.title


def test_exit_137_without_oom_names_sigkill_not_the_host() -> None:
    facts = golden("docker", "lab-oom-restarting")
    facts["containers"][0].update(oom_killed=False, memory_limit=0)
    [f] = run(facts)
    assert "killed (SIGKILL)" in f.suggestion
    assert "`docker kill`" in f.suggestion and "stop timeout" in f.suggestion
    assert "ran short" not in f.suggestion


NODE_LOG = """\
@@tb journal-unavailable no journal entries readable (no journal, or no access)
@@tb file /var/log/dashboard/error.log
2026-11-29T17:00:01.120Z ERROR dashboard: loadProjects failed: TypeError: fetch failed
    at node:internal/deps/undici/undici:13502:13
  [cause]: AggregateError [ETIMEDOUT]:
      at internalConnectMultiple (node:net:1122:18)
      at Timeout.internalConnectMultipleTimeout (node:net:1716:5)

@@tb file-end 0
"""


def test_host_log_with_node_timeout() -> None:
    logs = logs_probe(ProbeConfig()).parse(CommandResult(NODE_LOG, "", 0, 0.0))
    findings = evaluate([ProbeResult("logs", HOST.name, True, facts=logs)], HOST)
    [f] = by_code(findings, "log.happy_eyeballs_timeout")
    assert "/var/log/dashboard/error.log" in f.title
    assert "NODE_OPTIONS=--dns-result-order=ipv4first" in f.suggestion
    assert "fetch failed" in f.evidence["example"]


def test_happy_eyeballs_counts_errors_not_frames() -> None:
    lines = NODE_LOG.splitlines()[2:7] * 3
    hit = docker_detail.happy_eyeballs(lines)
    assert hit is not None and hit["count"] == 3
    assert docker_detail.happy_eyeballs(["Error: connect ETIMEDOUT 10.0.0.1:443"]) is None


def test_detail_probe_passes_only_valid_names_and_ids() -> None:
    p = docker_detail.probe(
        ["supabase.example.test", "$(reboot)", "-rf", "a b"], ["aae4818fd2bb", "xyz", "--all"]
    )
    args = list(p.command[4:])
    assert args == ["--names", "supabase.example.test", "--logs", "aae4818fd2bb"]


def test_unfinished_detail_output_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        docker_detail.parse(CommandResult("@@name a.example\n", "", 0, 0.0))


def test_follow_up_summary_names_the_provider_and_the_log_groups() -> None:
    from bot.render.summaries import summarize

    lines = summarize(ProbeResult("docker_detail", HOST.name, True, facts=detail("lab-seed")))
    assert lines[0] == (
        "supabase.example.test -> 104.21.65.134, 172.67.63.161, 2606:4700:3030::6815:4186 "
        "(Cloudflare)"
    )
    assert "wget: bad address 'supabase-kong:8000' (x3)" in lines[1]


def test_published_port_pointing_back_at_the_host_is_a_hairpin() -> None:
    """No proxy label: kong publishes 8443, and the name resolves to this host's address."""
    facts = golden("docker", "lab-seed")
    for c in facts["containers"]:
        if c["name"] == "supabase-kong":
            c.update(proxy_hosts=[], proxy_port=None, published=["0.0.0.0:8443->8000/tcp"])
        if c["name"] == "dashboard":
            c["url_env"][0]["port"] = 8443
    own = golden("docker_detail", "lab-seed")["host_addresses"][0]
    findings = run(facts, detail("lab-seed", **{"supabase.example.test": [own]}))
    [hairpin] = by_code(findings, "docker.hairpin")
    assert hairpin.evidence["served_via"] == "published"
    assert "supabase-kong serves it (a published port)" in hairpin.detail
    assert "http://supabase-kong:8000" in hairpin.suggestion
    # Reached through the host's published port, not by name: no isolation finding.
    assert not by_code(findings, "docker.network_isolated")


def test_stored_output_of_the_lab_capture_has_no_environment_values() -> None:
    from ssh_probes.probes.docker_raw import stored_output
    from tests.lab.docker_scenes import ANON_KEY

    text = (OUTPUTS / "docker" / "lab-near-limit.txt").read_text()
    seed = (OUTPUTS / "docker" / "lab-seed.txt").read_text()
    assert ANON_KEY in seed  # the capture itself is the daemon's whole answer
    stored = stored_output(seed)
    assert ANON_KEY not in stored
    assert '"SUPABASE_URL=https://supabase.example.test"' in stored
    # The sections after @@inspect (stats, end) survive, and the whole still parses.
    kept = stored_output(text)
    assert "@@stats" in kept and '"MemUsage":"37.6MiB / 40MiB"' in kept
    assert docker.parse(CommandResult(stored, "", 0, 0.0))["total"] == 2
