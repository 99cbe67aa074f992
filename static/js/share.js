// The public page of a one-time share link. The link's key is in its fragment (after #),
// which browsers never send: this script reads it, then reveals the values with one POST
// when the button is clicked (a page previewer that only loads the page uses nothing up).
(function () {
  "use strict";

  function show(id, text) {
    var node = document.getElementById(id);
    node.textContent = text;
    node.hidden = false;
  }

  function render(shared) {
    var list = document.getElementById("share-fields");
    var values = shared.values || {};
    Object.keys(values).sort().forEach(function (name) {
      var term = document.createElement("dt");
      var code = document.createElement("code");
      var detail = document.createElement("dd");
      term.textContent = name;
      code.className = "wrap";
      code.textContent = String(values[name]);
      detail.appendChild(code);
      list.appendChild(term);
      list.appendChild(detail);
    });
    document.getElementById("share-name").textContent = shared.secret || "";
    document.getElementById("share-values").hidden = false;
  }

  function reveal(form, event) {
    event.preventDefault();
    var button = form.querySelector("button");
    button.disabled = true;
    fetch(window.location.pathname, {
      method: "POST",
      headers: { "Accept": "application/json", "Content-Type": "application/json" },
      body: JSON.stringify({ token: form.elements.token.value }),
      credentials: "omit",
      referrerPolicy: "no-referrer",
    })
      .then(function (response) {
        return response.json().then(function (body) {
          return { ok: response.ok, body: body };
        });
      })
      .then(function (answer) {
        form.hidden = true;
        if (answer.ok) {
          render(answer.body);
        } else {
          show("share-error", answer.body.detail || "This link could not be opened.");
        }
      })
      .catch(function () {
        button.disabled = false;
        show("share-error", "The server could not be reached; try again.");
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("share-reveal");
    if (!form) {
      return;
    }
    var key = decodeURIComponent(window.location.hash.replace(/^#/, ""));
    if (key) {
      form.elements.token.value = key;
      document.getElementById("share-key-field").hidden = true;
    }
    form.addEventListener("submit", function (event) {
      reveal(form, event);
    });
  });
})();
