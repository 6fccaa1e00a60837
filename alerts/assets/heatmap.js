// Offline heat bulletin: hover a district on the map for its figures; click it or its table row
// to select both.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("zone-data").textContent);
  var tip = document.getElementById("tip");
  var map = document.querySelector(".map");

  function show(evt, id) {
    var rows = data[id] || [];
    tip.textContent = "";
    rows.forEach(function (pair, i) {
      var div = document.createElement("div");
      div.textContent = pair[0] + ": " + (pair[1] === null ? "n/a" : pair[1]);
      if (i === 0) { div.style.fontWeight = "bold"; }
      tip.appendChild(div);
    });
    var box = map.getBoundingClientRect();
    tip.style.left = (evt.clientX - box.left + 12) + "px";
    tip.style.top = (evt.clientY - box.top + 12) + "px";
    tip.style.display = rows.length ? "block" : "none";
  }
  function select(id) {
    document.querySelectorAll(".sel").forEach(function (el) { el.classList.remove("sel"); });
    document.querySelectorAll('[data-id="' + CSS.escape(id) + '"]').forEach(function (el) {
      el.classList.add("sel");
    });
  }
  document.querySelectorAll(".zone").forEach(function (el) {
    var id = el.getAttribute("data-id");
    el.addEventListener("mousemove", function (evt) { show(evt, id); });
    el.addEventListener("mouseleave", function () { tip.style.display = "none"; });
    el.addEventListener("click", function () {
      select(id);
      var row = document.querySelector('tr[data-id="' + CSS.escape(id) + '"]');
      if (row) { row.scrollIntoView({ block: "nearest" }); }
    });
  });
  document.querySelectorAll("tr[data-id]").forEach(function (row) {
    row.addEventListener("click", function () { select(row.getAttribute("data-id")); });
  });
})();
