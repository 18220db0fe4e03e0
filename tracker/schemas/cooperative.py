"""Cooperatives and communities as the API shows them."""

from __future__ import annotations

from marshmallow import fields, validate

from .common import Id, StrictSchema


class CooperativeSchema(StrictSchema):
    code = fields.String(
        required=True, validate=validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9-]{1,19}$")
    )
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    country = fields.String(load_default="PE", validate=validate.Regexp(r"^[A-Z]{2}$"))
    currency = fields.String(load_default="PEN", validate=validate.Regexp(r"^[A-Z]{3}$"))
    season_start_month = fields.Integer(load_default=4, validate=validate.Range(1, 12))


class CommunitySchema(StrictSchema):
    id = Id(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    district = fields.String(load_default="", validate=validate.Length(max=120))
    province = fields.String(load_default="", validate=validate.Length(max=120))
    region = fields.String(load_default="", validate=validate.Length(max=120))
