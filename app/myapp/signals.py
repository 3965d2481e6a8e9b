"""Pushes every new note to the websocket group, whichever process saved it."""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from myapp.models import Note

NOTES_GROUP = "notes"
logger = logging.getLogger(__name__)


def note_event(note: Note) -> dict[str, object]:
    return {
        "type": "note.created",
        "id": note.pk,
        "text": note.text,
        "created_at": note.created_at.isoformat(),
    }


def push(event: dict[str, object]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(NOTES_GROUP, event)
    except Exception:  # the note is saved; a push that fails must not fail the request
        logger.exception("could not push note %s to websocket clients", event.get("id"))


@receiver(post_save, sender=Note, dispatch_uid="myapp.push_new_note")
def push_new_note(sender: type[Note], instance: Note, created: bool, **kwargs: object) -> None:
    if created:
        event = note_event(instance)
        # Only once the row is committed, so a client that reloads sees it.
        transaction.on_commit(lambda: push(event))
