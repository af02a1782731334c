"""The sockets probe reuses the connections probe's `ss` in a batch (issue 18, host CPU).

The listeners made from the connections output must be the ones `ss -H -lntp` gives: both
were captured on this machine at the same moment (tests/fixtures/outputs/*/this-machine-
listening). The runner sends one command for the two, and the sockets probe still runs its
own `ss -H -lntp` where the connections probe is not in the run.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ssh_probes.model import CommandResult, HostTarget
from ssh_probes.probes import build
from ssh_probes.probes.sockets import from_connections
from ssh_probes.runner import run_probes

OUTPUTS = Path(__file__).parents[1] / "fixtures" / "outputs"
CONNECTIONS = (OUTPUTS / "connections" / "this-machine-listening.txt").read_text()
SS_LNTP = (OUTPUTS / "sockets" / "this-machine-listening.txt").read_text()
HOST = HostTarget(name="web-1", address="192.0.2.10")


def _out(
    stdout: str, stderr: str = "", exit_status: int | None = 0, truncated: bool = False
) -> CommandResult:
    return CommandResult(stdout, stderr, exit_status, 0.1, truncated=truncated)


def test_listeners_made_from_connections_are_those_ss_lntp_printed() -> None:
    sockets = build("sockets")
    made = sockets.parse(from_connections(_out(CONNECTIONS)))
    own = sockets.parse(_out(SS_LNTP))
    assert made == own
    assert len(own["listeners"]) == 11  # IPv4 and IPv6, with their processes
    assert {"name": "postgres", "pid": 2194} in [
        p for s in made["listeners"] if s["port"] == 5432 for p in s["process"]
    ]


def test_only_listen_lines_are_kept_not_markers_nor_connections() -> None:
    stdout = from_connections(_out(CONNECTIONS)).stdout
    assert stdout and all(line.startswith("LISTEN ") for line in stdout.splitlines())
    assert "ESTAB" in CONNECTIONS and "@@tb" in CONNECTIONS


def test_a_line_cut_by_the_output_cap_is_dropped_and_the_result_stays_truncated() -> None:
    # Cut inside the third listener's address (127.0.0.1:3306 -> 127.0.0.1:33): a port
    # that does not exist must not become a listener.
    cut = CONNECTIONS[: CONNECTIONS.index("127.0.0.1:3306") + len("127.0.0.1:33")]
    made = from_connections(_out(cut, truncated=True))
    facts = build("sockets").parse(made)
    assert made.truncated
    assert [s["port"] for s in facts["listeners"]] == [1883, 2024, 25672]


def test_a_missing_ss_is_the_same_error_as_before() -> None:
    # Real output of the connections script with no `ss` on PATH (exit 127).
    source = _out(
        "@@tb range 32768\t60999\n@@tb tw 2 1000\n@@tb sockets\n",
        stderr="sh: 13: ss: not found\n",
        exit_status=127,
    )
    made = from_connections(source)
    assert (made.stdout, made.stderr, made.exit_status) == ("", source.stderr, 127)


class _Batching:
    """An executor that batches (has run_many) and answers from canned outputs."""

    def __init__(self, outputs: dict[str, CommandResult]) -> None:
        self.outputs = outputs
        self.sent: list[list[str]] = []
        self.limits: list[float] = []

    def _answer(self, argv: Sequence[str]) -> CommandResult:
        key = "ss" if argv[0] == "ss" else "connections"
        return self.outputs[key]

    async def run(self, argv: Sequence[str], **_kw: object) -> CommandResult:
        self.sent.append(list(argv))
        return self._answer(argv)

    async def run_many(
        self, commands: Sequence[Sequence[str]], limits: Sequence[float]
    ) -> list[CommandResult]:
        self.sent += [list(a) for a in commands]
        self.limits += list(limits)
        return [self._answer(a) for a in commands]


async def test_in_a_batch_the_host_runs_one_ss_for_both_probes() -> None:
    executor = _Batching({"connections": _out(CONNECTIONS), "ss": _out(SS_LNTP)})
    probes = [build("sockets"), build("connections")]
    results = await run_probes(executor, probes, HOST)  # type: ignore[arg-type]
    assert executor.sent == [list(build("connections").argv(HOST))]
    assert [r.probe for r in results] == ["sockets", "connections"]  # the order asked
    assert all(r.ok for r in results)
    assert results[0].facts == build("sockets").parse(_out(SS_LNTP))
    assert results[0].raw.splitlines()[0].startswith("LISTEN ")


async def test_without_the_connections_probe_sockets_runs_its_own_ss() -> None:
    executor = _Batching({"connections": _out(CONNECTIONS), "ss": _out(SS_LNTP)})
    results = await run_probes(executor, [build("sockets"), build("load")], HOST)  # type: ignore[arg-type]
    assert ["ss", "-H", "-lntp"] in executor.sent
    assert results[0].ok and len(results[0].facts["listeners"]) == 11


async def test_a_timed_out_source_times_the_reusing_probe_out_with_its_limit() -> None:
    timed_out = CommandResult("", "", None, 11.0, timed_out=True)
    executor = _Batching({"connections": timed_out, "ss": _out(SS_LNTP)})
    results = await run_probes(executor, [build("connections"), build("sockets")], HOST)  # type: ignore[arg-type]
    limit = build("connections").timeout_s
    assert [r.error for r in results] == [f"timed out after {limit:g}s"] * 2
    assert executor.limits == [limit]
