// The BigQuery schemas are a contract with the .NET event serializers (which validate against
// these same files): format, required columns and types are pinned here.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { readInfraFile } from "../src/paths";

interface Column {
    name: string;
    type: string;
    mode: string;
    description: string;
}

// Legacy type names: they are what the BigQuery API returns, so the provider shows no diff.
const types = new Set(["STRING", "INTEGER", "NUMERIC", "FLOAT", "BOOLEAN", "TIMESTAMP", "JSON"]);
const modes = new Set(["REQUIRED", "NULLABLE"]);

function schema(table: string): Column[] {
    return JSON.parse(readInfraFile("schemas", `${table}.json`)) as Column[];
}

function shape(columns: Column[]): Record<string, string> {
    return Object.fromEntries(columns.map((c) => [c.name, `${c.type} ${c.mode}`]));
}

for (const table of ["usage_events", "audit_events"]) {
    describe(`schemas/${table}.json`, () => {
        test("is a BigQuery JSON schema: name, type, mode, description on every column", () => {
            const columns = schema(table);
            assert.ok(Array.isArray(columns) && columns.length > 0);
            const names = new Set<string>();
            for (const c of columns) {
                assert.deepEqual(Object.keys(c).sort(), ["description", "mode", "name", "type"], JSON.stringify(c));
                assert.match(c.name, /^[a-z][a-z0-9_]*$/);
                assert.ok(!names.has(c.name), `duplicate column ${c.name}`);
                names.add(c.name);
                assert.ok(types.has(c.type), `${c.name}: type ${c.type}`);
                assert.ok(modes.has(c.mode), `${c.name}: mode ${c.mode}`);
                assert.ok(c.description.length >= 10, `${c.name}: description`);
            }
        });

        test("never names PII or content columns", () => {
            for (const c of schema(table)) {
                assert.doesNotMatch(c.name, /email|phone|prompt|content|message|ip_address|^ip$|api_key$|secret|token$/, c.name);
            }
        });
    });
}

test("usage_events columns", () => {
    const s = shape(schema("usage_events"));
    assert.deepEqual(
        {
            event_id: s.event_id,
            event_time: s.event_time,
            request_id: s.request_id,
            user_id: s.user_id,
            source: s.source,
            source_id: s.source_id,
            model: s.model,
            provider: s.provider,
            input_tokens: s.input_tokens,
            output_tokens: s.output_tokens,
            credits_charged: s.credits_charged,
            latency_ms: s.latency_ms,
            time_to_first_token_ms: s.time_to_first_token_ms,
            routed: s.routed,
            fallback_from: s.fallback_from,
            streamed: s.streamed,
            status: s.status,
        },
        {
            event_id: "STRING REQUIRED",
            event_time: "TIMESTAMP REQUIRED",
            request_id: "STRING REQUIRED",
            user_id: "STRING REQUIRED",
            source: "STRING REQUIRED",
            source_id: "STRING NULLABLE",
            model: "STRING REQUIRED",
            provider: "STRING REQUIRED",
            input_tokens: "INTEGER REQUIRED",
            output_tokens: "INTEGER REQUIRED",
            credits_charged: "NUMERIC REQUIRED",
            latency_ms: "INTEGER REQUIRED",
            time_to_first_token_ms: "INTEGER NULLABLE",
            routed: "BOOLEAN REQUIRED",
            fallback_from: "STRING NULLABLE",
            streamed: "BOOLEAN REQUIRED",
            status: "STRING REQUIRED",
        },
    );
});

test("audit_events columns", () => {
    const s = shape(schema("audit_events"));
    assert.deepEqual(s, {
        event_id: "STRING REQUIRED",
        event_time: "TIMESTAMP REQUIRED",
        event_type: "STRING REQUIRED",
        service: "STRING REQUIRED",
        request_id: "STRING NULLABLE",
        user_id: "STRING NULLABLE",
        ip_hash: "STRING NULLABLE",
        key_id: "STRING NULLABLE",
        reason: "STRING NULLABLE",
        details: "STRING NULLABLE",
    });
    const eventTypes = schema("audit_events").find((c) => c.name === "event_type")!.description;
    for (const t of [
        "auth_failure",
        "ip_blocked",
        "rate_limited",
        "key_created",
        "key_revoked",
        "webhook_rejected",
        "reservation_expired",
    ]) {
        assert.ok(eventTypes.includes(t), `event_type description lacks ${t}`);
    }
});
