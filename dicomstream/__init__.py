"""dicomstream: DICOM metadata streamed from Cloud Healthcare API DICOM stores into BigQuery."""

__version__ = "0.1.0"
