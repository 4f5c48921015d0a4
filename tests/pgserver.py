"""A private PostgreSQL server for tests that stop and start the database.

Never the shared server at 5432: each `PrivatePostgres` has its own data directory in
a fresh temp dir, listens on a free loopback port (and a socket in that dir), and is
stopped and removed at the end. initdb and pg_ctl come from /usr/lib/postgresql/*/bin
(or PATH). PostgreSQL refuses to run as root, and CI runs the tests as root: then the
server runs as the `postgres` OS user (through `runuser`, else `su`), which owns the
temp dir.

Use the `private_postgres` fixture (a started server; skipped, saying why, where initdb
is not installed) or `PrivatePostgres` directly:

    async def test_x(private_postgres: PrivatePostgres) -> None:
        url = await private_postgres.create_database("drill")   # postgresql://…/drill
        ...
        await private_postgres.stop()    # the database is gone: connections are refused
        await private_postgres.start()   # back, same data
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import pwd
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.serving import free_port

SERVER_USER = "postgres"  # who runs the server when the tests run as root


def postgres_bin() -> Path | None:
    """The directory holding initdb and pg_ctl (the newest installed), or None."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: (
            int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0
        ),
    )
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


def _as_server_user() -> list[str]:
    """The command prefix that runs a program as the server's user ([] when not root)."""
    if os.geteuid() != 0:
        return []
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", SERVER_USER, "--"]
    su = shutil.which("su")
    if su:
        return [su, SERVER_USER, "-s", "/bin/sh", "-c", '"$0" "$@"', "--"]  # $0 = the program
    raise RuntimeError("running as root, and neither runuser nor su is available")


class PrivatePostgres:
    """One throwaway PostgreSQL server: `await init()`, `start()`, `stop()`, `remove()`."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="drill-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self._prefix = _as_server_user()
        if self._prefix:
            owner = pwd.getpwnam(SERVER_USER)
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
        self.root.chmod(0o700)

    @property
    def admin_url(self) -> str:
        return self.url("postgres")

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    async def _run(self, *args: str) -> None:
        proc = await asyncio.create_subprocess_exec(
            *self._prefix,
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            cwd=self.root,
        )
        output, _ = await proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(
                f"{Path(args[0]).name} failed: {output.decode()[-2000:]}\n{self.log_tail()}"
            )

    def log_tail(self) -> str:
        """The end of the server's log (for a failing test's output)."""
        try:
            return self.log.read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    async def init(self) -> PrivatePostgres:
        await self._run(
            str(self.bin_dir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        return self

    async def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c full_page_writes=off -c max_connections=60"
        )
        await self._run(
            str(self.bin_dir / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-o",
            options,
            "-w",
            "-t",
            "30",
            "start",
        )

    async def stop(self, mode: str = "fast") -> None:
        """Stop the server: `fast` ends every session (what an outage looks like to the
        app); `immediate` is a crash, recovered from on the next start."""
        await self._run(
            str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"
        )

    @property
    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    async def create_database(self, name: str | None = None) -> str:
        """A new database on this server; returns its postgresql:// URL."""
        import asyncpg

        name = name or f"drill_{uuid.uuid4().hex[:12]}"
        admin = await asyncpg.connect(self.admin_url)
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        return self.url(name)

    async def remove(self) -> None:
        """Stop the server if it runs, and delete its directory."""
        if self.running:
            with contextlib.suppress(RuntimeError):
                await self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
async def private_postgres() -> AsyncIterator[PrivatePostgres]:
    """A started private PostgreSQL server of this test's own (see the module docstring)."""
    bin_dir = postgres_bin()
    if bin_dir is None:
        pytest.skip("initdb is not installed (PostgreSQL server binaries are needed)")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SERVER_USER)
        except KeyError:
            pytest.skip(f"running as root and there is no {SERVER_USER!r} user to run PostgreSQL")
    server = PrivatePostgres(bin_dir)
    try:
        await server.init()
        await server.start()
        yield server
    finally:
        await server.remove()
