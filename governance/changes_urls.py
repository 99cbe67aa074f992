from django.urls import path

from governance import changes_views

urlpatterns = [
    path(
        "orgs/<id:org_id>/change-requests/",
        changes_views.ChangeQueueView.as_view(),
        name="changes",
    ),
    path(
        "orgs/<id:org_id>/change-requests/<id:change_id>/",
        changes_views.ChangeDetailView.as_view(),
        name="change",
    ),
    path(
        "orgs/<id:org_id>/change-requests/<id:change_id>/approve/",
        changes_views.ChangeApproveView.as_view(),
        name="change-approve",
    ),
    path(
        "orgs/<id:org_id>/change-requests/<id:change_id>/reject/",
        changes_views.ChangeRejectView.as_view(),
        name="change-reject",
    ),
    path(
        "orgs/<id:org_id>/change-requests/<id:change_id>/withdraw/",
        changes_views.ChangeWithdrawView.as_view(),
        name="change-withdraw",
    ),
    path(
        "orgs/<id:org_id>/protection/",
        changes_views.ProtectionFormView.as_view(),
        name="protection",
    ),
]
