"""The background job: queued by the web app in the database, run by a worker (`db_worker`,
what the kit's worker unit runs), its outcome read back through the web app."""

import uuid

import pytest
from django.core.management import call_command
from django.test import Client

from myapp.models import Digest, Note

# The worker claims jobs in transactions of its own.
pytestmark = pytest.mark.django_db(transaction=True)


def run_worker() -> None:
    """One worker pass: every ready job, then it exits (as a unit's worker would keep going)."""
    call_command("db_worker", batch=True, interval=0, no_startup_delay=True, verbosity=0)


def test_a_queued_digest_is_run_by_the_worker_and_read_back(client: Client) -> None:
    Note.objects.bulk_create([Note(text="one"), Note(text="two")])
    queued = client.post("/digests/")
    assert queued.status_code == 202
    job = queued.json()["id"]
    assert queued.json()["status"] == "READY"
    waiting = client.get(f"/digests/{job}").json()
    assert (waiting["status"], waiting["notes"]) == ("READY", None)

    run_worker()

    done = client.get(f"/digests/{job}").json()
    assert done["status"] == "SUCCESSFUL"
    assert done["notes"] == 2
    # The release that ran it: the directory the code was loaded from (here, the app's).
    assert done["release"] == "app"
    assert Digest.objects.get(task_id=job).started_at.isoformat() == done["started_at"]


def test_a_digest_needs_the_csrf_token() -> None:
    strict = Client(enforce_csrf_checks=True)
    assert strict.post("/digests/").status_code == 403
    token = strict.get("/").cookies["csrftoken"].value
    assert strict.post("/digests/", {"csrfmiddlewaretoken": token}).status_code == 202


@pytest.mark.parametrize("pause", ["-1", "121", "soon"])
def test_a_pause_outside_its_bounds_is_refused(client: Client, pause: str) -> None:
    refused = client.post("/digests/", {"pause": pause})
    assert refused.status_code == 400
    assert "pause" in refused.json()["errors"]


def test_an_unknown_job_is_not_found(client: Client) -> None:
    assert client.get(f"/digests/{uuid.uuid4()}").status_code == 404
    assert client.get("/digests/not-a-uuid").status_code == 404
