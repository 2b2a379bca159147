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
 * docsite/hooks/assets.py) and passes every render on to it.
 *
 * Two things are added on the way, for phones and keyboards: a diagram is
 * scaled down to fit its column only to MIN_SCALE of its natural size, and
 * scrolls sideways inside its box beyond that (lab.css); and its box, which
 * the theme creates, is given a name (the diagram's accTitle) and a place in
 * the tab order, so a keyboard can scroll it.
 */
(function () {
  "use strict";

  if (window.mermaid) return;

  var script = document.currentScript;
  var SRC = script && script.src
    ? script.src.replace(/mermaid-loader\.js(?:[?#].*)?$/, "mermaid.min.js")
    : new URL("assets/engine/mermaid.min.js", window.location.href).href;

  var MIN_SCALE = 0.7; // 16 px labels never shrink below about 11 px
  var settings = null; // what the theme asked of initialize(), passed on to the real library
  var loading = null;
  var real = null;

  function load() {
    if (loading) return loading;
    loading = new Promise(function (resolve, reject) {
      var tag = document.createElement("script");
      tag.src = SRC;
      tag.onload = function () {
        var loaded = window.mermaid;
        window.mermaid = standIn; // every later render still passes through here
        if (!loaded || loaded === standIn || typeof loaded.render !== "function") {
          reject(new Error("mermaid-loader: " + SRC + " did not define mermaid"));
          return;
        }
        real = loaded;
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

  // The root <svg> may shrink to fit its column, but not below MIN_SCALE.
  function keepReadable(svg) {
    var end = svg.indexOf(">");
    if (end < 0) return svg;
    var head = svg.slice(0, end);
    var match = /max-width:\s*([\d.]+)px;?/.exec(head);
    if (!match) return svg;
    var min = Math.round(parseFloat(match[1]) * MIN_SCALE);
    head = head.replace(match[0], match[0].replace(/;?$/, ";") + " min-width: " + min + "px;");
    return head + svg.slice(end);
  }

  function titleOf(text) {
    var match = /^\s*accTitle\s*:\s*(.+)$/m.exec(text || "");
    return match ? match[1].trim() : "Diagram";
  }

  var titles = []; // accessible names, in the order the theme renders the diagrams

  // The theme puts each rendered diagram into a new div.mermaid right after
  // render() resolves: name those boxes and let the keyboard reach them.
  function nameBoxes() {
    var boxes = document.querySelectorAll("div.mermaid:not([data-diagram])");
    for (var i = 0; i < boxes.length; i++) {
      var box = boxes[i];
      box.setAttribute("data-diagram", "");
      box.setAttribute("role", "group");
      box.setAttribute("tabindex", "0");
      box.setAttribute("aria-label", titles.length ? titles.shift() : "Diagram");
    }
    markScrolling();
  }

  // A diagram wider than its column says so (lab.css shows "Scrolls sideways"
  // for data-scrolls), in its name too: on a phone half of it is out of sight.
  function markScrolling() {
    var boxes = document.querySelectorAll("div.mermaid[data-diagram]");
    for (var i = 0; i < boxes.length; i++) {
      var box = boxes[i];
      var name = (box.getAttribute("aria-label") || "").replace(/ \(scrolls sideways\)$/, "");
      var scrolls = box.scrollWidth > box.clientWidth + 1;
      if (scrolls !== box.hasAttribute("data-scrolls")) box.toggleAttribute("data-scrolls", scrolls);
      box.setAttribute("aria-label", scrolls ? name + " (scrolls sideways)" : name);
    }
  }

  window.addEventListener("resize", function () {
    window.requestAnimationFrame(markScrolling);
  });

  var standIn = {
    initialize: function (options) {
      settings = options;
      if (real) real.initialize(options);
    },
    render: function (id, text) {
      return load().then(function (lib) {
        return lib.render(id, text).then(function (result) {
          titles.push(titleOf(text));
          window.setTimeout(nameBoxes, 0);
          return Object.assign({}, result, { svg: keepReadable(result.svg) });
        });
      });
    },
  };

  window.mermaid = standIn;
})();
