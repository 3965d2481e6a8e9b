"""The sample's background job, run by a worker through Django's tasks framework (Django 6's
django.tasks, or the django-tasks backport on 5.2) with the database backend (django-tasks-db):
the queue is a table in the app's own PostgreSQL, so a worker needs nothing the kit does not
already run."""

import time

from django.conf import settings
from django.utils import timezone

try:
    from django.tasks import task
    from django.tasks.exceptions import TaskResultDoesNotExist
except ImportError:  # Django 5.2: the backport
    from django_tasks import task
    from django_tasks.exceptions import TaskResultDoesNotExist

from myapp.models import Digest, Note

__all__ = ["TaskResultDoesNotExist", "digest_notes"]

# The longest pause a caller may ask for: enough to outlast a deploy, bounded all the same.
MAX_PAUSE = 120.0


@task(takes_context=True)
def digest_notes(context, pause: float = 0.0) -> dict[str, object]:
    """Counts the notes and records it with the release that ran the job. `pause` holds the
    worker that many seconds first (bounded by MAX_PAUSE): what a long job looks like to a
    deploy that must not kill it."""
    started_at = timezone.now()
    time.sleep(min(max(float(pause), 0.0), MAX_PAUSE))
    digest = Digest.objects.create(
        task_id=str(context.task_result.id),
        notes=Note.objects.count(),
        # BASE_DIR resolved: the release directory the running code was loaded from.
        release=settings.BASE_DIR.name,
        started_at=started_at,
    )
    return {"notes": digest.notes, "release": digest.release}
