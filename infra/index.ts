import * as pulumi from "@pulumi/pulumi";
import { loadConfig } from "./src/config";
import { createStack } from "./src/stack";

// Entry point of the `majestix` Pulumi project (Pulumi.yaml: `main: infra/`, compiled to dist/).
const stack = createStack(loadConfig());

export const inferenceApiUrl = stack.inferenceApi.uri;
export const agentExecutorUrl = stack.executorUrl;
export const webFunctionsUrl = stack.webFunctions.uri;
export const credentialsKey = stack.kms.key.id;
export const agentTasksQueue = stack.dispatch.queue.id;
export const redisHost = stack.redis.instance.host;
export const hostingSites = stack.hosting.sites.map((s) => s.defaultUrl);
export const serviceAccounts = Object.fromEntries(Object.entries(stack.accounts).map(([k, sa]) => [k, sa.email]));
/** Deployed image references; the preview workflow pins these so PR diffs show only real changes. */
export const images = pulumi.output(new pulumi.Config("majestix").requireObject<Record<string, string>>("images"));
