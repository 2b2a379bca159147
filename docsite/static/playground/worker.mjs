/*
 * worker.mjs: the engine in the reader's browser. A module Web Worker that loads Pyodide
 * (from the site itself: ../pyodide/, copied from npm at build time), unpacks the engine and
 * the demos (python.zip) and runs docsite/playground_host.py's Host. The page
 * (playground.js) drives it with messages on the worker itself:
 *
 *   {type: "boot"}                   -> {type: "progress", bytes}..., {type: "ready", seconds}
 *                                       or {type: "failed", message}
 *   {type: "run", id, sources}       -> {type: "ran", id, result}  (result: Host.run's answer)
 *   {type: "port", tab, port}        a MessagePort for one page's runtime (port.js speaks on it)
 *
 * and it says what the reader's code prints with {type: "output", text, stream}. A handler
 * stuck in `while True: pass` stops this worker's event loop, never the page's; the page's
 * Stop terminates the worker.
 */
import { loadPyodide } from "../pyodide/pyodide.mjs";

const PYODIDE_URL = new URL("../pyodide/", import.meta.url).href;
const PYTHON_ZIP = new URL("python.zip", import.meta.url).href;
const SITE = "/home/pyodide/site";

let host = null;
let bytes = 0;

// Every byte fetched is counted and reported, so the page can show how far loading is.
const plainFetch = self.fetch.bind(self);
self.fetch = async function (input, init) {
  const response = await plainFetch(input, init);
  if (!response.ok || !response.body) return response;
  const reader = response.body.getReader();
  const counted = new ReadableStream({
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) {
        controller.close();
        return;
      }
      bytes += value.byteLength;
      self.postMessage({ type: "progress", bytes });
      controller.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
  return new Response(counted, { status: response.status, statusText: response.statusText, headers: response.headers });
};

function output(stream) {
  return { batched: (text) => self.postMessage({ type: "output", stream, text }) };
}

async function boot() {
  const began = performance.now();
  const [pyodide, archive] = await Promise.all([
    loadPyodide({ indexURL: PYODIDE_URL, stdout: output("stdout").batched, stderr: output("stderr").batched }),
    fetch(PYTHON_ZIP).then((r) => {
      if (!r.ok) throw new Error("python.zip: HTTP " + r.status);
      return r.arrayBuffer();
    }),
  ]);
  pyodide.setStdout(output("stdout"));
  pyodide.setStderr(output("stderr"));
  pyodide.unpackArchive(archive, "zip", { extractDir: SITE });
  pyodide.runPython(`import sys\nif ${JSON.stringify(SITE)} not in sys.path: sys.path.insert(0, ${JSON.stringify(SITE)})`);
  // The fetch demo asks the site's own quote endpoint, as it does on the server.
  pyodide.runPython(`import os\nos.environ["DEMO_QUOTE_URL"] = ${JSON.stringify(new URL("/api/quote", self.location.href).href)}`);
  host = pyodide.runPython(`from docsite.playground_host import Host\nHost(${JSON.stringify(SITE)})`);
  return (performance.now() - began) / 1000;
}

function serve(tab, port) {
  const send = (name, text) => port.postMessage({ type: "message", name, data: JSON.parse(text) });
  port.onmessage = async (ev) => {
    const msg = ev.data || {};
    try {
      if (msg.type === "connect") {
        port.postMessage({ type: "connected" });
        await host.connect(tab, JSON.stringify(msg.auth || {}), send);
      } else if (msg.type === "emit") {
        const answer = await host.receive(tab, String(msg.name), JSON.stringify(msg.data));
        if (msg.ack !== null && msg.ack !== undefined) {
          port.postMessage({ type: "ack", ack: msg.ack, data: JSON.parse(answer) });
        }
      } else if (msg.type === "close") {
        host.disconnect(tab);
        port.close();
      }
    } catch (e) {
      const message = String((e && e.message) || e);
      if (msg.ack !== null && msg.ack !== undefined) {
        port.postMessage({ type: "ack", ack: msg.ack, data: { ok: false, error: message } });
      } else {
        port.postMessage({ type: "message", name: "error", data: { message, event: null } });
      }
    }
  };
}

let booting = null;

self.onmessage = async (ev) => {
  const msg = ev.data || {};
  if (msg.type === "boot") {
    booting = booting || boot();
    try {
      const seconds = await booting;
      self.postMessage({ type: "ready", seconds, bytes });
    } catch (e) {
      self.postMessage({ type: "failed", message: String((e && e.message) || e) });
    }
  } else if (msg.type === "run") {
    try {
      await booting;
      const result = JSON.parse(await host.run(JSON.stringify(msg.sources)));
      self.postMessage({ type: "ran", id: msg.id, result });
    } catch (e) {
      self.postMessage({ type: "ran", id: msg.id, result: { ok: false, kind: "error", message: String((e && e.message) || e) } });
    }
  } else if (msg.type === "port" && msg.port) {
    serve(msg.tab, msg.port);
  }
};
