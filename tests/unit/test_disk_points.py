"""Use per mount from a disk probe's facts, as df computes it."""

from __future__ import annotations

from bot.store.disk_points import use_by_mount


def test_use_is_used_over_used_plus_available_like_df() -> None:
    # 5% reserved blocks: size 1000, used 900, available 50 -> df says 95%, not 90%.
    fs = {"mount": "/var", "size_kb": 1000, "used_kb": 900, "avail_kb": 50, "use_pct": 95}
    assert use_by_mount({"filesystems": [fs]}) == {"/var": 94.74}


def test_falls_back_to_use_pct_and_skips_what_it_cannot_read() -> None:
    facts = {
        "filesystems": [
            {"mount": "/a", "use_pct": 12},
            {"mount": "/b", "used_kb": 0, "avail_kb": 0, "use_pct": 7.5},  # empty: df's figure
            {"mount": "/c"},
            {"mount": "/d", "use_pct": True},
            {"use_pct": 50},
            "not a filesystem",
            {"mount": "/e", "used_kb": -1, "avail_kb": 10},
        ]
    }
    assert use_by_mount(facts) == {"/a": 12.0, "/b": 7.5}
    assert use_by_mount({}) == {}
    assert use_by_mount({"filesystems": None}) == {}
