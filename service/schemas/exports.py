"""The export documents' outer shapes, for the contract. The views write the builders' output
(service/formats/) as it is; these schemas only document it."""

import marshmallow as ma
from marshmallow import fields

from service.schemas.common import PageQuery, Text


class StixBundle(ma.Schema):
    type = fields.String(metadata={"enum": ["bundle"]})
    id = fields.String(metadata={"example": "bundle--2f1d6c1e-3a8b-5f0e-9c2d-1b7a4e6f8d90"})
    objects = fields.List(
        fields.Dict(),
        metadata={
            "description": "STIX 2.1 objects: our identity and extension-definition, the "
            "narrative (a `narrative` SDO) with its parent and children, identities, sightings, "
            "`subnarrative-of` relationships, a note per rebuttal, and a report referring to "
            "all of them."
        },
    )


class ClaimReviewDocument(ma.Schema):
    context = fields.String(data_key="@context", metadata={"example": "https://schema.org"})
    graph = fields.List(
        fields.Dict(),
        data_key="@graph",
        metadata={"description": "schema.org ClaimReviews, one per (rebuttal, narrative)."},
    )


class ClaimReviewFeed(ma.Schema):
    context = fields.String(data_key="@context", metadata={"example": "https://schema.org"})
    type = fields.String(data_key="@type", metadata={"enum": ["DataFeed"]})
    name = fields.String()
    date_modified = fields.String(data_key="dateModified")
    elements = fields.List(
        fields.Dict(),
        data_key="dataFeedElement",
        metadata={"description": "DataFeedItems, each with a ClaimReview as its `item`."},
    )


class ClaimReviewFeedQuery(PageQuery):
    cursor = Text(
        512,
        metadata={"description": 'From the previous page\'s `Link: <...>; rel="next"`; opaque.'},
    )
