// Validates rendered Kubernetes manifests offline, as the API server would with kubectl's default --validate=strict:
//  1. every object's apiVersion/kind is a built-in kind of the Kubernetes 1.34 API (kubernetes-models 5.1.0);
//  2. the object passes that kind's OpenAPI JSON schema (types, required fields, quantity and int-or-string formats);
//  3. no field is unknown: the object, typed as that kind's TypeScript interface, passes TypeScript's excess-property
//     check (the JSON schemas alone accept unknown fields, which the API server rejects);
//  4. names the API server checks by pattern: object names, label keys and values, container and port names.
// Usage: node validate.mjs [--dump-json OUT.json] FILE.yaml... (multi-document YAML, e.g. `kubectl kustomize` output).
// Exit 0 when all pass; --dump-json writes the parsed objects as {file: [objects]} (for consistency checks elsewhere).
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import YAML from "yaml";
import ts from "typescript";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
try {
  require.resolve("kubernetes-models/package.json");
} catch {
  console.error("kubernetes-models is not installed: run `npm ci` in k8s/schema-check");
  process.exit(2);
}

// "apps/v1" -> "apps/v1", "v1" -> "v1", "rbac.authorization.k8s.io/v1" -> same: the package's folder layout
const modelModule = (apiVersion, kind) => `kubernetes-models/${apiVersion}/${kind}`;

const dns1123Label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const dns1123Subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const labelName = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const labelValue = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const ianaServiceName = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
// kinds whose names are DNS-1123 labels rather than subdomains
const labelNamedKinds = new Set(["Namespace", "Service"]);

const errors = [];
const fail = (where, message) => errors.push(`${where}: ${message}`);

function checkLabels(where, labels) {
  for (const [key, value] of Object.entries(labels ?? {})) {
    const slash = key.lastIndexOf("/");
    const prefix = slash >= 0 ? key.slice(0, slash) : "";
    const name = slash >= 0 ? key.slice(slash + 1) : key;
    if (prefix && (prefix.length > 253 || !dns1123Subdomain.test(prefix))) fail(where, `label key prefix '${prefix}' is not a DNS subdomain`);
    if (name.length > 63 || !labelName.test(name)) fail(where, `label key '${key}' is not a valid label name`);
    if (typeof value !== "string" || value.length > 63 || !labelValue.test(value)) fail(where, `label value '${value}' of '${key}' is invalid`);
  }
}

function checkPodSpec(where, podSpec) {
  if (!podSpec) return;
  for (const container of [...(podSpec.initContainers ?? []), ...(podSpec.containers ?? [])]) {
    const at = `${where} container ${container.name}`;
    if (typeof container.name !== "string" || container.name.length > 63 || !dns1123Label.test(container.name)) fail(at, "container name is not a DNS-1123 label");
    for (const port of container.ports ?? []) {
      if (port.name !== undefined && (port.name.length > 15 || !ianaServiceName.test(port.name) || !/[a-z]/.test(port.name)))
        fail(at, `port name '${port.name}' is not an IANA service name (at most 15 lowercase letters, digits, '-')`);
    }
  }
}

function podTemplateOf(object) {
  if (object.kind === "Pod") return { metadata: object.metadata, spec: object.spec };
  if (object.kind === "CronJob") return object.spec?.jobTemplate?.spec?.template;
  return object.spec?.template;
}

async function main(args) {
  let dumpJson = null;
  const files = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--dump-json") dumpJson = args[++i];
    else files.push(args[i]);
  }
  if (files.length === 0 || dumpJson === undefined) {
    console.error("usage: node validate.mjs [--dump-json OUT.json] FILE.yaml...");
    process.exit(2);
  }
  const objects = [];
  for (const file of files) {
    // YAML 1.1, as the API server's decoder reads it (yes/no/on/off are booleans, 0440 is octal)
    const documents = YAML.parseAllDocuments(readFileSync(file, "utf8"), { version: "1.1" });
    documents.forEach((document, index) => {
      if (document.errors.length > 0) fail(`${file}#${index}`, `YAML: ${document.errors.map((e) => e.message).join("; ")}`);
      const object = document.toJS({ maxAliasCount: -1 });
      if (object !== null && object !== undefined) objects.push({ file, where: `${file}#${index}`, object });
    });
  }

  const typed = [];
  for (const entry of objects) {
    const { object } = entry;
    const where = `${entry.where} ${object?.kind ?? "?"}/${object?.metadata?.name ?? "?"}`;
    entry.label = where;
    if (typeof object !== "object" || Array.isArray(object)) { fail(where, "not a YAML mapping"); continue; }
    if (typeof object.apiVersion !== "string" || typeof object.kind !== "string") { fail(where, "apiVersion and kind are required"); continue; }
    let model;
    try {
      model = await import(modelModule(object.apiVersion, object.kind));
    } catch {
      fail(where, `${object.apiVersion} ${object.kind} is not a kind of the Kubernetes API`);
      continue;
    }
    const Model = model[object.kind];
    // kustomize wraps long base64 onto several lines (the docs' 64-character token: two); the API server's decoder (Go's
    // encoding/base64) ignores line breaks, the schema's "byte" format does not: judge the value as the server reads it
    const base64Field = { Secret: "data", ConfigMap: "binaryData" }[object.kind];
    for (const [key, value] of Object.entries((base64Field && object[base64Field]) ?? {}))
      if (typeof value === "string") object[base64Field][key] = value.replace(/[\r\n]/g, "");
    try {
      new Model(object).validate();
    } catch (e) {
      fail(where, `schema: ${e.message}`);
    }
    const name = object.metadata?.name;
    if (typeof name !== "string" || name.length === 0) fail(where, "metadata.name is required");
    else if (labelNamedKinds.has(object.kind) ? name.length > 63 || !dns1123Label.test(name) : name.length > 253 || !dns1123Subdomain.test(name))
      fail(where, `metadata.name '${name}' is not a valid ${labelNamedKinds.has(object.kind) ? "DNS-1123 label" : "DNS-1123 subdomain"}`);
    checkLabels(`${where} metadata.labels`, object.metadata?.labels);
    const template = podTemplateOf(object);
    if (template) {
      checkLabels(`${where} template labels`, template.metadata?.labels);
      checkLabels(`${where} nodeSelector`, template.spec?.nodeSelector);
      checkPodSpec(where, template.spec);
    }
    typed.push(entry);
  }

  checkUnknownFields(typed);
  if (dumpJson) {
    const byFile = Object.fromEntries(files.map((file) => [file, objects.filter((o) => o.file === file).map((o) => o.object)]));
    writeFileSync(dumpJson, JSON.stringify(byFile, null, 1));
  }

  if (errors.length > 0) {
    for (const error of errors) console.error(error);
    console.error(`${errors.length} problem(s) in ${objects.length} object(s)`);
    process.exit(1);
  }
  const kinds = objects.map((o) => `${o.object.kind}/${o.object.metadata.name}`);
  console.log(`valid: ${objects.length} object(s): ${kinds.join(" ")}`);
}

// Pretty-prints a value as a TypeScript literal, one property per line, remembering each line's JSON path.
function literal(value, pathOf, lines, indent, prefix) {
  const pad = "  ".repeat(indent);
  if (Array.isArray(value)) {
    lines.push({ text: `${pad}${prefix}[`, path: pathOf });
    value.forEach((item, i) => literal(item, `${pathOf}[${i}]`, lines, indent + 1, ""));
    lines.push({ text: `${pad}],`, path: pathOf });
  } else if (value !== null && typeof value === "object") {
    lines.push({ text: `${pad}${prefix}{`, path: pathOf });
    for (const [key, item] of Object.entries(value)) literal(item, `${pathOf}.${key}`, lines, indent + 1, `${JSON.stringify(key)}: `);
    lines.push({ text: `${pad}},`, path: pathOf });
  } else {
    lines.push({ text: `${pad}${prefix}${JSON.stringify(value)},`, path: pathOf });
  }
}

function checkUnknownFields(entries) {
  if (entries.length === 0) return;
  const lines = [];
  entries.forEach((entry, i) => {
    const { apiVersion, kind } = entry.object;
    lines.push({ text: `export const object${i}: import(${JSON.stringify(modelModule(apiVersion, kind))}).I${kind} =`, entry });
    const start = lines.length;
    literal(entry.object, "", lines, 1, "");
    for (let l = start; l < lines.length; l++) lines[l].entry = entry;
    lines[lines.length - 1].text = lines[lines.length - 1].text.replace(/,$/, ";");
  });
  const fileName = path.join(here, "__rendered_manifests__.ts");
  const source = lines.map((l) => l.text).join("\n");
  const options = {
    strict: true, noEmit: true, skipLibCheck: true, types: [],
    target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext,
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, language, ...rest) =>
    path.resolve(name) === fileName ? ts.createSourceFile(name, source, language) : getSourceFile(name, language, ...rest);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => path.resolve(name) === fileName || fileExists(name);
  const readFile = host.readFile.bind(host);
  host.readFile = (name) => (path.resolve(name) === fileName ? source : readFile(name));
  const program = ts.createProgram([fileName], options, host);
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n");
    if (!diagnostic.file || path.resolve(diagnostic.file.fileName) !== fileName) {
      fail("type check", message);
      continue;
    }
    const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
    const at = lines[line];
    // the last line of the chain carries the precise reason ("Object literal may only specify known properties ...")
    const reason = message.split("\n").pop().trim();
    fail(`${at?.entry?.label ?? "?"} ${at?.path || "(object)"}`, reason);
  }
}

await main(process.argv.slice(2));
