import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { Labels } from "../labels";
import { ProjectContext } from "../providers";

export interface RedisArgs {
    network: gcp.compute.Network;
    tier: string;
    memorySizeGb: number;
    version: string;
    reservedIpRange: string;
    labels: Labels;
    dependsOn: pulumi.Resource[];
}

/**
 * Memorystore for Redis: sessions, API-key cache, credit counters, rate limits, short caches.
 * Reachable only on a private IP of `majestix-vpc` (through the VPC connector), AUTH required,
 * TLS in transit. Its data is a cache of Firestore (the ledger is the durable truth), but losing
 * it costs a rebuild and a burst of 503s under REDIS_FAILURE_POLICY=reject, hence HA + protection.
 */
export class RedisCache extends pulumi.ComponentResource {
    readonly instance: gcp.redis.Instance;
    /** `rediss://host:port` — TLS scheme because transit encryption is on. */
    readonly url: pulumi.Output<string>;

    constructor(name: string, ctx: ProjectContext, args: RedisArgs, opts?: pulumi.ComponentResourceOptions) {
        super("majestix:infra:RedisCache", name, {}, { ...opts, provider: ctx.provider });
        this.instance = new gcp.redis.Instance(
            "inference-redis",
            {
                project: ctx.project,
                name: "inference-redis",
                displayName: "inference-api cache and counters",
                region: ctx.region,
                tier: args.tier,
                memorySizeGb: args.memorySizeGb,
                redisVersion: args.version,
                authorizedNetwork: args.network.id,
                // Direct peering needs no Private Service Access range; the instance still has
                // only a private IP inside the reserved range below.
                connectMode: "DIRECT_PEERING",
                reservedIpRange: args.reservedIpRange,
                authEnabled: true,
                transitEncryptionMode: "SERVER_AUTHENTICATION",
                persistenceConfig: { persistenceMode: "RDB", rdbSnapshotPeriod: "ONE_HOUR" },
                maintenancePolicy: {
                    weeklyMaintenanceWindows: [{ day: "SUNDAY", startTime: { hours: 4, minutes: 0, seconds: 0, nanos: 0 } }],
                },
                deletionProtection: true,
                labels: args.labels,
            },
            // Connect mode, TLS mode and the reserved range are creation-time choices: a change
            // means a new instance with an empty cache, so it must be a deliberate act.
            { parent: this, dependsOn: args.dependsOn, protect: true },
        );
        this.url = pulumi.interpolate`rediss://${this.instance.host}:${this.instance.port}`;
        this.registerOutputs({ url: this.url });
    }
}
