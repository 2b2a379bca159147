/*
 * core.js: what the browser scripts share, with no state of its own.
 *
 *   values       isPlainObject, deepEqual, truthy, toText (engine/vars.py's to_text), jsonText
 *   expressions  evaluate(expr, store), ExprError, MISSING
 *   updates      applyUpdate(store, seq, msg)
 *   actions      buildArgs(specs, value), numberRule(name, step, min, max)
 *   answers      readAck(err, ack, failed, name)
 *   names        sameSet(a, b), union(lists)
 *   page         setText(el, text), onEveryPage(win, fn)
 *
 * Used by engine.js (the demo boxes' runtime) and the site's lab.js, and
 * unit-tested under Node (`node --test`, tests/site/js/). One file, no build
 * step: as a plain <script>, loaded before engine.js, it defines
 * window.engineCore; under Node, require() returns the same object. Loading
 * it touches no page; setText and onEveryPage act only on what they are given.
 */
(function (root, factory) {
  "use strict";
  if (typeof module === "object" && module && module.exports) {
    module.exports = factory();
  } else if (!root.engineCore) {
    // Loaded twice (a page script re-run): the first copy stays, engine.js holds it.
    root.engineCore = factory();
  }
})(typeof self !== "undefined" ? self : this, function () {
  "use strict";

  var has = Function.prototype.call.bind(Object.prototype.hasOwnProperty);

  // ---------------------------------------------------------------------
  // Values (what JSON brings from the server)
  // ---------------------------------------------------------------------

  function isPlainObject(v) {
    return v !== null && typeof v === "object" && !Array.isArray(v);
  }

  function deepEqual(a, b) {
    if (a === b) return true;
    if (Array.isArray(a)) {
      if (!Array.isArray(b) || a.length !== b.length) return false;
      for (var i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
      return true;
    }
    if (isPlainObject(a)) {
      if (!isPlainObject(b)) return false;
      var ka = Object.keys(a);
      var kb = Object.keys(b);
      if (ka.length !== kb.length) return false;
      for (var j = 0; j < ka.length; j++) {
        if (!has(b, ka[j])) return false;
        if (!deepEqual(a[ka[j]], b[ka[j]])) return false;
      }
      return true;
    }
    return false;
  }

  // Truthiness of a JSON value, as Python sees it: null, false, 0, "", [] and
  // {} are false; everything else is true.
  function truthy(v) {
    if (Array.isArray(v)) return v.length > 0;
    if (isPlainObject(v)) return Object.keys(v).length > 0;
    return !!v;
  }

  // A number as Python writes it. JSON does not say whether 3 was an int or
  // the float 3.0, and Python's to_text shows both as "3"; whole numbers are
  // written in full (BigInt: JS rounds the digits past 2**53 and switches to
  // an exponent at 1e21), other floats as repr() does, which takes an
  // exponent below 1e-4 where JS waits until 1e-6, and gives it two digits.
  function pyNumber(v) {
    if (v !== v) return "nan"; // NaN: never on the wire, but repr() has a word for it
    if (v === Infinity) return "inf";
    if (v === -Infinity) return "-inf";
    if (Number.isInteger(v)) return Number.isSafeInteger(v) ? String(v) : BigInt(v).toString();
    if (Math.abs(v) >= 1e-4) return String(v);
    var parts = v.toExponential().split("e"); // the same shortest digits as repr()
    var exp = Math.abs(Number(parts[1]));
    return parts[0] + "e-" + (exp < 10 ? "0" : "") + exp;
  }

  // A string as Python's json.dumps writes it (ensure_ascii: everything
  // outside printable ASCII as \uXXXX, lower-case, astral ones as two halves).
  var SHORT_ESCAPES = { '"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t" };

  function pyString(s) {
    var out = '"';
    for (var i = 0; i < s.length; i++) {
      var ch = s.charAt(i);
      var code = s.charCodeAt(i);
      if (has(SHORT_ESCAPES, ch)) out += SHORT_ESCAPES[ch];
      else if (code < 0x20 || code > 0x7e) out += "\\u" + ("000" + code.toString(16)).slice(-4);
      else out += ch;
    }
    return out + '"';
  }

  // json.dumps(value, separators=(",", ":")), for a value that came as JSON.
  // Two things the wire cannot carry: a float 1.0 inside a list (it reads as
  // 1, shown "1" where Python shows "1.0"), and the order of a dict's keys
  // that look like whole numbers (a JS object puts them first).
  function pyJson(v) {
    if (v === null || v === undefined) return "null";
    if (typeof v === "boolean") return v ? "true" : "false";
    if (typeof v === "number") {
      if (v !== v) return "NaN";
      if (v === Infinity) return "Infinity";
      if (v === -Infinity) return "-Infinity";
      return pyNumber(v);
    }
    if (typeof v === "string") return pyString(v);
    if (Array.isArray(v)) return "[" + v.map(pyJson).join(",") + "]";
    return (
      "{" +
      Object.keys(v)
        .map(function (key) {
          return pyString(key) + ":" + pyJson(v[key]);
        })
        .join(",") +
      "}"
    );
  }

  // How a value reads on the page: engine/vars.py's to_text, which renders
  // the page's first values on the server, rule for rule.
  function toText(v) {
    if (v === null || v === undefined) return "";
    if (typeof v === "boolean") return v ? "true" : "false";
    if (typeof v === "string") return v;
    if (typeof v === "number") return pyNumber(v);
    return pyJson(v);
  }

  // A value as JSON text, as the lab's table shows it (undefined reads as null).
  function jsonText(v) {
    if (v === null || v === undefined) return "null";
    if (typeof v === "boolean") return v ? "true" : "false";
    if (typeof v === "string") return JSON.stringify(v);
    if (typeof v === "number") return String(v);
    return JSON.stringify(v);
  }

  // ---------------------------------------------------------------------
  // Expressions (data-rx-text, data-rx-show, ...; docs/site/protocol.md)
  // ---------------------------------------------------------------------

  // Thrown when an expression reads a var the client has no value for yet:
  // the element keeps whatever it shows (the server-rendered default).
  var MISSING = { missing: true };

  function ExprError(message) {
    this.message = message;
  }

  function lookup(path, store) {
    if (typeof path !== "string") throw new ExprError("var path must be a string");
    var dot = path.lastIndexOf(".");
    if (dot <= 0 || dot === path.length - 1) throw new ExprError("bad var path " + path);
    var vars = store[path.slice(0, dot)];
    var varName = path.slice(dot + 1);
    if (!vars || !has(vars, varName)) throw MISSING;
    return vars[varName];
  }

  function compare(op, a, b) {
    var bothNumbers = typeof a === "number" && typeof b === "number";
    var bothStrings = typeof a === "string" && typeof b === "string";
    if (!bothNumbers && !bothStrings) {
      throw new ExprError(op + " needs two numbers or two strings");
    }
    switch (op) {
      case "lt": return a < b;
      case "le": return a <= b;
      case "gt": return a > b;
      default: return a >= b; // "ge"
    }
  }

  // A list as text (engine/vars.py _join): each item written into `template`
  // ("{key}": that key of an object item, "{}": the item), joined by `sep`.
  function join(items, template, sep) {
    if (!Array.isArray(items) || typeof template !== "string" || typeof sep !== "string") return "";
    return items
      .map(function (item) {
        return template.replace(/\{(\w*)\}/g, function (_, key) {
          if (!key) return toText(item);
          return isPlainObject(item) && has(item, key) ? toText(item[key]) : "";
        });
      })
      .join(sep);
  }

  // The value of `expr` over `store` ({stateName: {varName: value}}); throws
  // MISSING for a var not known yet, an ExprError for a malformed expression.
  function evaluate(expr, store) {
    if (!isPlainObject(expr)) throw new ExprError("expression must be an object");
    if (has(expr, "var")) return lookup(expr["var"], store);
    if (has(expr, "lit")) return expr.lit;
    if (!has(expr, "op")) throw new ExprError("unknown expression");
    var op = expr.op;
    var args = expr.args;
    if (!Array.isArray(args)) throw new ExprError(op + ": args must be a list");
    var i, v;
    switch (op) {
      case "not":
        if (args.length !== 1) throw new ExprError("not takes one argument");
        return !truthy(evaluate(args[0], store));
      case "and": // like Python: the first false operand, else the last one
        if (args.length === 0) throw new ExprError("and takes arguments");
        for (i = 0; i < args.length; i++) {
          v = evaluate(args[i], store);
          if (!truthy(v)) return v;
        }
        return v;
      case "or": // like Python: the first true operand, else the last one
        if (args.length === 0) throw new ExprError("or takes arguments");
        for (i = 0; i < args.length; i++) {
          v = evaluate(args[i], store);
          if (truthy(v)) return v;
        }
        return v;
      case "eq":
      case "ne":
      case "lt":
      case "le":
      case "gt":
      case "ge": {
        if (args.length !== 2) throw new ExprError(op + " takes two arguments");
        var a = evaluate(args[0], store);
        var b = evaluate(args[1], store);
        if (op === "eq") return deepEqual(a, b);
        if (op === "ne") return !deepEqual(a, b);
        return compare(op, a, b);
      }
      case "join":
        if (args.length !== 3) throw new ExprError("join takes three arguments");
        return join(evaluate(args[0], store), evaluate(args[1], store), evaluate(args[2], store));
      default:
        throw new ExprError("unknown operator " + op);
    }
  }

  // ---------------------------------------------------------------------
  // Updates (the `update` message)
  // ---------------------------------------------------------------------

  function eachState(incoming, apply) {
    if (!isPlainObject(incoming)) return;
    Object.keys(incoming).forEach(function (stateName) {
      var vars = incoming[stateName];
      if (isPlainObject(vars)) apply(stateName, vars);
    });
  }

  // The order a set is sent in (engine/codec.py wire_order): null < booleans
  // < numbers < text < arrays < objects; numbers by value, text by code
  // point (not by UTF-16 unit, as JavaScript's own comparison does), arrays
  // item by item.
  function rank(v) {
    if (v === null) return 0;
    if (typeof v === "boolean") return 1;
    if (typeof v === "number") return 2;
    if (typeof v === "string") return 3;
    return Array.isArray(v) ? 4 : 5;
  }

  function compareText(a, b) {
    var i = 0;
    var j = 0;
    while (i < a.length && j < b.length) {
      var x = a.codePointAt(i);
      var y = b.codePointAt(j);
      if (x !== y) return x < y ? -1 : 1;
      i += x > 0xffff ? 2 : 1;
      j += y > 0xffff ? 2 : 1;
    }
    if (i < a.length) return 1;
    return j < b.length ? -1 : 0;
  }

  function wireCompare(a, b) {
    var ra = rank(a);
    var rb = rank(b);
    if (ra !== rb) return ra < rb ? -1 : 1;
    if (ra === 1 || ra === 2) return a === b ? 0 : (a < b ? -1 : 1);
    if (ra === 3) return compareText(a, b);
    if (ra === 4) {
      for (var i = 0; i < a.length && i < b.length; i++) {
        var c = wireCompare(a[i], b[i]);
        if (c !== 0) return c;
      }
      return a.length === b.length ? 0 : (a.length < b.length ? -1 : 1);
    }
    return 0;
  }

  function walk(value, path, upTo) {
    var node = value;
    for (var i = 0; i < upTo; i++) {
      if (node === null || typeof node !== "object" || !has(node, path[i])) throw new Error("no " + path[i]);
      node = node[path[i]];
    }
    return node;
  }

  // Apply operations (engine/patch.py: [op, path, arg]) to one var's value;
  // returns the new value. Throws when the value does not have the shape the
  // operations expect (the copy has drifted: ask for a full one).
  function applyOps(value, ops) {
    for (var n = 0; n < ops.length; n++) {
      var op = ops[n];
      var kind = op[0];
      var path = op[1];
      if (!Array.isArray(path)) throw new Error("bad path");
      var last = path.length - 1;
      var parent;
      var key;
      if (kind === "set" || kind === "text") {
        if (last < 0) {
          value = kind === "set" ? op[2] : value + op[2];
          continue;
        }
        parent = walk(value, path, last);
        key = path[last];
        if (Array.isArray(parent) && (typeof key !== "number" || key > parent.length)) throw new Error("bad index");
        parent[key] = kind === "set" ? op[2] : parent[key] + op[2];
      } else if (kind === "ins") {
        parent = walk(value, path, last);
        if (!Array.isArray(parent) || path[last] > parent.length) throw new Error("bad insert");
        parent.splice(path[last], 0, op[2]);
      } else if (kind === "del") {
        parent = walk(value, path, last);
        key = path[last];
        if (Array.isArray(parent)) {
          if (key >= parent.length) throw new Error("bad index");
          parent.splice(key, 1);
        } else if (isPlainObject(parent) && has(parent, key)) {
          delete parent[key];
        } else {
          throw new Error("bad delete");
        }
      } else if (kind === "add" || kind === "rem") {
        var target = walk(value, path, path.length);
        if (!Array.isArray(target)) throw new Error("not a set");
        var lo = 0;
        var hi = target.length;
        while (lo < hi) { // the first item not below op[2]
          var mid = (lo + hi) >> 1;
          if (wireCompare(target[mid], op[2]) < 0) lo = mid + 1; else hi = mid;
        }
        var present = lo < target.length && wireCompare(target[lo], op[2]) === 0;
        if (kind === "add" && !present) target.splice(lo, 0, op[2]);
        if (kind === "rem" && present) target.splice(lo, 1);
      } else {
        throw new Error("unknown operation " + kind);
      }
    }
    return value;
  }

  // Apply an update to `store`, the client's copy of the states, whose last
  // applied update is `seq` (null before the first full one). Returns
  // {outcome, seq}, seq being the last one applied now:
  //   "full"       each state it names replaced
  //   "delta"      the next seq (or, merged, from the next one on): its vars
  //                written over the copy's, its operations (`ops`) applied
  //   "stale"      already applied (or older): nothing changes
  //   "gap"        a seq is missing, no full one came yet, or the operations
  //                do not fit the copy: ask for a full copy
  //   "malformed"  not an update: nothing changes
  function applyUpdate(store, seq, msg) {
    if (!isPlainObject(msg) || typeof msg.seq !== "number") return { outcome: "malformed", seq: seq };
    if (has(msg, "full")) {
      eachState(msg.full, function (stateName, vars) {
        store[stateName] = Object.assign({}, vars);
      });
      return { outcome: "full", seq: msg.seq };
    }
    if (!has(msg, "delta")) return { outcome: "malformed", seq: seq };
    if (seq !== null && msg.seq <= seq) return { outcome: "stale", seq: seq };
    // A merged update (sent to a tab that was behind) stands for the seqs
    // from `from` to `seq`; it fits when `from` is the next one.
    var first = has(msg, "from") ? msg.from : msg.seq;
    if (seq === null || first !== seq + 1) return { outcome: "gap", seq: seq };
    var changed = {};
    var failed = false;
    eachState(msg.ops, function (stateName, vars) {
      var current = store[stateName] || {};
      var next = {};
      Object.keys(vars).forEach(function (name) {
        if (failed) return;
        try { // (in place: a copy that does not fit is resynced whole, so a half-applied one does not stay)
          next[name] = applyOps(has(current, name) ? current[name] : null, vars[name]);
        } catch (e) {
          failed = true;
        }
      });
      changed[stateName] = next;
    });
    if (failed) return { outcome: "gap", seq: seq };
    eachState(msg.delta, function (stateName, vars) {
      store[stateName] = Object.assign(store[stateName] || {}, vars);
    });
    Object.keys(changed).forEach(function (stateName) {
      store[stateName] = Object.assign(store[stateName] || {}, changed[stateName]);
    });
    return { outcome: "delta", seq: msg.seq };
  }

  // ---------------------------------------------------------------------
  // Actions (data-rx-on-click, data-rx-on-change)
  // ---------------------------------------------------------------------

  // An action's arguments: each {"lit": value}, or {"from": "value"} for
  // `value`, the control's current value, as text.
  function buildArgs(specs, value) {
    if (specs === undefined) return [];
    if (!Array.isArray(specs)) throw new ExprError("action args must be a list");
    return specs.map(function (spec) {
      if (isPlainObject(spec) && has(spec, "lit")) return spec.lit;
      if (isPlainObject(spec) && spec.from === "value") return String(value);
      throw new ExprError("unknown action argument " + JSON.stringify(spec));
    });
  }

  // What a number field accepts, in words, from its name and its step, min
  // and max attributes (null when absent): "Limit must be a whole number from 1 to 100."
  function numberRule(name, step, min, max) {
    var whole = !step || (step !== "any" && Number(step) % 1 === 0);
    var range = "";
    if (min !== null && max !== null) range = " from " + min + " to " + max;
    else if (min !== null) range = " of at least " + min;
    else if (max !== null) range = " of at most " + max;
    return name + " must be " + (whole ? "a whole number" : "a number") + range + ".";
  }

  // ---------------------------------------------------------------------
  // Answers (an event's acknowledgement)
  // ---------------------------------------------------------------------

  // What an event's acknowledgement means for its box. `err` is Socket.IO's
  // timeout error (or null); `failed` says an `error` message for this very
  // event came before the ack: a background task that raises before its
  // first await fails before the server acknowledges that it started, and
  // that {"ok": true} only says "started", not "went well". Returns
  //   {kind: "timeout"}            no answer in time
  //   {kind: "failed"}             ok, but the event's error is already shown: keep it
  //   {kind: "ok"}                 it worked: an older error may go
  //   {kind: "refused", message}   refused, with the server's words (or ours)
  function readAck(err, ack, failed, name) {
    if (err) return { kind: "timeout" };
    if (isPlainObject(ack) && ack.ok === true) return { kind: failed ? "failed" : "ok" };
    var message =
      isPlainObject(ack) && typeof ack.error === "string" && ack.error
        ? ack.error
        : "The server refused " + name + ".";
    return { kind: "refused", message: message };
  }

  // ---------------------------------------------------------------------
  // Names (the states a page shows)
  // ---------------------------------------------------------------------

  function sameSet(a, b) {
    if (!a || !b || a.length !== b.length) return false;
    var s = new Set(a);
    for (var i = 0; i < b.length; i++) if (!s.has(b[i])) return false;
    return true;
  }

  // The strings of several lists, each once, in the order first seen (anything
  // that is not a list, or not a string, is skipped).
  function union(lists) {
    var seen = new Set();
    var out = [];
    lists.forEach(function (list) {
      if (!Array.isArray(list)) return;
      list.forEach(function (name) {
        if (typeof name === "string" && !seen.has(name)) {
          seen.add(name);
          out.push(name);
        }
      });
    });
    return out;
  }

  // ---------------------------------------------------------------------
  // The page
  // ---------------------------------------------------------------------

  // Writes only a changed text, so a screen reader announces only news.
  function setText(el, text) {
    if (el.textContent !== text) el.textContent = text;
  }

  // Run `fn` once the page is ready and again after every instant navigation
  // (mkdocs-material's document$ emits on load and on each new page).
  function onEveryPage(win, fn) {
    if (win.document$ && typeof win.document$.subscribe === "function") {
      win.document$.subscribe(fn);
    }
    if (win.document.readyState === "loading") {
      win.document.addEventListener("DOMContentLoaded", fn);
    } else {
      fn();
    }
  }

  return {
    isPlainObject: isPlainObject,
    deepEqual: deepEqual,
    truthy: truthy,
    toText: toText,
    jsonText: jsonText,
    MISSING: MISSING,
    ExprError: ExprError,
    evaluate: evaluate,
    applyUpdate: applyUpdate,
    applyOps: applyOps,
    wireCompare: wireCompare,
    buildArgs: buildArgs,
    numberRule: numberRule,
    readAck: readAck,
    sameSet: sameSet,
    union: union,
    setText: setText,
    onEveryPage: onEveryPage,
  };
});
