// Keyboard shortcuts for the Flare console. Everything they do is also a
// link or a form on the page; without this file the console works the same.
(function () {
  "use strict";
  function typing(e) {
    var t = e.target;
    return t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable);
  }
  var rows = Array.prototype.slice.call(document.querySelectorAll("#inbox tbody tr"));
  var sel = -1;
  function select(i) {
    if (!rows.length) return;
    if (sel >= 0) rows[sel].classList.remove("sel");
    sel = Math.max(0, Math.min(rows.length - 1, i));
    rows[sel].classList.add("sel");
    rows[sel].scrollIntoView({ block: "nearest" });
  }
  if (rows.length) select(0);
  function go(id) {
    var a = document.getElementById(id);
    if (a && a.href) window.location.href = a.href;
  }
  var statuses = ["new", "in-progress", "waiting", "referred", "resolved", "spam"];
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (typing(e)) {
      if (e.key === "Escape") e.target.blur();
      return;
    }
    var help = document.getElementById("help");
    switch (e.key) {
      case "?":
        if (help) help.hidden = !help.hidden;
        break;
      case "j":
        if (rows.length) select(sel + 1); else go("next");
        break;
      case "k":
        if (rows.length) select(sel - 1); else go("prev");
        break;
      case "Enter":
      case "o":
        if (rows.length && sel >= 0) {
          var a = rows[sel].querySelector("a.open");
          if (a) window.location.href = a.href;
        } else return;
        break;
      case "/":
        var q = document.getElementById("q");
        if (q) q.focus(); else return;
        break;
      case "u":
      case "Escape":
        if (help && !help.hidden) { help.hidden = true; break; }
        go("back");
        break;
      case "a":
        var f = document.getElementById("assign-form");
        if (f) f.submit(); else return;
        break;
      case "n":
        var n = document.getElementById("note");
        if (n) n.focus(); else return;
        break;
      default:
        var i = "123456".indexOf(e.key);
        var s = document.getElementById("status");
        var tf = document.getElementById("triage-form");
        if (i < 0 || !s || !tf || e.key === "") return;
        s.value = statuses[i];
        tf.submit();
    }
    e.preventDefault();
  });
})();
