"""A throwaway PostgreSQL cluster for the tests: initdb in a temp dir (as the `postgres` user when run as
root, which initdb requires), a free port, `pg_ctl -w start`; removed at the end.  Each test gets a fresh
database on it."""
from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import textwrap
from pathlib import Path


def find_bin(name: str) -> str | None:
    """On PATH, else Debian's /usr/lib/postgresql/<version>/bin (not on PATH by default)."""
    found = shutil.which(name)
    if found:
        return found
    for d in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (d / name).exists():
            return str(d / name)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgCluster:
    def __init__(self) -> None:
        self.initdb, self.pg_ctl = find_bin("initdb"), find_bin("pg_ctl")
        self.root = Path(tempfile.mkdtemp(prefix="om-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self._as_user: list[str] = []
        if os.geteuid() == 0:                          # initdb refuses root: run the cluster as `postgres`
            shutil.chown(self.root, "postgres")
            self._as_user = ["runuser", "-u", "postgres", "--"]
        self._names = itertools.count(1)

    def _run(self, *args: str) -> None:
        subprocess.run([*self._as_user, *args], check=True, capture_output=True, cwd=self.root)

    def start(self) -> "PgCluster":
        self._run(self.initdb, "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8")
        with open(self.data / "postgresql.conf", "a") as conf:   # a test server: fast, local only, many clients
            conf.write(f"port = {self.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{self.root}'\n"
                       "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\nmax_connections = 200\n")
        # trust, except the role `alice`, who logs in with a password (the wrong-password tests)
        (self.data / "pg_hba.conf").write_text("local all all trust\nhost all alice 127.0.0.1/32 scram-sha-256\n"
                                               "host all all 127.0.0.1/32 trust\n")
        if self._as_user:
            for name in ("postgresql.conf", "pg_hba.conf"):
                shutil.chown(self.data / name, "postgres")
        self._run(self.pg_ctl, "-D", str(self.data), "-l", str(self.root / "log"), "-w", "start")
        return self

    def stop(self) -> None:
        self._run(self.pg_ctl, "-D", str(self.data), "-m", "fast", "-w", "stop")

    def restart(self) -> None:
        self._run(self.pg_ctl, "-D", str(self.data), "-l", str(self.root / "log"), "-w", "start")

    def url(self, db: str = "postgres", user: str = "postgres") -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{db}"

    def new_database(self) -> str:
        import psycopg

        name = f"t{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def destroy(self) -> None:
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.root, ignore_errors=True)


# A process of a team's service: `python -c WRITER base_url stream n` logs n calls to $OPENAI_MONITOR_DB.
WRITER = textwrap.dedent("""
    import sys, openai
    from monitor import init_monitor
    base_url, stream, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    m = init_monitor(stream, quiet=True)         # the store comes from $OPENAI_MONITOR_DB
    client = m.wrap(openai.OpenAI(base_url=base_url, api_key="sk-x", max_retries=0))
    for i in range(n):
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": f"n{i}"}])
""")
