"""`triagebot hosts add|list|show|import|remove`: the host registry."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from bot.cli.common import JsonFlag, print_json, with_store

if TYPE_CHECKING:
    from bot.settings import Settings
    from bot.store.db import Store

hosts_app = typer.Typer(
    help="Manage the host registry.", no_args_is_help=True, rich_markup_mode=None
)


@hosts_app.command("add")
def hosts_add(
    name: Annotated[str, typer.Argument(help="Registry name, e.g. web-1.")],
    address: Annotated[str, typer.Option(help="IP address or DNS name.")],
    port: Annotated[int, typer.Option(help="SSH port.")] = 22,
    user: Annotated[str, typer.Option(help="SSH user.")] = "root",
    key: Annotated[str | None, typer.Option(help="Private key file.")] = None,
    known_hosts: Annotated[
        str | None, typer.Option("--known-hosts", help="known_hosts file holding its key.")
    ] = None,
    host_key: Annotated[
        list[str] | None, typer.Option("--host-key", help="'ssh-ed25519 AAAA...' to pin.")
    ] = None,
    expect_port: Annotated[
        list[int] | None, typer.Option("--expect-port", help="A port that must listen.")
    ] = None,
    log: Annotated[list[str] | None, typer.Option("--log", help="A log file to read.")] = None,
    label: Annotated[list[str] | None, typer.Option("--label", help="K=V.")] = None,
) -> None:
    """Register a host (its host key is pinned; nothing is trusted on first use)."""
    from bot.settings import load_settings
    from bot.store.hosts import HostRepo
    from commands.hosts import build_spec

    configured = load_settings().ssh_known_hosts_file  # TRIAGEBOT_SSH_KNOWN_HOSTS_FILE
    if not known_hosts and not host_key and configured:
        known_hosts = str(configured)
    spec = build_spec(
        name,
        address=address,
        port=port,
        user=user,
        key=key,
        known_hosts=known_hosts,
        host_keys=host_key or (),
        expect_ports=expect_port or (),
        logs=log or (),
        labels=label or (),
    )
    with_store(lambda store, _s: HostRepo(store).add(spec))
    typer.echo(f"added {spec.name} ({spec.user}@{spec.address}:{spec.port})")


def _host_dict(spec: Any) -> dict[str, Any]:
    return {
        "name": spec.name,
        "address": spec.address,
        "port": spec.port,
        "user": spec.user,
        "key_path": spec.key_path,
        "host_keys": list(spec.host_keys),
        "expect_ports": list(spec.expect_ports),
        "logs": list(spec.logs),
        "labels": dict(spec.labels),
    }


@hosts_app.command("list")
def hosts_list(as_json: JsonFlag = False) -> None:
    """List registered hosts (`local` is always there)."""
    from bot.store.hosts import HostRepo
    from commands.hosts import LOCAL_SPEC

    specs = [LOCAL_SPEC, *with_store(lambda store, _s: HostRepo(store).list())]
    if as_json:
        print_json([_host_dict(s) for s in specs])
        return
    for s in specs:
        where = "this machine" if s.name == "local" else f"{s.user}@{s.address}:{s.port}"
        ports = ",".join(map(str, s.expect_ports)) or "-"
        typer.echo(f"{s.name:20} {where:40} expect {ports}")


@hosts_app.command("show")
def hosts_show(name: str, as_json: JsonFlag = False) -> None:
    """Show one host's registry entry."""
    from bot.store.hosts import HostRepo

    async def work(store: Store, _s: Settings) -> dict[str, Any]:
        repo = HostRepo(store)
        spec = await repo.get(name.lower())
        return {**_host_dict(spec), "watched": await repo.is_watched(spec.name)}

    data = with_store(work)
    if as_json:
        print_json(data)
        return
    for key, value in data.items():
        typer.echo(f"{key:13} {value}")


@hosts_app.command("import")
def hosts_import(
    kind: Annotated[str, typer.Argument(help="ansible (INI or YAML) or ssh-config.")],
    path: Annotated[str, typer.Argument(help="The inventory or ssh config file.")],
    known_hosts: Annotated[
        str | None,
        typer.Option("--known-hosts", help="Where host keys come from (~/.ssh/known_hosts)."),
    ] = None,
    trust_on_first_use: Annotated[
        bool,
        typer.Option(
            "--trust-on-first-use", help="Fetch missing host keys and print their fingerprints."
        ),
    ] = False,
    key: Annotated[str | None, typer.Option(help="Key file for hosts that name none.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would change.")] = False,
) -> None:
    """Import hosts from an Ansible inventory or an ssh config; groups become labels."""
    import os

    from bot.store.hosts import HostRepo
    from commands.inventory_import import plan_import, read_inventory

    parsed = read_inventory(kind, path)
    from bot.settings import load_settings

    configured = load_settings().ssh_known_hosts_file  # wins over ~/.ssh/known_hosts
    home_kh = os.path.expanduser("~/.ssh/known_hosts")
    kh = known_hosts or (
        str(configured) if configured else (home_kh if os.path.exists(home_kh) else None)
    )

    async def work(store: Store, _s: Settings) -> Any:
        repo = HostRepo(store)
        plan = await plan_import(
            parsed,
            await repo.names(),
            known_hosts=kh,
            trust_on_first_use=trust_on_first_use,
            default_key=key,
        )
        if not dry_run and plan.add:
            await repo.add_many(plan.add)
        return plan

    plan = with_store(work)
    verb = "would add" if dry_run else "added"
    for spec in plan.add:
        labels = f"  {spec.labels['group']}" if "group" in spec.labels else ""
        typer.echo(f"{verb:10} {spec.name:24} {spec.user}@{spec.address}:{spec.port}{labels}")
    for name, fingerprint in plan.trusted:
        typer.echo(f"{'trusted':10} {name:24} host key {fingerprint} (first use: verify it)")
    for name in plan.unchanged:
        typer.echo(f"{'unchanged':10} {name:24} already registered")
    for name in plan.no_key:
        typer.echo(
            f"{'skipped':10} {name:24} no known host key "
            f"({'in ' + kh if kh else 'no known_hosts file'}; --trust-on-first-use to fetch it)"
        )
    for note in plan.notes:
        typer.echo(f"{'note':10} {note}")


@hosts_app.command("watch")
def hosts_watch(name: str) -> None:
    """Put a host in scheduled digests (registered hosts are, unless unwatched)."""
    from bot.store.hosts import HostRepo

    with_store(lambda store, _s: HostRepo(store).set_watched(name.lower(), True))
    typer.echo(f"{name.lower()} is in digests")


@hosts_app.command("unwatch")
def hosts_unwatch(name: str) -> None:
    """Leave a host out of scheduled digests (it can still be triaged)."""
    from bot.store.hosts import HostRepo

    with_store(lambda store, _s: HostRepo(store).set_watched(name.lower(), False))
    typer.echo(f"{name.lower()} is left out of digests")


@hosts_app.command("remove")
def hosts_remove(name: str) -> None:
    """Remove a host from the registry (its history stays)."""
    from bot.store.hosts import HostRepo

    with_store(lambda store, _s: HostRepo(store).remove(name.lower()))
    typer.echo(f"removed {name.lower()}")
