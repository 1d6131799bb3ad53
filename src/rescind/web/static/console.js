// Console behaviour: ticking countdowns, per-item media reveal, reason field only for rejects.
(function () {
  "use strict";

  function fmt(seconds) {
    var minutes = Math.floor(Math.abs(seconds) / 60);
    var m = minutes % 60;
    return Math.floor(minutes / 60) + "h " + (m < 10 ? "0" : "") + m + "m";
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll(".countdown[data-deadline]").forEach(function (el) {
      if (el.getAttribute("data-open") !== "1") { return; }
      var left = Math.round((Date.parse(el.getAttribute("data-deadline")) - now) / 1000);
      var label = left >= 0 ? el.getAttribute("data-left") : el.getAttribute("data-overdue");
      el.textContent = label.replace("%s", fmt(left));
      el.classList.toggle("overdue", left < 0);
    });
  }
  tick();
  window.setInterval(tick, 30000);

  document.querySelectorAll("button.reveal").forEach(function (button) {
    button.addEventListener("click", function () {
      var figure = document.getElementById(button.getAttribute("aria-controls"));
      var concealed = figure.classList.toggle("concealed");
      button.setAttribute("aria-pressed", concealed ? "false" : "true");
      button.textContent = button.getAttribute(concealed ? "data-show" : "data-hide");
    });
  });

  var reason = document.getElementById("reason-field");
  if (reason) {
    var sync = function () {
      var chosen = document.querySelector("input[name=outcome]:checked");
      reason.hidden = !(chosen && chosen.value === "reject");
    };
    document.querySelectorAll("input[name=outcome]").forEach(function (r) {
      r.addEventListener("change", sync);
    });
    sync();
  }
})();
