// The follower sync panel: "Sync followers" starts a job through the REST API and the
// row shows its progress (bar, counts, errors), polled every 2 s while it is under way.
// Without JavaScript the form posts to the page and a reload shows the progress.
(function () {
  "use strict";
  var panel = document.querySelector("[data-testid=sync-panel]");
  if (!panel) return;
  var problem = panel.querySelector("[data-testid=sync-error]");
  var ACTIVE = { queued: true, running: true, paused: true };

  function csrfToken() {
    var input = panel.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function field(row, name) { return row.querySelector("[data-field=" + name + "]"); }

  // The page's own sentences, translated server-side: "%(name)s" filled from values.
  function fill(format, values) {
    return format.replace(/%\((\w+)\)s/g, function (_all, name) { return values[name]; });
  }

  function show(row, job) {
    var bar = field(row, "bar");
    bar.value = job.percent;
    bar.textContent = job.percent + "%";
    field(row, "status").textContent = job.status_label + " · " + job.kind_label +
      (ACTIVE[job.status] ? " · " + job.phase_label : "");
    field(row, "counts").textContent = fill(panel.dataset.countsFormat, {
      listed: job.listed, total: job.list_total === null ? "?" : job.list_total,
      done: job.profiles_done, ptotal: job.profiles_total === null ? "?" : job.profiles_total,
    });
    var last = job.last_errors.length ? job.last_errors[job.last_errors.length - 1].message : "";
    field(row, "errors").textContent = job.errors_count ?
      fill(panel.dataset.errorsFormat, { n: job.errors_count, last: last }) : "";
    field(row, "reason").textContent = job.reason || "";
    var button = row.querySelector("[data-testid=sync-button]");
    if (button) button.disabled = !!ACTIVE[job.status];
  }

  function poll(row) {
    var url = row.dataset.syncUrl;
    if (!url) return;
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error(response.status);
        return response.json();
      })
      .then(function (job) {
        show(row, job);
        if (ACTIVE[job.status]) window.setTimeout(function () { poll(row); }, 2000);
      })
      .catch(function () { window.setTimeout(function () { poll(row); }, 2000); });
  }

  panel.querySelectorAll("form[data-sync-form]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var row = form.closest("tr");
      problem.hidden = true;
      fetch("/api/v1/follower-syncs/", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken(),
                   Accept: "application/json" },
        body: JSON.stringify({ account: Number(form.account.value), kind: form.kind.value }),
      }).then(function (response) {
        return response.json().then(function (body) { return { ok: response.ok, body: body }; });
      }).then(function (answer) {
        if (!answer.ok) {
          problem.textContent = answer.body.detail || JSON.stringify(answer.body);
          problem.hidden = false;
          return;
        }
        row.dataset.syncUrl = "/api/v1/follower-syncs/" + answer.body.id + "/";
        show(row, answer.body);
        window.setTimeout(function () { poll(row); }, 2000);
      });
    });
  });

  panel.querySelectorAll("tr[data-active]").forEach(poll);
})();
