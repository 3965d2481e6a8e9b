from django.urls import path

from myapp.consumers import NotesConsumer

websocket_urlpatterns = [path("ws/notes/", NotesConsumer.as_asgi())]
