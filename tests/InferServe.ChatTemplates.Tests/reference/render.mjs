// Renders chat-template cases with the reference implementation (@huggingface/jinja)
// so the C# tests can compare byte-for-byte.
// Usage: node render.mjs <cases.json> <path to @huggingface/jinja package dir>
// cases.json: [{ "id", "template" (source text), "context" (variables) }]
// Prints: [{ "id", "output" } | { "id", "error" }] as JSON on stdout.
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { join } from "node:path";

const [casesPath, packageDir] = process.argv.slice(2);
const pkg = JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8"));
const { Template } = await import(pathToFileURL(join(packageDir, pkg.module ?? "dist/index.js")).href);

const cases = JSON.parse(readFileSync(casesPath, "utf8"));
const results = [];
for (const c of cases) {
  try {
    results.push({ id: c.id, output: new Template(c.template).render(c.context) });
  } catch (e) {
    results.push({ id: c.id, error: String(e?.message ?? e) });
  }
}
process.stdout.write(JSON.stringify({ version: pkg.version, results }));
