import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { ProjectContext } from "../providers";

export interface HostingArgs {
    siteIds: string[];
    firebaseProject: gcp.firebase.Project;
    /** Cloud Run service answering `/api/agent/**` (web-functions). */
    functionsService: gcp.cloudrunv2.Service;
}

export const functionsRewriteGlob = "/api/agent/**";

/**
 * The two Firebase Hosting sites (identical SPA, different colours). Pulumi owns the sites and
 * the rewrite of `/api/agent/**` to web-functions; the SPA's files are deployed by the web
 * repository's `firebase deploy`, whose firebase.json must carry the same rewrite (a Hosting
 * release is a whole version: files and config together).
 */
export class HostingSites extends pulumi.ComponentResource {
    readonly sites: gcp.firebase.HostingSite[] = [];

    constructor(name: string, ctx: ProjectContext, args: HostingArgs, opts?: pulumi.ComponentResourceOptions) {
        super("majestix:infra:HostingSites", name, {}, { ...opts, provider: ctx.provider });
        const parent = { parent: this };
        for (const siteId of args.siteIds) {
            const site = new gcp.firebase.HostingSite(
                siteId,
                { project: ctx.project, siteId },
                { ...parent, dependsOn: [args.firebaseProject], protect: true },
            );
            // Derived from the site's output so the version waits for the site to exist.
            const hostedSiteId = site.siteId.apply((id) => id ?? siteId);
            const version = new gcp.firebase.HostingVersion(
                `${siteId}-functions-rewrite`,
                {
                    siteId: hostedSiteId,
                    config: {
                        rewrites: [{ glob: functionsRewriteGlob, run: { serviceId: args.functionsService.name, region: ctx.region } }],
                    },
                },
                parent,
            );
            new gcp.firebase.HostingRelease(
                `${siteId}-functions-rewrite`,
                { siteId: hostedSiteId, versionName: version.name, message: "Rewrite /api/agent/** to web-functions (Pulumi)" },
                parent,
            );
            this.sites.push(site);
        }
        this.registerOutputs({});
    }
}
