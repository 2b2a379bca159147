/*
 * playground-sw.js: keeps the playground's runtime (Pyodide, the engine's Python files, the
 * editor) in the Cache API once a reader has pressed Edit, for the next box, the next page
 * and offline. Registered by playground.js on the first Edit, never before.
 *
 * Only the files listed in assets/playground/manifest.json are cached (cache first); every
 * other request goes to the network untouched. The cache is named after the build's
 * version (a hash of those files, written in by docsite/hooks/playground.py), so a new
 * build starts a new cache and the old ones are deleted.
 */
(function () {
  "use strict";

  var VERSION = "__PLAYGROUND_VERSION__";
  var CACHE = "playground-" + VERSION;
  var MANIFEST = new URL("assets/playground/manifest.json", self.registration.scope).href;
  var cached = null; // promise of the set of URLs this worker keeps

  // The manifest is read from the network when it can be (and kept), else from the cache:
  // a service worker restarted while offline still knows what it holds.
  function cachedUrls() {
    if (!cached) {
      cached = caches
        .open(CACHE)
        .then(function (cache) {
          return fetch(MANIFEST)
            .then(function (response) {
              if (!response.ok) throw new Error("manifest: HTTP " + response.status);
              cache.put(MANIFEST, response.clone());
              return response;
            })
            .catch(function () {
              return cache.match(MANIFEST).then(function (hit) {
                if (!hit) throw new Error("no manifest yet");
                return hit;
              });
            });
        })
        .then(function (response) {
          return response.json();
        })
        .then(function (manifest) {
          return new Set(
            manifest.files.map(function (path) {
              return new URL(path, self.registration.scope).href;
            })
          );
        })
        .catch(function () {
          cached = null; // offline before the manifest was ever read: try again next time
          return new Set();
        });
    }
    return cached;
  }

  self.addEventListener("install", function () {
    self.skipWaiting();
  });

  self.addEventListener("activate", function (event) {
    event.waitUntil(
      caches
        .keys()
        .then(function (names) {
          return Promise.all(
            names
              .filter(function (name) {
                return name.indexOf("playground-") === 0 && name !== CACHE;
              })
              .map(function (name) {
                return caches.delete(name);
              })
          );
        })
        .then(function () {
          return self.clients.claim();
        })
    );
  });

  self.addEventListener("fetch", function (event) {
    var request = event.request;
    if (request.method !== "GET") return;
    var url = request.url.split("#")[0];
    if (url.indexOf(self.registration.scope + "assets/p") !== 0) return; // not ours: untouched
    if (url === MANIFEST) {
      event.respondWith(
        fetch(request).catch(function () {
          return caches.open(CACHE).then(function (cache) {
            return cache.match(MANIFEST);
          });
        })
      );
      return;
    }
    event.respondWith(
      cachedUrls().then(function (urls) {
        if (!urls.has(url)) return fetch(request);
        return caches.open(CACHE).then(function (cache) {
          return cache.match(url).then(function (hit) {
            if (hit) return hit;
            return fetch(request).then(function (response) {
              if (response.ok) cache.put(url, response.clone());
              return response;
            });
          });
        });
      })
    );
  });
})();
