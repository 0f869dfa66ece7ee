import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { ProjectContext } from "../providers";

/** Runtime identity. Every workload has its own; none runs as the default compute account. */
export function serviceAccount(
    ctx: ProjectContext,
    accountId: string,
    description: string,
    parent: pulumi.Resource,
    dependsOn: pulumi.Resource[],
): gcp.serviceaccount.Account {
    return new gcp.serviceaccount.Account(
        accountId,
        { project: ctx.project, accountId, displayName: accountId, description },
        { parent, dependsOn, provider: ctx.provider },
    );
}

export function saMember(sa: gcp.serviceaccount.Account): pulumi.Output<string> {
    return pulumi.interpolate`serviceAccount:${sa.email}`;
}

/**
 * Project-level roles are used only where Google offers no narrower resource (Firestore data
 * access, trace/log/metric writers, Cloud Scheduler jobs). Primitive roles are refused by policy.
 */
export function projectRole(
    name: string,
    ctx: ProjectContext,
    role: string,
    member: pulumi.Input<string>,
    parent: pulumi.Resource,
    dependsOn: pulumi.Resource[],
): gcp.projects.IAMMember {
    return new gcp.projects.IAMMember(name, { project: ctx.project, role, member }, { parent, provider: ctx.provider, dependsOn });
}
