"""Local sandbox: a Cloud Healthcare API stand-in that streams into the BigQuery emulator.

A product feature (`dicomstream sandbox up`, `dicomstream demo`) and the test bed of the
reconciler. See docs/sandbox.md for what is and is not faithful to the real API.
"""
