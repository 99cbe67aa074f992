"""Secret lifecycle reaches the clusters feature through secrets_app's hook registry. Each
hook the clusters app registers is tested by what it does: writes queue re-syncs
(test_clusters.py, test_tasks_durable.py), deletes queue removals (test_dashboard_bulk.py),
a kubeconfig in use cannot be deleted (test_clusters.py)."""

from __future__ import annotations

import pytest

from secrets_app import hooks
from tests.helpers import assert_problem
from tests.test_clusters import create_secret, secrets_url

pytestmark = pytest.mark.django_db


def test_a_veto_stops_the_delete_before_vault_is_touched(vault, personas, clients, monkeypatch):
    from pipeline_secrets.core.errors import ConflictError

    created = create_secret(clients["member"], personas.org.pk, "kept", "generic", {"k": "v"})

    def veto(*, organization, secret_id):
        raise ConflictError("Kept by a test.")

    monkeypatch.setattr(hooks, "BEFORE_DELETE", [veto])
    url = f"{secrets_url(personas.org.pk)}/{created['id']}"
    assert_problem(clients["member"].delete(url), 409)
    assert clients["member"].get(url).json()["values"] == {"k": "v"}
