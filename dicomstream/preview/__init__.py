"""Pull-request previews in two halves, so that a pull request's own code never writes its review.

`capture` (runs the checkout's own program, no credentials, no write token) plans every stack
file without the policy pack and writes a manifest: each stack planned, invalid (with its
validation lines) or failed. `review` (runs the base branch's code only) judges the head's and
the base's manifests with the base's policy pack and `policies/STACK.json`, compares them and
decides: every stack of both sides gets a status, blocking findings come first.
"""
