import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { ServiceSizing } from "../config";
import { ProjectContext } from "../providers";

export const executePath = "/internal/agent/execute";
export const reconcilePath = "/internal/agent/reconcile";

export interface AgentDispatchArgs {
    executorUri: pulumi.Output<string>;
    executorSizing: ServiceSizing;
    /** Identity whose OIDC token Cloud Tasks and Scheduler present to the executor. */
    invoker: gcp.serviceaccount.Account;
    /** Principals that create tasks on the queue, keyed by a stable logical name. */
    enqueuers: Record<string, pulumi.Input<string>>;
    /** Principals that create per-task Scheduler jobs at run time (they act as the invoker). */
    schedulerManagers: Record<string, pulumi.Input<string>>;
    dependsOn: pulumi.Resource[];
}

/**
 * Cloud Tasks queue `agent-tasks` and Cloud Scheduler for the executor. The queue stamps the
 * target and the OIDC token itself (queue-level HTTP target), so no producer can point a task
 * elsewhere or choose another identity. Per-task Scheduler jobs are created at run time by the
 * services; only the reconciliation job is static.
 */
export class AgentDispatch extends pulumi.ComponentResource {
    readonly queue: gcp.cloudtasks.Queue;
    readonly reconcileJob: gcp.cloudscheduler.Job;

    constructor(name: string, ctx: ProjectContext, args: AgentDispatchArgs, opts?: pulumi.ComponentResourceOptions) {
        super("majestix:infra:AgentDispatch", name, {}, { ...opts, provider: ctx.provider });
        const parent = { parent: this };
        const executorHost = args.executorUri.apply((uri) => new URL(uri).host);

        this.queue = new gcp.cloudtasks.Queue(
            "agent-tasks",
            {
                project: ctx.project,
                name: "agent-tasks",
                location: ctx.region,
                rateLimits: {
                    // Never dispatch more runs than the executor can hold at once
                    // (max instances × per-instance concurrency); the rest wait in the queue.
                    maxConcurrentDispatches: args.executorSizing.maxInstances * args.executorSizing.concurrency,
                    maxDispatchesPerSecond: 2,
                },
                retryConfig: {
                    // Agent runs spend credits: a few spaced retries for transient failures,
                    // not an unbounded loop. The executor deduplicates by task name.
                    maxAttempts: 3,
                    minBackoff: "30s",
                    maxBackoff: "300s",
                    maxDoublings: 3,
                    maxRetryDuration: "3600s",
                },
                stackdriverLoggingConfig: { samplingRatio: 1.0 },
                httpTarget: {
                    httpMethod: "POST",
                    uriOverride: {
                        scheme: "HTTPS",
                        host: executorHost,
                        pathOverride: { path: executePath },
                        uriOverrideEnforceMode: "ALWAYS",
                    },
                    headerOverrides: [{ header: { key: "Content-Type", value: "application/json" } }],
                    oidcToken: { serviceAccountEmail: args.invoker.email, audience: args.executorUri },
                },
                // A deleted queue's name is tombstoned for days: replacing it would fail anyway.
                deletionPolicy: "PREVENT",
            },
            { ...parent, dependsOn: args.dependsOn, protect: true },
        );

        const invokerId = args.invoker.name;
        const enqueuers: Record<string, pulumi.Input<string>> = {
            ...args.enqueuers,
            // Scheduler jobs call tasks.create as the invoker identity.
            "tasks-invoker": pulumi.interpolate`serviceAccount:${args.invoker.email}`,
        };
        for (const [key, member] of Object.entries(enqueuers)) {
            new gcp.cloudtasks.QueueIamMember(
                `agent-tasks-enqueuer-${key}`,
                { project: ctx.project, location: ctx.region, name: this.queue.name, role: "roles/cloudtasks.enqueuer", member },
                parent,
            );
            // Creating a task that carries the invoker's OIDC token requires actAs on it.
            new gcp.serviceaccount.IAMMember(
                `tasks-invoker-user-${key}`,
                { serviceAccountId: invokerId, role: "roles/iam.serviceAccountUser", member },
                parent,
            );
        }
        for (const [key, member] of Object.entries(args.schedulerManagers)) {
            // Scheduler jobs have no resource-level IAM; the project is the narrowest scope.
            new gcp.projects.IAMMember(
                `scheduler-admin-${key}`,
                { project: ctx.project, role: "roles/cloudscheduler.admin", member },
                parent,
            );
            if (!(key in enqueuers)) {
                new gcp.serviceaccount.IAMMember(
                    `tasks-invoker-user-${key}`,
                    { serviceAccountId: invokerId, role: "roles/iam.serviceAccountUser", member },
                    parent,
                );
            }
        }

        // Periodic reconciliation: the executor re-syncs per-task Scheduler jobs with agent_tasks
        // and closes executions whose run was lost. Same-project Scheduler counts as internal
        // traffic for the executor's ingress setting.
        this.reconcileJob = new gcp.cloudscheduler.Job(
            "agent-reconcile",
            {
                project: ctx.project,
                region: ctx.region,
                name: "agent-reconcile",
                description: "Reconcile per-task Scheduler jobs and stale executions",
                schedule: "*/15 * * * *",
                timeZone: "Etc/UTC",
                attemptDeadline: "600s",
                retryConfig: { retryCount: 1, minBackoffDuration: "30s", maxBackoffDuration: "120s" },
                httpTarget: {
                    uri: pulumi.interpolate`${args.executorUri}${reconcilePath}`,
                    httpMethod: "POST",
                    headers: { "Content-Type": "application/json" },
                    body: Buffer.from("{}").toString("base64"),
                    oidcToken: { serviceAccountEmail: args.invoker.email, audience: args.executorUri },
                },
            },
            { ...parent, dependsOn: args.dependsOn },
        );
        this.registerOutputs({ queue: this.queue.name });
    }
}
