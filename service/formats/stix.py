"""A narrative as a STIX 2.1 bundle that OpenCTI and MISP can both import.

- The narrative is a `narrative` SDO (the type OpenCTI reads: name, description, aliases,
  narrative_types), a new SDO declared by our own `extension-definition` in the bundle. Its parent
  and children come along, linked by `subnarrative-of` relationships (child -> parent).
- Sources, speakers and issuers are `identity` objects; each sighting is a `sighting` of the
  narrative, `where_sighted_refs` naming its source and speaker identities.
- Each rebuttal is a `note` created by its issuer, referring to the narrative and to the report.
- A `report` refers to everything. MISP's importer drops SDOs it does not know (`narrative`) and
  keeps the report and the notes attached to it, so the rebuttals survive there.

Deterministic: ids are UUIDv5 of our ids (service.formats.common.NAMESPACE), timestamps come
from our records, and objects are in a fixed order, so exporting the same state twice gives the
same bytes. STIX recommends UUIDv4 for SDOs; v5 is still a valid RFC 4122 UUID, and stable ids
are what lets an importer update rather than duplicate. Identities derived from a name (a source,
a speaker, an issuer) carry only that name and the fixed EPOCH, so the same identity has the same
content in every narrative's bundle; per-record details (an issuer's office, a speaker's role)
go on the note or sighting that cites them.

Bounded: the caller passes at most the latest N sightings; `older_sightings` summarises the rest
as one `sighting` with `summary: true`, its count and first/last seen (see repo/exports.py).
"""

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from service.formats.common import stable_uuid, timestamp

MEDIA_TYPE = "application/stix+json;version=2.1"

# When the service's own objects (its identity, the extension definition) were first defined.
EPOCH = "2024-03-01T00:00:00.000Z"

SERVICE_ID = f"identity--{stable_uuid('identity', 'service')}"
EXTENSION_ID = f"extension-definition--{stable_uuid('extension-definition', 'narrative')}"
NARRATIVE_TYPE = "narrative"

SERVICE_IDENTITY: dict[str, Any] = {
    "type": "identity",
    "spec_version": "2.1",
    "id": SERVICE_ID,
    "created": EPOCH,
    "modified": EPOCH,
    "name": "Narrative Tracker",
    "description": "Records narratives pushed by states and other actors, their sightings and "
    "the official rebuttals of them.",
    "identity_class": "system",
}

EXTENSION_DEFINITION: dict[str, Any] = {
    "type": "extension-definition",
    "spec_version": "2.1",
    "id": EXTENSION_ID,
    "created_by_ref": SERVICE_ID,
    "created": EPOCH,
    "modified": EPOCH,
    "name": "narrative",
    "description": "A narrative: a claim being pushed by states or other actors.",
    "schema": (
        "New SDO 'narrative' with the common SDO properties plus: name (string, required), "
        "description (string), aliases (list of string: names and phrasings, in any language), "
        "narrative_types (list of string, open vocabulary: the topics the narrative belongs to). "
        "Sub-narratives are 'subnarrative-of' relationships from the child to the parent. "
        "The same shape as OpenCTI's Narrative."
    ),
    "version": "1.0.0",
    "extension_types": ["new-sdo"],
}

# A source's kind as an identity_class (STIX's identity-class-ov).
_SOURCE_CLASS = {
    "outlet": "organization",
    "official": "organization",
    "channel": "organization",
    "account": "individual",
    "other": "unknown",
}

Row = Mapping[str, Any]


def bundle(
    narrative: Row,
    *,
    parent: Row | None = None,
    children: Sequence[Row] = (),
    sightings: Sequence[Row] = (),
    older_sightings: Row | None = None,
    rebuttals: Sequence[Row] = (),
) -> dict[str, Any]:
    """The bundle for `narrative` (rows in the API's shapes, timestamps as datetimes).

    `sightings` are the ones to export one by one (false positives already left out);
    `older_sightings`, if any were left out for size, is {count, first_seen, last_seen,
    created_at, modified_at}; `rebuttals` are the narrative's rebuttals."""
    me = narrative_id(narrative["id"])
    report_id = f"report--{stable_uuid('report', narrative['id'])}"
    identities: dict[str, dict[str, Any]] = {}

    narratives = [_narrative(narrative)]
    relationships = []
    if parent is not None:
        narratives.append(_narrative(parent))
        relationships.append(_subnarrative(narrative, parent))
    for child in sorted(children, key=lambda c: c["slug"]):
        narratives.append(_narrative(child))
        relationships.append(_subnarrative(child, narrative))

    seen = [_sighting(s, me, identities) for s in sightings]
    if older_sightings and older_sightings["count"]:
        seen.append(_summary(narrative, older_sightings, me))
    notes = [_note(r, narrative, me, report_id, identities) for r in rebuttals]

    objects = [
        SERVICE_IDENTITY,
        EXTENSION_DEFINITION,
        *narratives,
        *(identities[key] for key in sorted(identities)),
        *seen,
        *relationships,
        *notes,
    ]
    modified = max(
        [o["modified"] for o in objects if "modified" in o]
        + [timestamp(narrative["updated_at"], millis=True)]
    )
    report: dict[str, Any] = {
        "type": "report",
        "spec_version": "2.1",
        "id": report_id,
        "created_by_ref": SERVICE_ID,
        "created": timestamp(narrative["created_at"], millis=True),
        "modified": modified,
        "name": f"Narrative: {narrative['title']}",
        "report_types": ["threat-report"],
        "published": modified,
        "object_refs": [o["id"] for o in objects],
        "external_references": [_tracker_reference(narrative)],
    }
    if narrative.get("summary"):
        report["description"] = narrative["summary"]
    if narrative.get("tags"):
        report["labels"] = list(narrative["tags"])
    objects.append(report)
    # Same objects, same id: a content hash, so a re-export of unchanged data is the same bundle.
    digest = hashlib.sha256(json.dumps(objects, sort_keys=True).encode()).hexdigest()
    return {"type": "bundle", "id": f"bundle--{stable_uuid('bundle', digest)}", "objects": objects}


def narrative_id(id_: Any) -> str:
    return f"{NARRATIVE_TYPE}--{stable_uuid('narrative', id_)}"


def _narrative(row: Row) -> dict[str, Any]:
    sdo: dict[str, Any] = {
        "type": NARRATIVE_TYPE,
        "spec_version": "2.1",
        "id": narrative_id(row["id"]),
        "created_by_ref": SERVICE_ID,
        "created": timestamp(row["created_at"], millis=True),
        "modified": timestamp(row["updated_at"], millis=True),
        "name": row["title"],
    }
    if row.get("summary"):
        sdo["description"] = row["summary"]
    aliases = _unique(alias["text"] for alias in row.get("aliases") or ())
    if aliases:
        sdo["aliases"] = aliases
    if row.get("tags"):
        sdo["narrative_types"] = list(row["tags"])
    sdo["external_references"] = [_tracker_reference(row)]
    sdo["extensions"] = {EXTENSION_ID: {"extension_type": "new-sdo"}}
    return sdo


def _subnarrative(child: Row, parent: Row) -> dict[str, Any]:
    return {
        "type": "relationship",
        "spec_version": "2.1",
        "id": f"relationship--{stable_uuid('subnarrative-of', child['id'], parent['id'])}",
        "created_by_ref": SERVICE_ID,
        # The link is part of the child's record: it changes when the child does.
        "created": timestamp(child["created_at"], millis=True),
        "modified": timestamp(child["updated_at"], millis=True),
        "relationship_type": "subnarrative-of",
        "source_ref": narrative_id(child["id"]),
        "target_ref": narrative_id(parent["id"]),
    }


def _sighting(row: Row, narrative: str, identities: dict[str, dict[str, Any]]) -> dict[str, Any]:
    observed = timestamp(row["observed_at"])
    source = row["source"]
    where = [_identity(identities, source["name"], _SOURCE_CLASS.get(source["kind"], "unknown"))]
    speaker = source["name"]
    actor = row.get("actor")
    if actor:
        where.append(_identity(identities, actor["name"], "individual"))
        speaker = actor["name"] + (f" ({actor['role']})" if actor.get("role") else "")
        speaker += f", via {source['name']}"
    sro: dict[str, Any] = {
        "type": "sighting",
        "spec_version": "2.1",
        "id": f"sighting--{stable_uuid('sighting', row['id'])}",
        "created_by_ref": SERVICE_ID,
        "created": timestamp(row["created_at"], millis=True),
        "modified": timestamp(row["updated_at"], millis=True),
        "description": f"{speaker}: {row['quote']}" if row.get("quote") else speaker,
        "first_seen": observed,
        "last_seen": observed,
        "count": 1,
        "sighting_of_ref": narrative,
        "where_sighted_refs": _unique(where),
    }
    references = []
    if row.get("url"):
        references.append({"source_name": source["name"], "url": row["url"]})
    reported_in = row.get("reported_in") or {}
    if reported_in.get("url"):
        references.append(
            {
                "source_name": reported_in.get("name") or "reported in",
                "description": "where this sighting was reported",
                "url": reported_in["url"],
            }
        )
    if references:
        sro["external_references"] = references
    if row.get("language"):
        sro["lang"] = row["language"]
    return sro


def _summary(narrative: Row, older: Row, ref: str) -> dict[str, Any]:
    """The sightings left out of the export for size, as one summary sighting."""
    return {
        "type": "sighting",
        "spec_version": "2.1",
        "id": f"sighting--{stable_uuid('older-sightings', narrative['id'])}",
        "created_by_ref": SERVICE_ID,
        "created": timestamp(older["created_at"], millis=True),
        "modified": timestamp(older["modified_at"], millis=True),
        "description": f"{older['count']} earlier sightings, summarised: not exported one by one.",
        "first_seen": timestamp(older["first_seen"]),
        "last_seen": timestamp(older["last_seen"]),
        "count": older["count"],
        "sighting_of_ref": ref,
        "summary": True,
    }


def _note(
    row: Row,
    narrative: Row,
    narrative_ref: str,
    report_id: str,
    identities: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    issuer = row["issuer"]
    author = _identity(
        identities, issuer["name"], "individual" if issuer.get("role") else "organization"
    )
    office = ", ".join(x for x in (issuer.get("role"), issuer.get("organization")) if x)
    if issuer.get("country"):
        office = f"{office}, {issuer['country']}" if office else issuer["country"]
    return {
        "type": "note",
        "spec_version": "2.1",
        # Per narrative: a rebuttal of three narratives is a note in each of their bundles, and
        # each note refers to its own bundle's report.
        "id": f"note--{stable_uuid('note', row['id'], narrative['id'])}",
        "created_by_ref": author,
        "created": timestamp(row["created_at"], millis=True),
        "modified": timestamp(row["updated_at"], millis=True),
        "abstract": f"{issuer['name']}: {row['verdict']} ({timestamp(row['published_at'])[:10]})",
        "content": row["statement"],
        "authors": [f"{issuer['name']} ({office})" if office else issuer["name"]],
        "object_refs": [narrative_ref, report_id],
        "labels": [f"verdict:{row['verdict']}", f"issuer-kind:{issuer['kind']}"],
        "lang": row["language"],
        "external_references": [
            {
                "source_name": issuer.get("organization") or issuer["name"],
                "description": f"statement published {timestamp(row['published_at'])}",
                "url": row["url"],
            }
        ],
    }


def _identity(identities: dict[str, dict[str, Any]], name: str, identity_class: str) -> str:
    """The id of the identity for `name`, added to `identities` on first use."""
    id_ = f"identity--{stable_uuid('identity', identity_class, name.casefold())}"
    identities.setdefault(
        id_,
        {
            "type": "identity",
            "spec_version": "2.1",
            "id": id_,
            "created_by_ref": SERVICE_ID,
            "created": EPOCH,
            "modified": EPOCH,
            "name": name,
            "identity_class": identity_class,
        },
    )
    return id_


def _tracker_reference(narrative: Row) -> dict[str, Any]:
    return {"source_name": "narrative-tracker", "external_id": narrative["slug"]}


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
