"""HTTP endpoints for the working-day calendar: staff read a year, admins replace it."""

from typing import Any

from flask import Flask

from kernel.api import Blueprint, documents
from kernel.extensions import api
from kernel.health import register_readiness_warning
from kernel.principals import Role
from kernel.security import requires_auth, requires_role
from tasks.calendar import service as calendar
from tasks.calendar.models import CalendarSource
from tasks.calendar.schemas import CalendarYearInSchema, CalendarYearSchema
from tasks.calendar.worktime import WorkingHoursError, parse_working_hours

blp = Blueprint(
    "calendar", __name__, url_prefix="/api/v1/calendar", description="The working-day calendar (holidays, 调休)"
)

YEAR_PARAMETER = {
    "in": "path",
    "name": "year",
    "description": "a year, e.g. 2026",
    "schema": {"type": "integer", "minimum": calendar.MIN_YEAR, "maximum": calendar.MAX_YEAR},
}


def register(app: Flask) -> None:
    try:
        parse_working_hours(app.config["WORKING_HOURS"])
    except WorkingHoursError as error:
        raise RuntimeError(f"WORKING_HOURS: {error}") from None
    api.register_blueprint(blp)
    register_readiness_warning(app, calendar.readiness_warnings)


@blp.route("/<int:year>", methods=["GET"], parameters=[YEAR_PARAMETER])
@requires_auth
@blp.response(200, CalendarYearSchema)
@documents(404)
def get_year(year: int) -> calendar.YearCalendar:
    """A year's days that differ from Monday–Friday: holidays (rest) and make-up working days (work); 404 when the
    calendar does not know the year (its deadlines count Monday to Friday)."""
    return calendar.get_year(year)


@blp.route("/<int:year>", methods=["PUT"], parameters=[YEAR_PARAMETER])
@requires_role(Role.ADMIN)
@blp.arguments(CalendarYearInSchema)
@blp.response(200, CalendarYearSchema)
def put_year(data: dict[str, Any], year: int) -> calendar.YearCalendar:
    """Replace the year's exceptions, all or nothing (422 names each invalid day). Deadlines already set keep
    their time; new ones follow the new calendar."""
    return calendar.put_year(year, data["days"], CalendarSource.ADMIN)
