// Real Node.js validator errors for the tokenaudit evaluation set.
//
// Mints tokens with known defects, verifies them with jsonwebtoken
// (jwt.verify with audience/issuer/algorithms) and panva jose (jwtVerify with
// createLocalJWKSet or importSPKI, typ and requiredClaims), and writes each
// caught error through winston (json, simple, printf), pino (JSON lines) and
// console.error into in-memory streams.
//
// Normally run by generate_python.py.  Standalone:
//   node generate_node.mjs --modules /tmp/evalnode --start 1 --foreign logrus,zap,klog,spring
// Prints one JSON object per line on stdout:
//   {"kind":"record", ...}   every validation (raised or not)
//   {"kind":"line", ...}     a line written by a real Node logger
//   {"kind":"foreign", ...}  a message to re-log through a layout built in Python
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Console } from 'node:console';
import { Writable } from 'node:stream';
import crypto from 'node:crypto';
import path from 'node:path';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1]]);
  return acc;
}, []));
const modulesDir = path.resolve(args.modules || '/tmp/evalnode');
const require = createRequire(path.join(modulesDir, 'package.json'));
const load = async (name) => import(pathToFileURL(require.resolve(name)).href);
const version = (name) => require(`${name}/package.json`).version;

const jwt = (await load('jsonwebtoken')).default;
const jose = await load('jose');
const winston = (await load('winston')).default;
const pino = (await load('pino')).default;

const AUD = 'my-api';
const ISS = 'https://idp.example.com/realms/demo';
const WRONG_ISS = 'https://evil.example.net/realms/demo';
// Fixed clock (2025-01-07T10:00:00Z): both libraries take the current time as
// an option, so every date in the output is deterministic.
const NOW = 1736244000;
const BASE_TS = NOW;
let index = Number(args.start || 1);
const FOREIGN = (args.foreign || '').split(',').filter(Boolean);

// ------------------------------------------------------------------ keys --
const rsa1 = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const rsa2 = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
const secret = '0123456789abcdef0123456789abcdef-shared-secret';
const pubPem = rsa1.publicKey.export({ type: 'spki', format: 'pem' });
const jwks = { keys: [{ ...rsa1.publicKey.export({ format: 'jwk' }), kid: 'k1', use: 'sig', alg: 'RS256' }] };

const b64u = (x) => Buffer.from(typeof x === 'string' ? x : JSON.stringify(x)).toString('base64url');
function rawSign(header, payloadBytes, key) {
  const input = `${b64u(header)}.${Buffer.from(payloadBytes).toString('base64url')}`;
  return `${input}.${crypto.sign('sha256', Buffer.from(input), key).toString('base64url')}`;
}

// ---------------------------------------------------------------- tokens --
const base = { iss: ISS, sub: 'alice', aud: AUD, iat: NOW, exp: NOW + 3600, jti: 'b1c2d3',
  client_id: 'web-client', scope: 'openid profile' };
const AT = { typ: 'at+jwt', kid: 'k1' };
const rs = (claims, key = rsa1.privateKey, header = AT) =>
  jwt.sign(claims, key, { algorithm: 'RS256', header: { ...header, alg: 'RS256' } });
const without = (...names) => Object.fromEntries(Object.entries(base).filter(([k]) => !names.includes(k)));

const good = rs(base);
const tokens = {
  expired: rs({ ...base, iat: NOW - 7200, exp: NOW - 3600 }),
  not_yet_valid: rs({ ...base, iat: NOW + 3600, nbf: NOW + 3600, exp: NOW + 7200 }),
  wrong_audience: rs({ ...base, aud: 'other-client' }),
  aud_missing: rs(without('aud')),
  wrong_issuer: rs({ ...base, iss: WRONG_ISS }),
  bad_signature: rs(base, rsa2.privateKey),
  unknown_kid: rs(base, rsa2.privateKey, { typ: 'at+jwt', kid: 'k9' }),
  alg_hs256: jwt.sign(base, secret, { algorithm: 'HS256', header: { ...AT, alg: 'HS256' } }),
  alg_none: `${b64u({ alg: 'none', typ: 'at+jwt', kid: 'k1' })}.${b64u(base)}.`,
  alg_es256: jwt.sign(base, ec.privateKey, { algorithm: 'ES256', header: { ...AT, alg: 'ES256' } }),
  malformed_two_segments: good.split('.').slice(0, 2).join('.'),
  malformed_garbage: 'eyJ!!hbG.c2Vy%%dmljZQ.@@@sig==',
  malformed_non_json: rawSign({ alg: 'RS256', typ: 'at+jwt', kid: 'k1' }, 'user=alice;role=admin', rsa1.privateKey),
  malformed_empty: '',
  missing_exp: rs(without('exp')),
  missing_iss: rs(without('iss')),
  missing_sub: rs(without('sub')),
  wrong_typ: rs({ ...without('scope', 'client_id', 'jti'), nonce: 'n-0S6_WzA2Mj', auth_time: NOW - 60, azp: 'web-client' },
    rsa1.privateKey, { typ: 'JWT', kid: 'k1' }),
};
const allTokens = [good, ...Object.values(tokens)];

// ------------------------------------------------------------ validators --
const localJWKS = jose.createLocalJWKSet(jwks);
const spki = await jose.importSPKI(pubPem, 'RS256');
const joseOptions = { issuer: ISS, audience: AUD, algorithms: ['RS256'], typ: 'at+jwt',
  requiredClaims: ['exp', 'iss', 'aud', 'sub'], currentDate: new Date(NOW * 1000) };

const validators = [
  { software: 'jsonwebtoken', version: version('jsonwebtoken'), variant: '',
    verify: async (t) => jwt.verify(t, pubPem, { audience: AUD, issuer: ISS, algorithms: ['RS256'], clockTimestamp: NOW }) },
  { software: 'jose_node', version: version('jose'), variant: '',
    verify: async (t) => (await jose.jwtVerify(t, localJWKS, joseOptions)).payload },
  // The same library with a single key from importSPKI instead of a JWKS.
  { software: 'jose_node', version: version('jose'), variant: 'importSPKI key',
    only: ['bad_signature', 'unknown_kid', 'alg_hs256', 'alg_none'],
    verify: async (t) => (await jose.jwtVerify(t, spki, joseOptions)).payload },
];

// --------------------------------------------------------------- loggers --
const tsOf = (i) => new Date((BASE_TS + i) * 1000 + 123).toISOString();
class Sink extends Writable {
  constructor() { super({ objectMode: true }); this.chunks = []; }
  _write(chunk, _enc, cb) { this.chunks.push(typeof chunk === 'string' ? chunk : chunk[Symbol.for('message')] ?? String(chunk)); cb(); }
  text() { return this.chunks.join('').replace(/\n+$/, ''); }
}
async function settle() { for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r)); }

async function viaWinston(format, level, message, meta, i) {
  const sink = new Sink();
  const { combine, timestamp } = winston.format;
  const logger = winston.createLogger({
    level: 'debug',
    format: combine(timestamp({ format: () => tsOf(i) }), format),
    transports: [new winston.transports.Stream({ stream: sink })],
  });
  if (message instanceof Error) logger.log(level, message); else logger.log(level, message, meta);
  await settle();
  return sink.text();
}
function viaPino(level, obj, msg, i) {
  let out = '';
  const logger = pino({ base: { pid: 1, hostname: 'api-7c9f4b-x2kq' }, name: 'api.auth',
    timestamp: () => `,"time":${(BASE_TS + i) * 1000 + 123}` }, { write: (s) => { out += s; } });
  if (obj) logger[level](obj, msg); else logger[level](msg);
  return out.replace(/\n+$/, '');
}
function viaConsole(method, ...items) {
  const sink = new Sink();
  const c = new Console({ stdout: sink, stderr: sink, colorMode: false });
  c[method](...items);
  return sink.text();
}

const ok = (p) => `token accepted for sub=${p.sub} aud=${p.aud}`;
// layout id -> (err | null, payload, index) => line
const NATIVE = {
  winston_json: (e, p, i) => viaWinston(winston.format.json(), e ? 'warn' : 'info',
    e ? 'token rejected' : ok(p), e ? { error: e.message, path: '/api/items' } : { sub: p.sub }, i),
  winston_json_errors: (e, p, i) => viaWinston(
    winston.format.combine(winston.format.errors({ stack: true }), winston.format.json()),
    e ? 'error' : 'info', e || ok(p), {}, i),
  winston_simple: (e, p, i) => viaWinston(winston.format.simple(), e ? 'warn' : 'info',
    e ? `JWT verification failed: ${e.message}` : ok(p), {}, i),
  winston_printf: (e, p, i) => viaWinston(
    winston.format.printf(({ level, message, timestamp }) => `${timestamp} [${level.toUpperCase()}] ${message}`),
    e ? 'warn' : 'info', e ? `auth: rejecting request: ${e.message}` : ok(p), {}, i),
  pino_err: (e, p, i) => viaPino(e ? 'error' : 'info', e ? { err: e, req: { method: 'GET', url: '/api/items' } } : { sub: p.sub },
    e ? 'token rejected' : ok(p), i),
  pino_msg: (e, p, i) => viaPino(e ? 'warn' : 'info', null, e ? `JWT check failed -> ${e.message}` : ok(p), i),
  // Express-style: the error object itself goes to console.error (stack + own properties).
  console_error: (e, p, _i) => (e ? viaConsole('error', e) : viaConsole('log', ok(p))),
  console_error_name: (e, p, _i) => (e ? viaConsole('error', `Authentication failed: ${e.name}: ${e.message}`) : viaConsole('log', ok(p))),
};
const POOL = [...Object.keys(NATIVE), ...FOREIGN];
let rr = 0;
// Round-robin over the layouts, skipping those a library x defect already has.
function pick(k, exclude = new Set()) {
  const out = [];
  while (out.length < k) {
    const layout = POOL[rr];
    rr = (rr + 1) % POOL.length;
    if (!exclude.has(layout)) out.push(layout);
  }
  return out;
}
const used = new Map();  // "software/defect" -> layouts used so far

// Tokens are secrets: no token, nor any of its segments, may reach the output.
const secrets = [...new Set(allTokens.flatMap((t) => [t, ...t.split('.')]).filter((s) => s.length >= 16))]
  .sort((a, b) => b.length - a.length);
const redact = (s) => secrets.reduce((acc, t) => acc.split(t).join('<redacted>'), s);
const emit = (o) => process.stdout.write(redact(JSON.stringify(o)) + '\n');
async function writeLines(rec, err, payload, layouts) {
  for (const layout of layouts) {
    const i = index++;
    const common = { index: i, software: rec.software, version: rec.version, defect: rec.defect, variant: rec.variant, logger: layout };
    if (layout in NATIVE) emit({ kind: 'line', ...common, line: await NATIVE[layout](err, payload, i) });
    else emit({ kind: 'foreign', ...common, message: err ? err.message : null, exc_short: err ? err.name : null,
      payload: payload ? { sub: payload.sub, aud: payload.aud } : null });
  }
}

// ------------------------------------------------------------------- run --
let caseNo = 0;
for (const v of validators) {
  const rec0 = { software: v.software, version: v.version, variant: v.variant };
  if (!v.variant) {
    const payload = await v.verify(good);  // must pass
    emit({ kind: 'record', ...rec0, defect: 'valid', raised: false });
    await writeLines({ ...rec0, defect: 'valid' }, null, payload, pick(4));
  }
  for (const [defect, token] of Object.entries(tokens)) {
    if (v.only && !v.only.includes(defect)) continue;
    const rec = { ...rec0, defect };
    let err = null;
    try { await v.verify(token); } catch (e) { err = e; }
    emit({ kind: 'record', ...rec, raised: !!err,
      exc_class: err ? `${v.software === 'jose_node' ? 'jose.errors' : 'jsonwebtoken'}.${err.constructor.name}` : null,
      exc_short: err ? err.constructor.name : null, code: err?.code ?? null, message: err ? err.message : null });
    if (!err) continue;
    // The importSPKI variant adds 2 further layouts to the same library x defect (5-6 in all).
    const key = `${v.software}/${defect}`;
    const layouts = v.variant ? pick(2, used.get(key)) : pick(3 + (caseNo++ % 2));
    used.set(key, new Set([...(used.get(key) || []), ...layouts]));
    await writeLines(rec, err, null, layouts);
  }
}
