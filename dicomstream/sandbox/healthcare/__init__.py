"""The Cloud Healthcare API stand-in: resources, DICOMweb, export and streaming to BigQuery."""
