"""dicomstream: DICOM metadata streamed from Cloud Healthcare API DICOM stores into BigQuery."""

__version__ = "0.2.0"  # pyproject.toml and CHANGELOG.md say the same (tests/cli/test_help.py)


def quiet_python_support_notice() -> None:
    """google-api-core announces, on every import, the end of its support for this Python version:
    advice for library maintainers, not for someone running a command or a sandbox."""
    import warnings

    warnings.filterwarnings("ignore", message="You are using a Python version", category=FutureWarning)
