/**
 * The first code to run in every fresh isolate, as JavaScript source. Run with
 * `context.evalClosure(BOOTSTRAP_JS, [log, payload, source])`, it:
 *
 * 1. captures the built-ins it relies on before any script can replace them;
 * 2. removes what a script must not have: `WebAssembly`, `SharedArrayBuffer`,
 *    `Atomics`, `FinalizationRegistry`, `WeakRef`, `Intl` and the clock (`Date.now()`,
 *    `new Date()` and `Date()` throw; dates built from values still work);
 * 3. installs a bounded `console` and the `api` object (`log`, `artifact`,
 *    `parseCsv`, `toCsv`), all pure functions of this isolate except `log`, which
 *    hands already-bounded strings to the host;
 * 4. compiles the script as the body of `async function (params, inputs, api)`
 *    (the AsyncFunction constructor parses the body on its own, so it cannot close
 *    the function early) and starts it;
 * 5. returns `collect`, which the host calls once the run's microtasks have drained.
 *    `collect` returns one JSON string: the outcome, serialised inside the isolate,
 *    so getters, proxies and cycles are dealt with here and the host only parses.
 *
 * A script can corrupt its own realm (prototypes, JSON) and so its own result; it
 * cannot reach the host, whose only trust in that string is `JSON.parse` plus zod.
 */
import { CSV_JS } from './csv.ts';

export const BOOTSTRAP_JS = String.raw`
'use strict';
const hostLog = $0, payload = $1, source = $2;
const limits = payload.limits;
const G = globalThis;
const stringify = JSON.stringify, StringOf = String, isArray = Array.isArray, freeze = Object.freeze;
const defineProperty = Object.defineProperty, hasOwn = Object.hasOwn, keysOf = Object.keys;
const apply = Reflect.apply, construct = Reflect.construct, promiseThen = Promise.prototype.then;
const ErrorCtor = Error, RealDate = Date, ProxyCtor = Proxy;
const AsyncFunction = Object.getPrototypeOf(async function () {}).constructor;
${CSV_JS}

for (const name of ['WebAssembly', 'SharedArrayBuffer', 'Atomics', 'FinalizationRegistry', 'WeakRef', 'Intl', 'console']) {
  delete G[name];
}

const noClock = function () {
  throw new ErrorCtor('there is no clock in the sandbox: pass dates in as params');
};
const SafeDate = new ProxyCtor(RealDate, {
  apply: noClock,
  construct(target, args, newTarget) {
    if (args.length === 0) noClock();
    return construct(target, args, newTarget);
  },
});
defineProperty(RealDate, 'now', { value: noClock, writable: false, configurable: false });
defineProperty(RealDate.prototype, 'constructor', { value: SafeDate, writable: false, configurable: false });
defineProperty(G, 'Date', { value: SafeDate, writable: true, configurable: true });

let logBytes = 0, logLines = 0, logsTruncated = false;
function formatArg(value) {
  if (typeof value === 'string') return value;
  try {
    const json = stringify(value);
    if (typeof json === 'string') return json;
  } catch (e) {}
  try { return StringOf(value); } catch (e) { return '[unprintable]'; }
}
function markTruncated() {
  if (!logsTruncated) { logsTruncated = true; hostLog('truncated', ''); }
}
function emit(level, args) {
  if (logsTruncated) return;
  if (logLines >= limits.maxLogLines || logBytes >= limits.maxLogBytes) { markTruncated(); return; }
  let text = '';
  for (let i = 0; i < args.length; i++) {
    text += (i > 0 ? ' ' : '') + formatArg(args[i]);
    if (text.length > limits.maxLogBytes) break;
  }
  const room = limits.maxLogBytes - logBytes, cut = text.length > room;
  if (cut) text = text.slice(0, room);
  logBytes += text.length;
  logLines += 1;
  hostLog(level, text);
  if (cut) markTruncated();
}
const consoleObject = {};
for (const level of ['log', 'info', 'warn', 'error', 'debug']) {
  consoleObject[level] = function () { emit(level, arguments); };
}
defineProperty(G, 'console', { value: freeze(consoleObject), writable: true, configurable: true });

let violation = null;
function violate(code, message) {
  if (violation === null) violation = { code: code, message: message };
  throw new ErrorCtor(message);
}
const artifacts = [];
let artifactBytes = 0;
function artifact(name, mediaType, text) {
  if (typeof name !== 'string' || typeof mediaType !== 'string' || typeof text !== 'string') {
    violate('SANDBOX_BAD_OUTPUT', 'api.artifact(name, mediaType, text) takes three strings');
  }
  if (name.length > 255 || mediaType.length > 127) violate('SANDBOX_BAD_OUTPUT', 'artifact name or media type too long');
  if (artifacts.length >= limits.maxArtifacts) {
    violate('SANDBOX_OUTPUT_TOO_LARGE', 'more than ' + limits.maxArtifacts + ' artifacts');
  }
  artifactBytes += text.length;
  if (artifactBytes > limits.maxOutputBytes) {
    violate('SANDBOX_OUTPUT_TOO_LARGE', 'artifacts exceed ' + limits.maxOutputBytes + ' bytes');
  }
  artifacts[artifacts.length] = freeze({ name: name, mediaType: mediaType, text: text });
}
const api = freeze({
  log: function () { emit('log', arguments); },
  artifact: artifact,
  parseCsv: function (text, options) { return readCsvTable(text, options); },
  toCsv: function (columns, rows, options) { return toCsv(columns, rows, options); },
});

function describe(error) {
  try {
    if (error instanceof ErrorCtor) {
      return { name: StringOf(error.name).slice(0, 200), message: StringOf(error.message).slice(0, 2000) };
    }
    return { name: 'NonError', message: ('threw a non-Error value: ' + formatArg(error)).slice(0, 2000) };
  } catch (e) {
    return { name: 'Error', message: 'threw an unprintable error' };
  }
}

let state = 'pending', value, failure;
try {
  const main = new AsyncFunction('params', 'inputs', 'api', source);
  const running = apply(main, undefined, [payload.params, payload.inputs, api]);
  apply(promiseThen, running, [
    function (v) { state = 'fulfilled'; value = v; },
    function (e) { state = 'rejected'; failure = describe(e); },
  ]);
} catch (e) {
  state = 'rejected';
  failure = describe(e);
}

function isEnvelope(v) {
  if (v === null || typeof v !== 'object' || isArray(v) || !hasOwn(v, 'output')) return false;
  const keys = keysOf(v);
  for (let i = 0; i < keys.length; i++) if (keys[i] !== 'output' && keys[i] !== 'artifacts') return false;
  return true;
}

function settle() {
  if (state === 'pending') {
    return { ok: false, error: { name: 'Error', message: 'main() never settled: its promise is still pending after all work ran (the sandbox has no timers or I/O to wait for)' } };
  }
  if (state === 'rejected') return { ok: false, error: failure };
  let output = value;
  if (isEnvelope(value)) {
    output = value.output;
    const extra = value.artifacts;
    if (extra !== undefined) {
      if (!isArray(extra)) violate('SANDBOX_BAD_OUTPUT', 'artifacts must be an array');
      for (let i = 0; i < extra.length; i++) {
        const a = extra[i];
        if (a === null || typeof a !== 'object') violate('SANDBOX_BAD_OUTPUT', 'each artifact is an object');
        artifact(a.name, a.mediaType, a.text);
      }
    }
  }
  if (typeof output === 'function' || typeof output === 'symbol') violate('SANDBOX_BAD_OUTPUT', 'the output is a ' + typeof output + ', not JSON');
  return { ok: true, output: output, artifacts: artifacts };
}

return function collect() {
  let json;
  try {
    const outcome = settle();
    json = stringify(outcome);
    if (typeof json !== 'string') violate('SANDBOX_BAD_OUTPUT', 'the result is not JSON');
    if (json.length > limits.maxOutputBytes) {
      violate('SANDBOX_OUTPUT_TOO_LARGE', 'output exceeds ' + limits.maxOutputBytes + ' bytes');
    }
  } catch (e) {
    if (violation === null) violation = { code: 'SANDBOX_BAD_OUTPUT', message: 'the output is not plain JSON: ' + describe(e).message };
  }
  if (violation !== null) json = stringify({ ok: false, violation: violation });
  return json;
};
`;
