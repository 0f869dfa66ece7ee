import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { ProjectContext } from "../providers";

/**
 * Enables the Google APIs a project needs. APIs are never disabled on destroy: disabling an API
 * tears down everything that depends on it (pulumi/examples #1129, TF #12300), and a later
 * re-enable is eventually consistent. Consumers `dependsOn` these resources for the same reason.
 */
export class ProjectApis extends pulumi.ComponentResource {
    readonly services: gcp.projects.Service[];

    constructor(name: string, ctx: ProjectContext, apis: string[], opts?: pulumi.ComponentResourceOptions) {
        super("majestix:infra:ProjectApis", name, {}, { ...opts, provider: ctx.provider });
        this.services = [...apis]
            .sort()
            .map(
                (api) =>
                    new gcp.projects.Service(
                        `${name}-${api.split(".")[0]}`,
                        { project: ctx.project, service: api, disableOnDestroy: false, disableDependentServices: false },
                        { parent: this },
                    ),
            );
        this.registerOutputs({});
    }
}
