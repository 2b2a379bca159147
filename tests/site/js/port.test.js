// Unit tests of docsite/static/playground/port.js: the socket engine.js uses to reach the
// engine in a Web Worker, driven here over Node's own MessageChannel, with a fake worker
// that answers as docsite/static/playground/worker.mjs does.
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const path = require("node:path");
const { MessageChannel } = require("node:worker_threads");

const { PortSocket, opener } = require(path.join(__dirname, "..", "..", "..", "docsite", "static", "playground", "port.js"));

// The worker's end: records what the page sent, answers events with an ack.
function fakeWorker(port, answer) {
  const seen = [];
  port.on("message", (msg) => {
    seen.push(msg);
    if (msg.type === "connect") {
      port.postMessage({ type: "connected" });
      port.postMessage({ type: "message", name: "update", data: { seq: 0, full: { s: { n: 1 } } } });
    } else if (msg.type === "emit" && msg.ack !== null && answer) {
      port.postMessage({ type: "ack", ack: msg.ack, data: answer(msg) });
    }
  });
  return seen;
}

// MessagePort of node:worker_threads has on(), not onmessage of the DOM: adapt it as the browser's.
function browserPort(port) {
  const wrapped = {
    postMessage: (msg) => port.postMessage(msg),
    close: () => port.close(),
    set onmessage(fn) {
      port.on("message", (data) => fn({ data }));
    },
  };
  return wrapped;
}

function nextEvent(socket, name) {
  return new Promise((resolve) => socket.on(name, resolve));
}

test("connects with the page's auth, says connect before the full update, then relays messages", async () => {
  const { port1, port2 } = new MessageChannel();
  const seen = fakeWorker(port2, () => ({ ok: true }));
  const order = [];
  const open = opener(browserPort(port1));
  const socket = open("ignored", { auth: (cb) => cb({ states: ["s"], token: null }) });
  socket.on("connect", () => order.push("connect"));
  const update = nextEvent(socket, "update");
  assert.deepEqual(await update, { seq: 0, full: { s: { n: 1 } } });
  assert.deepEqual(order, ["connect"]);
  assert.equal(socket.connected, true);
  assert.deepEqual(seen[0], { type: "connect", auth: { states: ["s"], token: null } });
  socket.disconnect();
  port2.close();
});

test("timeout(ms).emit gets the worker's ack, or an error when none comes in time", async () => {
  const { port1, port2 } = new MessageChannel();
  let answering = true;
  fakeWorker(port2, (msg) => (answering ? { ok: true, echo: msg.data } : undefined));
  const socket = new PortSocket(browserPort(port1), { auth: {} });
  const connected = nextEvent(socket, "connect");
  socket.connect();
  await connected;
  const ack = await new Promise((resolve) => socket.timeout(1000).emit("event", { name: "x" }, (err, a) => resolve([err, a])));
  assert.deepEqual(ack, [null, { ok: true, echo: { name: "x" } }]);
  answering = false;
  port2.removeAllListeners("message"); // the worker is stuck: it reads nothing any more
  const late = await new Promise((resolve) => socket.timeout(30).emit("event", { name: "y" }, (err) => resolve(err)));
  assert.match(late.message, /timed out/);
  socket.disconnect();
  port2.close();
});

test("lost(): every awaited ack fails at once and the page hears disconnect; emit after it fails too", async () => {
  const { port1, port2 } = new MessageChannel();
  fakeWorker(port2, null); // never acks
  const socket = new PortSocket(browserPort(port1), { auth: {} });
  const connected = nextEvent(socket, "connect");
  socket.connect();
  await connected;
  const pending = new Promise((resolve) => socket.timeout(60000).emit("event", {}, (err) => resolve(err)));
  const gone = nextEvent(socket, "disconnect");
  socket.lost("stopped");
  assert.equal((await pending).message, "stopped");
  assert.equal(await gone, "stopped");
  assert.equal(socket.connected, false);
  const after = await new Promise((resolve) => socket.timeout(60000).emit("event", {}, (err) => resolve(err)));
  assert.match(after.message, /not connected/);
  port2.close();
});

test("off() drops every listener: a replaced socket's disconnect reaches nobody", () => {
  const { port1, port2 } = new MessageChannel();
  const socket = new PortSocket(browserPort(port1), {});
  let heard = 0;
  socket.on("disconnect", () => (heard += 1));
  socket.off();
  socket.connect();
  socket.disconnect();
  assert.equal(heard, 0);
  port2.close();
});
