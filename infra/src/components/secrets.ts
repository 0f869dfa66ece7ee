import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { Labels } from "../labels";
import { ProjectContext } from "../providers";

/**
 * A Secret Manager secret with its current version. Values come from encrypted stack config or
 * from another resource's secret output (the Redis AUTH string), never from the repository.
 * Access is granted by the Cloud Run service that mounts the secret, to its own identity only.
 */
export class ManagedSecret extends pulumi.ComponentResource {
    readonly secret: gcp.secretmanager.Secret;
    readonly version: gcp.secretmanager.SecretVersion;
    /** The secret id, known at plan time (usable in resource names). */
    readonly secretId: string;

    constructor(
        secretId: string,
        ctx: ProjectContext,
        value: pulumi.Input<string>,
        labels: Labels,
        dependsOn: pulumi.Resource[],
        opts?: pulumi.ComponentResourceOptions,
    ) {
        super("majestix:infra:ManagedSecret", secretId, {}, { ...opts, provider: ctx.provider });
        this.secretId = secretId;
        this.secret = new gcp.secretmanager.Secret(
            secretId,
            {
                project: ctx.project,
                secretId,
                replication: { userManaged: { replicas: [{ location: ctx.region }] } },
                labels,
                deletionProtection: true,
            },
            { parent: this, dependsOn },
        );
        this.version = new gcp.secretmanager.SecretVersion(
            `${secretId}-current`,
            { secret: this.secret.id, secretData: pulumi.secret(value) },
            { parent: this },
        );
        this.registerOutputs({});
    }
}
