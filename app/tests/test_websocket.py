import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from myapp.models import Note
from myproject.asgi import application

# A browser always sends its page's origin; the validator refuses foreign ones.
BROWSER = [(b"host", b"localhost"), (b"origin", b"https://localhost")]


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_saved_note_is_pushed_to_connected_clients() -> None:
    first = WebsocketCommunicator(application, "/ws/notes/", headers=BROWSER)
    second = WebsocketCommunicator(application, "/ws/notes/", headers=BROWSER)
    try:
        assert (await first.connect())[0]
        assert (await second.connect())[0]
        note = await database_sync_to_async(Note.objects.create)(text="pushed")
        for client in (first, second):
            event = await client.receive_json_from(timeout=5)
            assert event["id"] == note.pk
            assert event["text"] == "pushed"
    finally:
        await first.disconnect()
        await second.disconnect()


@pytest.mark.asyncio
async def test_websocket_from_a_foreign_origin_is_refused() -> None:
    intruder = WebsocketCommunicator(
        application,
        "/ws/notes/",
        headers=[(b"host", b"localhost"), (b"origin", b"https://evil.example")],
    )
    connected, _ = await intruder.connect()
    assert not connected
