// Parses an AsyncAPI document with the official parser and prints each diagnostic as one JSON
// line; exits 1 when the parser gives no document (tests/test_schema.py runs it).
import { readFileSync } from "node:fs";
import { Parser } from "@asyncapi/parser";

const SEVERITIES = ["error", "warning", "information", "hint"];
const { document, diagnostics } = await new Parser().parse(readFileSync(process.argv[2], "utf8"));
for (const diagnostic of diagnostics) {
  const { severity, code, message, path } = diagnostic;
  console.log(JSON.stringify({ severity: SEVERITIES[severity], code, message, path: path.join("/") }));
}
process.exit(document ? 0 : 1);
