// PolicyPack entry for `pulumi preview --policy-pack infra/policypack` (used by the CI
// workflows). Never import this file from tests: constructing a PolicyPack waits for the CLI.
import { PolicyPack } from "@pulumi/policy";
import { resourcePolicies, stackPolicies } from "../src/policies/policies";

new PolicyPack("majestix-guardrails", {
    policies: [...resourcePolicies, ...stackPolicies],
});
