import * as pulumi from "@pulumi/pulumi";

/** Sizing of one Cloud Run service; every number comes from the seed (or the stack file). */
export interface ServiceSizing {
    cpu: string;
    memory: string;
    minInstances: number;
    maxInstances: number;
    concurrency: number;
    timeoutSeconds: number;
}

export interface StackConfig {
    env: string;
    platformProject: string;
    agentsProject: string;
    region: string;
    firestoreLocation: string;
    alertEmail: string;
    images: { inferenceApi: string; agentExecutor: string; webFunctions: string };
    stripePriceIds: { guru: string; pro: string; topup5: string; topup25: string; topup100: string };
    sizes: {
        inferenceApi: ServiceSizing;
        agentExecutor: ServiceSizing;
        webFunctions: ServiceSizing;
        redis: { tier: string; memorySizeGb: number; version: string; reservedIpRange: string };
        connector: { machineType: string; minInstances: number; maxInstances: number; subnetCidr: string };
    };
    hostingSites: string[];
    /** Secret values; they exist only in the encrypted stack config, never in the repository. */
    secrets: {
        stripeSecretKey: pulumi.Output<string>;
        stripeWebhookSecret: pulumi.Output<string>;
        fernetKeys: pulumi.Output<string>;
        auditIpHashSalt: pulumi.Output<string>;
    };
}

/** `pulumi config set --secret <key>` keys an operator must set before the first `pulumi up`. */
export const secretConfigKeys = ["stripeSecretKey", "stripeWebhookSecret", "fernetKeys", "auditIpHashSalt"] as const;

// A Cloud Run image must be pinned by digest: a mutable tag gives Pulumi nothing to diff
// (pulumi-gcp #1166), so a rebuilt image would never roll out.
const digestPinned = /^[a-z0-9.-]+(:[0-9]+)?\/[a-z0-9._\/-]+@sha256:[0-9a-f]{64}$/;

export function isDigestPinned(image: string): boolean {
    return digestPinned.test(image);
}

function requirePattern(value: string, pattern: RegExp, what: string): string {
    if (!pattern.test(value)) {
        throw new pulumi.RunError(`config ${what}="${value}" does not match ${pattern}`);
    }
    return value;
}

export function loadConfig(): StackConfig {
    const cfg = new pulumi.Config("majestix");
    const images = cfg.requireObject<StackConfig["images"]>("images");
    for (const [name, image] of Object.entries(images)) {
        if (!isDigestPinned(image)) {
            throw new pulumi.RunError(`config images.${name} must be pinned by digest (…@sha256:<64 hex>), got "${image}"`);
        }
    }
    const stripePriceIds = cfg.requireObject<StackConfig["stripePriceIds"]>("stripePriceIds");
    for (const [name, id] of Object.entries(stripePriceIds)) {
        requirePattern(id, /^price_[A-Za-z0-9]+$/, `stripePriceIds.${name}`);
    }
    return {
        env: requirePattern(cfg.require("env"), /^[a-z][a-z0-9-]{0,15}$/, "env"),
        platformProject: requirePattern(cfg.require("platformProject"), /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, "platformProject"),
        agentsProject: requirePattern(cfg.require("agentsProject"), /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, "agentsProject"),
        region: cfg.require("region"),
        firestoreLocation: cfg.require("firestoreLocation"),
        alertEmail: requirePattern(cfg.require("alertEmail"), /^[^@\s]+@[^@\s]+\.[a-z]{2,}$/, "alertEmail"),
        images,
        stripePriceIds,
        sizes: cfg.requireObject<StackConfig["sizes"]>("sizes"),
        hostingSites: cfg.requireObject<string[]>("hostingSites"),
        secrets: {
            stripeSecretKey: cfg.requireSecret("stripeSecretKey"),
            stripeWebhookSecret: cfg.requireSecret("stripeWebhookSecret"),
            fernetKeys: cfg.requireSecret("fernetKeys"),
            auditIpHashSalt: cfg.requireSecret("auditIpHashSalt"),
        },
    };
}
