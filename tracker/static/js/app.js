// Progressive enhancement only: every page works without this file.
document.addEventListener("DOMContentLoaded", () => {
  // Ask before destructive actions (void, revoke): <form data-confirm="...">.
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
  // Prevent double submission: disable submit buttons once a form is sent.
  document.querySelectorAll("form[method=post]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      // Not when a script handled the submission itself (the offline delivery form).
      setTimeout(() => {
        if (!event.defaultPrevented) form.querySelectorAll("button[type=submit]").forEach((b) => { b.disabled = true; });
      }, 0);
    });
  });
});

// htmx requests carry the CSRF token like forms do.
document.addEventListener("htmx:configRequest", (event) => {
  const meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) event.detail.headers["X-CSRFToken"] = meta.content;
});

// Wide tables, one pattern for every staff page: a table sits in a <div class="table-scroll">
// (the pages write it; a bare table is wrapped here). A region that scrolls sideways can be
// focused and scrolled with the keyboard, is named after its table, says that it scrolls,
// and fades at the edge that has more columns; its first column stays put (app.css).
function tableRegions(root) {
  const body = document.body;
  root.querySelectorAll("main table").forEach((table) => {
    if (table.closest(".table-scroll, .receipt, [data-no-scroll]")) return;
    const wrap = document.createElement("div");
    wrap.className = "table-scroll";
    table.parentNode.insertBefore(wrap, table);
    wrap.appendChild(table);
  });
  root.querySelectorAll(".table-scroll").forEach((region) => {
    const table = region.querySelector("table");
    if (!table) return;
    if (!region.dataset.scrollReady) {
      region.dataset.scrollReady = "1";
      region.addEventListener("scroll", () => markScroll(region), { passive: true });
    }
    if (!region.hasAttribute("aria-label") && !region.hasAttribute("aria-labelledby")) {
      region.setAttribute("aria-label", tableName(table, region) || body.dataset.tableLabel || "");
    }
    markScroll(region);
  });
}

function tableName(table, region) {
  if (table.caption) return table.caption.textContent.trim();
  let before = region.previousElementSibling;
  for (let i = 0; before && i < 3; i += 1, before = before.previousElementSibling) {
    if (/^H[1-6]$/.test(before.tagName)) return before.textContent.trim();
  }
  const heading = region.closest("section, article, details")?.querySelector("h1, h2, h3, h4, summary");
  return heading ? heading.textContent.trim() : "";
}

function markScroll(region) {
  const wide = region.scrollWidth > region.clientWidth + 1;
  region.classList.toggle("is-scrollable", wide);
  region.classList.toggle("at-start", region.scrollLeft <= 1);
  region.classList.toggle("at-end", region.scrollLeft + region.clientWidth >= region.scrollWidth - 1);
  if (wide) {
    region.setAttribute("tabindex", "0");
    region.setAttribute("role", "region");
    region.dataset.scrollHint = document.body.dataset.scrollHint || "";
  } else if (region.getAttribute("tabindex") === "0") {
    region.removeAttribute("tabindex");
    region.removeAttribute("role");
  }
}

// The cooperative menu folds behind one button on a phone (app.css shows the button only there).
function foldMenu() {
  const menu = document.querySelector("[data-menu]");
  const button = menu?.querySelector("[data-menu-toggle]");
  if (!menu || !button) return;
  menu.classList.add("foldable");
  button.hidden = false;
  button.setAttribute("aria-expanded", "false");
  button.addEventListener("click", () => {
    const open = button.getAttribute("aria-expanded") !== "true";
    button.setAttribute("aria-expanded", String(open));
    menu.classList.toggle("open", open);
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && menu.classList.contains("open")) {
      menu.classList.remove("open");
      button.setAttribute("aria-expanded", "false");
      button.focus();
    }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  foldMenu();
  tableRegions(document);
  let pending = 0;
  window.addEventListener("resize", () => {
    cancelAnimationFrame(pending);
    pending = requestAnimationFrame(() => tableRegions(document));
  });
});
document.addEventListener("htmx:afterSettle", () => tableRegions(document));
