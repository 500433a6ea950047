"""The wire format of party organisations, their coverage of the territory and party staff placements."""

from collections.abc import Mapping
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from grid.coords import CoordSystem, from_wgs84
from grid.models import GridLevel
from grid.schemas import OutputQuerySchema, output_coord_system
from kernel.api import BaseSchema, IdField, PageQuerySchema, StrictBoolean, StrictFloat, Timestamp, page_schema
from kernel.i18n import _
from party.orgs.models import HostKind, OrgKind, PartyOrg

NAME = validate.Length(min=1, max=128)
ADDRESS = validate.Length(min=1, max=255)


# --- input ----------------------------------------------------------------------------------------


class HostLocationInSchema(BaseSchema):
    lat = StrictFloat(required=True, allow_nan=False, validate=validate.Range(min=-90, max=90))
    lng = StrictFloat(required=True, allow_nan=False, validate=validate.Range(min=-180, max=180))
    coord_system = fields.Enum(CoordSystem, by_value=True, load_default=CoordSystem.WGS84)


class HostInSchema(BaseSchema):
    kind = fields.Enum(HostKind, by_value=True, required=True)
    name = fields.String(required=True, validate=NAME, metadata={"example": "南阳市第一中学"})
    address = fields.String(load_default=None, allow_none=True, validate=ADDRESS)
    location = fields.Nested(HostLocationInSchema, load_default=None, allow_none=True)


def _one_place(data: Mapping[str, Any]) -> None:
    if data.get("grid_id") is not None and data.get("host") is not None:
        raise ValidationError(_("An organisation is built on a grid unit or in a host unit, not both."), "host")


class OrgCreateSchema(BaseSchema):
    kind = fields.Enum(OrgKind, by_value=True, required=True)
    name = fields.String(required=True, validate=NAME, metadata={"example": "医圣祠社区第一网格党支部"})
    parent_id = IdField(
        load_default=None, allow_none=True, metadata={"description": "none: a root committee (admins only)"}
    )
    grid_id = IdField(load_default=None, allow_none=True, metadata={"description": "territorial: the unit built on"})
    host = fields.Nested(HostInSchema, load_default=None, allow_none=True, metadata={"description": "non-territorial"})
    active = StrictBoolean(load_default=True)

    @validates_schema
    def check_place(self, data: Mapping[str, Any], **_kwargs: Any) -> None:
        _one_place(data)


class OrgUpdateSchema(BaseSchema):
    name = fields.String(validate=NAME)
    parent_id = IdField(allow_none=True, metadata={"description": "moves the organisation and its whole subtree"})
    secretary_id = IdField(allow_none=True, metadata={"description": "an active member of this organisation"})
    grid_id = IdField(allow_none=True, metadata={"description": "setting it clears `host` unless host is given"})
    host = fields.Nested(HostInSchema, allow_none=True, metadata={"description": "setting it clears `grid_id`"})
    active = StrictBoolean(metadata={"description": "false deactivates (no hard deletes)"})

    @validates_schema
    def check_place(self, data: Mapping[str, Any], **_kwargs: Any) -> None:
        _one_place(data)


class OrgQuerySchema(PageQuerySchema, OutputQuerySchema):
    parent_id = IdField()
    subtree = fields.Boolean(load_default=False, metadata={"description": "with parent_id: the whole subtree"})
    kind = fields.Enum(OrgKind, by_value=True)
    grid_id = IdField(metadata={"description": "organisations built on this unit"})
    q = fields.String(validate=validate.Length(min=1, max=64), metadata={"description": "name contains"})
    active = fields.Boolean()


class CoverageQuerySchema(BaseSchema):
    grid_id = IdField(metadata={"description": "the subtree's top unit; default: the caller's own territory"})


class PlacementInSchema(BaseSchema):
    org_id = IdField(required=True, metadata={"description": "the organisation whose subtree the account manages"})


# --- output ---------------------------------------------------------------------------------------


class HostLocationSchema(Schema):
    lat = fields.Float(required=True)
    lng = fields.Float(required=True)
    coord_system = fields.Enum(CoordSystem, by_value=True, required=True)


class HostSchema(Schema):
    kind = fields.Enum(HostKind, by_value=True, required=True)
    name = fields.String(required=True)
    address = fields.String(required=True, allow_none=True)
    location = fields.Nested(
        HostLocationSchema, required=True, allow_none=True, metadata={"description": "?coord_system="}
    )


class OrgSchema(Schema):
    id = IdField(required=True)
    kind = fields.Enum(OrgKind, by_value=True, required=True)
    name = fields.String(required=True)
    parent_id = IdField(required=True, allow_none=True)
    secretary_id = IdField(required=True, allow_none=True)
    grid_id = IdField(required=True, allow_none=True)
    host = fields.Method("_host", required=True, allow_none=True, metadata={"type": "object"})
    active = fields.Boolean(required=True)
    member_count = fields.Integer(required=True, metadata={"description": "active members held directly"})
    created_at = Timestamp(required=True)
    updated_at = Timestamp(required=True)

    def _host(self, org: PartyOrg) -> dict[str, Any] | None:
        if org.host_kind is None:
            return None
        location = None
        if org.host_lat is not None and org.host_lng is not None:
            system = output_coord_system()
            lat, lng = from_wgs84(org.host_lat, org.host_lng, system)  # stored in WGS-84
            location = {"lat": lat, "lng": lng, "coord_system": system.value}
        return {"kind": org.host_kind.value, "name": org.host_name, "address": org.host_address, "location": location}


OrgPageSchema = page_schema(OrgSchema, "PartyOrgPageSchema")


class CoverageUnitSchema(Schema):
    id = IdField(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)


class CoverageGridSchema(CoverageUnitSchema):
    level = fields.Enum(GridLevel, by_value=True, required=True)


class LevelCoverageSchema(Schema):
    total = fields.Integer(required=True, metadata={"description": "active units of this level in the subtree"})
    covered_count = fields.Integer(required=True)
    uncovered_count = fields.Integer(required=True)
    covered = fields.List(
        fields.Nested(CoverageUnitSchema),
        required=True,
        metadata={"description": "units with an active territorial organisation built on them, by code"},
    )
    uncovered = fields.List(fields.Nested(CoverageUnitSchema), required=True, metadata={"description": "the others"})


class OrgMembersSchema(Schema):
    id = IdField(required=True)
    kind = fields.Enum(OrgKind, by_value=True, required=True)
    name = fields.String(required=True)
    parent_id = IdField(required=True, allow_none=True)
    grid_id = IdField(required=True, allow_none=True)
    member_count = fields.Integer(required=True, metadata={"description": "active members held directly"})


class CoverageSchema(Schema):
    """两个覆盖: organisation coverage of cells and communities, and members per organisation."""

    grid = fields.Nested(
        CoverageGridSchema, required=True, allow_none=True, metadata={"description": "none: the whole territory"}
    )
    cells = fields.Nested(LevelCoverageSchema, required=True)
    communities = fields.Nested(LevelCoverageSchema, required=True)
    orgs = fields.List(
        fields.Nested(OrgMembersSchema),
        required=True,
        metadata={
            "description": "active organisations built on a unit of the subtree and those below them, "
            "in tree order, each with its member count"
        },
    )


class PartyOrgBriefSchema(Schema):
    id = IdField(required=True)
    kind = fields.Enum(OrgKind, by_value=True, required=True)
    name = fields.String(required=True)


class PlacementSchema(Schema):
    account_id = IdField(required=True)
    org_id = IdField(required=True)
    org = fields.Nested(PartyOrgBriefSchema, required=True)
    created_at = Timestamp(required=True)
