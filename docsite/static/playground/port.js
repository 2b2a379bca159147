/*
 * port.js: a socket for engine.js that reaches the engine running in the browser (a Web
 * Worker, docsite/static/playground/worker.mjs) over a MessagePort instead of the server
 * over Socket.IO.
 *
 * engine.js needs the part of the Socket.IO client it uses and no more: on(name, fn),
 * off(), emit(name, data[, ack]), timeout(ms).emit(name, data, cb(err, ack)), connect(),
 * disconnect(), connected, active. The messages (event, resync, inspect from the page;
 * hello, update, error, trace to it) are the protocol's own (docs/site/protocol.md),
 * carried in these envelopes:
 *
 *   page -> worker   {type: "connect", auth}
 *                    {type: "emit", name, data, ack}   ack: a number, or null when none is wanted
 *                    {type: "close"}
 *   worker -> page   {type: "connected"}               the tab exists; its full update follows
 *                    {type: "message", name, data}
 *                    {type: "ack", ack, data}
 *
 * lost(reason): the worker is gone; the socket says "disconnect" and every acknowledgement
 * still awaited fails at once instead of at its timeout. disconnect(): the page let go of
 * the socket; what it still awaited is dropped.
 *
 * Pure: it touches only the port it is given, so the unit tests drive it with Node's own
 * MessageChannel (tests/site/js/port.test.js).
 */
(function (root, factory) {
  "use strict";
  if (typeof module === "object" && module && module.exports) {
    module.exports = factory();
  } else {
    root.enginePort = factory();
  }
})(typeof self !== "undefined" ? self : this, function () {
  "use strict";

  function PortSocket(port, options) {
    this.port = port;
    this.options = options || {};
    this.connected = false;
    this.active = false;
    this._listeners = {};
    this._acks = new Map(); // ack number -> function (err, data)
    this._nextAck = 0;
    var self = this;
    port.onmessage = function (ev) {
      self._receive(ev.data);
    };
  }

  PortSocket.prototype.on = function (name, fn) {
    (this._listeners[name] = this._listeners[name] || []).push(fn);
    return this;
  };

  // off(): every listener goes; off(name): that message's.
  PortSocket.prototype.off = function (name) {
    if (name === undefined) this._listeners = {};
    else delete this._listeners[name];
    return this;
  };

  PortSocket.prototype._fire = function (name, data) {
    var list = (this._listeners[name] || []).slice();
    for (var i = 0; i < list.length; i++) list[i](data);
  };

  // Like Socket.IO's auth option: an object, or a function that hands one to a callback.
  PortSocket.prototype.connect = function () {
    if (this.active) return this;
    this.active = true;
    var self = this;
    var auth = this.options.auth;
    var send = function (value) {
      self.port.postMessage({ type: "connect", auth: value || {} });
    };
    if (typeof auth === "function") auth(send);
    else send(auth);
    return this;
  };

  PortSocket.prototype.emit = function (name, data, ack) {
    return this._send(name, data, typeof ack === "function" ? ack : null, 0);
  };

  // timeout(ms).emit(name, data, cb): cb(err) when no ack came in ms, else cb(null, ack).
  PortSocket.prototype.timeout = function (ms) {
    var self = this;
    return {
      emit: function (name, data, cb) {
        return self._send(name, data, cb, ms);
      },
    };
  };

  PortSocket.prototype._send = function (name, data, cb, ms) {
    var ack = null;
    if (cb) {
      ack = ++this._nextAck;
      var acks = this._acks;
      var timer = null;
      if (ms > 0) {
        timer = setTimeout(function () {
          if (acks.delete(ack)) cb(new Error("operation has timed out"));
        }, ms);
      }
      acks.set(ack, function (err, value) {
        if (timer !== null) clearTimeout(timer);
        if (err) cb(err);
        else cb(null, value);
      });
    }
    if (!this.connected) {
      if (ack !== null) this._fail(ack, new Error("not connected"));
      return this;
    }
    this.port.postMessage({ type: "emit", name: name, data: data === undefined ? null : data, ack: ack });
    return this;
  };

  PortSocket.prototype._fail = function (ack, err) {
    var done = this._acks.get(ack);
    if (done) {
      this._acks.delete(ack);
      done(err);
    }
  };

  PortSocket.prototype._receive = function (msg) {
    if (!msg || typeof msg !== "object") return;
    if (msg.type === "connected") {
      this.connected = true;
      this._fire("connect");
    } else if (msg.type === "message" && typeof msg.name === "string") {
      this._fire(msg.name, msg.data);
    } else if (msg.type === "ack") {
      var done = this._acks.get(msg.ack);
      if (done) {
        this._acks.delete(msg.ack);
        done(null, msg.data);
      }
    }
  };

  // The page let go of this socket (engine.js replaced it): what it still awaited belongs to a
  // run that is over, so those acks are dropped, not reported as failures.
  PortSocket.prototype.disconnect = function () {
    if (this.active) {
      try {
        this.port.postMessage({ type: "close" });
      } catch (e) {
        /* the worker is gone already */
      }
    }
    this._acks.clear();
    this.lost("io client disconnect");
    return this;
  };

  PortSocket.prototype.lost = function (reason) {
    var was = this.connected || this.active;
    this.connected = false;
    this.active = false;
    var self = this;
    Array.from(this._acks.keys()).forEach(function (ack) {
      self._fail(ack, new Error(reason));
    });
    if (was) this._fire("disconnect", reason);
    if (typeof this.port.close === "function") this.port.close();
  };

  // What engine.js's useTransport takes: open(url, options) -> a connecting PortSocket.
  function opener(port, onOpen) {
    return function (url, options) {
      var socket = new PortSocket(port, options);
      if (onOpen) onOpen(socket);
      return socket.connect();
    };
  }

  return { PortSocket: PortSocket, opener: opener };
});
