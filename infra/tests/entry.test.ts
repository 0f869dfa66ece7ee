// The Pulumi entry point itself (index.ts, what `pulumi up` runs) builds the stack under mocks
// and exports its outputs.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { runUnderMocks } from "../tooling/harness";

function value<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => output.apply((v) => resolve(v)));
}

test("index.ts builds both projects and exports URLs, key, queue and identities", async () => {
    let entry: typeof import("../index") | undefined;
    const run = await runUnderMocks(() => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        entry = require("../index");
    });
    assert.ok(entry);
    assert.ok(run.customResources().length > 100);
    assert.match(await value(entry.agentExecutorUrl), /^https:\/\/agent-executor-\d{12}\.us-central1\.run\.app$/);
    assert.equal(
        await value(entry.credentialsKey),
        "projects/inference-agents/locations/us-central1/keyRings/agent-keys/cryptoKeys/credentials",
    );
    assert.equal(await value(entry.agentTasksQueue), "projects/inference-agents/locations/us-central1/queues/agent-tasks");
    assert.deepEqual(Object.keys(await value(pulumi.output(entry.serviceAccounts))).sort(), [
        "agent-bridge",
        "agent-executor",
        "inference-api",
        "tasks-invoker",
    ]);
    assert.deepEqual(await value(pulumi.output(entry.hostingSites)), ["https://inference-web.web.app", "https://inference-web2.web.app"]);
});
