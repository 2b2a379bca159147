// Unit tests of engine/static/core.js, the pure parts of the browser runtime: `npm test`
// (node --test). tests/site/test_core_js.py checks toText against engine/vars.py's
// to_text itself, over many more values.
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const path = require("node:path");

const core = require(path.join(__dirname, "..", "..", "..", "engine", "static", "core.js"));

// An ExprError whose message matches `pattern` (ExprError is not an Error: a message, no stack).
const exprError = (pattern) => (e) => e instanceof core.ExprError && pattern.test(e.message);

test("toText reads a value as engine/vars.py's to_text does", () => {
  // [value as it arrives from JSON, what to_text gives for the value the server sent]
  const cases = [
    [null, ""],
    [undefined, ""],
    [true, "true"],
    [false, "false"],
    [0, "0"],
    [-0, "0"],
    [42, "42"],
    [-7, "-7"],
    [3.5, "3.5"],
    [0.1 + 0.2, "0.30000000000000004"],
    [0.0001, "0.0001"],
    [0.00012, "0.00012"],
    [1e-5, "1e-05"], // JS: 0.00001
    [-2.5e-5, "-2.5e-05"],
    [1.5e-7, "1.5e-07"], // JS: 1.5e-7
    [1e-300, "1e-300"],
    [123456789.125, "123456789.125"],
    [1e16, "10000000000000000"],
    [2 ** 65, "36893488147419103232"], // JS: 36893488147419103000
    [1e21, "1000000000000000000000"], // JS: 1e+21
    [-(2 ** 70), "-1180591620717411303424"], // JS: -1.1805916207174113e+21
    ["", ""],
    ["plain text", "plain text"],
    ["caf\u00e9 \u{1F600}", "caf\u00e9 \u{1F600}"], // a string as it is
    [[], "[]"],
    [{}, "{}"],
    [[1, "two", null, true], '[1,"two",null,true]'],
    [{ b: 1, a: [false, 2.5] }, '{"b":1,"a":[false,2.5]}'],
    [["caf\u00e9"], '["caf\\u00e9"]'], // json.dumps escapes what is not ASCII
    [["\u{1F600}"], '["\\ud83d\\ude00"]'],
    [['say "hi"\\'], '["say \\"hi\\"\\\\"]'],
    [["\n\t\r\b\f"], '["\\n\\t\\r\\b\\f"]'],
    [["\u0001\u001f\u007f"], '["\\u0001\\u001f\\u007f"]'],
    [{ "k\u00e9y": 1e-5 }, '{"k\\u00e9y":1e-05}'],
    [[2 ** 65], "[36893488147419103232]"],
  ];
  for (const [value, expected] of cases) {
    assert.equal(core.toText(value), expected, JSON.stringify(value));
  }
});

test("jsonText writes a value as JSON for the lab's table", () => {
  assert.equal(core.jsonText(null), "null");
  assert.equal(core.jsonText(undefined), "null");
  assert.equal(core.jsonText(false), "false");
  assert.equal(core.jsonText("caf\u00e9"), '"caf\u00e9"');
  assert.equal(core.jsonText(1.5), "1.5");
  assert.equal(core.jsonText([1, { a: null }]), '[1,{"a":null}]');
});

test("isPlainObject: objects only, not arrays or null", () => {
  assert.equal(core.isPlainObject({}), true);
  assert.equal(core.isPlainObject({ a: 1 }), true);
  assert.equal(core.isPlainObject([]), false);
  assert.equal(core.isPlainObject(null), false);
  assert.equal(core.isPlainObject("x"), false);
  assert.equal(core.isPlainObject(1), false);
});

test("truthy follows Python: empty and zero values are false", () => {
  for (const v of [null, undefined, false, 0, "", [], {}]) assert.equal(core.truthy(v), false, JSON.stringify(v));
  for (const v of [true, 1, -1, 0.5, "0", "false", [0], { a: null }]) assert.equal(core.truthy(v), true, JSON.stringify(v));
});

test("deepEqual compares JSON values by content", () => {
  assert.equal(core.deepEqual({ a: [1, { b: "x" }], c: null }, { c: null, a: [1, { b: "x" }] }), true);
  assert.equal(core.deepEqual([1, 2], [2, 1]), false);
  assert.equal(core.deepEqual([1], [1, 1]), false);
  assert.equal(core.deepEqual({ a: 1 }, { a: 1, b: 2 }), false);
  assert.equal(core.deepEqual({ a: undefined }, { b: undefined }), false);
  assert.equal(core.deepEqual(1, "1"), false);
  assert.equal(core.deepEqual([], {}), false);
  assert.equal(core.deepEqual(null, {}), false);
});

test("evaluate reads vars from the store, and literals", () => {
  const store = { "demo.S": { count: 3, name: "x" } };
  assert.equal(core.evaluate({ var: "demo.S.count" }, store), 3);
  assert.deepEqual(core.evaluate({ lit: [1, 2] }, store), [1, 2]);
  assert.throws(() => core.evaluate({ var: "demo.S.missing" }, store), (e) => e === core.MISSING);
  assert.throws(() => core.evaluate({ var: "Other.count" }, store), (e) => e === core.MISSING);
  for (const bad of ["count", ".count", "demo.S.", 7]) {
    assert.throws(() => core.evaluate({ var: bad }, store), core.ExprError, String(bad));
  }
});

test("evaluate: join writes each item of a list into its template", () => {
  const store = { S: { msgs: [{ who: "You", text: "hi" }, { who: "Reply", text: "héllo", n: 2.5 }], ids: ["a", 1] } };
  const join = (list, template, sep) => core.evaluate({ op: "join", args: [list, { lit: template }, { lit: sep }] }, store);
  assert.equal(join({ var: "S.msgs" }, "{who}: {text}", "\n"), "You: hi\nReply: héllo");
  assert.equal(join({ var: "S.msgs" }, "{n}|{missing}", ","), "|,2.5|"); // a key an item lacks reads as nothing
  assert.equal(join({ var: "S.ids" }, "<{}>", " "), "<a> <1>");
  assert.equal(join({ var: "S.ids" }, "{x}", "-"), "-"); // keys of an item that is not an object: nothing
  assert.equal(join({ lit: "not a list" }, "{}", ","), "");
  assert.throws(() => core.evaluate({ op: "join", args: [{ var: "S.ids" }] }, store), core.ExprError);
});

test("evaluate: not, and, or give what Python's operators give", () => {
  const store = { S: { zero: 0, text: "hi", empty: [] } };
  const v = (name) => ({ var: "S." + name });
  assert.equal(core.evaluate({ op: "not", args: [v("empty")] }, store), true);
  assert.equal(core.evaluate({ op: "and", args: [v("text"), v("zero")] }, store), 0); // the first false operand
  assert.equal(core.evaluate({ op: "and", args: [v("text"), { lit: 5 }] }, store), 5); // else the last
  assert.equal(core.evaluate({ op: "or", args: [v("zero"), v("text")] }, store), "hi"); // the first true one
  assert.deepEqual(core.evaluate({ op: "or", args: [v("zero"), v("empty")] }, store), []); // else the last
  // A short circuit never reads what it does not need, even a var not known yet.
  assert.equal(core.evaluate({ op: "or", args: [v("text"), v("unknown")] }, store), "hi");
  assert.throws(() => core.evaluate({ op: "and", args: [v("text"), v("unknown")] }, store), (e) => e === core.MISSING);
});

test("evaluate: comparisons", () => {
  const s = {};
  const lit = (x) => ({ lit: x });
  assert.equal(core.evaluate({ op: "eq", args: [lit({ a: [1] }), lit({ a: [1] })] }, s), true);
  assert.equal(core.evaluate({ op: "ne", args: [lit(1), lit("1")] }, s), true);
  assert.equal(core.evaluate({ op: "lt", args: [lit(1), lit(2)] }, s), true);
  assert.equal(core.evaluate({ op: "le", args: [lit(2), lit(2)] }, s), true);
  assert.equal(core.evaluate({ op: "gt", args: [lit("b"), lit("a")] }, s), true);
  assert.equal(core.evaluate({ op: "ge", args: [lit(1), lit(2)] }, s), false);
  assert.throws(() => core.evaluate({ op: "lt", args: [lit(1), lit("2")] }, s), exprError(/lt needs two numbers or two strings/));
  assert.throws(() => core.evaluate({ op: "gt", args: [lit(null), lit(null)] }, s), core.ExprError);
});

test("evaluate refuses malformed expressions with a reason", () => {
  const cases = [
    [null, /must be an object/],
    [[1], /must be an object/],
    [{}, /unknown expression/],
    [{ op: "not" }, /args must be a list/],
    [{ op: "not", args: [] }, /one argument/],
    [{ op: "and", args: [] }, /takes arguments/],
    [{ op: "or", args: [] }, /takes arguments/],
    [{ op: "eq", args: [{ lit: 1 }] }, /two arguments/],
    [{ op: "add", args: [] }, /unknown operator add/],
  ];
  for (const [expr, message] of cases) {
    assert.throws(() => core.evaluate(expr, {}), exprError(message), JSON.stringify(expr));
  }
});

test("applyUpdate: a full update replaces the states it names", () => {
  const store = { A: { x: 1, gone: true }, B: { y: 2 } };
  const result = core.applyUpdate(store, null, { seq: 5, full: { A: { x: 10 }, C: { z: 3 }, D: "not vars" } });
  assert.deepEqual(result, { outcome: "full", seq: 5 });
  assert.deepEqual(store, { A: { x: 10 }, B: { y: 2 }, C: { z: 3 } });
  // A full update is taken whatever its seq: it is how a gap is repaired.
  assert.deepEqual(core.applyUpdate(store, 9, { seq: 2, full: {} }), { outcome: "full", seq: 2 });
});

test("applyUpdate: a delta with the next seq writes its vars over the copy", () => {
  const store = { A: { x: 1, y: 1 } };
  const copyOfA = store.A;
  assert.deepEqual(core.applyUpdate(store, 5, { seq: 6, delta: { A: { y: 2 }, B: { z: 3 } } }), { outcome: "delta", seq: 6 });
  assert.deepEqual(store, { A: { x: 1, y: 2 }, B: { z: 3 } });
  assert.equal(store.A, copyOfA); // merged into the state's vars, not replaced
});

test("applyUpdate: old deltas are ignored and a missing one asks for a full copy", () => {
  const store = { A: { x: 1 } };
  const before = JSON.stringify(store);
  assert.deepEqual(core.applyUpdate(store, 5, { seq: 5, delta: { A: { x: 2 } } }), { outcome: "stale", seq: 5 });
  assert.deepEqual(core.applyUpdate(store, 5, { seq: 3, delta: { A: { x: 2 } } }), { outcome: "stale", seq: 5 });
  assert.deepEqual(core.applyUpdate(store, 5, { seq: 7, delta: { A: { x: 2 } } }), { outcome: "gap", seq: 5 });
  assert.deepEqual(core.applyUpdate(store, null, { seq: 1, delta: { A: { x: 2 } } }), { outcome: "gap", seq: null });
  assert.equal(JSON.stringify(store), before);
});

test("applyUpdate: a merged update fits when its `from` is the next seq, and its seq becomes the copy's", () => {
  const store = { A: { x: 1, log: ["a"] } };
  const merged = { seq: 9, from: 6, delta: { A: { x: 4 } }, ops: { A: { log: [["set", [1], "b"], ["set", [2], "c"]] } } };
  assert.deepEqual(core.applyUpdate(store, 5, merged), { outcome: "delta", seq: 9 });
  assert.deepEqual(store, { A: { x: 4, log: ["a", "b", "c"] } });
  const before = JSON.stringify(store);
  // One that starts past the next seq, or inside what the copy already has, asks for a full copy.
  assert.deepEqual(core.applyUpdate(store, 9, { seq: 12, from: 11, delta: { A: { x: 5 } } }), { outcome: "gap", seq: 9 });
  assert.deepEqual(core.applyUpdate(store, 9, { seq: 12, from: 8, delta: { A: { x: 5 } } }), { outcome: "gap", seq: 9 });
  assert.deepEqual(core.applyUpdate(store, 9, { seq: 9, from: 7, delta: { A: { x: 5 } } }), { outcome: "stale", seq: 9 });
  assert.equal(JSON.stringify(store), before);
});

test("applyUpdate: anything but an update changes nothing", () => {
  const store = { A: { x: 1 } };
  for (const msg of [null, "update", [], {}, { seq: "1", full: {} }, { seq: 6 }, { full: { A: {} } }]) {
    assert.deepEqual(core.applyUpdate(store, 5, msg), { outcome: "malformed", seq: 5 }, JSON.stringify(msg));
  }
  assert.deepEqual(store, { A: { x: 1 } });
});

test("buildArgs: literals, and the control's value as text", () => {
  assert.deepEqual(core.buildArgs(undefined, "x"), []);
  assert.deepEqual(core.buildArgs([{ lit: 3 }, { from: "value" }, { lit: null }], 42), [3, "42", null]);
  assert.throws(() => core.buildArgs({ lit: 1 }, ""), exprError(/action args must be a list/));
  assert.throws(() => core.buildArgs([{ from: "checked" }], ""), exprError(/unknown action argument \{"from":"checked"\}/));
  assert.throws(() => core.buildArgs([7], ""), core.ExprError);
});

test("numberRule says what a number field takes", () => {
  assert.equal(core.numberRule("Limit", null, "1", "100"), "Limit must be a whole number from 1 to 100.");
  assert.equal(core.numberRule("Delay", "0.5", "0", null), "Delay must be a number of at least 0.");
  assert.equal(core.numberRule("Delay", "any", null, "9"), "Delay must be a number of at most 9.");
  assert.equal(core.numberRule("Count", "2", null, null), "Count must be a whole number.");
});

test("sameSet and union: the states a page shows", () => {
  assert.equal(core.sameSet(["a", "b"], ["b", "a"]), true);
  assert.equal(core.sameSet(["a", "b"], ["a", "c"]), false);
  assert.equal(core.sameSet(["a"], ["a", "a"]), false);
  assert.equal(core.sameSet(null, []), false);
  assert.deepEqual(core.union([["a", "b"], "not a list", ["b", 3, "c"], undefined, ["a"]]), ["a", "b", "c"]);
  assert.deepEqual(core.union([]), []);
});

test("setText writes only a changed text", () => {
  let writes = 0;
  let text = "old";
  const el = {
    get textContent() {
      return text;
    },
    set textContent(value) {
      writes += 1;
      text = value;
    },
  };
  core.setText(el, "old");
  assert.equal(writes, 0);
  core.setText(el, "new");
  assert.equal(text, "new");
  assert.equal(writes, 1);
});

test("onEveryPage runs on load and on each instant navigation", () => {
  const calls = [];
  const subscribed = [];
  const listeners = {};
  const win = {
    document$: { subscribe: (fn) => subscribed.push(fn) },
    document: { readyState: "loading", addEventListener: (name, fn) => (listeners[name] = fn) },
  };
  const fn = () => calls.push("page");
  core.onEveryPage(win, fn);
  assert.deepEqual(subscribed, [fn]); // the theme calls it after each navigation
  assert.equal(calls.length, 0); // not before the page is parsed
  listeners.DOMContentLoaded();
  assert.equal(calls.length, 1);

  const plain = { document: { readyState: "complete", addEventListener: () => assert.fail("already loaded") } };
  core.onEveryPage(plain, fn); // no theme: a page already loaded runs it at once
  assert.equal(calls.length, 2);
});

test("readAck: an ok ack after the event's own error keeps the error (a task that failed at once)", () => {
  // The lab's "Nest two blocks": the task raises before its first await, so the tab gets
  // `error {event}` and then the ack {"ok": true}, which only says the task was started.
  assert.deepEqual(core.readAck(null, { ok: true }, true, "nest"), { kind: "failed" });
  assert.deepEqual(core.readAck(null, { ok: true }, false, "nest"), { kind: "ok" });
  assert.deepEqual(core.readAck(null, { ok: true, skipped: true }, false, "go"), { kind: "ok" });
});

test("readAck: a refusal carries the server's words, or says which event was refused", () => {
  assert.deepEqual(core.readAck(null, { ok: false, error: "no such handler" }, false, "x"), {
    kind: "refused",
    message: "no such handler",
  });
  assert.deepEqual(core.readAck(null, { ok: false }, true, "nest"), {
    kind: "refused",
    message: "The server refused nest.",
  });
  assert.deepEqual(core.readAck(null, "garbage", false, "nest").kind, "refused");
  assert.deepEqual(core.readAck(null, { ok: "yes" }, false, "nest").kind, "refused");
});

test("readAck: no answer in time is a timeout, whatever else is known", () => {
  assert.deepEqual(core.readAck(new Error("operation has timed out"), undefined, false, "go"), { kind: "timeout" });
  assert.deepEqual(core.readAck(new Error("operation has timed out"), undefined, true, "go"), { kind: "timeout" });
});
