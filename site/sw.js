// Service worker: keeps the page, its code and the weights in a cache so
// that the app works offline after the first visit. serve.go fills in the
// version (a hash of every file) and the list of files.
"use strict";
const VERSION = "__VERSION__";
const ASSETS = __ASSETS__;
const CACHE = "upscaler-" + VERSION;

self.addEventListener("install", (e) => {
  e.waitUntil(caches.open(CACHE).then((c) => c.addAll(ASSETS)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (e) => {
  e.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("upscaler-") && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

// Cache first, then the network; only this site's GET requests are handled.
self.addEventListener("fetch", (e) => {
  const url = new URL(e.request.url);
  if (e.request.method !== "GET" || url.origin !== self.location.origin) return;
  e.respondWith(
    caches.open(CACHE).then((c) =>
      c.match(e.request, { ignoreSearch: true }).then((hit) => hit || fetch(e.request)),
    ),
  );
});
