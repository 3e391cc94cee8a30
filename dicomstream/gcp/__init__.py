"""Google Cloud API clients shared by the reconciler, the sandbox provisioning and the demo.

Each client talks to the real endpoint by default (application default credentials) and to the
local sandbox when an endpoint override is given (anonymous credentials), so the same code is
exercised in tests and in the cloud.
"""
