"""A real PgBouncer in transaction pooling mode, started for the tests on a free port.

Debian's ``pgbouncer`` package provides the binary (``.ci/run`` installs it).
PgBouncer refuses to run as root, so when the tests run as root it is started
as the ``postgres`` user. Every database name is forwarded to the server the
tests use (a ``*`` entry), with trust authentication, so tests that create
their own databases can reach them through the pooler too.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from psycopg import conninfo

BINARY = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"


def available() -> str | None:
    """Return why PgBouncer cannot run here, or None when it can."""
    if not Path(BINARY).is_file():
        return "PgBouncer is not installed (Debian: apt-get install -y pgbouncer)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "PgBouncer refuses to run as root and there is no postgres user to run it as"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_for(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"PgBouncer exited at start:\n{log.read_text(errors='replace')}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"PgBouncer did not listen within 10 s:\n{log.read_text(errors='replace')}")


@contextlib.contextmanager
def pgbouncer(server_url: str, *, pool_size: int = 20) -> Iterator[str]:
    """Run PgBouncer in front of *server_url*'s server; yield the URL that goes through it.

    The pooler keeps at most *pool_size* server connections per database and
    user, fewer than the clients may open, so that transactions really do move
    from one server connection to another.
    """
    params = conninfo.conninfo_to_dict(server_url)
    host = params.get("host") or "127.0.0.1"
    server_port = params.get("port") or "5432"
    user = str(params.get("user") or "postgres")
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="usermgmt-pgbouncer-") as directory:
        home = Path(directory)
        (home / "users.txt").write_text(f'"{user}" ""\n')
        config = home / "pgbouncer.ini"
        log = home / "pgbouncer.log"
        config.write_text(
            "[databases]\n"
            f"* = host={host} port={server_port}\n"
            "[pgbouncer]\n"
            "listen_addr = 127.0.0.1\n"
            f"listen_port = {port}\n"
            f"unix_socket_dir = {home}\n"
            "auth_type = trust\n"
            f"auth_file = {home / 'users.txt'}\n"
            "pool_mode = transaction\n"
            f"default_pool_size = {pool_size}\n"
            "max_client_conn = 1000\n"
            "server_reset_query =\n"
            "ignore_startup_parameters = extra_float_digits,options\n"
            f"logfile = {log}\n"
            f"pidfile = {home / 'pgbouncer.pid'}\n"
        )
        command = [BINARY, str(config)]
        if os.geteuid() == 0:
            postgres = pwd.getpwnam("postgres")
            os.chown(home, postgres.pw_uid, postgres.pw_gid)
            for path in home.iterdir():
                os.chown(path, postgres.pw_uid, postgres.pw_gid)
            command = ["runuser", "-u", "postgres", "--", *command]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)  # noqa: S603 - fixed binary, our own config
        try:
            _wait_for(port, process, log)
            yield conninfo.make_conninfo(server_url, host="127.0.0.1", port=str(port))
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
