// Builds the argument bags the policy engine would pass, without a PolicyPack (which would wait
// for the Pulumi CLI).
import { PolicyResource, PolicyResourceOptions, ResourceValidationArgs, StackValidationArgs } from "@pulumi/policy";

function options(protect: boolean): PolicyResourceOptions {
    return {
        protect,
        ignoreChanges: [],
        aliases: [],
        customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
        additionalSecretOutputs: [],
    };
}

function typeChecks(type: string, props: Record<string, any>) {
    const tokenOf = (cls: any): string | undefined => cls?.__pulumiType;
    return {
        isType: (cls: any) => tokenOf(cls) === type,
        asType: (cls: any) => (tokenOf(cls) === type ? (props as any) : undefined),
    };
}

export function policyArgs(
    type: string,
    props: Record<string, any>,
    opts: { name?: string; urn?: string; protect?: boolean } = {},
): ResourceValidationArgs {
    const name = opts.name ?? "subject";
    return {
        type,
        props,
        name,
        urn: opts.urn ?? `urn:pulumi:prod::majestix::${type}::${name}`,
        opts: options(opts.protect ?? false),
        stackTags: new Map(),
        ...typeChecks(type, props),
        getConfig: <T extends object>() => ({}) as T,
        notApplicable: (reason?: string): never => {
            throw new Error(`not applicable: ${reason}`);
        },
    } as ResourceValidationArgs;
}

export function stackArgs(resources: { type: string; props: Record<string, any>; name: string; urn: string }[]): StackValidationArgs {
    const policyResources: PolicyResource[] = resources.map(
        (r) =>
            ({
                type: r.type,
                props: r.props,
                name: r.name,
                urn: r.urn,
                opts: options(false),
                dependencies: [],
                propertyDependencies: {},
                ...typeChecks(r.type, r.props),
            }) as unknown as PolicyResource,
    );
    return {
        resources: policyResources,
        stackTags: new Map(),
        getConfig: <T extends object>() => ({}) as T,
        notApplicable: (reason?: string): never => {
            throw new Error(`not applicable: ${reason}`);
        },
    };
}
