/* Deal board: drag a card onto a column to move the deal (native HTML drag and drop, posted
   through the vendored htmx). The card's own "Move to" menu does the same without a mouse. */
(function () {
  "use strict";
  var dragged = null;

  function post(card, stage) {
    var url = card.dataset.moveUrl;
    window.htmx.ajax("POST", url, {
      source: card,
      target: "#" + card.id,
      swap: "outerHTML",
      values: { to_stage: stage }
    });
  }

  document.addEventListener("dragstart", function (event) {
    var card = event.target.closest && event.target.closest("[data-move-url]");
    if (!card) { return; }
    dragged = card;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.id);
    card.classList.add("sr-dragging");
  });
  document.addEventListener("dragend", function () {
    if (dragged) { dragged.classList.remove("sr-dragging"); }
    document.querySelectorAll(".sr-drop-hover").forEach(function (el) { el.classList.remove("sr-drop-hover"); });
    dragged = null;
  });
  document.addEventListener("dragover", function (event) {
    var column = event.target.closest && event.target.closest("[data-column]");
    if (!column || !dragged) { return; }
    event.preventDefault();
    column.classList.add("sr-drop-hover");
  });
  document.addEventListener("dragleave", function (event) {
    var column = event.target.closest && event.target.closest("[data-column]");
    if (column && !column.contains(event.relatedTarget)) { column.classList.remove("sr-drop-hover"); }
  });
  document.addEventListener("drop", function (event) {
    var column = event.target.closest && event.target.closest("[data-column]");
    if (!column || !dragged) { return; }
    event.preventDefault();
    column.classList.remove("sr-drop-hover");
    if (column.dataset.column === dragged.dataset.stage) { return; }
    var card = dragged;
    column.querySelector(".sr-cards").prepend(card);
    post(card, column.dataset.column);
  });

  /* Saved views: the filters' query string kept under a name in this browser. */
  var KEY = "salesradar.board.views";
  function views() { try { return JSON.parse(localStorage.getItem(KEY)) || {}; } catch (e) { return {}; } }
  function renderViews() {
    var list = document.getElementById("saved-views");
    if (!list) { return; }
    list.innerHTML = "";
    Object.keys(views()).sort().forEach(function (name) {
      var link = document.createElement("a");
      link.className = "btn btn-sm";
      link.href = "?" + views()[name];
      link.textContent = name;
      list.appendChild(link);
    });
  }
  document.addEventListener("click", function (event) {
    var save = event.target.closest && event.target.closest("#save-view");
    if (!save) { return; }
    var name = window.prompt(save.dataset.prompt);
    if (!name) { return; }
    var all = views();
    all[name] = window.location.search.replace(/^\?/, "");
    localStorage.setItem(KEY, JSON.stringify(all));
    renderViews();
  });
  document.addEventListener("DOMContentLoaded", renderViews);
})();
