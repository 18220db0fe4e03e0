// The lot-forming page (templates/lots/new.html): the running total of what is selected.
// Individual picks are summed here from each row's data; "all that match" shows the
// totals the server computed for the whole filter (every page). No inline script: CSP.
(function () {
  "use strict";

  function setup() {
    var form = document.getElementById("lot-form");
    var bar = document.getElementById("lot-total");
    if (!form || !bar) return;
    var output = document.getElementById("total-text");
    var scope = document.getElementById("scope-all");
    var picks = Array.prototype.slice.call(form.querySelectorAll("input.pick-one"));
    var lang = document.documentElement.lang || "es";
    var kgFormat = new Intl.NumberFormat(lang, { minimumFractionDigits: 1, maximumFractionDigits: 1, useGrouping: true });
    var qqFormat = new Intl.NumberFormat(lang, { minimumFractionDigits: 1, maximumFractionDigits: 1, useGrouping: true });
    var intFormat = new Intl.NumberFormat(lang, { useGrouping: true });
    var quintalG = parseInt(bar.dataset.quintalG || "0", 10);

    function grams(box) {
      // A typed kg for this lot counts instead of all that is left.
      var typed = form.querySelector('input[name="kg_' + box.value + '"]');
      var text = typed && typed.value.trim();
      if (text) {
        var value = parseFloat(text.replace(/\s/g, "").replace(/\.(?=\d{3}(\D|$))/g, "").replace(",", "."));
        if (!isNaN(value) && value >= 0) return Math.round(value * 1000);
      }
      return parseInt(box.dataset.leftG, 10) || 0;
    }

    function words(n, one, many) {
      return intFormat.format(n) + " " + (n === 1 ? bar.dataset[one] : bar.dataset[many]);
    }

    function show(deliveries, g, families) {
      var parts = [words(deliveries, "oneDelivery", "manyDeliveries"), kgFormat.format(g / 1000) + " kg"];
      if (quintalG) parts.push(qqFormat.format(g / quintalG) + " " + bar.dataset.qq);
      parts.push(words(families, "oneFamily", "manyFamilies"));
      output.textContent = parts.join(" · ");
    }

    function update() {
      var all = scope && scope.checked;
      picks.forEach(function (box) {
        box.disabled = !!all;
      });
      form.classList.toggle("all-selected", !!all);
      if (all) {
        show(
          parseInt(bar.dataset.allDeliveries, 10),
          parseInt(bar.dataset.allG, 10),
          parseInt(bar.dataset.allFamilies, 10)
        );
        return;
      }
      var g = 0;
      var count = 0;
      var families = {};
      picks.forEach(function (box) {
        if (!box.checked) return;
        count += 1;
        g += grams(box);
        families[box.dataset.family] = true;
      });
      show(count, g, Object.keys(families).length);
    }

    form.addEventListener("change", update);
    form.addEventListener("input", function (event) {
      if (event.target.classList.contains("kg")) update();
    });
    update();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setup);
  } else {
    setup();
  }
})();
