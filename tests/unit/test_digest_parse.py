"""`/digest` and `/dig watch` parsing: good input read right, bad input one-line InputError."""

from __future__ import annotations

import pytest

from bot.commands import REGISTRY
from commands import digest, watch
from ssh_probes.errors import InputError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", digest.DigestRequest("list")),
        ("list", digest.DigestRequest("list")),
        ("remove 7", digest.DigestRequest("remove", schedule_id=7)),
        ("run 3", digest.DigestRequest("run", schedule_id=3)),
        (
            "add <#C0ABC123|ops> 0 9 * * 1-5 hosts=web-* domains=a.example,B.example. "
            "tz=Europe/Paris",
            digest.DigestRequest(
                "add",
                None,
                "C0ABC123",
                "0 9 * * 1-5",
                "Europe/Paris",
                "web-*",
                ("a.example", "b.example"),
            ),
        ),
        ("add #ops @daily", digest.DigestRequest("add", channel="#ops", cron="@daily")),
        ("add */15 * * * *", digest.DigestRequest("add", cron="*/15 * * * *")),
        (
            "add C0ABC1234 0 0 1 1 *",
            digest.DigestRequest("add", channel="C0ABC1234", cron="0 0 1 1 *"),
        ),
    ],
    ids=["empty", "list", "remove", "run", "full-add", "alias", "no-channel", "channel-id"],
)
def test_parses(text: str, expected: digest.DigestRequest) -> None:
    assert digest.parse(text.split()) == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("add #ops 0 9 * *", "invalid cron"),
        ("add #ops 61 9 * * *", "invalid cron"),
        ("add #ops 0 25 * * *", "invalid cron"),
        ("add #ops @sometimes", "invalid cron"),
        ("add #ops @daily tz=Mars/Olympus", "unknown time zone"),
        ("add #ops @daily tz=../../etc/passwd", "invalid time zone"),
        ("add #Ops! @daily", "invalid channel"),
        ("add <#nope> @daily", "invalid channel"),
        ("add #ops @daily hosts=web;rm", "invalid host pattern"),
        ("add #ops @daily hosts=[ab]", "invalid host pattern"),
        ("add #ops @daily hosts=", "invalid host pattern"),
        ("add #ops @daily domains=bad..name", "invalid domain"),
        ("add #ops @daily colour=red", "unknown or repeated option"),
        ("add #ops", "no cron"),
        ("remove x", "takes one schedule id"),
        ("run", "takes one schedule id"),
        ("frobnicate", "usage"),
    ],
    ids=lambda v: v if " " not in v else v.split(" ", 2)[-1][:30],
)
def test_errors_are_one_line(text: str, says: str) -> None:
    with pytest.raises(InputError) as err:
        digest.parse(text.split())
    assert says in str(err.value)
    assert "\n" not in str(err.value)


def test_watch_words() -> None:
    assert watch.is_watch("dig", ["watch", "example.com"])
    assert not watch.is_watch("dig", ["example.com"])
    assert not watch.is_watch("http", ["watch", "x"])
    assert watch.parse(["UNWATCH", "Example.COM."]) == watch.WatchRequest("unwatch", "example.com")
    with pytest.raises(InputError):
        watch.parse(["watch"])
    with pytest.raises(InputError):
        watch.parse(["watch", "not a domain!"])


@pytest.mark.parametrize(
    ("name", "words", "action"),
    [
        ("digest", ["add", "#ops", "@daily"], "digest.write"),
        ("digest", ["REMOVE", "3"], "digest.write"),
        ("digest", ["list"], "digest"),
        ("digest", ["run", "3"], "digest"),
        ("digest", [], "digest"),
        ("dig", ["add"], "dig"),
        ("dig", ["watch", "example.com"], "dig.write"),
        ("dig", ["UNWATCH", "example.com"], "dig.write"),
    ],
)
def test_schedule_changes_are_write_actions(name: str, words: list[str], action: str) -> None:
    assert REGISTRY[name].action(words) == action
