"""Sign-in's writes: the first run's admin, ending a person's other sessions, and an
organization's links to a GitHub organization and to directory groups (which the operator
must trust: ``orgs.consent``)."""

from __future__ import annotations

from importlib import import_module

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import GitHubLink, GroupMapping, SetupClaim
from orgs import consent, reporting
from orgs.models import Organization, Role, User
from orgs.services import organization_create, validate_role
from pipeline_secrets.core.errors import ConflictError, NotFoundError


@transaction.atomic
def first_admin_create(*, username: str, password: str, organization_name: str) -> User:
    """The first account of a fresh installation: an admin of a new organization.

    Only while no user exists at all; afterwards people are added by admins.
    """
    if User.objects.exists():
        raise ConflictError("This installation already has accounts; sign in instead.")
    # Two first-run submissions at once: the second insert waits for the first transaction
    # and then fails on the primary key, so only one admin is ever made.
    try:
        with transaction.atomic():
            SetupClaim.objects.create(pk=1)
    except IntegrityError:
        raise ConflictError("This installation already has accounts; sign in instead.") from None
    username = username.strip()
    if not username:
        raise ValidationError({"username": "This field may not be blank."})
    user = User(username=username, is_staff=True, is_superuser=True)
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from None
    user.set_password(password)
    user.save()
    organization_create(actor=user, name=organization_name, operator=True)
    return user


def verified_address(user: object) -> str:
    """Where a password reset link for ``user`` would go: a verified address, or ''."""
    address = (
        EmailAddress.objects.filter(user_id=getattr(user, "pk", None), verified=True)
        .order_by("-primary", "pk")
        .first()
    )
    return address.email if address is not None else ""


def end_other_sessions(*, user: User, keep: str | None) -> int:
    """Delete every stored session of ``user`` except ``keep``; returns how many ended.

    Django already refuses a session whose password hash is stale, but only when it is next
    used; deleting the sessions ends them at once. Sessions are not indexed by user, so the
    live ones are decoded one by one: cheap at this product's scale. Session engines without
    a database table (cache, signed cookies) fall back to Django's stale-hash check.
    """
    store_class = import_module(settings.SESSION_ENGINE).SessionStore
    if not hasattr(store_class, "get_model_class"):
        return 0
    live = (
        store_class.get_model_class()
        .objects.filter(expire_date__gt=timezone.now())
        .exclude(session_key=keep or "")
    )
    ended = 0
    for session in live.iterator():
        if session.get_decoded().get(SESSION_KEY) == str(user.pk):
            store_class(session.session_key).delete()  # also clears a cached copy
            ended += 1
    return ended


# --------------------------------------------------------------------------- directory links


@transaction.atomic
def github_link_set(
    *,
    actor: User,
    organization: Organization,
    github_org: str,
    default_role: str,
    team_roles: dict[str, str],
) -> GitHubLink | None:
    """Link the organization to a GitHub organization (an empty name removes the link)."""
    github_org = github_org.strip()
    validate_role(default_role)
    for slug, role in team_roles.items():
        if not slug or role not in Role.values:
            raise ValidationError({"team_roles": f"Unknown role {role!r} for team {slug!r}."})
    if github_org and not all(c.isalnum() or c == "-" for c in github_org):
        raise ValidationError({"github_org": "A GitHub organization name: letters, digits, -."})
    if github_org and not consent.github_org_trusted(github_org):
        raise ValidationError(
            {
                "github_org": f"The operator does not allow linking the GitHub organization "
                f"{github_org!r} here (GITHUB_TRUSTED_ORGS)."
            }
        )
    GitHubLink.objects.filter(organization=organization).delete()
    link = None
    if github_org:
        link = GitHubLink.objects.create(
            organization=organization,
            github_org=github_org,
            default_role=default_role,
            team_roles=team_roles,
        )
    reporting.audit(
        actor=actor.username,
        action="org.github_link",
        organization=organization,
        target_type="organization",
        target_id=organization.pk,
        target_name=github_org or "(none)",
        role=default_role,
    )
    return link


@transaction.atomic
def group_mapping_set(
    *, actor: User, organization: Organization, group: str, role: str
) -> GroupMapping:
    group = group.strip()
    if not group:
        raise ValidationError({"group": "This field may not be blank."})
    if len(group) > 200 or not group.isprintable():
        raise ValidationError({"group": "At most 200 printable characters."})
    if not consent.group_trusted(group):
        raise ValidationError(
            {
                "group": f"The operator does not allow mapping the directory group {group!r} "
                "here (LDAP_TRUSTED_GROUPS)."
            }
        )
    validate_role(role)
    mapping, _ = GroupMapping.objects.update_or_create(
        organization=organization, group=group, defaults={"role": role}
    )
    reporting.audit(
        actor=actor.username,
        action="org.group_mapping",
        organization=organization,
        target_type="group",
        target_id=mapping.pk,
        target_name=group,
        role=role,
    )
    return mapping


@transaction.atomic
def group_mapping_delete(*, actor: User, organization: Organization, mapping_id: int) -> None:
    mapping = GroupMapping.objects.for_org(organization).filter(pk=mapping_id).first()
    if mapping is None:
        raise NotFoundError("Group mapping not found.")
    reporting.audit(
        actor=actor.username,
        action="org.group_unmap",
        organization=organization,
        target_type="group",
        target_id=mapping.pk,
        target_name=mapping.group,
        role=mapping.role,
    )
    mapping.delete()
