"""Golden-facts tests of the fleet comparison (commands.fleet): one case file per kind of outlier.

Each case in tests/fixtures/compare/ starts every host from base-web.json (facts made of the
captured goldens in tests/fixtures/outputs/) and patches what differs; `expect` lists the
outliers (kind, key, the values said) the host must get, no more, no fewer.
"""

from __future__ import annotations

import pytest

from commands.fleet.compare import Member, compare, stand_out
from commands.fleet.words import compared, host_list
from commands.knowledge.catalog import CATALOG
from tests.fixtures.compare_facts import CASES, load, members

NAMES = sorted(p.stem for p in CASES.glob("*.json") if p.stem != "base-web")


@pytest.mark.parametrize("name", NAMES)
def test_case(name: str) -> None:
    case = load(name)
    everyone = members(case)
    host = next(m for m in everyone if m.name == case["host"])
    found = compare(host, everyone, case["group"])
    outliers = [f for f in found if f.code == "fleet.outlier"]
    got = [(f.evidence["kind"], f.evidence["key"]) for f in outliers]
    assert sorted(got) == sorted((k, key) for k, key, _ in case["expect"]), case["about"]
    for kind, key, values in case["expect"]:
        finding = next(
            f for f in outliers if (f.evidence["kind"], f.evidence["key"]) == (kind, key)
        )
        assert finding.title.endswith(f"({case['group']}): {values}"), finding.title
        assert finding.severity == "warning" and finding.host == case["host"]
        assert finding.suggestion
    # Exactly one plain statement of what was compared, always last.
    assert [f.code for f in found][-1] == "fleet.siblings"
    assert sum(f.code == "fleet.siblings" for f in found) == 1
    assert found[-1].severity == "info"
    if "siblings" in case:
        assert found[-1].title == case["siblings"]


def test_every_case_kind_is_covered() -> None:
    kinds = {k for n in NAMES for k, _, _ in load(n)["expect"]}
    assert kinds >= {"port", "unit", "image", "restarts", "kernel", "os", "disk", "inodes",
                     "tcp", "cpu", "log", "dns"}  # fmt: skip


def test_a_healthy_sibling_has_no_outlier_against_the_same_group() -> None:
    # In every case the outliers belong to web-1: each sibling compared with the same group
    # (web-1 included) stands out in nothing. Not ports-tie: there web-2 and web-3 each are
    # one of two in five listening on 8080, a minority from where each of them stands.
    for name in (n for n in NAMES if n != "ports-tie"):
        case = load(name)
        for sibling in members(case):
            if sibling.name == case["host"] or not sibling.comparable:
                continue
            found = compare(sibling, members(case), case["group"])
            assert [f for f in found if f.code == "fleet.outlier"] == [], (name, sibling.name)


def test_stand_out_names_only_the_outlier() -> None:
    everyone = members(load("tcp-states"))
    out = stand_out(everyone, "group=web")
    assert list(out) == ["web-1"]
    assert [f.evidence["key"] for f in out["web-1"]] == ["TIME-WAIT", "CLOSE-WAIT"]


def test_unreachable_host_itself_has_no_outliers_and_says_so() -> None:
    everyone = members(load("ports"))
    me = Member("web-1", {}, unreachable="ssh.refused")
    found = compare(me, everyone, "group=web")
    assert [f.code for f in found] == ["fleet.siblings"]
    assert "could not be compared" in found[0].title


def test_reused_runs_are_named() -> None:
    everyone = members(load("ports"))
    reused = [Member(m.name, m.facts, run_id=40 + i, reused_age_s=300) for i, m in
              enumerate(everyone)]  # fmt: skip
    info = compare(reused[0], reused, "group=web")[-1]
    assert "web-2 from stored run 41 (5 min old)" in info.detail
    assert info.evidence["runs"] == {"web-2": 41, "web-3": 42, "web-4": 43, "web-5": 44}


@pytest.mark.parametrize(
    ("names", "said"),
    [
        (["web-3", "web-2", "web-5", "web-4"], "web-2..web-5"),
        (["web-2", "web-3"], "web-2, web-3"),
        (["web-2", "web-4", "web-5", "web-6", "db"], "db, web-2, web-4..web-6"),
        (["a1", "b2", "a2", "a3"], "a1..a3, b2"),
    ],
)
def test_host_list(names: list[str], said: str) -> None:
    assert host_list(names) == said


def test_compared_groups_equal_values_and_formats_numbers() -> None:
    text = compared("web-1", 4112, {"web-2": 0, "web-3": 0, "web-4": 0, "web-5": 0})
    assert text == "web-2..web-5: 0; web-1: 4,112"


def test_fleet_codes_are_catalogued() -> None:
    assert CATALOG["fleet.outlier"].area == "fleet"
    assert CATALOG["fleet.siblings"].area == "fleet"


def test_triage_parses_compare_with_a_label() -> None:
    from commands import triage

    request = triage.parse("web-1 compare group=web")
    assert (request.host, request.compare, request.port) == ("web-1", ("group", "web"), None)
    assert triage.symptom_target("web-1", None, None, request.compare) == "web-1 compare group=web"
    assert triage.parse(["web-1", "COMPARE", "role=api"]).compare == ("role", "api")


@pytest.mark.parametrize(
    "text",
    ["web-1 compare", "web-1 compare web", "web-1 compare group=web port 80",
     "web-1 compare group=$(reboot)", "web-1 compare =web"],
)  # fmt: skip
def test_triage_compare_refuses_bad_input(text: str) -> None:
    from commands import triage
    from ssh_probes.errors import InputError

    with pytest.raises(InputError):
        triage.parse(text)
