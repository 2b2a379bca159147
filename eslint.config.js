// ESLint (flat config) for the browser code: the engine's runtime (engine/static/),
// the site's scripts (docsite/static/) and their unit tests (tests/site/js/).
// `npm run lint`; `nox -s tests` and CI run it.
"use strict";

const js = require("@eslint/js");
const globals = require("globals");

// What every file is held to, beyond eslint:recommended.
const rules = {
  "no-unused-vars": ["error", { caughtErrors: "none" }], // `catch (e)` stays readable where e is unused
  eqeqeq: ["error", "always"],
  "no-implicit-globals": "error",
  "no-shadow": "error",
  // A var read by a callback defined before it is fine; read before it is set is not.
  "no-use-before-define": ["error", { functions: false, classes: true, variables: false }],
  "no-eval": "error",
  "no-implied-eval": "error",
  "no-new-func": "error",
  "no-throw-literal": "off", // MISSING is a plain object thrown on purpose (core.js)
  "no-var": "off", // the browser scripts are written in ES5 style, var and function
  "prefer-const": "off",
  strict: ["error", "function"],
  curly: ["error", "multi-line"],
  "no-console": "off",
};

module.exports = [
  { ignores: ["node_modules/", "site/", ".nox/", "bench-results/"] },
  js.configs.recommended,
  {
    // The scripts the site loads with plain <script> tags, in order: no modules, no build step.
    files: ["engine/static/**/*.js", "docsite/static/**/*.js"],
    languageOptions: {
      ecmaVersion: 2020,
      sourceType: "script",
      globals: { ...globals.browser },
    },
    rules,
  },
  {
    // core.js is also require()d by the unit tests: it exports under Node.
    files: ["engine/static/core.js"],
    languageOptions: { globals: { module: "readonly" } },
  },
  {
    // The playground's pure parts are require()d by the unit tests too.
    files: ["docsite/static/playground/port.js", "docsite/static/playground/share.js"],
    languageOptions: { globals: { module: "readonly" } },
  },
  {
    // The playground's ES modules: the worker (module Web Worker) and the editor (bundled by esbuild).
    files: ["docsite/static/playground/*.mjs"],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "module",
      globals: { ...globals.browser, ...globals.worker },
    },
    rules: { ...rules, strict: "off" },
  },
  {
    files: ["docsite/static/playground/sw.js"],
    languageOptions: { globals: { ...globals.serviceworker } },
  },
  {
    files: ["tests/site/js/**/*.js", "eslint.config.js"],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "commonjs",
      globals: { ...globals.node },
    },
    rules: { ...rules, strict: ["error", "global"] },
  },
];
