// Unit tests of the whole program under mocks: the seed's numbers, every IAM binding the design
// relies on, dependency ordering, and every policy against the real stack.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { before, describe, test } from "node:test";
import { loadConfig } from "../src/config";
import { infraDir, readInfraFile } from "../src/paths";
import { kmsNoPrincipalHoldsBoth, labelProperty, resourcePolicies } from "../src/policies/policies";
import { agentsApis, createStack, platformApis } from "../src/stack";
import { MockRun, RecordedResource, runUnderMocks } from "../tooling/harness";
import { policyArgs, stackArgs } from "./policyArgs";

const PLATFORM = "inference-platform";
const AGENTS = "inference-agents";
const sa = (id: string, project: string) => `serviceAccount:${id}@${project}.iam.gserviceaccount.com`;
const API_SA = sa("inference-api", PLATFORM);
const BRIDGE_SA = sa("agent-bridge", PLATFORM);
const EXECUTOR_SA = sa("agent-executor", AGENTS);
const INVOKER_SA = sa("tasks-invoker", AGENTS);

// Pulumi's wire marker for secret values (runtime/rpc.ts specialSigKey / specialSecretSig).
const secretSig = "4dabf18193072939515e22adb298388d";
const secretSigValue = "1b47061264138c4ac30d75fd1eb44270";

let run: MockRun;

before(async () => {
    run = await runUnderMocks(() => {
        createStack(loadConfig());
    });
});

const T = {
    service: "gcp:cloudrunv2/service:Service",
    runInvoker: "gcp:cloudrunv2/serviceIamMember:ServiceIamMember",
    cryptoKeyMember: "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember",
    queueMember: "gcp:cloudtasks/queueIamMember:QueueIamMember",
    saMember: "gcp:serviceaccount/iAMMember:IAMMember",
    projectMember: "gcp:projects/iAMMember:IAMMember",
    secretMember: "gcp:secretmanager/secretIamMember:SecretIamMember",
    topicMember: "gcp:pubsub/topicIAMMember:TopicIAMMember",
    apiService: "gcp:projects/service:Service",
};

function service(name: string): RecordedResource {
    return run.one(T.service, name);
}

function container(name: string): any {
    const containers = (service(name).inputs as any).template.containers;
    assert.equal(containers.length, 1);
    return containers[0];
}

function envOf(name: string): Record<string, string> {
    return Object.fromEntries(
        container(name)
            .envs.filter((e: any) => e.value !== undefined)
            .map((e: any) => [e.name, e.value]),
    );
}

function secretEnvOf(name: string): Record<string, string> {
    return Object.fromEntries(
        container(name)
            .envs.filter((e: any) => e.valueSource)
            .map((e: any) => [e.name, e.valueSource.secretKeyRef.secret]),
    );
}

function grants(
    type: string,
    filter: (r: RecordedResource) => boolean = () => true,
): { role: string; member: string; r: RecordedResource }[] {
    return run
        .byType(type)
        .filter(filter)
        .map((r) => ({ role: String(r.inputs.role), member: String(r.inputs.member), r }));
}

describe("providers and projects", () => {
    test("exactly two explicit gcp providers, one per GCP project", () => {
        const providers = run.resources.filter((r) => r.type === "pulumi:providers:gcp");
        assert.deepEqual(providers.map((p) => [p.name, p.inputs.project]).sort(), [
            [AGENTS, AGENTS],
            [PLATFORM, PLATFORM],
        ]);
    });

    test("every custom resource names one of the two providers and is placed in that provider's project", () => {
        for (const r of run.customResources()) {
            const project = run.projectOf(r);
            assert.ok([PLATFORM, AGENTS].includes(project), `${r.type} ${r.name} has no explicit provider`);
            if (typeof r.inputs.project === "string") {
                assert.equal(r.inputs.project, project, `${r.type} ${r.name}: project input differs from its provider`);
            }
        }
    });

    test("resource URNs are unique and names are plain strings (no stringified Outputs)", () => {
        // The mock monitor silently overwrites duplicate URNs; the real engine would refuse them.
        const urns = run.resources.map((r) => r.urn);
        assert.deepEqual(
            urns.filter((u, i) => urns.indexOf(u) !== i),
            [],
        );
        for (const r of run.resources) {
            assert.match(r.name, /^[A-Za-z0-9_.()-]+$/, `suspicious resource name "${r.name}"`);
        }
    });

    test("APIs are enabled per project and never disabled on destroy", () => {
        const enabled = (project: string) =>
            run
                .byType(T.apiService)
                .filter((r) => r.inputs.project === project)
                .map((r) => r.inputs.service)
                .sort();
        assert.deepEqual(enabled(PLATFORM), [...platformApis].sort());
        assert.deepEqual(enabled(AGENTS), [...agentsApis].sort());
        for (const r of run.byType(T.apiService)) {
            assert.equal(r.inputs.disableOnDestroy, false, `${r.name}`);
        }
    });

    test("consumers depend on their project's API enablement", () => {
        const apiUrns = (project: string, api: string) =>
            run.byType(T.apiService).filter((r) => r.inputs.project === project && r.inputs.service === api)[0].urn;
        const dependsOnApi = (r: RecordedResource, project: string, api: string) => r.explicitDependencies.includes(apiUrns(project, api));
        assert.ok(dependsOnApi(service("inference-api"), PLATFORM, "run.googleapis.com"));
        assert.ok(dependsOnApi(service("agent-executor"), AGENTS, "run.googleapis.com"));
        assert.ok(dependsOnApi(run.one("gcp:redis/instance:Instance", "inference-redis"), PLATFORM, "redis.googleapis.com"));
        assert.ok(dependsOnApi(run.one("gcp:kms/keyRing:KeyRing", "agent-keys"), AGENTS, "cloudkms.googleapis.com"));
        assert.ok(dependsOnApi(run.one("gcp:cloudtasks/queue:Queue", "agent-tasks"), AGENTS, "cloudtasks.googleapis.com"));
        assert.ok(dependsOnApi(run.one("gcp:bigquery/dataset:Dataset", "inference-analytics"), PLATFORM, "bigquery.googleapis.com"));
    });
});

test("every resource waits, directly or through its inputs, for its own project's API enablement", () => {
    const byUrn = new Map(run.resources.map((r) => [r.urn, r]));
    const reachesApi = (start: RecordedResource, project: string): boolean => {
        const seen = new Set<string>();
        const stack = [...start.dependencies];
        while (stack.length > 0) {
            const urn = stack.pop()!;
            if (seen.has(urn)) {
                continue;
            }
            seen.add(urn);
            const dep = byUrn.get(urn);
            if (dep?.type === T.apiService && dep.inputs.project === project) {
                return true;
            }
            stack.push(...(dep?.dependencies ?? []));
        }
        return false;
    };
    const missing = run
        .customResources()
        .filter((r) => r.type !== T.apiService)
        .filter((r) => !reachesApi(r, run.projectOf(r)))
        .map((r) => `${r.type} ${r.name}`);
    assert.deepEqual(missing, []);
});

describe("Cloud Run services (seed numbers)", () => {
    const expected = {
        "inference-api": {
            cpu: "2",
            memory: "1Gi",
            min: 1,
            max: 10,
            concurrency: 80,
            timeout: "300s",
            ingress: "INGRESS_TRAFFIC_ALL",
            sa: API_SA,
            project: PLATFORM,
        },
        "agent-executor": {
            cpu: "4",
            memory: "2Gi",
            min: 0,
            max: 5,
            concurrency: 10,
            timeout: "900s",
            ingress: "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER",
            sa: EXECUTOR_SA,
            project: AGENTS,
        },
        "web-functions": {
            cpu: "1",
            memory: "512Mi",
            min: 0,
            max: 5,
            concurrency: 80,
            timeout: "60s",
            ingress: "INGRESS_TRAFFIC_ALL",
            sa: BRIDGE_SA,
            project: PLATFORM,
        },
    };
    for (const [name, e] of Object.entries(expected)) {
        test(`${name}: CPU, memory, instances, concurrency, timeout, ingress, identity, region`, () => {
            const s = service(name).inputs as any;
            assert.equal(run.projectOf(service(name)), e.project);
            assert.equal(s.location, "us-central1");
            assert.equal(s.ingress, e.ingress);
            assert.equal(s.deletionProtection, true);
            assert.equal(s.template.timeout, e.timeout);
            assert.equal(s.template.maxInstanceRequestConcurrency, e.concurrency);
            assert.deepEqual(s.template.scaling, { minInstanceCount: e.min, maxInstanceCount: e.max });
            assert.equal(`serviceAccount:${s.template.serviceAccount}`, e.sa);
            const c = container(name);
            assert.deepEqual(c.resources.limits, { cpu: e.cpu, memory: e.memory });
            assert.match(c.image, /@sha256:[0-9a-f]{64}$/);
        });
        test(`${name}: startup and liveness probes on GET /health:8080`, () => {
            const c = container(name);
            assert.deepEqual(c.ports, { containerPort: 8080, name: "http1" });
            assert.deepEqual(c.startupProbe.httpGet, { path: "/health", port: 8080 });
            assert.deepEqual(c.livenessProbe.httpGet, { path: "/health", port: 8080 });
        });
    }

    test("inference-api reaches Redis through the Serverless VPC Access connector (private ranges only)", () => {
        const vpc = (service("inference-api").inputs as any).template.vpcAccess;
        assert.equal(vpc.connector, "projects/inference-platform/locations/us-central1/connectors/redis-connector");
        assert.equal(vpc.egress, "PRIVATE_RANGES_ONLY");
        assert.equal((service("agent-executor").inputs as any).template.vpcAccess, undefined);
    });

    test("inference-api environment", () => {
        const env = envOf("inference-api");
        assert.equal(env.GOOGLE_CLOUD_PROJECT, PLATFORM);
        assert.equal(env.REDIS_FAILURE_POLICY, "reject");
        assert.equal(env.REDIS_URL, "rediss://10.124.186.203:6378");
        assert.equal(env.PUBSUB_USAGE_TOPIC, "usage-events");
        assert.equal(env.PUBSUB_AUDIT_TOPIC, "audit-events");
        assert.equal(env.TASKS_QUEUE, "projects/inference-agents/locations/us-central1/queues/agent-tasks");
        assert.equal(env.OIDC_ALLOWED_SERVICE_ACCOUNTS, "agent-executor@inference-agents.iam.gserviceaccount.com");
        assert.match(env.OIDC_AUDIENCE, /^https:\/\/inference-api-\d{12}\.us-central1\.run\.app$/);
        for (const key of [
            "STRIPE_GURU_PRICE_ID",
            "STRIPE_PRO_PRICE_ID",
            "STRIPE_TOPUP_5_PRICE_ID",
            "STRIPE_TOPUP_25_PRICE_ID",
            "STRIPE_TOPUP_100_PRICE_ID",
        ]) {
            assert.match(env[key], /^price_/, key);
        }
        assert.equal(env.Firestore__ProjectId, PLATFORM);
        assert.equal(env.PubSub__ProjectId, PLATFORM);
        assert.equal(env.Identity__FirebaseProjectId, PLATFORM);
        assert.match(env.Identity__FirebaseProjectNumber, /^\d{12}$/);
        assert.deepEqual(secretEnvOf("inference-api"), {
            AUDIT_IP_HASH_SALT: "audit-ip-hash-salt",
            ConnectionStrings__redis: "redis-connection-string",
            FERNET_KEYS: "fernet-keys",
            REDIS_AUTH: "redis-auth",
            STRIPE_SECRET_KEY: "stripe-secret-key",
            STRIPE_WEBHOOK_SECRET: "stripe-webhook-secret",
        });
    });

    test("agent-executor and web-functions environment", () => {
        const executor = envOf("agent-executor");
        assert.equal(executor.GOOGLE_CLOUD_PROJECT, AGENTS);
        assert.equal(executor.Firestore__ProjectId, AGENTS);
        assert.equal(executor.KMS_KEY_NAME, "projects/inference-agents/locations/us-central1/keyRings/agent-keys/cryptoKeys/credentials");
        assert.equal(executor.TASKS_QUEUE, "projects/inference-agents/locations/us-central1/queues/agent-tasks");
        assert.equal(executor.INFERENCE_API_URL, envOf("inference-api").OIDC_AUDIENCE);
        assert.equal(executor.OIDC_ALLOWED_SERVICE_ACCOUNTS, "tasks-invoker@inference-agents.iam.gserviceaccount.com");
        assert.deepEqual(secretEnvOf("agent-executor"), {});

        const web = envOf("web-functions");
        assert.equal(web.GOOGLE_CLOUD_PROJECT, PLATFORM);
        assert.equal(web.Firestore__ProjectId, AGENTS);
        assert.equal(web.TASKS_QUEUE, executor.TASKS_QUEUE);
        assert.equal(web.KMS_KEY_NAME, executor.KMS_KEY_NAME);
        assert.equal(web.EXECUTOR_URL, executor.OIDC_AUDIENCE);
        assert.deepEqual(secretEnvOf("web-functions"), {});
    });

    test("secrets are readable only by inference-api", () => {
        const readers = grants(T.secretMember);
        assert.equal(readers.length, 6);
        for (const g of readers) {
            assert.equal(g.role, "roles/secretmanager.secretAccessor");
            assert.equal(g.member, API_SA);
        }
        // The service waits for the grants: a revision that cannot read its secrets fails.
        const deps = service("inference-api").explicitDependencies;
        for (const g of readers) {
            assert.ok(deps.includes(g.r.urn), `inference-api does not wait for ${g.r.name}`);
        }
    });

    test("invokers: inference-api and web-functions public; agent-executor only the tasks invoker", () => {
        const invokers = (name: string) =>
            grants(T.runInvoker, (r) => r.inputs.name === name)
                .map((g) => `${g.role} ${g.member}`)
                .sort();
        assert.deepEqual(invokers("inference-api"), ["roles/run.invoker allUsers"]);
        assert.deepEqual(invokers("web-functions"), ["roles/run.invoker allUsers"]);
        assert.deepEqual(invokers("agent-executor"), [`roles/run.invoker ${INVOKER_SA}`]);
        assert.equal(run.projectOf(grants(T.runInvoker, (r) => r.inputs.name === "agent-executor")[0].r), AGENTS);
    });
});

describe("network and Redis", () => {
    test("VPC, /28 connector subnet and connector in the Cloud Run region", () => {
        const net = run.one("gcp:compute/network:Network", "majestix-vpc").inputs;
        assert.equal(net.autoCreateSubnetworks, false);
        const subnet = run.one("gcp:compute/subnetwork:Subnetwork", "serverless-connector").inputs;
        assert.equal(subnet.region, "us-central1");
        assert.match(String(subnet.ipCidrRange), /\/28$/);
        const connector = run.one("gcp:vpcaccess/connector:Connector", "redis-connector").inputs as any;
        assert.equal(connector.region, (service("inference-api").inputs as any).location);
        assert.equal(connector.subnet.name, subnet.name);
        assert.ok(String(connector.name).length <= 25);
    });

    test("Memorystore: HA, AUTH, TLS, private only, the seed's address range, same region", () => {
        const redis = run.one("gcp:redis/instance:Instance", "inference-redis");
        const p = redis.inputs as any;
        assert.equal(p.tier, "STANDARD_HA");
        assert.equal(p.authEnabled, true);
        assert.equal(p.transitEncryptionMode, "SERVER_AUTHENTICATION");
        assert.equal(p.connectMode, "DIRECT_PEERING");
        assert.equal(p.authorizedNetwork, "projects/inference-platform/global/networks/majestix-vpc");
        assert.equal(p.region, "us-central1");
        assert.equal(p.deletionProtection, true);
        assert.equal(redis.protect, true);
        // 10.124.186.203 (the seed's address) lies inside the reserved range.
        const [base, bits] = String(p.reservedIpRange).split("/");
        const toInt = (ip: string) => ip.split(".").reduce((a, o) => a * 256 + Number(o), 0);
        const size = 2 ** (32 - Number(bits));
        const offset = toInt("10.124.186.203") - toInt(base);
        assert.ok(offset >= 0 && offset < size, `${p.reservedIpRange} does not contain 10.124.186.203`);
    });

    test("the Redis connection string (TLS port, AUTH) is a secret too", () => {
        const version = run.byType("gcp:secretmanager/secretVersion:SecretVersion").find((r) => r.name === "redis-connection-string-current");
        assert.deepEqual((version?.inputs.secretData as any)?.value, "10.124.186.203:6378,password=mock-redis-auth,ssl=true,abortConnect=false");
    });

    test("the Redis AUTH string goes straight into Secret Manager", () => {
        const version = run.byType("gcp:secretmanager/secretVersion:SecretVersion").find((r) => r.name === "redis-auth-current");
        assert.ok(version);
        // Registered as a Pulumi secret (encrypted in state), carrying the instance's auth string.
        assert.deepEqual(version.inputs.secretData, { [secretSig]: secretSigValue, value: "mock-redis-auth" });
    });

    test("every Secret Manager value is a Pulumi secret", () => {
        for (const v of run.byType("gcp:secretmanager/secretVersion:SecretVersion")) {
            assert.equal((v.inputs.secretData as any)?.[secretSig], secretSigValue, v.name);
        }
    });
});

describe("Firestore", () => {
    for (const [project, rules] of [
        [PLATFORM, "platform.rules"],
        [AGENTS, "agents.rules"],
    ]) {
        test(`${project}: (default) database with PITR and delete protection; rules released`, () => {
            const db = run.byType("gcp:firestore/database:Database").filter((r) => r.inputs.project === project);
            assert.equal(db.length, 1);
            const p = db[0].inputs;
            assert.equal(p.name, "(default)");
            assert.equal(p.type, "FIRESTORE_NATIVE");
            assert.equal(p.pointInTimeRecoveryEnablement, "POINT_IN_TIME_RECOVERY_ENABLED");
            assert.equal(p.deleteProtectionState, "DELETE_PROTECTION_ENABLED");
            assert.equal(p.deletionPolicy, "ABANDON");
            assert.equal(db[0].protect, true);

            const ruleset = run.byType("gcp:firebaserules/ruleset:Ruleset").filter((r) => r.inputs.project === project);
            assert.equal(ruleset.length, 1);
            const files = (ruleset[0].inputs as any).source.files;
            assert.deepEqual(files, [{ name: rules, content: readInfraFile("firestore", rules) }]);
            assert.ok(ruleset[0].explicitDependencies.includes(db[0].urn), "ruleset before database");

            const release = run.byType("gcp:firebaserules/release:Release").filter((r) => r.inputs.project === project);
            assert.equal(release.length, 1);
            assert.equal(release[0].inputs.name, "cloud.firestore");
            assert.equal(release[0].inputs.rulesetName, `projects/${project}/rulesets/${(ruleset[0].state as any).name}`);
        });
    }

    test("Firestore data access: each runtime identity in the projects it needs", () => {
        const datastore = grants(T.projectMember, (r) => String(r.inputs.role).startsWith("roles/datastore."))
            .map((g) => `${g.r.inputs.project} ${g.role} ${g.member}`)
            .sort();
        assert.deepEqual(datastore, [
            `${AGENTS} roles/datastore.user ${BRIDGE_SA}`,
            `${AGENTS} roles/datastore.user ${EXECUTOR_SA}`,
            `${PLATFORM} roles/datastore.user ${API_SA}`,
            `${PLATFORM} roles/datastore.viewer ${BRIDGE_SA}`,
        ]);
    });
});

describe("analytics", () => {
    test("dataset inference_analytics in the region, contents kept on destroy", () => {
        const ds = run.one("gcp:bigquery/dataset:Dataset", "inference-analytics");
        assert.equal(ds.inputs.datasetId, "inference_analytics");
        assert.equal(ds.inputs.location, "us-central1");
        assert.equal(ds.inputs.deleteContentsOnDestroy, false);
        assert.equal(run.projectOf(ds), PLATFORM);
    });

    for (const [table, topic, clustering] of [
        ["usage_events", "usage-events", ["user_id", "model", "source"]],
        ["audit_events", "audit-events", ["event_type", "service", "user_id"]],
    ] as const) {
        test(`${table}: schema from schemas/${table}.json, DAY partition on event_time, clustered`, () => {
            const t = run.one("gcp:bigquery/table:Table", table);
            assert.deepEqual(JSON.parse(String(t.inputs.schema)), JSON.parse(readInfraFile("schemas", `${table}.json`)));
            assert.deepEqual(t.inputs.timePartitioning, { type: "DAY", field: "event_time" });
            assert.deepEqual(t.inputs.clusterings, [...clustering]);
            assert.equal(t.inputs.deletionProtection, true);
            const columns = new Map((JSON.parse(String(t.inputs.schema)) as { name: string; type: string }[]).map((c) => [c.name, c.type]));
            assert.equal(columns.get("event_time"), "TIMESTAMP");
            for (const c of clustering) {
                assert.ok(columns.has(c), `clustering column ${c} not in the schema`);
            }
        });

        test(`${topic}: BigQuery subscription with dead-letter topic, created after the service agent's grants`, () => {
            const sub = run.one("gcp:pubsub/subscription:Subscription", `${topic}-to-bigquery`);
            const p = sub.inputs as any;
            assert.equal(p.topic, `projects/${PLATFORM}/topics/${topic}`);
            assert.equal(p.bigqueryConfig.table, `${PLATFORM}.inference_analytics.${table}`);
            assert.equal(p.bigqueryConfig.useTableSchema, true);
            assert.equal(p.deadLetterPolicy.deadLetterTopic, `projects/${PLATFORM}/topics/${topic}-dead-letter`);
            assert.equal(p.deadLetterPolicy.maxDeliveryAttempts, 5);
            assert.deepEqual(p.expirationPolicy, { ttl: "" });

            const agent = `serviceAccount:service-${/\d{12}/.exec(String(run.one("gcp:projects/serviceIdentity:ServiceIdentity", "pubsub-service-agent").state.email))![0]}@gcp-sa-pubsub.iam.gserviceaccount.com`;
            const writer = run.one("gcp:bigquery/iamMember:IamMember", `${table}-pubsub-data-editor`);
            assert.equal(writer.inputs.member, agent);
            assert.equal(writer.inputs.role, "roles/bigquery.dataEditor");
            assert.equal(writer.inputs.tableId, table);
            const dlqPublisher = run.one(T.topicMember, `${topic}-dead-letter-agent-publisher`);
            assert.equal(dlqPublisher.inputs.member, agent);
            for (const grant of [writer, run.one("gcp:bigquery/iamMember:IamMember", `${table}-pubsub-metadata-viewer`), dlqPublisher]) {
                assert.ok(sub.explicitDependencies.includes(grant.urn), `subscription does not wait for ${grant.name}`);
            }
            // The mock registers a resource only after its dependencies: ordering is real.
            const index = (r: RecordedResource) => run.resources.indexOf(r);
            assert.ok(index(writer) < index(sub) && index(dlqPublisher) < index(sub));

            const subscriber = run.one("gcp:pubsub/subscriptionIAMMember:SubscriptionIAMMember", `${topic}-to-bigquery-agent-subscriber`);
            assert.equal(subscriber.inputs.member, agent);
            assert.equal(subscriber.inputs.role, "roles/pubsub.subscriber");
            // Dead letters are kept, not dropped.
            assert.equal(
                run.one("gcp:pubsub/subscription:Subscription", `${topic}-dead-letter-hold`).inputs.topic,
                `projects/${PLATFORM}/topics/${topic}-dead-letter`,
            );
        });
    }

    test("publishers: inference-api on both topics, web-functions (bridge) on audit-events only", () => {
        const publishers = grants(T.topicMember, (r) => !String(r.inputs.topic).endsWith("dead-letter"))
            .map((g) => `${g.r.inputs.topic} ${g.role} ${g.member}`)
            .sort();
        assert.deepEqual(
            publishers,
            [
                `audit-events roles/pubsub.publisher ${BRIDGE_SA}`,
                `audit-events roles/pubsub.publisher ${API_SA}`,
                `usage-events roles/pubsub.publisher ${API_SA}`,
            ].sort(),
        );
    });
});

describe("KMS split trust", () => {
    test("key ring agent-keys / key credentials in the agents project, rotation ≤ 90 days, protected", () => {
        const ring = run.one("gcp:kms/keyRing:KeyRing", "agent-keys");
        const key = run.one("gcp:kms/cryptoKey:CryptoKey", "credentials");
        assert.equal(run.projectOf(ring), AGENTS);
        assert.equal(ring.inputs.location, "us-central1");
        assert.equal(key.inputs.name, "credentials");
        assert.equal(key.inputs.keyRing, "projects/inference-agents/locations/us-central1/keyRings/agent-keys");
        const seconds = Number(String(key.inputs.rotationPeriod).replace(/s$/, ""));
        assert.ok(seconds > 86400 && seconds <= 90 * 86400, `rotation ${key.inputs.rotationPeriod}`);
        assert.equal(ring.protect, true);
        assert.equal(key.protect, true);
    });

    test("encrypter only agent-bridge, decrypter only agent-executor, nobody holds both, no EncrypterDecrypter", () => {
        const members = grants(T.cryptoKeyMember)
            .map((g) => `${g.role} ${g.member}`)
            .sort();
        assert.deepEqual(members, [`roles/cloudkms.cryptoKeyDecrypter ${EXECUTOR_SA}`, `roles/cloudkms.cryptoKeyEncrypter ${BRIDGE_SA}`]);
        const anyKmsRole = run.customResources().filter((r) => String(r.inputs.role ?? "").startsWith("roles/cloudkms."));
        assert.equal(anyKmsRole.length, 2, "KMS roles granted outside the key");
        assert.ok(!run.customResources().some((r) => r.inputs.role === "roles/cloudkms.cryptoKeyEncrypterDecrypter"));
    });
});

describe("Cloud Tasks and Scheduler", () => {
    test("queue agent-tasks dispatches POST /internal/agent/execute with the invoker's OIDC token, audience the executor URL", () => {
        const q = run.one("gcp:cloudtasks/queue:Queue", "agent-tasks");
        const p = q.inputs as any;
        assert.equal(run.projectOf(q), AGENTS);
        assert.equal(p.location, "us-central1");
        assert.equal(p.httpTarget.httpMethod, "POST");
        assert.equal(p.httpTarget.uriOverride.scheme, "HTTPS");
        assert.equal(p.httpTarget.uriOverride.pathOverride.path, "/internal/agent/execute");
        assert.equal(p.httpTarget.uriOverride.uriOverrideEnforceMode, "ALWAYS");
        const executorUrl = envOf("agent-executor").OIDC_AUDIENCE;
        assert.equal(`https://${p.httpTarget.uriOverride.host}`, executorUrl);
        assert.equal(`serviceAccount:${p.httpTarget.oidcToken.serviceAccountEmail}`, INVOKER_SA);
        assert.equal(p.httpTarget.oidcToken.audience, executorUrl);
        // Rate and retry settings: never more concurrent runs than the executor holds (5 × 10).
        assert.deepEqual(p.rateLimits, { maxConcurrentDispatches: 50, maxDispatchesPerSecond: 2 });
        assert.equal(p.retryConfig.maxAttempts, 3);
        assert.equal(q.protect, true);
    });

    test("enqueue rights: inference-api and agent-bridge (cross-project) and the invoker (Scheduler jobs)", () => {
        const enqueuers = grants(T.queueMember)
            .map((g) => `${g.role} ${g.member}`)
            .sort();
        assert.deepEqual(
            enqueuers,
            [
                `roles/cloudtasks.enqueuer ${BRIDGE_SA}`,
                `roles/cloudtasks.enqueuer ${API_SA}`,
                `roles/cloudtasks.enqueuer ${INVOKER_SA}`,
            ].sort(),
        );
    });

    test("service-account-user on the invoker for every enqueuer and for the executor (Scheduler jobs)", () => {
        const users = grants(T.saMember)
            .map((g) => `${g.r.inputs.serviceAccountId} ${g.role} ${g.member}`)
            .sort();
        const invoker = "projects/inference-agents/serviceAccounts/tasks-invoker@inference-agents.iam.gserviceaccount.com";
        assert.deepEqual(
            users,
            [API_SA, BRIDGE_SA, EXECUTOR_SA, INVOKER_SA].map((m) => `${invoker} roles/iam.serviceAccountUser ${m}`).sort(),
        );
    });

    test("the executor manages Scheduler jobs in its own project; the reconcile job calls it with OIDC", () => {
        const admin = grants(T.projectMember, (r) => r.inputs.role === "roles/cloudscheduler.admin");
        assert.deepEqual(
            admin.map((g) => [g.r.inputs.project, g.member]),
            [[AGENTS, EXECUTOR_SA]],
        );
        const job = run.one("gcp:cloudscheduler/job:Job", "agent-reconcile");
        const p = job.inputs as any;
        const executorUrl = envOf("agent-executor").OIDC_AUDIENCE;
        assert.equal(run.projectOf(job), AGENTS);
        assert.equal(p.httpTarget.uri, `${executorUrl}/internal/agent/reconcile`);
        assert.equal(`serviceAccount:${p.httpTarget.oidcToken.serviceAccountEmail}`, INVOKER_SA);
        assert.equal(p.httpTarget.oidcToken.audience, executorUrl);
        assert.equal(p.timeZone, "Etc/UTC");
    });
});

describe("registries, telemetry, hosting", () => {
    test("a Docker repository in each project", () => {
        const repos = run
            .byType("gcp:artifactregistry/repository:Repository")
            .map((r) => [run.projectOf(r), r.inputs.format, r.inputs.repositoryId]);
        assert.deepEqual(repos.sort(), [
            [AGENTS, "DOCKER", "majestix"],
            [PLATFORM, "DOCKER", "majestix"],
        ]);
    });

    test("Cloud Trace, logging and metric writer roles for every runtime identity, in its own project", () => {
        for (const [member, project] of [
            [API_SA, PLATFORM],
            [BRIDGE_SA, PLATFORM],
            [EXECUTOR_SA, AGENTS],
        ]) {
            const roles = grants(T.projectMember, (r) => r.inputs.member === member && r.inputs.project === project)
                .map((g) => g.role)
                .filter((r) => !r.startsWith("roles/datastore.") && r !== "roles/cloudscheduler.admin")
                .sort();
            assert.deepEqual(roles, ["roles/cloudtrace.agent", "roles/logging.logWriter", "roles/monitoring.metricWriter"], member);
        }
    });

    test("project-level grants are limited to roles without a narrower scope", () => {
        const allowed = new Set([
            "roles/cloudtrace.agent",
            "roles/logging.logWriter",
            "roles/monitoring.metricWriter",
            "roles/datastore.user",
            "roles/datastore.viewer",
            "roles/cloudscheduler.admin",
        ]);
        for (const g of grants(T.projectMember)) {
            assert.ok(allowed.has(g.role), `project-wide ${g.role} for ${g.member}`);
        }
    });

    test("Firebase Hosting sites inference-web and inference-web2 rewrite /api/agent/** to web-functions", () => {
        const sites = run.byType("gcp:firebase/hostingSite:HostingSite").map((r) => r.inputs.siteId);
        assert.deepEqual(sites.sort(), ["inference-web", "inference-web2"]);
        for (const site of sites) {
            const version = run.one("gcp:firebase/hostingVersion:HostingVersion", `${site}-functions-rewrite`).inputs as any;
            assert.equal(version.siteId, site);
            assert.deepEqual(version.config.rewrites, [
                { glob: "/api/agent/**", run: { serviceId: "web-functions", region: "us-central1" } },
            ]);
            const release = run.one("gcp:firebase/hostingRelease:HostingRelease", `${site}-functions-rewrite`).inputs;
            assert.equal(release.versionName, `sites/${site}/versions/mock`);
        }
    });

    test("exactly the four runtime identities exist", () => {
        const accounts = run.byType("gcp:serviceaccount/account:Account").map((r) => `${r.inputs.project}/${r.inputs.accountId}`);
        assert.deepEqual(accounts.sort(), [
            `${AGENTS}/agent-executor`,
            `${AGENTS}/tasks-invoker`,
            `${PLATFORM}/agent-bridge`,
            `${PLATFORM}/inference-api`,
        ]);
    });
});

describe("labels and policies over the whole stack", () => {
    // Reads the provider's type definitions: any resource type whose arguments accept labels
    // must be known to the label policy, otherwise it would silently escape it.
    function argsAcceptLabels(type: string): string | undefined {
        const [, module, rest] = /^gcp:([^/]+)\/([^:]+):/.exec(type) ?? [];
        const dir = path.join(infraDir, "node_modules", "@pulumi", "gcp", module);
        // File names do not always keep the token's casing (projects/iAMMember → iammember.d.ts).
        const file = fs.readdirSync(dir).find((f) => f.toLowerCase() === `${rest}.d.ts`.toLowerCase());
        assert.ok(file, `no type definition for ${type}`);
        const text = fs.readFileSync(path.join(dir, file), "utf8");
        const argsBlock = /export interface \w+Args \{([\s\S]*?)\n\}/.exec(text)?.[1] ?? "";
        // userLabels first: on notification channels `labels` is channel configuration.
        return ["userLabels", "labels"].find((p) => new RegExp(`\\n\\s+${p}\\?:`).test(argsBlock));
    }

    test("every labelable resource type is covered by the label policy", () => {
        const types = [...new Set(run.customResources().map((r) => r.type))];
        for (const type of types) {
            const prop = argsAcceptLabels(type);
            if (prop) {
                assert.equal(labelProperty[type], prop, `${type} accepts ${prop} but the label policy does not check it`);
            }
        }
    });

    test("every labelable resource carries env, system and managed-by", () => {
        let checked = 0;
        for (const r of run.customResources()) {
            const prop = labelProperty[r.type];
            if (!prop) {
                continue;
            }
            const labels = r.inputs[prop] as Record<string, string>;
            assert.equal(labels?.env, "prod", `${r.type} ${r.name}`);
            assert.equal(labels?.system, "majestix", `${r.type} ${r.name}`);
            assert.equal(labels?.["managed-by"], "pulumi", `${r.type} ${r.name}`);
            checked++;
        }
        assert.ok(checked > 20, `only ${checked} labelled resources`);
    });

    test("no allUsers / allAuthenticatedUsers except run.invoker on the public services", () => {
        for (const r of run.customResources()) {
            const member = String(r.inputs.member ?? "");
            if (member === "allUsers" || member === "allAuthenticatedUsers") {
                assert.equal(r.type, T.runInvoker);
                assert.ok(["inference-api", "web-functions"].includes(String(r.inputs.name)), r.name);
            }
        }
    });

    test("the whole stack passes every resource policy", () => {
        const violations: string[] = [];
        for (const r of run.customResources()) {
            for (const policy of resourcePolicies) {
                void policy.validateResource(policyArgs(r.type, r.inputs, { name: r.name, urn: r.urn, protect: r.protect }), (m) => {
                    violations.push(`${policy.name}: ${r.type} ${r.name}: ${m}`);
                });
            }
        }
        assert.deepEqual(violations, []);
    });

    test("the whole stack passes the stack policy", () => {
        const violations: string[] = [];
        void kmsNoPrincipalHoldsBoth.validateStack(
            stackArgs(run.customResources().map((r) => ({ type: r.type, props: r.inputs, name: r.name, urn: r.urn }))),
            (m) => violations.push(m),
        );
        assert.deepEqual(violations, []);
    });
});
