"""Streaming errors made visible: a log-based metric and, with channels, an alert policy.

The Healthcare API logs failed stream inserts (a missing grant, a deleted dataset) to Cloud Logging
under `healthcare.googleapis.com/dicom_stream`; nothing else tells an operator that rows stopped
arriving.
"""

from typing import NotRequired, Optional, TypedDict
from urllib.parse import quote

import pulumi
import pulumi_gcp as gcp

from dicomstream.core import naming

from .inputs import Checks, derive
from .propagation import METRIC_PROPAGATION_S, PropagationDelay
from .renames import Component

STREAM_LOG = "healthcare.googleapis.com/dicom_stream"
METRIC_NAME = "dicomstream/stream_errors"


def stream_error_filter(project: str) -> str:
    log_name = f"projects/{project}/logs/{quote(STREAM_LOG, safe='')}"
    return f'logName="{log_name}" AND severity>=ERROR'


class StreamMonitoringArgs(TypedDict):
    project: pulumi.Input[str]
    """The project that owns the DICOM stores (where the Healthcare API logs stream errors)."""
    notification_channels: NotRequired[list[pulumi.Input[str]]]
    """`projects/P/notificationChannels/ID`: with any, an alert policy notifies them."""


class StreamMonitoring(Component):
    """A log-based metric of failed stream inserts and, with channels, an alert policy on it."""

    metric_type: pulumi.Output[str]
    """The metric's type in Cloud Monitoring (`logging.googleapis.com/user/...`)."""
    alert_policy_id: pulumi.Output[Optional[str]]
    """`projects/P/alertPolicies/ID`, or None without notification channels."""

    def __init__(self, name: str, args: StreamMonitoringArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("dicomstream:index:StreamMonitoring", name, None, opts)
        checks = Checks(f"StreamMonitoring {name}")
        project = checks.value(args.get("project"), "project", naming.project_id_problem)
        notification_channels = [
            checks.value(channel, f"notification_channels[{i}]", naming.notification_channel_problem)
            for i, channel in enumerate(args.get("notification_channels") or [])
        ]
        checks.raise_if_any()
        child = pulumi.ResourceOptions(parent=self)
        self.metric = gcp.logging.Metric(
            f"{name}-stream-errors",
            project=project,
            name=METRIC_NAME,
            description="DICOM metadata rows that the Healthcare API failed to stream into BigQuery",
            filter=derive(project, stream_error_filter),
            metric_descriptor=gcp.logging.MetricMetricDescriptorArgs(metric_kind="DELTA", value_type="INT64"),
            opts=child,
        )
        self.metric_type = self.metric.name.apply(lambda n: f"logging.googleapis.com/user/{n}")
        self.alert_policy = None
        if notification_channels:
            # Monitoring learns of a new log-based metric late: without the pause the first `up`
            # fails with 404 "Cannot find metric(s)" (terraform-provider-google issue 11102).
            self.metric_delay = PropagationDelay(f"{name}-metric-propagation", seconds=METRIC_PROPAGATION_S,
                                                 triggers=[self.metric.id], opts=child)
            self.alert_policy = gcp.monitoring.AlertPolicy(
                f"{name}-stream-errors",
                project=project,
                display_name="DICOM metadata streaming to BigQuery is failing",
                combiner="OR",
                notification_channels=notification_channels,
                conditions=[gcp.monitoring.AlertPolicyConditionArgs(
                    display_name="dicom_stream errors",
                    condition_threshold=gcp.monitoring.AlertPolicyConditionConditionThresholdArgs(
                        filter=self.metric_type.apply(lambda t: f'metric.type="{t}"'),
                        comparison="COMPARISON_GT",
                        threshold_value=0,
                        duration="0s",
                        aggregations=[gcp.monitoring.AlertPolicyConditionConditionThresholdAggregationArgs(
                            alignment_period="300s", per_series_aligner="ALIGN_SUM",
                        )],
                    ),
                )],
                documentation=gcp.monitoring.AlertPolicyDocumentationArgs(
                    mime_type="text/markdown",
                    content=(
                        "Instances are being stored but their metadata is not reaching BigQuery. "
                        "Check the log `" + STREAM_LOG + "` and run `dicomstream drift` to find a "
                        "missing grant or dataset."
                    ),
                ),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.metric_delay]),
            )
        self.alert_policy_id = self.alert_policy.id if self.alert_policy else pulumi.Output.from_input(None)
        self.register_outputs({"metric": self.metric.name, "metricType": self.metric_type,
                               "alertPolicyId": self.alert_policy_id})
