from channels.generic.websocket import AsyncJsonWebsocketConsumer

from myapp.signals import NOTES_GROUP


class NotesConsumer(AsyncJsonWebsocketConsumer):
    """Sends a message to the browser for every note created anywhere."""

    async def connect(self) -> None:
        if self.channel_layer is None:
            await self.close(code=4503)
            return
        await self.channel_layer.group_add(NOTES_GROUP, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if self.channel_layer is not None:
            await self.channel_layer.group_discard(NOTES_GROUP, self.channel_name)

    async def note_created(self, event: dict[str, object]) -> None:
        await self.send_json({key: value for key, value in event.items() if key != "type"})
