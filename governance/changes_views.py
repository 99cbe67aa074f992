"""Dashboard pages of protection and change requests: the queue, a request with its diff
and its buttons (POST, then back to the request), and the protection form (admins)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from governance import changes, changes_apply, protection
from governance.models import ChangeRequest
from orgs import policy
from orgs.views import OrgView
from pipeline_secrets.core.web import redirect_to, render_page


class ChangesView(OrgView):
    section = "changes"


class ChangeQueueView(ChangesView):
    """The org's change requests, pending first; ``?status=`` narrows them."""

    policy_actions = {"GET": "change.list"}

    def get(self, request: HttpRequest, org_id: int) -> HttpResponse:
        status = request.GET.get("status") or ChangeRequest.Status.PENDING
        if status not in ChangeRequest.Status.values:
            status = ""  # "all", or anything else
        found = changes.change_list(
            membership=self.membership, organization=self.organization, status=status or None
        )
        context = self.get_context_data(
            requests=found,
            status=status or "all",
            statuses=["all", *ChangeRequest.Status.values],
            may_protect=policy.allows(self.membership, "protection.manage"),
        )
        return render_page(request, "governance/changes_list.html", context)


class ChangeDetailView(ChangesView):
    """One request: what it changes (keys, tags; never a value) and its buttons."""

    policy_actions = {"GET": "change.list"}

    def get(self, request: HttpRequest, org_id: int, change_id: int) -> HttpResponse:
        item = changes.change_get(
            membership=self.membership, organization=self.organization, change_id=change_id
        )
        pending = item.status == ChangeRequest.Status.PENDING
        mine = item.requester_id == self.membership.user_id
        context = self.get_context_data(
            item=item,
            approvals=list(item.approvals.all()),
            required=protection.protection_of(self.organization).required_approvals,
            may_decide=pending and not mine and policy.allows(self.membership, "change.decide"),
            may_withdraw=pending and mine and policy.allows(self.membership, "change.withdraw"),
        )
        return render_page(request, "governance/changes_detail.html", context)


class ChangeDecisionView(ChangesView):
    """POST approve, reject or withdraw (``decision``), then back to the request."""

    http_method_names = ["post"]  # no page of its own
    decision = ""
    done = ""

    def post(self, request: HttpRequest, org_id: int, change_id: int) -> HttpResponse:
        steps = {
            "approve": changes_apply.change_approve,
            "reject": changes.change_reject,
            "withdraw": changes.change_withdraw,
        }
        item = steps[self.decision](
            membership=self.membership,
            organization=self.organization,
            change_id=change_id,
            now=timezone.now(),
        )
        messages.success(request, f"Change request #{item.pk}: {self.done} ({item.status}).")
        return redirect_to(request, self.org_url("governance:change", item.pk))


class ChangeApproveView(ChangeDecisionView):
    policy_actions = {"POST": "change.decide"}
    decision, done = "approve", "approved"


class ChangeRejectView(ChangeDecisionView):
    policy_actions = {"POST": "change.decide"}
    decision, done = "reject", "rejected"


class ChangeWithdrawView(ChangeDecisionView):
    policy_actions = {"POST": "change.withdraw"}
    decision, done = "withdraw", "withdrawn"


def _lines(text: str) -> list[str]:
    return [part.strip() for part in text.replace(",", "\n").splitlines() if part.strip()]


class ProtectionFormView(ChangesView):
    """The protection rule of the org (admins)."""

    policy_actions = {"GET": "protection.manage", "POST": "protection.manage"}

    def get(self, request: HttpRequest, org_id: int) -> HttpResponse:
        found = protection.as_json(protection.protection_of(self.organization))
        return self.page(request, found, {})

    def post(self, request: HttpRequest, org_id: int) -> HttpResponse:
        data: dict[str, Any] = {
            "tags": _lines(request.POST.get("tags", "")),
            "secrets": _lines(request.POST.get("secrets", "")),
            "scheduledRotation": request.POST.get("scheduledRotation", ""),
            "breakGlass": request.POST.get("breakGlass") == "on",
        }
        raw = request.POST.get("requiredApprovals", "")
        data["requiredApprovals"] = int(raw) if raw.isdigit() else raw
        try:
            protection.protection_set(
                membership=self.membership, organization=self.organization, data=data
            )
        except ValidationError as exc:
            return self.page(request, data, exc.message_dict, status=400)
        messages.success(request, "Protection saved.")
        return redirect_to(request, self.org_url("governance:protection"))

    def page(
        self,
        request: HttpRequest,
        data: dict[str, Any],
        problems: dict[str, list[str]],
        status: int = 200,
    ) -> HttpResponse:
        context = self.get_context_data(rule=data, problems=problems)
        return render_page(request, "governance/changes_protection.html", context, status=status)
