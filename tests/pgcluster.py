"""A throwaway PostgreSQL server of a test's own, so a test may stop and restart it.

Outage tests restart PostgreSQL for real. They do it on a cluster made for them
(``initdb`` into a temporary directory, a free port on 127.0.0.1) with the same
PostgreSQL binaries as the server ``TEST_DATABASE_URL`` names, never on that
shared server: other tests, or other people's test runs, may be using it.

Root may not run PostgreSQL, so as root the binaries run as the ``postgres``
user (``runuser``), which owns the cluster's directory.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

__all__ = ["PgCluster", "PgUnavailable", "throwaway_cluster"]


class PgUnavailable(Exception):
    """No PostgreSQL binaries, or no way to run them here; the message says which."""


def _bindir() -> Path:
    explicit = os.environ.get("PG_BINDIR")
    candidates = [explicit] if explicit else []
    if pg_config := shutil.which("pg_config"):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            candidates.append(
                subprocess.run(
                    [pg_config, "--bindir"], capture_output=True, text=True, check=True, timeout=10
                ).stdout.strip()
            )
    if initdb := shutil.which("initdb"):
        candidates.append(str(Path(initdb).resolve().parent))
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for candidate in candidates:
        if candidate and all((Path(candidate) / tool).is_file() for tool in ("initdb", "pg_ctl")):
            return Path(candidate)
    raise PgUnavailable("no PostgreSQL server binaries (initdb, pg_ctl) found; set PG_BINDIR")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PgCluster:
    """One PostgreSQL server on 127.0.0.1:``port``, trust auth, superuser ``postgres``."""

    def __init__(self, root: Path, bindir: Path, run_as: str | None) -> None:
        self.root = root
        self.data = root / "data"
        self.log = root / "server.log"
        self.bindir = bindir
        self.run_as = run_as
        self.port = _free_port()

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str, timeout: float = 60) -> None:
        command = [str(self.bindir / tool), *args]
        if self.run_as is not None:
            command = ["runuser", "-u", self.run_as, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise PgUnavailable(f"{tool} failed ({result.returncode}): {result.stderr.strip()}")

    def init(self) -> None:
        # -N: no fsync at initdb; fsync=off at run time too. A test's data need not
        # survive a power cut, and a restart (fast shutdown) is a clean checkpoint.
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-N", "-E",
                  "UTF8", "--locale=C")  # fmt: skip

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 "
            f"-c unix_socket_directories={self.root} -c fsync=off"
        )
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", "start")

    def stop(self) -> None:
        """A fast shutdown, as ``pg_ctlcluster ... restart`` does: sessions are cut off."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def accepting(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def wait_ready(self, timeout: float = 30) -> None:
        """Until the server takes connections (``pg_ctl -w`` waits too; this is belt and braces)."""
        deadline = time.monotonic() + timeout
        while not self.accepting():
            if time.monotonic() > deadline:
                raise AssertionError(f"PostgreSQL on port {self.port} did not come back")
            time.sleep(0.02)


@contextlib.contextmanager
def throwaway_cluster() -> Iterator[PgCluster]:
    """A started cluster, stopped and deleted afterwards (whatever the test did to it)."""
    bindir = _bindir()
    run_as: str | None = None
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            raise PgUnavailable("running as root without runuser: cannot start PostgreSQL")
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            raise PgUnavailable("running as root and there is no postgres user") from None
        run_as = "postgres"
    # Not under pytest's tmp_path: its parents are private to root.
    root = Path(tempfile.mkdtemp(prefix="interview-bot-pg-"))
    try:
        if run_as is not None:
            os.chown(root, owner.pw_uid, owner.pw_gid)
        cluster = PgCluster(root, bindir, run_as)
        cluster.init()
        cluster.start()
        try:
            yield cluster
        finally:
            with contextlib.suppress(PgUnavailable, subprocess.SubprocessError):
                if cluster.accepting():
                    cluster.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)
