// Plan staleness: the committed infra/plan/prod.txt must equal what the program renders now, so
// every infrastructure change arrives with its reviewable plan diff.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { test } from "node:test";
import { currentPlan, planFile } from "../tooling/planFile";

test("infra/plan/prod.txt is up to date (run `make plan` and commit the result)", async () => {
    assert.ok(fs.existsSync(planFile), "infra/plan/prod.txt is missing: run `make plan`");
    const committed = fs.readFileSync(planFile, "utf8");
    const rendered = await currentPlan();
    if (committed !== rendered) {
        const a = committed.split("\n");
        const b = rendered.split("\n");
        const first = a.findIndex((line, i) => line !== b[i]);
        assert.fail(
            `infra/plan/prod.txt is stale: run \`make plan\` and commit it.\nfirst difference at line ${first + 1}:\n` +
                `  committed: ${a[first] ?? "<end of file>"}\n  rendered:  ${b[first] ?? "<end of file>"}`,
        );
    }
});

test("the plan carries no clock-dependent values", async () => {
    // Determinism across runs is what the staleness check above exercises (the plan is rendered
    // in a fresh process every time); this guards against timestamps sneaking in.
    const text = fs.readFileSync(planFile, "utf8");
    assert.ok(!/\b20\d\d-\d\d-\d\dT\d\d:\d\d/.test(text), "timestamps in the plan");
});
