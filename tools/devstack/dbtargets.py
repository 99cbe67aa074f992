"""Target database servers for the dynamic database credential tests: a PostgreSQL and a
MariaDB server, each with a database ``app`` and a password-protected superuser
``root_admin`` reachable on 127.0.0.1, as OpenBao's database engine expects of a server it
manages.

Imports nothing from Django, like the rest of the local stack.
"""

from __future__ import annotations

import re
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal, Protocol

import psycopg
from psycopg import sql

from tools.devstack.mariadb import MariaDB
from tools.devstack.postgres import POSTGRES_USER, Postgres

TARGET_DATABASE = "app"
TARGET_ADMIN = "root_admin"

# Client authentication of the PostgreSQL target, ahead of initdb's trust rules: the
# `postgres` account (the setup's own) keeps trust; every other role, the administrator and
# the users OpenBao creates, must give its password over TCP.
PG_HBA_RULES = (
    f"host all {POSTGRES_USER} 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 scram-sha-256\n"
)


class Connection(Protocol):
    """What tests use of a DB-API connection (psycopg's and PyMySQL's alike)."""

    def cursor(self) -> Any: ...

    def close(self) -> None: ...

    def __enter__(self) -> Any: ...

    def __exit__(self, kind: Any, value: Any, trace: Any, /) -> Any: ...


@dataclass(frozen=True)
class DatabaseTarget:
    """How to reach a target server as its administrator.

    ``engine`` is the product's name of the server kind: ``postgresql`` or ``mysql``.
    """

    engine: Literal["postgresql", "mysql"]
    host: str
    port: int
    database: str
    username: str
    password: str

    def connect(self, username: str | None = None, password: str | None = None) -> Connection:
        """An autocommit connection to ``database`` over TCP, as the administrator or as
        ``username``/``password`` (e.g. credentials OpenBao issued); the driver's error
        propagates when the server refuses the login."""
        user = self.username if username is None else username
        secret = self.password if password is None else password
        if self.engine == "postgresql":
            return psycopg.connect(
                host=self.host,
                port=self.port,
                dbname=self.database,
                user=user,
                password=secret,
                sslmode="disable",
                connect_timeout=10,
                autocommit=True,
            )
        import pymysql

        return pymysql.connect(
            host=self.host,
            port=self.port,
            database=self.database,
            user=user,
            password=secret,
            connect_timeout=10,
            autocommit=True,
        )

    def new_admin(self, username: str) -> DatabaseTarget:
        """Create another superuser ``username`` (letters, digits, ``_``) with a random
        password, and return this target as that user. For tests that rotate the root
        credentials OpenBao holds (``rotate-root``): rotating this session's ``root_admin``
        would lock every later test out."""
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,30}", username):
            raise ValueError(f"not a simple user name: {username!r}")
        admin = replace(self, username=username, password=secrets.token_urlsafe(24))
        statements: list[tuple[Any, tuple[str, ...] | None]]
        if self.engine == "postgresql":
            create = sql.SQL("CREATE ROLE {} SUPERUSER LOGIN PASSWORD {}").format(
                sql.Identifier(username), sql.Literal(admin.password)
            )
            statements = [(create, None)]
        else:
            statements = [
                (f"CREATE USER '{username}'@'%%' IDENTIFIED BY %s", (admin.password,)),
                (f"GRANT ALL PRIVILEGES ON *.* TO '{username}'@'%' WITH GRANT OPTION", None),
            ]
        connection = self.connect()
        try:
            cursor = connection.cursor()
            for query, params in statements:
                cursor.execute(query, params)
        finally:
            connection.close()
        return admin


@contextmanager
def postgres_target() -> Iterator[DatabaseTarget]:
    """A started PostgreSQL target for the duration of the block, in a fresh temporary
    directory (deleted afterwards). The server is tools.devstack.postgres's, configured here
    after start: the administrator role, the database and password authentication."""
    # mkdtemp: as root the server runs as the postgres user, which must traverse base_dir.
    base_dir = Path(tempfile.mkdtemp(prefix="pipeline-secrets-target-pg-"))
    server = Postgres(base_dir)
    try:
        server.start()
        yield _configure_postgres(server)
    finally:
        server.stop()
        shutil.rmtree(base_dir, ignore_errors=True)


def _configure_postgres(server: Postgres) -> DatabaseTarget:
    """Require passwords (PG_HBA_RULES), create the database, then the administrator."""
    hba = server.data_dir / "pg_hba.conf"
    hba.write_text(PG_HBA_RULES + hba.read_text(encoding="utf-8"), encoding="utf-8")
    with psycopg.connect(server.url, autocommit=True) as setup:
        setup.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(TARGET_DATABASE)))
        setup.execute("SELECT pg_reload_conf()")
    # The setup's own account: trusted, so no password.
    setup_account = DatabaseTarget(
        engine="postgresql",
        host="127.0.0.1",
        port=server.port,
        database=TARGET_DATABASE,
        username=POSTGRES_USER,
        password="",
    )
    return setup_account.new_admin(TARGET_ADMIN)


@contextmanager
def mariadb_target(base_dir: Path) -> Iterator[DatabaseTarget]:
    """A started MariaDB target in ``base_dir`` for the duration of the block."""
    server = MariaDB(base_dir)
    try:
        server.start()
        yield DatabaseTarget(
            engine="mysql",
            host=server.host,
            port=server.port,
            database=server.database,
            username=server.user,
            password=server.password,
        )
    finally:
        server.stop()
