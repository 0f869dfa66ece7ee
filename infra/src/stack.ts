import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { AnalyticsPipeline } from "./components/analytics";
import { ProjectApis } from "./components/apis";
import { CloudRunService } from "./components/cloudRunService";
import { FirestoreDatabase } from "./components/firestore";
import { HostingSites } from "./components/hosting";
import { CredentialKeys } from "./components/kms";
import { ProjectAlerts } from "./components/monitoring";
import { ServerlessNetwork } from "./components/network";
import { RedisCache } from "./components/redis";
import { ImageRepository } from "./components/registry";
import { ManagedSecret } from "./components/secrets";
import { projectRole, saMember, serviceAccount } from "./components/serviceAccount";
import { AgentDispatch } from "./components/tasks";
import { StackConfig } from "./config";
import { labelsFor } from "./labels";
import { projectProvider, ProjectContext } from "./providers";

export const platformApis = [
    "artifactregistry.googleapis.com",
    "bigquery.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    "cloudtrace.googleapis.com",
    "compute.googleapis.com",
    "firebase.googleapis.com",
    "firebasehosting.googleapis.com",
    "firebaserules.googleapis.com",
    "firestore.googleapis.com",
    "iam.googleapis.com",
    "logging.googleapis.com",
    "monitoring.googleapis.com",
    "pubsub.googleapis.com",
    "redis.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "serviceusage.googleapis.com",
    "vpcaccess.googleapis.com",
];

export const agentsApis = [
    "artifactregistry.googleapis.com",
    "cloudkms.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    "cloudscheduler.googleapis.com",
    "cloudtasks.googleapis.com",
    "cloudtrace.googleapis.com",
    "firebase.googleapis.com",
    "firebaserules.googleapis.com",
    "firestore.googleapis.com",
    "iam.googleapis.com",
    "logging.googleapis.com",
    "monitoring.googleapis.com",
    "run.googleapis.com",
    "serviceusage.googleapis.com",
];

/** Roles every runtime identity needs in its own project for logs, metrics and Cloud Trace spans. */
const telemetryRoles = ["roles/cloudtrace.agent", "roles/logging.logWriter", "roles/monitoring.metricWriter"];

function grantTelemetry(
    ctx: ProjectContext,
    accountId: string,
    sa: gcp.serviceaccount.Account,
    parent: pulumi.Resource,
    apis: pulumi.Resource[],
): void {
    for (const role of telemetryRoles) {
        projectRole(`${accountId}-${role.split("/")[1].replace(/\./g, "-").toLowerCase()}`, ctx, role, saMember(sa), parent, apis);
    }
}

/**
 * Cloud Run's deterministic URL (`https://<service>-<project number>.<region>.run.app`). It is
 * known before the service exists, which lets a service be told its own OIDC audience and lets
 * the queue and Scheduler target it without a dependency cycle.
 */
function projectNumber(ctx: ProjectContext): pulumi.Output<string> {
    return gcp.organizations.getProjectOutput({ projectId: ctx.project }, { provider: ctx.provider }).apply((p) => p.number);
}

function runUrl(ctx: ProjectContext, service: string): pulumi.Output<string> {
    const project = gcp.organizations.getProjectOutput({ projectId: ctx.project }, { provider: ctx.provider });
    return pulumi.interpolate`https://${service}-${project.number}.${ctx.region}.run.app`;
}

/** Groups the stack's resources for its exports and for the tests; the resources are its children. */
class Project extends pulumi.ComponentResource {
    constructor(name: string) {
        super("majestix:infra:Project", name, {}, {});
    }
}

export interface MajestixStack {
    platform: ProjectContext;
    agents: ProjectContext;
    inferenceApi: CloudRunService;
    agentExecutor: CloudRunService;
    webFunctions: CloudRunService;
    executorUrl: pulumi.Output<string>;
    apiUrl: pulumi.Output<string>;
    analytics: AnalyticsPipeline;
    kms: CredentialKeys;
    dispatch: AgentDispatch;
    redis: RedisCache;
    hosting: HostingSites;
    accounts: Record<string, gcp.serviceaccount.Account>;
}

export function createStack(cfg: StackConfig): MajestixStack {
    const platform = projectProvider("inference-platform", cfg.platformProject, cfg.region, cfg.env);
    const agents = projectProvider("inference-agents", cfg.agentsProject, cfg.region, cfg.env);
    const labels = (component: string) => labelsFor(cfg.env, component);

    const platformRoot = new Project("inference-platform");
    const agentsRoot = new Project("inference-agents");

    // ── APIs ────────────────────────────────────────────────────────────────────────────────
    const platformApi = new ProjectApis("platform-apis", platform, platformApis, { parent: platformRoot });
    const agentsApi = new ProjectApis("agents-apis", agents, agentsApis, { parent: agentsRoot });
    const pApis = platformApi.services;
    const aApis = agentsApi.services;

    // ── Identities ──────────────────────────────────────────────────────────────────────────
    const apiSa = serviceAccount(platform, "inference-api", "Runtime identity of inference-api", platformRoot, pApis);
    // Runtime identity of web-functions. The seed calls it the bridge: it is the only principal
    // allowed to encrypt agent credentials, and it enqueues on-demand runs.
    const bridgeSa = serviceAccount(
        platform,
        "agent-bridge",
        "web-functions: KMS encrypt-only bridge to inference-agents",
        platformRoot,
        pApis,
    );
    const executorSa = serviceAccount(agents, "agent-executor", "Runtime identity of agent-executor (KMS decrypt-only)", agentsRoot, aApis);
    const invokerSa = serviceAccount(
        agents,
        "tasks-invoker",
        "OIDC identity of Cloud Tasks and Scheduler calls to agent-executor",
        agentsRoot,
        aApis,
    );
    grantTelemetry(platform, "inference-api", apiSa, platformRoot, pApis);
    grantTelemetry(platform, "agent-bridge", bridgeSa, platformRoot, pApis);
    grantTelemetry(agents, "agent-executor", executorSa, agentsRoot, aApis);

    // Firestore has no database-level IAM: project scope is the narrowest grant available.
    projectRole("inference-api-datastore-user", platform, "roles/datastore.user", saMember(apiSa), platformRoot, pApis);
    projectRole("agent-executor-datastore-user", agents, "roles/datastore.user", saMember(executorSa), agentsRoot, aApis);
    // The bridge stores encrypted credentials under agent_tasks/*/credentials in the agents
    // project and checks the caller's plan in the platform project (read-only there).
    projectRole("agent-bridge-agents-datastore-user", agents, "roles/datastore.user", saMember(bridgeSa), agentsRoot, aApis);
    projectRole("agent-bridge-platform-datastore-viewer", platform, "roles/datastore.viewer", saMember(bridgeSa), platformRoot, pApis);

    // ── Artifact Registry ───────────────────────────────────────────────────────────────────
    new ImageRepository("platform-images", platform, labels("registry"), pApis, { parent: platformRoot });
    new ImageRepository("agents-images", agents, labels("registry"), aApis, { parent: agentsRoot });

    // ── Firestore + rules ───────────────────────────────────────────────────────────────────
    const platformFirebase = new gcp.firebase.Project(
        "platform-firebase",
        { project: platform.project },
        { parent: platformRoot, provider: platform.provider, dependsOn: pApis, protect: true },
    );
    const agentsFirebase = new gcp.firebase.Project(
        "agents-firebase",
        { project: agents.project },
        { parent: agentsRoot, provider: agents.provider, dependsOn: aApis, protect: true },
    );
    new FirestoreDatabase(
        "platform-firestore",
        platform,
        { locationId: cfg.firestoreLocation, rulesFile: "platform.rules", dependsOn: [...pApis, platformFirebase] },
        { parent: platformRoot },
    );
    new FirestoreDatabase(
        "agents-firestore",
        agents,
        { locationId: cfg.firestoreLocation, rulesFile: "agents.rules", dependsOn: [...aApis, agentsFirebase] },
        { parent: agentsRoot },
    );

    // ── Network + Redis (platform) ──────────────────────────────────────────────────────────
    const network = new ServerlessNetwork(
        "platform-network",
        platform,
        {
            connectorCidr: cfg.sizes.connector.subnetCidr,
            machineType: cfg.sizes.connector.machineType,
            minInstances: cfg.sizes.connector.minInstances,
            maxInstances: cfg.sizes.connector.maxInstances,
            dependsOn: pApis,
        },
        { parent: platformRoot },
    );
    const redis = new RedisCache(
        "platform-redis",
        platform,
        { network: network.network, ...cfg.sizes.redis, labels: labels("redis"), dependsOn: pApis },
        { parent: platformRoot },
    );

    // ── Analytics (platform) ────────────────────────────────────────────────────────────────
    const analytics = new AnalyticsPipeline(
        "analytics",
        platform,
        {
            location: cfg.region,
            labels: labels("analytics"),
            dependsOn: pApis,
            streams: [
                {
                    table: "usage_events",
                    topic: "usage-events",
                    // Most queries are "usage of one user" and "economics of one model".
                    clustering: ["user_id", "model", "source"],
                    description: "One row per billed model call (no message content)",
                    publishers: { "inference-api": saMember(apiSa) },
                },
                {
                    table: "audit_events",
                    topic: "audit-events",
                    clustering: ["event_type", "service", "user_id"],
                    description: "Security-relevant events: auth failures, limits, key lifecycle, webhook rejections",
                    publishers: { "inference-api": saMember(apiSa), "agent-bridge": saMember(bridgeSa) },
                },
            ],
        },
        { parent: platformRoot },
    );

    // ── KMS split trust (agents) ────────────────────────────────────────────────────────────
    const kms = new CredentialKeys(
        "agent-credentials",
        agents,
        { encrypter: saMember(bridgeSa), decrypter: saMember(executorSa), labels: labels("kms"), dependsOn: aApis },
        { parent: agentsRoot },
    );

    // ── Secrets (platform; read by inference-api only) ──────────────────────────────────────
    const secretLabels = labels("secrets");
    const secret = (id: string, value: pulumi.Input<string>) =>
        new ManagedSecret(id, platform, value, secretLabels, pApis, { parent: platformRoot });
    const apiSecrets = {
        STRIPE_SECRET_KEY: secret("stripe-secret-key", cfg.secrets.stripeSecretKey),
        STRIPE_WEBHOOK_SECRET: secret("stripe-webhook-secret", cfg.secrets.stripeWebhookSecret),
        FERNET_KEYS: secret("fernet-keys", cfg.secrets.fernetKeys),
        // Keys the hash of client addresses in audit events; rotating it only breaks grouping across the change.
        AUDIT_IP_HASH_SALT: secret("audit-ip-hash-salt", cfg.secrets.auditIpHashSalt),
        // Straight from the instance: the AUTH string never passes through a human.
        REDIS_AUTH: secret("redis-auth", redis.instance.authString),
        // The same credentials as one StackExchange.Redis configuration string, which is what the
        // service's `ConnectionStrings:redis` binding reads; Cloud Run cannot splice a secret into
        // a plain variable, so the whole string is the secret.
        ConnectionStrings__redis: secret(
            "redis-connection-string",
            pulumi.interpolate`${redis.instance.host}:${redis.instance.port},password=${redis.instance.authString},ssl=true,abortConnect=false`,
        ),
    };

    const apiUrl = runUrl(platform, "inference-api");
    const executorUrl = runUrl(agents, "agent-executor");
    const queuePath = `projects/${agents.project}/locations/${agents.region}/queues/agent-tasks`;

    // ── agent-executor (agents) ─────────────────────────────────────────────────────────────
    const agentExecutor = new CloudRunService(
        "agent-executor",
        agents,
        {
            image: cfg.images.agentExecutor,
            serviceAccount: executorSa,
            sizing: cfg.sizes.agentExecutor,
            // Internal + Cloud Load Balancing: Cloud Tasks and Scheduler in this project count as
            // internal; nothing on the internet (including the platform project) reaches it.
            ingress: "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER",
            env: {
                GOOGLE_CLOUD_PROJECT: agents.project,
                Firestore__ProjectId: agents.project,
                KMS_KEY_NAME: kms.key.id,
                TASKS_QUEUE: queuePath,
                TASKS_INVOKER_SERVICE_ACCOUNT: invokerSa.email,
                INFERENCE_API_URL: apiUrl,
                OIDC_AUDIENCE: executorUrl,
                OIDC_ALLOWED_SERVICE_ACCOUNTS: invokerSa.email,
            },
            secretEnv: {},
            publicInvoker: false,
            invokers: { "tasks-invoker": saMember(invokerSa) },
            labels: labels("agent-executor"),
            dependsOn: aApis,
        },
        { parent: agentsRoot },
    );

    const dispatch = new AgentDispatch(
        "agent-dispatch",
        agents,
        {
            executorUri: executorUrl,
            executorSizing: cfg.sizes.agentExecutor,
            invoker: invokerSa,
            enqueuers: { "inference-api": saMember(apiSa), "agent-bridge": saMember(bridgeSa) },
            schedulerManagers: { "agent-executor": saMember(executorSa) },
            // The reconcile job would 404 until the executor exists.
            dependsOn: [...aApis, agentExecutor.service],
        },
        { parent: agentsRoot },
    );

    // ── inference-api (platform) ────────────────────────────────────────────────────────────
    const inferenceApi = new CloudRunService(
        "inference-api",
        platform,
        {
            image: cfg.images.inferenceApi,
            serviceAccount: apiSa,
            sizing: cfg.sizes.inferenceApi,
            ingress: "INGRESS_TRAFFIC_ALL",
            vpcConnector: network.connector.id,
            env: {
                GOOGLE_CLOUD_PROJECT: platform.project,
                Firestore__ProjectId: platform.project,
                PubSub__ProjectId: platform.project,
                REDIS_URL: redis.url,
                REDIS_TLS_CA_CERT: redis.instance.serverCaCerts.apply((certs) => certs?.[0]?.cert ?? ""),
                REDIS_FAILURE_POLICY: "reject",
                PUBSUB_USAGE_TOPIC: analytics.streams["usage_events"].topic.name,
                PUBSUB_AUDIT_TOPIC: analytics.streams["audit_events"].topic.name,
                TASKS_QUEUE: queuePath,
                OIDC_AUDIENCE: apiUrl,
                OIDC_ALLOWED_SERVICE_ACCOUNTS: executorSa.email,
                // Web users sign in with Firebase Auth in the platform project; App Check names it by number.
                Identity__FirebaseProjectId: platform.project,
                Identity__FirebaseProjectNumber: projectNumber(platform),
                STRIPE_GURU_PRICE_ID: cfg.stripePriceIds.guru,
                STRIPE_PRO_PRICE_ID: cfg.stripePriceIds.pro,
                STRIPE_TOPUP_5_PRICE_ID: cfg.stripePriceIds.topup5,
                STRIPE_TOPUP_25_PRICE_ID: cfg.stripePriceIds.topup25,
                STRIPE_TOPUP_100_PRICE_ID: cfg.stripePriceIds.topup100,
            },
            secretEnv: apiSecrets,
            publicInvoker: true,
            invokers: {},
            labels: labels("inference-api"),
            dependsOn: [...pApis, dispatch.queue],
        },
        { parent: platformRoot },
    );

    // ── web-functions (platform, behind Firebase Hosting) ───────────────────────────────────
    const webFunctions = new CloudRunService(
        "web-functions",
        platform,
        {
            image: cfg.images.webFunctions,
            serviceAccount: bridgeSa,
            sizing: cfg.sizes.webFunctions,
            // Firebase Hosting forwards rewrites over the public internet without a Google
            // identity, so the service must accept unauthenticated calls; its own gate (CORS,
            // size, App Check, rate limit, Firebase Auth) protects every endpoint.
            ingress: "INGRESS_TRAFFIC_ALL",
            env: {
                GOOGLE_CLOUD_PROJECT: platform.project,
                AGENTS_PROJECT: agents.project,
                // Its Firestore is the agents project's (credentials live under agent_tasks there).
                Firestore__ProjectId: agents.project,
                PubSub__ProjectId: platform.project,
                KMS_KEY_NAME: kms.key.id,
                TASKS_QUEUE: queuePath,
                EXECUTOR_URL: executorUrl,
                PUBSUB_AUDIT_TOPIC: analytics.streams["audit_events"].topic.name,
            },
            secretEnv: {},
            publicInvoker: true,
            invokers: {},
            labels: labels("web-functions"),
            dependsOn: pApis,
        },
        { parent: platformRoot },
    );

    const hosting = new HostingSites(
        "hosting",
        platform,
        { siteIds: cfg.hostingSites, firebaseProject: platformFirebase, functionsService: webFunctions.service },
        { parent: platformRoot },
    );

    // ── Alerts ──────────────────────────────────────────────────────────────────────────────
    const run5xx = (service: string) =>
        `resource.type = "cloud_run_revision" AND resource.labels.service_name = "${service}" AND metric.type = "run.googleapis.com/request_count" AND metric.labels.response_code_class = "5xx"`;
    new ProjectAlerts(
        "platform-alerts",
        platform,
        {
            email: cfg.alertEmail,
            labels: labels("monitoring"),
            dependsOn: pApis,
            alerts: [
                {
                    key: "inference-api-5xx",
                    displayName: "inference-api 5xx responses",
                    filter: run5xx("inference-api"),
                    aligner: "ALIGN_RATE",
                    threshold: 0.5,
                    durationSeconds: 300,
                    documentation:
                        "Sustained 5xx from inference-api. A Redis outage shows up here first (REDIS_FAILURE_POLICY=reject answers 503).",
                },
                {
                    key: "analytics-dead-letters",
                    displayName: "Analytics events dead-lettered",
                    filter: `resource.type = "pubsub_topic" AND metric.type = "pubsub.googleapis.com/topic/send_request_count" AND resource.labels.topic_id = one_of("usage-events-dead-letter", "audit-events-dead-letter")`,
                    aligner: "ALIGN_SUM",
                    threshold: 0,
                    durationSeconds: 0,
                    documentation: "BigQuery rejected events (schema drift?). Inspect the *-dead-letter-hold subscriptions.",
                },
            ],
        },
        { parent: platformRoot },
    );
    new ProjectAlerts(
        "agents-alerts",
        agents,
        {
            email: cfg.alertEmail,
            labels: labels("monitoring"),
            dependsOn: aApis,
            alerts: [
                {
                    key: "agent-executor-5xx",
                    displayName: "agent-executor 5xx responses",
                    filter: run5xx("agent-executor"),
                    aligner: "ALIGN_RATE",
                    threshold: 0.1,
                    durationSeconds: 600,
                    documentation: "Agent runs failing at the HTTP layer; Cloud Tasks will retry up to 3 times.",
                },
            ],
        },
        { parent: agentsRoot },
    );

    return {
        platform,
        agents,
        inferenceApi,
        agentExecutor,
        webFunctions,
        executorUrl,
        apiUrl,
        analytics,
        kms,
        dispatch,
        redis,
        hosting,
        accounts: { "inference-api": apiSa, "agent-bridge": bridgeSa, "agent-executor": executorSa, "tasks-invoker": invokerSa },
    };
}
