// Every policy with at least one violating and one compliant resource, called directly.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
    executorNeverPublic,
    imagesPinnedByDigest,
    kmsNoPrincipalHoldsBoth,
    kmsSplitTrust,
    noPrimitiveRoles,
    publicInvokersOnlyWhereIntended,
    redisNeverPublic,
    requiredLabels,
    ResourcePolicy,
    resourcePolicies,
    stackPolicies,
    stateDeletionProtection,
    violationsOf,
} from "../src/policies/policies";
import { policyArgs, stackArgs } from "./policyArgs";

const labels = { env: "prod", system: "majestix", "managed-by": "pulumi" };
const digest = "us-central1-docker.pkg.dev/inference-agents/majestix/agent-executor@sha256:" + "ab".repeat(32);

function expectViolation(policy: ResourcePolicy, type: string, props: Record<string, any>, protect = false, pattern?: RegExp) {
    const found = violationsOf(policy, policyArgs(type, props, { protect }));
    assert.ok(found.length > 0, `${policy.name} accepted ${type} ${JSON.stringify(props)}`);
    if (pattern) {
        assert.ok(
            found.some((m) => pattern.test(m)),
            `${policy.name}: ${found.join("; ")} does not match ${pattern}`,
        );
    }
}

function expectCompliant(policy: ResourcePolicy, type: string, props: Record<string, any>, protect = false) {
    assert.deepEqual(violationsOf(policy, policyArgs(type, props, { protect })), []);
}

const run = "gcp:cloudrunv2/service:Service";
const invoker = "gcp:cloudrunv2/serviceIamMember:ServiceIamMember";

describe("policy set", () => {
    test("every policy is mandatory and uniquely named", () => {
        const all = [...resourcePolicies, ...stackPolicies];
        assert.equal(new Set(all.map((p) => p.name)).size, all.length);
        for (const p of all) {
            assert.equal(p.enforcementLevel, "mandatory", p.name);
        }
    });
});

describe("kms-split-trust", () => {
    const member = "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember";
    test("violating: cryptoKeyEncrypterDecrypter on the key", () => {
        expectViolation(
            kmsSplitTrust,
            member,
            { cryptoKeyId: "k", role: "roles/cloudkms.cryptoKeyEncrypterDecrypter", member: "serviceAccount:a@p.iam.gserviceaccount.com" },
            false,
            /both halves/,
        );
    });
    test("violating: decrypter granted project-wide", () => {
        expectViolation(
            kmsSplitTrust,
            "gcp:projects/iAMMember:IAMMember",
            { project: "p", role: "roles/cloudkms.cryptoKeyDecrypter", member: "serviceAccount:a@p" },
            false,
            /on the crypto key itself/,
        );
    });
    test("violating: authoritative IAM policy on the key", () => {
        expectViolation(kmsSplitTrust, "gcp:kms/cryptoKeyIAMPolicy:CryptoKeyIAMPolicy", {
            cryptoKeyId: "k",
            policyData: JSON.stringify({ bindings: [{ role: "roles/cloudkms.cryptoKeyEncrypter", members: ["serviceAccount:a@p"] }] }),
        });
    });
    test("compliant: encrypter granted on the key", () => {
        expectCompliant(kmsSplitTrust, member, {
            cryptoKeyId: "k",
            role: "roles/cloudkms.cryptoKeyEncrypter",
            member: "serviceAccount:bridge@p",
        });
    });
});

describe("kms-no-principal-holds-both (stack)", () => {
    const grant = (role: string, m: string, i: number) => ({
        type: "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember",
        props: { cryptoKeyId: "projects/a/locations/r/keyRings/agent-keys/cryptoKeys/credentials", role, member: m },
        name: `g${i}`,
        urn: `urn:g${i}`,
    });
    const check = (resources: ReturnType<typeof grant>[]) => {
        const found: string[] = [];
        void kmsNoPrincipalHoldsBoth.validateStack(stackArgs(resources), (m) => found.push(m));
        return found;
    };
    test("violating: one principal with both encrypter and decrypter", () => {
        const found = check([
            grant("roles/cloudkms.cryptoKeyEncrypter", "serviceAccount:x@p", 1),
            grant("roles/cloudkms.cryptoKeyDecrypter", "serviceAccount:x@p", 2),
        ]);
        assert.equal(found.length, 1);
        assert.match(found[0], /both encrypt and decrypt/);
    });
    test("compliant: distinct principals", () => {
        assert.deepEqual(
            check([
                grant("roles/cloudkms.cryptoKeyEncrypter", "serviceAccount:bridge@p", 1),
                grant("roles/cloudkms.cryptoKeyDecrypter", "serviceAccount:executor@a", 2),
            ]),
            [],
        );
    });
});

describe("executor-never-public", () => {
    test("violating: agent-executor with ingress ALL", () => {
        expectViolation(executorNeverPublic, run, { name: "agent-executor", ingress: "INGRESS_TRAFFIC_ALL" }, false, /must be internal/);
    });
    test("violating: agent-executor with ingress unset (defaults to ALL)", () => {
        expectViolation(executorNeverPublic, run, { name: "agent-executor" });
    });
    test("violating: invoker IAM check disabled", () => {
        expectViolation(executorNeverPublic, run, {
            name: "agent-executor",
            ingress: "INGRESS_TRAFFIC_INTERNAL_ONLY",
            invokerIamDisabled: true,
        });
    });
    test("violating: allUsers invoker on agent-executor", () => {
        expectViolation(executorNeverPublic, invoker, { name: "agent-executor", role: "roles/run.invoker", member: "allUsers" });
    });
    test("compliant: internal + load balancing, invoker is a service account", () => {
        expectCompliant(executorNeverPublic, run, { name: "agent-executor", ingress: "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER" });
        expectCompliant(executorNeverPublic, invoker, {
            name: "agent-executor",
            role: "roles/run.invoker",
            member: "serviceAccount:tasks-invoker@a",
        });
        expectCompliant(executorNeverPublic, run, { name: "inference-api", ingress: "INGRESS_TRAFFIC_ALL" });
    });
});

describe("public-invokers", () => {
    test("violating: allUsers on a non-public service", () => {
        expectViolation(publicInvokersOnlyWhereIntended, invoker, {
            name: "agent-executor",
            role: "roles/run.invoker",
            member: "allUsers",
        });
    });
    test("violating: allAuthenticatedUsers on a topic", () => {
        expectViolation(publicInvokersOnlyWhereIntended, "gcp:pubsub/topicIAMMember:TopicIAMMember", {
            topic: "t",
            role: "roles/pubsub.publisher",
            member: "allAuthenticatedUsers",
        });
    });
    test("violating: allUsers with another role on the public API", () => {
        expectViolation(publicInvokersOnlyWhereIntended, invoker, {
            name: "inference-api",
            role: "roles/run.developer",
            member: "allUsers",
        });
    });
    test("compliant: allUsers run.invoker on inference-api; service accounts anywhere", () => {
        expectCompliant(publicInvokersOnlyWhereIntended, invoker, { name: "inference-api", role: "roles/run.invoker", member: "allUsers" });
        expectCompliant(publicInvokersOnlyWhereIntended, invoker, {
            name: "agent-executor",
            role: "roles/run.invoker",
            member: "serviceAccount:x@p",
        });
    });
});

describe("redis-never-public", () => {
    const redis = "gcp:redis/instance:Instance";
    const good = {
        authorizedNetwork: "projects/p/global/networks/v",
        connectMode: "DIRECT_PEERING",
        authEnabled: true,
        transitEncryptionMode: "SERVER_AUTHENTICATION",
    };
    test("violating: AUTH off", () => {
        expectViolation(redisNeverPublic, redis, { ...good, authEnabled: false }, false, /AUTH/);
    });
    test("violating: no TLS", () => {
        expectViolation(redisNeverPublic, redis, { ...good, transitEncryptionMode: "DISABLED" }, false, /in-transit/);
    });
    test("violating: no authorized network", () => {
        expectViolation(redisNeverPublic, redis, { ...good, authorizedNetwork: undefined }, false, /private network/);
    });
    test("compliant: private, AUTH, TLS", () => {
        expectCompliant(redisNeverPublic, redis, good);
    });
});

describe("images-pinned-by-digest", () => {
    const svc = (image: string) => ({ name: "agent-executor", template: { containers: [{ image }] } });
    test("violating: mutable tag", () => {
        expectViolation(imagesPinnedByDigest, run, svc("us-central1-docker.pkg.dev/p/majestix/agent-executor:latest"));
    });
    test("violating: short digest", () => {
        expectViolation(imagesPinnedByDigest, run, svc("us-central1-docker.pkg.dev/p/majestix/agent-executor@sha256:abc"));
    });
    test("compliant: full sha256 digest", () => {
        expectCompliant(imagesPinnedByDigest, run, svc(digest));
    });
});

describe("required-labels", () => {
    test("violating: topic without managed-by", () => {
        expectViolation(
            requiredLabels,
            "gcp:pubsub/topic:Topic",
            { name: "t", labels: { env: "prod", system: "majestix" } },
            false,
            /managed-by/,
        );
    });
    test("violating: alert policy without userLabels", () => {
        expectViolation(requiredLabels, "gcp:monitoring/alertPolicy:AlertPolicy", { displayName: "x" });
    });
    test("compliant: all three labels; unlabelable types are ignored", () => {
        expectCompliant(requiredLabels, "gcp:pubsub/topic:Topic", { name: "t", labels });
        expectCompliant(requiredLabels, "gcp:compute/network:Network", { name: "v" });
    });
});

describe("deletion-protection", () => {
    test("violating: Firestore without delete protection", () => {
        expectViolation(
            stateDeletionProtection,
            "gcp:firestore/database:Database",
            { deleteProtectionState: "DELETE_PROTECTION_DISABLED", deletionPolicy: "DELETE" },
            true,
        );
    });
    test("violating: BigQuery table with protection off", () => {
        expectViolation(stateDeletionProtection, "gcp:bigquery/table:Table", { deletionProtection: false }, true);
    });
    test("violating: KMS key without protect", () => {
        expectViolation(stateDeletionProtection, "gcp:kms/cryptoKey:CryptoKey", { name: "credentials" }, false, /protect/);
    });
    test("violating: Redis without deletionProtection", () => {
        expectViolation(stateDeletionProtection, "gcp:redis/instance:Instance", { deletionProtection: false }, true);
    });
    test("compliant: protected Firestore, table, key, Redis, queue", () => {
        expectCompliant(
            stateDeletionProtection,
            "gcp:firestore/database:Database",
            { deleteProtectionState: "DELETE_PROTECTION_ENABLED", deletionPolicy: "ABANDON" },
            true,
        );
        expectCompliant(stateDeletionProtection, "gcp:bigquery/table:Table", { deletionProtection: true }, true);
        expectCompliant(stateDeletionProtection, "gcp:kms/cryptoKey:CryptoKey", { name: "credentials" }, true);
        expectCompliant(stateDeletionProtection, "gcp:redis/instance:Instance", { deletionProtection: true }, true);
        expectCompliant(stateDeletionProtection, "gcp:cloudtasks/queue:Queue", { name: "agent-tasks" }, true);
    });
});

describe("no-primitive-roles", () => {
    test("violating: project editor", () => {
        expectViolation(noPrimitiveRoles, "gcp:projects/iAMMember:IAMMember", {
            project: "p",
            role: "roles/editor",
            member: "serviceAccount:x@p",
        });
    });
    test("violating: owner inside an authoritative policy", () => {
        expectViolation(noPrimitiveRoles, "gcp:projects/iAMPolicy:IAMPolicy", {
            project: "p",
            policyData: JSON.stringify({ bindings: [{ role: "roles/owner", members: ["user:a@b"] }] }),
        });
    });
    test("violating: viewer via binding", () => {
        expectViolation(noPrimitiveRoles, "gcp:projects/iAMBinding:IAMBinding", {
            project: "p",
            role: "roles/viewer",
            members: ["group:g@b"],
        });
    });
    test("compliant: predefined role", () => {
        expectCompliant(noPrimitiveRoles, "gcp:projects/iAMMember:IAMMember", {
            project: "p",
            role: "roles/datastore.user",
            member: "serviceAccount:x@p",
        });
    });
});
