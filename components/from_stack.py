"""The stack file's adapter: a validated `StackConfig` becomes `DicomStreamingArgs`.

The stack model has resolved every stream already (`DATASET.TABLE` to its project), so the args
carry full table URIs; everything else is passed as the model holds it.
"""

from typing import Any

from dicomstream.core.config import StackConfig

from .dicom_streaming import DicomStreamingArgs


def streaming_args(config: StackConfig) -> DicomStreamingArgs:
    hc = config.healthcare
    return _without_none({
        "environment": config.environment,
        "healthcare": _without_none({"project": hc.project, "location": hc.location, "dataset_id": hc.dataset,
                                     "kms_key_name": hc.kms_key_name}),
        "bigquery_datasets": [
            _without_none({"dataset_id": ds.id, "project": ds.project, "location": ds.location,
                           "kms_key_name": ds.kms_key_name, "existing": ds.existing, "labels": dict(ds.labels)})
            for ds in config.bigquery_datasets
        ],
        "dicom_stores": [
            {"store_id": store.name, "labels": dict(store.labels),
             "streams": [{"table": s.uri, "schema": s.options.schema,
                          "include_source_store": s.options.include_source_store,
                          "change_data_capture": s.options.change_data_capture} for s in store.stream_configs]}
            for store in config.dicom_stores
        ],
        "notification_channels": list(config.alerts.notification_channels),
        "protect": config.protect,
        "enable_apis": config.enable_apis,
        "staging_bucket": config.staging_bucket,
    })


def _without_none(values: dict[str, Any]) -> Any:
    return {k: v for k, v in values.items() if v is not None}
