"""Typed, validated Pulumi components and the stack configuration model.

Kept import-light: `components.naming` and `components.config` must load without Pulumi, because
the policy pack, the CLI and the sandbox use them too.
"""
