"""Registering an agent-mode cluster and setting what it may receive (its scope).

Invariants:
- an agent cluster has no kubeconfig: the server never contacts it, its agent calls in;
- its token is returned once, by the registration, and kept hashed (``tokens``);
- its scope is empty until an admin sets it (it receives nothing), and a change of scope
  tells the agent to reconcile, in the transaction of the change.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from clusters.agent import events, tokens
from clusters.agent.scope import clean_scope
from clusters.models import Cluster, empty_scope
from clusters.namespaces import audit_cluster, validate_label
from orgs import policy
from orgs.models import Organization
from pipeline_secrets.core.errors import ConflictError


def agent_cluster_create(
    *, actor: policy.Actor, organization: Organization, name: Any, scope: Any = None
) -> tuple[Cluster, str]:
    """Register an agent cluster (admins): the cluster and its agent's token, shown this
    once. ``scope`` absent: the empty scope. Errors on ``name`` and ``scope.<key>.<n>``;
    an existing name is a ConflictError."""
    policy.require(policy.standing_of(actor, organization), "cluster.manage")
    name = validate_label(name, "name")
    cleaned = empty_scope() if scope is None else clean_scope(scope)
    if Cluster.objects.for_org(organization).filter(name=name).exists():
        raise ConflictError(f"A cluster named {name!r} already exists in this organization.")
    cluster = Cluster(
        organization=organization,
        name=name,
        mode=Cluster.Mode.AGENT,
        scope=cleaned,
        created_by=policy.actor_name(actor),
    )
    raw = tokens.issue(cluster)
    try:
        with transaction.atomic():
            cluster.save(force_insert=True)
            audit_cluster(actor, "cluster.create", cluster, mode=cluster.mode, scope=cleaned)
    except IntegrityError:
        raise ConflictError(f"A cluster named {name!r} already exists.") from None
    return cluster, raw


def set_scope(*, actor: policy.Actor, cluster: Cluster, scope: Any) -> Cluster:
    """Replace what the agent cluster may receive (admins); errors on ``scope.<key>.<n>``,
    a kubeconfig cluster's scope is an error on ``scope``. Audited (``cluster.scope``); the
    agent is told to reconcile in the same transaction."""
    policy.require(policy.standing_of(actor, cluster.organization), "cluster.manage", cluster)
    if cluster.mode != Cluster.Mode.AGENT:
        raise ValidationError(
            {"scope": "Only agent clusters have a scope; this one is reached with a kubeconfig."}
        )
    cleaned = clean_scope(scope)
    with transaction.atomic():
        cluster.scope = cleaned
        cluster.save(update_fields=["scope"])
        audit_cluster(actor, "cluster.scope", cluster, scope=cleaned)
        events.emit(cluster, events.RECONCILE)
    return cluster
