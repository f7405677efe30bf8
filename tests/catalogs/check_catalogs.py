#!/usr/bin/env python3
"""Checks Ferry's catalog files (catalogs/*.json) against the format in docs/catalogs.md.

For every catalog: only the allowed keys, a valid name and profile, unique event type
names, the expected set of types per seed product, every schema a valid draft-07 schema
using only the keywords Ferry's validator implements, and every example valid against its
schema. Then a list of payloads that must be rejected.

Usage: python3 tests/catalogs/check_catalogs.py [CATALOG_DIR]
Exits 0 when everything passes, 1 otherwise. Needs the jsonschema package (4.x).
"""
import copy
import json
import re
import sys
from pathlib import Path

from jsonschema import Draft7Validator
from jsonschema.exceptions import SchemaError

REPO = Path(__file__).resolve().parents[2]
CATALOG_DIR = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "catalogs"

TOP_REQUIRED = {"catalog", "title", "description", "reference", "profile", "stamp_workspace_id", "decisions", "event_types"}
TOP_ALLOWED = TOP_REQUIRED | {"aliases"}
TYPE_REQUIRED = {"name", "group", "description", "flags", "schema", "examples"}
TYPE_ALLOWED = TYPE_REQUIRED | {"decision"}
ALIAS_KEYS = {"name", "dotted_variants", "type_field", "outbound", "variant_field"}
PROFILES = {"standard-webhooks", "pocketflows", "heyoo", "customer-engagement", "pocketsflow", "penguinmails"}
FLAGS = {"PASSIVE", "deprecated"}
DRAFT7 = "http://json-schema.org/draft-07/schema#"
# Keywords the catalogs may use (what Ferry's validator implements for them).
KEYWORDS = {"$schema", "type", "properties", "required", "additionalProperties", "items", "enum", "const",
            "pattern", "minLength", "minimum", "maximum", "minItems", "minProperties"}
CATALOG_NAME = re.compile(r"^[a-z0-9_-]{1,64}$")
TYPE_NAME = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$")
WORKSPACE_ID_PATTERN = ("^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|__org__)$")

# Every event type each seed product's reference lists (shared with
# tests/integration/test_seed_products.py); each seed catalog goes out in its
# own product's wire profile, named like the catalog.
with open(Path(__file__).with_name("reference_types.json"), encoding="utf-8") as reference_file:
    EXPECTED = {name: (name, types) for name, types in json.load(reference_file).items()}
POCKETSFLOW_ENVELOPE = {"webhookId", "event", "timestamp", "testMode", "livemode"}

failures = []


def fail(where, message):
    failures.append(f"{where}: {message}")


def walk_schema(schema, where):
    """Checks the keywords used, recursively, and that no object forbids extra properties."""
    if not isinstance(schema, dict):
        return
    for key, value in schema.items():
        if key not in KEYWORDS:
            fail(where, f"schema keyword {key!r} is outside the supported set")
        if key == "additionalProperties" and value is False:
            fail(where, "additionalProperties: false (payloads must be allowed to grow)")
        if key == "pattern":
            re.compile(value)
    for sub in (schema.get("properties") or {}).values():
        walk_schema(sub, where)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            walk_schema(schema[key], where)


def load_catalogs():
    catalogs = {}
    for path in sorted(CATALOG_DIR.glob("*.json")):
        try:
            catalogs[path.stem] = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            fail(path.name, f"not valid JSON: {e}")
    return catalogs


def check_catalog(stem, cat):
    where = f"{stem}.json"
    if not isinstance(cat, dict):
        fail(where, "top level is not an object")
        return {}
    keys = set(cat)
    if keys - TOP_ALLOWED:
        fail(where, f"unknown top-level keys {sorted(keys - TOP_ALLOWED)}")
    if TOP_REQUIRED - keys:
        fail(where, f"missing top-level keys {sorted(TOP_REQUIRED - keys)}")
    name = cat.get("catalog", "")
    if not isinstance(name, str) or not CATALOG_NAME.match(name):
        fail(where, f"catalog name {name!r} is not 1 to 64 of [a-z0-9_-]")
    if name != stem:
        fail(where, f"catalog name {name!r} differs from the file name")
    for key in ("title", "description", "reference"):
        if not isinstance(cat.get(key), str) or not cat.get(key).strip():
            fail(where, f"{key} must be a non-empty string")
    if cat.get("profile") not in PROFILES:
        fail(where, f"profile {cat.get('profile')!r} is not one of {sorted(PROFILES)}")
    if not isinstance(cat.get("stamp_workspace_id"), bool):
        fail(where, "stamp_workspace_id must be a boolean")
    decisions = cat.get("decisions")
    if not isinstance(decisions, list) or not all(isinstance(d, str) and d.strip() for d in decisions):
        fail(where, "decisions must be a list of non-empty strings")

    types = {}
    for i, et in enumerate(cat.get("event_types") or []):
        tw = f"{where} event_types[{i}]"
        if not isinstance(et, dict):
            fail(tw, "not an object")
            continue
        tkeys = set(et)
        if tkeys - TYPE_ALLOWED:
            fail(tw, f"unknown keys {sorted(tkeys - TYPE_ALLOWED)}")
        if TYPE_REQUIRED - tkeys:
            fail(tw, f"missing keys {sorted(TYPE_REQUIRED - tkeys)}")
        tname = et.get("name", "")
        tw = f"{where} {tname}"
        if not isinstance(tname, str) or not TYPE_NAME.match(tname) or len(tname) > 128:
            fail(tw, "invalid event type name")
        if tname in types:
            fail(tw, "duplicate event type name")
        types[tname] = et
        for key in ("group", "description"):
            if not isinstance(et.get(key), str) or not et.get(key).strip():
                fail(tw, f"{key} must be a non-empty string")
        if "decision" in et and (not isinstance(et["decision"], str) or not et["decision"].strip()):
            fail(tw, "decision must be a non-empty string")
        flags = et.get("flags")
        if not isinstance(flags, list) or any(f not in FLAGS for f in flags):
            fail(tw, f"flags must be a list drawn from {sorted(FLAGS)}")
        schema = et.get("schema")
        if not isinstance(schema, dict):
            fail(tw, "schema must be an object")
            continue
        if schema.get("$schema") != DRAFT7:
            fail(tw, "schema lacks \"$schema\": draft-07")
        try:
            Draft7Validator.check_schema(schema)
        except SchemaError as e:
            fail(tw, f"invalid draft-07 schema: {e.message}")
            continue
        walk_schema(schema, tw)
        examples = et.get("examples")
        if not isinstance(examples, list) or not examples:
            fail(tw, "examples must be a non-empty list")
            continue
        validator = Draft7Validator(schema)
        for j, example in enumerate(examples):
            if not isinstance(example, dict):
                fail(tw, f"example {j} is not an object")
            for err in validator.iter_errors(example):
                path = "/" + "/".join(str(p) for p in err.absolute_path)
                fail(tw, f"example {j} fails at {path}: {err.message}")
            if cat.get("profile") == "pocketsflow" and isinstance(example, dict) and set(example) & POCKETSFLOW_ENVELOPE:
                fail(tw, f"example {j} carries envelope fields {sorted(set(example) & POCKETSFLOW_ENVELOPE)}")

    expected = EXPECTED.get(stem)
    if expected is None:
        fail(where, "not one of the five seed catalogs (add it to EXPECTED)")
    else:
        profile, names = expected
        if cat.get("profile") != profile:
            fail(where, f"profile should be {profile!r}")
        if sorted(types) != sorted(names):
            fail(where, f"types differ from the reference: missing {sorted(set(names) - set(types))}, "
                        f"extra {sorted(set(types) - set(names))}")
    return types


def check_aliases(cat, types):
    where = f"{cat['catalog']}.json aliases"
    for alias in cat.get("aliases") or []:
        if set(alias) != ALIAS_KEYS:
            fail(where, f"alias keys must be exactly {sorted(ALIAS_KEYS)}")
            continue
        if "{" + alias["type_field"] + "}" not in alias["outbound"]:
            fail(where, "outbound does not use the type field")
        if not isinstance(alias["dotted_variants"], bool):
            fail(where, "dotted_variants must be a boolean")


def valid(types, name, payload):
    return Draft7Validator(types[name]["schema"]).is_valid(payload)


def first(types, name):
    return copy.deepcopy(types[name]["examples"][0])


def expect_reject(types, name, payload, why):
    if valid(types, name, payload):
        fail(f"negative {name}", f"accepted a payload that must fail ({why})")


def expect_accept(types, name, payload, why):
    if not valid(types, name, payload):
        fail(f"positive {name}", f"rejected a payload that must pass ({why})")


def check_customer_engagement(cat, types):
    where = "customer-engagement.json"
    if cat.get("stamp_workspace_id") is not True:
        fail(where, "stamp_workspace_id must be true")
    aliases = cat.get("aliases") or []
    if aliases != [{"name": "channel_delivery_status", "dotted_variants": True, "type_field": "status",
                    "outbound": "delivery.{status}", "variant_field": "channel"}]:
        fail(where, "the channel_delivery_status alias is missing or different")
    saw_org = False
    for name, et in types.items():
        props = et["schema"].get("properties", {})
        if "workspace_id" not in et["schema"].get("required", []):
            fail(f"{where} {name}", "workspace_id is not required")
        if props.get("workspace_id", {}).get("pattern") != WORKSPACE_ID_PATTERN:
            fail(f"{where} {name}", "workspace_id lacks the brand UUID / __org__ pattern")
        want_flags = ["PASSIVE"] if name.startswith("delivery.") else []
        if et["flags"] != want_flags:
            fail(f"{where} {name}", f"flags should be {want_flags}")
        saw_org |= any(ex.get("workspace_id") == "__org__" for ex in et["examples"])
        # the rejects every type must have
        for bad, why in [("", "empty workspace_id"), (None, "null workspace_id"), ("acme", "non-UUID workspace_id"),
                         ("7c9e6679-7425-40de-944b-e07fc1f90ae", "short UUID")]:
            p = first(types, name); p["workspace_id"] = bad
            expect_reject(types, name, p, why)
        p = first(types, name); del p["workspace_id"]
        expect_reject(types, name, p, "missing workspace_id")
        p = first(types, name); p["workspace_id"] = "__org__"
        expect_accept(types, name, p, "__org__ sentinel")
    if not saw_org:
        fail(where, "no example uses the __org__ sentinel")

    # Applying the alias the way Ferry does: channel_delivery_status.<channel> with a status.
    for status in ["sent", "delivered", "failed", "bounced", "opened", "clicked", "replied", "read"]:
        outbound = "delivery." + status
        if outbound not in types:
            fail(where, f"alias target {outbound} is missing")
            continue
        p = first(types, outbound); p["status"] = status
        expect_accept(types, outbound, p, "status field left by the alias")
        p["status"] = "sent" if status != "sent" else "delivered"
        expect_reject(types, outbound, p, "status contradicting the type")

    p = first(types, "delivery.bounced"); p["bounce_type"] = "medium"
    expect_reject(types, "delivery.bounced", p, "bounce_type outside hard/soft")
    p = first(types, "delivery.sent"); p["channel"] = "fax"
    expect_reject(types, "delivery.sent", p, "unknown channel")
    p = first(types, "delivery.read"); p["channel"] = "sms"
    expect_reject(types, "delivery.read", p, "read receipts are WhatsApp/RCS only")
    p = first(types, "delivery.opened"); p["opened_at"] = "yesterday"
    expect_reject(types, "delivery.opened", p, "non-ISO timestamp")
    p = first(types, "delivery.delivered"); del p["delivered_at"]
    expect_reject(types, "delivery.delivered", p, "missing key field")
    p = first(types, "contact.created"); p["source"] = "csv"
    expect_reject(types, "contact.created", p, "source outside sdk/api/import/webhook")
    p = first(types, "contact.updated"); p["changes"] = {"email": {"old": "a@example.com"}}
    expect_reject(types, "contact.updated", p, "change without new value")
    p = first(types, "contact.updated"); p["changes"] = {"email": "b@example.com"}
    expect_reject(types, "contact.updated", p, "change not an {old,new} object")
    p = first(types, "campaign.completed"); p["total_sent"] = 12.5
    expect_reject(types, "campaign.completed", p, "fractional count")


def check_pocketsflow(types):
    p = first(types, "customer.subscription.paused"); p["subscription"]["status"] = "active"
    expect_reject(types, "customer.subscription.paused", p, "paused event with status active")
    p = first(types, "customer.subscription.created"); p["subscription"]["billingInterval"] = "week"
    expect_reject(types, "customer.subscription.created", p, "billingInterval outside month/year")
    p = first(types, "order.completed"); p["amount"] = "64.99"
    expect_reject(types, "order.completed", p, "amount as a string")
    p = first(types, "order.completed"); del p["customer"]["email"]
    expect_reject(types, "order.completed", p, "customer without email")
    p = first(types, "review.created"); p["review"]["rating"] = 6
    expect_reject(types, "review.created", p, "rating above 5")
    p = first(types, "invoice.upcoming"); del p["invoice"]["dueDate"]
    expect_reject(types, "invoice.upcoming", p, "upcoming invoice without dueDate")
    p = first(types, "order.completed"); p["product"]["variantId"] = None
    expect_accept(types, "order.completed", p, "variantId null when there is no variant")
    p = first(types, "customer.subscription.updated"); p["subscription"]["status"] = "past_due"
    expect_accept(types, "customer.subscription.updated", p, "past_due subscription")


def check_penguinmails(types):
    p = first(types, "email.bounced"); p["bounce_type"] = "medium"
    expect_reject(types, "email.bounced", p, "bounce_type outside hard/soft")
    p = first(types, "email.opened"); p["emailId"] = p.pop("email_id")
    expect_reject(types, "email.opened", p, "camelCase emailId instead of email_id")
    p = first(types, "campaign.completed"); del p["stats"]["opened"]
    expect_reject(types, "campaign.completed", p, "stats without opened")
    p = first(types, "email.clicked"); p["url"] = "yoursite.com/offer"
    expect_reject(types, "email.clicked", p, "url without scheme")


def check_heyoo(types):
    p = first(types, "campaign.launched"); p["status"] = "draft"
    expect_reject(types, "campaign.launched", p, "launched campaign still draft")
    p = first(types, "campaign.clicked"); del p["click"]["url"]
    expect_reject(types, "campaign.clicked", p, "click without url")


def check_pocketflows(types):
    p = first(types, "campaign.created"); del p["id"]
    expect_reject(types, "campaign.created", p, "campaign without id")
    p = first(types, "segment.updated"); p["filter"] = None
    expect_accept(types, "segment.updated", p, "segment without filter")


def main():
    catalogs = load_catalogs()
    all_types = {}
    for stem, cat in catalogs.items():
        types = check_catalog(stem, cat)
        all_types[stem] = types
        if isinstance(cat, dict):
            check_aliases(cat, types)
            if stem != "customer-engagement" and (cat.get("aliases") or cat.get("stamp_workspace_id")):
                fail(f"{stem}.json", "only customer-engagement stamps workspace_id and has aliases")
    missing = set(EXPECTED) - set(catalogs)
    for stem in sorted(missing):
        fail(f"{stem}.json", "missing")
    if not missing and not failures:
        check_customer_engagement(catalogs["customer-engagement"], all_types["customer-engagement"])
        check_pocketsflow(all_types["pocketsflow"])
        check_penguinmails(all_types["penguinmails"])
        check_heyoo(all_types["heyoo"])
        check_pocketflows(all_types["pocketflows"])

    total = 0
    for stem, cat in catalogs.items():
        n = len(all_types.get(stem, {}))
        total += n
        examples = sum(len(t.get("examples", [])) for t in all_types.get(stem, {}).values())
        print(f"{stem:22} profile={cat.get('profile', '?'):20} types={n:3}  examples={examples}")
    print(f"{'total':22} {'':28} types={total:3}")
    if failures:
        print(f"\nFAILED ({len(failures)}):")
        for f in failures:
            print("  " + f)
        return 1
    print("OK: all catalogs valid, all examples validate, all must-fail payloads are rejected")
    return 0


if __name__ == "__main__":
    sys.exit(main())
