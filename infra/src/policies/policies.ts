// Guardrails for the Majestix stack, as plain policy objects. The PolicyPack that registers them
// lives in policypack/index.ts: constructing a PolicyPack starts a gRPC server and waits for the
// Pulumi CLI, so tests import this module and call `validateResource` / `validateStack` directly.
import {
    ReportViolation,
    ResourceValidation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidation,
    StackValidationPolicy,
} from "@pulumi/policy";
import { isDigestPinned } from "../config";
import { requiredLabelKeys } from "../labels";

export type ResourcePolicy = ResourceValidationPolicy & { validateResource: ResourceValidation };
export type StackPolicy = StackValidationPolicy & { validateStack: StackValidation };

/** Cloud Run services that may be invoked without a Google identity, and why. */
export const publicServices: Record<string, string> = {
    "inference-api": "the public API: API keys / Firebase tokens are checked by the service",
    "web-functions": "Firebase Hosting rewrites carry no Google identity; the service gates every call",
};

const executorService = "agent-executor";
const publicMembers = ["allUsers", "allAuthenticatedUsers"];
const primitiveRoles = ["roles/owner", "roles/editor", "roles/viewer"];

/** Resource types whose create arguments carry labels, and the property that holds them. */
export const labelProperty: Record<string, string> = {
    "gcp:artifactregistry/repository:Repository": "labels",
    "gcp:bigquery/dataset:Dataset": "labels",
    "gcp:bigquery/table:Table": "labels",
    "gcp:cloudrunv2/service:Service": "labels",
    "gcp:kms/cryptoKey:CryptoKey": "labels",
    "gcp:monitoring/alertPolicy:AlertPolicy": "userLabels",
    "gcp:monitoring/notificationChannel:NotificationChannel": "userLabels",
    "gcp:pubsub/subscription:Subscription": "labels",
    "gcp:pubsub/topic:Topic": "labels",
    "gcp:redis/instance:Instance": "labels",
    "gcp:secretmanager/secret:Secret": "labels",
};

/** An IAM resource of any flavour (member, binding, policy) on any GCP resource. */
function isIam(type: string): boolean {
    const resource = /^gcp:[^/]+\/([^:]+):/.exec(type)?.[1] ?? "";
    return /iam/i.test(resource) && !resource.startsWith("get");
}

/** Members granted by an IAM resource (`member`, `members`, or inside `policyData`). */
function iamGrants(props: Record<string, any>): { role: string; member: string }[] {
    if (typeof props.policyData === "string") {
        try {
            const policy = JSON.parse(props.policyData) as { bindings?: { role: string; members?: string[] }[] };
            return (policy.bindings ?? []).flatMap((b) => (b.members ?? []).map((member) => ({ role: b.role, member })));
        } catch {
            return [];
        }
    }
    const members: string[] = typeof props.member === "string" ? [props.member] : Array.isArray(props.members) ? props.members : [];
    return members.map((member) => ({ role: String(props.role ?? ""), member }));
}

export const noPrimitiveRoles: ResourcePolicy = {
    name: "no-primitive-roles",
    description: "IAM grants never use the primitive roles owner, editor or viewer.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        if (!isIam(args.type)) {
            return;
        }
        for (const { role } of iamGrants(args.props)) {
            if (primitiveRoles.includes(role)) {
                report(`${args.type} grants primitive role ${role}; use a predefined role on the narrowest resource`);
            }
        }
    },
};

export const publicInvokersOnlyWhereIntended: ResourcePolicy = {
    name: "public-invokers",
    description: "allUsers/allAuthenticatedUsers appear only as run.invoker on the intentionally public services.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        if (!isIam(args.type)) {
            return;
        }
        for (const { role, member } of iamGrants(args.props)) {
            if (!publicMembers.includes(member)) {
                continue;
            }
            const allowed =
                args.type === "gcp:cloudrunv2/serviceIamMember:ServiceIamMember" &&
                role === "roles/run.invoker" &&
                typeof args.props.name === "string" &&
                args.props.name in publicServices;
            if (!allowed) {
                report(
                    `${member} granted ${role} via ${args.type} "${args.name}"; only ${Object.keys(publicServices).join(", ")} may be public (run.invoker)`,
                );
            }
        }
    },
};

export const executorNeverPublic: ResourcePolicy = {
    name: "executor-never-public",
    description: "agent-executor accepts only internal / load-balancer traffic and never public invokers.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        if (args.type === "gcp:cloudrunv2/service:Service" && args.props.name === executorService) {
            const ingress = args.props.ingress;
            if (ingress !== "INGRESS_TRAFFIC_INTERNAL_ONLY" && ingress !== "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER") {
                report(`agent-executor ingress is ${ingress ?? "unset (defaults to ALL)"}; it must be internal`);
            }
            if (args.props.invokerIamDisabled === true) {
                report("agent-executor must not disable the invoker IAM check");
            }
        }
        if (isIam(args.type) && args.type.startsWith("gcp:cloudrunv2/") && args.props.name === executorService) {
            for (const { member } of iamGrants(args.props)) {
                if (publicMembers.includes(member)) {
                    report(`agent-executor must not be invocable by ${member}`);
                }
            }
        }
    },
};

export const redisNeverPublic: ResourcePolicy = {
    name: "redis-never-public",
    description: "Memorystore Redis: private network only, AUTH on, TLS in transit.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        if (args.type !== "gcp:redis/instance:Instance") {
            return;
        }
        const p = args.props;
        if (!p.authorizedNetwork) {
            report("Redis must be attached to an explicit private network (authorizedNetwork)");
        }
        if (p.connectMode !== undefined && p.connectMode !== "DIRECT_PEERING" && p.connectMode !== "PRIVATE_SERVICE_ACCESS") {
            report(`Redis connectMode ${p.connectMode} is not a private connect mode`);
        }
        if (p.authEnabled !== true) {
            report("Redis AUTH must be enabled (authEnabled: true)");
        }
        if (p.transitEncryptionMode !== "SERVER_AUTHENTICATION") {
            report("Redis in-transit encryption must be SERVER_AUTHENTICATION");
        }
    },
};

export const imagesPinnedByDigest: ResourcePolicy = {
    name: "images-pinned-by-digest",
    description: "Cloud Run containers reference images by @sha256 digest, never by a mutable tag.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        if (!args.type.startsWith("gcp:cloudrunv2/")) {
            return;
        }
        const containers: { image?: string }[] = args.props.template?.containers ?? args.props.template?.template?.containers ?? [];
        for (const c of containers) {
            if (typeof c.image !== "string" || !isDigestPinned(c.image)) {
                report(`image "${c.image}" is not pinned by digest (…@sha256:<64 hex>)`);
            }
        }
    },
};

export const requiredLabels: ResourcePolicy = {
    name: "required-labels",
    description: `Every labelable resource carries the labels ${requiredLabelKeys.join(", ")}.`,
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        const prop = labelProperty[args.type];
        if (!prop) {
            return;
        }
        const labels: Record<string, string> = args.props[prop] ?? {};
        const missing = requiredLabelKeys.filter((k) => typeof labels[k] !== "string" || labels[k] === "");
        if (missing.length > 0) {
            report(`${args.type} "${args.name}" is missing label(s) ${missing.join(", ")} in ${prop}`);
        }
    },
};

export const stateDeletionProtection: ResourcePolicy = {
    name: "deletion-protection",
    description: "Stateful resources (Firestore, BigQuery, Redis, KMS, the task queue) are protected from deletion.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        const p = args.props;
        const needProtect = (what: string) => {
            if (!args.opts.protect) {
                report(`${what} "${args.name}" must be created with { protect: true }`);
            }
        };
        switch (args.type) {
            case "gcp:firestore/database:Database":
                needProtect("Firestore database");
                if (p.deleteProtectionState !== "DELETE_PROTECTION_ENABLED") {
                    report("Firestore deleteProtectionState must be DELETE_PROTECTION_ENABLED");
                }
                if (p.deletionPolicy === "DELETE") {
                    report("Firestore deletionPolicy must not be DELETE");
                }
                break;
            case "gcp:bigquery/table:Table":
                needProtect("BigQuery table");
                if (p.deletionProtection === false) {
                    report("BigQuery table deletionProtection must stay on");
                }
                break;
            case "gcp:bigquery/dataset:Dataset":
                needProtect("BigQuery dataset");
                if (p.deleteContentsOnDestroy === true) {
                    report("BigQuery dataset must not delete its contents on destroy");
                }
                break;
            case "gcp:redis/instance:Instance":
                needProtect("Redis instance");
                if (p.deletionProtection !== true) {
                    report("Redis deletionProtection must be true");
                }
                break;
            case "gcp:kms/keyRing:KeyRing":
            case "gcp:kms/cryptoKey:CryptoKey":
                needProtect("KMS key material");
                break;
            case "gcp:cloudtasks/queue:Queue":
                needProtect("Cloud Tasks queue");
                break;
        }
    },
};

const cryptoRoles = [
    "roles/cloudkms.cryptoKeyEncrypter",
    "roles/cloudkms.cryptoKeyDecrypter",
    "roles/cloudkms.cryptoKeyEncrypterDecrypter",
];

export const kmsSplitTrust: ResourcePolicy = {
    name: "kms-split-trust",
    description: "KMS crypto roles are granted per key, additively, and never as cryptoKeyEncrypterDecrypter.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        if (!isIam(args.type)) {
            return;
        }
        for (const { role } of iamGrants(args.props)) {
            if (role === "roles/cloudkms.cryptoKeyEncrypterDecrypter") {
                report("cryptoKeyEncrypterDecrypter gives one principal both halves of the split trust");
            } else if (cryptoRoles.includes(role) && !args.type.startsWith("gcp:kms/cryptoKeyIAM")) {
                report(`${role} must be granted on the crypto key itself, not via ${args.type}`);
            }
        }
        if (
            args.type === "gcp:kms/cryptoKeyIAMPolicy:CryptoKeyIAMPolicy" ||
            args.type === "gcp:kms/cryptoKeyIAMBinding:CryptoKeyIAMBinding"
        ) {
            report(`${args.type} is authoritative and would strip the split-trust grants; use CryptoKeyIAMMember`);
        }
    },
};

/** Whole-stack half of the split trust: no principal holds both encrypt and decrypt on a key. */
export const kmsNoPrincipalHoldsBoth: StackPolicy = {
    name: "kms-no-principal-holds-both",
    description: "On every crypto key, the encrypting and the decrypting principals are disjoint.",
    enforcementLevel: "mandatory",
    validateStack: (args, report) => {
        const byKey = new Map<string, { enc: Set<string>; dec: Set<string> }>();
        for (const r of args.resources) {
            if (r.type !== "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember") {
                continue;
            }
            const key = String(r.props.cryptoKeyId);
            const entry = byKey.get(key) ?? { enc: new Set<string>(), dec: new Set<string>() };
            if (r.props.role === "roles/cloudkms.cryptoKeyEncrypter") {
                entry.enc.add(String(r.props.member));
            }
            if (r.props.role === "roles/cloudkms.cryptoKeyDecrypter") {
                entry.dec.add(String(r.props.member));
            }
            byKey.set(key, entry);
        }
        for (const [key, { enc, dec }] of byKey) {
            for (const member of enc) {
                if (dec.has(member)) {
                    report(`${member} can both encrypt and decrypt with ${key}`);
                }
            }
        }
    },
};

export const resourcePolicies: ResourcePolicy[] = [
    kmsSplitTrust,
    executorNeverPublic,
    publicInvokersOnlyWhereIntended,
    redisNeverPublic,
    imagesPinnedByDigest,
    requiredLabels,
    stateDeletionProtection,
    noPrimitiveRoles,
];

export const stackPolicies: StackPolicy[] = [kmsNoPrincipalHoldsBoth];

/** Runs one resource policy outside a PolicyPack and returns its violations. */
export function violationsOf(policy: ResourcePolicy, args: ResourceValidationArgs): string[] {
    const found: string[] = [];
    const report: ReportViolation = (message) => {
        found.push(message);
    };
    void policy.validateResource(args, report);
    return found;
}
