// node validate.cjs <document.json>...: parse each AsyncAPI document with the official
// parser; print every diagnostic; exit 1 when a document has an error or a warning.
const fs = require("fs");
const { Parser } = require("@asyncapi/parser");

const ERROR = 0;
const WARNING = 1;

(async () => {
  const parser = new Parser();
  let bad = 0;
  for (const path of process.argv.slice(2)) {
    const { document, diagnostics } = await parser.parse(fs.readFileSync(path, "utf8"));
    for (const d of diagnostics) {
      const level = ["error", "warning", "info", "hint"][d.severity] ?? d.severity;
      console.log(`${path}: ${level} ${d.code}: ${d.message} at /${d.path.join("/")}`);
      if (d.severity === ERROR || d.severity === WARNING) bad += 1;
    }
    if (!document) bad += 1;
  }
  process.exit(bad ? 1 : 0);
})().catch((err) => {
  console.error(err);
  process.exit(2);
});
