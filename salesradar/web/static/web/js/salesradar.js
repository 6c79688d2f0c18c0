/* SalesRadar page glue: draw ECharts from data embedded with json_script, re-draw after htmx swaps. */
(function () {
  "use strict";
  var builders = {};
  var charts = [];

  function readJson(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  function draw(root) {
    (root || document).querySelectorAll("[data-chart]").forEach(function (el) {
      var build = builders[el.dataset.chart];
      if (!build || !window.echarts) { return; }
      var data = readJson(el.dataset.source);
      if (data === null) { return; }
      var old = window.echarts.getInstanceByDom(el);
      if (old) { old.dispose(); }
      var chart = window.echarts.init(el, null, { renderer: "svg" });
      chart.setOption(build(data, el));
      charts.push(chart);
    });
  }

  window.SalesRadar = {
    /** Register a function turning embedded data into an ECharts option for data-chart="name". */
    chart: function (name, build) { builders[name] = build; },
    readJson: readJson,
    draw: draw
  };

  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  /* "/" focuses the global search unless the person is typing somewhere already. */
  document.addEventListener("keydown", function (event) {
    var typing = /^(INPUT|TEXTAREA|SELECT)$/.test(event.target.tagName) || event.target.isContentEditable;
    var search = document.getElementById("global-search");
    if (event.key === "/" && !typing && search) { event.preventDefault(); search.focus(); }
  });
  document.addEventListener("htmx:afterSwap", function (event) { draw(event.target); });
  window.addEventListener("resize", function () {
    charts.forEach(function (chart) { if (!chart.isDisposed()) { chart.resize(); } });
  });
})();
