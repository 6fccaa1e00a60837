// geospace operations dashboard: layer toggles, pan/zoom of the inline SVG map, hover and click
// details. Plain script, no library, no network.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("dash-data").textContent);
  var svg = document.getElementById("map");
  var tip = document.getElementById("tip");
  var info = document.getElementById("info");
  var box = svg.parentNode;

  function parse(text) { return text.split(/\s+/).map(Number); }
  var full = parse(svg.getAttribute("data-full"));
  var start = parse(svg.getAttribute("data-view"));
  var view = start.slice();
  function apply() { svg.setAttribute("viewBox", view.join(" ")); }

  function zoom(factor, cx, cy) {
    var w = view[2] * factor, h = view[3] * factor;
    if (w > full[2] * 3 || w < 20) { return; }
    view = [cx - (cx - view[0]) * factor, cy - (cy - view[1]) * factor, w, h];
    apply();
  }
  function toMap(evt) {
    var r = svg.getBoundingClientRect();
    var scale = Math.max(view[2] / r.width, view[3] / r.height);
    var ox = (r.width * scale - view[2]) / 2, oy = (r.height * scale - view[3]) / 2;
    return [view[0] - ox + (evt.clientX - r.left) * scale, view[1] - oy + (evt.clientY - r.top) * scale, scale];
  }
  svg.addEventListener("wheel", function (evt) {
    evt.preventDefault();
    var p = toMap(evt);
    zoom(evt.deltaY < 0 ? 0.8 : 1.25, p[0], p[1]);
  }, { passive: false });
  var drag = null;
  svg.addEventListener("pointerdown", function (evt) {
    drag = { x: evt.clientX, y: evt.clientY, v: view.slice(), s: toMap(evt)[2], moved: false };
  });
  window.addEventListener("pointermove", function (evt) {
    if (!drag) { return; }
    var dx = evt.clientX - drag.x, dy = evt.clientY - drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 3) { drag.moved = true; svg.classList.add("dragging"); }
    view = [drag.v[0] - dx * drag.s, drag.v[1] - dy * drag.s, drag.v[2], drag.v[3]];
    apply();
  });
  window.addEventListener("pointerup", function () {
    svg.classList.remove("dragging");
    setTimeout(function () { drag = null; }, 0);
  });
  function centre() { return [view[0] + view[2] / 2, view[1] + view[3] / 2]; }
  document.getElementById("zoom-in").addEventListener("click", function () { var c = centre(); zoom(0.7, c[0], c[1]); });
  document.getElementById("zoom-out").addEventListener("click", function () { var c = centre(); zoom(1.4, c[0], c[1]); });
  document.getElementById("zoom-subjects").addEventListener("click", function () { view = start.slice(); apply(); });
  document.getElementById("zoom-all").addEventListener("click", function () { view = full.slice(); apply(); });

  // The irrigation window slider: one window of the parks group shown at a time.
  var slider = document.getElementById("window-slider");
  var windows = slider ? JSON.parse(slider.getAttribute("data-windows")) : [];
  function showWindow() {
    if (!slider) { return; }
    var chosen = windows[+slider.value];
    var toggle = document.querySelector('input.toggle[data-layer="parks"]');
    document.getElementById("window-label").textContent = chosen;
    document.querySelectorAll('g[data-history="parks"]').forEach(function (g) {
      var on = (!toggle || toggle.checked) && g.getAttribute("data-window") === chosen;
      g.style.display = on ? "" : "none";
    });
  }
  if (slider) { slider.addEventListener("input", showWindow); }

  document.querySelectorAll("input.toggle").forEach(function (input) {
    input.addEventListener("change", function () {
      var key = input.getAttribute("data-layer");
      var show = input.checked ? "" : "none";
      document.querySelectorAll('g[data-layer="' + key + '"], g[data-labels="' + key + '"]').forEach(function (g) {
        g.style.display = show;
      });
      if (key === "parks") { showWindow(); }
    });
  });

  function details(el) {
    var layer = data[el.getAttribute("data-layer")] || {};
    return layer[el.getAttribute("data-id")];
  }
  function fill(target, d) {
    target.textContent = "";
    [d.name].concat(d.lines).concat(["(" + d.layer + ")"]).forEach(function (line) {
      var div = document.createElement("div");
      div.textContent = line;
      target.appendChild(div);
    });
  }
  document.querySelectorAll("g.product path.f").forEach(function (el) {
    el.addEventListener("mousemove", function (evt) {
      var d = details(el);
      if (!d || drag) { return; }
      fill(tip, d);
      var r = box.getBoundingClientRect();
      tip.style.left = (evt.clientX - r.left + 14) + "px";
      tip.style.top = (evt.clientY - r.top + 14) + "px";
      tip.style.display = "block";
    });
    el.addEventListener("mouseleave", function () { tip.style.display = "none"; });
    el.addEventListener("click", function () {
      if (drag && drag.moved) { return; }
      var d = details(el);
      if (!d) { return; }
      document.querySelectorAll("path.sel").forEach(function (p) { p.classList.remove("sel"); });
      el.classList.add("sel");
      info.classList.remove("muted");
      fill(info, d);
    });
  });
})();
