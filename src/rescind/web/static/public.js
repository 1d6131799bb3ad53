// Progressive enhancement of the public pages (a module script). Everything works without
// JavaScript: the quick-exit button is a link, the secret downloads from the server, the
// language buttons post the form; only hashing files on the device needs it.

// Quick exit: leave for a neutral site, replacing this page in the history so Back does not
// return here. Escape pressed twice (within a second) does the same.
(function () {
  "use strict";
  var exit = document.getElementById("quick-exit");
  if (!exit) { return; }
  var target = exit.getAttribute("data-url");
  var leaving = false;
  function leave(event) {
    if (event) { event.preventDefault(); }
    leaving = true;
    window.location.replace(target);
  }
  exit.addEventListener("click", leave);
  var lastEscape = 0;
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    var now = Date.now();
    if (now - lastEscape < 1000) { leave(event); }
    lastEscape = now;
  });
  window.rescindLeaving = function () { return leaving; };
})();

// The confirmation page: copy, print, and a warning before leaving an unsaved secret.
(function () {
  "use strict";
  var codes = document.getElementById("codes");
  if (!codes) { return; }
  var saved = false;
  function markSaved() { saved = true; }
  var copy = document.getElementById("copy-secret");
  if (copy && navigator.clipboard) {
    copy.hidden = false;
    copy.addEventListener("click", function () {
      navigator.clipboard.writeText(copy.getAttribute("data-text")).then(function () {
        markSaved();
        copy.textContent = copy.getAttribute("data-done");
      });
    });
  }
  var print = document.getElementById("print-secret");
  if (print) {
    print.hidden = false;
    print.addEventListener("click", function () { markSaved(); window.print(); });
  }
  var download = document.getElementById("download-secret");
  if (download) { download.addEventListener("click", markSaved); }
  var done = document.getElementById("secret-saved");
  if (done) { done.addEventListener("click", markSaved); }
  // Moving between this page's own forms (check my request) keeps the secret on this device.
  Array.prototype.forEach.call(document.querySelectorAll("form"), function (form) {
    form.addEventListener("submit", markSaved);
  });
  window.addEventListener("beforeunload", function (event) {
    if (saved || (window.rescindLeaving && window.rescindLeaving())) { return; }
    event.preventDefault();
    event.returnValue = codes.getAttribute("data-unsaved-warning");
    return event.returnValue;
  });
})();

// The request form: an "add another item" button (three rows are always there without it).
(function () {
  "use strict";
  var rows = document.getElementById("item-rows");
  var add = document.getElementById("add-item");
  if (!rows || !add) { return; }
  var max = parseInt(rows.getAttribute("data-max"), 10) || 20;

  function label(template, n) { return template.replace("%(n)s", String(n)); }

  function field(index, key, type, text) {
    var wrap = document.createElement("div");
    wrap.className = "field";
    var lab = document.createElement("label");
    lab.htmlFor = "items-" + index + "-" + key;
    lab.textContent = label(text, index + 1);
    var input = document.createElement("input");
    input.type = type;
    input.id = lab.htmlFor;
    input.name = "items[" + index + "]." + key;
    input.autocomplete = "off";
    input.maxLength = key === "url" ? 2048 : 255;
    wrap.appendChild(lab);
    wrap.appendChild(input);
    return wrap;
  }

  add.hidden = false;
  add.addEventListener("click", function () {
    var index = rows.querySelectorAll(".item-row").length;
    if (index >= max) { add.hidden = true; return; }
    var row = document.createElement("div");
    row.className = "item-row";
    row.setAttribute("data-index", String(index));
    row.appendChild(field(index, "url", "url", rows.getAttribute("data-label-url")));
    row.appendChild(field(index, "content_id", "text", rows.getAttribute("data-label-id")));
    ["pdq", "md5", "sha256"].forEach(function (kind) {
      var hidden = document.createElement("input");
      hidden.type = "hidden";
      hidden.id = "items-" + index + "-" + kind;
      hidden.name = "items[" + index + "]." + kind;
      row.appendChild(hidden);
    });
    rows.appendChild(row);
    row.querySelector("input").focus();
    if (index + 1 >= max) { add.hidden = true; }
  });

})();

(function () {
  "use strict";
  var summary = document.getElementById("error-summary") ||
    document.getElementById("withdraw-confirm");
  if (summary) { summary.focus(); }
})();

// The request form's file area (hashing on this device): loaded only where the form is.
(function () {
  "use strict";
  var area = document.getElementById("device-files");
  if (!area) { return; }
  import("./request-files.js").then(function (files) { files.enhance(area); });
})();
