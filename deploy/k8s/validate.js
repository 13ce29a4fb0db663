#!/usr/bin/env node
// Validates every Kubernetes manifest under deploy/k8s without a cluster, and prints one line
// per object: OK or FAIL, the file, the object, and each problem found.
//
// Three checks run on each object:
//   1. the JSON schema of its kind from the Kubernetes OpenAPI definitions, as compiled into
//      the npm package kubernetes-models (types, required fields, enums, formats);
//   2. unknown fields, which that schema lets through: each object is type-checked with
//      TypeScript against the package's interface for its kind, whose excess property checks
//      reject any field the API does not define (a typo such as runAsNonroot);
//   3. rules that the API server or Pod Security Admission enforce and no schema expresses:
//      the selector must match the pod template's labels, privileged excludes
//      allowPrivilegeEscalation: false, extended resources need equal requests and limits, and
//      pods in a namespace that enforces "restricted" must meet that standard.
//
// The validator's packages stay out of the project's package.json. Install them once into a
// folder outside the repository, which K8S_VALIDATOR_DIR names (default: $TMPDIR/
// glitter-k8s-validator):
//
//   npm install --prefix /tmp/glitter-k8s-validator kubernetes-models@5.1.0 yaml@2.9.1 typescript@6.0.3
//   node deploy/k8s/validate.js
//
// Exit status: 0 when every object passes, 1 when any fails, 2 when the packages are missing.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const REPOSITORY = join(HERE, "..", "..");
const TOOLS = process.env.K8S_VALIDATOR_DIR ?? join(tmpdir(), "glitter-k8s-validator");
const PACKAGES = ["kubernetes-models@5.1.0", "yaml@2.9.1", "typescript@6.0.3"];

/** Imports a file of a package installed in TOOLS, by path, since this script lives elsewhere. */
async function importTool(path) {
  const file = join(TOOLS, "node_modules", path);
  if (!existsSync(file)) {
    process.stderr.write(
      `validate.js: ${file} not found. Install the validator's packages first:\n` +
        `  npm install --prefix ${TOOLS} ${PACKAGES.join(" ")}\n`,
    );
    process.exit(2);
  }
  return import(pathToFileURL(file).href);
}

/** Lists the YAML files under `folder`, sorted, as kubectl apply -f reads a folder. */
function manifestFiles(folder) {
  const files = [];
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const path = join(folder, entry.name);
    if (entry.isDirectory() && entry.name !== "node_modules") {
      files.push(...manifestFiles(path));
    } else if (/\.ya?ml$/.test(entry.name)) {
      files.push(path);
    }
  }
  return files.sort();
}

/** Returns the kubernetes-models file for an apiVersion such as "v1" or "apps/v1". */
function modelModule(apiVersion) {
  return `kubernetes-models/${apiVersion}/index.js`;
}

/**
 * Serialises `value` as indented JSON and records, for each line, the JSON path it starts, so
 * a TypeScript error on a line can name the field.
 */
function jsonWithPaths(value) {
  const lines = [];
  const paths = [];
  const emit = (text, path) => {
    lines.push(text);
    paths.push(path);
  };
  const write = (item, indent, prefix, path, suffix) => {
    const pad = "  ".repeat(indent);
    if (Array.isArray(item)) {
      emit(`${pad}${prefix}[`, path);
      item.forEach((element, index) =>
        write(element, indent + 1, "", `${path}[${index}]`, index < item.length - 1 ? "," : ""),
      );
      emit(`${pad}]${suffix}`, path);
    } else if (item !== null && typeof item === "object") {
      emit(`${pad}${prefix}{`, path);
      const entries = Object.entries(item);
      entries.forEach(([key, element], index) =>
        write(
          element,
          indent + 1,
          `${JSON.stringify(key)}: `,
          `${path}.${key}`,
          index < entries.length - 1 ? "," : "",
        ),
      );
      emit(`${pad}}${suffix}`, path);
    } else {
      emit(`${pad}${prefix}${JSON.stringify(item)}${suffix}`, path);
    }
  };
  write(value, 0, "", "", "");
  return { text: lines.join("\n"), paths };
}

/**
 * Type-checks every object against the kubernetes-models interface of its kind and returns
 * the problems per object index. Object literals get TypeScript's excess property check, so
 * unknown fields are reported with their JSON path.
 */
function unknownFields(ts, objects) {
  const options = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
  };
  const sources = new Map();
  const layouts = new Map();
  objects.forEach((object, index) => {
    if (typeof object.apiVersion !== "string" || typeof object.kind !== "string") {
      return;
    }
    // The virtual files sit in TOOLS so that module resolution finds kubernetes-models there.
    const fileName = join(TOOLS, `manifest-${index}.mts`);
    const layout = jsonWithPaths(object);
    const header =
      `import type { I${object.kind} as Kind } from ` +
      `${JSON.stringify(`kubernetes-models/${object.apiVersion}`)};\n` +
      `export const manifest = `;
    sources.set(fileName, `${header}${layout.text} satisfies Kind;\n`);
    layouts.set(fileName, { index, layout, headerLines: 2 });
  });

  const host = ts.createCompilerHost(options);
  const { fileExists, readFile, getSourceFile } = host;
  host.fileExists = (file) => sources.has(file) || fileExists.call(host, file);
  host.readFile = (file) => sources.get(file) ?? readFile.call(host, file);
  host.getSourceFile = (file, language, ...rest) =>
    sources.has(file)
      ? ts.createSourceFile(file, sources.get(file), language)
      : getSourceFile.call(host, file, language, ...rest);
  const program = ts.createProgram([...sources.keys()], options, host);

  const problems = new Map();
  for (const [fileName, { index, layout, headerLines }] of layouts) {
    const sourceFile = program.getSourceFile(fileName);
    for (const diagnostic of ts.getPreEmitDiagnostics(program, sourceFile)) {
      const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, " ");
      let where = "";
      if (diagnostic.file !== undefined && diagnostic.start !== undefined) {
        const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
        const path = layout.paths[line - headerLines + 1];
        where = path === undefined || path === "" ? "" : `${path.slice(1)}: `;
      }
      const list = problems.get(index) ?? [];
      list.push(`${where}${message}`);
      problems.set(index, list);
    }
  }
  return problems;
}

/** Returns the pod template of a workload, or undefined for kinds without one. */
function podTemplate(object) {
  return ["DaemonSet", "Deployment", "StatefulSet", "ReplicaSet", "Job"].includes(object.kind)
    ? object.spec?.template
    : undefined;
}

/** Rules the API server or Pod Security Admission enforce beyond the schema. */
function serverRules(object, namespaceLabels) {
  const problems = [];
  const template = podTemplate(object);
  if (template === undefined) {
    return problems;
  }

  const selector = object.spec?.selector?.matchLabels ?? {};
  const labels = template.metadata?.labels ?? {};
  for (const [key, value] of Object.entries(selector)) {
    if (labels[key] !== value) {
      problems.push(`spec.selector.matchLabels.${key}=${value} does not match the pod template`);
    }
  }

  const pod = template.spec ?? {};
  const containers = [...(pod.initContainers ?? []), ...(pod.containers ?? [])];
  for (const container of containers) {
    const context = container.securityContext ?? {};
    if (context.privileged === true && context.allowPrivilegeEscalation === false) {
      problems.push(
        `container ${container.name}: allowPrivilegeEscalation: false is invalid with privileged: true`,
      );
    }
    const requests = container.resources?.requests ?? {};
    const limits = container.resources?.limits ?? {};
    for (const name of new Set([...Object.keys(requests), ...Object.keys(limits)])) {
      const extended = name.includes("/") && !name.includes("kubernetes.io/");
      if (extended && String(requests[name] ?? limits[name]) !== String(limits[name])) {
        problems.push(
          `container ${container.name}: extended resource ${name} needs a limit equal to its request`,
        );
      }
    }
  }

  const level = namespaceLabels?.["pod-security.kubernetes.io/enforce"];
  if (level === "restricted") {
    problems.push(...restrictedViolations(pod, containers));
  }
  return problems;
}

/** Lists violations of the "restricted" Pod Security Standard, for the fields it covers. */
function restrictedViolations(pod, containers) {
  const problems = [];
  const podContext = pod.securityContext ?? {};
  if (pod.hostNetwork || pod.hostPID || pod.hostIPC) {
    problems.push("restricted: host namespaces are not allowed");
  }
  for (const volume of pod.volumes ?? []) {
    if (volume.hostPath !== undefined) {
      problems.push(`restricted: hostPath volume ${volume.name} is not allowed`);
    }
  }
  for (const container of containers) {
    const context = container.securityContext ?? {};
    const name = `restricted: container ${container.name}`;
    if (context.privileged === true) {
      problems.push(`${name} must not be privileged`);
    }
    if (context.allowPrivilegeEscalation !== false) {
      problems.push(`${name} needs allowPrivilegeEscalation: false`);
    }
    if ((context.runAsNonRoot ?? podContext.runAsNonRoot) !== true) {
      problems.push(`${name} needs runAsNonRoot: true`);
    }
    if ((context.runAsUser ?? podContext.runAsUser) === 0) {
      problems.push(`${name} must not run as uid 0`);
    }
    const drop = context.capabilities?.drop ?? [];
    if (!drop.includes("ALL")) {
      problems.push(`${name} must drop ALL capabilities`);
    }
    const added = (context.capabilities?.add ?? []).filter((cap) => cap !== "NET_BIND_SERVICE");
    if (added.length > 0) {
      problems.push(`${name} must not add capabilities ${added.join(", ")}`);
    }
    const seccomp = context.seccompProfile?.type ?? podContext.seccompProfile?.type;
    if (seccomp !== "RuntimeDefault" && seccomp !== "Localhost") {
      problems.push(`${name} needs seccompProfile RuntimeDefault or Localhost`);
    }
  }
  return problems;
}

async function main() {
  const { parseAllDocuments } = await importTool("yaml/dist/index.js");
  const ts = (await importTool("typescript/lib/typescript.js")).default;

  const entries = [];
  for (const file of manifestFiles(HERE)) {
    const documents = parseAllDocuments(readFileSync(file, "utf8"));
    documents.forEach((document, index) => {
      const object = document.toJS();
      if (object === null || object === undefined) {
        return;
      }
      const syntax = document.errors.map((error) => error.message);
      entries.push({ file, index, object, problems: syntax });
    });
  }

  // Namespaces are looked up in the same folder, because each variant folder brings its own.
  const namespaces = new Map();
  for (const { file, object } of entries) {
    if (object.apiVersion === "v1" && object.kind === "Namespace") {
      namespaces.set(`${dirname(file)}:${object.metadata?.name}`, object.metadata?.labels ?? {});
    }
  }

  for (const entry of entries) {
    const { object } = entry;
    if (typeof object.apiVersion !== "string" || typeof object.kind !== "string") {
      entry.problems.push("apiVersion and kind are required");
      continue;
    }
    const module = await importTool(modelModule(object.apiVersion)).catch(() => undefined);
    const Model = module?.[object.kind];
    if (Model === undefined) {
      entry.problems.push(`no schema for ${object.apiVersion} ${object.kind}`);
      continue;
    }
    try {
      new Model(object).validate();
    } catch (error) {
      entry.problems.push(...String(error.message).split("\n").filter(Boolean));
    }
    const namespaceLabels = namespaces.get(`${dirname(entry.file)}:${object.metadata?.namespace}`);
    entry.problems.push(...serverRules(object, namespaceLabels));
  }

  const typeProblems = unknownFields(
    ts,
    entries.map((entry) => entry.object),
  );
  entries.forEach((entry, position) => entry.problems.push(...(typeProblems.get(position) ?? [])));

  let failed = 0;
  for (const { file, index, object, problems } of entries) {
    const metadata = object.metadata ?? {};
    const name = metadata.namespace ? `${metadata.namespace}/${metadata.name}` : metadata.name;
    const where = `${relative(REPOSITORY, file)}#${index + 1}`;
    const status = problems.length === 0 ? "OK  " : "FAIL";
    process.stdout.write(`${status} ${where} ${object.apiVersion} ${object.kind} ${name}\n`);
    for (const problem of problems) {
      process.stdout.write(`       ${problem}\n`);
    }
    failed += problems.length === 0 ? 0 : 1;
  }
  process.stdout.write(`${entries.length - failed} passed, ${failed} failed\n`);
  process.exitCode = failed === 0 ? 0 : 1;
}

await main();
