// ripcord console: live updates of an execution's page. The page follows
// the execution's server-sent events and, on each, fetches the
// server-rendered fragment again and swaps it in: what it shows is always
// what the server folds from the log, after a reload or a lost connection
// too. Without JavaScript the page is still correct; it just does not move.
(function () {
  "use strict";
  var root = document.getElementById("live");
  var status = document.getElementById("live-status");
  if (!root || !window.EventSource || !window.fetch) {
    if (status) status.textContent = "Live updates need JavaScript: reload the page to see the latest.";
    return;
  }
  var busy = false, again = false, last = null;
  function say(text) { if (status) status.textContent = text; }
  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch(root.dataset.fragment, { credentials: "same-origin", headers: { "Accept": "text/html" }, cache: "no-store" })
      .then(function (r) {
        if (r.status === 401) { window.location.assign("/console/signin"); return null; }
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.text();
      })
      .then(function (html) {
        if (html === null) return;
        if (html === last) { say("Live: up to date " + new Date().toLocaleTimeString() + "."); return; }
        last = html; // an unchanged fragment is not swapped: the node under a pointer stays
        var active = document.activeElement && document.activeElement.id;
        // What a person is typing (an approval's comment) survives the swap.
        var typed = {};
        root.querySelectorAll("textarea[id]").forEach(function (el) { typed[el.id] = el.value; });
        root.innerHTML = html;
        Object.keys(typed).forEach(function (id) {
          var el = document.getElementById(id);
          if (el && el.tagName === "TEXTAREA" && !el.value) el.value = typed[id];
        });
        if (active) {
          var el = document.getElementById(active);
          if (el) el.focus();
        }
        say("Live: updated " + new Date().toLocaleTimeString() + ".");
      })
      .catch(function () { say("Could not fetch the latest state; retrying on the next event."); })
      .then(function () {
        busy = false;
        if (again) { again = false; refresh(); }
      });
  }
  var es = new EventSource(root.dataset.events);
  es.onopen = function () { say("Live."); refresh(); }; // (re)connected: catch up
  es.onmessage = refresh;
  es.onerror = function () { say("Connection lost; reconnecting…"); };
})();
