// The clerk's pages: the delivery form at the scale, member-card scanning, receipts,
// and the outbox. Every form works without this file (the server form and its receipt
// page); with it, and once this device is enrolled (offline.js), the delivery form works
// with or without a network: the finder searches the roster kept on the device, "Save
// and print" keeps the delivery in the outbox under the device's next receipt number and
// prints its receipt at once, and the outbox is sent in the background.
(function () {
  "use strict";

  const LANG = document.documentElement.lang || "es";
  const QUINTAL_G = { green: 46000, dry_parchment: 55200 };
  const USUAL_FORM = { coffee: "dry_parchment", cacao: "wet_beans" };
  const MAX_GROSS_G = 5000000;
  const off = () => window.TrackerOffline || null;
  const t = (key, values) => (off() ? off().t(key, values) : key);

  // -- numbers as clerks type them ---------------------------------------------------------

  // The same reading of a number as the server's (schemas.common.parse_decimal): a
  // decimal comma or point, Spanish or English thousands; returns "123.45" or null.
  function decimalText(text) {
    let s = String(text || "").trim().replace(/\s/g, "");
    if (!s) return null;
    if (s.indexOf(",") >= 0 && s.indexOf(".") >= 0) {
      s = s.lastIndexOf(",") > s.lastIndexOf(".") ? s.replace(/\./g, "").replace(",", ".") : s.replace(/,/g, "");
    } else if (/^\d{1,3}([.,])\d{3}(\1\d{3})+$/.test(s)) {
      s = s.replace(/[.,]/g, "");
    } else {
      s = s.replace(/,/g, ".");
    }
    return /^\d+(\.\d+)?$/.test(s) && s.length <= 30 ? s : null;
  }

  // A lone separator before three digits ("1.000", "1,500") where fewer than three
  // decimals are allowed: a thousand or a decimal? Refused, as the server refuses it.
  function ambiguous(text, places) {
    const s = String(text || "").trim().replace(/\s/g, "");
    return places < 3 && /^[1-9]\d{0,2}[.,]\d{3}$/.test(s) ? { typed: s, whole: s.replace(/[.,]/g, "") } : null;
  }

  // More decimals than are stored ("0,725" soles, "41,3005" kg): the server refuses them
  // (schemas.common.parse_decimal), so the phone must not round them into a figure the
  // clerk never typed.
  function tooPrecise(text, places) {
    const fraction = String(text).split(".")[1] || "";
    return fraction.replace(/0+$/, "").length > places;
  }

  // The server's words for too many decimals, carried by the form in the page's language
  // (templates/deliveries/new.html); an older page kept offline says "Not a number.".
  function decimalsMessage(form, places) {
    return (form && form.dataset["decimals" + places]) || t("not_number");
  }

  // Kilograms typed at the scale ("41,3", "1.234,5") as the server reads them, in grams;
  // NaN for what it refuses.
  function typedGrams(raw) {
    const text = decimalText(raw);
    return text && !tooPrecise(text, 3) ? scaled(text, 3) : NaN;
  }

  // "41.35" with 3 places -> 41350, rounded half up (as the server rounds).
  function scaled(text, places) {
    const [whole, fraction = ""] = text.split(".");
    const digits = (fraction + "0".repeat(places + 1)).slice(0, places + 1);
    let value = Number(whole) * 10 ** places + Number(digits.slice(0, places) || "0");
    if (Number(digits[places]) >= 5) value += 1;
    return value;
  }

  // numerator / denominator to `maxPlaces` decimals (trailing zeros dropped down to
  // `minPlaces`), rounded half to even and grouped as the server's receipt writes it
  // (Babel: formatting.weighing, quintales, money). Integer arithmetic: a float's 0,625
  // or 0,015 rounds the way its binary value falls, and Intl rounds ties up, so 34,5 kg of
  // parchment printed 0,63 qq on the phone and 0,62 qq on the server's receipt.
  function exact(numerator, denominator, minPlaces, maxPlaces) {
    if (!Number.isFinite(numerator) || !Number.isFinite(denominator) || !denominator) return "";
    const n = BigInt(Math.round(numerator)) * 10n ** BigInt(maxPlaces);
    const d = BigInt(Math.round(denominator));
    let q = n / d;
    const twice = 2n * (n % d);
    if (twice > d || (twice === d && q % 2n === 1n)) q += 1n;
    let digits = q.toString().padStart(maxPlaces + 1, "0");
    let whole = digits.slice(0, digits.length - maxPlaces);
    let fraction = digits.slice(digits.length - maxPlaces);
    while (fraction.length > minPlaces && fraction.endsWith("0")) fraction = fraction.slice(0, -1);
    const signs = separators();
    whole = whole.replace(/\B(?=(\d{3})+(?!\d))/g, signs.group);
    return fraction ? whole + signs.decimal + fraction : whole;
  }

  // The server's signs (from the page, as formatting.separators gives them), else Intl's.
  function separators() {
    const given = off() && off().separators ? off().separators() : null;
    if (given && given.decimal) return given;
    const parts = new Intl.NumberFormat(LANG, { useGrouping: "always" }).formatToParts(1234.5);
    const part = (type, fallback) => (parts.find((x) => x.type === type) || {}).value || fallback;
    return { group: part("group", ","), decimal: part("decimal", ".") };
  }

  // The currency as the server's receipt writes it in this language: "S/" or "PEN".
  const currencySymbol = (code) => {
    const coop = (off() && info() && info().cooperative) || {};
    return (coop.symbols || {})[LANG.slice(0, 2)] || code || "";
  };
  const kgText = (grams) => (grams / 1000).toFixed(3);
  const moneyText = (minor) => (minor / 100).toFixed(2);
  const kg = (grams) => exact(grams, 1000, 1, 3);
  const money = (minor) => exact(minor, 100, 2, 2);
  const quintales = (grams, size) => exact(grams, size, 2, 2);
  const typedMoney = (text) => (LANG.startsWith("es") ? String(text).replace(".", ",") : String(text));
  const amountFor = (grams, perKg) => Math.floor((grams * perKg + 500) / 1000);

  // Today at the cooperative, as the server names it (vocabulary.local_today): the phone's
  // clock read at the cooperative's offset from UTC, whatever time zone the phone is set
  // to, so that an evening delivery is never dated tomorrow and refused as future.
  function coopOffset() {
    const field = document.getElementById("delivered_on");
    const offset = field ? Number(field.dataset.utcOffset) : NaN;
    return Number.isFinite(offset) ? offset : null;
  }

  function isoToday() {
    const offset = coopOffset();
    if (offset !== null) return new Date(Date.now() + offset * 60000).toISOString().slice(0, 10);
    const now = new Date();
    return now.getFullYear() + "-" + String(now.getMonth() + 1).padStart(2, "0") + "-" + String(now.getDate()).padStart(2, "0");
  }

  // When a receipt was recorded, on the cooperative's clock (the offset kept with it), as
  // the server's receipt writes it: a phone set to another zone printed its own hour.
  function recordedText(iso, offset) {
    const style = { dateStyle: "short", timeStyle: "short" };
    if (offset === null || offset === undefined || !Number.isFinite(Number(offset))) {
      return new Date(iso).toLocaleString(LANG, style);
    }
    return new Date(Date.parse(iso) + Number(offset) * 60000).toLocaleString(LANG, { ...style, timeZone: "UTC" });
  }

  // The receipt's footer as the server's receipt writes it (templates/deliveries/
  // _receipt.html): a delivery dated another day than it was recorded (a paper book typed
  // in the next morning) says both, "5/12/26 · registrado 6/12/26, 8:10"; `later` is the
  // template's "recorded %(moment)s" in the page's language.
  function recordedLine(r, later) {
    const moment = recordedText(r.recorded, r.utc_offset);
    const offset = r.utc_offset === null || r.utc_offset === undefined ? NaN : Number(r.utc_offset);
    if (!later || !Number.isFinite(offset) || !r.date) return moment;
    const recordedOn = new Date(Date.parse(r.recorded) + offset * 60000).toISOString().slice(0, 10);
    if (recordedOn === r.date) return moment;
    const [y, m, d] = String(r.date).split("-").map(Number);
    const day = new Date(y, m - 1, d).toLocaleDateString(LANG, { dateStyle: "short" });
    return day + " · " + later.split("%(moment)s").join(moment);
  }

  function dayText(iso) {
    const [y, m, d] = String(iso).split("-").map(Number);
    return new Date(y, m - 1, d).toLocaleDateString(LANG, { day: "numeric", month: "short", year: "numeric" });
  }

  function element(tag, attrs, children) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([name, value]) => {
      if (value === null || value === undefined || value === false) return;
      if (name === "text") node.textContent = value;
      else node.setAttribute(name, value === true ? "" : value);
    });
    (children || []).forEach((child) => node.append(child));
    return node;
  }

  // -- the form's live parts (server and offline alike) ------------------------------------

  // Net weight (and quintales for coffee priced that way) as the clerk types.
  function updateNet(root) {
    const gross = root.querySelector("[data-gross]");
    const tare = root.querySelector("[data-tare]");
    const out = root.querySelector("[data-net]");
    if (!gross || !out) return;
    // In grams, read as the server reads them and written as the receipt writes the net
    // (formatting.weighing): "1.234,5" typed is 1.234,5 kg, 41,25 − 0,2 is 41,05 kg.
    const net = typedGrams(gross.value) - (tare && tare.value.trim() ? typedGrams(tare.value) : 0);
    const shown = Number.isFinite(net) && net > 0;
    out.textContent = shown ? kg(net) : "—";
    const quintal = root.querySelector("[data-quintal]");
    const formSelect = root.querySelector("[data-form-select]");
    if (quintal && formSelect) {
      const grams = quintal.getAttribute("data-grams-" + formSelect.value);
      quintal.textContent = grams && shown ? quintales(net, Number(grams)) + " " + quintal.dataset.label : "";
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

  // "Price to be defined": no price is typed then.
  function syncPending(root) {
    const pending = root.querySelector("[data-price-pending]");
    if (!pending) return;
    ["price_per_kg", "price_per_quintal"].forEach((name) => {
      const input = root.querySelector("[name=" + name + "]");
      if (input) input.disabled = pending.checked;
    });
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
    const pending = root.querySelector("[data-price-pending]");
    if (pending) pending.addEventListener("change", () => syncPending(root));
    syncForms(root);
    syncPending(root);
    updateNet(root);
  }

  // The field after the family: the plot when the clerk must choose it, else the weight.
  function focusAfterFamily(root) {
    const choose = root.querySelector("#plot_id[data-choose]");
    const next = choose || root.querySelector("[data-autofocus]");
    if (next) next.focus();
  }

  // After a family is chosen (server path): clear the choices, show its code, go on.
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
    if (chosen) focusAfterFamily(target);
  });

  // A typeahead answer for what the finder held before is never shown (nor picked).
  document.addEventListener("htmx:beforeSwap", (event) => {
    const target = event.detail.target;
    const finder = document.getElementById("member_code");
    if (!target || target.id !== "family-choices" || !finder) return;
    const asked = new URL(event.detail.xhr.responseURL, location.href).searchParams.get("member_code");
    if (asked !== null && asked !== finder.value) event.detail.shouldSwap = false;
  });

  function chooseFamily(code) {
    const finder = document.getElementById("member_code");
    if (!finder || !window.htmx) return;
    finder.value = code;
    const url = finder.dataset.familyUrl + "?member_code=" + encodeURIComponent(code);
    window.htmx.ajax("GET", url, { target: "#delivery-fields", swap: "innerHTML" });
  }

  function enhanced() {
    const form = document.getElementById("delivery-form");
    return Boolean(form && form.hasAttribute("data-enhanced"));
  }

  function wireFinder() {
    const finder = document.getElementById("member_code");
    if (!finder) return;
    // Enter picks the family meant by what the finder holds now (a scanner "types" the
    // code and Enter faster than any answer comes back): never an earlier suggestion.
    finder.addEventListener("keydown", (event) => {
      if (event.key !== "Enter") return;
      event.preventDefault();
      const value = finder.value.trim();
      if (!value) return;
      if (enhanced()) {
        const found = off().best(value);
        if (found) chooseLocal(found);
        else showChoices(value, []);
        return;
      }
      const list = document.querySelector("#family-choices .choices");
      const first = list && list.dataset.q === finder.value ? list.querySelector(".choice") : null;
      if (first) first.click();
      else chooseFamily(value);
    });
    finder.addEventListener("input", () => {
      if (enhanced()) showChoices(finder.value, off().search(finder.value, 8));
    });
    // The roster on the device answers: no request per keystroke.
    document.body.addEventListener("htmx:beforeRequest", (event) => {
      if (enhanced() && event.detail.elt === finder) event.preventDefault();
    });
    wireScanner(finder);
  }

  // The camera scanner's script (376 KB) loads only when the clerk taps "Scan card".
  function loadScanner(src) {
    if (window.Html5Qrcode) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const script = element("script", { src });
      script.onload = resolve;
      script.onerror = reject;
      document.head.append(script);
    });
  }

  function wireScanner(finder) {
    const scan = document.querySelector("[data-scan]");
    const box = document.getElementById("scanner");
    const message = document.querySelector("[data-scan-msg]");
    const cameraUsable = window.isSecureContext && navigator.mediaDevices;
    if (!scan || !box || !cameraUsable) return;
    scan.hidden = false;
    let scanner = null;
    const stop = () => {
      if (scanner) scanner.stop().catch(() => {});
      scanner = null;
      box.hidden = true;
      if (message) message.hidden = true;
    };
    scan.addEventListener("click", async () => {
      if (scanner) { stop(); return; }
      try {
        await loadScanner(scan.dataset.scannerSrc);
      } catch (error) {
        return;
      }
      box.hidden = false;
      if (message) message.hidden = false;
      scanner = new window.Html5Qrcode("scanner");
      scanner.start({ facingMode: "environment" }, { fps: 10, qrbox: 220 }, (text) => {
        stop();
        const code = text.trim();
        if (enhanced()) {
          const found = off().best(code);
          finder.value = code;
          if (found) chooseLocal(found);
          else showChoices(code, []);
        } else {
          chooseFamily(code);
        }
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

  // -- the delivery form on this device (offline-first) -----------------------------------

  let fixing = null; // the outbox entry being fixed (its key), if any
  let priceTyped = false;

  function showChoices(query, found) {
    const box = document.getElementById("family-choices");
    if (!box) return;
    box.innerHTML = "";
    if (!query.trim()) return;
    if (!found.length) {
      box.append(element("p", { class: "muted small", role: "status", text: t("no_match", { q: query }) }));
      return;
    }
    const list = element("ul", { class: "choices", role: "listbox", "aria-label": t("families_found"), "data-q": query });
    found.forEach((family) => {
      const button = element("button", { type: "button", class: "choice secondary outline", role: "option" }, [
        element("strong", { text: family.code }), " " + family.name + " ",
        element("span", { class: "muted small", text: family.community }),
      ]);
      button.addEventListener("click", () => chooseLocal(family));
      list.append(element("li", { role: "none" }, [button]));
    });
    box.append(list);
  }

  function info() {
    return off().state.info;
  }

  function optionText(select, value) {
    const option = select && Array.from(select.options).find((o) => o.value === value);
    return option ? option.textContent.trim() : value;
  }

  function renderFamily(family) {
    const slot = document.getElementById("family-slot");
    if (!slot) return;
    slot.innerHTML = "";
    const card = element("article", { class: "family-chosen", "data-member-code": family.code }, [
      element("input", { type: "hidden", name: "family_id", value: family.id }),
      element("strong", { text: family.name }), " · " + family.code,
    ]);
    if (family.community) card.append(" · ", element("span", { class: "muted", text: family.community }));
    if (family.active === false) card.append(element("p", { class: "error", text: t("family_inactive") }));
    family.plots.filter((p) => p.protected).forEach((plot) => {
      card.append(element("p", { class: "small" }, [
        element("span", { class: "badge bad", text: t("protected_badge") }), " " + t("protected_plot", { name: plot.name }),
      ]));
    });
    slot.append(card);
  }

  function renderPlots(family, crop, chosenId) {
    const slot = document.getElementById("plot-slot");
    const cropSelect = document.getElementById("crop");
    if (!slot) return;
    slot.innerHTML = "";
    const mine = family.plots.filter((p) => p.crop === crop);
    const cropLabel = optionText(cropSelect, crop);
    if (mine.length > 1) {
      const last = (family.last[crop] || {}).plot;
      const wanted = chosenId || last || "";
      const select = element("select", { id: "plot_id", name: "plot_id", "data-choose": mine.some((p) => p.id === wanted) ? null : true });
      select.append(element("option", { value: "", text: "—" }));
      mine.forEach((plot) => select.append(element("option", { value: plot.id, "data-crop": plot.crop, text: plot.name + " (" + cropLabel + ")", selected: plot.id === wanted })));
      select.addEventListener("change", () => select.removeAttribute("data-choose"));
      slot.append(element("label", { for: "plot_id" }, [t("plot") + " ", select]));
    } else if (mine.length === 1) {
      slot.append(element("input", { type: "hidden", name: "plot_id", value: mine[0].id }));
      slot.append(element("p", { class: "small" }, [t("plot") + ": ", element("strong", { text: mine[0].name }), " (" + cropLabel + ")"]));
    } else {
      slot.append(element("p", { class: "error", text: t("no_plot") }));
    }
  }

  // The centre's price for the form in force on the delivery's date (the roster carries
  // today's and those already set for later days, each from its day); the earliest known
  // for a date before them all, as the server's form proposes today's.
  function priceOn(form) {
    const field = document.getElementById("delivered_on");
    const day = (field && field.value) || isoToday();
    const mine = (info().prices || []).filter((p) => p.form === form)
      .sort((a, b) => (String(a.day) < String(b.day) ? -1 : String(a.day) > String(b.day) ? 1 : 0));
    let found = null;
    mine.forEach((p) => { if (!p.day || p.day <= day) found = p; });
    return found || mine[0] || null;
  }

  // The centre's price for the form, unless the clerk typed one; never a leftover.
  function applyPrice(form, force) {
    const price = document.getElementById("price_per_kg");
    const premium = document.getElementById("premium_per_kg");
    if (!price || (priceTyped && !force)) return;
    const found = priceOn(form);
    price.value = found ? typedMoney(found.price_per_kg) : "";
    if (premium) premium.value = found && Number(found.premium_per_kg) ? typedMoney(found.premium_per_kg) : "";
  }

  // The date proposed is today at the cooperative, read when a delivery starts (the page
  // is loaded once and kept open from one day to the next); a date the clerk chose stays.
  // Returns whether the date shown changed.
  function freshDay() {
    const day = document.getElementById("delivered_on");
    if (!day) return false;
    const today = isoToday();
    const before = day.value;
    day.max = today;
    if (day.defaultValue !== today) {
      const chosen = day.value !== day.defaultValue;
      day.defaultValue = today;
      if (!chosen || day.value > today) day.value = today;
    }
    return day.value !== before;
  }

  function chooseLocal(family) {
    const fields = document.getElementById("delivery-fields");
    const finder = document.getElementById("member_code");
    const choices = document.getElementById("family-choices");
    if (!fields) return;
    freshDay();
    if (finder) finder.value = family.code;
    if (choices) choices.innerHTML = "";
    fields.removeAttribute("data-waiting");
    clearErrors();
    renderFamily(family);
    const crops = Array.from(new Set(family.plots.map((p) => p.crop)));
    const cropSelect = document.getElementById("crop");
    const formSelect = document.getElementById("form");
    let crop = cropSelect ? cropSelect.value : "";
    if (crops.length === 1 || !crops.includes(crop)) crop = crops[0] || crop;
    if (cropSelect && crop) cropSelect.value = crop;
    syncForms(fields);
    renderPlots(family, crop);
    const form = (family.last[crop] || {}).form || USUAL_FORM[crop];
    if (formSelect && form) formSelect.value = form;
    priceTyped = false;
    applyPrice(formSelect ? formSelect.value : form, true);
    updateNet(fields);
    focusAfterFamily(fields);
  }

  function clearErrors() {
    document.querySelectorAll("#delivery-form [data-offline-error]").forEach((node) => node.remove());
    document.querySelectorAll("#delivery-form [aria-invalid]").forEach((node) => {
      node.removeAttribute("aria-invalid");
      node.removeAttribute("aria-describedby");
    });
    const banner = document.querySelector("[data-offline-banner]");
    if (banner) banner.remove();
  }

  const FIELD_OF = { family_id: "member_code", plot_id: "plot_id", gross_kg: "gross_kg", tare_kg: "tare_kg" };

  function showErrors(errors) {
    clearErrors();
    const form = document.getElementById("delivery-form");
    const messages = [];
    let first = null;
    errors.forEach(({ field, message }) => {
      messages.push(message);
      const name = FIELD_OF[field] || field;
      const input = (/^[a-z_]+$/.test(name) && form.querySelector("[name=" + name + "]:not([type=hidden])")) ||
        (field === "plot_id" ? document.getElementById("plot-slot") : null);
      if (!input) return;
      const id = (input.id || field) + "-error";
      if (!document.getElementById(id)) {
        const note = element("small", { id, class: "error", "data-offline-error": true, text: message });
        (input.closest("label") || input).after(note);
      }
      if (input.matches("input, select")) {
        input.setAttribute("aria-invalid", "true");
        input.setAttribute("aria-describedby", id);
        if (!first) first = input;
      }
    });
    const banner = element("div", { class: "flash flash-error", role: "alert", "data-offline-banner": true }, [
      element("p", { text: fixing ? t("fix_banner") : t("check_fields") }),
      element("ul", {}, messages.map((m) => element("li", { text: m }))),
    ]);
    form.before(banner);
    if (first) first.focus();
  }

  // Gross and tare in grams, checked as the server checks them (`number` reads a field,
  // `add` names its error); undefined for too many decimals, already said.
  function weights(data, number, add) {
    const gross = number("gross_kg", data.get("gross_kg"), 3);
    const tare = number("tare_kg", data.get("tare_kg") || "0", 3);
    if (gross !== undefined && !(gross > 0 && gross <= MAX_GROSS_G)) add("gross_kg", "gross_range", { max: MAX_GROSS_G / 1000 });
    if (tare !== undefined && !(tare >= 0)) add("tare_kg", "not_number");
    else if (tare !== undefined && gross > 0 && tare >= gross) add("tare_kg", "tare_less");
    return { gross, tare };
  }

  // The form's values, checked as the server checks them; a payload for the API and what
  // the receipt prints, computed exactly as the server computes its amounts.
  function collect(form) {
    const data = new FormData(form);
    const errors = [];
    const add = (field, key, values) => errors.push({ field, message: key ? t(key, values) : values.text });
    // A number of `places` decimals typed in `field`, scaled; NaN (and the field's error
    // added) when it is a thousand-or-decimal puzzle.
    const number = (field, raw, places) => {
      const puzzle = ambiguous(raw, places);
      if (puzzle) {
        add(field, "thousands", puzzle);
        return undefined;
      }
      const text = decimalText(raw);
      if (text && tooPrecise(text, places)) {
        add(field, null, { text: decimalsMessage(form, places) });
        return undefined;
      }
      return text ? scaled(text, places) : NaN;
    };
    const family = off().family(data.get("family_id"));
    if (!family) add("family_id", "choose_family");
    else if (family.active === false) add("family_id", "family_inactive");
    const crop = data.get("crop") || "";
    const formValue = data.get("form") || "";
    let plotId = data.get("plot_id") || "";
    const plots = family ? family.plots.filter((p) => p.crop === crop) : [];
    if (family && !plotId) add("plot_id", plots.length ? "choose_plot" : "no_plot");
    const plot = family ? family.plots.find((p) => p.id === plotId) : null;
    const { gross, tare } = weights(data, number, add);
    let moisture = null;
    const moistureRaw = data.get("moisture_pct");
    if (moistureRaw && String(moistureRaw).trim()) {
      moisture = number("moisture_pct", moistureRaw, 1);
      if (moisture !== undefined && !(moisture >= 0 && moisture <= 1000)) add("moisture_pct", "moisture_range");
    }
    const grade = String(data.get("grade") || "").trim();
    if (grade.length > 20) add("grade", "at_most_20");
    const pending = data.get("price_pending") === "on";
    let perKg = 0;
    let perQuintal = null;
    const quintalRaw = String(data.get("price_per_quintal") || "").trim();
    if (!pending && quintalRaw) {
      perQuintal = number("price_per_quintal", quintalRaw, 2);
      if (perQuintal === undefined) perQuintal = NaN;
      else if (!(perQuintal > 0)) add("price_per_quintal", "not_number");
      else if (!QUINTAL_G[formValue]) add("price_per_quintal", "quintal_forms");
      else perKg = Math.floor((perQuintal * 1000 + Math.floor(QUINTAL_G[formValue] / 2)) / QUINTAL_G[formValue]);
    } else if (!pending) {
      perKg = number("price_per_kg", data.get("price_per_kg"), 2);
      if (perKg === undefined) perKg = 0;
      else if (!(perKg > 0)) add("price_per_kg", "price_required");
    }
    const premium = number("premium_per_kg", data.get("premium_per_kg") || "0", 2);
    if (premium !== undefined && !(premium >= 0)) add("premium_per_kg", "not_number");
    const day = data.get("delivered_on") || isoToday();
    if (day > isoToday()) add("delivered_on", "date_future");
    const paper = String(data.get("paper_receipt") || "").trim();
    if (errors.length) return { errors };
    const net = gross - tare;
    const amount = perQuintal ? Math.floor((net * perQuintal + Math.floor(QUINTAL_G[formValue] / 2)) / QUINTAL_G[formValue]) : amountFor(net, perKg);
    const payload = {
      family_id: family.id,
      plot_id: plotId || null,
      crop,
      form: formValue,
      delivered_on: day,
      gross_kg: kgText(gross),
      tare_kg: kgText(tare),
      grade,
      premium_per_kg: moneyText(premium),
      price_pending: pending,
    };
    if (moisture !== null) payload.moisture_pct = (moisture / 10).toFixed(1);
    if (perQuintal) payload.price_per_quintal = moneyText(perQuintal);
    else if (!pending) payload.price_per_kg = moneyText(perKg);
    if (paper) payload.paper_receipt = paper;
    // The moment this phone weighs it and prints the family's paper, sent with it: the
    // server keeps it (weighed_at) and its receipt says it, however late the outbox syncs.
    const recorded = new Date().toISOString();
    payload.weighed_at = recorded;
    const cropSelect = document.getElementById("crop");
    const formSelect = document.getElementById("form");
    const receipt = {
      coop: info().cooperative.name,
      currency: info().cooperative.currency,
      centre: info().centre.name,
      date: day,
      member_code: family.code,
      member_name: family.name,
      community: family.community,
      plot: plot ? plot.name : "",
      product: optionText(cropSelect, crop) + ", " + optionText(formSelect, formValue),
      gross_g: gross,
      tare_g: tare,
      net_g: net,
      quintal_g: QUINTAL_G[formValue] || null,
      moisture_dpct: moisture,
      grade,
      pending,
      price_minor: perKg,
      price_per_quintal_minor: perQuintal || null,
      amount_minor: pending ? 0 : amount,
      premium_per_kg_minor: premium,
      premium_minor: amountFor(net, premium),
      clerk: form.dataset.clerk || "",
      recorded,
      utc_offset: coopOffset(),
    };
    return { payload, receipt };
  }

  // -- receipts printed on this device ----------------------------------------------------

  function receiptNode(entry) {
    const template = document.getElementById("receipt-template");
    if (!template) return null;
    const node = template.content.firstElementChild.cloneNode(true);
    const r = entry.receipt;
    // Discarded by the clerk: its number is void, and a reprint says so.
    const discarded = entry.status === "discarded";
    const voidText = (node.querySelector("[data-slot=void_reason]") || { dataset: {} }).dataset.text || "%(reason)s";
    const values = {
      coop: r.coop,
      centre: r.centre,
      number: entry.number,
      date: dayText(r.date),
      member_code: r.member_code,
      member_name: r.member_name,
      community: r.community,
      plot: r.plot,
      product: r.product,
      gross: kg(r.gross_g),
      tare: kg(r.tare_g),
      net: kg(r.net_g),
      quintales: r.quintal_g ? quintales(r.net_g, r.quintal_g) : "",
      moisture: r.moisture_dpct === null || r.moisture_dpct === undefined ? "" : exact(r.moisture_dpct, 10, 1, 1),
      grade: r.grade,
      price: money(r.price_minor),
      price_per_quintal: r.price_per_quintal_minor ? money(r.price_per_quintal_minor) : "",
      amount: money(r.amount_minor),
      premium_per_kg: money(r.premium_per_kg_minor),
      premium: money(r.premium_minor),
      total: currencySymbol(r.currency) + "\u00a0" + money(r.amount_minor + r.premium_minor),
      clerk: r.clerk,
      recorded: recordedLine(r, (node.querySelector("[data-later]") || { dataset: {} }).dataset.later),
      void_reason: discarded ? voidText.split("%(reason)s").join(entry.discard_reason || "") : "",
    };
    node.querySelectorAll("[data-slot]").forEach((slot) => { slot.textContent = values[slot.dataset.slot] || ""; });
    const drop = {
      community: !r.community,
      quintales: !r.quintal_g,
      moisture: values.moisture === "",
      grade: !r.grade,
      priced: r.pending, // the total too: "to be defined", as the server's receipt
      per_quintal: r.pending || !r.price_per_quintal_minor,
      pending: !r.pending,
      premium: !r.premium_per_kg_minor,
      voided: !discarded,
    };
    node.querySelectorAll("[data-row]").forEach((row) => { if (drop[row.dataset.row]) row.remove(); });
    return node;
  }

  function printEntry(entry) {
    const area = document.getElementById("print-area");
    const node = receiptNode(entry);
    if (!area || !node) return;
    area.innerHTML = "";
    area.append(node);
    document.body.classList.add("print-receipt");
    window.print();
  }

  // A stored delivery is printed again as the cooperative keeps it now (a price set
  // afterwards, a correction, its claims): the server's receipt while there is a network;
  // the copy kept on the phone only without one.
  function printAgain(entry) {
    if (entry.status === "stored" && entry.delivery_id && navigator.onLine) {
      window.location.assign("/deliveries/" + encodeURIComponent(entry.delivery_id) + "/receipt?fresh=1");
    } else {
      printEntry(entry);
    }
  }

  window.addEventListener("afterprint", () => document.body.classList.remove("print-receipt"));

  // -- saving -------------------------------------------------------------------------------

  function savedNote(entry) {
    const note = document.querySelector("[data-saved-note]");
    if (!note) return;
    note.innerHTML = "";
    const reprint = element("button", { type: "button", class: "secondary outline", text: t("reprint") });
    reprint.addEventListener("click", () => printEntry(entry));
    note.append(element("p", { text: t(navigator.onLine ? "saved_online" : "saved_offline", { number: entry.number }) }), reprint);
    note.hidden = false;
  }

  // Each delivery typed on the form has its own idempotency key: the outbox keeps one
  // entry per key, so a double tap on "Save and print" keeps one delivery.
  function newFormKey(form) {
    const input = form.querySelector("[name=idempotency_key]");
    if (input) input.value = off().newKey();
  }

  function resetForm(form) {
    const fields = document.getElementById("delivery-fields");
    const day = document.getElementById("delivered_on");
    if (day) day.defaultValue = isoToday();
    form.reset();
    freshDay();
    newFormKey(form);
    ["family-slot", "plot-slot", "family-choices"].forEach((id) => {
      const node = document.getElementById(id);
      if (node) node.innerHTML = "";
    });
    if (fields) {
      fields.setAttribute("data-waiting", "");
      syncForms(fields);
      syncPending(fields);
      updateNet(fields);
    }
    fixing = null;
    priceTyped = false;
    if (new URLSearchParams(location.search).has("fix")) history.replaceState(null, "", location.pathname);
    const finder = document.getElementById("member_code");
    if (finder) finder.focus();
  }

  // One save at a time: a second tap while the first is being kept does nothing (the
  // button is disabled until the form is reset for the next delivery).
  let saving = false;

  // A refused delivery fixed on the form keeps the moment it was weighed, the one on the
  // paper the family took home, unless the server refused that moment (the phone's clock
  // was wrong, put right since) or the delivery's date now starts after it.
  async function keepWeighedMoment(result) {
    if (!fixing) return;
    const before = await off().entry(fixing);
    const moment = before && before.payload ? before.payload.weighed_at : null;
    if (!moment || (before.errors || []).some((e) => e.field === "weighed_at")) return;
    const offset = result.receipt.utc_offset;
    const day = offset === null ? null : new Date(Date.parse(moment) + offset * 60000).toISOString().slice(0, 10);
    if (day !== null && day < result.payload.delivered_on) return;
    result.payload.weighed_at = moment;
    result.receipt.recorded = moment;
  }

  async function submitOffline(form) {
    if (saving) return;
    const result = collect(form);
    if (result.errors) {
      showErrors(result.errors);
      return;
    }
    saving = true;
    const button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    try {
      await keepWeighedMoment(result);
      const key = (form.querySelector("[name=idempotency_key]") || {}).value || null;
      let entry;
      try {
        entry = fixing ? await off().update(fixing, result.payload, result.receipt) : await off().save(result.payload, result.receipt, key);
      } catch (error) {
        showErrors([{ field: "", message: t(error.message === "no-numbers" ? "no_numbers" : "not_saved") }]);
        return;
      }
      clearErrors();
      printEntry(entry);
      savedNote(entry);
      resetForm(form);
      off().sync();
    } finally {
      saving = false;
      if (button) button.disabled = false;
    }
  }

  async function loadFix(key) {
    const entry = await off().entry(key);
    if (!entry || entry.status !== "refused") return;
    const p = entry.payload;
    const family = off().family(p.family_id);
    fixing = key;
    if (family) chooseLocal(family);
    const set = (id, value) => {
      const input = document.getElementById(id);
      if (input && value !== undefined && value !== null) input.value = value;
    };
    set("crop", p.crop);
    syncForms(document.getElementById("delivery-fields"));
    if (family) renderPlots(family, p.crop, p.plot_id);
    set("form", p.form);
    const typed = (text) => (text === undefined || text === null ? "" : typedMoney(String(Number(text))));
    set("gross_kg", typed(p.gross_kg));
    set("tare_kg", typed(p.tare_kg));
    set("moisture_pct", p.moisture_pct ? typedMoney(p.moisture_pct) : "");
    set("grade", p.grade);
    set("price_per_kg", p.price_per_kg ? typedMoney(p.price_per_kg) : "");
    set("price_per_quintal", p.price_per_quintal ? typedMoney(p.price_per_quintal) : "");
    set("premium_per_kg", p.premium_per_kg ? typedMoney(p.premium_per_kg) : "");
    set("delivered_on", p.delivered_on);
    set("paper_receipt", p.paper_receipt || "");
    const pending = document.getElementById("price_pending");
    if (pending) pending.checked = Boolean(p.price_pending);
    priceTyped = true;
    const fields = document.getElementById("delivery-fields");
    syncPending(fields);
    updateNet(fields);
    showErrors((entry.errors || []).concat([{ field: "", message: t("fixing", { number: entry.number }) }]));
  }

  // The device saves every delivery under its own centre (its receipt numbers are that
  // centre's): where the form offers a choice of centre, it shows the device's instead.
  function deviceCentre() {
    const select = document.getElementById("centre");
    const template = document.getElementById("device-centre-template");
    const centre = info().centre;
    if (!select || !template || !centre) return;
    const note = template.content.firstElementChild.cloneNode(true);
    note.querySelectorAll("[data-slot=centre]").forEach((slot) => { slot.textContent = centre.name; });
    (select.closest("label") || select).replaceWith(note);
  }

  function showFreshness() {
    const node = document.querySelector("[data-roster-fresh]");
    if (!node || !off()) return;
    const text = off().freshness();
    node.textContent = text;
    node.hidden = !text;
  }

  async function enhanceForm(form) {
    if (!off()) return;
    const centreSelect = document.getElementById("centre");
    const context = {
      coop: form.dataset.coop,
      centre: form.dataset.centre || (centreSelect ? centreSelect.value : ""),
      enrolUrl: form.dataset.enrolUrl,
      outboxUrl: form.dataset.outboxUrl,
      formUrl: form.dataset.formUrl,
    };
    try {
      await off().start(context);
    } catch (error) {
      return;
    }
    showFreshness();
    setInterval(showFreshness, 60000);
    off().onChange(showFreshness);
    if (!(await off().usable())) return;
    form.setAttribute("data-enhanced", "");
    // The page kept for offline use carries the key and date it was fetched with: a key
    // of this device's own, and the phone's today (again when the tab comes back).
    newFormKey(form);
    freshDay();
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible" && freshDay()) applyPrice((document.getElementById("form") || {}).value || "", false);
    });
    deviceCentre();
    const day = document.getElementById("delivered_on");
    if (day) day.addEventListener("change", () => applyPrice((document.getElementById("form") || {}).value || "", false));
    const price = document.getElementById("price_per_kg");
    if (price) price.addEventListener("input", () => { priceTyped = true; });
    const formSelect = document.getElementById("form");
    if (formSelect) formSelect.addEventListener("change", () => applyPrice(formSelect.value, false));
    const cropSelect = document.getElementById("crop");
    if (cropSelect) {
      cropSelect.addEventListener("change", () => {
        const chosen = off().family((form.querySelector("[name=family_id]") || {}).value);
        if (chosen) renderPlots(chosen, cropSelect.value);
        applyPrice(formSelect ? formSelect.value : "", false);
      });
    }
    form.addEventListener("submit", (event) => {
      if (!form.hasAttribute("data-enhanced")) return;
      event.preventDefault();
      submitOffline(form);
    });
    const key = new URLSearchParams(location.search).get("fix");
    if (key) loadFix(key);
  }

  // -- the outbox page ------------------------------------------------------------------------

  let outboxSignature = null;

  function outboxItem(entry, root) {
    const r = entry.receipt || {};
    const item = element("li", { class: "outbox-item status-" + entry.status, "data-key": entry.key }, [
      element("p", {}, [
        element("strong", { text: entry.number }), " · " + (r.member_code || "") + " " + (r.member_name || "") + " · " + kg(r.net_g || 0) + " kg · " + (r.date ? dayText(r.date) : ""),
        " ", element("span", { class: "badge" + (entry.status === "refused" ? " bad" : entry.status === "pending" ? " warn" : ""), text: t("status_" + entry.status) }),
      ]),
    ]);
    if (entry.status === "pending" && entry.waiting_because) {
      item.append(element("p", { class: "small", "data-waiting-because": "", text: entry.waiting_because }));
    }
    if (entry.status === "refused" && entry.errors && entry.errors.length) {
      item.append(element("ul", { class: "errors" }, entry.errors.map((e) => element("li", { class: "error", text: e.message }))));
    }
    const actions = element("p", { class: "actions" });
    const reprint = element("button", { type: "button", class: "secondary outline", text: t("reprint") });
    reprint.addEventListener("click", () => printAgain(entry));
    actions.append(reprint);
    if (entry.status === "refused") {
      actions.prepend(element("a", { role: "button", href: root.dataset.formUrl + "?fix=" + encodeURIComponent(entry.key), text: t("fix") }));
    }
    if (entry.status === "stored" && entry.delivery_id) {
      actions.append(element("a", { href: "/deliveries/" + entry.delivery_id + "/receipt", text: t("see_delivery") }));
    }
    item.append(actions);
    if (entry.status === "refused") {
      const id = "discard-" + entry.key;
      const input = element("input", { id, name: "reason", required: true, maxlength: "500", placeholder: t("discard_placeholder") });
      const discard = element("form", { class: "resolve discard", novalidate: true }, [
        element("label", { for: id, class: "visually-hidden", text: t("discard_label", { number: entry.number }) }),
        input,
        element("button", { type: "submit", class: "secondary", text: t("discard") }),
      ]);
      discard.addEventListener("submit", async (event) => {
        event.preventDefault();
        const old = discard.querySelector(".error");
        if (old) old.remove();
        const reason = input.value.trim();
        if (!reason) {
          discard.append(element("small", { class: "error", text: t("discard_reason_required") }));
          input.focus();
          return;
        }
        try {
          await off().discard(entry.key, reason);
        } catch (error) {
          discard.append(element("small", { class: "error", role: "alert", text: t("discard_failed", { problem: error.message }) }));
        }
      });
      item.append(discard);
    }
    if (entry.status === "discarded") item.append(element("p", { class: "small", text: t("discarded_because", { reason: entry.discard_reason || "" }) }));
    return item;
  }

  async function renderOutbox(root) {
    const all = (await off().entries()).filter((e) => e.coop === root.dataset.coop || !e.coop);
    const signature = all.map((e) => e.key + ":" + e.status + ":" + (e.waiting_because || "")).join("|");
    if (signature === outboxSignature) return;
    outboxSignature = signature;
    ["refused", "pending", "stored", "discarded"].forEach((status) => {
      const list = root.querySelector('[data-outbox-list="' + status + '"]');
      const heading = root.querySelector('[data-outbox-heading="' + status + '"]');
      const mine = all.filter((e) => e.status === status);
      if (status === "stored" || status === "discarded") mine.reverse();
      list.innerHTML = "";
      mine.forEach((entry) => list.append(outboxItem(entry, root)));
      heading.hidden = !mine.length;
    });
    const empty = root.querySelector("[data-outbox-empty]");
    if (empty) empty.hidden = all.some((e) => e.status === "pending" || e.status === "refused");
  }

  function wireOutbox(root) {
    if (!off()) return;
    off().ready.then(() => renderOutbox(root));
    off().onChange(() => renderOutbox(root));
    const now = root.querySelector("[data-sync-now]");
    if (now) now.addEventListener("click", () => off().sync());
  }

  // -- start ---------------------------------------------------------------------------------

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
    // "Save and print": the receipt page of a delivery just saved opens the print dialog.
    if (document.querySelector("[data-autoprint]")) window.print();
    const form = document.getElementById("delivery-form");
    if (form && form.hasAttribute("data-offline")) enhanceForm(form);
    const outbox = document.querySelector("[data-outbox]");
    if (outbox) wireOutbox(outbox);
  });
})();
