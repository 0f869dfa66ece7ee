import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { Labels } from "../labels";
import { ProjectContext } from "../providers";

export interface CredentialKeysArgs {
    /** The only principal that may encrypt (the platform-side bridge). */
    encrypter: pulumi.Input<string>;
    /** The only principal that may decrypt (the executor). */
    decrypter: pulumi.Input<string>;
    labels: Labels;
    dependsOn: pulumi.Resource[];
}

/** 90 days: the seed's maximum rotation period for the credentials key. */
export const rotationPeriodSeconds = 90 * 24 * 60 * 60;

/**
 * Split trust for agent credentials: `agent-keys/credentials` is used by two identities in two
 * projects, one that can only encrypt and one that can only decrypt, so compromising either
 * project alone never yields plaintext credentials. Grants are on the key (never the ring or the
 * project) and additive (`…IAMMember`): an authoritative policy on the key would strip them.
 */
export class CredentialKeys extends pulumi.ComponentResource {
    readonly keyRing: gcp.kms.KeyRing;
    readonly key: gcp.kms.CryptoKey;

    constructor(name: string, ctx: ProjectContext, args: CredentialKeysArgs, opts?: pulumi.ComponentResourceOptions) {
        super("majestix:infra:CredentialKeys", name, {}, { ...opts, provider: ctx.provider });
        const parent = { parent: this };

        // Key rings and keys can never be deleted and their names stay reserved forever: explicit
        // names, `protect`, and no replacement-triggering changes.
        this.keyRing = new gcp.kms.KeyRing(
            "agent-keys",
            { project: ctx.project, name: "agent-keys", location: ctx.region },
            { ...parent, dependsOn: args.dependsOn, protect: true },
        );
        this.key = new gcp.kms.CryptoKey(
            "credentials",
            {
                name: "credentials",
                keyRing: this.keyRing.id,
                purpose: "ENCRYPT_DECRYPT",
                rotationPeriod: `${rotationPeriodSeconds}s`,
                versionTemplate: { algorithm: "GOOGLE_SYMMETRIC_ENCRYPTION", protectionLevel: "SOFTWARE" },
                // A version scheduled for destruction stays restorable for 30 days.
                destroyScheduledDuration: `${30 * 24 * 60 * 60}s`,
                deletionPolicy: "PREVENT",
                labels: args.labels,
            },
            { ...parent, protect: true },
        );

        new gcp.kms.CryptoKeyIAMMember(
            "credentials-encrypter",
            { cryptoKeyId: this.key.id, role: "roles/cloudkms.cryptoKeyEncrypter", member: args.encrypter },
            parent,
        );
        new gcp.kms.CryptoKeyIAMMember(
            "credentials-decrypter",
            { cryptoKeyId: this.key.id, role: "roles/cloudkms.cryptoKeyDecrypter", member: args.decrypter },
            parent,
        );
        this.registerOutputs({ key: this.key.id });
    }
}
