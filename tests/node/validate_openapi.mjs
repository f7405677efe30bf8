// Validates an OpenAPI document (src/api/openapi.json) with the npm package
// @seriousme/openapi-schema-validator (the official OpenAPI 3.1 JSON Schema,
// and every $ref must resolve), then checks what that schema cannot express:
// every Schema Object is valid JSON Schema 2020-12 (ajv's meta-schema check),
// unique operationIds, every {placeholder} of a path declared as a required
// path parameter and no path parameter that is not in the path, and a 2xx
// answer for every operation.
//
// usage: node validate_openapi.mjs FILE
// exit 0: valid; 1: invalid (the reasons are printed); 2: bad usage or the
// package is missing (run `npm ci` in tests/node, or scripts/setup.sh).
import { readFileSync } from "node:fs";

const file = process.argv[2];
if (!file) {
  console.error("usage: node validate_openapi.mjs FILE");
  process.exit(2);
}

let Validator;
let Ajv2020;
try {
  ({ Validator } = await import("@seriousme/openapi-schema-validator"));
  ({ Ajv2020 } = await import("ajv/dist/2020.js"));
} catch (err) {
  console.error(`cannot load the npm packages (run \`npm ci\` in tests/node): ${err.message}`);
  process.exit(2);
}

let document;
try {
  document = JSON.parse(readFileSync(file, "utf8"));
} catch (err) {
  console.error(`${file}: not a readable JSON file: ${err.message}`);
  process.exit(1);
}

const validator = new Validator();
const result = await validator.validate(document);
if (!result.valid) {
  console.error(`${file}: not a valid OpenAPI document:`);
  console.error(typeof result.errors === "string" ? result.errors : JSON.stringify(result.errors, null, 2));
  process.exit(1);
}
if (!validator.version.startsWith("3.1")) {
  console.error(`${file}: OpenAPI ${validator.version}, expected 3.1`);
  process.exit(1);
}

const problems = [];

// Schema Objects: under components/schemas, and `schema` of parameters,
// headers and media types, wherever they are (before $refs are resolved).
const ajv = new Ajv2020({ strict: false, validateFormats: false });
function checkSchemas(node, pointer) {
  if (node === null || typeof node !== "object") return;
  for (const [key, value] of Object.entries(node)) {
    const at = `${pointer}/${key.replaceAll("~", "~0").replaceAll("/", "~1")}`;
    const isSchema = key === "schema" || pointer === "#/components/schemas";
    if (isSchema && value !== null && (typeof value === "object" || typeof value === "boolean")) {
      if (!ajv.validateSchema(value)) problems.push(`${at}: not a JSON Schema: ${ajv.errorsText(ajv.errors)}`);
      continue;
    }
    checkSchemas(value, at);
  }
}
checkSchemas(document, "#");

const spec = validator.resolveRefs();
const methods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
const operationIds = new Map();
for (const [path, item] of Object.entries(spec.paths ?? {})) {
  const placeholders = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
  for (const method of methods) {
    const operation = item[method];
    if (!operation) continue;
    const where = `${method.toUpperCase()} ${path}`;
    if (operation.operationId) {
      if (operationIds.has(operation.operationId)) {
        problems.push(`${where}: operationId ${operation.operationId} is also ${operationIds.get(operation.operationId)}'s`);
      }
      operationIds.set(operation.operationId, where);
    } else {
      problems.push(`${where}: no operationId`);
    }
    // Operation parameters override path-item ones of the same name and location.
    const parameters = new Map();
    for (const p of [...(item.parameters ?? []), ...(operation.parameters ?? [])]) parameters.set(`${p.in}:${p.name}`, p);
    for (const name of placeholders) {
      const p = parameters.get(`path:${name}`);
      if (!p) problems.push(`${where}: {${name}} is not declared as a path parameter`);
      else if (p.required !== true) problems.push(`${where}: path parameter ${name} must be required`);
    }
    for (const p of parameters.values()) {
      if (p.in === "path" && !placeholders.includes(p.name)) {
        problems.push(`${where}: path parameter ${p.name} is not in the path`);
      }
    }
    const statuses = Object.keys(operation.responses ?? {});
    if (!statuses.some((s) => /^2(\d\d|XX)$/.test(s))) problems.push(`${where}: no 2xx response`);
  }
}

if (problems.length > 0) {
  console.error(`${file}: ${problems.length} problem(s):`);
  for (const problem of problems) console.error(`  ${problem}`);
  process.exit(1);
}
console.log(`${file}: valid OpenAPI ${validator.version}, ${operationIds.size} operations`);
