/*
 * lab.js: the "Show what the server does" panels under the demo boxes.
 *
 * docsite/fences.py renders, in every demo box, a toggle (hidden until this
 * script runs), and right after the box an empty panel. Opening a panel asks the server, through
 * engine.js, for this tab's observations (engineRuntime.inspect) and draws
 * them as they arrive (engineRuntime.onTrace):
 *
 *   - a timeline (SVG) with one lane per task copy and one for the tab's
 *     regular events: waiting for the lock, holding it, running outside a
 *     block, each update sent (with its seq and its size as this tab
 *     received it), each error and cancel, and where a copy ended, with a
 *     line under it listing the sizes of the latest updates;
 *   - a table of the box's states as the server holds them (backend vars
 *     only for states the demo module opted in with rx.show_backend_vars).
 *
 * While every panel is closed nothing is asked of the server; the last one
 * closed (or the page left by instant navigation) turns the inspector off.
 *
 * It also pairs the lab's reader window (demos/lab_tab_gone.py): a click on
 * `.lab-open-reader` opens the window with a fresh random pairing code and
 * sends that code with the click's event; a click on `.lab-paired` in that
 * window sends the code from its address. No tab token is ever involved.
 *
 * Needs engine.js and its core.js (engine/static/, loaded before this file).
 * No build step, no eval: server values reach the page only through
 * textContent and attributes.
 */
(function () {
  "use strict";

  if (window.engineLab && window.engineLab.loaded) return;
  var core = window.engineCore;
  if (!core) return; // engine.js says so, and without it the panels have nothing to show

  var isPlainObject = core.isPlainObject;
  var setText = core.setText;

  var SVG = "http://www.w3.org/2000/svg";
  var WINDOW_S = 60; // seconds of history a timeline keeps
  var MAX_LANES = 10; // task lanes a timeline keeps (the oldest ended ones go first)
  var MAX_ITEMS = 400; // bars and marks one lane keeps
  var TICK_MS = 250; // redraw while something is still running
  var SUMMARY_MS = 1000; // how often the timeline's spoken summary may change
  var RULER_H = 22;
  var LANE_H = 58;
  var PAD = 8;
  var MIN_BAR = 3; // px: a block of a fraction of a millisecond stays visible
  var CODE = /^[0-9a-f]{32}$/;

  // The site's root, from this script's own address (…/assets/engine/lab.js).
  var SITE_ROOT = (function () {
    var src = document.currentScript && document.currentScript.src;
    if (!src) return new URL("/", window.location.href).href;
    return src.replace(/assets\/engine\/lab\.js(?:[?#].*)?$/, "");
  })();
  var READER_PATH = "lab-reader/";

  var runtime = null; // window.engineRuntime, once seen
  var unsubscribe = null;
  var panels = []; // open panels, in the order they were opened
  var values = {}; // {stateName: {var: value}}: the latest table the server sent
  var updateBytes = new Map(); // seq -> bytes of that `update` as this tab received it (as UTF-8 JSON)
  var sizedSocket = null; // the socket whose updates are measured
  var MAX_SIZES = 2000;
  var LAST_SIZES = 8; // updates the sizes line lists
  var tickTimer = null;
  var since = null; // the inspector session the router's bookkeeping belongs to
  var serial = 0;

  // Which box an observation belongs to, by the class of its handler.
  var router = {
    laneClass: {}, // task lane -> class name (from task_started), or the class it was given
    foreign: {}, // lanes that did not start in this tab's view (modify_state, another tab's task)
    current: null, // class of the regular event running in the events lane
    last: null, // class of the last regular event that started
  };

  function resetRouter() {
    router.laneClass = {};
    router.foreign = {};
    router.current = null;
    router.last = null;
  }

  // ---------------------------------------------------------------------
  // Small helpers
  // ---------------------------------------------------------------------

  function svg(tag, attrs, parent) {
    var el = document.createElementNS(SVG, tag);
    Object.keys(attrs).forEach(function (name) {
      el.setAttribute(name, String(attrs[name]));
    });
    if (parent) parent.appendChild(el);
    return el;
  }

  function classOf(handler) {
    return typeof handler === "string" && handler ? handler.split(".")[0] : null;
  }

  function duration(seconds) {
    if (seconds < 1) return Math.max(0, Math.round(seconds * 1000)) + " ms";
    return seconds.toFixed(1) + " s";
  }

  function randomCode() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map
      .call(bytes, function (b) {
        return ("0" + b.toString(16)).slice(-2);
      })
      .join("");
  }

  function byteText(n) {
    return n < 10240 ? n + " B" : (n / 1024).toFixed(1) + " KiB";
  }

  // Note the size of every update the socket delivers, by seq: the trace of
  // the commit that sent it comes after it, on the same socket.
  function measureUpdates(rt) {
    var socket = rt.socket;
    if (!socket || socket === sizedSocket || typeof window.TextEncoder !== "function") return;
    sizedSocket = socket;
    var encoder = new window.TextEncoder();
    socket.on("update", function (msg) {
      if (!isPlainObject(msg) || typeof msg.seq !== "number") return;
      updateBytes.set(msg.seq, encoder.encode(JSON.stringify(msg)).length);
      if (updateBytes.size > MAX_SIZES) updateBytes.delete(updateBytes.keys().next().value);
    });
  }

  function parseJSON(text, fallback) {
    try {
      return JSON.parse(text);
    } catch (e) {
      return fallback;
    }
  }

  // ---------------------------------------------------------------------
  // One open panel: its lanes, drawn as an SVG, and its table
  // ---------------------------------------------------------------------

  function Panel(box, el) {
    this.box = box;
    this.el = el;
    this.origin = window.performance.now();
    this.classes = parseJSON(el.getAttribute("data-lab-classes") || "{}", {});
    this.classNames = Object.keys(this.classes).map(function (name) {
      return this.classes[name];
    }, this);
    this.lanes = {};
    this.order = [];
    this.dropped = 0;
    this.summaryAt = 0;
    this.timeline = el.querySelector("[data-lab-timeline]");
    this.svg = el.querySelector("[data-lab-svg]");
    this.empty = el.querySelector("[data-lab-empty]");
    this.rows = el.querySelector("[data-lab-rows]");
    this.note = el.querySelector("[data-lab-note]");
    if (!this.note) {
      this.note = document.createElement("div");
      this.note.className = "lab-panel__note";
      this.note.setAttribute("data-lab-note", "");
      this.note.hidden = true;
      this.timeline.parentNode.insertBefore(this.note, this.timeline.nextSibling);
    }
    this.sizes = el.querySelector("[data-lab-sizes]");
    if (!this.sizes) {
      this.sizes = document.createElement("div");
      this.sizes.className = "lab-panel__sizes";
      this.sizes.setAttribute("data-lab-sizes", "");
      this.timeline.parentNode.insertBefore(this.sizes, this.note);
    }
    this.sizes.hidden = true; // (a panel opened again starts empty)
    this.shownValues = {};
    this.lane("events", "events");
    var self = this;
    this.onScroll = function () {
      self.placeLabels();
    };
    this.timeline.addEventListener("scroll", this.onScroll);
  }

  Panel.prototype.owns = function (cls) {
    return cls === null || this.classNames.indexOf(cls) >= 0;
  };

  Panel.prototype.now = function () {
    return (window.performance.now() - this.origin) / 1000;
  };

  Panel.prototype.lane = function (id, kind) {
    var lane = this.lanes[id];
    if (lane) return lane;
    lane = {
      id: id,
      kind: kind,
      start: null,
      last: 0,
      end: null,
      status: null,
      handler: null,
      wait: null,
      hold: null,
      waits: [],
      holds: [],
      marks: [],
      events: 0,
    };
    this.lanes[id] = lane;
    this.order.push(id);
    this.trimLanes();
    return lane;
  };

  // At most MAX_LANES task lanes: the oldest that ended go first, then the oldest.
  Panel.prototype.trimLanes = function () {
    var self = this;
    var tasks = this.order.filter(function (id) {
      return id !== "events";
    });
    while (tasks.length > MAX_LANES) {
      var victim = null;
      for (var i = 0; i < tasks.length; i++) {
        if (self.lanes[tasks[i]].end !== null) {
          victim = tasks[i];
          break;
        }
      }
      if (victim === null) victim = tasks[0];
      tasks.splice(tasks.indexOf(victim), 1);
      this.order.splice(this.order.indexOf(victim), 1);
      delete this.lanes[victim];
    }
  };

  function pushCapped(list, item) {
    list.push(item);
    if (list.length > MAX_ITEMS) list.splice(0, list.length - MAX_ITEMS);
  }

  Panel.prototype.apply = function (e, at, foreign) {
    var s = Math.max(0, (at - this.origin) / 1000);
    var kind = e.lane === "events" ? "events" : foreign ? "other" : "task";
    var lane = this.lane(e.lane, kind);
    var detail = isPlainObject(e.detail) ? e.detail : {};
    if (lane.start === null) lane.start = s;
    lane.last = Math.max(lane.last, s);
    switch (e.kind) {
      case "task_started":
        lane.kind = "task";
        lane.start = s;
        lane.handler = typeof detail.handler === "string" ? detail.handler : null;
        break;
      case "event_started":
        lane.events += 1;
        break;
      case "lock_waiting":
        lane.wait = s;
        break;
      case "lock_taken":
        if (lane.wait !== null) pushCapped(lane.waits, { from: lane.wait, to: s });
        lane.wait = null;
        lane.hold = s;
        break;
      case "checkpoint":
      case "block_left":
        if (typeof detail.seq === "number") {
          pushCapped(lane.marks, { type: "update", t: s, seq: detail.seq, bytes: updateBytes.get(detail.seq) });
        }
        break;
      case "lock_released":
        if (lane.hold !== null) {
          pushCapped(lane.holds, { from: lane.hold, to: s, rolledBack: detail.outcome === "rolled_back" });
        }
        lane.hold = null;
        break;
      case "task_ended":
        lane.kind = "task";
        lane.end = s;
        lane.status = typeof detail.status === "string" ? detail.status : "ended";
        if (lane.wait !== null) pushCapped(lane.waits, { from: lane.wait, to: s });
        if (lane.hold !== null) pushCapped(lane.holds, { from: lane.hold, to: s, rolledBack: false });
        lane.wait = lane.hold = null;
        break;
      case "cancel_requested":
        pushCapped(lane.marks, { type: "cancel", t: s });
        break;
      case "error":
        pushCapped(lane.marks, {
          type: "error",
          t: s,
          message: typeof detail.message === "string" ? detail.message : "error",
        });
        break;
      default:
        break;
    }
  };

  // Forget what scrolled out of the window.
  Panel.prototype.prune = function (windowStart) {
    var self = this;
    this.order.slice().forEach(function (id) {
      var lane = self.lanes[id];
      if (id !== "events" && lane.end !== null && lane.end < windowStart) {
        self.order.splice(self.order.indexOf(id), 1);
        delete self.lanes[id];
        return;
      }
      var keep = function (item) {
        return (item.to !== undefined ? item.to : item.t) >= windowStart;
      };
      lane.waits = lane.waits.filter(keep);
      lane.holds = lane.holds.filter(keep);
      lane.marks = lane.marks.filter(keep);
    });
  };

  Panel.prototype.busy = function () {
    var self = this;
    return this.order.some(function (id) {
      var lane = self.lanes[id];
      return lane.wait !== null || lane.hold !== null || (lane.kind === "task" && lane.end === null);
    });
  };

  Panel.prototype.label = function (lane) {
    if (lane.kind === "events") {
      return "events: the tab's regular handlers" + (lane.events ? " (" + lane.events + ")" : "");
    }
    if (lane.end !== null) {
      return lane.id + ": " + lane.status + " after " + duration(lane.end - lane.start);
    }
    if (lane.kind === "other") {
      return lane.id + (lane.id.indexOf("#") >= 0 ? ": writes here via modify_state" : ": modify_state from your own asyncio task");
    }
    return lane.id + ": running";
  };

  // The latest moment anything was seen in this panel.
  Panel.prototype.lastSeen = function () {
    var self = this;
    return this.order.reduce(function (latest, id) {
      var lane = self.lanes[id];
      return Math.max(latest, lane.last, lane.end !== null ? lane.end : 0);
    }, 0);
  };

  Panel.prototype.draw = function () {
    // While something runs the timeline grows with the clock; once all is
    // quiet it stops at the last thing seen, which stays in view.
    var busy = this.busy();
    var now = busy ? this.now() : this.lastSeen();
    var narrow = this.timeline.clientWidth < 600;
    var px = narrow ? 56 : 80; // px per second: a 0.5 s tick is 28 px apart even on a phone
    var windowStart = Math.max(0, now - WINDOW_S);
    this.prune(windowStart);
    var x = function (s) {
      return PAD + (Math.max(s, windowStart) - windowStart) * px;
    };
    var visible = this.timeline.clientWidth || 300;
    var width = Math.max(visible, Math.ceil(x(now) + 170));
    var height = RULER_H + this.order.length * LANE_H + 4;
    var follow = this.timeline.scrollLeft + visible >= this.timeline.scrollWidth - 24;

    var root = this.svg;
    while (root.firstChild) root.removeChild(root.firstChild);
    root.setAttribute("width", String(width));
    root.setAttribute("height", String(height));
    root.setAttribute("viewBox", "0 0 " + width + " " + height);

    // The ruler: a tick per second, a label every second (every two when narrow).
    var ruler = svg("g", { class: "lab-ruler" }, root);
    var step = narrow ? 2 : 1;
    for (var sec = Math.ceil(windowStart); sec <= now + 1; sec++) {
      svg("line", { class: "lab-tick", x1: x(sec), y1: RULER_H - 6, x2: x(sec), y2: height }, ruler);
      if (sec % step === 0) {
        var label = svg("text", { class: "lab-tick-label", x: x(sec) + 3, y: RULER_H - 9 }, ruler);
        label.textContent = sec + " s";
      }
    }
    if (busy) svg("line", { class: "lab-now", x1: x(now), y1: RULER_H - 6, x2: x(now), y2: height }, root);

    var self = this;
    this.labels = [];
    this.order.forEach(function (id, index) {
      self.drawLane(root, self.lanes[id], RULER_H + index * LANE_H, x, now);
    });
    this.placeLabels();
    if (follow) this.timeline.scrollLeft = this.timeline.scrollWidth;

    var some = this.order.length > 1 || this.lanes.events.start !== null;
    if (this.empty.hidden !== some) this.empty.hidden = some;
    if (this.dropped > 0) {
      setText(this.note, "The server dropped " + this.dropped + " observations this tab could not take in time.");
      this.note.hidden = false;
    }
    this.drawSizes();
    this.summarize();
  };

  // The latest updates of this box's lanes and their sizes, in words.
  Panel.prototype.drawSizes = function () {
    var self = this;
    var sized = [];
    this.order.forEach(function (id) {
      self.lanes[id].marks.forEach(function (m) {
        if (m.type === "update" && typeof m.bytes === "number") sized.push(m);
      });
    });
    if (!sized.length) return;
    sized.sort(function (a, b) { return a.seq - b.seq; });
    var text = sized.slice(-LAST_SIZES).map(function (m) {
      return "#" + m.seq + " " + byteText(m.bytes);
    });
    setText(this.sizes, "Size of each update as this tab received it, the latest last: " + text.join(", "));
    this.sizes.hidden = false;
  };

  Panel.prototype.drawLane = function (root, lane, top, x, now) {
    var g = svg(
      "g",
      { class: "lab-lane lab-lane--" + lane.kind, "data-lane": lane.id, "data-lane-kind": lane.kind },
      root
    );
    if (lane.status) g.setAttribute("data-status", lane.status);
    var mid = top + 33; // the bar's middle: the name above it, update dots just above the bar, seqs below
    var name = svg("text", { class: "lab-lane-label", x: PAD, y: top + 12 }, g);
    name.textContent = this.label(lane);
    this.labels.push({ el: name, x: lane.start === null ? PAD : x(lane.start) });

    if (lane.start !== null && lane.kind !== "events") {
      var until = lane.end !== null ? lane.end : lane.kind === "other" ? lane.last : now;
      var x1 = x(lane.start);
      var x2 = Math.max(x(until), x1 + MIN_BAR + 1);
      svg("line", { class: "lab-run", x1: x1, y1: mid, x2: x2, y2: mid, "data-mark": "run" }, g);
      if (lane.end !== null) {
        svg("line", { class: "lab-end", x1: x2, y1: mid - 9, x2: x2, y2: mid + 9, "data-mark": "end" }, g);
        g.setAttribute("data-duration", String(lane.end - lane.start));
      }
    }
    // Waits and holds: the ended spans, and the one still open (up to now), as bars on the lane.
    function bars(spans, openFrom, mark, height, classFor) {
      spans.concat(openFrom !== null ? [{ from: openFrom, to: now, open: true }] : []).forEach(function (span) {
        var from = x(span.from);
        var rect = svg(
          "rect",
          {
            class: classFor(span),
            x: from,
            y: mid - height / 2,
            width: Math.max(MIN_BAR, x(span.to) - from),
            height: height,
            "data-mark": mark,
            "data-duration": (span.to - span.from).toFixed(3),
          },
          g
        );
        if (span.open) rect.setAttribute("data-open", "true");
      });
    }
    bars(lane.waits, lane.wait, "wait", 10, function () { return "lab-wait"; });
    bars(lane.holds, lane.hold, "hold", 14, function (h) {
      return "lab-hold" + (h.rolledBack ? " lab-hold--rolled-back" : "");
    });
    var lastSeqX = -Infinity;
    lane.marks.forEach(function (m) {
      var mx = x(m.t);
      var mark;
      if (m.type === "update") {
        mark = svg(
          "circle",
          { class: "lab-update", cx: mx, cy: mid - 13, r: 4, "data-mark": "update", "data-seq": m.seq },
          g
        );
        var sized = typeof m.bytes === "number";
        if (sized) mark.setAttribute("data-bytes", String(m.bytes));
        svg("title", {}, mark).textContent =
          "update #" + m.seq + " sent to the tab" + (sized ? ", " + byteText(m.bytes) : "");
        if (mx - lastSeqX >= (sized ? 64 : 24)) {
          svg("text", { class: "lab-seq", x: mx, y: mid + 21 }, g).textContent =
            "#" + m.seq + (sized ? " " + byteText(m.bytes) : "");
          lastSeqX = mx;
        }
      } else if (m.type === "error") {
        mark = svg(
          "path",
          {
            class: "lab-error",
            d: "M" + (mx - 5) + " " + (mid - 5) + " L" + (mx + 5) + " " + (mid + 5) +
              " M" + (mx + 5) + " " + (mid - 5) + " L" + (mx - 5) + " " + (mid + 5),
            "data-mark": "error",
            "data-message": m.message,
          },
          g
        );
        svg("title", {}, mark).textContent = "error: " + m.message;
      } else if (m.type === "cancel") {
        mark = svg(
          "path",
          {
            class: "lab-cancel",
            d: "M" + mx + " " + (mid - 7) + " L" + (mx + 5) + " " + mid + " L" + mx + " " + (mid + 7) +
              " L" + (mx - 5) + " " + mid + " Z",
            "data-mark": "cancel",
          },
          g
        );
        svg("title", {}, mark).textContent = "cancel asked";
      }
    });
  };

  // Lane names stay readable while the timeline scrolls: each sits at its
  // lane's start, or at the left edge of what is shown once that scrolled away.
  Panel.prototype.placeLabels = function () {
    var left = this.timeline.scrollLeft + PAD;
    (this.labels || []).forEach(function (label) {
      label.el.setAttribute("x", String(Math.max(label.x, left)));
    });
  };

  // What the timeline shows, in words, for screen readers (at most once a second).
  Panel.prototype.summarize = function () {
    var at = window.performance.now();
    if (at - this.summaryAt < SUMMARY_MS) return;
    this.summaryAt = at;
    var self = this;
    var parts = this.order.map(function (id) {
      var lane = self.lanes[id];
      var updates = lane.marks.filter(function (m) {
        return m.type === "update";
      });
      var errors = lane.marks.filter(function (m) {
        return m.type === "error";
      }).length;
      var text = self.label(lane);
      if (updates.length) text += ", " + updates.length + " updates, the last #" + updates[updates.length - 1].seq;
      if (errors) text += ", " + errors + " errors";
      return text;
    });
    this.svg.setAttribute("aria-label", "Timeline, " + parts.length + " lanes. " + parts.join(". ") + ".");
  };

  // The table: one group of rows per state of the box, values as JSON text.
  Panel.prototype.drawTable = function () {
    var self = this;
    var names = Object.keys(this.classes).filter(function (name) {
      return isPlainObject(values[name]);
    });
    if (!names.length) return;
    var key = JSON.stringify(
      names.map(function (name) {
        return [name, values[name]];
      })
    );
    if (key === this.tableKey) return;
    this.tableKey = key;
    var rows = this.rows;
    var previous = this.shownValues;
    var shown = {};
    var fresh = document.createDocumentFragment();
    names.forEach(function (name) {
      var head = document.createElement("tr");
      var th = document.createElement("th");
      th.setAttribute("colspan", "2");
      th.setAttribute("scope", "colgroup");
      th.className = "lab-table__state";
      th.textContent = self.classes[name];
      head.appendChild(th);
      fresh.appendChild(head);
      var table = values[name];
      Object.keys(table).forEach(function (varName) {
        var tr = document.createElement("tr");
        tr.setAttribute("data-var", name + "." + varName);
        var cell = document.createElement("th");
        cell.setAttribute("scope", "row");
        var code = document.createElement("code");
        // Task controls are stored as "handler@what": shown as MyState.handler.what reads.
        code.textContent = varName.replace("@", ".");
        cell.appendChild(code);
        var td = document.createElement("td");
        var text = core.jsonText(table[varName]);
        td.textContent = text;
        var id = name + "." + varName;
        shown[id] = text;
        if (previous[id] !== undefined && previous[id] !== text) td.className = "lab-changed";
        tr.appendChild(cell);
        tr.appendChild(td);
        fresh.appendChild(tr);
      });
    });
    this.shownValues = shown;
    while (rows.firstChild) rows.removeChild(rows.firstChild);
    rows.appendChild(fresh);
  };

  Panel.prototype.close = function () {
    this.timeline.removeEventListener("scroll", this.onScroll);
  };

  // ---------------------------------------------------------------------
  // Observations to panels
  // ---------------------------------------------------------------------

  function route(e, at) {
    if (!isPlainObject(e) || typeof e.lane !== "string" || typeof e.kind !== "string") return;
    var detail = isPlainObject(e.detail) ? e.detail : {};
    var cls;
    var foreign = false;
    if (e.lane === "events") {
      if (e.kind === "event_started") {
        router.current = classOf(detail.handler);
        router.last = router.current;
      }
      cls = router.current || router.last;
      if (e.kind === "event_ended") router.current = null;
    } else {
      if (e.kind === "task_started") {
        // A handler is "State.name"; a coroutine the engine runs for the tab
        // (app.create_task) has a bare name and belongs with the event that started it.
        var handler = typeof detail.handler === "string" ? detail.handler : "";
        router.laneClass[e.lane] = handler.indexOf(".") > 0 ? classOf(handler) : router.last;
        delete router.foreign[e.lane];
      }
      if (!Object.prototype.hasOwnProperty.call(router.laneClass, e.lane)) {
        // Not started in this tab's view: modify_state from a coroutine (or
        // another tab's task). It belongs with the event that ran just before.
        router.laneClass[e.lane] = router.last;
        router.foreign[e.lane] = true;
      }
      cls = router.laneClass[e.lane];
      foreign = !!router.foreign[e.lane];
    }
    panels.forEach(function (panel) {
      if (panel.owns(cls)) panel.apply(e, at, foreign);
    });
  }

  function onTrace(msg, openedAt) {
    if (openedAt !== since) {
      since = openedAt;
      resetRouter();
    }
    if (isPlainObject(msg.values)) {
      Object.keys(msg.values).forEach(function (name) {
        if (isPlainObject(msg.values[name])) values[name] = msg.values[name];
      });
    }
    msg.events.forEach(function (e) {
      route(e, openedAt + (typeof e.t === "number" ? e.t * 1000 : 0));
    });
    if (typeof msg.dropped === "number" && msg.dropped > 0) {
      panels.forEach(function (panel) {
        panel.dropped += msg.dropped;
      });
    }
    scheduleDraw();
  }

  var drawPending = false;

  function scheduleDraw() {
    if (drawPending) return;
    drawPending = true;
    window.requestAnimationFrame(function () {
      drawPending = false;
      drawAll();
    });
  }

  function drawAll() {
    panels.forEach(function (panel) {
      if (!panel.el.isConnected) return;
      panel.draw();
      panel.drawTable();
    });
  }

  function tick() {
    if (panels.some(function (panel) { return panel.busy(); })) scheduleDraw();
  }

  // ---------------------------------------------------------------------
  // Toggles
  // ---------------------------------------------------------------------

  function findRuntime() {
    if (!runtime && window.engineRuntime && typeof window.engineRuntime.inspect === "function") {
      runtime = window.engineRuntime;
    }
    return runtime;
  }

  function pageStates() {
    return findRuntime() ? runtime.states : [];
  }

  // A box's panel is the element right after it (fences.py renders it there).
  function panelOf(toggle) {
    var box = toggle.closest("[data-rx-demo]");
    var next = box ? box.nextElementSibling : null;
    return next && next.hasAttribute("data-lab-panel") ? next : null;
  }

  function openPanel(toggle) {
    var rt = findRuntime();
    var el = panelOf(toggle);
    if (!rt || !el) return;
    if (!unsubscribe) unsubscribe = rt.onTrace(onTrace);
    measureUpdates(rt);
    var panel = new Panel(toggle.closest("[data-rx-demo]"), el);
    panels.push(panel);
    el.hidden = false;
    toggle.setAttribute("aria-expanded", "true");
    rt.inspect(true, pageStates());
    if (tickTimer === null) tickTimer = window.setInterval(tick, TICK_MS);
    panel.draw();
    panel.drawTable();
  }

  function closePanel(panel) {
    panels.splice(panels.indexOf(panel), 1);
    panel.close();
    panel.el.hidden = true;
    var toggle = panel.box.querySelector("[data-lab-toggle]");
    if (toggle) toggle.setAttribute("aria-expanded", "false");
    afterClose();
  }

  function afterClose() {
    if (panels.length) return;
    if (tickTimer !== null) {
      window.clearInterval(tickTimer);
      tickTimer = null;
    }
    values = {};
    if (findRuntime()) runtime.inspect(false);
  }

  function onToggle(toggle) {
    var el = panelOf(toggle);
    for (var i = 0; i < panels.length; i++) {
      if (panels[i].el === el) {
        closePanel(panels[i]);
        return;
      }
    }
    openPanel(toggle);
  }

  // ---------------------------------------------------------------------
  // The reader window of the "tab is gone" box
  // ---------------------------------------------------------------------

  function clickEvent(button) {
    var action = parseJSON(button.getAttribute("data-rx-on-click") || "null", null);
    return isPlainObject(action) && typeof action.event === "string" ? action.event : null;
  }

  function usable(button) {
    return !button.disabled && button.getAttribute("aria-disabled") !== "true";
  }

  function openReader(button) {
    var name = clickEvent(button);
    if (!name || !usable(button) || !findRuntime()) return;
    var code = randomCode();
    var url = new URL(READER_PATH + "?pair=" + code, SITE_ROOT).href;
    // noopener: the window starts with storage of its own, so it gets a tab
    // (and a token) of its own, and never sees this tab's ticket.
    window.open(url, "_blank", "noopener,popup,width=460,height=640");
    runtime.send(button, name, [code]);
  }

  function pairedCode() {
    var code = new URLSearchParams(window.location.search).get("pair");
    return code && CODE.test(code) ? code : null;
  }

  // Capture phase: these clicks carry a code, so engine.js must not send them bare.
  function onClickCapture(ev) {
    var t = ev.target;
    if (!t || typeof t.closest !== "function") return;
    var opener = t.closest(".lab-open-reader[data-rx-on-click]");
    var paired = t.closest(".lab-paired[data-rx-on-click]");
    if (opener) {
      ev.stopPropagation();
      openReader(opener);
    } else if (paired && pairedCode() && findRuntime()) {
      ev.stopPropagation();
      var name = clickEvent(paired);
      if (name && usable(paired)) runtime.send(paired, name, [pairedCode()]);
    }
  }

  function onClick(ev) {
    var t = ev.target;
    if (!t || typeof t.closest !== "function") return;
    var toggle = t.closest("[data-lab-toggle]");
    if (toggle) onToggle(toggle);
  }

  // ---------------------------------------------------------------------
  // Page scan (initial load and every instant navigation)
  // ---------------------------------------------------------------------

  function scan() {
    findRuntime();
    var toggles = document.querySelectorAll("[data-lab-toggle]");
    for (var i = 0; i < toggles.length; i++) {
      var toggle = toggles[i];
      var el = panelOf(toggle);
      if (!el) continue;
      if (!el.id) {
        serial += 1;
        el.id = "lab-panel-" + serial;
      }
      toggle.setAttribute("aria-controls", el.id);
      if (runtime) toggle.hidden = false;
    }
    // Panels of a page the reader left are closed; with none open, the inspector is off.
    panels.slice().forEach(function (panel) {
      if (!panel.el.isConnected) {
        panels.splice(panels.indexOf(panel), 1);
        panel.close();
      }
    });
    if (panels.length) {
      runtime.inspect(true, pageStates());
    } else {
      afterClose();
    }
  }

  document.addEventListener("click", onClickCapture, true);
  document.addEventListener("click", onClick);

  window.engineLab = {
    loaded: true,
    get panels() {
      return panels.length;
    },
    scan: scan,
  };

  core.onEveryPage(window, scan);
})();
