/*
 * share.js: where a reader's edits live, without any server storage.
 *
 * - In the browser: localStorage, one key per demo module (storageKey), kept until Reset.
 * - In a link: the URL fragment (never sent to a server) carries the module and its code,
 *   deflated and base64url-encoded: #edit=demos.background_tasks~<code>. encode/decode are
 *   async because they use the browser's own CompressionStream (Node has it too, for the
 *   unit tests in tests/site/js/share.test.js).
 *
 * Pure: no page is touched here.
 */
(function (root, factory) {
  "use strict";
  if (typeof module === "object" && module && module.exports) {
    module.exports = factory();
  } else {
    root.engineShare = factory();
  }
})(typeof self !== "undefined" ? self : this, function () {
  "use strict";

  var PREFIX = "#edit=";
  var STORAGE_PREFIX = "playground.edit.";
  var MODULE = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;
  var MAX_CODE = 200000; // characters: a link longer than this is refused, not decoded

  function storageKey(module) {
    return STORAGE_PREFIX + module;
  }

  function toBase64Url(bytes) {
    var text = "";
    for (var i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]);
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function fromBase64Url(text) {
    var plain = text.replace(/-/g, "+").replace(/_/g, "/");
    while (plain.length % 4) plain += "=";
    var raw = atob(plain);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }

  function through(bytes, stream) {
    var piped = new Blob([bytes]).stream().pipeThrough(stream);
    return new Response(piped).arrayBuffer().then(function (buffer) {
      return new Uint8Array(buffer);
    });
  }

  // The fragment that carries `code` for `module` (a promise of "#edit=...").
  function encode(module, code) {
    if (!MODULE.test(module)) return Promise.reject(new Error("not a module name: " + module));
    var bytes = new TextEncoder().encode(code);
    return through(bytes, new CompressionStream("deflate-raw")).then(function (packed) {
      return PREFIX + module + "~" + toBase64Url(packed);
    });
  }

  // {module, code} from a fragment, or null when it carries none (or a damaged one).
  function decode(fragment) {
    if (typeof fragment !== "string" || fragment.indexOf(PREFIX) !== 0) return Promise.resolve(null);
    var rest = fragment.slice(PREFIX.length);
    var cut = rest.indexOf("~");
    if (cut < 0) return Promise.resolve(null);
    var module = decodeURIComponent(rest.slice(0, cut));
    if (!MODULE.test(module)) return Promise.resolve(null);
    var bytes;
    try {
      bytes = fromBase64Url(rest.slice(cut + 1));
    } catch (e) {
      return Promise.resolve(null);
    }
    return through(bytes, new DecompressionStream("deflate-raw")).then(
      function (plain) {
        var code = new TextDecoder().decode(plain);
        return code.length > MAX_CODE ? null : { module: module, code: code };
      },
      function () {
        return null;
      }
    );
  }

  return { encode: encode, decode: decode, storageKey: storageKey, PREFIX: PREFIX };
});
