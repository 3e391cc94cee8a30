"""The validator itself refuses what a Google client would choke on (so a passing suite means something)."""

from discovery_schema import document, validate, validate_response


def test_validator_flags_unknown_properties_wrong_types_and_enums():
    doc = document("healthcare.v1")
    assert validate_response(doc, "healthcare.projects.locations.datasets.get", {"name": "n", "timeZone": "UTC"}) == []
    assert validate_response(doc, "healthcare.projects.locations.datasets.get", {"name": "n", "zone": "UTC"}) == [
        "Dataset: property 'zone' is not in the schema"]
    op = {"name": "o", "done": True, "metadata": {
        "@type": "type.googleapis.com/google.cloud.healthcare.v1.OperationMetadata", "counter": {"success": 3}}}
    assert validate(doc, {"$ref": "Operation"}, op, "Operation") == [
        "Operation.metadata<OperationMetadata>.counter.success: expected a string, got 3"]
    dest = {"tableUri": "bq://p.d.t", "writeDisposition": "WRITE_SOMETIMES"}
    assert validate(doc, {"$ref": "GoogleCloudHealthcareV1DicomBigQueryDestination"}, dest, "d") == [
        "d.writeDisposition: 'WRITE_SOMETIMES' is not one of "
        "['WRITE_DISPOSITION_UNSPECIFIED', 'WRITE_EMPTY', 'WRITE_TRUNCATE', 'WRITE_APPEND']"]
