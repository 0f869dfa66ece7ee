// Runs the Pulumi program offline under `pulumi.runtime.setMocks` with the committed stack file
// (Pulumi.prod.yaml) and records every registered resource: inputs, provider, parent, explicit
// dependencies and `protect`. Used by the unit tests and by `npm run plan`.
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { parse as parseYaml } from "yaml";
import { infraDir } from "../src/paths";

export interface RecordedResource {
    type: string;
    name: string;
    urn: string;
    custom: boolean;
    inputs: Record<string, unknown>;
    /** Computed state returned by the mock (inputs plus computed attributes). */
    state: Record<string, unknown>;
    /** Provider URN (without the id), for custom resources. */
    provider?: string;
    parent?: string;
    /** URNs this resource depends on through `dependsOn` (not through input values). */
    explicitDependencies: string[];
    dependencies: string[];
    protect: boolean;
}

export const stackFile = path.join(infraDir, "..", "Pulumi.prod.yaml");

/** Placeholder values for the secret config keys (the real ones only exist encrypted in CI). */
export const placeholderSecrets: Record<string, string> = {
    stripeSecretKey: "sk_test_placeholder",
    stripeWebhookSecret: "whsec_placeholder",
    fernetKeys: "placeholder-fernet-key",
    auditIpHashSalt: "placeholder-audit-salt",
};

const projectNumbers: Record<string, string> = {};

function projectNumber(project: string): string {
    // Deterministic fake project number (12 digits) so URLs and agent e-mails are stable.
    if (!projectNumbers[project]) {
        const digest = crypto.createHash("sha256").update(project).digest();
        projectNumbers[project] = String(100000000000 + (digest.readUInt32BE(0) % 900000000000));
    }
    return projectNumbers[project];
}

export function readStackConfig(): Record<string, string> {
    const doc = parseYaml(fs.readFileSync(stackFile, "utf8")) as { config: Record<string, unknown> };
    const config: Record<string, string> = {};
    for (const [key, value] of Object.entries(doc.config)) {
        config[key] = typeof value === "string" ? value : JSON.stringify(value);
    }
    for (const [key, value] of Object.entries(placeholderSecrets)) {
        config[`majestix:${key}`] = value;
    }
    return config;
}

function str(v: unknown, fallback = ""): string {
    return typeof v === "string" ? v : fallback;
}

/** Computed attributes a real provider would return; everything else echoes the inputs. */
function computed(type: string, name: string, inputs: Record<string, any>): { id: string; extra: Record<string, unknown> } {
    const project = str(inputs.project, "mock-project");
    switch (type) {
        case "gcp:serviceaccount/account:Account": {
            const email = `${inputs.accountId}@${project}.iam.gserviceaccount.com`;
            return {
                id: `projects/${project}/serviceAccounts/${email}`,
                extra: { email, name: `projects/${project}/serviceAccounts/${email}`, member: `serviceAccount:${email}` },
            };
        }
        case "gcp:cloudrunv2/service:Service":
            return {
                id: `projects/${project}/locations/${inputs.location}/services/${inputs.name}`,
                extra: { uri: `https://${inputs.name}-mockhash-uc.a.run.app` },
            };
        case "gcp:redis/instance:Instance":
            return {
                id: `projects/${project}/locations/${inputs.region}/instances/${inputs.name}`,
                extra: {
                    host: "10.124.186.203",
                    port: 6378,
                    authString: "mock-redis-auth",
                    serverCaCerts: [{ cert: "-----BEGIN CERTIFICATE-----\nMOCK\n-----END CERTIFICATE-----" }],
                },
            };
        case "gcp:projects/serviceIdentity:ServiceIdentity": {
            const agent = str(inputs.service).split(".")[0];
            const email = `service-${projectNumber(project)}@gcp-sa-${agent}.iam.gserviceaccount.com`;
            return { id: `projects/${project}/services/${inputs.service}`, extra: { email, member: `serviceAccount:${email}` } };
        }
        case "gcp:kms/keyRing:KeyRing":
            return { id: `projects/${project}/locations/${inputs.location}/keyRings/${inputs.name}`, extra: {} };
        case "gcp:kms/cryptoKey:CryptoKey":
            return { id: `${inputs.keyRing}/cryptoKeys/${inputs.name}`, extra: {} };
        case "gcp:secretmanager/secret:Secret":
            return {
                id: `projects/${project}/secrets/${inputs.secretId}`,
                extra: { name: `projects/${project}/secrets/${inputs.secretId}` },
            };
        case "gcp:secretmanager/secretVersion:SecretVersion":
            return { id: `${inputs.secret}/versions/1`, extra: { version: "1", name: `${inputs.secret}/versions/1` } };
        case "gcp:cloudtasks/queue:Queue":
            return { id: `projects/${project}/locations/${inputs.location}/queues/${inputs.name}`, extra: {} };
        case "gcp:pubsub/topic:Topic":
            return { id: `projects/${project}/topics/${inputs.name}`, extra: {} };
        case "gcp:pubsub/subscription:Subscription":
            return { id: `projects/${project}/subscriptions/${inputs.name}`, extra: {} };
        case "gcp:compute/network:Network":
            return {
                id: `projects/${project}/global/networks/${inputs.name}`,
                extra: { selfLink: `https://www.googleapis.com/compute/v1/projects/${project}/global/networks/${inputs.name}` },
            };
        case "gcp:compute/subnetwork:Subnetwork":
            return { id: `projects/${project}/regions/${inputs.region}/subnetworks/${inputs.name}`, extra: {} };
        case "gcp:vpcaccess/connector:Connector":
            return { id: `projects/${project}/locations/${inputs.region}/connectors/${inputs.name}`, extra: {} };
        case "gcp:firebaserules/ruleset:Ruleset": {
            // Real ruleset names are server-generated UUIDs; a content hash keeps the plan stable
            // and still changes whenever the rules do.
            const content = JSON.stringify(inputs.source ?? {});
            const id = crypto.createHash("sha256").update(content).digest("hex").slice(0, 16);
            return { id: `projects/${project}/rulesets/${id}`, extra: { name: id } };
        }
        case "gcp:firebase/hostingSite:HostingSite":
            return { id: `projects/${project}/sites/${inputs.siteId}`, extra: { defaultUrl: `https://${inputs.siteId}.web.app` } };
        case "gcp:firebase/hostingVersion:HostingVersion":
            return {
                id: `sites/${inputs.siteId}/versions/mock`,
                extra: { name: `sites/${inputs.siteId}/versions/mock`, versionId: "mock" },
            };
        case "gcp:monitoring/notificationChannel:NotificationChannel":
            return {
                id: `projects/${project}/notificationChannels/${name}`,
                extra: { name: `projects/${project}/notificationChannels/${name}` },
            };
        default:
            return { id: `${name}-id`, extra: {} };
    }
}

export interface MockRun {
    resources: RecordedResource[];
    /** Custom resources only (no components), excluding the providers themselves. */
    customResources(): RecordedResource[];
    byType(type: string): RecordedResource[];
    one(type: string, name: string): RecordedResource;
    /** Name of the GCP project a custom resource is created in (via its provider). */
    projectOf(r: RecordedResource): string;
    urnName(urn: string): string;
}

/**
 * Sets the mocks and config, runs `build` (which must construct the stack), waits for every
 * registration and returns what was registered. Call once per process.
 */
export async function runUnderMocks(build: () => void): Promise<MockRun> {
    const config = readStackConfig();
    pulumi.runtime.setAllConfig(
        config,
        Object.keys(placeholderSecrets).map((k) => `majestix:${k}`),
    );

    const states = new Map<string, Record<string, unknown>>();
    await pulumi.runtime.setMocks(
        {
            newResource(args) {
                const { id, extra } = computed(args.type, args.name, args.inputs);
                const state = { ...args.inputs, ...extra };
                states.set(`${args.type}::${args.name}`, state);
                return { id, state };
            },
            call(args) {
                if (args.token === "gcp:organizations/getProject:getProject") {
                    const projectId = str(args.inputs.projectId);
                    return { projectId, number: projectNumber(projectId), name: projectId };
                }
                throw new Error(`unmocked call ${args.token}`);
            },
        },
        "majestix",
        "prod",
        false,
    );

    // Wrap the mock monitor to see what `MockResourceArgs` does not carry: parent, provider,
    // dependencies and protect.
    const resources: RecordedResource[] = [];
    const monitor = pulumi.runtime.getMonitor() as any;
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req: any, callback: (err: any, resp: any) => void) => {
        register(req, (err: any, resp: any) => {
            if (!err) {
                const urn: string = resp.getUrn();
                const propertyDeps = new Set<string>();
                req.getPropertydependenciesMap().forEach((deps: any) => deps.getUrnsList().forEach((u: string) => propertyDeps.add(u)));
                const dependencies: string[] = req.getDependenciesList();
                const provider: string = req.getProvider();
                resources.push({
                    type: req.getType(),
                    name: req.getName(),
                    urn,
                    custom: req.getCustom(),
                    inputs: pulumi.runtime.deserializeProperties(req.getObject()),
                    state: states.get(`${req.getType()}::${req.getName()}`) ?? {},
                    provider: provider ? provider.split("::").slice(0, -1).join("::") : undefined,
                    parent: req.getParent() || undefined,
                    explicitDependencies: dependencies.filter((d) => !propertyDeps.has(d)),
                    dependencies,
                    protect: req.getProtect() === true,
                });
            }
            callback(err, resp);
        });
    };

    build();
    await quiesce(() => resources.length);

    const byUrn = new Map(resources.map((r) => [r.urn, r]));
    const run: MockRun = {
        resources,
        customResources: () => resources.filter((r) => r.custom && !r.type.startsWith("pulumi:providers:")),
        byType: (type) => resources.filter((r) => r.type === type),
        one(type, name) {
            const found = resources.filter((r) => r.type === type && r.name === name);
            if (found.length !== 1) {
                throw new Error(`expected one ${type} named ${name}, found ${found.length}`);
            }
            return found[0];
        },
        projectOf(r) {
            const provider = r.provider ? byUrn.get(r.provider) : undefined;
            return str(provider?.inputs.project, "<no provider>");
        },
        urnName: (urn) => byUrn.get(urn)?.name ?? urn.split("::").pop() ?? urn,
    };
    return run;
}

/** Waits until no resource has been registered for a while (outputs resolve asynchronously). */
async function quiesce(count: () => number, idleMs = 300, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = -1;
    let stableSince = Date.now();
    while (Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 25));
        const n = count();
        if (n !== last) {
            last = n;
            stableSince = Date.now();
        } else if (Date.now() - stableSince >= idleMs && n > 0) {
            return;
        }
    }
    throw new Error("resource registrations did not settle");
}
