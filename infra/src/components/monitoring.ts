import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { Labels } from "../labels";
import { ProjectContext } from "../providers";

export interface AlertSpec {
    key: string;
    displayName: string;
    filter: string;
    /** Alert when the aligned value stays above this for `durationSeconds`. */
    threshold: number;
    aligner: string;
    durationSeconds: number;
    documentation: string;
}

/** Alerts of one project, mailed to the operator address from the stack config. */
export class ProjectAlerts extends pulumi.ComponentResource {
    constructor(
        name: string,
        ctx: ProjectContext,
        args: { email: string; alerts: AlertSpec[]; labels: Labels; dependsOn: pulumi.Resource[] },
        opts?: pulumi.ComponentResourceOptions,
    ) {
        super("majestix:infra:ProjectAlerts", name, {}, { ...opts, provider: ctx.provider });
        const channel = new gcp.monitoring.NotificationChannel(
            `${name}-email`,
            {
                project: ctx.project,
                displayName: `Majestix ${ctx.env} operators`,
                type: "email",
                labels: { email_address: args.email },
                userLabels: args.labels,
            },
            { parent: this, dependsOn: args.dependsOn },
        );
        for (const alert of args.alerts) {
            new gcp.monitoring.AlertPolicy(
                `${name}-${alert.key}`,
                {
                    project: ctx.project,
                    displayName: alert.displayName,
                    combiner: "OR",
                    severity: "ERROR",
                    notificationChannels: [channel.name],
                    documentation: { content: alert.documentation, mimeType: "text/markdown" },
                    conditions: [
                        {
                            displayName: alert.displayName,
                            conditionThreshold: {
                                filter: alert.filter,
                                comparison: "COMPARISON_GT",
                                thresholdValue: alert.threshold,
                                duration: `${alert.durationSeconds}s`,
                                aggregations: [
                                    { alignmentPeriod: "300s", perSeriesAligner: alert.aligner, crossSeriesReducer: "REDUCE_SUM" },
                                ],
                            },
                        },
                    ],
                    alertStrategy: { autoClose: "86400s" },
                    userLabels: args.labels,
                },
                { parent: this, dependsOn: args.dependsOn },
            );
        }
        this.registerOutputs({});
    }
}
