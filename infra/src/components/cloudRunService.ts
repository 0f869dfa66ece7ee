import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { ServiceSizing } from "../config";
import { Labels } from "../labels";
import { ProjectContext } from "../providers";
import { ManagedSecret } from "./secrets";

/** Port every service listens on inside the container (Cloud Run's PORT). */
export const containerPort = 8080;
export const healthPath = "/health";

export type Ingress = "INGRESS_TRAFFIC_ALL" | "INGRESS_TRAFFIC_INTERNAL_ONLY" | "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER";

export interface CloudRunServiceArgs {
    image: string;
    serviceAccount: gcp.serviceaccount.Account;
    sizing: ServiceSizing;
    ingress: Ingress;
    /** Serverless VPC Access connector; only private ranges are routed through it. */
    vpcConnector?: pulumi.Input<string>;
    env: Record<string, pulumi.Input<string>>;
    secretEnv: Record<string, ManagedSecret>;
    /**
     * `allUsers` as invoker. Only for services whose callers cannot carry a Google identity
     * (the public API, and Firebase Hosting rewrites); the `public-invokers` policy keeps the list.
     */
    publicInvoker: boolean;
    /** Principals granted roles/run.invoker on this service, keyed by a stable logical name. */
    invokers: Record<string, pulumi.Input<string>>;
    labels: Labels;
    dependsOn: pulumi.Resource[];
}

/**
 * A Cloud Run v2 service with the house defaults: dedicated identity, digest-pinned image,
 * /health probes, secrets from Secret Manager readable only by this service's identity.
 */
export class CloudRunService extends pulumi.ComponentResource {
    readonly service: gcp.cloudrunv2.Service;
    readonly uri: pulumi.Output<string>;

    constructor(name: string, ctx: ProjectContext, args: CloudRunServiceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("majestix:infra:CloudRunService", name, {}, { ...opts, provider: ctx.provider });
        const parent = { parent: this };
        const runtimeMember = pulumi.interpolate`serviceAccount:${args.serviceAccount.email}`;

        const secretNames = Object.keys(args.secretEnv).sort();
        // A revision whose identity cannot read a mounted secret fails to deploy, so the service
        // waits for these grants.
        const secretGrants = secretNames.map(
            (envName) =>
                new gcp.secretmanager.SecretIamMember(
                    `${name}-reads-${args.secretEnv[envName].secretId}`,
                    {
                        project: ctx.project,
                        secretId: args.secretEnv[envName].secret.secretId,
                        role: "roles/secretmanager.secretAccessor",
                        member: runtimeMember,
                    },
                    parent,
                ),
        );

        const envs = [
            ...Object.keys(args.env)
                .sort()
                .map((envName) => ({ name: envName, value: args.env[envName] })),
            ...secretNames.map((envName) => ({
                name: envName,
                // Pinned to the version Pulumi wrote, so rotating a secret rolls a new revision
                // instead of changing under running instances.
                valueSource: {
                    secretKeyRef: { secret: args.secretEnv[envName].secret.secretId, version: args.secretEnv[envName].version.version },
                },
            })),
        ];

        const probe = { httpGet: { path: healthPath, port: containerPort } };
        this.service = new gcp.cloudrunv2.Service(
            name,
            {
                project: ctx.project,
                name,
                location: ctx.region,
                ingress: args.ingress,
                deletionProtection: true,
                labels: args.labels,
                template: {
                    serviceAccount: args.serviceAccount.email,
                    timeout: `${args.sizing.timeoutSeconds}s`,
                    maxInstanceRequestConcurrency: args.sizing.concurrency,
                    executionEnvironment: "EXECUTION_ENVIRONMENT_GEN2",
                    // Revision-level scaling only; the service-level block has drifted (pulumi-gcp #3052).
                    scaling: { minInstanceCount: args.sizing.minInstances, maxInstanceCount: args.sizing.maxInstances },
                    vpcAccess: args.vpcConnector ? { connector: args.vpcConnector, egress: "PRIVATE_RANGES_ONLY" } : undefined,
                    labels: args.labels,
                    containers: [
                        {
                            name,
                            image: args.image,
                            ports: { containerPort, name: "http1" },
                            resources: {
                                limits: { cpu: args.sizing.cpu, memory: args.sizing.memory },
                                cpuIdle: true,
                                startupCpuBoost: true,
                            },
                            envs,
                            // Traffic is routed to a revision only after /health answers.
                            startupProbe: { ...probe, initialDelaySeconds: 0, periodSeconds: 2, timeoutSeconds: 2, failureThreshold: 30 },
                            livenessProbe: { ...probe, periodSeconds: 15, timeoutSeconds: 3, failureThreshold: 3 },
                        },
                    ],
                },
            },
            { ...parent, dependsOn: [...args.dependsOn, ...secretGrants] },
        );
        this.uri = this.service.uri;

        const invokers: Record<string, pulumi.Input<string>> = { ...args.invokers };
        if (args.publicInvoker) {
            invokers["public"] = "allUsers";
        }
        for (const [key, member] of Object.entries(invokers)) {
            new gcp.cloudrunv2.ServiceIamMember(
                `${name}-invoker-${key}`,
                { project: ctx.project, location: ctx.region, name: this.service.name, role: "roles/run.invoker", member },
                parent,
            );
        }
        this.registerOutputs({ uri: this.uri });
    }
}
