// The clerk's pages: the delivery form at the scale, member-card scanning, receipts.
// Progressive enhancement only: every form works without this file.
(function () {
  "use strict";

  function number(text) {
    // Kilograms as clerks type them: "41,3" or "41.3" (no thousands separators at a scale).
    if (!text) return NaN;
    return parseFloat(String(text).trim().replace(/\s/g, "").replace(",", "."));
  }

  function format(value, decimals) {
    return value.toLocaleString(document.documentElement.lang || "es", {
      minimumFractionDigits: decimals, maximumFractionDigits: decimals,
    });
  }

  // Net weight (and quintales for coffee priced that way) as the clerk types.
  function updateNet(root) {
    const gross = root.querySelector("[data-gross]");
    const tare = root.querySelector("[data-tare]");
    const out = root.querySelector("[data-net]");
    if (!gross || !out) return;
    const g = number(gross.value);
    const t = tare && tare.value ? number(tare.value) : 0;
    const net = g - t;
    out.textContent = isFinite(net) && net > 0 ? format(net, 1) : "—";
    const quintal = root.querySelector("[data-quintal]");
    const formSelect = root.querySelector("[data-form-select]");
    if (quintal && formSelect) {
      const grams = quintal.dataset["grams-" + formSelect.value] || quintal.getAttribute("data-grams-" + formSelect.value);
      quintal.textContent = grams && isFinite(net) && net > 0 ? format(net * 1000 / grams, 2) + " " + quintal.dataset.label : "";
    }
  }

  // Only the product forms of the chosen crop; a plot chosen sets its crop.
  function syncForms(root) {
    const crop = root.querySelector("[data-crop-select]");
    const formSelect = root.querySelector("[data-form-select]");
    if (!crop || !formSelect) return;
    let firstVisible = null;
    formSelect.querySelectorAll("option").forEach((option) => {
      const fits = !crop.value || option.dataset.crop === crop.value;
      option.hidden = !fits;
      option.disabled = !fits;
      if (fits && !firstVisible) firstVisible = option;
    });
    const selected = formSelect.selectedOptions[0];
    if ((!selected || selected.disabled) && firstVisible) formSelect.value = firstVisible.value;
  }

  function wireFields(root) {
    if (!root) return;
    root.querySelectorAll("[data-gross], [data-tare], [data-form-select]").forEach((input) => {
      input.addEventListener("input", () => updateNet(root));
      input.addEventListener("change", () => updateNet(root));
    });
    const crop = root.querySelector("[data-crop-select]");
    if (crop) crop.addEventListener("change", () => { syncForms(root); updateNet(root); });
    const plot = root.querySelector("#plot_id");
    if (plot && crop) {
      plot.addEventListener("change", () => {
        const option = plot.selectedOptions[0];
        if (option && option.dataset.crop) { crop.value = option.dataset.crop; syncForms(root); }
      });
    }
    syncForms(root);
    updateNet(root);
  }

  // After a family is chosen: clear the choices, show its code, go to the gross weight.
  document.addEventListener("htmx:afterSwap", (event) => {
    const target = event.detail.target;
    if (!target || target.id !== "delivery-fields") return;
    target.removeAttribute("data-waiting");
    wireFields(target);
    const chosen = target.querySelector("[data-member-code]");
    const finder = document.getElementById("member_code");
    const choices = document.getElementById("family-choices");
    if (chosen && finder) finder.value = chosen.dataset.memberCode;
    if (chosen && choices) choices.innerHTML = "";
    const first = target.querySelector("[data-autofocus]");
    if (chosen && first) first.focus();
  });

  function chooseFamily(code) {
    const finder = document.getElementById("member_code");
    if (!finder || !window.htmx) return;
    finder.value = code;
    const url = finder.dataset.familyUrl + "?member_code=" + encodeURIComponent(code);
    window.htmx.ajax("GET", url, { target: "#delivery-fields", swap: "innerHTML" });
  }

  function wireFinder() {
    const finder = document.getElementById("member_code");
    if (!finder) return;
    // Enter picks the first family found (a scanner "types" the code and Enter).
    finder.addEventListener("keydown", (event) => {
      if (event.key !== "Enter") return;
      event.preventDefault();
      const first = document.querySelector("#family-choices .choice");
      if (first) first.click();
      else if (finder.value.trim()) chooseFamily(finder.value.trim());
    });
    const scan = document.querySelector("[data-scan]");
    const box = document.getElementById("scanner");
    const message = document.querySelector("[data-scan-msg]");
    const cameraUsable = window.isSecureContext && navigator.mediaDevices && (window.BarcodeDetector || window.Html5Qrcode);
    if (!scan || !box || !cameraUsable) return;
    scan.hidden = false;
    let scanner = null;
    scan.addEventListener("click", () => {
      if (scanner) { scanner.stop().catch(() => {}); scanner = null; box.hidden = true; if (message) message.hidden = true; return; }
      if (!window.Html5Qrcode) return;
      box.hidden = false;
      if (message) message.hidden = false;
      scanner = new window.Html5Qrcode("scanner");
      scanner.start({ facingMode: "environment" }, { fps: 10, qrbox: 220 }, (text) => {
        scanner.stop().catch(() => {});
        scanner = null;
        box.hidden = true;
        if (message) message.hidden = true;
        chooseFamily(text.trim());
      }).catch(() => { box.hidden = true; scanner = null; });
    });
  }

  function wireToggles() {
    // <input data-toggle="ID"> shows the element with that id while checked.
    document.querySelectorAll("[data-toggle]").forEach((input) => {
      const target = document.getElementById(input.dataset.toggle);
      if (!target) return;
      const apply = () => { if (input.checked) target.removeAttribute("data-hidden"); else target.setAttribute("data-hidden", ""); };
      input.addEventListener("change", apply);
      apply();
    });
    // The plot form: show the point fields or the polygon fields.
    document.querySelectorAll("[data-location]").forEach((fieldset) => {
      const apply = () => {
        const chosen = fieldset.querySelector("input[name=location]:checked");
        fieldset.querySelectorAll("[data-when]").forEach((part) => {
          part.hidden = chosen && part.dataset.when !== chosen.value;
        });
      };
      fieldset.querySelectorAll("input[name=location]").forEach((radio) => radio.addEventListener("change", apply));
      apply();
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    const fields = document.getElementById("delivery-fields");
    // A new delivery starts with the family: the rest appears once it is chosen
    // (unless the page came back with errors to show).
    if (fields && !fields.querySelector("[data-member-code], [aria-invalid], .error")) {
      fields.setAttribute("data-waiting", "");
    }
    wireFields(fields || document.getElementById("correction"));
    wireFinder();
    wireToggles();
    document.querySelectorAll("[data-print]").forEach((button) => {
      button.addEventListener("click", () => window.print());
    });
  });
})();
