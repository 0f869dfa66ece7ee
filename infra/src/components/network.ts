import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { ProjectContext } from "../providers";

export interface NetworkArgs {
    /** Dedicated /28 for the Serverless VPC Access connector. */
    connectorCidr: string;
    machineType: string;
    minInstances: number;
    maxInstances: number;
    dependsOn: pulumi.Resource[];
}

/**
 * VPC for the platform project. Its only job is to give Cloud Run a private path to Memorystore;
 * there is deliberately no peering to the agents project (the projects talk over OIDC/HTTPS only).
 */
export class ServerlessNetwork extends pulumi.ComponentResource {
    readonly network: gcp.compute.Network;
    readonly subnet: gcp.compute.Subnetwork;
    readonly connector: gcp.vpcaccess.Connector;

    constructor(name: string, ctx: ProjectContext, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
        super("majestix:infra:ServerlessNetwork", name, {}, { ...opts, provider: ctx.provider });
        const deps = { parent: this, dependsOn: args.dependsOn };

        this.network = new gcp.compute.Network(
            "majestix-vpc",
            {
                project: ctx.project,
                name: "majestix-vpc",
                description: "Private path from Cloud Run (inference-api) to Memorystore Redis",
                autoCreateSubnetworks: false,
                routingMode: "REGIONAL",
            },
            deps,
        );

        this.subnet = new gcp.compute.Subnetwork(
            "serverless-connector",
            {
                project: ctx.project,
                name: `serverless-${ctx.region}`,
                region: ctx.region,
                network: this.network.id,
                ipCidrRange: args.connectorCidr,
                privateIpGoogleAccess: true,
            },
            deps,
        );

        // The name is explicit: connector names are limited to 25 characters and Pulumi's
        // autonaming suffix would overflow it; nearly every field is immutable.
        this.connector = new gcp.vpcaccess.Connector(
            "redis-connector",
            {
                project: ctx.project,
                name: "redis-connector",
                region: ctx.region,
                subnet: { name: this.subnet.name, projectId: ctx.project },
                machineType: args.machineType,
                // Instances, not throughput: the two are mutually exclusive since provider 6.x and
                // throughput defaults caused replace-on-every-up (pulumi-gcp #1077).
                minInstances: args.minInstances,
                maxInstances: args.maxInstances,
            },
            { ...deps, deleteBeforeReplace: true },
        );
        this.registerOutputs({ connector: this.connector.id });
    }
}
