import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { Labels } from "../labels";
import { ProjectContext } from "../providers";

/**
 * Docker repository for the project's own images. Each project pulls only from its own
 * repository, so no cross-project reader grant exists. Tags are immutable: deploys pin the
 * digest, and a tag that moved under a digest would make the history unreadable.
 */
export class ImageRepository extends pulumi.ComponentResource {
    readonly repository: gcp.artifactregistry.Repository;

    constructor(name: string, ctx: ProjectContext, labels: Labels, dependsOn: pulumi.Resource[], opts?: pulumi.ComponentResourceOptions) {
        super("majestix:infra:ImageRepository", name, {}, { ...opts, provider: ctx.provider });
        this.repository = new gcp.artifactregistry.Repository(
            name,
            {
                project: ctx.project,
                location: ctx.region,
                repositoryId: "majestix",
                format: "DOCKER",
                description: "Service images, deployed by digest",
                dockerConfig: { immutableTags: true },
                cleanupPolicyDryRun: false,
                cleanupPolicies: [
                    // Keep-policies win over delete-policies: recent releases stay for rollbacks.
                    { id: "keep-recent", action: "KEEP", mostRecentVersions: { keepCount: 20 } },
                    { id: "delete-untagged", action: "DELETE", condition: { tagState: "UNTAGGED", olderThan: "2592000s" } },
                ],
                labels,
            },
            { parent: this, dependsOn },
        );
        this.registerOutputs({});
    }
}
