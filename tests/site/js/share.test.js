// Unit tests of docsite/static/playground/share.js: edits carried in a link's fragment.
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const path = require("node:path");

const share = require(path.join(__dirname, "..", "..", "..", "docsite", "static", "playground", "share.js"));

const CODE = 'import engine as rx\n\nclass S(rx.State):\n    n: int = 0  # «unicode» ✓\n' + "x = 1\n".repeat(200);

test("a fragment carries a module's code there and back, shorter than the code", async () => {
  const fragment = await share.encode("demos.background_tasks", CODE);
  assert.ok(fragment.startsWith("#edit=demos.background_tasks~"));
  assert.match(fragment.slice(share.PREFIX.length), /^[\w.~-]+$/); // nothing a URL must escape
  assert.ok(fragment.length < CODE.length);
  assert.deepEqual(await share.decode(fragment), { module: "demos.background_tasks", code: CODE });
});

test("fragments that carry no code, or damaged code, decode to null", async () => {
  for (const fragment of ["", "#", "#section-title", "#edit=", "#edit=demos.x", "#edit=no module~abc", "#edit=demos.x~@@@",
    "#edit=demos.x~AAAA"]) {
    assert.equal(await share.decode(fragment), null, fragment);
  }
});

test("only module names are encoded, and each module has its own storage key", async () => {
  await assert.rejects(share.encode("../etc", "x"), /not a module name/);
  assert.notEqual(share.storageKey("demos.a"), share.storageKey("demos.b"));
});
