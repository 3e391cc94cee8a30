"""The Pulumi program: read and validate the stack's config, declare the design, export outputs."""

import pulumi

from components import DicomStreaming
from components.from_stack import streaming_args
from components.stack_inputs import load_from_engine
from dicomstream.core.config import ConfigError, validation_skipped
from dicomstream.core.secret import SecretTexts

try:
    config, secrets = load_from_engine(lenient=validation_skipped())
except ConfigError as error:
    # Fail before any resource is registered, with the same lines `dicomstream validate` prints.
    raise pulumi.RunError("invalid stack configuration:\n" + "\n".join(error.lines)) from None

for warning in config.warnings:
    pulumi.log.warn(str(warning))

# Values set with `pulumi config set --secret` stay secret in every resource input that holds them.
hidden = SecretTexts(secrets)
streaming = DicomStreaming("dicomstream", streaming_args(config), opts=pulumi.ResourceOptions(
    transformations=[hidden.transformation()] if hidden.texts else []))
for key, value in streaming.exports().items():
    pulumi.export(key, hidden.wrap(value))
