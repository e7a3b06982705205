// Test helper: the real JS iron implementations, driven by JSON lines on stdin.
//
// Each input line is one command; each output line is one JSON result, in order:
//   {"op": "seal",   "lib": "iron-session" | "iron-webcrypto", "data": ..., "password": ..., "ttl": seconds}
//   {"op": "unseal", "lib": ..., "sealed": "...", "password": ..., "ttl": seconds}
//   {"op": "versions"}
// "password" is a string or an iron-session style map {"1": "...", "2": "..."}.
// For "iron-webcrypto", "passwordId" picks the id to seal with (default "1", as
// authkit-session does). "nowMs" makes Date.now() return that time during the command.
// Results: {"ok": true, "result": ...} or {"ok": false, "error": "message"}.
import { createInterface } from 'node:readline';
import { readFileSync } from 'node:fs';
import * as ironWebcrypto from 'iron-webcrypto';
import { sealData, unsealData } from 'iron-session';

const SUFFIX = '~2';

function options(cmd) {
  return { ...ironWebcrypto.defaults, ttl: (cmd.ttl ?? 0) * 1000 };
}

// authkit-session's ironWebcryptoEncryption: iron-webcrypto + iron-session's suffix.
async function webcryptoSeal(cmd) {
  const password =
    typeof cmd.password === 'string' ? { id: cmd.passwordId ?? '1', secret: cmd.password } : cmd.password;
  const sealed = await ironWebcrypto.seal(globalThis.crypto, cmd.data, password, options(cmd));
  return `${sealed}${SUFFIX}`;
}

async function webcryptoUnseal(cmd) {
  const [withoutVersion, version] = cmd.sealed.split('~');
  if (version !== '2') throw new Error('Unsupported token version');
  const passwords = typeof cmd.password === 'string' ? { 1: cmd.password } : cmd.password;
  return ironWebcrypto.unseal(globalThis.crypto, withoutVersion, passwords, options(cmd));
}

async function run(cmd) {
  switch (`${cmd.op}:${cmd.lib ?? ''}`) {
    case 'seal:iron-session':
      // authkit-nextjs: sealData(session, { password, ttl: 0 }) / sealData(state, { password, ttl: 600 });
      // without "ttl", iron-session's own default (14 days) applies.
      return sealData(cmd.data, cmd.ttl == null ? { password: cmd.password } : { password: cmd.password, ttl: cmd.ttl });
    case 'unseal:iron-session':
      // Note: returns {} (does not throw) on a bad MAC, an expired seal or an unknown id.
      return unsealData(cmd.sealed, { password: cmd.password });
    case 'seal:iron-webcrypto':
      return webcryptoSeal(cmd);
    case 'unseal:iron-webcrypto':
      return webcryptoUnseal(cmd);
    case 'versions:': {
      const version = (name) =>
        JSON.parse(readFileSync(new URL(`./node_modules/${name}/package.json`, import.meta.url))).version;
      return { node: process.version, 'iron-session': version('iron-session'), 'iron-webcrypto': version('iron-webcrypto') };
    }
    default:
      throw new Error(`unknown command ${cmd.op}:${cmd.lib}`);
  }
}

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  if (!line.trim()) continue;
  let out;
  const realNow = Date.now;
  try {
    const cmd = JSON.parse(line);
    if (cmd.nowMs != null) Date.now = () => cmd.nowMs;
    out = { ok: true, result: await run(cmd) };
  } catch (error) {
    out = { ok: false, error: String(error?.message ?? error) };
  } finally {
    Date.now = realNow;
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
}
