// Mints and opens PASETO v4 tokens with paseto-ts, an independent TypeScript implementation.
//
// Usage:
//   node paseto_ts.mjs version                          -> prints paseto-ts's version
//   node paseto_ts.mjs encode PURPOSE KEY FOOTER [IMPLICIT] < PAYLOAD_JSON  -> prints the token
//   node paseto_ts.mjs decode PURPOSE KEY TOKEN [IMPLICIT]                  -> prints {"payload", "footer"}
//
// PURPOSE is `local` or `public`. KEY is a PASERK string, which paseto-ts takes as it is:
// `k4.local.` for both local commands, `k4.secret.` to sign and `k4.public.` to verify.
// FOOTER '' means no footer; it is used byte for byte. The payload is read from stdin and its
// claims are kept as given (no `iat`/`exp` added). Exits 1 with a message on stderr when
// paseto-ts rejects.
//
// paseto-ts is an ES module without a CommonJS entry, and `import` ignores NODE_PATH, so the
// package is found in the directory `$PASETO_TS_NODE_PATH` (a `node_modules`) through its
// `exports` map.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

async function load() {
  const dir = process.env.PASETO_TS_NODE_PATH;
  if (!dir) throw new Error("PASETO_TS_NODE_PATH is not set");
  const root = join(dir, "paseto-ts");
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  const v4 = await import(pathToFileURL(join(root, pkg.exports["./v4"].import)).href);
  return { version: pkg.version, v4 };
}

const { version, v4 } = await load();
const [command, purpose, key, arg, implicit = ""] = process.argv.slice(2);

if (command === "version") {
  console.log(version);
  process.exit(0);
}
if (purpose !== "local" && purpose !== "public") {
  console.error(`unknown purpose ${purpose}`);
  process.exit(2);
}

try {
  if (command === "encode") {
    const payload = readFileSync(0, "utf8");
    const options = { assertion: implicit, addIat: false, addExp: false };
    if (arg) options.footer = arg;
    const token =
      purpose === "local" ? v4.encrypt(key, payload, options) : v4.sign(key, payload, options);
    console.log(token);
  } else if (command === "decode") {
    const options = { assertion: implicit };
    const opened =
      purpose === "local" ? v4.decrypt(key, arg, options) : v4.verify(key, arg, options);
    // paseto-ts hands back a JSON footer parsed (and '' for none); print it as a string.
    const footer = opened.footer ?? "";
    console.log(
      JSON.stringify({
        payload: opened.payload,
        footer: typeof footer === "string" ? footer : JSON.stringify(footer),
      }),
    );
  } else {
    console.error(`unknown command ${command}`);
    process.exit(2);
  }
} catch (e) {
  // paseto-ts throws several error classes; any of them is a rejection.
  console.error(`rejected: ${e.name}: ${e.message}`);
  process.exit(1);
}
