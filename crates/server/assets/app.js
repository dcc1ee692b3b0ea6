// WatchTower's dashboard: small enhancements over server-rendered pages that work without it.
(function () {
  "use strict";

  // Theme switch: system -> light -> dark -> system, remembered on this device.
  function currentTheme() {
    return document.documentElement.getAttribute("data-theme") || "system";
  }
  function showTheme(button) {
    var theme = currentTheme();
    button.textContent = "Theme: " + theme;
    button.setAttribute("aria-label", "Colour theme: " + theme + ". Change theme");
  }
  function setupThemeButton() {
    var button = document.getElementById("theme-toggle");
    if (!button) return;
    button.hidden = false;
    showTheme(button);
    button.addEventListener("click", function () {
      var next = { system: "light", light: "dark", dark: "system" }[currentTheme()];
      try {
        if (next === "system") localStorage.removeItem("watchtower-theme");
        else localStorage.setItem("watchtower-theme", next);
      } catch (e) { /* not remembered */ }
      if (next === "system") document.documentElement.removeAttribute("data-theme");
      else document.documentElement.setAttribute("data-theme", next);
      showTheme(button);
      drawCharts();
    });
  }

  // Monitor form: show only the chosen kind's fields (all are shown without JavaScript, and the
  // server reads only the chosen kind's).
  function setupKindFields() {
    var select = document.getElementById("field-kind");
    if (!select) return;
    function update() {
      var sets = document.querySelectorAll("fieldset[data-kind]");
      for (var i = 0; i < sets.length; i++) {
        var kinds = sets[i].getAttribute("data-kind").split(" ");
        var shown = kinds.indexOf(select.value) >= 0;
        sets[i].hidden = !shown;
        sets[i].disabled = !shown;
      }
    }
    select.addEventListener("change", update);
    update();
  }

  // Response-time chart from the JSON data block the server put in the page.
  var charts = [];
  function cssVar(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }
  function drawCharts() {
    if (typeof uPlot === "undefined") return;
    for (var c = 0; c < charts.length; c++) charts[c].destroy();
    charts = [];
    var holders = document.querySelectorAll("[data-series]");
    for (var i = 0; i < holders.length; i++) {
      var holder = holders[i];
      var source = document.getElementById(holder.getAttribute("data-series"));
      if (!source) continue;
      var data = JSON.parse(source.textContent);
      holder.textContent = "";
      var axis = { stroke: cssVar("--fg-muted"), grid: { stroke: cssVar("--border") }, ticks: { stroke: cssVar("--border") } };
      var width = Math.max(280, holder.clientWidth);
      if (holder.hasAttribute("data-phases")) {
        if (data.phases) charts.push(phaseChart(data, axis, width, holder));
        continue;
      }
      charts.push(new uPlot({
        width: width,
        height: 220,
        scales: { x: { time: true, range: [data.from, data.to] } },
        axes: [axis, Object.assign({ label: "ms" }, axis)],
        series: [
          {},
          { label: "average", stroke: cssVar("--accent"), width: 2, spanGaps: false },
          { label: "p95", stroke: cssVar("--degraded"), width: 1, dash: [4, 4], spanGaps: false }
        ]
      }, [data.t, data.avg, data.p95], holder));
    }
  }

  // The phases stacked: each line is the sum of its phase and those before it, drawn from the
  // top down so each fill covers only its own band; the legend shows the phase's own time.
  function phaseChart(data, axis, width, holder) {
    var phases = [
      ["DNS", "dns", "--phase-dns"],
      ["connect", "connect", "--phase-connect"],
      ["TLS", "tls", "--phase-tls"],
      ["first byte", "first_byte", "--phase-first-byte"]
    ];
    var running = data.t.map(function () { return 0; });
    var stacked = phases.map(function (phase) {
      var own = data.phases[phase[1]];
      running = running.map(function (sum, i) { return own[i] == null ? null : (sum || 0) + own[i]; });
      return { phase: phase, own: own, top: running };
    }).reverse();
    var series = [{}].concat(stacked.map(function (layer) {
      var colour = cssVar(layer.phase[2]);
      return {
        label: layer.phase[0], stroke: colour, fill: colour, width: 1, spanGaps: false,
        value: function (u, v, s, idx) { return idx == null || layer.own[idx] == null ? "-" : layer.own[idx] + " ms"; }
      };
    }));
    return new uPlot({
      width: width,
      height: 220,
      scales: { x: { time: true, range: [data.from, data.to] } },
      axes: [axis, Object.assign({ label: "ms" }, axis)],
      series: series
    }, [data.t].concat(stacked.map(function (layer) { return layer.top; })), holder);
  }

  // Times: shown in UTC by the server; with JavaScript, also in the reader's own time zone.
  function localiseTimes(root) {
    var times = (root || document).querySelectorAll("time[datetime]");
    for (var i = 0; i < times.length; i++) {
      var when = new Date(times[i].getAttribute("datetime"));
      if (!isNaN(when)) times[i].title = when.toLocaleString();
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    setupThemeButton();
    setupKindFields();
    drawCharts();
    localiseTimes();
    var resizeTimer;
    window.addEventListener("resize", function () {
      clearTimeout(resizeTimer);
      resizeTimer = setTimeout(drawCharts, 200);
    });
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    localiseTimes(event.target);
  });
})();
