// Offline irrigation priority page: hover a park for details, click to highlight its table row.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("parks-data").textContent);
  var byId = {};
  data.forEach(function (p) { byId[p.park_id] = p; });
  var tip = document.getElementById("tip");
  var map = document.querySelector(".map");

  function text(p) {
    var rows = [p.name + (p.rank !== null ? " (rank " + p.rank + ")" : "")];
    rows.push(p.priority || p.status);
    rows.push(p.why);
    if (p.ndvi_anomaly !== null && p.ndvi_anomaly !== undefined) {
      rows.push("NDVI anomaly " + p.ndvi_anomaly.toFixed(2) + ", NDMI anomaly " +
        (p.ndmi_anomaly === null ? "n/a" : p.ndmi_anomaly.toFixed(2)));
    }
    if (p.clear_pct !== null) { rows.push("clear sky: " + p.clear_pct + " %"); }
    if (p.last_clear_date) { rows.push("last clear: " + p.last_clear_date); }
    return rows;
  }
  function show(evt, p) {
    tip.textContent = "";
    text(p).forEach(function (line, i) {
      var div = document.createElement("div");
      div.textContent = line;
      if (i === 0) { div.style.fontWeight = "bold"; }
      tip.appendChild(div);
    });
    var box = map.getBoundingClientRect();
    tip.style.left = (evt.clientX - box.left + 12) + "px";
    tip.style.top = (evt.clientY - box.top + 12) + "px";
    tip.style.display = "block";
  }
  function select(id) {
    document.querySelectorAll(".sel").forEach(function (el) { el.classList.remove("sel"); });
    document.querySelectorAll('[data-id="' + CSS.escape(id) + '"]').forEach(function (el) {
      el.classList.add("sel");
      if (el.tagName === "TR") { el.scrollIntoView({ block: "nearest" }); }
    });
  }
  document.querySelectorAll(".park").forEach(function (el) {
    var p = byId[el.getAttribute("data-id")];
    el.addEventListener("mousemove", function (evt) { show(evt, p); });
    el.addEventListener("mouseleave", function () { tip.style.display = "none"; });
    el.addEventListener("click", function () { select(p.park_id); });
  });
  document.querySelectorAll("tr[data-id]").forEach(function (row) {
    row.addEventListener("click", function () { select(row.getAttribute("data-id")); });
  });
})();
