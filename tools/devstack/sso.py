"""A local directory for trying and testing LDAP sign-in: OpenLDAP's slapd with a small demo
directory, and Dex (an OpenID Connect provider) in front of it.

Both run as throwaway processes under a directory of their own (never the system's slapd
service). The tests start them per session; ``make sso-up`` starts them in the background
for ``make run`` and prints the environment to give it, ``make sso-down`` stops them.

Only the standard library, PyYAML and tools.devstack.proc are used, so this runs before (or without)
Django.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tools.devstack.proc import REPO_ROOT, free_port, tail, terminate, wait_for, write_private

DEX_BUILD = Path(__file__).resolve().parent / "dex" / "build.sh"
SLAPD = Path(os.environ.get("SLAPD", "/usr/sbin/slapd"))
SLAPADD = Path(os.environ.get("SLAPADD", "/usr/sbin/slapadd"))
SCHEMAS = Path("/etc/ldap/schema")
LDAP_MODULES = Path("/usr/lib/ldap")
SUFFIX = "dc=example,dc=org"
ADMIN_DN = f"cn=admin,{SUFFIX}"
PEOPLE = f"ou=People,{SUFFIX}"
GROUPS = f"ou=Groups,{SUFFIX}"
CLIENT_ID = "pipeline-secrets"
START_TIMEOUT = 30.0


class SsoError(RuntimeError):
    """slapd or Dex could not be built, started or stopped."""


@dataclass
class Person:
    uid: str
    name: str
    password: str

    @property
    def dn(self) -> str:
        return f"uid={self.uid},{PEOPLE}"

    @property
    def email(self) -> str:
        return f"{self.uid}@example.org"


# The demo directory: who is in which group.
DEMO_PEOPLE = [
    Person("alice", "Alice Admin", "alice-password"),
    Person("bob", "Bob Builder", "bob-password"),
    Person("carol", "Carol Viewer", "carol-password"),
]
DEMO_GROUPS = {
    "platform-admins": ["alice"],
    "developers": ["alice", "bob"],
    "auditors": ["carol"],
}


def ssha(password: str) -> str:
    """An OpenLDAP {SSHA} password hash."""
    salt = secrets.token_bytes(8)
    digest = hashlib.sha1(password.encode() + salt).digest()  # noqa: S324 (LDAP's format)
    return "{SSHA}" + base64.b64encode(digest + salt).decode()


def _config_ldif(directory: Path, root_password: str) -> str:
    schemas = "\n".join(
        f"include: file://{SCHEMAS / name}.ldif" for name in ("core", "cosine", "inetorgperson")
    )
    return f"""dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: {directory}/slapd.pid

dn: cn=module{{0}},cn=config
objectClass: olcModuleList
cn: module{{0}}
olcModulePath: {LDAP_MODULES}
olcModuleLoad: back_mdb

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

{schemas}

dn: olcDatabase={{-1}}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {{-1}}frontend

dn: olcDatabase={{0}}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {{0}}config
olcAccess: {{0}}to * by * none

dn: olcDatabase={{1}}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {{1}}mdb
olcDbDirectory: {directory}/data
olcSuffix: {SUFFIX}
olcRootDN: {ADMIN_DN}
olcRootPW: {ssha(root_password)}
olcAccess: {{0}}to attrs=userPassword by self write by anonymous auth by * none
olcAccess: {{1}}to * by users read by * none
"""


def _data_ldif(people: list[Person], groups: dict[str, list[str]]) -> str:
    entries = [
        f"dn: {SUFFIX}\nobjectClass: top\nobjectClass: dcObject\nobjectClass: organization\n"
        "o: Example\ndc: example\n",
        f"dn: {PEOPLE}\nobjectClass: organizationalUnit\nou: People\n",
        f"dn: {GROUPS}\nobjectClass: organizationalUnit\nou: Groups\n",
    ]
    for p in people:
        entries.append(
            f"dn: {p.dn}\nobjectClass: inetOrgPerson\nuid: {p.uid}\ncn: {p.name}\n"
            f"sn: {p.name.split()[-1]}\nmail: {p.email}\nuserPassword: {ssha(p.password)}\n"
        )
    for name, members in groups.items():
        lines = "".join(f"member: uid={m},{PEOPLE}\n" for m in members)
        entries.append(f"dn: cn={name},{GROUPS}\nobjectClass: groupOfNames\ncn: {name}\n{lines}")
    return "\n".join(entries)


@dataclass
class Slapd:
    """slapd on 127.0.0.1 with the demo directory, as a child process."""

    directory: Path
    port: int = 0
    root_password: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    def start(
        self, people: list[Person] = DEMO_PEOPLE, groups: dict[str, list[str]] = DEMO_GROUPS
    ) -> None:
        if not SLAPD.exists():
            raise SsoError(f"{SLAPD} not found: run tools/install-test-deps.sh")
        self.port = self.port or free_port()
        shutil.rmtree(self.directory, ignore_errors=True)
        config = self.directory / "slapd.d"
        (self.directory / "data").mkdir(parents=True)
        config.mkdir()
        write_private(
            self.directory / "config.ldif", _config_ldif(self.directory, self.root_password)
        )
        write_private(self.directory / "data.ldif", _data_ldif(people, groups))
        for db, ldif in (("0", "config.ldif"), ("1", "data.ldif")):
            result = subprocess.run(
                [str(SLAPADD), "-n", db, "-F", str(config), "-l", str(self.directory / ldif)],
                capture_output=True,
                check=False,
            )
            if result.returncode != 0:
                raise SsoError(f"slapadd -n{db} failed: {result.stderr.decode()[-800:]}")
        log = (self.directory / "slapd.log").open("wb")
        self.process = subprocess.Popen(
            [str(SLAPD), "-h", f"{self.url}/", "-F", str(config), "-d", "stats"],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(self._listening, START_TIMEOUT, "slapd to listen", error=SsoError)

    def _listening(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise SsoError(f"slapd exited: {tail(self.directory / 'slapd.log')}")
        import socket

        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", self.port)) == 0

    def modify(self, ldif: str) -> None:
        """Apply an LDIF change with ldapmodify, bound as the directory's admin."""
        result = subprocess.run(
            ["ldapmodify", "-x", "-H", self.url, "-D", ADMIN_DN, "-w", self.root_password],
            input=ldif.encode(),
            capture_output=True,
            check=False,
        )
        if result.returncode != 0:
            raise SsoError(f"ldapmodify failed: {result.stderr.decode()[-500:]}")

    def remove_from_group(self, uid: str, group: str) -> None:
        self.modify(
            f"dn: cn={group},{GROUPS}\nchangetype: modify\ndelete: member\n"
            f"member: uid={uid},{PEOPLE}\n"
        )

    def stop(self) -> None:
        terminate(self.process)
        self.process = None


def dex_binary() -> Path:
    """The cached Dex build (built now by dex/build.sh beside this module when missing)."""
    result = subprocess.run(
        ["bash", str(DEX_BUILD)],
        stdout=subprocess.PIPE,
        check=False,
    )
    if result.returncode != 0:
        raise SsoError(f"{DEX_BUILD} failed")
    return Path(result.stdout.decode().strip().splitlines()[-1]) / "dex"


@dataclass
class Dex:
    """Dex on 127.0.0.1 with an LDAP connector to ``slapd`` and one client, the product."""

    directory: Path
    slapd: Slapd
    redirect_uris: list[str]
    port: int = 0
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    token_lifetime: str = "1h"
    process: subprocess.Popen[bytes] | None = None

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}/dex"

    def config(self) -> dict[str, object]:
        return {
            "issuer": self.issuer,
            "storage": {"type": "memory"},
            "web": {"http": f"127.0.0.1:{self.port}"},
            "logger": {"level": "info"},
            "oauth2": {"skipApprovalScreen": True},
            "expiry": {"idTokens": self.token_lifetime},
            "connectors": [
                {
                    "type": "ldap",
                    "id": "ldap",
                    "name": "LDAP",
                    "config": {
                        "host": f"127.0.0.1:{self.slapd.port}",
                        "insecureNoSSL": True,
                        "bindDN": ADMIN_DN,
                        "bindPW": self.slapd.root_password,
                        "usernamePrompt": "Username",
                        "userSearch": {
                            "baseDN": PEOPLE,
                            "filter": "(objectClass=inetOrgPerson)",
                            "username": "uid",
                            "idAttr": "uid",
                            "emailAttr": "mail",
                            "nameAttr": "cn",
                            "preferredUsernameAttr": "uid",
                        },
                        "groupSearch": {
                            "baseDN": GROUPS,
                            "filter": "(objectClass=groupOfNames)",
                            "userMatchers": [{"userAttr": "DN", "groupAttr": "member"}],
                            "nameAttr": "cn",
                        },
                    },
                }
            ],
            "staticClients": [
                {
                    "id": CLIENT_ID,
                    "secret": self.client_secret,
                    "name": "Pipeline Secrets",
                    "redirectURIs": self.redirect_uris,
                }
            ],
        }

    def start(self) -> None:
        binary = dex_binary()
        self.port = self.port or free_port()
        self.directory.mkdir(parents=True, exist_ok=True)
        config = write_private(self.directory / "dex.yaml", yaml.safe_dump(self.config()))
        log = (self.directory / "dex.log").open("wb")
        self.process = subprocess.Popen(
            [str(binary), "serve", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(self._ready, START_TIMEOUT, "Dex's discovery document", error=SsoError)

    def _ready(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise SsoError(f"dex exited: {tail(self.directory / 'dex.log')}")
        url = f"{self.issuer}/.well-known/openid-configuration"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback)
                return bool(response.status == 200)
        except OSError:
            return False

    def stop(self) -> None:
        terminate(self.process)
        self.process = None

    def env(self) -> dict[str, str]:
        """What the product needs to offer "Sign in with LDAP" through this Dex."""
        return {
            "OIDC_ISSUER": self.issuer,
            "OIDC_CLIENT_ID": CLIENT_ID,
            "OIDC_CLIENT_SECRET": self.client_secret,
        }


# --------------------------------------------------------------------------- make sso-up


def _up(directory: Path, app_port: int) -> None:
    state = directory / "state.json"
    if state.exists():
        _down(directory)
    slapd = Slapd(directory / "slapd")
    slapd.start()
    redirects = [f"http://{host}:{app_port}/oidc/callback/" for host in ("127.0.0.1", "localhost")]
    dex = Dex(directory / "dex", slapd, redirects)
    try:
        dex.start()
    except SsoError:
        slapd.stop()
        raise
    assert slapd.process is not None and dex.process is not None
    write_private(
        state,
        json.dumps({"slapd": slapd.process.pid, "dex": dex.process.pid, "env": dex.env()}),
    )
    env_file = write_private(
        directory / "env", "".join(f"export {k}={v}\n" for k, v in dex.env().items())
    )
    print(f"slapd on {slapd.url} and Dex at {dex.issuer} run in the background.")
    print("Demo directory (user / password → groups):")
    for p in DEMO_PEOPLE:
        groups = [g for g, members in DEMO_GROUPS.items() if p.uid in members]
        print(f"  {p.uid} / {p.password} → {', '.join(groups)}")
    print("Start the product with LDAP sign-in (the client secret is in that file):")
    print(f"  . {env_file} && make run")
    print("then, as an org admin, map a group (e.g. developers → member) under Sign-in.")


def _down(directory: Path) -> None:
    state = directory / "state.json"
    if not state.exists():
        print("sso: nothing running")
        return
    pids = json.loads(state.read_text())
    for name in ("dex", "slapd"):
        pid = int(pids.get(name, 0))
        if pid <= 0:
            continue
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
        for _ in range(50):
            try:
                os.killpg(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
    state.unlink()
    print("sso: stopped slapd and Dex")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="A local slapd and Dex for LDAP sign-in.")
    parser.add_argument("action", choices=["up", "down"])
    parser.add_argument("--dir", default=str(REPO_ROOT / "var" / "sso"))
    parser.add_argument("--app-port", type=int, default=int(os.environ.get("PORT", "9090")))
    args = parser.parse_args(argv)
    directory = Path(args.dir).resolve()
    try:
        if args.action == "up":
            _up(directory, args.app_port)
        else:
            _down(directory)
    except SsoError as exc:
        print(f"sso: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
