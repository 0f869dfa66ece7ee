import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { readInfraFile } from "../paths";
import { ProjectContext } from "../providers";

export interface FirestoreArgs {
    locationId: string;
    /** File under infra/firestore/ holding this database's security rules. */
    rulesFile: string;
    dependsOn: pulumi.Resource[];
}

/**
 * The project's `(default)` Firestore database and its security rules. In the platform project it
 * holds users, API-key records and the credit ledger (the durable billing truth); in the agents
 * project the task definitions, credentials and executions. Both get point-in-time recovery and
 * delete protection, and Pulumi abandons rather than deletes them.
 */
export class FirestoreDatabase extends pulumi.ComponentResource {
    readonly database: gcp.firestore.Database;
    readonly ruleset: gcp.firebaserules.Ruleset;
    readonly release: gcp.firebaserules.Release;

    constructor(name: string, ctx: ProjectContext, args: FirestoreArgs, opts?: pulumi.ComponentResourceOptions) {
        super("majestix:infra:FirestoreDatabase", name, {}, { ...opts, provider: ctx.provider });

        this.database = new gcp.firestore.Database(
            `${name}-db`,
            {
                project: ctx.project,
                name: "(default)",
                locationId: args.locationId,
                type: "FIRESTORE_NATIVE",
                concurrencyMode: "OPTIMISTIC",
                appEngineIntegrationMode: "DISABLED",
                pointInTimeRecoveryEnablement: "POINT_IN_TIME_RECOVERY_ENABLED",
                deleteProtectionState: "DELETE_PROTECTION_ENABLED",
                deletionPolicy: "ABANDON",
            },
            { parent: this, dependsOn: args.dependsOn, protect: true },
        );

        // A ruleset is immutable: a rules change creates a new ruleset and repoints the release.
        this.ruleset = new gcp.firebaserules.Ruleset(
            `${name}-rules`,
            {
                project: ctx.project,
                source: { files: [{ name: args.rulesFile, content: readInfraFile("firestore", args.rulesFile) }] },
            },
            { parent: this, dependsOn: [this.database] },
        );

        // `cloud.firestore` is the release name the (default) database reads its rules from.
        this.release = new gcp.firebaserules.Release(
            `${name}-rules-release`,
            {
                project: ctx.project,
                name: "cloud.firestore",
                rulesetName: pulumi.interpolate`projects/${ctx.project}/rulesets/${this.ruleset.name}`,
            },
            { parent: this },
        );
        this.registerOutputs({});
    }
}
