"""DICOMweb on a DICOM store: STOW-RS, QIDO-RS, WADO-RS metadata, deletes."""
