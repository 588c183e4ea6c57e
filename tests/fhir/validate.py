#!/usr/bin/env python3
"""Validates FHIR R4 (4.0.1) resources, one JSON file per argument.

Prints one line per valid file; on the first invalid one prints the file and the problem
to stderr and exits 1. Run it with the venv from tests/fhir/venv.sh.

Two layers:
1. fhir.resources 6.4.0, whose models are FHIR 4.0.1: element names, data types,
   cardinality, primitive formats (instant, id, uri, base64Binary, ...), contained and
   bundled resources parsed by their own types.
2. What that library does not check and these resources rely on: the R4 *required*
   value sets of the coded elements used here (the library takes any string as a code),
   base64 attachment data, and the R4 invariants on contained resources (dom-1..dom-5, local references) and on
   Bundles (bdl-1, bdl-3, bdl-4) and extensions (ext-1).
"""

import base64
import binascii
import json
import re
import sys

import fhir.resources
from fhir.resources import get_fhir_model_class

# The required bindings of FHIR 4.0.1 for the coded elements our resources carry, by
# element path from the resource (or data type) that holds them.
REQUIRED_CODES = {
    "DiagnosticReport.status": {
        "registered", "partial", "preliminary", "final", "amended", "corrected",
        "appended", "cancelled", "entered-in-error", "unknown",
    },
    "Bundle.type": {
        "document", "message", "transaction", "transaction-response", "batch",
        "batch-response", "history", "searchset", "collection",
    },
    "Bundle.entry.request.method": {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"},
    "Device.deviceName.type": {
        "udi-label-name", "user-friendly-name", "patient-reported-name",
        "manufacturer-name", "model-name", "other",
    },
    "Device.status": {"active", "inactive", "entered-in-error", "unknown"},
    "Narrative.status": {"generated", "extensions", "additional", "empty"},
    "Identifier.use": {"usual", "official", "temp", "secondary", "old"},
    "HumanName.use": {"usual", "official", "temp", "nickname", "anonymous", "old", "maiden"},
}
# Attachment.contentType is bound (required) to BCP 13 MIME types.
MIME = re.compile(r"^[\w.+-]+/[\w.+-]+(\s*;\s*[\w.+-]+=[\w.+-]+)*$")


class Invalid(Exception):
    pass


def walk(node, path):
    """Yields (path, value) for every primitive, with paths rooted at the nearest resource."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("contained", "resource") and _is_resource_list(value):
                continue  # checked on their own by check_resource
            yield from walk(value, f"{path}.{key}")
    elif isinstance(node, list):
        for item in node:
            yield from walk(item, path)
    else:
        yield path, node


def _is_resource_list(value):
    items = value if isinstance(value, list) else [value]
    return all(isinstance(item, dict) and "resourceType" in item for item in items)


def check_codes(resource):
    root = resource["resourceType"]
    for path, value in walk(resource, root):
        # Data-type paths: the last element holding the type decides.
        candidates = {path}
        if path.endswith(".text.status") and path.count(".") == 2:
            candidates.add("Narrative.status")
        if re.search(r"\.identifier\.use$", path):
            candidates.add("Identifier.use")
        if path == "Practitioner.name.use":
            candidates.add("HumanName.use")
        for candidate in candidates:
            allowed = REQUIRED_CODES.get(candidate)
            if allowed is not None and value not in allowed:
                raise Invalid(f"{path} = {value!r} is not in the R4 required value set")
        if path.endswith(".contentType") and not MIME.match(str(value)):
            raise Invalid(f"{path} = {value!r} is not a MIME type")
        # Attachment.data is base64Binary, which the library takes as any string.
        if path.endswith("presentedForm.data"):
            try:
                base64.b64decode(str(value), validate=True)
            except binascii.Error as error:
                raise Invalid(f"{path} is not base64: {error}") from error


def references(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "reference" and isinstance(value, str):
                yield value
            else:
                yield from references(value)
    elif isinstance(node, list):
        for item in node:
            yield from references(item)


def extensions(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("extension", "modifierExtension"):
                yield from value
            yield from extensions(value)
    elif isinstance(node, list):
        for item in node:
            yield from extensions(item)


def check_invariants(resource):
    contained = resource.get("contained", [])
    ids = {item.get("id") for item in contained}
    # A Bundle holds no contained resources; its entries' local references are checked
    # when each entry's resource is.
    refs = set() if resource["resourceType"] == "Bundle" else set(references(resource))
    for item in contained:
        where = f"contained {item.get('resourceType')}/{item.get('id')}"
        if "text" in item:
            raise Invalid(f"dom-1: {where} has a narrative")
        if "contained" in item:
            raise Invalid(f"dom-2: {where} contains resources")
        if f"#{item.get('id')}" not in refs:
            raise Invalid(f"dom-3: {where} is not referenced")
        meta = item.get("meta", {})
        if "versionId" in meta or "lastUpdated" in meta:
            raise Invalid(f"dom-4: {where} has meta.versionId or meta.lastUpdated")
        if "security" in meta:
            raise Invalid(f"dom-5: {where} has a security label")
    for ref in refs:
        if ref.startswith("#") and ref != "#" and ref[1:] not in ids:
            raise Invalid(f"local reference {ref} has no contained resource")
    for extension in extensions(resource):
        values = [key for key in extension if key.startswith("value")]
        nested = "extension" in extension
        if len(values) + nested != 1:
            raise Invalid(f"ext-1: extension {extension.get('url')} needs one value or nested extensions")
    if resource["resourceType"] == "Bundle":
        kind = resource.get("type")
        if "total" in resource and kind not in ("searchset", "history"):
            raise Invalid("bdl-1: total only in a search or history Bundle")
        for entry in resource.get("entry", []):
            if ("request" in entry) != (kind in ("batch", "transaction", "history")):
                raise Invalid("bdl-3: entry.request is mandatory exactly for batch/transaction/history")
            if ("response" in entry) != (kind in ("batch-response", "transaction-response", "history")):
                raise Invalid("bdl-4: entry.response is mandatory exactly for responses and history")


def check_resource(resource):
    check_codes(resource)
    check_invariants(resource)
    for item in resource.get("contained", []):
        check_codes(item)
    for entry in resource.get("entry", []) if resource.get("resourceType") == "Bundle" else []:
        if "resource" in entry:
            check_resource(entry["resource"])


def validate(path):
    with open(path, encoding="utf-8") as file:
        resource = json.load(file)
    resource_type = resource.get("resourceType") if isinstance(resource, dict) else None
    if not resource_type:
        raise Invalid("no resourceType")
    try:
        get_fhir_model_class(resource_type).parse_obj(resource)
    except Exception as error:  # pydantic's ValidationError, or an unknown resource type
        raise Invalid(f"fhir.resources (R4 {fhir.resources.__fhir_version__}): {error}") from error
    check_resource(resource)
    return resource_type


def main(paths):
    if fhir.resources.__fhir_version__ != "4.0.1":
        sys.exit(f"expected FHIR 4.0.1 models, got {fhir.resources.__fhir_version__}")
    if not paths:
        sys.exit("usage: validate.py RESOURCE.json...")
    for path in paths:
        try:
            resource_type = validate(path)
        except (Invalid, ValueError) as error:
            print(f"{path}: INVALID: {error}", file=sys.stderr)
            sys.exit(1)
        print(f"{path}: valid FHIR R4 {resource_type}")


if __name__ == "__main__":
    main(sys.argv[1:])
