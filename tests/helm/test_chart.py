"""helm lint and helm template on helm/triagebot with several value sets; the YAML is asserted."""

from __future__ import annotations

import base64
import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helm.helmrun import (
    CHART,
    FULLNAME,
    Helm,
    bot_container,
    env_of,
    obtain_helm,
    of_kind,
    one,
    pod_specs,
)

PG_URL = "postgresql+asyncpg://triagebot:pw@pg.db.svc:5432/triagebot"
SSH_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nnot-a-real-key\n-----END OPENSSH PRIVATE KEY-----\n"
KNOWN_HOSTS = "web-1.internal ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForChartTests\n"

SOCKET: dict[str, Any] = {
    "mode": "socket",
    "slack": {"botToken": "xoxb-bot", "appToken": "xapp-app"},
    "ssh": {"privateKey": SSH_KEY, "knownHosts": KNOWN_HOSTS, "extraPorts": [2222]},
    "database": {"url": PG_URL},
    "policy": {"admins": ["U0ADMIN"], "commands": {"triage": {"channels": ["C0INC"]}}},
}
HTTP: dict[str, Any] = {
    "mode": "http",
    "replicaCount": 3,
    "slack": {"botToken": "xoxb-bot", "signingSecret": "sign-me"},
    "ssh": {"privateKey": SSH_KEY, "knownHosts": KNOWN_HOSTS},
    "database": {"url": PG_URL, "port": 6432},
    "ingress": {
        "enabled": True,
        "className": "nginx",
        "hosts": [
            {"host": "bot.example.com", "paths": [{"path": "/slack/events", "pathType": "Exact"}]}
        ],
        "tls": [{"secretName": "bot-tls", "hosts": ["bot.example.com"]}],
    },
}
EXISTING: dict[str, Any] = {
    "mode": "socket",
    "replicaCount": 2,
    "existingSecret": "ops-triagebot",
    "secretKeys": {"databaseUrl": "pg-url", "sshPrivateKey": "id_ed25519"},
}
SQLITE: dict[str, Any] = {
    "mode": "socket",
    "slack": {"botToken": "xoxb-bot", "appToken": "xapp-app"},
    "ssh": {"enabled": False},
    "database": {"sqlite": {"enabled": True, "persistence": {"size": "2Gi"}}},
}
VALUE_SETS = {"socket": SOCKET, "http": HTTP, "existing-secret": EXISTING, "sqlite": SQLITE}


@pytest.fixture(scope="module")
def helm(tmp_path_factory: pytest.TempPathFactory) -> Helm:
    """The real helm binary with a private home."""
    return Helm(obtain_helm(), tmp_path_factory.mktemp("helm-home"))


@pytest.fixture(scope="module")
def rendered(helm: Helm) -> dict[str, list[dict[str, Any]]]:
    """Each value set rendered once."""
    return {name: helm.template(values) for name, values in VALUE_SETS.items()}


def secret_ref(env: dict[str, dict[str, Any]], name: str) -> tuple[str, str]:
    """(Secret name, key) an env variable is read from."""
    ref = env[name]["valueFrom"]["secretKeyRef"]
    return ref["name"], ref["key"]


def mount_for(container: dict[str, Any], path: str) -> dict[str, Any]:
    """The volumeMount whose directory holds `path`."""
    (mount,) = [m for m in container["volumeMounts"] if str(Path(path).parent) == m["mountPath"]]
    return dict(mount)


def volume(spec: dict[str, Any], name: str) -> dict[str, Any]:
    """A pod volume by name."""
    (vol,) = [v for v in spec["volumes"] if v["name"] == name]
    return dict(vol)


@pytest.mark.parametrize("name", list(VALUE_SETS))
def test_helm_lint_strict(helm: Helm, name: str) -> None:
    got = helm.run("lint", "--strict", str(CHART), values=VALUE_SETS[name])
    assert got.returncode == 0, got.stdout + got.stderr
    assert "0 chart(s) failed" in got.stdout


@pytest.mark.parametrize("name", list(VALUE_SETS))
def test_pods_are_locked_down(rendered: dict[str, list[dict[str, Any]]], name: str) -> None:
    specs = list(pod_specs(rendered[name]))
    assert specs, "no workload rendered"
    for workload, spec in specs:
        assert spec["automountServiceAccountToken"] is False, workload
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True and pod["runAsUser"] != 0, workload
        assert pod["seccompProfile"] == {"type": "RuntimeDefault"}, workload
        assert volume(spec, "tmp")["emptyDir"]["sizeLimit"], workload
        for c in spec["containers"] + spec.get("initContainers", []):
            sc = c["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False, (workload, c["name"])
            assert sc["readOnlyRootFilesystem"] is True, (workload, c["name"])
            assert sc["runAsNonRoot"] is True, (workload, c["name"])
            assert sc["capabilities"] == {"drop": ["ALL"]}, (workload, c["name"])
            assert sc["seccompProfile"] == {"type": "RuntimeDefault"}, (workload, c["name"])
            assert {"name": "tmp", "mountPath": "/tmp"} in c["volumeMounts"], c["name"]
            assert c["resources"]["requests"] and c["resources"]["limits"]["memory"], c["name"]


def test_socket_mode_secret_wiring(rendered: dict[str, list[dict[str, Any]]]) -> None:
    docs = rendered["socket"]
    container = bot_container(docs)
    env = env_of(container)
    assert container["command"] == ["triagebot", "start"]
    assert secret_ref(env, "SLACK_BOT_TOKEN") == (FULLNAME, "SLACK_BOT_TOKEN")
    assert secret_ref(env, "SLACK_APP_TOKEN") == (FULLNAME, "SLACK_APP_TOKEN")
    assert secret_ref(env, "TRIAGEBOT_DATABASE_URL") == (FULLNAME, "TRIAGEBOT_DATABASE_URL")
    # The signing secret would be unused; an app token in HTTP mode would flip the mode.
    assert "SLACK_SIGNING_SECRET" not in env
    data = one(docs, "Secret", FULLNAME)["data"]
    decoded = {k: base64.b64decode(v).decode() for k, v in data.items()}
    assert decoded == {
        "SLACK_BOT_TOKEN": "xoxb-bot",
        "SLACK_APP_TOKEN": "xapp-app",
        "TRIAGEBOT_DATABASE_URL": PG_URL,
        "ssh-privatekey": SSH_KEY,
        "known_hosts": KNOWN_HOSTS,
    }
    # No secret reaches a ConfigMap or a plain env value.
    text = yaml.safe_dump([d for d in docs if d["kind"] != "Secret"])
    for secret in ("xoxb-bot", "xapp-app", "pw@pg", "not-a-real-key"):
        assert secret not in text
    assert not of_kind(docs, "Service") and not of_kind(docs, "Ingress")


def test_ssh_key_and_known_hosts_are_read_only_files(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    docs = rendered["socket"]
    spec = one(docs, "Deployment")["spec"]["template"]["spec"]
    container = bot_container(docs)
    env = env_of(container)
    items = {i["key"]: i for i in volume(spec, "ssh")["secret"]["items"]}
    assert volume(spec, "ssh")["secret"]["secretName"] == FULLNAME
    for var, key in (
        ("TRIAGEBOT_SSH_KEY_FILE", "ssh-privatekey"),
        ("TRIAGEBOT_SSH_KNOWN_HOSTS_FILE", "known_hosts"),
    ):
        path = env[var]["value"]
        mount = mount_for(container, path)
        assert mount["name"] == "ssh" and mount["readOnly"] is True
        assert items[key]["path"] == Path(path).name
    # The private key: owner and group (fsGroup) only, never world-readable.
    assert items["ssh-privatekey"]["mode"] & 0o007 == 0
    assert spec["securityContext"]["fsGroup"] == spec["securityContext"]["runAsGroup"]


def test_policy_and_settings_come_from_configmaps(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    docs = rendered["socket"]
    spec = one(docs, "Deployment")["spec"]["template"]["spec"]
    container = bot_container(docs)
    path = env_of(container)["TRIAGEBOT_POLICY_FILE"]["value"]
    mount = mount_for(container, path)
    assert mount["readOnly"] is True
    policy_cm = one(docs, "ConfigMap", volume(spec, mount["name"])["configMap"]["name"])
    assert yaml.safe_load(policy_cm["data"][Path(path).name]) == SOCKET["policy"]
    (source,) = container["envFrom"]
    settings = one(docs, "ConfigMap", source["configMapRef"]["name"])["data"]
    assert settings == {"TRIAGEBOT_LOG_FORMAT": "json", "TRIAGEBOT_LOG_LEVEL": "INFO"}


def test_http_mode_service_ingress_and_replicas(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    docs = rendered["http"]
    deployment = one(docs, "Deployment")
    assert deployment["spec"]["replicas"] == 3
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    env = env_of(bot_container(docs))
    assert secret_ref(env, "SLACK_SIGNING_SECRET") == (FULLNAME, "SLACK_SIGNING_SECRET")
    assert "SLACK_APP_TOKEN" not in env
    service = one(docs, "Service")
    assert service["spec"]["selector"].items() <= pod_labels.items()
    (port,) = service["spec"]["ports"]
    assert port["targetPort"] == "http"
    ingress = one(docs, "Ingress")
    assert ingress["spec"]["ingressClassName"] == "nginx"
    (rule,) = ingress["spec"]["rules"]
    (path,) = rule["http"]["paths"]
    assert path["path"] == "/slack/events"
    assert path["backend"]["service"] == {
        "name": service["metadata"]["name"],
        "port": {"number": port["port"]},
    }
    pdb = one(docs, "PodDisruptionBudget")
    assert pdb["spec"]["maxUnavailable"] == 1
    assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()


@pytest.mark.parametrize("name", ["socket", "http", "existing-secret", "sqlite"])
def test_probes_on_the_health_port(rendered: dict[str, list[dict[str, Any]]], name: str) -> None:
    container = bot_container(rendered[name])
    (port,) = container["ports"]
    assert port["name"] == "http"
    assert env_of(container)["TRIAGEBOT_PORT"]["value"] == str(port["containerPort"])
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}


def test_existing_secret_is_referenced_not_created(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    docs = rendered["existing-secret"]
    assert not of_kind(docs, "Secret")
    env = env_of(bot_container(docs))
    assert secret_ref(env, "SLACK_BOT_TOKEN") == ("ops-triagebot", "SLACK_BOT_TOKEN")
    assert secret_ref(env, "SLACK_APP_TOKEN") == ("ops-triagebot", "SLACK_APP_TOKEN")
    assert secret_ref(env, "TRIAGEBOT_DATABASE_URL") == ("ops-triagebot", "pg-url")
    spec = one(docs, "Deployment")["spec"]["template"]["spec"]
    ssh = volume(spec, "ssh")["secret"]
    assert ssh["secretName"] == "ops-triagebot"
    assert {i["key"] for i in ssh["items"]} == {"id_ed25519", "known_hosts"}
    job_env = env_of(one(docs, "Job")["spec"]["template"]["spec"]["containers"][0])
    assert secret_ref(job_env, "TRIAGEBOT_DATABASE_URL") == ("ops-triagebot", "pg-url")


def test_migration_hook_job(rendered: dict[str, list[dict[str, Any]]]) -> None:
    docs = rendered["socket"]
    job = one(docs, "Job")
    notes = job["metadata"]["annotations"]
    assert notes["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert "before-hook-creation" in notes["helm.sh/hook-delete-policy"]
    spec = job["spec"]["template"]["spec"]
    assert spec["restartPolicy"] == "Never"
    (container,) = spec["containers"]
    assert container["command"] == ["triagebot", "db", "upgrade"]
    # The release's Secret does not exist yet at pre-install: the Job reads a hook Secret
    # created just before it (lower weight).
    name, key = secret_ref(env_of(container), "TRIAGEBOT_DATABASE_URL")
    hook_secret = one(docs, "Secret", name)
    secret_notes = hook_secret["metadata"]["annotations"]
    assert secret_notes["helm.sh/hook"] == notes["helm.sh/hook"]
    assert int(secret_notes["helm.sh/hook-weight"]) < int(notes["helm.sh/hook-weight"])
    assert base64.b64decode(hook_secret["data"][key]).decode() == PG_URL


def test_sqlite_single_replica_with_volume(rendered: dict[str, list[dict[str, Any]]]) -> None:
    docs = rendered["sqlite"]
    assert not of_kind(docs, "Job"), "a hook Job could not mount the ReadWriteOnce volume"
    pvc = one(docs, "PersistentVolumeClaim")
    assert pvc["spec"]["resources"]["requests"]["storage"] == "2Gi"
    assert pvc["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    deployment = one(docs, "Deployment")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    spec = deployment["spec"]["template"]["spec"]
    assert volume(spec, "data")["persistentVolumeClaim"]["claimName"] == pvc["metadata"]["name"]
    (init,) = spec["initContainers"]
    assert init["command"] == ["triagebot", "db", "upgrade"]
    for container in (init, bot_container(docs)):
        url = env_of(container)["TRIAGEBOT_DATABASE_URL"]["value"]
        assert url.startswith("sqlite+aiosqlite:////"), "the file path must be absolute"
        mount = mount_for(container, url.removeprefix("sqlite+aiosqlite:///"))
        assert mount["name"] == "data" and not mount.get("readOnly")
    assert "ssh" not in {v["name"] for v in spec["volumes"]}


def egress_ports(docs: list[dict[str, Any]]) -> set[tuple[int, str]]:
    """Every (port, protocol) the NetworkPolicy lets out; fails on an allow-all rule."""
    policy = one(docs, "NetworkPolicy")
    assert "Egress" in policy["spec"]["policyTypes"]
    found: set[tuple[int, str]] = set()
    for rule in policy["spec"]["egress"]:
        assert rule.get("ports"), f"egress rule without ports allows everything: {rule}"
        found |= {(p["port"], p["protocol"]) for p in rule["ports"]}
    return found


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("socket", {(22, "TCP"), (2222, "TCP"), (5432, "TCP")}),
        ("http", {(22, "TCP"), (6432, "TCP")}),
        ("sqlite", {(22, "TCP")}),
    ],
    ids=["socket-extra-ssh-port", "http-db-port", "sqlite-no-db-port"],
)
def test_network_policy_egress(
    rendered: dict[str, list[dict[str, Any]]], name: str, expected: set[tuple[int, str]]
) -> None:
    docs = rendered[name]
    dns_https = {(53, "UDP"), (53, "TCP"), (443, "TCP")}
    assert egress_ports(docs) == dns_https | expected
    selector = one(docs, "NetworkPolicy")["spec"]["podSelector"]["matchLabels"]
    for doc in docs:
        if doc["kind"] in ("Deployment", "Job"):
            assert selector.items() <= doc["spec"]["template"]["metadata"]["labels"].items()


def test_pods_roll_when_settings_change(helm: Helm) -> None:
    changed = copy.deepcopy(SOCKET)
    changed["settings"] = {"TRIAGEBOT_LOG_LEVEL": "DEBUG"}

    def checksum(values: dict[str, Any]) -> str:
        meta = one(helm.template(values), "Deployment")["spec"]["template"]["metadata"]
        return str(meta["annotations"]["checksum/config"])

    assert checksum(SOCKET) != checksum(changed)


def ingress_rules(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The NetworkPolicy's ingress rules; fails on one that lets any pod in."""
    rules = list(one(docs, "NetworkPolicy")["spec"]["ingress"])
    for rule in rules:
        assert rule.get("from"), f"ingress rule without peers lets every pod in: {rule}"
    return rules


@pytest.mark.parametrize("name", list(VALUE_SETS))
def test_metrics_scrapers_are_limited_to_the_configured_selector(
    rendered: dict[str, list[dict[str, Any]]], name: str
) -> None:
    rules = ingress_rules(rendered[name])
    scrapers = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
        "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}},
    }
    assert rules[0]["from"] == [scrapers]  # one peer: both selectors must match
    slack = rules[1:]
    if VALUE_SETS[name]["mode"] == "http":
        ingress_nginx = {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}
        assert [r["from"] for r in slack] == [[{"namespaceSelector": ingress_nginx}]]
    else:
        assert slack == [], "Socket Mode takes no inbound Slack traffic"


def test_metrics_selector_is_configurable(helm: Helm) -> None:
    values = copy.deepcopy(SOCKET)
    # Helm merges maps with the defaults: null removes a default key.
    labels = {"team": "observability", "kubernetes.io/metadata.name": None}
    values["networkPolicy"] = {
        "metrics": {"namespaceSelector": {"matchLabels": labels}, "podSelector": None}
    }
    [rule] = ingress_rules(helm.template(values))
    assert rule["from"] == [{"namespaceSelector": {"matchLabels": {"team": "observability"}}}]
    values["networkPolicy"] = {"metrics": {"namespaceSelector": None, "podSelector": None}}
    assert one(helm.template(values), "NetworkPolicy")["spec"]["ingress"] in (None, [])


def test_egress_never_reaches_metadata_or_the_cluster_ranges(helm: Helm) -> None:
    values = copy.deepcopy(HTTP)
    values["networkPolicy"] = {"egressExcept": {"cluster": ["10.96.0.0/12", "fd10::/108"]}}
    policy = one(helm.template(values), "NetworkPolicy")["spec"]
    [wide] = [r for r in policy["egress"] if {"port": 443, "protocol": "TCP"} in r["ports"]]
    assert {"port": 22, "protocol": "TCP"} in wide["ports"]
    blocks = {b["ipBlock"]["cidr"]: b["ipBlock"].get("except", []) for b in wide["to"]}
    assert set(blocks) == {"0.0.0.0/0", "::/0"}
    assert blocks["0.0.0.0/0"] == ["169.254.0.0/16", "100.100.100.200/32", "10.96.0.0/12"]
    assert blocks["::/0"] == ["fe80::/10", "fd00:ec2::254/128", "fd10::/108"]
    # DNS stays open to the cluster resolver, wherever it lives.
    dns = [r for r in policy["egress"] if {"port": 53, "protocol": "UDP"} in r["ports"]]
    assert dns and "to" not in dns[0]
