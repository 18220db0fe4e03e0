"""Families as the API and the forms read and write them (API.md's field names).

national_id and phone are private: the API and pages leave them out for roles without
Permission.PRIVATE (see tracker.api.families.audience).
"""

from __future__ import annotations

from marshmallow import fields

from .common import Id
from .intake import IntakeSchema, Text, YesNo, length


class FamilySchema(IntakeSchema):
    id = Id(dump_only=True)
    member_code = Text(required=True, validate=length(30, 1))
    head_name = Text(required=True, validate=length(200, 1))
    woman_led = YesNo(load_default=False)
    community_id = Id(required=True)
    national_id = Text(load_default=None, allow_none=True, validate=length(20))
    phone = Text(load_default=None, allow_none=True, validate=length(30))
    public_name_consent = YesNo(load_default=False)
    active = YesNo(load_default=True)


class FamilySearchSchema(IntakeSchema):
    """Query string of the family list: ?q= name, member code or community."""

    q = fields.String(load_default=None, validate=length(100))
    community_id = Id(load_default=None)


class FamilyPatchSchema(FamilySchema):
    """PATCH /families/{id}: load with partial=True (only the fields sent change)."""
