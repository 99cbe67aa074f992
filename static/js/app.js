// Small behaviours on top of htmx: copy and download buttons, error alerts, focus after
// errors and swaps, "/" to search.
(function () {
  "use strict";

  function showAlert(text) {
    var region = document.getElementById("alerts");
    if (!region) return;
    var p = document.createElement("div");
    p.className = "flash error";
    p.setAttribute("role", "alert");
    p.textContent = text;
    region.replaceChildren(p);
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    try { document.execCommand("copy"); } finally { area.remove(); }
    return Promise.resolve();
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var holder = button.closest(".copyable");
    var source = holder && holder.querySelector(".secret-text");
    if (!source) return;
    var label = button.firstChild.nodeValue;
    copyText(source.textContent).then(function () {
      button.firstChild.nodeValue = "Copied";
      setTimeout(function () { button.firstChild.nodeValue = label; }, 1500);
    }, function () { showAlert("Copying failed: select the value and copy it by hand."); });
  });


  // Generated values are shown once: a download saves what the page shows, made in the
  // browser (nothing is fetched again).
  function save(name, text) {
    var url = URL.createObjectURL(new Blob([text], { type: "text/plain" }));
    var link = document.createElement("a");
    link.href = url;
    link.download = name;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 1000);
  }

  document.addEventListener("click", function (event) {
    var one = event.target.closest("[data-download]");
    if (one) {
      var source = one.closest(".copyable").querySelector(".secret-text");
      var text = source.textContent;
      save(one.getAttribute("data-download"), text.endsWith("\n") ? text : text + "\n");
      return;
    }
    var all = event.target.closest("[data-download-all]");
    if (!all) return;
    var parts = [];
    all.closest(".reveal-once").querySelectorAll(".generated .copyable").forEach(function (item) {
      var value = item.querySelector(".secret-text").textContent;
      parts.push("# " + item.querySelector("dt").textContent.trim() + "\n" + value + (value.endsWith("\n") ? "" : "\n"));
    });
    save(all.getAttribute("data-download-all"), parts.join("\n"));
  });

  // "/" moves to the page's search box, as on most sites, unless one is typing.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    var active = document.activeElement;
    if (active && (active.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName))) return;
    var search = document.querySelector("input[type=search]");
    if (!search) return;
    event.preventDefault();
    search.focus();
    search.select();
  });

  // A swapped-in control marked data-focus takes the focus (Reveal becomes Hide and back,
  // a tag removed leaves focus in the tag box) instead of dropping it to the page. Not the
  // autofocus attribute: the browser would focus the control as soon as it is inserted,
  // before htmx has wired it up, and an Enter pressed then would leave the page.
  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.target;
    if (!target.querySelector) return;
    var wanted = target.matches("[data-focus]") ? target : target.querySelector("[data-focus]");
    if (wanted && document.contains(wanted) && document.activeElement !== wanted) wanted.focus();
  });

  // The organization menu closes on a click elsewhere and on Escape.
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.switcher[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.removeAttribute("open");
    });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll("details.switcher[open]").forEach(function (menu) {
      menu.removeAttribute("open");
      menu.querySelector("summary").focus();
    });
  });

  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr.status;
    var text = {
      403: "Your role does not allow this.",
      404: "Not found: it may have been deleted, or you are no longer a member.",
    }[status] || "Something went wrong (" + status + "). Reload the page and try again.";
    showAlert(text);
  });

  document.addEventListener("htmx:sendError", function () {
    showAlert("The server could not be reached. Check your connection and try again.");
  });

  document.addEventListener("htmx:beforeRequest", function () {
    var region = document.getElementById("alerts");
    if (region) region.replaceChildren();
  });

  // After a form comes back with errors, move focus to the summary so it is read out.
  // (Classes of swapped elements are final only once htmx has settled them.)
  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.target;
    if (target.id === "form-errors" && target.classList.contains("shown")) target.focus();
    if (target.classList.contains("field-errors")) markField(target);
  });

  // An error slot filled (or emptied) by htmx marks its input as it would a page render.
  function markField(slot) {
    var invalid = slot.textContent.trim() !== "";
    var field = slot.closest(".field");
    if (field) field.classList.toggle("has-error", invalid);
    document.querySelectorAll("[aria-describedby~='" + slot.id + "']").forEach(function (input) {
      if (invalid) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
    });
  }
})();
