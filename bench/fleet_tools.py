"""What an on-call engineer runs today, for `bench.fleet`: Ansible ad-hoc and parallel `ssh`.

Both run a script concurrently in one remote shell per host, with host keys verified against
a known_hosts file and no connection reuse between runs (triagebot opens a fresh connection
for every triage as well). Two scripts: SEED_ROUTINE, the commands the seed's ten-minute
routine tells a person to run (fixed here, so the baselines do not get cheaper when
triagebot's probes do), and `probe_commands`, triage's default probes' own commands as the SSH
executor sends them (`env LC_ALL=C argv...`), for the floor of triagebot's own work.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import tempfile
import time
from pathlib import Path

from ssh_probes.model import HostTarget, ProbeConfig
from ssh_probes.probes import DEFAULT_PROBES, build
from ssh_probes.runner import made_from_others
from tests.lab.netns import NETNS_DIR, SYSTEM_PATH, LabHost

ROOT = Path(__file__).resolve().parent.parent
ANSIBLE_VENV = ROOT / ".cache" / "venv-ansible"
MARK = "=== probe"
# No multiplexing (ControlPersist would reuse the previous run's connection), keys verified.
SSH_OPTIONS = "-F /dev/null -o ControlMaster=no -o IdentitiesOnly=yes -o StrictHostKeyChecking=yes"


# The seed's routine for "requests fail or are slow", the host-side steps a person runs on
# each host (non-interactive forms): 1. processes and resources (`top`, `top -H`, `free -h`,
# `vmstat 1` for the run queue, swap and IO wait over one second, `ps aux`); 2. logs
# (`journalctl --since "10 minutes ago"`, `-n 200`); 3. ports and connections (`ss -lntp`,
# `ss -antp`); 5. disk (`df -h`, `df -i`); and the Docker seed's `docker ps`.
SEED_ROUTINE = (
    "top -b -n 1",
    "top -H -b -n 1",
    "free -h",
    "vmstat 1 2",
    "ps aux",
    "journalctl --no-pager -n 200 --since '10 minutes ago'",
    "ss -lntp",
    "ss -antp",
    "df -h",
    "df -i",
    "docker ps",
)


def marks(text: str) -> int:
    """How many steps' outputs the text holds: MARK lines (a `ps aux` of the host shows the
    script itself, MARKs included, inside longer lines)."""
    return len(re.findall(rf"^{MARK} \d+$", text, re.M))


def probe_commands(target: HostTarget, config: ProbeConfig | None = None) -> list[str]:
    """Each default probe's remote command line as the SSH executor sends it, less the
    host-side `timeout -s KILL` it wraps every command in (one more exec per command for
    triagebot; the baselines are spared it)."""
    probes = [build(name, config) for name in DEFAULT_PROBES]
    made = made_from_others(probes)  # sockets: from connections' ss, no command of its own
    sent = [p for p in probes if p.name not in made]
    return [shlex.join(["env", "LC_ALL=C", *p.argv(target)]) for p in sent]


def remote_script(commands: list[str]) -> str:
    """One shell script running every command at once, then printing each output in order."""
    lines = ["d=$(mktemp -d) || exit 1"]
    lines += [f'{cmd} >"$d/{i}" 2>&1 &' for i, cmd in enumerate(commands)]
    lines.append("wait")
    lines += [f'echo "{MARK} {i}"; cat "$d/{i}"' for i in range(len(commands))]
    lines.append('rm -rf "$d"')
    return "\n".join(lines) + "\n"


def _enter(host: LabHost) -> list[str]:
    """nsenter argv that puts a command inside `host` (network; PIDs and /proc if its own)."""
    if host.own_pids:
        return ["nsenter", "-t", str(host.namespace_pid()), "--net", "--pid", "--mount"]
    return ["nsenter", f"--net={NETNS_DIR / host.netns}"]


class Tools:
    """Files both tools need (known_hosts, inventory, ansible.cfg) and one timed run of each."""

    def __init__(self, hosts: list[LabHost]) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="tbl-bench-"))
        self.known_hosts = self.dir / "known_hosts"
        self.known_hosts.write_text("".join(f"{h.address} {h.host_key_line}\n" for h in hosts))
        self.key = hosts[0].key_path

    def close(self) -> None:
        """Remove the temporary files."""
        subprocess.run(["rm", "-rf", str(self.dir)], check=False)

    def ssh_argv(self, host: LabHost, script: str) -> list[str]:
        """One OpenSSH client run: batch mode, strict host key checking, no user config."""
        return [
            "ssh", "-F", "/dev/null", "-i", self.key, "-p", str(host.port),
            "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
            "-o", f"UserKnownHostsFile={self.known_hosts}", "-o", "ConnectTimeout=5",
            "-o", "ControlMaster=no", "-o", "IdentitiesOnly=yes",
            f"{host.user}@{host.address}", script,
        ]  # fmt: skip

    def parallel_ssh(self, hosts: list[LabHost], script: str, probes: int) -> float:
        """Start one ssh per host at once, wait for all; seconds (raises if any failed)."""
        runs = [(h, self.ssh_argv(h, script), None) for h in hosts]
        return self._all_at_once("ssh", runs, probes)

    def commands_only(self, hosts: list[LabHost], script: str, probes: int) -> float:
        """The floor: the same script in each host's namespace at once, no SSH at all.

        nsenter into the host's network namespace (so `ss` sees its sockets; and its PID
        namespace and /proc for a host with its own), the environment its sshd gives a
        session (PATH with the host's bin dir, its empty HOME), bash as root's login shell
        would run it; seconds (raises if any run failed).
        """
        runs = [
            (h, [*_enter(h), "bash", "-c", script],
             {"PATH": f"{h.workdir}/bin:{SYSTEM_PATH}", "HOME": f"{h.workdir}/home"})
            for h in hosts
        ]  # fmt: skip
        return self._all_at_once("local", runs, probes)

    def _all_at_once(
        self, label: str, runs: list[tuple[LabHost, list[str], dict[str, str] | None]], probes: int
    ) -> float:
        """Start every (host, argv, env) at once, wait for all; seconds. Each output must hold
        one MARK per probe (raises with the output's end if any run failed)."""
        outs = [(self.dir / f"{label}-{h.name}.out").open("w+") for h, _, _ in runs]
        t0 = time.perf_counter()
        procs = [
            subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=o, stderr=subprocess.STDOUT, env=env
            )
            for (_, argv, env), o in zip(runs, outs, strict=True)
        ]
        codes = [p.wait(timeout=120) for p in procs]
        elapsed = time.perf_counter() - t0
        for (h, _, _), o, code in zip(runs, outs, codes, strict=True):
            o.seek(0)
            text = o.read()
            o.close()
            if code != 0 or marks(text) != probes:
                raise RuntimeError(f"{label} run on {h.name} failed ({code}): {text[-500:]}")
        return elapsed

    def write_ansible(self, hosts: list[LabHost]) -> Path:
        """Inventory and ansible.cfg (forks = hosts, pipelining, strict host keys)."""
        inventory = self.dir / "inventory.ini"
        inventory.write_text(
            "[lab]\n"
            + "".join(f"{h.name} ansible_host={h.address} ansible_port={h.port}\n" for h in hosts)
            + f"[lab:vars]\nansible_user=root\nansible_ssh_private_key_file={self.key}\n"
        )
        cfg = self.dir / "ansible.cfg"
        cfg.write_text(
            f"""[defaults]
inventory = {inventory}
forks = {len(hosts)}
host_key_checking = True
interpreter_python = /usr/bin/python3
local_tmp = {self.dir}/ansible-local
retry_files_enabled = False
[ssh_connection]
pipelining = True
ssh_args = {SSH_OPTIONS} -o UserKnownHostsFile={self.known_hosts}
"""
        )
        return cfg

    def ansible(self, hosts: list[LabHost], script: str, module: str, probes: int) -> float:
        """`ansible lab -m shell|raw -a SCRIPT -f N`; seconds (raises if any host failed)."""
        cfg = self.write_ansible(hosts)
        # The script goes in as an !unsafe variable: Ansible must not template the `{{json .}}`
        # of the docker probe's format string, and the command text stays byte for byte.
        extra = self.dir / "vars.yml"
        extra.write_text(f"probe_script: !unsafe {json.dumps(script)}\n")
        env = {
            **os.environ,
            "ANSIBLE_CONFIG": str(cfg),
            "ANSIBLE_HOME": str(self.dir / "ansible-home"),
            "ANSIBLE_NOCOLOR": "1",
        }
        out = self.dir / "ansible.out"
        with out.open("w") as fh:
            t0 = time.perf_counter()
            code = subprocess.run(
                [
                    str(ANSIBLE_VENV / "bin" / "ansible"), "lab", "-m", module,
                    "-a", '{"_raw_params": "{{ probe_script }}"}', "-e", f"@{extra}",
                ],
                stdin=subprocess.DEVNULL, stdout=fh, stderr=subprocess.STDOUT, env=env,
                timeout=300, check=False,
            ).returncode  # fmt: skip
            elapsed = time.perf_counter() - t0
        text = out.read_text(errors="replace")
        if code != 0 or marks(text) != probes * len(hosts):
            raise RuntimeError(f"ansible -m {module} failed ({code}): {text[-1500:]}")
        return elapsed
