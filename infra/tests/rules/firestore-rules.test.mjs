// Firestore security rules (infra/firestore/*.rules) against the real emulator: allowed and
// denied cases for every rule, with real signed-in contexts.
import { after, before, describe, test } from "node:test";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { assertFails, assertSucceeds, initializeTestEnvironment } from "@firebase/rules-unit-testing";
import {
    setLogLevel,
    deleteDoc,
    doc,
    getDoc,
    getDocs,
    collection,
    query,
    where,
    serverTimestamp,
    setDoc,
    updateDoc,
} from "firebase/firestore";
import { startEmulator } from "./emulator.mjs";

const infraDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const rules = (name) => readFileSync(path.join(infraDir, "firestore", name), "utf8");

// Denials are expected here; the SDK would log each one as an error.
setLogLevel("silent");

let emulator;
let agents;
let platform;

before(async () => {
    emulator = await startEmulator();
    const firestore = (file) => ({ host: emulator.host, port: emulator.port, rules: rules(file) });
    // Two emulator projects, one per GCP project, each with its own rules.
    agents = await initializeTestEnvironment({ projectId: "demo-agents", firestore: firestore("agents.rules") });
    platform = await initializeTestEnvironment({ projectId: "demo-platform", firestore: firestore("platform.rules") });
});

after(async () => {
    await agents?.cleanup();
    await platform?.cleanup();
    await emulator?.stop();
});

const alice = "alice-uid";
const bob = "bob-uid";

function newTask(taskId, overrides = {}) {
    return {
        task_id: taskId,
        user_id: alice,
        name: "Daily BTC digest",
        description: "Summarise the market",
        system_prompt: "You are a careful analyst.",
        task_prompt: "Report for {{date}}",
        model: "claude-sonnet",
        tools: ["http_get", "webhook"],
        integrations: ["coingecko"],
        webhook_urls: ["https://hooks.example.com/a"],
        schedule: "0 8 * * *",
        max_iterations: 10,
        max_credits: 500,
        temperature: 0.3,
        max_tokens: 4096,
        enabled: true,
        created_at: serverTimestamp(),
        updated_at: serverTimestamp(),
        ...overrides,
    };
}

async function seed(env, docPath, data) {
    await env.withSecurityRulesDisabled(async (ctx) => {
        await setDoc(doc(ctx.firestore(), docPath), data);
    });
}

describe("agents.rules: agent_tasks", () => {
    test("owner creates a valid task", async () => {
        const db = agents.authenticatedContext(alice).firestore();
        await assertSucceeds(setDoc(doc(db, "agent_tasks/t-create"), newTask("t-create")));
    });

    test("rules are in force: unauthenticated create is denied", async () => {
        const db = agents.unauthenticatedContext().firestore();
        await assertFails(setDoc(doc(db, "agent_tasks/t-anon"), newTask("t-anon")));
    });

    test("creating a task for another user is denied", async () => {
        const db = agents.authenticatedContext(bob).firestore();
        await assertFails(setDoc(doc(db, "agent_tasks/t-other"), newTask("t-other")));
    });

    test("server-managed fields are not client-writable on create", async () => {
        const db = agents.authenticatedContext(alice).firestore();
        for (const field of ["last_run_at", "total_credits_used", "consecutive_failures", "paused_reason"]) {
            await assertFails(setDoc(doc(db, `agent_tasks/t-srv-${field}`), newTask(`t-srv-${field}`, { [field]: 0 })));
        }
    });

    test("unknown fields are rejected (hasOnly allowlist)", async () => {
        const db = agents.authenticatedContext(alice).firestore();
        await assertFails(setDoc(doc(db, "agent_tasks/t-extra"), newTask("t-extra", { is_admin: true })));
    });

    test("task_id must equal the document id", async () => {
        const db = agents.authenticatedContext(alice).firestore();
        await assertFails(setDoc(doc(db, "agent_tasks/t-id"), newTask("something-else")));
    });

    test("size limits: name, prompt, webhook count", async () => {
        const db = agents.authenticatedContext(alice).firestore();
        await assertFails(setDoc(doc(db, "agent_tasks/t-name"), newTask("t-name", { name: "x".repeat(101) })));
        await assertFails(setDoc(doc(db, "agent_tasks/t-prompt"), newTask("t-prompt", { task_prompt: "x".repeat(20001) })));
        await assertFails(setDoc(doc(db, "agent_tasks/t-empty"), newTask("t-empty", { name: "" })));
        const four = ["https://a.example.com", "https://b.example.com", "https://c.example.com", "https://d.example.com"];
        await assertFails(setDoc(doc(db, "agent_tasks/t-hooks"), newTask("t-hooks", { webhook_urls: four })));
        await assertSucceeds(setDoc(doc(db, "agent_tasks/t-hooks3"), newTask("t-hooks3", { webhook_urls: four.slice(0, 3) })));
    });

    test("webhook URLs must be HTTPS without credentials", async () => {
        const db = agents.authenticatedContext(alice).firestore();
        await assertFails(setDoc(doc(db, "agent_tasks/t-http"), newTask("t-http", { webhook_urls: ["http://hooks.example.com/a"] })));
        await assertFails(
            setDoc(doc(db, "agent_tasks/t-cred"), newTask("t-cred", { webhook_urls: ["https://user:pw@hooks.example.com/"] })),
        );
        await assertFails(
            setDoc(
                doc(db, "agent_tasks/t-3rd"),
                newTask("t-3rd", { webhook_urls: ["https://ok.example.com", "https://ok2.example.com", "ftp://x"] }),
            ),
        );
    });

    test("schedule must be a five-field cron or null", async () => {
        const db = agents.authenticatedContext(alice).firestore();
        await assertSucceeds(setDoc(doc(db, "agent_tasks/t-cron-ok"), newTask("t-cron-ok", { schedule: "*/15 * * * 1-5" })));
        await assertSucceeds(setDoc(doc(db, "agent_tasks/t-cron-null"), newTask("t-cron-null", { schedule: null })));
        await assertFails(setDoc(doc(db, "agent_tasks/t-cron-4"), newTask("t-cron-4", { schedule: "* * * *" })));
        await assertFails(setDoc(doc(db, "agent_tasks/t-cron-bad"), newTask("t-cron-bad", { schedule: "every day; rm -rf /" })));
    });

    test("tools are limited to the four known tools; numbers are bounded", async () => {
        const db = agents.authenticatedContext(alice).firestore();
        await assertFails(setDoc(doc(db, "agent_tasks/t-tool"), newTask("t-tool", { tools: ["shell"] })));
        await assertFails(setDoc(doc(db, "agent_tasks/t-temp"), newTask("t-temp", { temperature: 3 })));
        await assertFails(setDoc(doc(db, "agent_tasks/t-iter"), newTask("t-iter", { max_iterations: 500 })));
    });

    test("owner reads own task; another user cannot", async () => {
        await seed(agents, "agent_tasks/t-read", { ...newTask("t-read"), created_at: new Date(), updated_at: new Date() });
        await assertSucceeds(getDoc(doc(agents.authenticatedContext(alice).firestore(), "agent_tasks/t-read")));
        await assertFails(getDoc(doc(agents.authenticatedContext(bob).firestore(), "agent_tasks/t-read")));
        await assertSucceeds(
            getDocs(query(collection(agents.authenticatedContext(alice).firestore(), "agent_tasks"), where("user_id", "==", alice))),
        );
        await assertFails(getDocs(collection(agents.authenticatedContext(alice).firestore(), "agent_tasks")));
    });

    test("owner updates client fields; server fields, owner and task id stay immutable", async () => {
        await seed(agents, "agent_tasks/t-upd", {
            ...newTask("t-upd"),
            created_at: new Date(),
            updated_at: new Date(),
            last_run_at: new Date(),
            total_credits_used: 12.5,
            consecutive_failures: 3,
        });
        const db = agents.authenticatedContext(alice).firestore();
        const ref = doc(db, "agent_tasks/t-upd");
        await assertSucceeds(updateDoc(ref, { name: "Renamed", enabled: false, updated_at: serverTimestamp() }));
        await assertFails(updateDoc(ref, { total_credits_used: 0, updated_at: serverTimestamp() }));
        // Resetting the failure counter would defeat the auto-pause after 3 failed runs.
        await assertFails(updateDoc(ref, { consecutive_failures: 0, updated_at: serverTimestamp() }));
        await assertFails(updateDoc(ref, { paused_reason: null, updated_at: serverTimestamp() }));
        await assertFails(updateDoc(ref, { user_id: bob, updated_at: serverTimestamp() }));
        await assertFails(updateDoc(ref, { task_id: "t-other", updated_at: serverTimestamp() }));
        await assertFails(updateDoc(ref, { webhook_urls: ["http://insecure.example.com"], updated_at: serverTimestamp() }));
        await assertFails(
            updateDoc(doc(agents.authenticatedContext(bob).firestore(), "agent_tasks/t-upd"), {
                name: "Hijack",
                updated_at: serverTimestamp(),
            }),
        );
    });

    test("owner deletes own task; another user cannot", async () => {
        await seed(agents, "agent_tasks/t-del", { ...newTask("t-del"), created_at: new Date(), updated_at: new Date() });
        await assertFails(deleteDoc(doc(agents.authenticatedContext(bob).firestore(), "agent_tasks/t-del")));
        await assertSucceeds(deleteDoc(doc(agents.authenticatedContext(alice).firestore(), "agent_tasks/t-del")));
    });
});

describe("agents.rules: credentials, executions, integrations", () => {
    before(async () => {
        await seed(agents, "agent_tasks/t-cred", { ...newTask("t-cred"), created_at: new Date(), updated_at: new Date() });
        await seed(agents, "agent_tasks/t-cred/credentials/COINGECKO_API_KEY", {
            credential_key: "COINGECKO_API_KEY",
            credentials_encrypted: "CiQA...",
            status: "active",
        });
        await seed(agents, "agent_executions/e-1", { execution_id: "e-1", task_id: "t-cred", user_id: alice, status: "completed" });
        await seed(agents, "platform_integrations/coingecko", {
            name: "CoinGecko",
            status: "approved",
            allowed_domains: ["api.coingecko.com"],
        });
    });

    test("credentials: task owner reads, others cannot", async () => {
        const path = "agent_tasks/t-cred/credentials/COINGECKO_API_KEY";
        await assertSucceeds(getDoc(doc(agents.authenticatedContext(alice).firestore(), path)));
        await assertFails(getDoc(doc(agents.authenticatedContext(bob).firestore(), path)));
    });

    test("credentials: never client-writable, not even by the owner", async () => {
        const db = agents.authenticatedContext(alice).firestore();
        await assertFails(
            setDoc(doc(db, "agent_tasks/t-cred/credentials/NEW_KEY"), { credential_key: "NEW_KEY", credentials_encrypted: "x" }),
        );
        await assertFails(deleteDoc(doc(db, "agent_tasks/t-cred/credentials/COINGECKO_API_KEY")));
    });

    test("executions: owner reads, others cannot, nobody writes", async () => {
        await assertSucceeds(getDoc(doc(agents.authenticatedContext(alice).firestore(), "agent_executions/e-1")));
        await assertFails(getDoc(doc(agents.authenticatedContext(bob).firestore(), "agent_executions/e-1")));
        await assertFails(
            setDoc(doc(agents.authenticatedContext(alice).firestore(), "agent_executions/e-2"), { user_id: alice, status: "completed" }),
        );
        await assertFails(updateDoc(doc(agents.authenticatedContext(alice).firestore(), "agent_executions/e-1"), { status: "killed" }));
    });

    test("integrations: any signed-in user reads, anonymous cannot", async () => {
        await assertSucceeds(getDoc(doc(agents.authenticatedContext(bob).firestore(), "platform_integrations/coingecko")));
        await assertFails(getDoc(doc(agents.unauthenticatedContext().firestore(), "platform_integrations/coingecko")));
    });

    test("integrations: only admins write", async () => {
        await assertFails(
            setDoc(doc(agents.authenticatedContext(alice).firestore(), "platform_integrations/evil"), {
                name: "Evil",
                allowed_domains: ["evil.example"],
            }),
        );
        await assertSucceeds(
            setDoc(doc(agents.authenticatedContext("admin-uid", { admin: true }).firestore(), "platform_integrations/github"), {
                name: "GitHub",
                status: "approved",
            }),
        );
    });

    test("unknown collections are denied", async () => {
        await assertFails(setDoc(doc(agents.authenticatedContext(alice).firestore(), "anything/x"), { a: 1 }));
    });
});

describe("platform.rules", () => {
    before(async () => {
        await seed(platform, "users/alice-uid", { plan: "guru", email_hash: "h" });
        await seed(platform, "users/alice-uid/usage/2026-11", { credits_used: 12 });
        await seed(platform, "users/alice-uid/ledger/l-1", { amount: -5 });
        await seed(platform, "api_keys/k-1", { user_id: alice, key_hash: "abc" });
        await seed(platform, "credit_ledger/l-1", { user_id: alice, amount: -5 });
    });

    test("owner reads own user document and usage; other users cannot", async () => {
        await assertSucceeds(getDoc(doc(platform.authenticatedContext(alice).firestore(), "users/alice-uid")));
        await assertSucceeds(getDoc(doc(platform.authenticatedContext(alice).firestore(), "users/alice-uid/usage/2026-11")));
        await assertFails(getDoc(doc(platform.authenticatedContext(bob).firestore(), "users/alice-uid")));
        await assertFails(getDoc(doc(platform.unauthenticatedContext().firestore(), "users/alice-uid")));
    });

    test("user data is not client-writable, not even by its owner", async () => {
        await assertFails(setDoc(doc(platform.authenticatedContext(alice).firestore(), "users/alice-uid"), { plan: "pro" }));
        await assertFails(updateDoc(doc(platform.authenticatedContext(alice).firestore(), "users/alice-uid"), { plan: "pro" }));
    });

    test("API key records are never client-readable or writable", async () => {
        await assertFails(getDoc(doc(platform.authenticatedContext(alice).firestore(), "api_keys/k-1")));
        await assertFails(setDoc(doc(platform.authenticatedContext(alice).firestore(), "api_keys/k-2"), { user_id: alice }));
    });

    test("ledgers are never client-readable or writable, not even the owner's", async () => {
        const db = platform.authenticatedContext(alice).firestore();
        await assertFails(getDoc(doc(db, "credit_ledger/l-1")));
        await assertFails(getDoc(doc(db, "users/alice-uid/ledger/l-1")));
        await assertFails(setDoc(doc(db, "credit_ledger/l-2"), { user_id: alice, amount: 1000000 }));
        await assertFails(setDoc(doc(db, "users/alice-uid/ledger/l-2"), { amount: 1000000 }));
    });
});
