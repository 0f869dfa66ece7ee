import * as gcp from "@pulumi/gcp";

/**
 * One explicit provider per GCP project. Default providers are disabled in the stack file
 * (`pulumi:disable-default-providers`), so a resource that forgets its provider fails instead of
 * silently landing in whatever project the operator's gcloud happens to point at.
 */
export interface ProjectContext {
    /** GCP project id. */
    project: string;
    region: string;
    env: string;
    provider: gcp.Provider;
}

export function projectProvider(name: string, project: string, region: string, env: string): ProjectContext {
    const provider = new gcp.Provider(name, {
        project,
        region,
        // Firebase / Rules APIs bill quota to the resource project rather than the caller's
        // (TF #8263): without this, user credentials get 403s from firebaserules.googleapis.com.
        userProjectOverride: true,
        billingProject: project,
        // Attribution labels would add a second, provider-injected label set that the label
        // policy cannot see in inputs; every resource sets its labels explicitly instead.
        addPulumiAttributionLabel: false,
    });
    return { project, region, env, provider };
}
