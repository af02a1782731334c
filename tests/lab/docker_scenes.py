"""Container setups on the lab's dockerd (tests/lab/dockerd.py), shared by the tests and the
golden captures (`python -m tests.lab.docker_scenes CASE`: seed, one-network,
oom-restarting, oom-restarting+stopped).

`seed`: the seed document's incident. Coolify put the dashboard and Supabase in two projects,
so two networks; the dashboard calls `https://supabase.example.test`, which Traefik routes to
`supabase-kong`; the name resolves (the lab host's own /etc/hosts) to Cloudflare addresses.
The dashboard prints what its calls print: busybox wget's "bad address" for the internal name
and, for the public one, the error Node 20+ prints when every address timed out (the
seed's `fetch failed` / `AggregateError [ETIMEDOUT]` / `internalConnectMultiple`; no Node
runs here, so its text is printed as Node prints it).
"""

from __future__ import annotations

import time

from tests.lab.dockerd import IMAGE, Dockerd
from tests.lab.netns import Lab, LabHost

SERVED = "supabase.example.test"
# What the name resolves to on the lab host: the seed's two Cloudflare A records and a
# Cloudflare AAAA (2606:4700::/32), as a proxied ("orange cloud") record gives.
ETC_HOSTS = f"""\
127.0.0.1 localhost
104.21.65.134 {SERVED}
172.67.63.161 {SERVED}
2606:4700:3030::6815:4186 {SERVED}
"""
ANON_KEY = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LWxhYi1rZXk.bGFiLXNpZ25hdHVyZS12YWx1ZQ"

NODE_TIMEOUT = r"""TypeError: fetch failed
    at node:internal/deps/undici/undici:13502:13
    at async loadProjects (/app/.next/server/chunks/612.js:1:5310) {
  [cause]: AggregateError [ETIMEDOUT]:
      at internalConnectMultiple (node:net:1122:18)
      at internalConnectMultiple (node:net:1190:5)
      at Timeout.internalConnectMultipleTimeout (node:net:1716:5)
      at listOnTimeout (node:internal/timers:583:11)
      at process.processTimers (node:internal/timers:519:7) {
    code: 'ETIMEDOUT',
    [errors]: [ [Error], [Error] ]
  }
}
"""

KONG = 'while true; do printf "HTTP/1.0 200 OK\\r\\n\\r\\nkong\\n" | nc -l -p 8000; done'


def _dashboard(dockerd: Dockerd, network: str, url: str, attempts: int, node: bool) -> None:
    """The dashboard: tries the internal name, then (`node`) prints Node's timeout twice."""
    script = (
        f"for i in $(seq {attempts}); do "
        "timeout 3 wget -qO- http://supabase-kong:8000/ 2>&1 && break; sleep 0.3; done; "
        + ("for i in 1 2; do printf '%s' \"$NODE_TIMEOUT\"; done; " if node else "")
        + "exec sleep 3600"
    )
    dockerd.docker(
        "run", "-d", "--name", "dashboard", "--network", network,
        "-e", f"SUPABASE_URL={url}",
        "-e", f"SUPABASE_ANON_KEY={ANON_KEY}",
        "-e", "NODE_ENV=production",
        "-e", f"NODE_TIMEOUT={NODE_TIMEOUT}",
        "--label", "coolify.managed=true",
        IMAGE, "sh", "-c", script,
    )  # fmt: skip


def _kong(dockerd: Dockerd, network: str) -> None:
    dockerd.docker(
        "run", "-d", "--name", "supabase-kong", "--network", network, "--expose", "8000",
        "--label", "traefik.enable=true",
        "--label", f"traefik.http.routers.supabase.rule=Host(`{SERVED}`)",
        "--label", "traefik.http.services.supabase.loadbalancer.server.port=8000",
        "--label", "coolify.managed=true",
        IMAGE, "sh", "-c", KONG,
    )  # fmt: skip


def wait_logs(dockerd: Dockerd, name: str, text: str, timeout: float = 20.0) -> None:
    """Until `docker logs NAME` shows `text`."""
    deadline = time.monotonic() + timeout
    while text not in dockerd.docker("logs", name, check=False):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name} never logged {text!r}")
        time.sleep(0.2)


def seed(dockerd: Dockerd) -> None:
    """The seed's incident: two networks, the public (Cloudflare) name in SUPABASE_URL."""
    dockerd.network("supabase-net")
    dockerd.network("dashboard-net")
    _kong(dockerd, "supabase-net")
    _dashboard(dockerd, "dashboard-net", f"https://{SERVED}", attempts=3, node=True)
    wait_logs(dockerd, "dashboard", "internalConnectMultiple")


def one_network(dockerd: Dockerd) -> None:
    """The fix applied: one network, SUPABASE_URL is the internal address."""
    dockerd.network("app-net")
    _kong(dockerd, "app-net")
    _dashboard(dockerd, "app-net", "http://supabase-kong:8000", attempts=30, node=False)
    wait_logs(dockerd, "dashboard", "kong")


def oom(dockerd: Dockerd, limit: str = "8m", timeout: float = 60.0) -> None:
    """A container limited to `limit` whose process grows until the kernel kills it, restarted."""
    dockerd.docker(
        "run", "-d", "--name", "cache-warmer", "--memory", limit, "--memory-swap", limit,
        "--restart", "always", IMAGE, "sh", "-c", "echo 'warming cache'; exec tail /dev/zero",
    )  # fmt: skip
    deadline = time.monotonic() + timeout
    while True:
        state = dockerd.inspect("cache-warmer")
        run = state["State"]
        assert isinstance(run, dict)
        # Docker waits longer before each restart: from the third on, it is mostly waiting.
        if int(str(state["RestartCount"])) >= 3 and run["OOMKilled"] and run["Restarting"]:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"cache-warmer was not OOM-killed: {run}")
        time.sleep(0.2)


def near_limit(dockerd: Dockerd) -> None:
    """A container holding 37 MiB under a 40 MiB limit (93 %): running, not yet killed."""
    dockerd.docker(
        "run", "-d", "--name", "search-cache", "--memory", "40m", "--memory-swap", "40m",
        IMAGE, "sh", "-c", "echo 'index loaded'; exec hog 37",
    )  # fmt: skip
    wait_logs(dockerd, "search-cache", "index loaded")
    time.sleep(0.5)  # hog touches its pages right after the echo


SCENES = {"seed": seed, "one-network": one_network, "oom-restarting": oom, "near-limit": near_limit}


def docker_host(lab: Lab, dockerd: Dockerd) -> LabHost:
    """A new lab host with its own /etc/hosts (the seed's Cloudflare records), sshd
    restarted to serve it, and its docker client pointed at `dockerd` (a real context)."""
    host = lab.add_host()
    hosts = host.workdir / "hosts"
    hosts.write_text(ETC_HOSTS)
    host.etc_hosts = hosts
    host.stop_sshd()
    host.start_sshd()
    dockerd.client_config(host.workdir / "home")
    return host


async def capture(case: str) -> None:
    """Run the scene on a fresh dockerd, then the docker probe and its follow-up on a lab host
    (its own /etc/hosts) over SSH; write both as golden files (stdout + parsed facts)."""
    import json

    from ssh_probes.executor import executor_for
    from ssh_probes.probes import docker, docker_detail
    from ssh_probes.rules.docker_calls import detail_targets
    from tests.fixtures.capture import OUTPUTS
    from tests.lab.fixtures import target_for

    lab, dockerd = Lab(), Dockerd()
    try:
        dockerd.start()
        host = docker_host(lab, dockerd)
        base, _, variant = case.partition("+")
        SCENES[base](dockerd)
        if variant == "stopped":
            dockerd.docker("update", "--restart", "no", "cache-warmer")
            dockerd.docker("stop", "cache-warmer")
        target = target_for(host)
        executor = executor_for(target)
        await executor.connect()
        try:
            out = await executor.run(docker.DOCKER.argv(target), timeout=20)
            facts = docker.parse(out)
            detail = docker_detail.probe(*detail_targets(facts))
            out2 = await executor.run(detail.argv(target), timeout=20)
        finally:
            await executor.close()
        for probe, result, parse in (
            ("docker", out, docker.parse),
            ("docker_detail", out2, docker_detail.parse),
        ):
            folder = OUTPUTS / probe
            name = f"lab-{case.replace('+', '-')}"
            (folder / f"{name}.txt").write_text(result.stdout)
            expected = {"exit_status": result.exit_status, "facts": parse(result)}
            (folder / f"{name}.json").write_text(json.dumps(expected, indent=2) + "\n")
            print(folder / f"{name}.json")
    finally:
        dockerd.close()
        lab.close()


if __name__ == "__main__":
    import asyncio
    import sys

    asyncio.run(capture(sys.argv[1]))
