// The segment form's live count: whenever a condition changes, the form is counted as it
// stands (debounced, so typing sends one request), and the figures or the refusal show
// above it. Only the latest answer is shown, however the requests overtake each other.
(function () {
  "use strict";
  var form = document.querySelector("[data-count-url]");
  var box = document.querySelector("[data-testid=segment-count]");
  if (!form || !box) return;
  var figures = box.querySelector("[data-testid=segment-count-figures]");
  var took = box.querySelector("[data-testid=segment-count-ms]");
  var error = box.querySelector("[data-testid=segment-count-error]");
  var timer = null;
  var latest = 0;
  var DELAY = 300;

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (whole, name) {
      return name in values ? String(values[name]) : whole;
    });
  }

  function showErrors(errors) {
    form.querySelectorAll("[data-error-for]").forEach(function (slot) {
      var messages = errors[slot.dataset.errorFor];
      slot.textContent = messages ? messages.join(" ") : "";
      slot.hidden = !messages;
      slot.closest(".field").classList.toggle("has-error", Boolean(messages));
    });
    var general = [];
    Object.keys(errors).forEach(function (name) {
      if (!form.querySelector("[data-error-for=" + name + "]")) {
        general = general.concat(errors[name]);
      }
    });
    error.textContent = general.join(" ");
    error.hidden = general.length === 0;
  }

  function count() {
    var mine = ++latest;
    var body = new FormData(form);
    box.setAttribute("aria-busy", "true");
    took.textContent = box.dataset.counting;
    fetch(form.dataset.countUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: {"X-CSRFToken": body.get("csrfmiddlewaretoken") || ""},
      body: body
    }).then(function (response) {
      return response.json().then(function (answer) {
        if (mine !== latest) return;
        if (!response.ok) {
          showErrors(answer.errors || {__all__: [answer.detail || response.statusText]});
          figures.textContent = "—";
          took.textContent = "";
          return;
        }
        showErrors({});
        figures.textContent = fill(box.dataset.template, answer);
        took.textContent = fill(box.dataset.took, answer);
        box.dataset.followers = answer.followers;
      });
    }).catch(function (problem) {
      if (mine !== latest) return;
      error.textContent = problem.message;
      error.hidden = false;
    }).finally(function () {
      if (mine === latest) box.removeAttribute("aria-busy");
    });
  }

  function later() {
    window.clearTimeout(timer);
    timer = window.setTimeout(count, DELAY);
  }

  form.addEventListener("input", later);
  form.addEventListener("change", later);
  if (!figures.textContent.trim() || figures.textContent.trim() === "—") count();
})();
