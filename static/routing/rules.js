// The rules page: drag a rule to a new place and the new order is saved. Without
// JavaScript the up and down buttons do the same, one step at a time.
(function () {
  "use strict";
  var body = document.querySelector("[data-reorder-url]");
  if (!body) return;
  var error = document.querySelector("[data-testid=reorder-error]");
  var dragged = null;

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function renumber() {
    body.querySelectorAll("tr[data-rule-id]").forEach(function (row, index, rows) {
      var cell = row.querySelector(".position");
      if (cell && cell.lastChild) cell.lastChild.textContent = " " + (index + 1);
      var up = row.querySelector("[data-testid=move-up]");
      var down = row.querySelector("[data-testid=move-down]");
      if (up) up.disabled = index === 0;
      if (down) down.disabled = index === rows.length - 1;
    });
  }

  function save() {
    var ids = Array.prototype.map.call(body.querySelectorAll("tr[data-rule-id]"), function (row) {
      return Number(row.dataset.ruleId);
    });
    body.setAttribute("aria-busy", "true");
    fetch(body.dataset.reorderUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrfToken()},
      body: JSON.stringify({ids: ids})
    }).then(function (response) {
      return response.json().then(function (answer) {
        if (!response.ok) throw new Error(answer.detail || response.statusText);
        error.hidden = true;
        body.dataset.savedOrder = answer.ids.join(",");
      });
    }).catch(function (problem) {
      // The page shows the order as it was saved, with why the new one was refused.
      error.textContent = problem.message;
      error.hidden = false;
      window.setTimeout(function () { window.location.reload(); }, 2500);
    }).finally(function () {
      body.removeAttribute("aria-busy");
    });
  }

  body.addEventListener("dragstart", function (event) {
    var row = event.target.closest("tr[draggable=true]");
    if (!row) return;
    dragged = row;
    row.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", row.dataset.ruleId);
  });

  body.addEventListener("dragover", function (event) {
    var row = event.target.closest("tr[data-rule-id]");
    if (!dragged || !row || row === dragged) return;
    event.preventDefault();
    var box = row.getBoundingClientRect();
    var after = event.clientY > box.top + box.height / 2;
    body.insertBefore(dragged, after ? row.nextSibling : row);
  });

  body.addEventListener("drop", function (event) {
    if (dragged) event.preventDefault();
  });

  body.addEventListener("dragend", function () {
    if (!dragged) return;
    dragged.classList.remove("dragging");
    dragged = null;
    renumber();
    var order = Array.prototype.map.call(body.querySelectorAll("tr[data-rule-id]"), function (row) {
      return row.dataset.ruleId;
    }).join(",");
    if (order !== body.dataset.savedOrder) save();
  });

  body.dataset.savedOrder = Array.prototype.map.call(
    body.querySelectorAll("tr[data-rule-id]"), function (row) { return row.dataset.ruleId; }
  ).join(",");
})();
