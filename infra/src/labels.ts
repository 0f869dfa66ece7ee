/** Labels every labelable resource carries; the `required-labels` policy enforces the first three. */
export const requiredLabelKeys = ["env", "system", "managed-by"] as const;

export type Labels = Record<string, string>;

export function labelsFor(env: string, component: string): Labels {
    return { env, system: "majestix", "managed-by": "pulumi", component };
}
