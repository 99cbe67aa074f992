"""Dashboard pages of dynamic database credentials: thin views over the services.

Viewers see connections, roles and installs; members issue credentials (the password is in
that one answer, never stored, cached or put in a message), see the live leases, revoke
them and install roles into clusters; admins add and delete connections and roles and
rotate a root credential away (after a confirmation: nobody knows it afterwards).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django_htmx.http import push_url

from clusters import selectors as cluster_selectors
from databases import credentials, installs, roles, selectors, services
from databases.forms import ConnectionForm, InstallForm, RoleForm
from databases.models import DatabaseConnection, DatabaseRole
from orgs import policy
from orgs.views import OrgView
from pipeline_secrets.core.errors import ConflictError, NotFoundError, UpstreamError
from pipeline_secrets.core.web import form_errors, is_htmx, redirect_to, render_page, time_context


def first_error(exc: ValidationError) -> str:
    """A service's refusal as one sentence (its field named when it is not the host)."""
    if not hasattr(exc, "error_dict"):
        return " ".join(exc.messages)
    return " ".join(
        message if key in ("host", "role", "preset") else f"{key}: {message}"
        for key, found in exc.message_dict.items()
        for message in found
    )


class DatabaseView(OrgView):
    section = "databases"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(time_context())
        for name, action in (
            ("may_manage", "database.manage"),
            ("may_issue", "database.credentials"),
            ("may_see_leases", "database.leases"),
            ("may_revoke", "database.revoke"),
            ("may_install", "database.install"),
        ):
            context[name] = policy.allows(self.membership, action)
        return context

    def get_connection(self, connection_id: int) -> DatabaseConnection:
        return selectors.connection_get(organization=self.organization, connection_id=connection_id)

    def get_role(self, role_id: int) -> DatabaseRole:
        return selectors.role_get(organization=self.organization, role_id=role_id)

    def confirm(self, status: int = 200, **extra: Any) -> HttpResponse:
        """A confirmation page: ``heading``, ``text``, ``action`` (POSTed), ``button`` and
        ``back``; ``error`` when the last try was refused."""
        context = self.get_context_data(**extra)
        return render_page(self.request, "databases/confirm.html", context, status=status)


class DatabaseListView(DatabaseView):
    """The org's connections, each with its roles."""

    policy_actions = {"GET": "database.list"}

    def get(self, request: HttpRequest, org_id: int) -> HttpResponse:
        connections = selectors.connection_list(organization=self.organization).prefetch_related(
            "roles"
        )
        context = self.get_context_data(connections=connections)
        return render_page(request, "databases/list.html", context)


class ConnectionCreateView(DatabaseView):
    """Add a connection: checked by OpenBao's engine, which keeps the root password."""

    policy_actions = {"GET": "database.manage", "POST": "database.manage"}
    page = "databases/connection_form.html"

    def get(self, request: HttpRequest, org_id: int) -> HttpResponse:
        return render_page(request, self.page, self.get_context_data(form=ConnectionForm()))

    def post(self, request: HttpRequest, org_id: int) -> HttpResponse:
        form = ConnectionForm(request.POST)
        if form.is_valid():
            try:
                row = services.connection_create(
                    actor=self.membership,
                    organization=self.organization,
                    given=form.connection_input(),
                )
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, f"Added connection {row.name}: the engine reached it.")
                return redirect_to(request, self.org_url("databases:connection", row.pk))
        return form_errors(request, self.page, self.get_context_data(form=form))


class ConnectionDetailView(DatabaseView):
    """A connection (never its password), its roles and the form that adds one."""

    policy_actions = {"GET": "database.list"}
    page = "databases/connection.html"

    def get(self, request: HttpRequest, org_id: int, connection_id: int) -> HttpResponse:
        return self.detail_response(self.get_connection(connection_id))

    def detail_response(
        self, connection: DatabaseConnection, *, status: int = 200, **extra: Any
    ) -> HttpResponse:
        context = self.get_context_data(connection=connection, **extra)
        context["roles"] = connection.roles.all()
        if context["may_manage"]:
            context.setdefault("role_form", RoleForm(connection=connection))
        return render_page(self.request, self.page, context, status=status)


class RoleCreateView(ConnectionDetailView):
    """Add a role to the connection (admins); errors are shown on the connection's page."""

    policy_actions = {"POST": "database.manage"}
    http_method_names = ["post"]  # inherits a page's GET, which cannot serve this URL

    def post(self, request: HttpRequest, org_id: int, connection_id: int) -> HttpResponse:
        connection = self.get_connection(connection_id)
        form = RoleForm(request.POST, connection=connection)
        if form.is_valid():
            try:
                role = roles.role_create(
                    actor=self.membership, connection=connection, given=form.role_input()
                )
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, f"Added role {role.name}.")
                return redirect_to(request, self.org_url("databases:role", role.pk))
        return self.detail_response(connection, role_form=form, status=400)


class RotateRootView(DatabaseView):
    """GET asks for confirmation; POST has the engine replace the root password by one
    that only it knows."""

    policy_actions = {"GET": "database.manage", "POST": "database.manage"}

    def get(self, request: HttpRequest, org_id: int, connection_id: int) -> HttpResponse:
        return self.rotate_page(self.get_connection(connection_id))

    def rotate_page(self, connection: DatabaseConnection, **extra: Any) -> HttpResponse:
        return self.confirm(
            heading=f"Rotate the root credential of {connection.name}?",
            text=(
                f"OpenBao sets a new password for {connection.username} that only it knows. "
                "This cannot be undone: nobody, this product's operators included, will know "
                "the password afterwards. Anything else that logs in as "
                f"{connection.username} stops working; give it a user of its own first."
            ),
            action=self.org_url("databases:rotate-root", connection.pk),
            button="Rotate the root credential",
            back=self.org_url("databases:connection", connection.pk),
            **extra,
        )

    def post(self, request: HttpRequest, org_id: int, connection_id: int) -> HttpResponse:
        connection = self.get_connection(connection_id)
        try:
            services.rotate_root(actor=self.membership, connection=connection)
        except ValidationError as exc:
            return self.rotate_page(connection, error=first_error(exc), status=400)
        messages.success(request, f"Rotated the root credential of {connection.name}.")
        return redirect_to(request, self.org_url("databases:connection", connection.pk))


class ConnectionDeleteView(DatabaseView):
    """GET asks for confirmation; POST removes a connection that has no roles."""

    policy_actions = {"GET": "database.manage", "POST": "database.manage"}

    def get(self, request: HttpRequest, org_id: int, connection_id: int) -> HttpResponse:
        return self.delete_page(self.get_connection(connection_id))

    def delete_page(self, connection: DatabaseConnection, **extra: Any) -> HttpResponse:
        return self.confirm(
            heading=f"Delete connection {connection.name}?",
            text="OpenBao forgets the connection and its root credential. "
            "A connection with roles cannot be deleted: delete its roles first.",
            action=self.org_url("databases:connection-delete", connection.pk),
            button=f"Delete {connection.name}",
            back=self.org_url("databases:connection", connection.pk),
            **extra,
        )

    def post(self, request: HttpRequest, org_id: int, connection_id: int) -> HttpResponse:
        connection = self.get_connection(connection_id)
        try:
            services.connection_delete(actor=self.membership, connection=connection)
        except ConflictError as exc:
            return self.delete_page(connection, error=exc.detail, status=409)
        messages.success(request, f"Deleted connection {connection.name}.")
        return redirect_to(request, self.org_url("databases:list"))


# --------------------------------------------------------------------------- roles


class RoleDetailView(DatabaseView):
    """A role, its live leases (members) with revoke, its installs and the install form."""

    policy_actions = {"GET": "database.list"}
    page = "databases/role.html"
    partial = "databases/partials/_role.html"

    def get(self, request: HttpRequest, org_id: int, role_id: int) -> HttpResponse:
        return self.role_response(self.get_role(role_id))

    def role_response(
        self, role: DatabaseRole, *, status: int = 200, private: bool = False, **extra: Any
    ) -> HttpResponse:
        context = self.get_context_data(role=role, connection=role.connection, **extra)
        if context["may_see_leases"]:
            context["leases"] = credentials.leases(actor=self.membership, role=role)
        context["installs"] = selectors.installs_of(role=role)
        if context["may_install"]:
            context.setdefault("install_form", InstallForm(organization=self.organization))
        return render_page(
            self.request, self.page, context, partial=self.partial, status=status, private=private
        )


class IssueView(RoleDetailView):
    """New credentials, shown in this answer only: no-store, and never put in a session,
    a message or a cache. An htmx request's address becomes the role page again, so
    reloading it shows the role, not the password."""

    policy_actions = {"POST": "database.credentials"}
    http_method_names = ["post"]

    def post(self, request: HttpRequest, org_id: int, role_id: int) -> HttpResponse:
        role = self.get_role(role_id)
        try:
            issued = credentials.issue(actor=self.membership, role=role)
        except ValidationError as exc:
            status = 200 if is_htmx(request) else 400  # htmx swaps only 2xx answers
            return self.role_response(role, issue_error=first_error(exc), status=status)
        response = self.role_response(
            role, issued=issued.lease, issued_password=issued.password, private=True
        )
        if is_htmx(request):
            return push_url(response, self.org_url("databases:role", role.pk))
        return response


class InstallView(RoleDetailView):
    """Install fresh credentials of the role into a namespace of one of the org's clusters."""

    policy_actions = {"POST": "database.install"}
    http_method_names = ["post"]

    def post(self, request: HttpRequest, org_id: int, role_id: int) -> HttpResponse:
        role = self.get_role(role_id)
        form = InstallForm(request.POST, organization=self.organization)
        if not form.is_valid():
            return self.role_response(role, install_form=form, status=400)
        data = form.cleaned_data
        status = 400
        try:
            cluster = cluster_selectors.cluster_get(
                organization=self.organization, cluster_id=int(data["cluster"])
            )
            results = installs.install(
                actor=self.membership,
                role=role,
                cluster=cluster,
                namespace=data["namespace"],
                workload_list=data["workloads"],
            )[1]
        except ValidationError as exc:
            form.add_service_errors(exc)
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
            status = 403
        except (ConflictError, NotFoundError) as exc:
            form.add_error(None, exc.detail)
        except UpstreamError as exc:
            form.add_error(None, f"The cluster could not be reached: {exc.detail}")
            status = 502
        else:
            failed = any(result.status == "failed" for result in results)
            return self.role_response(role, install_results=results, install_failed=failed)
        return self.role_response(role, install_form=form, status=status)


class RoleDeleteView(DatabaseView):
    """GET asks for confirmation; POST removes a role that is not installed (its live
    credentials are revoked)."""

    policy_actions = {"GET": "database.manage", "POST": "database.manage"}

    def get(self, request: HttpRequest, org_id: int, role_id: int) -> HttpResponse:
        return self.delete_page(self.get_role(role_id))

    def delete_page(self, role: DatabaseRole, **extra: Any) -> HttpResponse:
        return self.confirm(
            heading=f"Delete role {role.name} of {role.connection.name}?",
            text="The credentials it issued are revoked now: their database users are "
            "dropped. An installed role cannot be deleted: uninstall it first.",
            action=self.org_url("databases:role-delete", role.pk),
            button=f"Delete {role.name}",
            back=self.org_url("databases:role", role.pk),
            **extra,
        )

    def post(self, request: HttpRequest, org_id: int, role_id: int) -> HttpResponse:
        role = self.get_role(role_id)
        try:
            roles.role_delete(actor=self.membership, role=role)
        except ConflictError as exc:
            return self.delete_page(role, error=exc.detail, status=409)
        messages.success(request, f"Deleted role {role.name}.")
        return redirect_to(request, self.org_url("databases:connection", role.connection_id))


class LeaseRevokeView(DatabaseView):
    """Revoke issued credentials now (the database user is dropped); back to the role."""

    policy_actions = {"POST": "database.revoke"}
    http_method_names = ["post"]

    def post(self, request: HttpRequest, org_id: int, lease_id: str) -> HttpResponse:
        lease = credentials.lease_get(organization=self.organization, public_id=lease_id)
        back = self.org_url("databases:role", lease.role_id)
        try:
            credentials.revoke(
                actor=self.membership, organization=self.organization, public_id=lease_id
            )
        except ValidationError as exc:
            messages.error(request, first_error(exc).removeprefix("leaseId: "))
            return redirect_to(request, back)
        messages.success(request, f"Revoked {lease.username}: it can no longer log in.")
        return redirect_to(request, back)
