/*
 * engine.js: the browser runtime of the docs site's live demo boxes.
 *
 * It keeps one Socket.IO connection per page (namespace /engine, websocket
 * transport only) and keeps the markup described in docs/site/protocol.md in
 * step with the tab's server-side state:
 *
 *   data-rx-demo / data-rx-states        a demo box and the states it shows
 *   data-rx-status / data-rx-note        connection status / a line saying what it means
 *   data-rx-error (data-rx-error-message, data-rx-dismiss)   last error, dismissable
 *   data-rx-text / data-rx-show / data-rx-value / data-rx-progress   bindings (JSON expressions)
 *   data-rx-disabled / data-rx-busy                    control flags (JSON expressions)
 *   data-rx-on-click / data-rx-on-change               actions (JSON)
 *
 * Controls (elements with an action) are usable only while the box is live.
 * Number fields with min/max/step are checked here, with a message that says
 * what to type, before anything is sent.
 *
 * It also names two widgets of the theme that lack a name (see nameThemeWidgets).
 *
 * Needs the global `io` from the socket.io-client browser bundle and
 * `engineCore` from core.js (the pure parts: values, expressions, updates),
 * both loaded before this file. No build step, no eval: server values reach
 * the page only through textContent, .value, .hidden and a few attributes.
 *
 * For the site's lab.js (the "Show what the server does" panels): engineRuntime.inspect(on,
 * states), engineRuntime.onTrace(listener) and engineRuntime.send(control, name, args).
 *
 * Debug hook for tests: window.engineRuntime.{store, seq, socket, states, status, inspecting}.
 */
(function () {
  "use strict";

  if (window.engineRuntime && window.engineRuntime.loaded) {
    // Loaded twice (e.g. a page script re-run): the first copy stays in charge.
    window.engineRuntime.rescan();
    return;
  }

  var core = window.engineCore;
  if (!core) {
    if (window.console && console.warn) {
      console.warn("engine.js: core.js is not loaded (it goes before engine.js); demos stay static");
    }
    return;
  }
  var isPlainObject = core.isPlainObject;
  var truthy = core.truthy;
  var toText = core.toText;
  var setText = core.setText;
  var ExprError = core.ExprError;

  var NAMESPACE = "/engine";
  var TICKET_KEY = "engine.ticket";
  var INPUT_DEBOUNCE_MS = 250;
  var ACK_TIMEOUT_MS = 30000;
  var RESYNC_RETRY_MS = 5000;
  var RECONNECT_MIN_MS = 1000;
  var RECONNECT_MAX_MS = 30000;
  var MAX_TRACKED_EVENTS = 500;

  var STATUS_CONNECTING = "connecting";
  var STATUS_LIVE = "live";
  var STATUS_OFFLINE = "offline";

  // What the box's note line says in each status (nothing while it works).
  var NOTES = {
    connecting: "",
    live: "",
    offline: "Cannot reach the server; trying again by itself.",
  };
  var NOTE_NO_CLIENT = "The demo's scripts did not load; reload the page to try again.";
  var NOTE_STARTED_OVER = "The server restarted: this tab's demos start over from their first values.";

  // ---------------------------------------------------------------------
  // Runtime state
  // ---------------------------------------------------------------------

  var store = {}; // {stateName: {varName: value}}
  var seq = null; // seq of the last update applied; null before the first full
  var socket = null;
  var status = STATUS_CONNECTING;
  var states = []; // states the current page shows (union over its boxes)
  var sentStates = null; // states the server was last told about (auth or resync)
  // Names this page load. A reconnect of the same page presents it with its
  // ticket and takes its tab back even if the server has not yet noticed the
  // old socket close; a duplicated tab (same ticket, new page load) does not
  // match, and the server gives it a tab of its own.
  var CLIENT_ID = (function () {
    var bytes = new Uint8Array(12);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  })();
  var resyncSentAt = 0; // when a resync went out that no full update answered yet
  var fullSinceConnect = false; // has this connection delivered its full update?
  var eventCounter = 0;
  var eventBoxes = new Map(); // event id -> demo box element that sent it
  var awaitingAck = new Map(); // event id -> has an error for it come before its ack?
  var reconnectDelay = RECONNECT_MIN_MS;
  var reconnectTimer = null;
  var listenersInstalled = false;
  var clientMissing = false; // socket.io-client did not load: the box can never go live
  var wasLive = false; // has this page load been live before (so a new tab means its state was lost)?
  var startedOver = false; // reconnected to a new tab: say so until the reader acts
  var openSocket = null; // how connect() opens the page's socket; null: Socket.IO to the server (useTransport)

  var CONTROLS = "[data-rx-on-click], [data-rx-on-change], [data-rx-disabled], [data-rx-busy]";

  // Per-element bookkeeping (WeakMaps so replaced DOM is collected).
  var parsedAttrs = new WeakMap(); // el -> {attrName: {raw, value}}
  var lastValueKey = new WeakMap(); // input -> JSON of the value last applied
  var lastSent = new WeakMap(); // input -> text last sent by its on-change action
  var debounceTimers = new WeakMap(); // input -> pending input-debounce timer
  var inflight = new WeakMap(); // input -> number of events without an ack yet
  var errorSource = new WeakMap(); // box -> control whose event or text caused its error

  var warned = new Set();

  function warnOnce(key, message, detail) {
    if (warned.has(key)) return;
    warned.add(key);
    if (window.console && console.warn) console.warn("engine.js: " + message, detail);
  }

  // ---------------------------------------------------------------------
  // Ticket storage
  // ---------------------------------------------------------------------

  function readTicket() {
    try {
      return window.sessionStorage.getItem(TICKET_KEY);
    } catch (e) {
      return null;
    }
  }

  function writeTicket(token) {
    try {
      if (typeof token === "string" && token) {
        window.sessionStorage.setItem(TICKET_KEY, token);
      }
    } catch (e) {
      /* storage disabled: the tab simply gets a fresh state on reload */
    }
  }

  // ---------------------------------------------------------------------
  // Attributes (JSON, parsed once per text)
  // ---------------------------------------------------------------------

  function parseAttr(el, name) {
    var raw = el.getAttribute(name);
    if (raw === null) return undefined;
    var cache = parsedAttrs.get(el);
    if (!cache) {
      cache = {};
      parsedAttrs.set(el, cache);
    }
    var hit = cache[name];
    if (hit && hit.raw === raw) return hit.value;
    var value;
    try {
      value = JSON.parse(raw);
    } catch (e) {
      warnOnce(name + raw, "bad JSON in " + name + ":", raw);
      value = undefined;
    }
    cache[name] = { raw: raw, value: value };
    return value;
  }

  // ---------------------------------------------------------------------
  // Expressions
  // ---------------------------------------------------------------------

  // {ok: true, value} or {ok: false} (missing var or bad expression).
  function evalAttr(el, name) {
    var expr = parseAttr(el, name);
    if (expr === undefined) return { ok: false };
    try {
      return { ok: true, value: core.evaluate(expr, store) };
    } catch (e) {
      // A var not known yet: the element keeps what it shows (the server-rendered default).
      if (e !== core.MISSING) {
        warnOnce(name + el.getAttribute(name), "cannot evaluate " + name + ": " + e.message, el);
      }
      return { ok: false };
    }
  }

  // ---------------------------------------------------------------------
  // Rendering
  // ---------------------------------------------------------------------

  // Does the text in an input already stand for value v?
  function inputMatches(el, v) {
    var text = el.value;
    if (text === toText(v)) return true;
    if (typeof v === "number" && text.trim() !== "") return Number(text) === v;
    return false;
  }

  function isEditing(el) {
    return document.activeElement === el;
  }

  function setInputValue(el, v) {
    var text = toText(v);
    if (el.value !== text) el.value = text;
    lastSent.delete(el); // the next edit is news again, whatever it says
    // The refused text is gone; the box's message still says why, and now
    // also what the field holds again, so the two do not seem to disagree.
    if (!fieldProblem(el)) {
      setAriaFlag(el, "aria-invalid", false);
      sayFieldIsBack(el, text);
    }
  }

  var BACK_NOTE = / [^.]+ is back to .*$/; // the note below, as added last time

  function sayFieldIsBack(el, text) {
    var box = el.closest("[data-rx-demo]");
    var holder = box && box.querySelector("[data-rx-error]:not([hidden])");
    if (!holder || errorSource.get(box) !== el) return;
    var message = errorTextHolder(holder).textContent.replace(BACK_NOTE, "");
    showError(box, message + " " + fieldName(el) + " is back to " + text + ".", el);
  }

  function renderValue(el, force) {
    var r = evalAttr(el, "data-rx-value");
    if (!r.ok) return;
    var key = JSON.stringify(r.value);
    if (!force && lastValueKey.get(el) === key) return; // unchanged since last time
    lastValueKey.set(el, key);
    if (isEditing(el)) {
      // The person typing wins while their edit is still on its way: it is
      // sent shortly and the server's answer comes back as a new update.
      if (debounceTimers.has(el)) return;
      if (inputMatches(el, r.value)) return;
    }
    setInputValue(el, r.value);
  }

  // An on/off binding: true only when its expression holds (false while unknown).
  function flag(el, name) {
    if (!el.hasAttribute(name)) return false;
    var r = evalAttr(el, name);
    return r.ok && truthy(r.value);
  }

  function setAriaFlag(el, name, on) {
    if (on && el.getAttribute(name) !== "true") el.setAttribute(name, "true");
    else if (!on && el.hasAttribute(name)) el.removeAttribute(name);
  }

  // A control works while its box is live and its disabled binding is false.
  // A busy one says so (aria-busy) and ignores clicks through aria-disabled
  // rather than the disabled property, so keyboard focus stays on it.
  function renderControl(el) {
    var disabled = status !== STATUS_LIVE || flag(el, "data-rx-disabled");
    if (el.disabled !== disabled) el.disabled = disabled;
    var busy = flag(el, "data-rx-busy");
    setAriaFlag(el, "aria-busy", busy);
    setAriaFlag(el, "aria-disabled", busy);
  }

  // A number in [0, 1] fills the bar; anything else (null) makes it indeterminate.
  function renderProgress(el) {
    var r = evalAttr(el, "data-rx-progress");
    if (!r.ok) return;
    var v = r.value;
    if (typeof v === "number" && isFinite(v)) {
      var text = String(Math.min(1, Math.max(0, v)));
      if (el.getAttribute("value") !== text) el.setAttribute("value", text);
    } else if (el.hasAttribute("value")) {
      el.removeAttribute("value");
    }
  }

  function renderControls() {
    var list = document.querySelectorAll(CONTROLS);
    for (var i = 0; i < list.length; i++) renderControl(list[i]);
  }

  function render(force) {
    var i, r, el, list;
    list = document.querySelectorAll("[data-rx-text]");
    for (i = 0; i < list.length; i++) {
      el = list[i];
      r = evalAttr(el, "data-rx-text");
      if (!r.ok) continue;
      var text = toText(r.value);
      if (el.textContent !== text) el.textContent = text;
    }
    list = document.querySelectorAll("[data-rx-show]");
    for (i = 0; i < list.length; i++) {
      el = list[i];
      r = evalAttr(el, "data-rx-show");
      if (!r.ok) continue;
      var hidden = !truthy(r.value);
      if (el.hidden !== hidden) el.hidden = hidden;
    }
    list = document.querySelectorAll("[data-rx-value]");
    for (i = 0; i < list.length; i++) renderValue(list[i], force);
    list = document.querySelectorAll("[data-rx-progress]");
    for (i = 0; i < list.length; i++) renderProgress(list[i]);
    renderControls();
    dropRepeatedErrors();
  }

  // After an input's edit has settled (ack received, focus gone), show the
  // server's value again, e.g. when the server refused what was typed.
  function settleInput(el) {
    if (!el.hasAttribute("data-rx-value")) return;
    if (isEditing(el) || debounceTimers.has(el) || (inflight.get(el) || 0) > 0) return;
    renderValue(el, true);
  }

  // ---------------------------------------------------------------------
  // Boxes: status and errors
  // ---------------------------------------------------------------------

  function boxes() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-rx-demo]"));
  }

  // The status word, and a note that says what it means for the reader. The
  // server-rendered note says the demo needs JavaScript; running, we replace it.
  function showStatus(box) {
    if (box.getAttribute("data-state") !== status) box.setAttribute("data-state", status);
    var i, els = box.querySelectorAll("[data-rx-status]");
    for (i = 0; i < els.length; i++) setText(els[i], status);
    var note = clientMissing ? NOTE_NO_CLIENT : NOTES[status] || "";
    if (!note && startedOver && status === STATUS_LIVE) note = NOTE_STARTED_OVER;
    els = box.querySelectorAll("[data-rx-note]");
    for (i = 0; i < els.length; i++) {
      setText(els[i], note);
      if (els[i].hidden !== !note) els[i].hidden = !note;
    }
  }

  function setStatus(next) {
    status = next;
    if (next === STATUS_LIVE) wasLive = true;
    boxes().forEach(showStatus);
    renderControls();
  }

  // The element that holds an error's text: its message child, or itself.
  function errorTextHolder(el) {
    return el.querySelector("[data-rx-error-message]") || el;
  }

  // Does the box's own content already show `message` (a bound task error, say)?
  function shownInBody(box, message) {
    var els = box.querySelectorAll("[data-rx-text]");
    for (var i = 0; i < els.length; i++) {
      if (els[i].textContent === message && !els[i].closest("[data-rx-error], [hidden]")) return true;
    }
    return false;
  }

  // A box's error that its content now shows too goes: one message, said once.
  function dropRepeatedErrors() {
    boxes().forEach(function (box) {
      var holder = box.querySelector("[data-rx-error]:not([hidden])");
      if (holder && shownInBody(box, errorTextHolder(holder).textContent)) clearError(box);
    });
  }

  // Show `message` in the box; `source` is the control it is about, if any.
  function showError(box, message, source) {
    if (!source && shownInBody(box, message)) return; // the page shows it where it belongs
    var els = box.querySelectorAll("[data-rx-error]");
    for (var i = 0; i < els.length; i++) {
      els[i].hidden = false; // shown first, so the new text is announced
      setText(errorTextHolder(els[i]), message);
    }
    var previous = errorSource.get(box);
    if (previous && previous !== source) setAriaFlag(previous, "aria-invalid", false);
    if (source) errorSource.set(box, source);
    else errorSource.delete(box);
  }

  function clearError(box) {
    var els = box.querySelectorAll("[data-rx-error]");
    for (var i = 0; i < els.length; i++) {
      els[i].hidden = true;
      setText(errorTextHolder(els[i]), "");
    }
    var source = errorSource.get(box);
    if (source) setAriaFlag(source, "aria-invalid", false);
    errorSource.delete(box);
  }

  // A control's event succeeded. The box's error is old news now, unless it
  // is about another field that still holds the text it complained about.
  function clearErrorAfterSuccess(box, el) {
    var source = errorSource.get(box);
    if (source && source !== el && source.getAttribute("aria-invalid") === "true") return;
    clearError(box);
  }

  // The reader closed the error: focus goes back to what it was about.
  function dismissError(button) {
    var box = button.closest("[data-rx-demo]");
    if (!box) return;
    var source = errorSource.get(box);
    clearError(box);
    var target = source && source.isConnected && !source.disabled ? source : box.querySelector(CONTROLS);
    if (target && !target.disabled && typeof target.focus === "function") target.focus();
  }

  function targetBoxes(box) {
    if (box && box.isConnected) return [box];
    return boxes();
  }

  // ---------------------------------------------------------------------
  // Store updates
  // ---------------------------------------------------------------------

  function requestResync() {
    if (!socket || !socket.connected) return;
    var now = Date.now();
    if (resyncSentAt && now - resyncSentAt < RESYNC_RETRY_MS) return; // one in flight
    resyncSentAt = now;
    sentStates = states.slice();
    socket.emit("resync", { states: states.slice() });
  }

  function onUpdate(msg) {
    var result = core.applyUpdate(store, seq, msg);
    switch (result.outcome) {
      case "malformed":
        warnOnce("bad-update", "ignoring malformed update", msg);
        return;
      case "stale": // already applied (or older)
        return;
      case "gap": // ask for a full copy instead of guessing
        requestResync();
        return;
      default: // "full" or "delta": applied
        break;
    }
    seq = result.seq;
    if (result.outcome === "full") {
      resyncSentAt = 0;
      if (socket && socket.connected) {
        fullSinceConnect = true;
        setStatus(STATUS_LIVE);
      }
    }
    render(false);
  }

  // ---------------------------------------------------------------------
  // Events to the server
  // ---------------------------------------------------------------------

  function nextEventId() {
    eventCounter += 1;
    return "e" + eventCounter;
  }

  function trackEvent(id, box) {
    eventBoxes.set(id, box);
    if (eventBoxes.size > MAX_TRACKED_EVENTS) {
      eventBoxes.delete(eventBoxes.keys().next().value); // oldest first
    }
  }

  function sendAction(el, attrName) {
    var action = parseAttr(el, attrName);
    var args;
    try {
      if (!isPlainObject(action) || typeof action.event !== "string") {
        throw new ExprError("action needs an event name");
      }
      args = core.buildArgs(action.args, el.value);
    } catch (e) {
      warnOnce(attrName + el.getAttribute(attrName), "bad " + attrName + ": " + e.message, el);
      return false;
    }
    return sendEvent(el, action.event, args);
  }

  // Send event `name` with `args` on behalf of control `el`: its box shows
  // what goes wrong, exactly as for a click.
  function sendEvent(el, name, args) {
    var box = el.closest("[data-rx-demo]");
    if (!socket || !socket.connected) {
      targetBoxes(box).forEach(function (b) {
        showError(b, "Not connected to the server; try again in a moment.");
      });
      return false;
    }
    var id = nextEventId();
    trackEvent(id, box);
    awaitingAck.set(id, false);
    inflight.set(el, (inflight.get(el) || 0) + 1);
    socket
      .timeout(ACK_TIMEOUT_MS)
      .emit("event", { id: id, name: name, args: args }, function (err, ack) {
        inflight.set(el, Math.max(0, (inflight.get(el) || 0) - 1));
        var answer = core.readAck(err, ack, awaitingAck.get(id) === true, name);
        awaitingAck.delete(id);
        var boxesHit = targetBoxes(box);
        if (answer.kind === "timeout") {
          boxesHit.forEach(function (b) {
            showError(b, "No answer from the server for " + name + ".");
          });
        } else if (answer.kind === "ok") {
          if (startedOver) {
            startedOver = false; // the reader has moved on: the note goes
            boxes().forEach(showStatus);
          }
          boxesHit.forEach(function (b) {
            clearErrorAfterSuccess(b, el);
          });
        } else if (answer.kind === "refused") {
          boxesHit.forEach(function (b) {
            showError(b, answer.message, el);
          });
        } // "failed": the task's error is on show and stays until the reader acts
        settleInput(el);
      });
    return true;
  }

  // ---------------------------------------------------------------------
  // Number fields: the browser's own checks (min, max, step), our words
  // ---------------------------------------------------------------------

  function fieldName(el) {
    var label = el.getAttribute("aria-label");
    if (!label && el.labels && el.labels.length) label = el.labels[0].textContent;
    return (label || "").trim() || "This field";
  }

  // Is the field's text something the reader is still typing ("", "-", "1e")?
  function isUnfinished(el) {
    return el.value === "" || (el.validity && el.validity.badInput);
  }

  // The message explaining why the field's text cannot be sent, or "".
  function fieldProblem(el) {
    if (el.type !== "number" || !el.validity) return "";
    if (el.validity.valid && el.value !== "") return "";
    return core.numberRule(fieldName(el), el.getAttribute("step"), el.getAttribute("min"), el.getAttribute("max"));
  }

  function refuseField(el, message) {
    var box = el.closest("[data-rx-demo]");
    if (!box) return;
    showError(box, message, el);
    setAriaFlag(el, "aria-invalid", true);
  }

  // While the reader edits a field the box complained about, the complaint
  // goes as soon as the text is acceptable.
  function recheckField(el) {
    var box = el.closest("[data-rx-demo]");
    if (!box || errorSource.get(box) !== el || el.getAttribute("aria-invalid") !== "true") return;
    if (!fieldProblem(el)) clearError(box);
  }

  // Send an input's on-change action now, unless its text was already sent.
  // `committed`: the reader pressed Enter or left the field, so an unfinished
  // text is refused too (while typing, it is simply not sent yet).
  function flushChange(el, committed) {
    var timer = debounceTimers.get(el);
    if (timer !== undefined) {
      clearTimeout(timer);
      debounceTimers.delete(el);
    }
    var problem = fieldProblem(el);
    if (problem) {
      if (committed || !isUnfinished(el)) refuseField(el, problem);
      settleInput(el);
      return;
    }
    var text = String(el.value);
    if (lastSent.has(el) && lastSent.get(el) === text) {
      settleInput(el);
      return;
    }
    if (sendAction(el, "data-rx-on-change")) lastSent.set(el, text);
    else settleInput(el);
  }

  function changeTarget(ev) {
    var t = ev.target;
    if (!t || typeof t.closest !== "function") return null;
    var el = t.closest("[data-rx-on-change]");
    // Only form controls have a value worth sending.
    if (!el || !("value" in el)) return null;
    return el;
  }

  function onInput(ev) {
    var el = changeTarget(ev);
    if (!el) return;
    recheckField(el);
    var timer = debounceTimers.get(el);
    if (timer !== undefined) clearTimeout(timer);
    debounceTimers.set(
      el,
      setTimeout(function () {
        debounceTimers.delete(el);
        flushChange(el, false);
      }, INPUT_DEBOUNCE_MS)
    );
  }

  function onChange(ev) {
    var el = changeTarget(ev);
    if (el) flushChange(el, true);
  }

  function onKeydown(ev) {
    if (ev.key !== "Enter" || ev.isComposing) return;
    var el = changeTarget(ev);
    if (el && el.tagName !== "TEXTAREA") flushChange(el, true);
  }

  function onFocusOut(ev) {
    var t = ev.target;
    if (t && t.nodeType === 1 && t.hasAttribute("data-rx-value")) {
      // 'change' (fired before focusout) has sent any edit; once it is
      // answered, settleInput runs again from the ack.
      setTimeout(function () {
        settleInput(t);
      }, 0);
    }
  }

  function onClick(ev) {
    var t = ev.target;
    if (!t || typeof t.closest !== "function") return;
    var dismiss = t.closest("[data-rx-dismiss]");
    if (dismiss) {
      dismissError(dismiss);
      return;
    }
    var el = t.closest("[data-rx-on-click]");
    // aria-disabled: a busy control, which keeps its focus but not its clicks.
    if (!el || el.disabled || el.getAttribute("aria-disabled") === "true") return;
    sendAction(el, "data-rx-on-click");
  }

  function installListeners() {
    if (listenersInstalled) return;
    listenersInstalled = true;
    // Delegated on document: elements swapped in by instant navigation need
    // no binding of their own, and nothing is ever bound twice.
    document.addEventListener("click", onClick);
    document.addEventListener("input", onInput);
    document.addEventListener("change", onChange);
    document.addEventListener("keydown", onKeydown);
    document.addEventListener("focusout", onFocusOut);
  }

  // ---------------------------------------------------------------------
  // Inspector: `trace` messages for the lab's panels (lab.js)
  // ---------------------------------------------------------------------

  // Nothing is asked of the server until a panel calls inspect(true): a
  // closed panel costs no message and no work. While one is open, the
  // request is sent again after every reconnect (a new socket has no
  // inspector). Each trace goes to the listeners with the local time
  // (performance.now()) at which the server's inspector was opened, since
  // a trace's "t" counts seconds from that moment.
  var inspecting = null; // states the open panels show; null: inspector off
  var inspectSerial = 0; // the inspect message the current session answers
  var inspectSince = null; // performance.now() when it was acknowledged
  var earlyTraces = []; // traces that beat their acknowledgement
  var traceListeners = [];
  var MAX_EARLY_TRACES = 50;

  function sendInspect() {
    inspectSince = null;
    earlyTraces = [];
    if (!socket || !socket.connected) return; // sent on connect
    inspectSerial += 1;
    var serial = inspectSerial;
    var wanted = inspecting;
    var payload = wanted ? { on: true, states: wanted.slice() } : { on: false };
    socket.timeout(ACK_TIMEOUT_MS).emit("inspect", payload, function (err, ack) {
      if (serial !== inspectSerial || !wanted || wanted !== inspecting) return;
      if (err || !isPlainObject(ack) || ack.ok !== true) return; // a panel stays empty
      inspectSince = window.performance.now();
      var early = earlyTraces;
      earlyTraces = [];
      early.forEach(deliverTrace);
    });
  }

  // inspect(true, states) opens (or widens) this tab's inspector; inspect(false) closes it.
  function inspect(on, list) {
    if (!on) {
      if (inspecting === null) return; // never opened: nothing to say
      inspecting = null;
      sendInspect();
      return;
    }
    var wanted = (Array.isArray(list) ? list : states).filter(function (name) {
      return typeof name === "string";
    });
    if (inspecting !== null && core.sameSet(inspecting, wanted)) return;
    inspecting = wanted;
    sendInspect();
  }

  function deliverTrace(msg) {
    traceListeners.slice().forEach(function (listener) {
      try {
        listener(msg, inspectSince);
      } catch (e) {
        warnOnce("trace-listener", "a trace listener failed:", e);
      }
    });
  }

  function onTraceMessage(msg) {
    if (inspecting === null || !isPlainObject(msg) || !Array.isArray(msg.events)) return;
    if (inspectSince === null) {
      if (earlyTraces.length < MAX_EARLY_TRACES) earlyTraces.push(msg);
      return;
    }
    deliverTrace(msg);
  }

  // onTrace(listener) -> a function that removes it.
  function onTrace(listener) {
    if (typeof listener !== "function") throw new TypeError("onTrace takes a function");
    traceListeners.push(listener);
    return function () {
      var i = traceListeners.indexOf(listener);
      if (i >= 0) traceListeners.splice(i, 1);
    };
  }

  // send(control, name, args): send an event as if `control` had been
  // clicked with these arguments (lab.js adds a pairing code this way).
  function send(el, name, args) {
    if (!el || el.nodeType !== 1 || typeof name !== "string" || !Array.isArray(args)) return false;
    if (el.disabled || el.getAttribute("aria-disabled") === "true") return false;
    return sendEvent(el, name, args);
  }

  // ---------------------------------------------------------------------
  // Socket
  // ---------------------------------------------------------------------

  function scheduleReconnect() {
    if (reconnectTimer !== null || !socket) return;
    var delay = reconnectDelay;
    reconnectDelay = Math.min(reconnectDelay * 2, RECONNECT_MAX_MS);
    reconnectTimer = setTimeout(function () {
      reconnectTimer = null;
      if (socket && !socket.connected && !socket.active) socket.connect();
    }, delay);
  }

  function connect() {
    var open = openSocket || window.io;
    if (typeof open !== "function") {
      warnOnce("no-io", "socket.io-client is not loaded; demos stay static", null);
      clientMissing = true;
      setStatus(STATUS_OFFLINE);
      return;
    }
    setStatus(STATUS_CONNECTING);
    socket = open(window.location.origin + NAMESPACE, {
      transports: ["websocket"],
      // A function, so every reconnect presents the current ticket and states.
      auth: function (cb) {
        sentStates = states.slice();
        cb({ token: readTicket(), states: states.slice(), client: CLIENT_ID });
      },
    });

    socket.on("connect", function () {
      reconnectDelay = RECONNECT_MIN_MS;
      resyncSentAt = 0;
      // Values are live once the full update that follows hello arrives.
      // Socket.IO may deliver events the server sent from its connect
      // handler before this "connect" event, so that update may be here.
      setStatus(fullSinceConnect ? STATUS_LIVE : STATUS_CONNECTING);
      if (inspecting !== null) sendInspect(); // the new socket has no inspector yet
    });
    socket.on("hello", function (msg) {
      if (!isPlainObject(msg)) return;
      // A ticket starts with its tab's id: a reconnect of this page that gets
      // another tab lost its old state (a restarted server), and says so.
      var before = readTicket();
      if (wasLive && before && typeof msg.token === "string" && msg.token.split(".")[0] !== before.split(".")[0]) {
        startedOver = true;
      }
      writeTicket(msg.token);
    });
    socket.on("update", onUpdate);
    socket.on("trace", onTraceMessage);
    socket.on("error", function (msg) {
      var message = isPlainObject(msg) && typeof msg.message === "string" ? msg.message : String(msg);
      var box = isPlainObject(msg) && typeof msg.event === "string" ? eventBoxes.get(msg.event) : null;
      if (isPlainObject(msg) && awaitingAck.has(msg.event)) awaitingAck.set(msg.event, true); // its ack must not clear this
      targetBoxes(box).forEach(function (b) {
        showError(b, message);
      });
    });
    socket.on("disconnect", function () {
      setStatus(STATUS_OFFLINE);
      resyncSentAt = 0;
      fullSinceConnect = false;
      inspectSince = null;
      // The client retries by itself after transport failures; after a
      // server-side disconnect it would not, so retry with a back-off.
      if (!socket.active) scheduleReconnect();
    });
    socket.on("connect_error", function () {
      setStatus(STATUS_OFFLINE);
      // A refusal by the server is not retried automatically either.
      if (!socket.active) scheduleReconnect();
    });
  }

  // useTransport(open): from now on the page's socket is open(url, options), any object with
  // the Socket.IO client's interface (the playground's port to the engine running in the
  // browser, docsite/static/playground/port.js); useTransport(null): Socket.IO to the server
  // again. What the boxes showed is dropped: the new socket's full update brings its own.
  function useTransport(open) {
    if (reconnectTimer !== null) {
      clearTimeout(reconnectTimer);
      reconnectTimer = null;
    }
    if (socket) {
      var old = socket;
      socket = null;
      old.off(); // its "disconnect" is not news to this page: it is being replaced
      old.disconnect();
    }
    openSocket = typeof open === "function" ? open : null;
    store = {};
    seq = null;
    sentStates = null;
    resyncSentAt = 0;
    fullSinceConnect = false;
    inspectSince = null;
    reconnectDelay = RECONNECT_MIN_MS;
    if (boxes().length) connect();
  }

  // ---------------------------------------------------------------------
  // Page scan (initial load and every instant navigation)
  // ---------------------------------------------------------------------

  function collectStates() {
    return core.union(
      boxes().map(function (box) {
        return parseAttr(box, "data-rx-states");
      })
    );
  }

  function rescan() {
    var pageBoxes = boxes();
    if (pageBoxes.length === 0) return; // nothing to show: keep what we have
    installListeners();
    states = collectStates();
    pageBoxes.forEach(showStatus);
    if (!socket) {
      connect();
    } else if (socket.connected && !core.sameSet(states, sentStates)) {
      resyncSentAt = 0;
      requestResync();
    }
    // New elements get the values known so far; unknown vars keep the
    // server-rendered defaults until the full update arrives.
    render(true);
  }

  // ---------------------------------------------------------------------
  // The theme's unnamed widgets
  // ---------------------------------------------------------------------

  // mkdocs-material gives its search dialog and its page-load progress bar a
  // role but no accessible name, which screen readers announce as nothing
  // (axe: aria-dialog-name, aria-progressbar-name). This is the one script of
  // our own that every page loads, so it names them; nothing else is touched.
  var THEME_WIDGET_NAMES = [
    [".md-search[role='dialog']", "Search"],
    [".md-progress[role='progressbar']", "Loading the page"],
  ];

  function nameThemeWidgets() {
    THEME_WIDGET_NAMES.forEach(function (entry) {
      var el = document.querySelector(entry[0]);
      if (el && !el.hasAttribute("aria-label") && !el.hasAttribute("aria-labelledby")) {
        el.setAttribute("aria-label", entry[1]);
      }
    });
  }

  function onPage() {
    nameThemeWidgets();
    rescan();
  }

  window.engineRuntime = {
    loaded: true,
    get store() {
      return store;
    },
    get seq() {
      return seq;
    },
    get socket() {
      return socket;
    },
    get states() {
      return states.slice();
    },
    get status() {
      return status;
    },
    get inspecting() {
      return inspecting === null ? null : inspecting.slice();
    },
    rescan: rescan,
    useTransport: useTransport,
    inspect: inspect,
    onTrace: onTrace,
    send: send,
  };

  core.onEveryPage(window, onPage);
})();
