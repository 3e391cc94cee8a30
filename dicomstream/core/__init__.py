"""The core model every part of dicomstream calls down to: the stack model, Google's naming rules,
labels, secrets, and what a stack needs (roles, resource names, destinations).

Import-light on purpose: no Pulumi here. The policy pack (a generated copy of `naming` and `roles`),
the CLI, the reconciler and the sandbox use it without loading the Pulumi SDK.
"""
