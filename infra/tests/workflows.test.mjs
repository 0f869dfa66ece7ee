// The GitHub workflows: schema-valid (@action-validator/cli), and wired to the project's own
// make targets rather than re-implementing them.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";

const infraDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const repoDir = path.dirname(infraDir);
const workflowDir = path.join(repoDir, ".github", "workflows");
const validator = path.join(infraDir, "node_modules", ".bin", "action-validator");
const workflows = readdirSync(workflowDir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort();

function load(file) {
    return parse(readFileSync(path.join(workflowDir, file), "utf8"));
}

function steps(doc) {
    return Object.values(doc.jobs ?? {}).flatMap((job) => job.steps ?? []);
}

function runScripts(doc) {
    return steps(doc)
        .map((s) => s.run)
        .filter((r) => typeof r === "string");
}

function makeTargets(doc) {
    return runScripts(doc).flatMap((script) => [...script.matchAll(/(?:^|[\s;&|])make\s+([a-z][a-z0-9-]*)/g)].map((m) => m[1]));
}

function uses(doc) {
    return steps(doc)
        .map((s) => s.uses)
        .filter((u) => typeof u === "string");
}

test("the three workflows exist", () => {
    for (const f of ["ci.yml", "preview.yml", "deploy.yml"]) {
        assert.ok(workflows.includes(f), `.github/workflows/${f} is missing`);
    }
});

describe("action-validator", () => {
    for (const file of workflows) {
        test(`${file} is a valid workflow`, () => {
            try {
                execFileSync(validator, [path.join(workflowDir, file)], { stdio: "pipe" });
            } catch (err) {
                assert.fail(`action-validator rejected ${file}:\n${err.stdout}${err.stderr}`);
            }
        });
    }

    test("the validator itself rejects a broken workflow", () => {
        // Guards against a validator that passes everything (e.g. a broken install).
        const broken = path.join(infraDir, "tests", "fixtures", "broken-workflow.yml");
        assert.throws(() => execFileSync(validator, [broken], { stdio: "pipe" }));
    });
});

describe("workflows call the project's make targets", () => {
    test("ci.yml runs `make test` on push", () => {
        const doc = load("ci.yml");
        assert.ok("push" in doc.on, "ci must run on push");
        assert.ok(makeTargets(doc).includes("test"));
    });

    test("preview.yml checks `make plan` and posts `pulumi preview --diff` on pull requests", () => {
        const doc = load("preview.yml");
        assert.ok("pull_request" in doc.on);
        assert.ok(makeTargets(doc).includes("plan"));
        const preview = steps(doc).find((s) => String(s.uses).startsWith("pulumi/actions@") && s.with?.command === "preview");
        assert.ok(preview, "no pulumi preview step");
        assert.equal(preview.with.diff, true);
        assert.equal(preview.with["comment-on-pr"], true);
        assert.equal(preview.with.policyPacks, "infra/policypack");
        assert.equal(doc.permissions["pull-requests"], "write");
    });

    test("deploy.yml: after CI on main, behind an environment, images pinned by digest, then `pulumi up`", () => {
        const doc = load("deploy.yml");
        assert.deepEqual(doc.on.workflow_run.workflows, ["ci"]);
        assert.deepEqual(doc.on.workflow_run.branches, ["main"]);
        assert.ok(makeTargets(doc).includes("plan"));
        const job = doc.jobs.deploy;
        assert.equal(job.environment.name, "production");
        assert.match(job.if, /conclusion == 'success'/);
        const builds = steps(doc).filter((s) => String(s.uses).startsWith("docker/build-push-action@"));
        assert.deepEqual(builds.map((s) => s.with.file).sort(), ["app/Dockerfile", "executor/Dockerfile", "web-functions/Dockerfile"]);
        for (const b of builds) {
            assert.equal(b.with.platforms, "linux/amd64");
            assert.equal(b.with.push, true);
        }
        const pin = runScripts(doc).find((r) => r.includes("pulumi config set --path images."));
        assert.ok(pin, "images are not pinned");
        assert.equal((pin.match(/@\$[A-Z_]+_DIGEST/g) ?? []).length, 3, "every image must be pinned by its pushed digest");
        const stepsList = steps(doc);
        const upIndex = stepsList.findIndex((s) => String(s.uses).startsWith("pulumi/actions@") && s.with?.command === "up");
        const pinIndex = stepsList.findIndex((s) => s.run === pin);
        assert.ok(upIndex > pinIndex && pinIndex > 0, "pulumi up must come after pinning");
        assert.equal(stepsList[upIndex].with.policyPacks, "infra/policypack");
    });

    test("every make target a workflow calls exists in the root Makefile", (t) => {
        const makefile = path.join(repoDir, "Makefile");
        if (!existsSync(makefile)) {
            t.skip("no root Makefile yet");
            return;
        }
        const defined = new Set([...readFileSync(makefile, "utf8").matchAll(/^([a-z][a-z0-9-]*):/gm)].map((m) => m[1]));
        for (const file of workflows) {
            for (const target of makeTargets(load(file))) {
                assert.ok(defined.has(target), `${file} calls \`make ${target}\`, which the Makefile does not define`);
            }
        }
    });

    test("third-party actions are pinned to a version", () => {
        for (const file of workflows) {
            for (const u of uses(load(file))) {
                assert.match(u, /@(v\d+(\.\d+){0,2}|[0-9a-f]{40})$/, `${file}: ${u}`);
            }
        }
    });
});
