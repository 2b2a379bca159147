/*
 * mermaid-loader.js: the site's diagrams drawn by Mermaid, served by the site
 * itself, and only downloaded by pages that have a diagram.
 *
 * mkdocs-material turns ```mermaid blocks into diagrams with the global
 * `mermaid` when one is defined, and otherwise fetches the library from a CDN
 * (unpkg), which this site never does: no request leaves it. This script,
 * loaded before the theme looks (extra_javascript, before DOMContentLoaded),
 * defines a small stand-in. The first diagram a page renders loads the real
 * library from assets/engine/mermaid.min.js (copied from npm by
 * docsite/hooks/assets.py), which then replaces the stand-in for good.
 */
(function () {
  "use strict";

  if (window.mermaid) return;

  var script = document.currentScript;
  var SRC = script && script.src
    ? script.src.replace(/mermaid-loader\.js(?:[?#].*)?$/, "mermaid.min.js")
    : new URL("assets/engine/mermaid.min.js", window.location.href).href;

  var settings = null; // what the theme asked of initialize(), passed on to the real library
  var loading = null;

  function load() {
    if (loading) return loading;
    loading = new Promise(function (resolve, reject) {
      var tag = document.createElement("script");
      tag.src = SRC;
      tag.onload = function () {
        var real = window.mermaid;
        if (!real || real === standIn || typeof real.render !== "function") {
          reject(new Error("mermaid-loader: " + SRC + " did not define mermaid"));
          return;
        }
        if (settings) real.initialize(settings);
        resolve(real);
      };
      tag.onerror = function () {
        loading = null; // a later diagram tries again
        reject(new Error("mermaid-loader: cannot load " + SRC));
      };
      document.head.appendChild(tag);
    });
    return loading;
  }

  var standIn = {
    initialize: function (options) {
      settings = options;
    },
    render: function (id, text) {
      return load().then(function (real) {
        return real.render(id, text);
      });
    },
  };

  window.mermaid = standIn;
})();
