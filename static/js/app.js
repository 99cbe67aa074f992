// Small behaviours on top of htmx: copy and download buttons, failures shown where the user
// acted, size limits checked before sending, focus after errors and swaps, "/" to search.
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

  // A request that fails is reported where the user acted: in the form's error summary (or
  // a note at the top of the form, or of the nearest section), and in the page's alert
  // region only when there is no such place.
  function mebibytes(bytes) {
    var mib = bytes / (1024 * 1024);
    return (mib >= 10 ? Math.round(mib) : Math.round(mib * 10) / 10) + " MiB";
  }

  function problemOf(xhr) {
    var type = xhr.getResponseHeader("Content-Type") || "";
    if (type.indexOf("json") === -1) return null;
    try { return JSON.parse(xhr.responseText); } catch (e) { return null; }
  }

  function failureText(xhr) {
    var status = xhr.status;
    var problem = problemOf(xhr) || {};
    if (status === 413) {
      var limit = problem.limit ? mebibytes(problem.limit) : "the limit";
      var size = problem.size ? "This is " + mebibytes(problem.size) + ": " : "";
      return "Too large to send. " + size + "a form may carry at most " + limit +
        ". Shorten the longest value (a file can go through the API instead).";
    }
    if (status === 403 && /CSRF/.test(xhr.responseText || "")) {
      return "This page is out of date (its form token expired). Reload it and try again.";
    }
    if (status === 403) return problem.detail || "Your role does not allow this.";
    if (status === 404) return "Not found: it may have been deleted, or you are no longer a member.";
    if (status === 429) return problem.detail || "Too many requests: wait a moment and try again.";
    if (status >= 400 && status < 500 && problem.detail) return problem.detail;
    return "Something went wrong (" + status + "). Reload the page and try again.";
  }

  // A form holds its own failures, except a one-button form inside a line of text or a
  // table cell: then that line or cell does.
  function failureHolder(elt) {
    if (!elt) return null;
    var form = elt.closest("form") || elt.form;
    if (form && !form.classList.contains("inline-form")) return form;
    return elt.closest("td, li, dd, .value-cell, fieldset, section, .card") || form;
  }

  function failureRegion(elt) {
    var holder = failureHolder(elt);
    if (!holder) return null;
    var summary = holder.tagName === "FORM" && holder.querySelector(".error-summary");
    if (summary) return summary;
    var note = holder.querySelector(":scope > .request-error");
    if (!note) {
      note = document.createElement("div");
      note.className = "request-error";
      note.setAttribute("tabindex", "-1");
      holder.prepend(note);
    }
    return note;
  }

  function showFailure(elt, text) {
    var region = failureRegion(elt);
    if (!region) { showAlert(text); return; }
    var line = document.createElement("p");
    var strong = document.createElement("strong");
    strong.textContent = "This was not done. ";
    line.append(strong, text);
    region.replaceChildren(line);
    region.classList.add("shown");
    region.setAttribute("role", "alert");
    region.focus({ preventScroll: false });
  }

  document.addEventListener("htmx:responseError", function (event) {
    showFailure(event.detail.elt, failureText(event.detail.xhr));
  });

  document.addEventListener("htmx:sendError", function (event) {
    showFailure(event.detail.elt, "The server could not be reached. Check your connection and try again.");
  });

  // An application error (a conflict, the secret store unavailable) is answered as an alert
  // for the page's alert region; it is shown where the user acted instead, when there is
  // such a place.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var detail = event.detail;
    if (!detail.shouldSwap || !detail.target || detail.target.id !== "alerts") return;
    if (!failureHolder(detail.elt)) return;
    var answer = new DOMParser().parseFromString(detail.serverResponse, "text/html");
    var alert = answer.querySelector(".flash.error");
    if (!alert) return;
    detail.shouldSwap = false;
    showFailure(detail.elt, alert.textContent.replace(/\s+/g, " ").trim());
  });

  // Forms that state a size limit (data-max-bytes) are measured before they are sent: the
  // largest field is named, and nothing is sent.
  function bytesOf(control) {
    if (control.type === "file") {
      var total = 0;
      for (var i = 0; i < control.files.length; i++) total += control.files[i].size;
      return total;
    }
    if ((control.type === "checkbox" || control.type === "radio") && !control.checked) return 0;
    return new TextEncoder().encode(control.value || "").length;
  }

  function oversize(form) {
    var limit = parseInt(form.getAttribute("data-max-bytes"), 10);
    if (!limit) return null;
    var total = 0, largest = null, most = -1;
    Array.prototype.forEach.call(form.elements, function (control) {
      if (!control.name || control.disabled) return;
      var size = bytesOf(control);
      total += size;
      if (size > most) { most = size; largest = control; }
    });
    return total > limit ? { total: total, limit: limit, field: largest } : null;
  }

  function refuseOversize(form, event) {
    var found = oversize(form);
    if (!found) return;
    event.preventDefault();
    var text = "Too large to send: " + mebibytes(found.total) + " in all, and a form may carry at most " +
      mebibytes(found.limit) + ". The largest value is " + mebibytes(bytesOf(found.field)) + ".";
    var slot = found.field.id && document.getElementById(found.field.id + "_error");
    if (slot) {
      var line = document.createElement("p");
      line.className = "error";
      line.textContent = "This value is " + mebibytes(bytesOf(found.field)) + ": too large to send.";
      slot.replaceChildren(line);
      markField(slot);
    }
    showFailure(form, text);
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    var form = elt.tagName === "FORM" ? elt : null;
    if (form && event.detail.requestConfig && event.detail.requestConfig.verb !== "get") {
      refuseOversize(form, event);
    }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.hasAttribute("hx-post") || form.hasAttribute("data-hx-post")) return;
    refuseOversize(form, event);
  });

  document.addEventListener("htmx:beforeRequest", function (event) {
    if (event.defaultPrevented) return;
    var region = document.getElementById("alerts");
    if (region) region.replaceChildren();
    var holder = failureHolder(event.detail.elt);
    var note = holder && holder.querySelector(":scope > .request-error");
    if (note) note.remove();
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
