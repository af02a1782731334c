"""The Dockerfile, read as text: no container engine runs here (see also test_image_venv)."""

from __future__ import annotations

import re
import shlex
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
COMPILERS = re.compile(r"(?<![\w-])(build-essential|gcc|g\+\+|clang|make|cc)(?![\w-])")
PROBE_TOOLS = ("openssh-client", "bind9-dnsutils", "curl")
LOCK = ROOT / "requirements.lock"
DEV_LOCK = ROOT / "requirements-dev.lock"


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
        assert re.fullmatch(r"python:3\.11\.\d+-slim-\w+@sha256:[0-9a-f]{64}", stage.base), (
            f"{stage.base}: pin the slim Python base by full version and by digest"
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
    assert scripts["triagebot"] == "bot.entry:main"  # answers `triage UNKNOWN` before bot.cli


def locked(path: Path) -> dict[str, tuple[str, list[str]]]:
    """name -> (version, sha256 hashes) of a pip-compile --generate-hashes lock file."""
    text = re.sub(r"\\\n", " ", path.read_text())
    pins: dict[str, tuple[str, list[str]]] = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        spec, *options = line.split(" --")
        name, sep, version = spec.strip().partition("==")
        assert sep, f"{path.name}: not an exact pin: {line[:80]}"
        hashes = [o.strip().removeprefix("hash=sha256:") for o in options if "sha256:" in o]
        assert hashes and all(re.fullmatch(r"[0-9a-f]{64}", h) for h in hashes), name
        pins[canonicalize_name(name)] = (version, hashes)
    return pins


def test_dependencies_are_installed_from_the_lock_with_hashes(stages: list[Stage]) -> None:
    builder = stages[0]
    runs = builder.args("RUN")
    installs = [r for r in runs if "pip install" in r]
    locked_install = [r for r in installs if "-r requirements.lock" in r]
    assert locked_install and "--require-hashes" in locked_install[0], installs
    assert "requirements.lock" in copied_sources(stages)
    # Everything else pip installs is the project itself, with nothing fetched beside it.
    for run in installs:
        if run is locked_install[0]:
            continue
        for command in run.split("&&"):
            if "pip install" in command:
                assert "--no-deps" in command and "--no-build-isolation" in command, command
                assert command.split()[-1] == ".", command


@pytest.mark.parametrize("path", [LOCK, DEV_LOCK], ids=["image", "dev"])
def test_lock_pins_every_dependency_within_pyproject(path: Path) -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    pins = locked(path)
    wanted = list(project["project"]["dependencies"]) + project["build-system"]["requires"]
    if path == DEV_LOCK:
        wanted += project["project"]["optional-dependencies"]["dev"]
    for text in wanted:
        req = Requirement(text)
        name = canonicalize_name(req.name)
        assert name in pins, f"{path.name} does not pin {name}: run `make lock`"
        assert req.specifier.contains(pins[name][0], prereleases=True), (
            f"{path.name}: {name}=={pins[name][0]} is outside pyproject's {req.specifier}"
        )


def test_dev_lock_agrees_with_the_image_lock() -> None:
    image, dev = locked(LOCK), locked(DEV_LOCK)
    assert image.keys() <= dev.keys()
    assert {n: image[n][0] for n in image} == {n: dev[n][0] for n in image}
