"""Runs the real helm binary on helm/triagebot and parses what it renders."""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.unavailable import unavailable

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "triagebot"
HELM = ROOT / ".cache" / "helm" / "helm"
GET_HELM = ROOT / "tests" / "helm" / "get_helm.sh"
RELEASE = "tb"
FULLNAME = "tb-triagebot"


def obtain_helm() -> Path:
    """The helm binary, installed by get_helm.sh if needed; fails under CI, skips elsewhere."""
    reason = ""
    if not HELM.exists():
        try:
            got = subprocess.run(
                ["bash", str(GET_HELM)], capture_output=True, text=True, timeout=300, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            reason = f"{GET_HELM.name}: {exc}"
        else:
            if got.returncode != 0:
                reason = f"{GET_HELM.name} exited {got.returncode}: {got.stderr.strip()[-500:]}"
    if not reason and not os.access(HELM, os.X_OK):
        reason = f"{HELM} is missing or not executable"
    if reason:
        unavailable(f"no helm binary ({reason}); run tests/helm/get_helm.sh")
    return HELM


@dataclass
class Helm:
    """helm with its own cache/config/data directories (nothing written to $HOME)."""

    binary: Path
    home: Path

    def run(
        self, *args: str, values: dict[str, Any] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """`helm ARGS... [-f values.yaml]`; never raises on a non-zero exit."""
        argv = [str(self.binary), *args]
        if values is not None:
            fd, path = tempfile.mkstemp(suffix=".yaml", dir=self.home)
            with os.fdopen(fd, "w") as out:
                yaml.safe_dump(values, out)
            argv += ["-f", path]
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "HELM_CACHE_HOME": str(self.home / "cache"),
            "HELM_CONFIG_HOME": str(self.home / "config"),
            "HELM_DATA_HOME": str(self.home / "data"),
        }
        return subprocess.run(
            argv, capture_output=True, text=True, timeout=60, env=env, check=False
        )

    def template(self, values: dict[str, Any]) -> list[dict[str, Any]]:
        """Render the chart; every document as a dict (a render error fails the test)."""
        got = self.run("template", RELEASE, str(CHART), "--namespace", "ops", values=values)
        assert got.returncode == 0, got.stderr
        return [doc for doc in yaml.safe_load_all(got.stdout) if doc]

    def template_error(self, values: dict[str, Any]) -> str:
        """Render the chart expecting failure; helm's error text."""
        got = self.run("template", RELEASE, str(CHART), values=values)
        assert got.returncode != 0, "rendering should have failed:\n" + got.stdout[:2000]
        return got.stderr


def of_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    """Documents of one kind."""
    return [d for d in docs if d.get("kind") == kind]


def one(docs: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    """The single document of that kind (and name)."""
    found = [d for d in of_kind(docs, kind) if name is None or d["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name or ''}, got {len(found)}"
    return found[0]


def pod_specs(docs: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(workload name, pod spec) of every Deployment and Job."""
    for doc in docs:
        if doc.get("kind") in ("Deployment", "Job"):
            yield doc["metadata"]["name"], doc["spec"]["template"]["spec"]


def env_of(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A container's env entries by name."""
    return {e["name"]: e for e in container.get("env", [])}


def bot_container(docs: list[dict[str, Any]]) -> dict[str, Any]:
    """The `triagebot` container of the Deployment."""
    spec = one(docs, "Deployment")["spec"]["template"]["spec"]
    (container,) = [c for c in spec["containers"] if c["name"] == "triagebot"]
    return dict(container)
