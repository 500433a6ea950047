"""The wire format of the assessment (考评): the party summary and an alliance's year report."""

from marshmallow import Schema, fields, validate

from dashboards.schemas import RateSchema
from kernel.api import BaseSchema, Day, IdField, Timestamp
from party.alliances.schemas import AllianceSchema
from party.lists.models import ProjectStatus

YEAR = validate.Range(min=2000, max=2100)


class PartySummaryQuerySchema(BaseSchema):
    grid_id = IdField(metadata={"description": "the unit whose subtree is counted; default: your scope"})
    date_from = Day(data_key="from", metadata={"description": "first Beijing day; default: this month's"})
    date_to = Day(data_key="to", metadata={"description": "last Beijing day (inclusive)"})


class PartyNeedCohortSchema(Schema):
    raised = fields.Integer(required=True, metadata={"description": "raised in the period"})
    withdrawn = fields.Integer(required=True, metadata={"description": "of those, withdrawn now"})
    matched = fields.Nested(RateSchema, required=True, metadata={"description": "matched now / (raised - withdrawn)"})
    met = fields.Nested(RateSchema, required=True, metadata={"description": "met / (raised - withdrawn)"})
    met_on_time = fields.Nested(RateSchema, required=True, metadata={"description": "met by the due day / met"})


class PartyProjectCountsSchema(Schema):
    planned = fields.Integer(required=True)
    under_way = fields.Integer(required=True)
    done = fields.Integer(required=True)
    abandoned = fields.Integer(required=True)
    total = fields.Integer(required=True)


class PartyResourceUnitSchema(Schema):
    unit = fields.String(required=True, metadata={"description": "what capacity counts: hours, seats, yuan…"})
    offered = fields.Integer(required=True)
    capacity = fields.Integer(required=True)
    reserved = fields.Integer(required=True, metadata={"description": "held by projects now"})


class PartyResourceFiguresSchema(Schema):
    offered = fields.Integer(required=True, metadata={"description": "active resources offered in the period"})
    used = fields.Nested(RateSchema, required=True, metadata={"description": "with capacity reserved / offered"})
    by_unit = fields.List(fields.Nested(PartyResourceUnitSchema), required=True)


class PartyAllianceCountsSchema(Schema):
    proposed = fields.Integer(required=True)
    active = fields.Integer(required=True)
    dissolved = fields.Integer(required=True)


class PartyMeetingCountsSchema(Schema):
    held = fields.Integer(required=True)


class PartyResidentRatingsSchema(Schema):
    count = fields.Integer(required=True)
    average = fields.Float(required=True, allow_none=True)
    satisfied = fields.Nested(RateSchema, required=True, metadata={"description": "ratings of 4 or 5 / ratings"})


class PartyOrgRatingsSchema(Schema):
    count = fields.Integer(required=True)
    average = fields.Float(required=True, allow_none=True)


class PartyRatingFiguresSchema(Schema):
    residents = fields.Nested(PartyResidentRatingsSchema, required=True, metadata={"description": "SMS and visits"})
    member_orgs = fields.Nested(PartyOrgRatingsSchema, required=True, metadata={"description": "of the owner"})


class PartyCheckInFiguresSchema(Schema):
    members = fields.Integer(required=True, metadata={"description": "双报到 members checked in during the period"})
    service_records = fields.Integer(required=True)
    service_hours = fields.Float(required=True)


class PartyPointFiguresSchema(Schema):
    awarded = fields.Integer(required=True)
    deducted = fields.Integer(required=True, metadata={"description": "negative or 0"})
    net = fields.Integer(required=True)
    members = fields.Integer(required=True, metadata={"description": "members with an entry"})


class PartySummarySchema(Schema):
    grid_id = IdField(required=True, allow_none=True, metadata={"description": "null: the whole territory"})
    date_from = fields.Date(required=True, data_key="from")
    date_to = fields.Date(required=True, data_key="to")
    needs = fields.Nested(PartyNeedCohortSchema, required=True)
    wishes = fields.Nested(PartyNeedCohortSchema, required=True)
    projects = fields.Nested(PartyProjectCountsSchema, required=True, metadata={"description": "opened in the period"})
    resources = fields.Nested(PartyResourceFiguresSchema, required=True)
    alliances = fields.Nested(PartyAllianceCountsSchema, required=True, metadata={"description": "serving the subtree"})
    meetings = fields.Nested(PartyMeetingCountsSchema, required=True)
    ratings = fields.Nested(PartyRatingFiguresSchema, required=True)
    check_ins = fields.Nested(PartyCheckInFiguresSchema, required=True)
    points = fields.Nested(PartyPointFiguresSchema, required=True)


# --- an alliance's year --------------------------------------------------------------------------------


class AllianceReportQuerySchema(BaseSchema):
    year = fields.Integer(validate=YEAR, metadata={"description": "Beijing-time year; this year by default"})


class AllianceReportExportQuerySchema(AllianceReportQuerySchema):
    alliance_id = IdField(required=True)


class AllianceReportMemberSchema(Schema):
    org_id = IdField(required=True)
    org_name = fields.String(required=True)
    host_kind = fields.String(required=True, allow_none=True)
    is_lead = fields.Boolean(required=True)
    commitment = fields.String(required=True, allow_none=True)
    joined_on = fields.Date(required=True)
    left_on = fields.Date(required=True, allow_none=True)
    meetings_present = fields.Integer(required=True)
    projects_owned = fields.Integer(required=True, metadata={"description": "of the projects opened in the year"})
    projects_done = fields.Integer(required=True)


class AllianceReportMeetingSchema(Schema):
    id = IdField(required=True)
    held_at = Timestamp(required=True)
    title = fields.String(required=True)
    present = fields.Integer(required=True, metadata={"description": "organisations present"})
    members = fields.Integer(required=True, metadata={"description": "member organisations on the day"})
    decisions = fields.Integer(required=True)


class AllianceReportMeetingsSchema(Schema):
    held = fields.Integer(required=True)
    attendance = fields.Nested(RateSchema, required=True, metadata={"description": "presences / members on the days"})
    items = fields.List(fields.Nested(AllianceReportMeetingSchema), required=True)


class AllianceReportProjectSchema(Schema):
    id = IdField(required=True)
    title = fields.String(required=True)
    owner_org_id = IdField(required=True)
    owner_org_name = fields.String(required=True)
    status = fields.Enum(ProjectStatus, by_value=True, required=True)
    deadline = fields.Date(required=True, allow_none=True)
    done_at = Timestamp(required=True, allow_none=True)
    on_time = fields.Boolean(required=True, allow_none=True)
    rating_count = fields.Integer(required=True)
    rating_average = fields.Float(required=True, allow_none=True)


class AllianceReportProjectsSchema(Schema):
    by_status = fields.Nested(PartyProjectCountsSchema, required=True)
    done_on_time = fields.Nested(RateSchema, required=True, metadata={"description": "done by the deadline / done"})
    items = fields.List(fields.Nested(AllianceReportProjectSchema), required=True)


class AllianceReportNeedsSchema(Schema):
    raised = fields.Integer(required=True)
    met = fields.Nested(RateSchema, required=True)
    wishes_raised = fields.Integer(required=True)
    wishes_met = fields.Integer(required=True)


class AllianceReportSchema(Schema):
    alliance = fields.Nested(AllianceSchema, required=True)
    year = fields.Integer(required=True)
    members = fields.List(fields.Nested(AllianceReportMemberSchema), required=True)
    meetings = fields.Nested(AllianceReportMeetingsSchema, required=True)
    projects = fields.Nested(AllianceReportProjectsSchema, required=True)
    needs = fields.Nested(AllianceReportNeedsSchema, required=True)
    ratings = fields.Nested(PartyRatingFiguresSchema, required=True)
