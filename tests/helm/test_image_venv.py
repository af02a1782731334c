"""What the image's builder does, minus the engine: build from the COPYed files, install, run."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tests.helm.test_dockerfile import DOCKERFILE, ROOT, copied_sources, parse
from tests.unavailable import unavailable

PIP = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from exactly the files the Dockerfile copies into the builder."""
    tmp = tmp_path_factory.mktemp("image")
    context = tmp / "context"
    context.mkdir()
    for source in copied_sources(parse(DOCKERFILE.read_text())):
        src, dest = ROOT / source, context / source
        if src.is_dir():
            shutil.copytree(src, dest, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, dest)
    # No build isolation, as in the builder: the locked setuptools (the same version in both
    # locks, see test_dockerfile) builds it, nothing is fetched.
    built = subprocess.run(
        [*PIP, "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp / "dist"), str(context)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    if built.returncode != 0:
        unavailable(f"cannot build the wheel: {built.stderr.strip()[-800:]}")
    (found,) = (tmp / "dist").glob("triagebot-*.whl")
    return found


def test_wheel_ships_every_data_file(wheel: Path) -> None:
    """Files the packages read at run time (migrations, knowledge data) must be installed."""
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = [
        str(path.relative_to(ROOT))
        for top in ("bot", "commands", "ssh_probes")
        for path in sorted((ROOT / top).rglob("*"))
        if path.is_file()
        and "__pycache__" not in path.parts
        and path.relative_to(ROOT).as_posix() not in names
    ]
    assert not missing, f"not in the wheel (add to [tool.setuptools.package-data]): {missing}"


def test_entry_point_works_in_a_plain_venv(wheel: Path, tmp_path: Path) -> None:
    """`pip install` the wheel (not editable) into a new venv; `triagebot` runs from there."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    vpy = venv / "bin" / "python"
    subprocess.run([*PIP, "--python", str(vpy), "install", "--no-deps", str(wheel)], check=True)
    # Dependencies come from the dev venv (no download); the project only from the wheel.
    code = "import sysconfig; print(sysconfig.get_path('purelib'))"
    purelib = Path(subprocess.check_output([str(vpy), "-c", code], text=True).strip())
    (purelib / "zz_deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    env = {
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "LC_ALL": "C",
        "TRIAGEBOT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'image.db'}",
    }

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False
        )

    where = run(str(vpy), "-c", "import bot.cli; print(bot.cli.__file__)")
    assert where.stdout.startswith(str(venv)), where.stdout + where.stderr
    helped = run(str(venv / "bin" / "triagebot"), "--help")
    assert helped.returncode == 0, helped.stderr
    assert "start" in helped.stdout and "db" in helped.stdout
    # Migrations ship as package data; without them `db upgrade` fails in the image.
    upgraded = run(str(venv / "bin" / "triagebot"), "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert "at revision" in upgraded.stdout
