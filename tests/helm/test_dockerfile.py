"""The Dockerfile, read as text: no container engine runs here (see also test_image_venv)."""

from __future__ import annotations

import re
import shlex
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
COMPILERS = re.compile(r"(?<![\w-])(build-essential|gcc|g\+\+|clang|make|cc)(?![\w-])")
PROBE_TOOLS = ("openssh-client", "bind9-dnsutils", "curl")


@dataclass
class Stage:
    """One FROM ... stage: its base image and its instructions (continuations joined)."""

    base: str
    name: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def args(self, keyword: str) -> list[str]:
        """The arguments of every instruction with that keyword."""
        return [rest for kw, rest in self.instructions if kw == keyword]


def parse(text: str) -> list[Stage]:
    """Stages of a Dockerfile, with ARG defaults declared before the first FROM substituted."""
    logical = re.sub(r"\\\n", " ", text)
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in logical.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        keyword, rest = keyword.upper(), rest.strip()
        if keyword == "ARG" and not stages:
            name, _, default = rest.partition("=")
            global_args[name] = default
        elif keyword == "FROM":
            words = rest.split()
            base = re.sub(r"\$\{(\w+)\}", lambda m: global_args[m.group(1)], words[0])
            stages.append(Stage(base, words[2] if len(words) > 2 else str(len(stages))))
        else:
            stages[-1].instructions.append((keyword, rest))
    return stages


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    """The parsed Dockerfile."""
    return parse(DOCKERFILE.read_text())


def copied_sources(stages: list[Stage]) -> list[str]:
    """Sources every COPY takes from the build context (COPY --from=stage excluded)."""
    sources: list[str] = []
    for stage in stages:
        for rest in stage.args("COPY"):
            words = shlex.split(rest)
            if any(w.startswith("--from=") for w in words):
                continue
            sources += [w for w in words if not w.startswith("--")][:-1]
    return sources


def test_multi_stage_with_pinned_slim_python(stages: list[Stage]) -> None:
    assert len(stages) >= 2, "builder and final stage"
    for stage in stages:
        assert re.fullmatch(r"python:3\.11\.\d+-slim-\w+(@sha256:[0-9a-f]{64})?", stage.base), (
            f"{stage.base}: pin the slim Python base by full version (or digest)"
        )
    assert stages[-1].base == stages[0].base


def test_copied_files_exist_and_are_not_ignored(stages: list[Stage]) -> None:
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    sources = copied_sources(stages)
    assert {"pyproject.toml", "README.md", "bot", "commands", "ssh_probes"} <= set(sources)
    for source in sources:
        assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
        assert source.split("/")[0] not in ignored, f"COPY {source}: excluded by .dockerignore"
    # Every package pyproject installs is copied, or the image would lack it.
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    for pattern in project["tool"]["setuptools"]["packages"]["find"]["include"]:
        assert pattern.removesuffix("*") in sources, f"package {pattern} is not copied"


def test_final_stage_non_root_without_compilers(stages: list[Stage]) -> None:
    final = stages[-1]
    users = final.args("USER")
    assert users, "the final stage must set USER"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) != 0, "numeric non-root uid (runAsNonRoot can check it)"
    runs = " ".join(final.args("RUN"))
    assert not COMPILERS.search(runs), f"compiler in the final stage: {COMPILERS.search(runs)}"
    for tool in PROBE_TOOLS:
        assert tool in runs, f"{tool} missing from the final stage"
    assert "--no-install-recommends" in runs
    assert any(a.startswith("--from=") for c in final.args("COPY") for a in shlex.split(c))
    # The builder is where compilers may live; the final stage only takes its venv.
    assert "build-essential" in " ".join(stages[0].args("RUN"))


def test_entry_point_is_the_console_script(stages: list[Stage]) -> None:
    final = stages[-1]
    assert final.args("ENTRYPOINT")[-1] == '["triagebot"]'
    assert final.args("CMD")[-1] == '["start"]'
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["triagebot"] == "bot.cli:main"
