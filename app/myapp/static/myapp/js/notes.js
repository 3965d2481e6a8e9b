// Live notes over a websocket. Without an ASGI server the socket just fails to open and the
// page keeps working as a plain form; nothing is shown as an error.
(function () {
  "use strict";
  var status = document.getElementById("live-status");
  var list = document.getElementById("live-notes");
  if (!status || !list || !("WebSocket" in window)) {
    return;
  }
  var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
  var socket;
  try {
    socket = new WebSocket(scheme + window.location.host + "/ws/notes/");
  } catch (error) {
    return;
  }
  socket.addEventListener("open", function () {
    status.dataset.state = "on";
    status.textContent = "Live updates: on";
  });
  socket.addEventListener("close", function () {
    status.dataset.state = "off";
    status.textContent = "Live updates: off";
  });
  socket.addEventListener("message", function (message) {
    var note;
    try {
      note = JSON.parse(message.data);
    } catch (error) {
      return;
    }
    var item = document.createElement("li");
    item.textContent = note.text;
    list.insertBefore(item, list.firstChild);
  });
})();
