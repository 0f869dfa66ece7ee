// `npm test`: every infra check, offline, failing on the first broken stage.
//   1. type-check + build: strict `tsc` (noEmitOnError, so a type error fails here and emits nothing)
//   2. one `node --test` run (TAP, so `# pass/# fail` summary lines reach the log):
//      unit tests of the program under mocks, policy tests, schema tests, plan staleness
//      (dist/tests/*.test.js), Firestore rules on the emulator (tests/rules/), workflow
//      validation (tests/workflows.test.mjs).
import { spawnSync } from "node:child_process";
import { readdirSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const infraDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
process.chdir(infraDir);

function run(title, command, args) {
    const started = Date.now();
    console.log(`\n== ${title}`);
    const result = spawnSync(command, args, { stdio: "inherit" });
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    if (result.status !== 0) {
        console.error(`== ${title}: FAILED (${result.signal ?? `exit ${result.status}`}, ${seconds}s)`);
        process.exit(1);
    }
    console.log(`== ${title}: ok (${seconds}s)`);
}

const started = Date.now();
// Stale compiled tests must never run (a deleted test would keep passing from dist/).
rmSync(path.join(infraDir, "dist"), { recursive: true, force: true });
run("type-check and build (tsc, strict)", process.execPath, [path.join("node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"]);

const compiled = readdirSync(path.join("dist", "tests"))
    .filter((f) => f.endsWith(".test.js"))
    .map((f) => path.join("dist", "tests", f));
const rules = readdirSync(path.join("tests", "rules"))
    .filter((f) => f.endsWith(".test.mjs"))
    .map((f) => path.join("tests", "rules", f));
run("unit, policy, schema, plan-staleness, Firestore rules and workflow tests", process.execPath, [
    "--test",
    "--test-reporter=tap",
    "--test-timeout=180000",
    ...compiled,
    ...rules,
    path.join("tests", "workflows.test.mjs"),
]);
console.log(`\n== infra: all checks passed in ${((Date.now() - started) / 1000).toFixed(1)}s`);
