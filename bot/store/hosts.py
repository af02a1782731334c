"""The host registry: add, get, list, remove."""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from bot.store.db import Store
from bot.store.models import HostRow, utcnow
from bot.store.quick import unknown_host_message
from commands.hosts import LOCAL_SPEC, HostSpec
from ssh_probes.errors import InputError, StoreError
from ssh_probes.model import LOCAL_HOST


def _spec(row: HostRow) -> HostSpec:
    return HostSpec(
        name=row.name,
        address=row.address,
        port=row.port,
        user=row.user,
        key_path=row.key_path,
        host_keys=tuple(row.host_keys),
        expect_ports=tuple(row.expect_ports),
        logs=tuple(row.logs),
        labels=dict(row.labels),
    )


class HostRepo:
    """Registry operations on one Store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def add(self, spec: HostSpec) -> None:
        """Register a new host; a taken name is an InputError and nothing changes."""
        await self.add_many([spec])

    async def add_many(self, specs: list[HostSpec]) -> None:
        """Register several hosts in one transaction: all of them, or (on any error) none."""
        for spec in specs:
            if spec.name == LOCAL_HOST:
                raise InputError("'local' is built in and means the machine the bot runs on")
        now = utcnow()
        rows = [
            HostRow(
                name=spec.name,
                address=spec.address,
                port=spec.port,
                user=spec.user,
                key_path=spec.key_path,
                host_keys=list(spec.host_keys),
                expect_ports=list(spec.expect_ports),
                logs=list(spec.logs),
                labels=dict(spec.labels),
                watched=True,
                created_at=now,
                updated_at=now,
            )
            for spec in specs
        ]
        try:
            async with self.store.sessions() as session, session.begin():
                session.add_all(rows)
        except IntegrityError:
            names = ", ".join(repr(s.name) for s in specs)
            what = f"host {names} is" if len(specs) == 1 else f"one of {names} is"
            raise InputError(f"{what} already registered") from None
        except (SQLAlchemyError, OSError) as exc:
            raise StoreError(self.store.explain(exc)) from exc

    async def names(self) -> list[str]:
        """Registered names, sorted (without `local`)."""
        async with self.store.session() as session:
            rows = await session.scalars(select(HostRow.name).order_by(HostRow.name))
            return list(rows)

    async def list(self) -> list[HostSpec]:
        """Every registered host, sorted by name (without `local`)."""
        async with self.store.session() as session:
            rows = await session.scalars(select(HostRow).order_by(HostRow.name))
            return [_spec(r) for r in rows]

    async def find(self, name: str) -> HostSpec | None:
        """The host called `name`, `local`, or None."""
        if name == LOCAL_HOST:
            return LOCAL_SPEC
        async with self.store.session() as session:
            row = await session.scalar(select(HostRow).where(HostRow.name == name))
            return _spec(row) if row else None

    async def get(self, name: str) -> HostSpec:
        """The host called `name`; unknown names are an InputError listing the known ones."""
        spec = await self.find(name)
        if spec is None:
            raise InputError(unknown_host_message(name, await self.names()))
        return spec

    async def set_watched(self, name: str, watched: bool) -> None:
        """Put a host in digests (the default when registered) or leave it out."""
        if name == LOCAL_HOST:
            raise InputError("'local' is not a registered host; digests cover registered ones")
        await self.get(name)
        async with self.store.session() as session:
            await session.execute(
                update(HostRow)
                .where(HostRow.name == name)
                .values(watched=watched, updated_at=utcnow())
            )

    async def is_watched(self, name: str) -> bool:
        """Whether digests cover the host (`local` never)."""
        async with self.store.session() as session:
            return bool(await session.scalar(select(HostRow.watched).where(HostRow.name == name)))

    async def remove(self, name: str) -> None:
        """Forget a host; its past runs stay in history."""
        if name == LOCAL_HOST:
            raise InputError("'local' is built in and cannot be removed")
        await self.get(name)
        async with self.store.session() as session:
            await session.execute(delete(HostRow).where(HostRow.name == name))
