#!/usr/bin/env python3
"""Checks vgpu's placement export with OpenStack Placement's own request schemas.

    placement_api.py PLACEMENT_PARENT FILE...

PLACEMENT_PARENT is the directory holding Placement's `placement` package (Debian's
python3-placement, or what scripts/bootstrap.sh unpacks from it); only its `placement.schemas`
modules are imported. Each FILE is a `vgpuctl export --format placement` document. It is turned
into the requests Nova's libvirt driver makes for it, and each request body is validated with
the schema the Placement service validates that request with, as the service does it
(jsonschema.validate with a FormatChecker, placement/util.py):

  POST /resource_providers                  the compute node's root provider (microversion 1.0)
  POST /resource_providers                  each GPU's provider under it (1.14, parent uuid)
  PUT  /resource_providers/{uuid}/inventories   its inventories
  PUT  /resource_providers/{uuid}/traits        its traits
  PUT  /traits/{name}                       each custom trait (the CUSTOM_ name rule)
  PUT  /resource_classes/{name}             each custom resource class (1.2 body rule)

Prints "ok: N requests" and exits 0, or prints each refusal and exits 1. Exits 2 when the
schemas or python3-jsonschema are missing.
"""
import json
import sys
import uuid


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    sys.path.insert(0, argv[0])
    try:
        import jsonschema
        from placement.schemas import inventory, resource_class, resource_provider, trait
    except ImportError as e:
        print(f"placement_api.py: {e} (looked in {argv[0]}); scripts/bootstrap.sh unpacks "
              "OpenStack Placement's schemas from Debian's python3-placement", file=sys.stderr)
        return 2

    checker = jsonschema.FormatChecker()
    count, refusals = 0, []

    def request(where, body, schema):
        nonlocal count
        count += 1
        try:
            jsonschema.validate(body, schema, format_checker=checker)
        except jsonschema.ValidationError as e:
            refusals.append(f"{where}: {e.message}")

    for path in argv[1:]:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        root = doc["root_provider_name"]
        root_uuid = str(uuid.uuid5(uuid.NAMESPACE_URL, root))
        request(f"{path}: POST /resource_providers {root}",
                {"name": root, "uuid": root_uuid}, resource_provider.POST_RESOURCE_PROVIDER_SCHEMA)
        for rp in doc["resource_providers"]:
            name = rp["name"]
            rp_uuid = str(uuid.uuid5(uuid.NAMESPACE_URL, name))
            request(f"{path}: POST /resource_providers {name}",
                    {"name": name, "uuid": rp_uuid, "parent_provider_uuid": root_uuid},
                    resource_provider.POST_RP_SCHEMA_V1_14)
            request(f"{path}: PUT /resource_providers/{rp_uuid}/inventories ({name})",
                    {"resource_provider_generation": 0, "inventories": rp["inventories"]},
                    inventory.PUT_INVENTORY_SCHEMA)
            request(f"{path}: PUT /resource_providers/{rp_uuid}/traits ({name})",
                    {"resource_provider_generation": 1, "traits": rp["traits"]},
                    trait.SET_TRAITS_FOR_RP_SCHEMA)
            for t in rp["traits"]:
                if t.startswith("CUSTOM_"):
                    request(f"{path}: PUT /traits/{t}", t, trait.CUSTOM_TRAIT)
            for rc in rp["inventories"]:
                if rc.startswith("CUSTOM_"):
                    request(f"{path}: PUT /resource_classes/{rc}", {"name": rc},
                            resource_class.PUT_RC_SCHEMA_V1_2)
    for r in refusals:
        print(r)
    if refusals:
        return 1
    print(f"ok: {count} requests")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
