"""The Google API stand-in (moto is the model): one backend per service, routes that turn HTTP
into backend calls and backend objects into Google's JSON, the admin API apart.

- `healthcare/`: Cloud Healthcare API datasets, DICOM stores, operations, export (`backend.py`,
  `validation.py`, `responses.py`);
- `dicomweb/`: STOW-RS, QIDO-RS, WADO-RS metadata, deletes (`backend.py`, `wire.py`, `responses.py`);
- `resourcemanager.py`: projects and their IAM policies; `iam.py`: policy documents of any resource;
- `tables/`: the BigQuery rows and schema Google writes (`schema.py`) and the writer into the emulator;
- `http.py` (requests, responses, routing, system parameters), `server.py`, `admin_api.py`
  (`/_sandbox`: faults, clock, logs, reset), `faults.py`, `state.py`, `errors.py`.
"""
