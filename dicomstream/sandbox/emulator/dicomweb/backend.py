"""The DICOMweb backend of a DICOM store: STOW-RS stores instances (and streams INSERT rows),
QIDO-RS searches, WADO-RS serves metadata, deletes remove instances (and stream DELETE rows),
storage-class changes (setBlobStorageSettings, streamed as UPDATE rows) and getStorageInfo."""

from __future__ import annotations

import json

from dicomstream.sandbox.emulator.core import Core
from dicomstream.sandbox.emulator.dicomweb import wire
from dicomstream.sandbox.emulator.errors import invalid, not_found
from dicomstream.sandbox.emulator.healthcare import validation
from dicomstream.sandbox.emulator.healthcare.backend import HealthcareBackend
from dicomstream.sandbox.emulator.state import Instance
from dicomstream.sandbox.emulator.tables import schema as bqschema

DEFAULT_QIDO_LIMIT = 100
MAX_QIDO_LIMIT = {"studies": 5000, "series": 5000, "instances": 50000}
STORAGE_CLASSES = ("STANDARD", "NEARLINE", "COLDLINE", "ARCHIVE")


class PartRefused(Exception):
    """A STOW-RS part that goes into the FailedSOPSequence."""

    def __init__(self, sop_class: str, sop: str, reason: int) -> None:
        super().__init__(reason)
        self.sop_class, self.sop, self.reason = sop_class, sop, reason


def _uid(value: str) -> bool:
    """A UID that may be echoed in the response (digits and dots, at most 64 characters)."""
    return 0 < len(value) <= 64 and all(c.isdigit() or c == "." for c in value)


class DicomWebBackend:
    def __init__(self, core: Core, healthcare: HealthcareBackend) -> None:
        self.core = core
        self.healthcare = healthcare

    def stow(self, dataset_name: str, store_id: str, study_uid: str | None, content_type: str, body: bytes) -> tuple[int, dict]:
        with self.core.lock:
            self.healthcare.store(dataset_name, store_id)
        parts = wire.split_multipart(body, content_type)
        if not parts:
            raise invalid("the multipart/related body has no parts")
        store_name = f"{dataset_name}/dicomStores/{store_id}"
        store_url = f"{self.core.base_url}/v1/{store_name}/dicomWeb"
        stored: list[tuple[str, str, str]] = []
        failed: list[tuple[str, str, int]] = []
        new: list[Instance] = []
        for headers, payload in parts:
            part_type = headers.get("content-type", "application/dicom").split(";")[0].strip().lower()
            if part_type != "application/dicom":
                failed.append(("", "", wire.FAILURE_CANNOT_UNDERSTAND))
                continue
            try:
                instance = self._read_part(payload, store_url, study_uid)
            except PartRefused as refused:
                failed.append((refused.sop_class, refused.sop, refused.reason))
                continue
            new.append(instance)
        accepted: list[Instance] = []
        with self.core.lock:
            store = self.healthcare.store(dataset_name, store_id)
            for inst in new:
                if inst.sop in store.instances:
                    failed.append((inst.sop_class, inst.sop, wire.FAILURE_DUPLICATE))
                    continue
                store.instances[inst.sop] = inst
                accepted.append(inst)
                stored.append((inst.sop_class, inst.sop, f"{store_url}/studies/{inst.study}/series/{inst.series}/instances/{inst.sop}"))
            configs = list(store.stream_configs)
            if accepted:
                self.core.persistence.mark_dirty()
        self.healthcare.stream(store_name, [(inst, bqschema.INSERT) for inst in accepted], configs)
        study_url = f"{store_url}/studies/{study_uid or (accepted[0].study if accepted else '')}" if (study_uid or accepted) else None
        status = 200 if not failed else (202 if stored else 409)
        return status, wire.stow_response(stored, failed, study_url)

    def _read_part(self, payload: bytes, store_url: str, study_uid: str | None) -> Instance:
        """One STOW-RS part as an instance, or PartRefused: a part that cannot be read (an unknown VR,
        a truncated element, a value pydicom cannot decode) is that part's failure alone, in the
        FailedSOPSequence of a 202, as Google answers; the other parts are stored."""
        sop_class = sop = ""
        try:
            ds = wire.read_instance(payload)
            study, series, sop = str(ds.StudyInstanceUID), str(ds.SeriesInstanceUID), str(ds.SOPInstanceUID)
            sop_class = str(getattr(ds, "SOPClassUID", ""))
            if study_uid and study != study_uid:
                raise PartRefused(sop_class, sop, wire.FAILURE_STUDY_MISMATCH)
            url = f"{store_url}/studies/{study}/series/{series}/instances/{sop}"
            converted = bqschema.instance_row(ds)
            return Instance(study=study, series=series, sop=sop, sop_class=sop_class,
                            metadata=wire.to_dicom_json(ds, url), row=converted.row, fields=converted.fields,
                            stored_time=self.core.now(), blob_size=len(payload))
        except PartRefused:
            raise
        except Exception:  # noqa: BLE001 - whatever the bytes break is this part's failure, never the request's
            raise PartRefused(sop_class if _uid(sop_class) else "", sop if _uid(sop) else "",
                              wire.FAILURE_CANNOT_UNDERSTAND) from None

    def _instances(self, dataset_name: str, store_id: str, study: str | None = None, series: str | None = None, sop: str | None = None) -> list[Instance]:
        with self.core.lock:
            store = self.healthcare.store(dataset_name, store_id)
            return [
                i for i in store.instances.values()
                if (study is None or i.study == study) and (series is None or i.series == series) and (sop is None or i.sop == sop)
            ]

    def qido(self, dataset_name: str, store_id: str, level: str, params: dict[str, list[str]],
             study: str | None = None, series: str | None = None) -> tuple[list[dict], bool]:
        """Search results and whether more exist beyond `limit`."""
        filters, limit, offset, include = wire.parse_qido(params)
        limit = DEFAULT_QIDO_LIMIT if limit is None else limit
        if limit > MAX_QIDO_LIMIT[level]:
            raise invalid(f"limit {limit} is over the maximum of {MAX_QIDO_LIMIT[level]} for {level}")
        matches = [i for i in self._instances(dataset_name, store_id, study, series) if wire.match(i.metadata, filters)]
        results: list[dict] = []
        if level == "instances":
            keys = wire.INSTANCE_LEVEL + ["StudyInstanceUID", "SeriesInstanceUID", "Modality"]
            results = [wire.project(i.metadata, keys, include) for i in matches]
        else:
            groups: dict[str, list[Instance]] = {}
            for inst in matches:
                groups.setdefault(inst.study if level == "studies" else inst.series, []).append(inst)
            for members in groups.values():
                first = members[0].metadata
                if level == "studies":
                    entry = wire.project(first, wire.STUDY_LEVEL, include)
                    modalities = sorted({str(wire.value(m.metadata, "Modality")) for m in members if wire.value(m.metadata, "Modality")})
                    entry["00080061"] = {"vr": "CS", "Value": modalities} if modalities else {"vr": "CS"}
                    entry["00201206"] = wire.int_attr(len({m.series for m in members}))
                    entry["00201208"] = wire.int_attr(len(members))
                else:
                    entry = wire.project(first, wire.SERIES_LEVEL + ["StudyInstanceUID"], include)
                    entry["00201209"] = wire.int_attr(len(members))
                results.append(dict(sorted(entry.items())))
        window = results[offset:offset + limit]
        return window, offset + limit < len(results)

    def metadata(self, dataset_name: str, store_id: str, study: str, series: str | None = None, sop: str | None = None) -> list[dict]:
        found = self._instances(dataset_name, store_id, study, series, sop)
        if not found:
            raise not_found(f"no instance found for study {study}" + (f" series {series}" if series else "") + (f" instance {sop}" if sop else ""))
        return [i.metadata for i in found]

    def delete(self, version: str, dataset_name: str, store_id: str, study: str, series: str | None = None, sop: str | None = None) -> dict:
        """Removes instances and streams a DELETE row for each; earlier rows stay (as in the cloud)."""
        with self.core.lock:
            store = self.healthcare.store(dataset_name, store_id)
            doomed = [
                i for i in store.instances.values()
                if i.study == study and (series is None or i.series == series) and (sop is None or i.sop == sop)
            ]
            if not doomed:
                raise not_found(f"no instance found for study {study}" + (f" series {series}" if series else "") + (f" instance {sop}" if sop else ""))
            for inst in doomed:
                del store.instances[inst.sop]
            configs = list(store.stream_configs)
            self.core.persistence.mark_dirty()
        self.healthcare.stream(store.name, [(inst, bqschema.DELETE) for inst in doomed], configs)
        if sop is not None:
            return {}
        with self.core.lock:
            method = "DeleteStudy" if series is None else "DeleteSeries"
            op = self.core.operation(dataset_name, version, f"dicomweb.DicomWebService.{method}")
            op["metadata"]["counter"] = {"success": str(len(doomed))}
        self.core.finish(op, {"@type": "type.googleapis.com/google.protobuf.Empty"})
        return dict(op)

    # -- blob storage -------------------------------------------------------------------------
    def set_blob_storage_settings(self, version: str, dataset_name: str, store_id: str, body: dict, study: str | None = None) -> dict:
        """Moves the store's (or one study's) instances to a storage class: an operation, and one
        UPDATE row per instance whose class changed."""
        where = "set_blob_storage_settings_request"
        body = validation.check_object(body, where, frozenset({"blobStorageSettings", "filterConfig"}))
        settings = validation.check_object(body.get("blobStorageSettings", {}), f"{where}.blob_storage_settings",
                                           frozenset({"blobStorageClass"}))
        storage_class = settings.get("blobStorageClass")
        if storage_class not in STORAGE_CLASSES:
            raise invalid(f"blobStorageSettings.blobStorageClass must be one of {', '.join(STORAGE_CLASSES)} (found {storage_class!r})")
        if "filterConfig" in body:
            if study is not None:
                raise invalid("filterConfig is only allowed when the resource is a DICOM store")
            validation.check_filter_config(body["filterConfig"])
        now = self.core.now()
        with self.core.lock:
            store = self.healthcare.store(dataset_name, store_id)
            targets = [i for i in store.instances.values() if study is None or i.study == study]
            if study is not None and not targets:
                raise not_found(f"no instance found for study {study}")
            changed = [i for i in targets if i.storage_class != storage_class]
            for inst in changed:
                inst.storage_class, inst.storage_class_time = storage_class, now
            configs = list(store.stream_configs)
            op = self.core.operation(dataset_name, version, "dicom.DicomService.SetBlobStorageSettings")
            op["metadata"]["counter"] = {"success": str(len(targets))} if targets else {}
            self.core.persistence.mark_dirty()
        self.healthcare.stream(store.name, [(inst, bqschema.UPDATE) for inst in changed], configs)
        self.core.finish(op, {"@type": f"type.googleapis.com/google.cloud.healthcare.{version}.dicom.SetBlobStorageSettingsResponse"})
        return dict(op)

    def metrics(self, dataset_name: str, store_id: str, study: str | None = None, series: str | None = None) -> dict:
        """`getDICOMStoreMetrics`, `getStudyMetrics`, `getSeriesMetrics`: counts and sizes, int64 as
        strings (the discovery document's `DicomStoreMetrics`, `StudyMetrics`, `SeriesMetrics`)."""
        with self.core.lock:
            store = self.healthcare.store(dataset_name, store_id)
            found = [i for i in store.instances.values()
                     if (study is None or i.study == study) and (series is None or i.series == series)]
            if study is not None and not found:
                raise not_found(f"{'series' if series else 'study'} not found: "
                                f"{store.name}/dicomWeb/studies/{study}" + (f"/series/{series}" if series else ""))
            sizes = {"structuredStorageSizeBytes": str(sum(len(json.dumps(i.metadata, separators=(",", ":")).encode())
                                                          for i in found)),
                     "blobStorageSizeBytes": str(sum(i.blob_size for i in found)),
                     "instanceCount": str(len(found))}
            web = f"{store.name}/dicomWeb/studies/{study}"
        if series is not None:
            return {"series": f"{web}/series/{series}", **sizes}
        series_count = str(len({(i.study, i.series) for i in found}))
        if study is not None:
            return {"study": web, "seriesCount": series_count, **sizes}
        return {"name": store.name, "studyCount": str(len({i.study for i in found})), "seriesCount": series_count, **sizes}

    def storage_info(self, dataset_name: str, store_id: str, study: str, series: str, sop: str) -> dict:
        found = self._instances(dataset_name, store_id, study, series, sop)
        if not found:
            raise not_found(f"no instance found for study {study} series {series} instance {sop}")
        inst = found[0]
        text = json.dumps(inst.metadata, separators=(",", ":"))
        return {
            "referencedResource": f"{dataset_name}/dicomStores/{store_id}/dicomWeb/studies/{study}/series/{series}/instances/{sop}",
            "blobStorageInfo": {"sizeBytes": str(inst.blob_size), "storageClass": inst.storage_class,
                                "storageClassUpdateTime": inst.storage_class_time or inst.stored_time},
            "structuredStorageInfo": {"sizeBytes": str(len(text.encode()))},
        }

    # -- bulk seeding (admin API, for benchmarks) ---------------------------------------------
    def clone(self, store_name: str, sop: str, count: int, prefix: str) -> list[str]:
        """`count` copies of a stored instance with fresh UIDs (2.25.PREFIX...), stored and streamed
        as INSERT rows in one batch: a large store without one STOW-RS request per instance."""
        if not 0 < count <= 1_000_000 or not prefix.isdigit():
            raise invalid("clone needs 0 < count <= 1000000 and a numeric prefix")
        dataset_name, _, store_id = store_name.partition("/dicomStores/")
        with self.core.lock:
            store = self.healthcare.store(dataset_name, store_id)
            original = store.instances.get(sop)
            if original is None:
                raise not_found(f"instance {sop} is not in {store_name}")
        now = self.core.now()
        made: list[Instance] = []
        for i in range(count):
            uids = {"StudyInstanceUID": f"2.25.{prefix}0{i // 100}", "SeriesInstanceUID": f"2.25.{prefix}1{i // 10}",
                    "SOPInstanceUID": f"2.25.{prefix}2{i}"}
            metadata = dict(original.metadata)  # shared values are never mutated; only the UIDs differ
            for keyword, tag in (("StudyInstanceUID", "0020000D"), ("SeriesInstanceUID", "0020000E"), ("SOPInstanceUID", "00080018")):
                metadata[tag] = {"vr": "UI", "Value": [uids[keyword]]}
            row = {**original.row, **uids}
            if "MediaStorageSOPInstanceUID" in row:
                row["MediaStorageSOPInstanceUID"] = uids["SOPInstanceUID"]
            made.append(Instance(
                study=uids["StudyInstanceUID"], series=uids["SeriesInstanceUID"], sop=uids["SOPInstanceUID"],
                sop_class=original.sop_class, metadata=metadata, row=row, fields=original.fields,
                stored_time=now, blob_size=original.blob_size,
            ))
        with self.core.lock:
            store = self.healthcare.store(dataset_name, store_id)
            clash = [inst.sop for inst in made if inst.sop in store.instances]
            if clash:
                raise invalid(f"clone would overwrite {len(clash)} stored instance(s), e.g. {clash[0]}; use another prefix")
            for inst in made:
                store.instances[inst.sop] = inst
            configs = list(store.stream_configs)
            self.core.persistence.mark_dirty()
        self.healthcare.stream(store.name, [(inst, bqschema.INSERT) for inst in made], configs)
        return [inst.sop for inst in made]
