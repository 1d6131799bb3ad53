// Progressive enhancement of the request form: an "add another item" button.
// The form works without JavaScript (three item rows are always there).
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

  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
})();
