"""Cloud Healthcare API: datasets, DICOM stores, operations, export."""
