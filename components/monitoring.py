"""Streaming errors made visible: a log-based metric and, with channels, an alert policy.

The Healthcare API logs failed stream inserts (a missing grant, a deleted dataset) to Cloud Logging
under `healthcare.googleapis.com/dicom_stream`; nothing else tells an operator that rows stopped
arriving.
"""

from __future__ import annotations

from typing import Optional, Sequence
from urllib.parse import quote

import pulumi
import pulumi_gcp as gcp

from components.propagation import METRIC_PROPAGATION_S, PropagationDelay
from components.renames import Component

STREAM_LOG = "healthcare.googleapis.com/dicom_stream"
METRIC_NAME = "dicomstream/stream_errors"


def stream_error_filter(project: str) -> str:
    log_name = f"projects/{project}/logs/{quote(STREAM_LOG, safe='')}"
    return f'logName="{log_name}" AND severity>=ERROR'


class StreamMonitoring(Component):
    def __init__(
        self,
        name: str,
        *,
        project: str,
        notification_channels: Sequence[str] = (),
        opts: Optional[pulumi.ResourceOptions] = None,
    ):
        super().__init__("dicomstream:index:StreamMonitoring", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.metric = gcp.logging.Metric(
            f"{name}-stream-errors",
            project=project,
            name=METRIC_NAME,
            description="DICOM metadata rows that the Healthcare API failed to stream into BigQuery",
            filter=stream_error_filter(project),
            metric_descriptor=gcp.logging.MetricMetricDescriptorArgs(metric_kind="DELTA", value_type="INT64"),
            opts=child,
        )
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
                notification_channels=list(notification_channels),
                conditions=[gcp.monitoring.AlertPolicyConditionArgs(
                    display_name="dicom_stream errors",
                    condition_threshold=gcp.monitoring.AlertPolicyConditionConditionThresholdArgs(
                        filter=self.metric.name.apply(
                            lambda n: f'metric.type="logging.googleapis.com/user/{n}"'
                        ),
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
        self.register_outputs({"metric": self.metric.name})
