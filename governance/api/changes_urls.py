from django.urls import path

from governance.api import changes

urlpatterns = [
    path("orgs/<id:org_id>/protection", changes.ProtectionView.as_view(), name="protection"),
    path("orgs/<id:org_id>/change-requests", changes.ChangeListView.as_view(), name="changes"),
    path(
        "orgs/<id:org_id>/change-requests/<id:change_id>",
        changes.ChangeDetailView.as_view(),
        name="change",
    ),
    path(
        "orgs/<id:org_id>/change-requests/<id:change_id>/approve",
        changes.ChangeApproveView.as_view(),
        name="change-approve",
    ),
    path(
        "orgs/<id:org_id>/change-requests/<id:change_id>/reject",
        changes.ChangeRejectView.as_view(),
        name="change-reject",
    ),
    path(
        "orgs/<id:org_id>/change-requests/<id:change_id>/withdraw",
        changes.ChangeWithdrawView.as_view(),
        name="change-withdraw",
    ),
]
