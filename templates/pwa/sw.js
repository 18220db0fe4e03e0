// The tracker's service worker: Workbox from npm, vendored into the package (no CDN).
// Precaches what the delivery form and the outbox load, keeps the last copy of those
// two pages for when there is no network, and shows the offline page for any other.
importScripts({{ workbox_sw|tojson }});

const MODULES = {{ modules|tojson }};
const PAGES = {{ pages_cache|tojson }};
const FALLBACK = {{ fallback|tojson }};
// The pages a clerk needs offline: the delivery form and the outbox of a cooperative.
const OFFLINE_PAGE = /^\/c\/[^/]+\/(deliveries\/new|outbox)$/;

workbox.setConfig({ debug: false, modulePathCb: (name) => MODULES[name] });
workbox.core.setCacheNameDetails({ prefix: "tracker" });
workbox.core.skipWaiting();
workbox.core.clientsClaim();
workbox.precaching.cleanupOutdatedCaches();
workbox.precaching.precacheAndRoute({{ precache|tojson }});

// One copy per page, whatever its query string (a family chosen, an entry to fix).
const withoutQuery = {
  cacheKeyWillBeUsed: async ({ request }) => {
    const url = new URL(request.url);
    return url.origin + url.pathname;
  },
};
const pages = new workbox.strategies.NetworkFirst({
  cacheName: PAGES,
  networkTimeoutSeconds: 6,
  plugins: [
    withoutQuery,
    new workbox.cacheableResponse.CacheableResponsePlugin({ statuses: [200] }),
  ],
});
workbox.routing.registerRoute(
  ({ request, url }) =>
    request.mode === "navigate" && url.origin === self.location.origin && OFFLINE_PAGE.test(url.pathname),
  pages,
);

// Fingerprinted files (?v=<hash>) never change: once fetched, from the cache (the
// scanner's script, say, loaded the first time the clerk scans a card online).
workbox.routing.registerRoute(
  ({ url }) => url.origin === self.location.origin && url.pathname.startsWith("/static/") && url.searchParams.has("v"),
  new workbox.strategies.CacheFirst({
    cacheName: "tracker-static",
    plugins: [
      new workbox.cacheableResponse.CacheableResponsePlugin({ statuses: [200] }),
      new workbox.expiration.ExpirationPlugin({ maxEntries: 40, purgeOnQuotaError: true }),
    ],
  }),
);

// Every other page from the network; without one, the offline page (or, for the
// app's start page, the delivery form last seen).
workbox.routing.registerRoute(
  new workbox.routing.NavigationRoute(new workbox.strategies.NetworkOnly()),
);

async function cachedForm() {
  const cache = await caches.open(PAGES);
  const keys = await cache.keys();
  const form = keys.find((key) => /\/deliveries\/new$/.test(new URL(key.url).pathname));
  return form ? cache.match(form) : undefined;
}

workbox.routing.setCatchHandler(async ({ request, url }) => {
  if (request.mode !== "navigate") return Response.error();
  if (url && url.pathname === "/intake") {
    const form = await cachedForm();
    if (form) return form;
  }
  const page = await workbox.precaching.matchPrecache(FALLBACK);
  return page || Response.error();
});
