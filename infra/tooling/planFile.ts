import * as path from "path";
import { loadConfig } from "../src/config";
import { infraDir } from "../src/paths";
import { createStack } from "../src/stack";
import { runUnderMocks } from "./harness";
import { renderPlan } from "./plan";

export const planFile = path.join(infraDir, "plan", "prod.txt");

/** Runs the program under mocks and renders the plan (call once per process). */
export async function currentPlan(): Promise<string> {
    const run = await runUnderMocks(() => {
        createStack(loadConfig());
    });
    return renderPlan(run);
}
