// The collection centre offline: this device's enrolment, the roster it carries, the
// receipt numbers it holds (a block of its centre's numbers, like a paper receipt book)
// and its outbox of deliveries, kept in IndexedDB (through `idb`) so that nothing is lost
// when the tab is closed, the browser restarts or the phone reboots.
//
// A delivery is saved to the outbox with its idempotency key and the receipt number
// printed on its paper; the outbox is sent in order whenever there is a network (and on
// the "Send now" button). Each one ends stored, or refused with its reason, and stays
// until the clerk fixes or discards it. The device's own token (not the login session)
// sends it, so an expired session loses nothing. Loaded on every page: it shows the
// count of deliveries waiting, and warns before a logout would leave them behind.
(function () {
  "use strict";

  const DB_NAME = "tracker-offline";
  const PAGES = "tracker-pages";
  const LOW = 25; // ask for a new block when fewer numbers than this are left
  const BLOCK = 50;
  const KEEP_SENT_MS = 3 * 24 * 3600 * 1000;
  const ROSTER_EVERY_MS = 10 * 60 * 1000;

  const TEXT = readText();
  const listeners = new Set();
  const state = {
    user: metaContent("tracker-user"),
    device: null,
    families: [],
    byId: new Map(),
    info: null,
    fetchedAt: null,
    syncing: false,
    progress: null,
  };

  // -- small helpers ---------------------------------------------------------------------

  function readText() {
    const node = document.getElementById("offline-text");
    try {
      return node ? JSON.parse(node.textContent) : {};
    } catch (error) {
      return {};
    }
  }

  function t(key, values) {
    return fill(TEXT[key] || key, values);
  }

  function fill(text, values) {
    Object.entries(values || {}).forEach(([name, value]) => {
      text = text.split("%(" + name + ")s").join(String(value));
    });
    return text;
  }

  // A counted message ({one, other} from web/offline.py): the singular for exactly one,
  // as Spanish and English both say it, and the count written as the server writes it
  // (tracker/formatting.py): "1 entrega pendiente", "2.500 entregas pendientes". A page
  // kept offline from before may still carry the message as one string: used as it is.
  function tn(key, n, values) {
    const forms = TEXT[key] || {};
    const text = (typeof forms === "string" ? forms : n === 1 ? forms.one : forms.other) || key;
    return fill(text, Object.assign({ n: count(n) }, values));
  }

  function count(n) {
    const group = (TEXT.number && TEXT.number.group) || ",";
    return String(Math.trunc(n)).replace(/\B(?=(\d{3})+(?!\d))/g, group);
  }

  function metaContent(name) {
    const node = document.querySelector('meta[name="' + name + '"]');
    return node ? node.content : null;
  }

  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID().replace(/-/g, "");
    return Date.now().toString(16) + Math.random().toString(16).slice(2);
  }

  function pad(seq) {
    return String(seq).padStart(6, "0");
  }

  function deviceName() {
    const ua = navigator.userAgent || "";
    const system = /Android/.test(ua) ? "Android" : /iPhone|iPad/.test(ua) ? "iOS" : /Windows/.test(ua) ? "Windows" : /Mac/.test(ua) ? "Mac" : /Linux/.test(ua) ? "Linux" : "";
    const browser = /Firefox\//.test(ua) ? "Firefox" : /Edg\//.test(ua) ? "Edge" : /Chrom(e|ium)\//.test(ua) ? "Chrome" : /Safari\//.test(ua) ? "Safari" : "";
    return [browser, system].filter(Boolean).join(" · ").slice(0, 60);
  }

  function fold(text) {
    return String(text || "").normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase().trim();
  }

  // -- the database ----------------------------------------------------------------------

  let opened = null;
  function db() {
    if (!window.idb) return Promise.reject(new Error("idb missing"));
    if (!opened) {
      opened = window.idb.openDB(DB_NAME, 1, {
        upgrade(base) {
          base.createObjectStore("devices", { keyPath: "id" });
          base.createObjectStore("meta", { keyPath: "key" });
          base.createObjectStore("families", { keyPath: "id" });
          base.createObjectStore("blocks", { keyPath: "id" }).createIndex("device", "device_id");
          base.createObjectStore("outbox", { keyPath: "key" }).createIndex("created", "created_at");
        },
      });
    }
    return opened;
  }

  async function persist() {
    // Ask the browser not to clear this site's storage when space runs low.
    if (navigator.storage && navigator.storage.persist) {
      try {
        await navigator.storage.persist();
      } catch (error) { /* not granted: IndexedDB still holds the outbox */ }
    }
  }

  // -- the device ------------------------------------------------------------------------

  async function findDevice(user, coop) {
    const all = await (await db()).getAll("devices");
    return all.find((d) => d.user_id === user && d.coop === coop && !d.revoked) || null;
  }

  async function api(device, method, path, body, key) {
    const headers = { Authorization: "Bearer " + device.token, Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (key) headers["Idempotency-Key"] = key;
    const response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
    });
    if (response.status === 401) {
      device.needs_login = true;
      await (await db()).put("devices", device);
      emit();
    }
    return response;
  }

  function isJson(response) {
    return (response.headers.get("Content-Type") || "").indexOf("json") >= 0;
  }

  // Enrol this device for the page's cooperative (or renew its token), online and
  // logged in only: the token comes back once and stays in IndexedDB.
  async function ensureDevice(context) {
    if (!state.user) return null;
    let device = await findDevice(state.user, context.coop);
    if (device && !device.needs_login) return device;
    if (!navigator.onLine) return device;
    const body = device ? { device_id: device.id } : { centre: context.centre || "", name: deviceName() };
    let response;
    try {
      response = await fetch(context.enrolUrl, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRFToken": metaContent("csrf-token") || "" },
        body: JSON.stringify(body),
        credentials: "same-origin",
        redirect: "manual",
      });
    } catch (error) {
      return device;
    }
    if (device && response.status === 409) {
      device.revoked = true; // revoked by a manager: its pending deliveries wait for one
      await (await db()).put("devices", device);
      device = null;
      return ensureDevice(context);
    }
    if (response.status !== 201 || !isJson(response)) return device;
    const found = await response.json();
    device = Object.assign(device || { created_at: Date.now() }, {
      id: found.device_id,
      name: found.name,
      token: found.token,
      user_id: state.user,
      coop: context.coop,
      needs_login: false,
    });
    const base = await db();
    await base.put("devices", device);
    await base.put("meta", { key: "current", device_id: device.id });
    await persist();
    emit();
    return device;
  }

  // Another person logged in on this phone: the pages and roster kept for the last one
  // go; their outbox stays and is still sent with their device's token.
  async function switchUser() {
    const base = await db();
    const current = await base.get("meta", "current");
    if (!current) return;
    const device = await base.get("devices", current.device_id);
    if (!device || device.user_id === state.user || !state.user) return;
    if (window.caches) await caches.delete(PAGES);
    const tx = base.transaction(["families", "meta"], "readwrite");
    await tx.objectStore("families").clear();
    await tx.objectStore("meta").delete("roster");
    await tx.objectStore("meta").delete("current");
    await tx.done;
    state.families = [];
    state.byId = new Map();
    state.info = null;
  }

  // Devices of people no longer logged in here, with nothing left to send: their unused
  // numbers are returned (so every number is accounted for), then they are forgotten.
  async function retireIdle() {
    if (!state.user || !navigator.onLine) return;
    const base = await db();
    const entries = await base.getAll("outbox");
    for (const device of await base.getAll("devices")) {
      if (device.user_id === state.user && !device.revoked) continue;
      if (entries.some((e) => e.device_id === device.id && (e.status === "pending" || e.status === "refused"))) continue;
      let done = true;
      for (const block of await base.getAllFromIndex("blocks", "device", device.id)) {
        if (block.next_seq > block.last_seq || device.revoked || device.needs_login) continue;
        try {
          const response = await api(device, "POST", "/api/v1/device/blocks/" + block.id + "/return",
            { from_seq: block.next_seq, reason: t("returned_reason") }, "return-" + block.id + "-" + block.next_seq);
          if (!response.ok) done = false;
        } catch (error) {
          done = false;
        }
      }
      if (!done) continue;
      const tx = base.transaction(["devices", "blocks", "outbox"], "readwrite");
      for (const block of await tx.objectStore("blocks").index("device").getAll(device.id)) {
        await tx.objectStore("blocks").delete(block.id);
      }
      // What it sent (or discarded) was that person's: not shown to the next one.
      for (const item of entries.filter((e) => e.device_id === device.id)) {
        await tx.objectStore("outbox").delete(item.key);
      }
      await tx.objectStore("devices").delete(device.id);
      await tx.done;
    }
  }

  // A device that no longer works while it still held deliveries printed and not sent (a
  // phone revoked by mistake, or found after it was reported lost; the phone of a clerk
  // who left): the device enrolled on this phone now takes over its receipt numbers on
  // the server, then its outbox and its blocks here, and sends them as its own. The
  // server allows it to the person who enrolled the old device, or to a manager;
  // otherwise they keep waiting.
  async function takeOver(device) {
    if (!device || device.needs_login || device.revoked || !navigator.onLine) return;
    const base = await db();
    const outbox = await base.getAll("outbox");
    for (const old of await base.getAll("devices")) {
      if (!(old.revoked || old.needs_login) || old.id === device.id || old.coop !== device.coop) continue;
      const held = outbox.filter((e) => e.device_id === old.id && (e.status === "pending" || e.status === "refused"));
      if (!held.length) continue;
      let response;
      try {
        response = await api(device, "POST", "/api/v1/device/takeover", { device_id: old.id }, "takeover-" + old.id + "-" + device.id);
      } catch (error) {
        return;
      }
      if (!response.ok) {
        // Refused (another person's phone, say): the entries wait, saying why.
        const body = isJson(response) ? await response.json() : null;
        if (response.status >= 400 && response.status < 500 && body && body.message) {
          const tx = base.transaction("outbox", "readwrite");
          for (const item of held) {
            const current = await tx.store.get(item.key);
            if (!current || current.device_id !== old.id || current.waiting_because === body.message) continue;
            current.waiting_because = body.message;
            await tx.store.put(current);
          }
          await tx.done;
          emit();
        }
        continue;
      }
      const tx = base.transaction(["outbox", "blocks"], "readwrite");
      for (const item of held) {
        const current = await tx.objectStore("outbox").get(item.key);
        if (!current || current.device_id !== old.id) continue;
        current.device_id = device.id;
        current.taken_over_from = old.id;
        delete current.waiting_because;
        await tx.objectStore("outbox").put(current);
      }
      // The old blocks come along to be given back once their deliveries are sent; the
      // phone never prints from them (a manager may have voided their numbers).
      for (const block of await tx.objectStore("blocks").index("device").getAll(old.id)) {
        block.device_id = device.id;
        block.taken_over = true;
        await tx.objectStore("blocks").put(block);
      }
      await tx.done;
    }
  }

  // Give back the numbers of blocks taken over that the old device never printed, once
  // nothing printed from them waits (so every number is accounted for), then forget them.
  async function returnTakenOver(device) {
    if (!device || device.needs_login || !navigator.onLine) return;
    const base = await db();
    const waiting = (await base.getAll("outbox")).filter((e) => e.status === "pending" || e.status === "refused");
    for (const block of await base.getAllFromIndex("blocks", "device", device.id)) {
      if (!block.taken_over) continue;
      if (waiting.some((e) => e.payload && e.payload.receipt_seq >= block.first_seq && e.payload.receipt_seq <= block.last_seq)) continue;
      if (block.next_seq <= block.last_seq) {
        let response;
        try {
          response = await api(device, "POST", "/api/v1/device/blocks/" + block.id + "/return",
            { from_seq: block.next_seq, reason: t("taken_over_reason") }, "return-" + block.id + "-" + block.next_seq);
        } catch (error) {
          return;
        }
        if (response.status >= 500 || response.status === 401 || response.status === 408 || response.status === 429) continue;
      }
      await base.delete("blocks", block.id);
    }
  }

  // -- the roster ------------------------------------------------------------------------

  function lastDigits(code) {
    const runs = String(code).match(/\d+/g);
    return runs ? runs[runs.length - 1] : "";
  }

  function indexFamily(family, communities) {
    family._code = fold(family.code);
    family._digits = lastDigits(family.code);
    family._name = fold(family.name);
    family.community = (communities || {})[family.community_id] || "";
    family._community = fold(family.community);
    return family;
  }

  async function loadRoster(device) {
    const base = await db();
    const meta = await base.get("meta", "roster");
    if (!meta || meta.device_id !== device.id) {
      state.families = [];
      state.byId = new Map();
      state.info = null;
      return;
    }
    state.info = meta.info;
    state.fetchedAt = meta.fetched_at;
    state.families = (await base.getAll("families")).map((f) => indexFamily(f, meta.info.communities));
    state.families.sort((a, b) => (a.code < b.code ? -1 : a.code > b.code ? 1 : 0));
    state.byId = new Map(state.families.map((f) => [f.id, f]));
  }

  async function refreshRoster(device, force) {
    if (!device || device.needs_login || !navigator.onLine) return false;
    const base = await db();
    const meta = await base.get("meta", "roster");
    const same = meta && meta.device_id === device.id;
    const since = same && !force ? meta.cursor : null;
    let response;
    try {
      response = await api(device, "GET", "/api/v1/device/roster" + (since ? "?since=" + encodeURIComponent(since) : ""));
    } catch (error) {
      return false;
    }
    if (!response.ok) return false;
    const data = await response.json();
    const tx = base.transaction(["families", "meta"], "readwrite");
    const families = tx.objectStore("families");
    if (data.full || !same) await families.clear();
    for (const family of data.families) {
      if (family.active || !data.full) await families.put(family);
    }
    await tx.objectStore("meta").put({
      key: "roster",
      device_id: device.id,
      cursor: data.cursor,
      fetched_at: Date.now(),
      info: {
        cooperative: data.cooperative,
        centre: data.centre,
        communities: data.communities,
        prices: data.prices,
        today: data.today,
      },
    });
    await tx.objectStore("meta").put({ key: "current", device_id: device.id });
    await tx.done;
    await loadRoster(device);
    emit();
    return true;
  }

  function search(query, limit) {
    const q = fold(query);
    if (!q) return [];
    const words = q.split(/\s+/).slice(0, 5);
    const found = state.families.filter((f) =>
      f.active !== false &&
      words.every((w) =>
        f._code.startsWith(w) || f._name.includes(w) || f._community.startsWith(w) ||
        (/^\d+$/.test(w) && (f._digits.startsWith(w) || f._code.includes(w)))));
    const rank = (f) => (f._code === q ? 0 : f._digits === q ? 1 : 2);
    found.sort((a, b) => rank(a) - rank(b));
    return found.slice(0, limit || 8);
  }

  // The family a scanner's code (or a typed one, then Enter) means, right now: the exact
  // member code, else the only code ending in these digits, else the first found.
  function best(query) {
    const q = fold(query);
    if (!q) return null;
    const exact = state.families.find((f) => f._code === q);
    if (exact) return exact;
    if (/^\d+$/.test(q)) {
      const digits = state.families.filter((f) => f._digits === q);
      if (digits.length === 1) return digits[0];
    }
    return search(query, 1)[0] || null;
  }

  // -- receipt numbers -------------------------------------------------------------------

  async function freeNumbers(device) {
    if (!device) return 0;
    const blocks = (await (await db()).getAllFromIndex("blocks", "device", device.id)).filter((b) => !b.taken_over);
    return blocks.reduce((sum, b) => sum + Math.max(0, b.last_seq - b.next_seq + 1), 0);
  }

  // Align the device's blocks with the server's, and ask for a new one before running out.
  async function topUpNumbers(device) {
    if (!device || device.needs_login || !navigator.onLine) return;
    const base = await db();
    let response;
    try {
      response = await api(device, "GET", "/api/v1/device");
    } catch (error) {
      return;
    }
    if (!response.ok) return;
    const open = (await response.json()).blocks || [];
    const known = await base.getAllFromIndex("blocks", "device", device.id);
    const tx = base.transaction("blocks", "readwrite");
    for (const block of known) {
      if (!open.some((b) => b.id === block.id) && block.next_seq <= block.last_seq) {
        block.next_seq = block.last_seq + 1; // closed on the server (voided by a manager)
        await tx.store.put(block);
      }
    }
    for (const b of open) {
      if (!known.some((k) => k.id === b.id) && b.used + b.returned + b.voided === 0) {
        await tx.store.put({ id: b.id, device_id: device.id, first_seq: b.first_seq, last_seq: b.last_seq, next_seq: b.first_seq });
      }
    }
    await tx.done;
    if ((await freeNumbers(device)) >= LOW) return;
    try {
      response = await api(device, "POST", "/api/v1/device/blocks", { size: BLOCK }, newKey());
    } catch (error) {
      return;
    }
    if (response.status !== 201) return;
    const block = await response.json();
    await base.put("blocks", { id: block.id, device_id: device.id, first_seq: block.first_seq, last_seq: block.last_seq, next_seq: block.first_seq });
    emit();
  }

  // -- the outbox ------------------------------------------------------------------------

  // Save a delivery: take the device's next receipt number and store the entry in one
  // IndexedDB transaction, so a number is used if and only if its delivery is kept.
  // `key` is the form's idempotency key (one per delivery typed): saved again under the
  // same key (a double tap), the entry kept first is returned and no number is taken.
  async function save(payload, receipt, key) {
    const device = state.device;
    if (!device || !state.info) throw new Error("not-ready");
    const base = await db();
    const tx = base.transaction(["blocks", "outbox"], "readwrite");
    const kept = key ? await tx.objectStore("outbox").get(key) : null;
    if (kept) {
      await tx.done;
      return kept;
    }
    const blocks = (await tx.objectStore("blocks").index("device").getAll(device.id))
      .filter((b) => b.next_seq <= b.last_seq && !b.taken_over)
      .sort((a, b) => a.first_seq - b.first_seq);
    if (!blocks.length) {
      tx.done.catch(() => {});
      tx.abort();
      throw new Error("no-numbers");
    }
    const block = blocks[0];
    const seq = block.next_seq;
    block.next_seq = seq + 1;
    await tx.objectStore("blocks").put(block);
    const number = state.info.centre.code + "-" + pad(seq);
    const entry = {
      key: key || newKey(),
      device_id: device.id,
      coop: device.coop,
      seq,
      number,
      payload: Object.assign({}, payload, { receipt_seq: seq }),
      receipt: Object.assign({}, receipt, { number }),
      status: "pending",
      errors: null,
      created_at: Date.now(),
    };
    await tx.objectStore("outbox").put(entry);
    await tx.done;
    emit();
    return entry;
  }

  // A refused delivery, fixed by the clerk: same key, same receipt number.
  async function update(key, payload, receipt) {
    const base = await db();
    const entry = await base.get("outbox", key);
    if (!entry || entry.status === "stored" || entry.status === "discarded") throw new Error("gone");
    entry.payload = Object.assign({}, payload, { receipt_seq: entry.seq });
    entry.receipt = Object.assign({}, receipt, { number: entry.number });
    entry.status = "pending";
    entry.errors = null;
    entry.fixed_at = Date.now();
    await base.put("outbox", entry);
    emit();
    return entry;
  }

  async function entries() {
    const all = await (await db()).getAllFromIndex("outbox", "created");
    return all;
  }

  async function entry(key) {
    return (await db()).get("outbox", key);
  }

  function messagesOf(body) {
    const found = [];
    if (body && body.errors && typeof body.errors === "object") {
      Object.entries(body.errors).forEach(([field, messages]) => {
        (Array.isArray(messages) ? messages : [messages]).forEach((m) => found.push({ field, message: typeof m === "string" ? m : JSON.stringify(m) }));
      });
    }
    if (!found.length && body && body.message) found.push({ field: "", message: body.message });
    return found;
  }

  function setProgress(done, total) {
    state.progress = total ? { done, total } : null;
    emit();
  }

  // Send the outbox in order. A network failure stops the run (the rest waits, each
  // with its key: sent again, it is stored once); a refusal is kept with its reason.
  async function sendAll() {
    const base = await db();
    const waiting = (await base.getAllFromIndex("outbox", "created")).filter((e) => e.status === "pending");
    let done = 0;
    let stored = 0;
    const locked = new Set();
    setProgress(0, waiting.length);
    for (const item of waiting) {
      const device = await base.get("devices", item.device_id);
      if (!device || device.needs_login || device.revoked || locked.has(device.id)) continue;
      let response;
      let body = null;
      try {
        response = await api(device, "POST", "/api/v1/device/deliveries", item.payload, item.key);
        body = isJson(response) ? await response.json() : null;
      } catch (error) {
        state.networkDropped = true;
        break; // the network dropped: the rest is sent next time
      }
      const current = await base.get("outbox", item.key);
      if (!current || current.status !== "pending") continue;
      if (response.status === 201 && body) {
        current.status = "stored";
        current.delivery_id = body.id;
        current.stored_number = body.receipt_number;
        current.synced_at = Date.now();
        stored += 1;
      } else if (response.status === 401) {
        locked.add(device.id);
        continue; // the device must be enrolled again by its person: kept as it is
      } else if (response.status >= 400 && response.status < 500 && response.status !== 408 && response.status !== 429) {
        current.status = "refused";
        current.errors = messagesOf(body);
        current.refused_at = Date.now();
      } else {
        break; // the server is busy or failing: later
      }
      await base.put("outbox", current);
      done += 1;
      setProgress(done, waiting.length);
    }
    setProgress(0, 0);
    return stored;
  }

  async function sync() {
    if (!navigator.onLine) return;
    if (state.syncing) {
      // Asked while a run is under way (a delivery saved meanwhile, or this page's device
      // now known, which may take an earlier enrolment's deliveries over): one more run
      // follows, unless this one stopped because the network dropped.
      state.syncAgain = true;
      return;
    }
    state.syncing = true;
    state.syncAgain = false;
    state.networkDropped = false;
    emit();
    try {
      const run = async () => {
        await takeOver(state.device);
        const stored = await sendAll();
        await returnTakenOver(state.device);
        await prune();
        if (state.device) {
          // The plots last used change with every delivery stored; otherwise a delta
          // now and then is enough.
          if (stored || Date.now() - (state.fetchedAt || 0) > 2 * 60000) {
            await refreshRoster(state.device, false);
          }
          await topUpNumbers(state.device);
        }
        await retireIdle();
      };
      if (navigator.locks && navigator.locks.request) {
        // One tab sends at a time.
        await navigator.locks.request("tracker-outbox", { ifAvailable: true }, async (lock) => {
          if (lock) await run();
        });
      } else {
        await run();
      }
    } catch (error) {
      /* kept for the next run */
    } finally {
      state.syncing = false;
      emit();
      if (state.syncAgain && !state.networkDropped) sync();
    }
  }

  // Discard a refused delivery with a reason: its printed receipt number is voided on the
  // server with that reason (so the number is accounted for), then the entry is kept as
  // discarded.
  async function discard(key, reason) {
    const base = await db();
    const item = await base.get("outbox", key);
    if (!item || item.status !== "refused") throw new Error("gone");
    const device = await base.get("devices", item.device_id);
    if (!device) throw new Error("no-device");
    const response = await api(device, "POST", "/api/v1/device/receipts/void",
      { receipt_seq: item.seq, reason }, "void-" + item.key);
    if (!response.ok) {
      const body = isJson(response) ? await response.json() : null;
      const problem = messagesOf(body).map((m) => m.message).join(" ");
      throw new Error(problem || String(response.status));
    }
    item.status = "discarded";
    item.discard_reason = reason;
    item.discarded_at = Date.now();
    await base.put("outbox", item);
    emit();
  }

  async function prune() {
    const base = await db();
    const old = Date.now() - KEEP_SENT_MS;
    for (const item of await base.getAll("outbox")) {
      const when = item.synced_at || item.discarded_at;
      if ((item.status === "stored" || item.status === "discarded") && when && when < old) {
        await base.delete("outbox", item.key);
      }
    }
  }

  // -- what every page shows --------------------------------------------------------------

  function emit() {
    listeners.forEach((listener) => {
      try {
        listener(state);
      } catch (error) { /* a listener's own problem */ }
    });
    showCount();
  }

  async function showCount() {
    const link = document.querySelector("[data-outbox-count]");
    const status = document.querySelector("[data-sync-status]");
    let all = [];
    try {
      all = await entries();
    } catch (error) {
      return;
    }
    const waiting = all.filter((e) => e.status === "pending").length;
    const refused = all.filter((e) => e.status === "refused").length;
    if (link) {
      const coop = (state.device && state.device.coop) || (all[0] && all[0].coop);
      if (waiting + refused > 0 && coop) {
        link.href = "/c/" + encodeURIComponent(coop) + "/outbox";
        const parts = [];
        if (waiting) parts.push(tn("count", waiting));
        if (refused) parts.push(tn("refused", refused));
        link.textContent = parts.join(" · ");
        link.classList.toggle("bad", refused > 0);
        link.hidden = false;
      } else {
        link.hidden = true;
      }
    }
    if (status) {
      let message = "";
      if (state.progress && state.progress.total) {
        message = t("sending", { done: count(state.progress.done), total: count(state.progress.total) });
      } else if (!navigator.onLine && waiting) {
        message = tn("offline_waiting", waiting);
      } else if (state.device && state.device.needs_login && waiting) {
        message = t("needs_login");
      }
      if (status.textContent !== message) status.textContent = message;
    }
  }

  // Leaving with deliveries still on the phone: say so, keep them, and drop the pages
  // kept for offline use (they belong to this login).
  function guardLogout() {
    document.querySelectorAll('form[action$="/logout"]').forEach((form) => {
      form.addEventListener("submit", async (event) => {
        if (form.dataset.confirmed) return;
        event.preventDefault();
        let waiting = 0;
        try {
          waiting = (await entries()).filter((e) => e.status === "pending" || e.status === "refused").length;
        } catch (error) { /* no outbox */ }
        const warning = tn("logout_warning", waiting);
        if (waiting && !window.confirm(warning)) return;
        if (window.caches) {
          try {
            await caches.delete(PAGES);
          } catch (error) { /* nothing kept */ }
        }
        form.dataset.confirmed = "1";
        form.submit();
      });
    });
  }

  function freshness() {
    if (!state.fetchedAt) return "";
    const minutes = Math.round((Date.now() - state.fetchedAt) / 60000);
    const lang = document.documentElement.lang || "es";
    let when;
    try {
      const format = new Intl.RelativeTimeFormat(lang, { numeric: "auto" });
      if (minutes < 60) when = format.format(-minutes, "minute");
      else if (minutes < 48 * 60) when = format.format(-Math.round(minutes / 60), "hour");
      else when = format.format(-Math.round(minutes / 1440), "day");
    } catch (error) {
      when = minutes + " min";
    }
    return tn("roster_fresh", state.families.length, { when });
  }

  // -- the page that starts it all: the delivery form (or the outbox) ---------------------

  async function start(context) {
    await ready;
    if (state.user) await switchUser();
    const device = await ensureDevice(context);
    state.device = device;
    if (!device) return state;
    await loadRoster(device);
    // What the device holds is enough to work: refresh it in the background. Only the
    // first visit (no roster, no numbers) waits for the network.
    if (!state.info || !state.families.length) await refreshRoster(device, true);
    else if (Date.now() - (state.fetchedAt || 0) > ROSTER_EVERY_MS) refreshRoster(device, false);
    if ((await freeNumbers(device)) === 0) await topUpNumbers(device);
    else topUpNumbers(device);
    warmPages(context);
    emit();
    // Deliveries waiting (an earlier enrolment's among them) go now that the device is known.
    if ((await entries()).some((e) => e.status === "pending")) sync();
    return state;
  }

  // Keep the form and the outbox for offline use (the service worker's page cache).
  async function warmPages(context) {
    if (!window.caches || !navigator.onLine || !context.formUrl) return;
    try {
      const cache = await caches.open(PAGES);
      for (const url of [context.formUrl, context.outboxUrl]) {
        if (url && !(await cache.match(url))) await cache.add(url);
      }
    } catch (error) { /* kept next time */ }
  }

  async function usable() {
    return Boolean(state.device && state.info && state.families.length && (await freeNumbers(state.device)) > 0);
  }

  function registerWorker() {
    if (!("serviceWorker" in navigator) || !window.isSecureContext) return;
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => {});
  }

  async function init() {
    await db();
    const base = await db();
    if (state.user) {
      const current = await base.get("meta", "current");
      const device = current ? await base.get("devices", current.device_id) : null;
      if (device && device.user_id === state.user) {
        state.device = device;
        await loadRoster(device);
      }
    }
  }

  const ready = init().catch(() => {});

  document.addEventListener("DOMContentLoaded", () => {
    guardLogout();
    if (document.querySelector("[data-offline], [data-outbox]") || state.user) registerWorker();
    ready.then(() => {
      emit();
      sync();
    });
  });
  window.addEventListener("online", () => sync());
  window.addEventListener("offline", () => emit());
  // While deliveries wait and the page is open, try again every minute.
  setInterval(() => {
    if (navigator.onLine) sync();
  }, 60000);

  window.TrackerOffline = {
    ready,
    state,
    t,
    tn,
    start,
    usable,
    search,
    best,
    save,
    update,
    entries,
    entry,
    sync,
    discard,
    freshness,
    freeNumbers: () => freeNumbers(state.device),
    newKey,
    // The server's thousands and decimal signs (formatting.separators), for the receipt.
    separators: () => TEXT.number || null,
    family: (id) => state.byId.get(id) || null,
    onChange: (listener) => listeners.add(listener),
  };
})();
