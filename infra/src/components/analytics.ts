import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { Labels } from "../labels";
import { readInfraFile } from "../paths";
import { ProjectContext } from "../providers";

/** One event stream: topic → BigQuery subscription → day-partitioned table, plus a dead-letter path. */
export interface EventStreamSpec {
    /** Table id in `inference_analytics`; its schema is `infra/schemas/<table>.json`. */
    table: string;
    /** Pub/Sub topic name the services publish to (PUBSUB_*_TOPIC). */
    topic: string;
    clustering: string[];
    description: string;
    /** Principals allowed to publish (`serviceAccount:…`), keyed by a stable logical name. */
    publishers: Record<string, pulumi.Input<string>>;
}

export interface AnalyticsArgs {
    location: string;
    streams: EventStreamSpec[];
    labels: Labels;
    dependsOn: pulumi.Resource[];
}

export interface EventStream {
    table: gcp.bigquery.Table;
    topic: gcp.pubsub.Topic;
    deadLetterTopic: gcp.pubsub.Topic;
    subscription: gcp.pubsub.Subscription;
    /** Grants the subscription cannot work without; it `dependsOn` every one of them. */
    writerGrants: pulumi.Resource[];
}

// Dead-lettering after a few attempts: a row BigQuery rejects (schema drift, bad value) will be
// rejected every time, and retrying it forever only delays the rows behind it.
const maxDeliveryAttempts = 5;
const weekSeconds = "604800s";

/**
 * `inference_analytics`: usage and audit events published by the services land in BigQuery
 * through BigQuery subscriptions (no Dataflow, no consumer code). The table schemas are the
 * committed JSON files the .NET event serializers are tested against, so a schema change is a
 * reviewed change on both sides.
 */
export class AnalyticsPipeline extends pulumi.ComponentResource {
    readonly dataset: gcp.bigquery.Dataset;
    readonly pubsubAgent: gcp.projects.ServiceIdentity;
    readonly streams: Record<string, EventStream> = {};

    constructor(name: string, ctx: ProjectContext, args: AnalyticsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("majestix:infra:AnalyticsPipeline", name, {}, { ...opts, provider: ctx.provider });
        const parent = { parent: this };

        this.dataset = new gcp.bigquery.Dataset(
            "inference-analytics",
            {
                project: ctx.project,
                datasetId: "inference_analytics",
                friendlyName: "Inference analytics",
                description: "Usage and audit events (opaque user ids, no PII, no message content)",
                location: args.location,
                // Refuse to drop a dataset that still holds billing-relevant history.
                deleteContentsOnDestroy: false,
                maxTimeTravelHours: "168",
                labels: args.labels,
            },
            { ...parent, dependsOn: args.dependsOn, protect: true },
        );

        // The Pub/Sub service agent writes the rows (no custom writer SA, so the deployer needs no
        // actAs on one). Creating the identity also makes Google provision the agent if missing.
        this.pubsubAgent = new gcp.projects.ServiceIdentity(
            "pubsub-service-agent",
            { project: ctx.project, service: "pubsub.googleapis.com" },
            { ...parent, dependsOn: args.dependsOn },
        );
        const agentMember = pulumi.interpolate`serviceAccount:${this.pubsubAgent.email}`;

        for (const spec of args.streams) {
            this.streams[spec.table] = this.stream(ctx, spec, agentMember, args);
        }
        this.registerOutputs({ dataset: this.dataset.datasetId });
    }

    private stream(ctx: ProjectContext, spec: EventStreamSpec, agent: pulumi.Output<string>, args: AnalyticsArgs): EventStream {
        const parent = { parent: this };
        const schema: unknown = JSON.parse(readInfraFile("schemas", `${spec.table}.json`));

        const table = new gcp.bigquery.Table(
            spec.table,
            {
                project: ctx.project,
                datasetId: this.dataset.datasetId,
                tableId: spec.table,
                description: spec.description,
                // Re-serialized so formatting of the committed file never shows up as a diff.
                schema: JSON.stringify(schema),
                timePartitioning: { type: "DAY", field: "event_time" },
                clusterings: spec.clustering,
                // Dropping or renaming a column replaces the table (pulumi-gcp #1182); protection
                // turns that into an error instead of silent data loss.
                deletionProtection: true,
                labels: args.labels,
            },
            { ...parent, protect: true },
        );

        const topic = new gcp.pubsub.Topic(
            spec.topic,
            { project: ctx.project, name: spec.topic, messageRetentionDuration: weekSeconds, labels: args.labels },
            { ...parent, dependsOn: args.dependsOn },
        );
        const deadLetterTopic = new gcp.pubsub.Topic(
            `${spec.topic}-dead-letter`,
            { project: ctx.project, name: `${spec.topic}-dead-letter`, messageRetentionDuration: weekSeconds, labels: args.labels },
            { ...parent, dependsOn: args.dependsOn },
        );
        // A topic without a subscription drops what it receives: this one keeps rejected events
        // for a week so they can be inspected and replayed after a schema fix.
        new gcp.pubsub.Subscription(
            `${spec.topic}-dead-letter-hold`,
            {
                project: ctx.project,
                name: `${spec.topic}-dead-letter-hold`,
                topic: deadLetterTopic.id,
                messageRetentionDuration: weekSeconds,
                retainAckedMessages: true,
                ackDeadlineSeconds: 60,
                expirationPolicy: { ttl: "" },
                labels: args.labels,
            },
            parent,
        );

        for (const [key, member] of Object.entries(spec.publishers)) {
            new gcp.pubsub.TopicIAMMember(
                `${spec.topic}-publisher-${key}`,
                { project: ctx.project, topic: topic.name, role: "roles/pubsub.publisher", member },
                parent,
            );
        }

        // Without these grants the subscription is refused with a 403 at creation (TF #17397),
        // so the subscription depends on all of them explicitly.
        const writerGrants: pulumi.Resource[] = [
            new gcp.bigquery.IamMember(
                `${spec.table}-pubsub-data-editor`,
                {
                    project: ctx.project,
                    datasetId: this.dataset.datasetId,
                    tableId: table.tableId,
                    role: "roles/bigquery.dataEditor",
                    member: agent,
                },
                parent,
            ),
            new gcp.bigquery.IamMember(
                `${spec.table}-pubsub-metadata-viewer`,
                {
                    project: ctx.project,
                    datasetId: this.dataset.datasetId,
                    tableId: table.tableId,
                    role: "roles/bigquery.metadataViewer",
                    member: agent,
                },
                parent,
            ),
            new gcp.pubsub.TopicIAMMember(
                `${spec.topic}-dead-letter-agent-publisher`,
                { project: ctx.project, topic: deadLetterTopic.name, role: "roles/pubsub.publisher", member: agent },
                parent,
            ),
        ];

        const subscription = new gcp.pubsub.Subscription(
            `${spec.topic}-to-bigquery`,
            {
                project: ctx.project,
                name: `${spec.topic}-to-bigquery`,
                topic: topic.id,
                bigqueryConfig: {
                    table: pulumi.interpolate`${table.project}.${table.datasetId}.${table.tableId}`,
                    // Message JSON maps onto the table columns. Unknown fields are NOT dropped: a
                    // serializer that drifts from the schema dead-letters loudly instead of
                    // silently losing columns.
                    useTableSchema: true,
                    dropUnknownFields: false,
                    writeMetadata: false,
                },
                deadLetterPolicy: { deadLetterTopic: deadLetterTopic.id, maxDeliveryAttempts },
                retryPolicy: { minimumBackoff: "10s", maximumBackoff: "600s" },
                messageRetentionDuration: weekSeconds,
                // Subscriptions expire after 31 idle days by default; a quiet month must not
                // silently delete the analytics pipeline.
                expirationPolicy: { ttl: "" },
                labels: args.labels,
            },
            { ...parent, dependsOn: writerGrants },
        );

        // Dead-lettering also needs the agent to ack on the source subscription; this grant can
        // only exist once the subscription does.
        new gcp.pubsub.SubscriptionIAMMember(
            `${spec.topic}-to-bigquery-agent-subscriber`,
            { project: ctx.project, subscription: subscription.name, role: "roles/pubsub.subscriber", member: agent },
            parent,
        );

        return { table, topic, deadLetterTopic, subscription, writerGrants };
    }
}
