// Stack-config validation: a mutable image tag or a malformed value fails before any resource
// is planned.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { isDigestPinned, loadConfig, secretConfigKeys } from "../src/config";
import { placeholderSecrets, readStackConfig } from "../tooling/harness";

function withConfig(overrides: Record<string, string>, check: () => void): void {
    const config = { ...readStackConfig(), ...overrides };
    pulumi.runtime.setAllConfig(
        config,
        secretConfigKeys.map((k) => `majestix:${k}`),
    );
    check();
}

const images = JSON.parse(readStackConfig()["majestix:images"]) as Record<string, string>;

test("the committed stack config loads", () => {
    withConfig({}, () => {
        const cfg = loadConfig();
        assert.equal(cfg.platformProject, "inference-platform");
        assert.equal(cfg.agentsProject, "inference-agents");
        assert.equal(cfg.region, "us-central1");
        assert.deepEqual(cfg.hostingSites, ["inference-web", "inference-web2"]);
    });
});

test("every secret config key has a placeholder in the offline harness", () => {
    assert.deepEqual(Object.keys(placeholderSecrets).sort(), [...secretConfigKeys].sort());
});

test("an image referenced by tag is rejected", () => {
    const tagged = { ...images, agentExecutor: "us-central1-docker.pkg.dev/inference-agents/majestix/agent-executor:latest" };
    withConfig({ "majestix:images": JSON.stringify(tagged) }, () => {
        assert.throws(() => loadConfig(), /images\.agentExecutor must be pinned by digest/);
    });
});

test("a malformed Stripe price id or alert address is rejected", () => {
    withConfig(
        {
            "majestix:stripePriceIds": JSON.stringify({
                guru: "prod_x",
                pro: "price_a",
                topup5: "price_b",
                topup25: "price_c",
                topup100: "price_d",
            }),
        },
        () => {
            assert.throws(() => loadConfig(), /stripePriceIds\.guru/);
        },
    );
    withConfig({ "majestix:alertEmail": "not-an-address" }, () => {
        assert.throws(() => loadConfig(), /alertEmail/);
    });
});

test("digest pinning accepts only a full sha256 digest", () => {
    assert.ok(isDigestPinned(`us-central1-docker.pkg.dev/p/r/img@sha256:${"a".repeat(64)}`));
    assert.ok(!isDigestPinned("us-central1-docker.pkg.dev/p/r/img:1.0"));
    assert.ok(!isDigestPinned(`us-central1-docker.pkg.dev/p/r/img:1.0@sha256:${"a".repeat(63)}`));
    assert.ok(!isDigestPinned(`img@sha256:${"a".repeat(64)}`));
});
