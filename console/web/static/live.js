// The inbox reloads itself when a new tip arrives, and keeps its waiting
// times current. Without this file the inbox reloads every 30 seconds
// instead (a meta refresh in <noscript>).
(function () {
  "use strict";
  var table = document.getElementById("inbox");
  var marker = document.getElementById("live");
  if (!marker || !window.EventSource) return;
  function typing() {
    var t = document.activeElement;
    return t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT");
  }
  var pending = false;
  function reload() {
    if (typing()) {
      // Never pull the page from under someone typing a search.
      pending = true;
      var note = document.getElementById("new-tips");
      if (note) note.hidden = false;
      return;
    }
    window.location.reload();
  }
  document.addEventListener("focusout", function () {
    if (pending) setTimeout(function () { if (!typing()) window.location.reload(); }, 200);
  });
  var es = new EventSource("/events?after=" + encodeURIComponent(marker.getAttribute("data-newest") || ""));
  es.addEventListener("tips", function () {
    es.close();
    reload();
  });
  // Waiting times, kept current between reloads.
  function ago(ms) {
    var m = Math.floor(ms / 60000);
    if (m < 1) return "just now";
    if (m < 60) return m + " min ago";
    var h = Math.floor(m / 60);
    if (h < 48) return h + " h" + (m % 60 ? " " + (m % 60) + " min" : "") + " ago";
    return Math.floor(h / 24) + " days ago";
  }
  function tick() {
    if (!table) return;
    var cells = table.querySelectorAll("[data-at]");
    for (var i = 0; i < cells.length; i++) {
      var at = Date.parse(cells[i].getAttribute("data-at"));
      if (!isNaN(at)) cells[i].textContent = ago(Date.now() - at);
    }
  }
  setInterval(tick, 30000);
})();
