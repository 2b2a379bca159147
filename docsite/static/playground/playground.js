/*
 * playground.js: Edit, Run, Stop and Reset on every demo box.
 *
 * Edit opens the box's demo module in an editor under the box. Run runs the page's demos,
 * the reader's edits among them, with the engine in this browser (worker.mjs: Pyodide in a
 * Web Worker), and switches the page's runtime (engine.js) from the server's socket to a
 * MessagePort to that worker (port.js): the same boxes, lab panels, updates and errors.
 * Stop terminates the worker (even one stuck in `while True: pass`) and Reset brings back
 * the module as the page shows it; both put the page back on the server's demo.
 *
 * Nothing is loaded before the first Edit. Then the editor (editor.js, CodeMirror) and the
 * runtime (Pyodide and python.zip, ~13 MB, from this site) load, with progress, kept by
 * playground-sw.js for the next box and offline. Edits are kept in localStorage per module
 * and shared as a link whose fragment carries the code (share.js); a shared link opens the
 * editor with that code and waits for the reader to press Run.
 *
 * Debug hook for tests: window.enginePlayground.{where, worker, lastRun, runtime, code(module)}.
 */
(function () {
  "use strict";

  var core = window.engineCore;
  var share = window.engineShare;
  var portLib = window.enginePort;
  if (!core || !share || !portLib) return;

  var script = document.currentScript;
  var BASE = new URL(".", script && script.src ? script.src : window.location.href).href;
  var SITE_ROOT = new URL("../../", BASE).href;

  var sources = null; // promise of {sources: {module: code}, runnable: {module: bool}}
  var manifest = null; // promise of the build's manifest (what the service worker keeps, bytes to load)
  var editorLib = null; // promise of editor.js
  var runtime = null; // {worker, ready: promise}
  var panels = new Map(); // module -> panel
  var where = "server"; // where the page's boxes get their state: "server" or "browser"
  var runs = 0;
  var tabs = 0;
  var lastRun = null;
  var SAVE_DELAY_MS = 400;

  function once(value, make) {
    return value || make();
  }

  function getJSON(url) {
    return fetch(url).then(function (r) {
      if (!r.ok) throw new Error(url + ": HTTP " + r.status);
      return r.json();
    });
  }

  function moduleOf(box) {
    return (box.getAttribute("data-rx-demo") || "").split(":")[0];
  }

  function stored(module) {
    try {
      return window.localStorage.getItem(share.storageKey(module));
    } catch (e) {
      return null;
    }
  }

  function store(module, code, original) {
    try {
      if (code === original) window.localStorage.removeItem(share.storageKey(module));
      else window.localStorage.setItem(share.storageKey(module), code);
    } catch (e) {
      /* storage off: the edit lives as long as the page */
    }
  }

  // ---------------------------------------------------------------------
  // The runtime: one worker per page load, shared by every box
  // ---------------------------------------------------------------------

  function registerCache() {
    if (!("serviceWorker" in navigator)) return Promise.resolve();
    var registered = navigator.serviceWorker.register(SITE_ROOT + "playground-sw.js").then(function () {
      if (navigator.serviceWorker.controller) return;
      // The first time: wait (briefly) until it controls the page, so this load is kept.
      return new Promise(function (resolve) {
        navigator.serviceWorker.addEventListener("controllerchange", resolve, { once: true });
        setTimeout(resolve, 3000);
      });
    });
    return registered.catch(function () {
      /* no service worker (private mode, http): the runtime still loads, uncached */
    });
  }

  // The page's worker, started if it is not yet; Stop code works from then on.
  function startRuntime() {
    if (!runtime) runtime = bootRuntime();
    markBoxes();
    return runtime;
  }

  function bootRuntime() {
    var worker = null;
    var ready = registerCache().then(function () {
      if (runtime !== current) throw new Error("stopped"); // Stop code came before the worker did
      worker = new Worker(BASE + "worker.mjs", { type: "module", name: "engine-playground" });
      current.worker = worker;
      return new Promise(function (resolve, reject) {
        worker.addEventListener("message", function (ev) {
          var msg = ev.data || {};
          if (msg.type === "progress") progress(msg.bytes);
          else if (msg.type === "ready") resolve(msg);
          else if (msg.type === "failed") reject(new Error(msg.message));
          else if (msg.type === "output") output(msg.text, msg.stream);
        });
        worker.addEventListener("error", function (ev) {
          reject(new Error(ev.message || "the worker failed to start"));
        });
        worker.postMessage({ type: "boot" });
      });
    });
    var current = { worker: null, ready: ready, began: performance.now() };
    ready.then(
      function (msg) {
        current.seconds = msg.seconds;
        current.bytes = msg.bytes;
        say("Python is ready in this browser (" + mb(msg.bytes) + " loaded). Press Run code.");
      },
      function (err) {
        if (runtime !== current) return;
        if (current.worker) current.worker.terminate();
        runtime = null; // the next Run code starts afresh
        markBoxes();
        say("The in-browser engine could not start: " + err.message + ". Press Run code to try again.");
      }
    );
    return current;
  }

  function mb(bytes) {
    return (bytes / 1e6).toFixed(1) + " MB";
  }

  function progress(bytes) {
    (manifest || Promise.resolve(null)).then(function (m) {
      var total = m && m.load_bytes;
      panels.forEach(function (panel) {
        panel.meter.hidden = false;
        if (total) {
          panel.progress.max = total;
          panel.progress.value = Math.min(bytes, total);
        }
      });
      sayQuiet("Loading Python into this browser: " + mb(bytes) + (total ? " of " + mb(total) : "") + "…");
    });
  }

  function stopRuntime() {
    if (!runtime) return;
    if (runtime.worker) runtime.worker.terminate();
    runtime = null;
  }

  // ---------------------------------------------------------------------
  // Where the page's boxes are served from
  // ---------------------------------------------------------------------

  function toBrowser(worker) {
    var channel = new MessageChannel();
    tabs += 1;
    worker.postMessage({ type: "port", tab: tabs, port: channel.port2 }, [channel.port2]);
    where = "browser";
    window.engineRuntime.useTransport(portLib.opener(channel.port1));
    markBoxes();
  }

  function toServer() {
    if (where === "server") return;
    where = "server";
    window.engineRuntime.useTransport(null);
    markBoxes();
  }

  function markBoxes() {
    document.querySelectorAll("[data-rx-demo]").forEach(function (box) {
      box.setAttribute("data-rx-where", where);
    });
    panels.forEach(function (panel) {
      panel.stop.disabled = !runtime;
    });
  }

  // ---------------------------------------------------------------------
  // Panels
  // ---------------------------------------------------------------------

  function say(text) {
    panels.forEach(function (panel) {
      core.setText(panel.status, text);
      if (!/Loading/.test(text)) panel.meter.hidden = true;
    });
  }

  // Progress changes often: written where it is seen, not announced each time.
  function sayQuiet(text) {
    panels.forEach(function (panel) {
      core.setText(panel.progressText, text);
    });
  }

  function output(text, stream) {
    panels.forEach(function (panel) {
      if (panel !== activePanel()) return;
      panel.output.hidden = false;
      panel.output.textContent += (stream === "stderr" ? "! " : "") + text + "\n";
      if (panel.output.textContent.length > 20000) panel.output.textContent = panel.output.textContent.slice(-15000);
    });
  }

  var active = null;
  function activePanel() {
    return active || panels.values().next().value;
  }

  function button(label, action, extra) {
    var el = document.createElement("button");
    el.type = "button";
    el.className = "rx-play__button" + (extra ? " " + extra : "");
    el.textContent = label;
    el.setAttribute("data-rx-play-" + action, "");
    return el;
  }

  function buildPanel(box, module) {
    var id = "rx-play-" + module.replace(/\W/g, "-");
    var panel = document.createElement("section");
    panel.className = "rx-play";
    panel.id = id;
    panel.setAttribute("aria-label", "Edit and run " + module);
    panel.setAttribute("data-rx-play", module);
    var bar = document.createElement("div");
    bar.className = "rx-play__bar";
    var run = button("Run code", "run", "rx-play__button--primary");
    var stop = button("Stop code", "stop");
    var reset = button("Reset code", "reset");
    var link = button("Copy link", "link");
    stop.disabled = true;
    bar.append(run, stop, reset, link);
    var status = document.createElement("p");
    status.className = "rx-play__status";
    status.setAttribute("role", "status");
    status.setAttribute("data-rx-play-status", "");
    var meter = document.createElement("div");
    meter.className = "rx-play__progress";
    var progressBar = document.createElement("progress");
    progressBar.setAttribute("aria-label", "Loading Python into this browser");
    var progressText = document.createElement("span");
    meter.append(progressBar, progressText);
    meter.hidden = true;
    var host = document.createElement("div");
    host.className = "rx-play__editor";
    var out = document.createElement("pre");
    out.className = "rx-play__output";
    out.setAttribute("aria-label", "What your code printed");
    out.hidden = true;
    panel.append(bar, meter, status, host, out);
    // After the box's lab panel, which lab.js (and its tests) find as the box's next sibling.
    var lab = box.nextElementSibling;
    var anchor = lab && lab.hasAttribute("data-lab-panel") ? lab : box;
    anchor.insertAdjacentElement("afterend", panel);
    var entry = {
      module: module, box: box, el: panel, run: run, stop: stop, reset: reset, link: link,
      status: status, meter: meter, progress: progressBar, progressText: progressText,
      host: host, output: out, editor: null, original: null,
    };
    run.addEventListener("click", function () {
      runFrom(entry);
    });
    stop.addEventListener("click", stopAll);
    reset.addEventListener("click", function () {
      resetPanel(entry);
    });
    link.addEventListener("click", function () {
      copyLink(entry);
    });
    return entry;
  }

  // Edit: open (or focus) the editor of the box's module, with `code` when a link brought some.
  function edit(box, code) {
    var module = moduleOf(box);
    var panel = panels.get(module);
    if (panel) {
      if (panel.editor) {
        if (typeof code === "string") panel.editor.setDoc(code);
        panel.editor.focus();
      }
      return Promise.resolve(panel);
    }
    panel = buildPanel(box, module);
    panels.set(module, panel);
    active = panel;
    core.setText(panel.status, "Loading the editor…");
    sources = once(sources, function () {
      return getJSON(BASE + "sources.json");
    });
    manifest = once(manifest, function () {
      return getJSON(BASE + "manifest.json");
    });
    editorLib = once(editorLib, function () {
      return import(BASE + "editor.js");
    });
    return Promise.all([sources, editorLib]).then(
      function (loaded) {
        var original = loaded[0].sources[module];
        if (typeof original !== "string") {
          core.setText(panel.status, "This demo's code is not in the playground's build.");
          return panel;
        }
        panel.original = original;
        var timer = null;
        panel.editor = loaded[1].createEditor(panel.host, {
          doc: typeof code === "string" ? code : stored(module) || original,
          label: "Code of " + module + " (Tab leaves the editor; Ctrl+Enter runs)",
          onRun: function () {
            runFrom(panel);
          },
          onChange: function (text) {
            clearTimeout(timer);
            timer = setTimeout(function () {
              store(module, text, original);
            }, SAVE_DELAY_MS);
          },
        });
        if (!loaded[0].runnable[module]) {
          panel.run.disabled = true;
          core.setText(panel.status, "This demo needs what the browser's Python lacks (it fetches over HTTP " +
            "with httpx): read and edit it here; it runs only on the server.");
          return panel;
        }
        core.setText(panel.status, typeof code === "string"
          ? "This link carries edited code for this demo. Read it, then press Run code to run it in your browser."
          : "Loading Python into this browser…");
        startRuntime();
        panel.editor.focus();
        return panel;
      },
      function (err) {
        core.setText(panel.status, "The editor could not load: " + err.message + ".");
        return panel;
      }
    );
  }

  function sourcesToRun(loaded) {
    var all = {};
    Object.keys(loaded.sources).forEach(function (module) {
      if (loaded.runnable[module]) all[module] = loaded.sources[module];
    });
    panels.forEach(function (panel) {
      if (panel.editor && all[panel.module] !== undefined) all[panel.module] = panel.editor.getDoc();
    });
    return all;
  }

  function runFrom(panel) {
    if (!panel.editor || panel.run.disabled) return;
    active = panel;
    panels.forEach(function (p) {
      p.editor && p.editor.clearError();
      p.output.textContent = "";
      p.output.hidden = true;
    });
    store(panel.module, panel.editor.getDoc(), panel.original);
    var current = startRuntime();
    markBoxes();
    var began = performance.now();
    core.setText(panel.status, "Starting your code in this browser…");
    var id = ++runs;
    Promise.all([sources, current.ready]).then(function (loaded) {
      var worker = current.worker;
      return new Promise(function (resolve) {
        worker.addEventListener("message", function answer(ev) {
          if (ev.data && ev.data.type === "ran" && ev.data.id === id) {
            worker.removeEventListener("message", answer);
            resolve(ev.data.result);
          }
        });
        worker.postMessage({ type: "run", id: id, sources: sourcesToRun(loaded[0]) });
      });
    }).then(function (result) {
      if (runtime !== current || id !== runs) return; // stopped or run again meanwhile
      lastRun = { result: result, seconds: (performance.now() - began) / 1000, sinceEdit: (performance.now() - current.began) / 1000 };
      if (result.ok) {
        toBrowser(current.worker);
        say("Running your code in this browser: the box above now talks to it. Reset code or Stop code goes back to the server.");
        return;
      }
      toServer();
      var target = panels.get(result.module) || panel;
      var at = result.line ? " (line " + result.line + ")" : "";
      if (result.line && target.editor) target.editor.markError(result.line, result.column, result.message);
      core.setText(target.status, "Your code did not run: " + result.message + at +
        ". The box shows the server's demo meanwhile.");
      if (target !== panel) core.setText(panel.status, "Another demo's code on this page did not run: " + result.module + ".");
    }, function (err) {
      if (runtime === current) core.setText(panel.status, "Could not run: " + err.message);
    });
  }

  function stopAll() {
    var had = !!runtime;
    stopRuntime();
    toServer();
    markBoxes();
    if (had) say("Stopped: the engine in this browser was ended. The box shows the server's demo again; Run code starts over.");
  }

  function resetPanel(panel) {
    if (!panel.editor) return;
    panel.editor.setDoc(panel.original);
    panel.editor.clearError();
    store(panel.module, panel.original, panel.original);
    if (window.location.hash.indexOf(share.PREFIX + panel.module + "~") === 0) {
      window.history.replaceState(null, "", window.location.pathname + window.location.search);
    }
    if (where === "browser") {
      toServer();
      if (runtime && runtime.worker) runtime.worker.postMessage({ type: "run", id: ++runs, sources: {} });
    }
    core.setText(panel.status, "Back to the code the page shows, and to the server's demo.");
  }

  function copyLink(panel) {
    if (!panel.editor) return;
    share.encode(panel.module, panel.editor.getDoc()).then(function (fragment) {
      var url = window.location.origin + window.location.pathname + window.location.search + fragment;
      window.history.replaceState(null, "", url);
      var told = function (copied) {
        core.setText(panel.status, copied
          ? "Link copied: it carries your code (nothing is stored on the server)."
          : "The address bar now holds a link that carries your code.");
      };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(url).then(function () { told(true); }, function () { told(false); });
      } else {
        told(false);
      }
    });
  }

  // ---------------------------------------------------------------------
  // Every page: an Edit button on each box; a shared link opens its editor
  // ---------------------------------------------------------------------

  function addButtons() {
    document.querySelectorAll("[data-rx-demo]").forEach(function (box) {
      var line = box.querySelector(".rx-demo__line");
      box.setAttribute("data-rx-where", where);
      if (!line || line.querySelector("[data-rx-edit]")) return;
      var el = document.createElement("button");
      el.type = "button";
      el.className = "rx-play__edit";
      el.textContent = "Edit";
      el.setAttribute("data-rx-edit", "");
      el.setAttribute("aria-label", "Edit and run this demo's code");
      el.addEventListener("click", function () {
        el.setAttribute("aria-expanded", "true");
        edit(box);
      });
      line.insertBefore(el, line.querySelector("[data-lab-toggle]"));
    });
  }

  function openShared() {
    share.decode(window.location.hash).then(function (shared) {
      if (!shared) return;
      var box = Array.prototype.find.call(document.querySelectorAll("[data-rx-demo]"), function (b) {
        return moduleOf(b) === shared.module;
      });
      if (box) edit(box, shared.code);
    });
  }

  function onPage() {
    // Panels of a page left behind by instant navigation are gone; their edits stay stored.
    panels.forEach(function (panel, module) {
      if (!panel.el.isConnected) {
        if (panel.editor) panel.editor.destroy();
        panels.delete(module);
      }
    });
    if (active && !active.el.isConnected) active = null;
    addButtons();
    openShared();
  }

  window.enginePlayground = {
    get where() {
      return where;
    },
    get worker() {
      return runtime && runtime.worker;
    },
    get lastRun() {
      return lastRun;
    },
    get runtime() {
      return runtime;
    },
    code: function (module) {
      var panel = panels.get(module);
      return panel && panel.editor ? panel.editor.getDoc() : null;
    },
    edit: edit,
  };

  core.onEveryPage(window, onPage);
})();
