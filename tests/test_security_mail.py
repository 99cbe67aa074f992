"""Mail and directory links, replayed against the real stack: a real SMTP server (aiosmtpd)
held by the test, the task worker (tests/worker.py), the GitHub stand-in and Dex on the test
directory (slapd).

* No request waits on the mail server: invitation and password-reset mails are queued, and
  the worker sends them once the server answers. Their task rows hold the message sealed:
  neither the invitation token nor the reset key (nor the recipient) is in the task table in
  clear, and a row run again sends nothing twice.
* A GitHub link or group mapping the operator no longer trusts makes no membership, and the
  memberships it made end at the next sign-in, audited as sync removals.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator
from email import message_from_bytes, policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from allauth.account.models import EmailAddress
from django.db import connection
from django.test import Client
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from accounts import services as account_services
from audit.models import AuditEvent
from orgs.invitations import invitation_hash
from orgs.models import Invitation, Membership, Role, Source
from tests.conftest import Personas, token_client
from tests.github_standin import GitHubStandIn
from tests.sso_fixtures import Mailbox
from tests.test_security_consent import ldap_round_trip
from tests.test_signin_github import github_sign_in, link, signed_in_user
from tests.worker import run_worker
from tools.devstack.pytest_plugin import Dex, free_port

pytestmark = pytest.mark.django_db(transaction=True)

INVITE_LINK = re.compile(r"https?://\S+/invites/([A-Za-z0-9_-]+)/")
RESET_LINK = re.compile(r"https?://\S+/accounts/password/reset/key/([0-9a-z]+)-(\S+)/")


class HeldSmtp:
    """aiosmtpd on 127.0.0.1 that greets, then answers nothing (not even EHLO) until the test
    releases it; from then on it takes every message."""

    def __init__(self) -> None:
        self.port = free_port()
        self.messages: list[Any] = []
        self.greeted = 0
        self.released = threading.Event()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        self.greeted += 1
        await asyncio.get_running_loop().run_in_executor(None, self.released.wait)
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Any]:
        return [m for m in self.messages if address in m["To"]]


@pytest.fixture
def held_smtp(settings: Any) -> Iterator[HeldSmtp]:
    server = HeldSmtp()
    server.controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_TIMEOUT = 30  # a request sending itself would wait on the held server
    try:
        yield server
    finally:
        server.released.set()
        server.controller.stop()


def task_table() -> str:
    """Every column of every row of the task table, as the database holds them."""
    table = connection.ops.quote_name(DBTaskResult._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table}")
        return "\n".join(" ".join(str(value) for value in row) for row in cursor.fetchall())


def test_mail_leaves_the_request_sealed_and_is_sent_once(
    personas: Personas, held_smtp: HeldSmtp
) -> None:
    answer = token_client(personas.admin).post(
        f"/api/v1/orgs/{personas.org.pk}/invites",
        {"email": "nina@example.org", "role": Role.MEMBER},
        format="json",
    )
    # The answer came while the SMTP server is held: the request never talked to it.
    assert answer.status_code == 201, answer.content
    personas.outsider.email = "oscar@example.org"
    personas.outsider.save(update_fields=["email"])
    EmailAddress.objects.create(
        user=personas.outsider, email="oscar@example.org", verified=True, primary=True
    )
    reset = Client().post("/accounts/password/reset/", {"email": "oscar@example.org"})
    assert reset.status_code == 302
    assert not held_smtp.released.is_set() and held_smtp.greeted == 0
    assert not held_smtp.messages
    stored = task_table()
    assert DBTaskResult.objects.filter(status=TaskResultStatus.READY).count() == 2

    held_smtp.released.set()
    assert run_worker() == 2
    invitation_mail = held_smtp.to("nina@example.org")
    reset_mail = held_smtp.to("oscar@example.org")
    assert len(invitation_mail) == 1 and len(reset_mail) == 1
    token = INVITE_LINK.search(invitation_mail[0].get_content())
    key = RESET_LINK.search(reset_mail[0].get_content())
    assert token is not None and key is not None
    assert Invitation.objects.get(token_hash=invitation_hash(token.group(1)))
    # The rows held the messages sealed: no token, key, recipient or subject in clear.
    for clear in (token.group(1), key.group(2), "nina@example.org", "oscar@example.org"):
        assert clear not in stored
    for subject in (invitation_mail[0]["Subject"], reset_mail[0]["Subject"]):
        assert subject and subject not in stored

    # Run again, as a requeue or a retry would: nothing is sent twice.
    DBTaskResult.objects.update(status=TaskResultStatus.READY)
    assert run_worker() == 2
    assert run_worker() == 0
    assert len(held_smtp.messages) == 2
    after = task_table()
    assert token.group(1) not in after and key.group(2) not in after
    assert all(
        row["kwargs"]["sealed"] == "sent"
        for row in DBTaskResult.objects.values_list("args_kwargs", flat=True)
    )


def test_a_sealed_mail_opens_only_with_the_servers_secret_key(
    personas: Personas, mailbox: Mailbox, settings: Any
) -> None:
    answer = token_client(personas.admin).post(
        f"/api/v1/orgs/{personas.org.pk}/invites",
        {"email": "nina@example.org", "role": Role.VIEWER},
        format="json",
    )
    assert answer.status_code == 201
    original = settings.SECRET_KEY
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "another-" + original, []
    with pytest.raises(AssertionError, match="UnreadableMail"):
        run_worker()  # a key that did not seal it opens nothing: the task fails, unsent
    assert not mailbox.messages
    # The key rotated with the old one kept as a fallback: the queued mail still goes out.
    settings.SECRET_KEY_FALLBACKS = [original]
    DBTaskResult.objects.update(status=TaskResultStatus.READY)
    assert run_worker() == 1
    assert len(mailbox.messages) == 1 and INVITE_LINK.search(mailbox.messages[0].get_content())


# --------------------------------------------------------------------------- links


def removals(personas: Personas, username: str) -> int:
    return AuditEvent.objects.filter(
        organization=personas.org, action="member.sync.remove", target_name=username
    ).count()


def test_an_untrusted_github_link_makes_no_membership_and_ends_those_it_made(
    personas: Personas, github: GitHubStandIn, settings: Any
) -> None:
    settings.GITHUB_TRUSTED_ORGS = ["acme-gh"]
    settings.SOCIAL_SIGNUP = "open"
    link(personas)
    github.add("octo", orgs={"acme-gh"})
    github.add("hubot", orgs={"acme-gh"})
    octo = signed_in_user(github_sign_in(Client(), github, "octo"))
    assert octo is not None
    assert Membership.objects.get(user=octo, organization=personas.org).source == Source.GITHUB

    settings.GITHUB_TRUSTED_ORGS = []  # the operator no longer trusts acme-gh
    assert signed_in_user(github_sign_in(Client(), github, "octo")) == octo
    assert not Membership.objects.filter(user=octo, organization=personas.org).exists()
    assert removals(personas, "octo") == 1
    hubot = signed_in_user(github_sign_in(Client(), github, "hubot"))
    assert hubot is not None
    assert not Membership.objects.filter(user=hubot, organization=personas.org).exists()

    settings.GITHUB_TRUSTED_ORGS = ["ACME-GH"]  # trusted again: the link grants again
    github_sign_in(Client(), github, "octo")
    assert Membership.objects.filter(user=octo, organization=personas.org).exists()


def test_an_untrusted_group_mapping_makes_no_membership_and_ends_those_it_made(
    personas: Personas, ldap_signin: Dex, settings: Any
) -> None:
    settings.LDAP_TRUSTED_GROUPS = ["*"]
    settings.SOCIAL_SIGNUP = "open"
    account_services.group_mapping_set(
        actor=personas.admin, organization=personas.org, group="developers", role=Role.MEMBER
    )
    assert "_auth_user_id" in ldap_round_trip(ldap_signin, "bob").session
    bob = Membership.objects.get(organization=personas.org, source=Source.LDAP).user

    settings.LDAP_TRUSTED_GROUPS = ["ops-*"]  # the operator no longer trusts "developers"
    assert "_auth_user_id" in ldap_round_trip(ldap_signin, "bob").session
    assert not Membership.objects.filter(user=bob, organization=personas.org).exists()
    assert removals(personas, bob.username) == 1
