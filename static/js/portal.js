/* CPOR partner portal: small progressive enhancements; every page works without this file. */
(function () {
  "use strict";

  function focusErrors() {
    var summary = document.querySelector("[data-focus]");
    if (summary) { summary.focus(); }
  }

  function confirmations() {
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
      });
    });
  }

  /* Upload each chosen file with its own request and progress bar; reload when all are done. */
  function uploads() {
    document.querySelectorAll("form[data-upload]").forEach(function (form) {
      if (!window.FormData || !window.XMLHttpRequest) { return; }
      var input = form.querySelector("input[type=file]");
      var list = form.querySelector(".upload-progress");
      var token = form.querySelector("input[name=csrfmiddlewaretoken]");
      form.addEventListener("submit", function (event) {
        if (!input || !input.files || input.files.length === 0) { return; }
        event.preventDefault();
        var files = Array.prototype.slice.call(input.files);
        var failures = 0;
        list.innerHTML = "";
        form.querySelector("button[type=submit]").disabled = true;

        function next(index) {
          if (index >= files.length) {
            if (failures === 0) { window.location.reload(); }
            else { form.querySelector("button[type=submit]").disabled = false; }
            return;
          }
          var file = files[index];
          var item = document.createElement("li");
          var name = document.createElement("span");
          name.textContent = file.name;
          var bar = document.createElement("progress");
          bar.max = 100; bar.value = 0;
          bar.setAttribute("aria-label", file.name);
          var state = document.createElement("span");
          state.className = "state";
          item.appendChild(name); item.appendChild(bar); item.appendChild(state);
          list.appendChild(item);

          var body = new FormData();
          body.append("csrfmiddlewaretoken", token.value);
          body.append(input.name, file);
          var request = new XMLHttpRequest();
          request.open("POST", form.action);
          request.setRequestHeader("X-Requested-With", "XMLHttpRequest");
          request.upload.addEventListener("progress", function (e) {
            if (e.lengthComputable) { bar.value = Math.round((e.loaded / e.total) * 100); }
          });
          request.addEventListener("load", function () {
            var answer = {};
            try { answer = JSON.parse(request.responseText); } catch (ignored) { answer = {}; }
            if (request.status >= 200 && request.status < 300 && (answer.errors || []).length === 0) {
              bar.value = 100; state.className = "state done"; state.textContent = " ✓";
            } else {
              failures += 1; state.className = "state failed";
              state.textContent = " " + ((answer.errors || []).join(" ") || request.statusText);
            }
            next(index + 1);
          });
          request.addEventListener("error", function () {
            failures += 1; state.className = "state failed"; state.textContent = " ✗";
            next(index + 1);
          });
          request.send(body);
        }
        next(0);
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    focusErrors();
    confirmations();
    uploads();
  });
})();
