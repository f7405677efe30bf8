// Verifies one captured webhook request with the official Standard Webhooks
// library (npm package `standardwebhooks`).
//
// stdin: JSON {"secret": "whsec_…", "headers": {name: value, …}, "body": "<raw body>"}
//        ("body_base64" may be given instead of "body" for exact bytes)
// exit 0 and prints "verified" when the signature verifies;
// exit 1 and prints the error otherwise; exit 2 on bad input or a missing package.
import { readFileSync } from "node:fs";

let Webhook;
try {
  const mod = await import("standardwebhooks");
  Webhook = mod.Webhook ?? mod.default?.Webhook;
  if (typeof Webhook !== "function") throw new Error("standardwebhooks exports no Webhook class");
} catch (err) {
  console.error(`cannot load the standardwebhooks package (run \`npm ci\` in tests/node): ${err.message}`);
  process.exit(2);
}

let input;
try {
  input = JSON.parse(readFileSync(0, "utf8"));
} catch (err) {
  console.error(`bad input: stdin is not JSON: ${err.message}`);
  process.exit(2);
}
if (typeof input.secret !== "string" || typeof input.headers !== "object" || input.headers === null) {
  console.error('bad input: expected {"secret": string, "headers": object, "body": string}');
  process.exit(2);
}
let body;
if (typeof input.body_base64 === "string") {
  body = Buffer.from(input.body_base64, "base64");
} else if (typeof input.body === "string") {
  body = input.body;
} else {
  console.error('bad input: "body" (string) or "body_base64" is required');
  process.exit(2);
}

try {
  new Webhook(input.secret).verify(body, input.headers);
  console.log("verified");
  process.exit(0);
} catch (err) {
  console.log(`not verified: ${err.name}: ${err.message}`);
  process.exit(1);
}
