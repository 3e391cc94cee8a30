"""The Pulumi program: read and validate the stack's config, declare the design, export outputs."""

import pulumi
from pulumi.runtime.config import CONFIG, get_config_env

from components.config import ConfigError, from_pulumi_config, stack_file, validation_skipped
from components.dicom_streaming import DicomStreaming

try:
    config = from_pulumi_config(
        {**get_config_env(), **CONFIG.get()}, str(stack_file(pulumi.get_stack())), pulumi.get_project(),
        lenient=validation_skipped(),
    )
except ConfigError as error:
    # Fail before any resource is registered, with the same lines `dicomstream validate` prints.
    raise pulumi.RunError("invalid stack configuration:\n" + "\n".join(error.lines)) from None

for warning in config.warnings:
    pulumi.log.warn(str(warning))

streaming = DicomStreaming("dicomstream", config)
for key, value in streaming.outputs.items():
    pulumi.export(key, value)
