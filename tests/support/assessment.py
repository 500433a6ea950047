"""Arranging the assessment's small world: rows of the lists, alliances, meetings, check-ins and points written
straight to the tables at given Beijing times (their own endpoints are tested elsewhere), on the party of
tests/support/alliances.py. The rollups are recounted after each need, project, rating and points entry, as
after an import (`flask party stats rebuild`)."""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from grid.models import GridUnit
from kernel.clock import BEIJING
from kernel.extensions import db
from party.activities.models import Activity, ActivityStatus
from party.alliances.models import Alliance, AllianceStatus
from party.assessment import figure_rollups, rollups
from party.checkins.models import CheckIn, CheckInKind, CheckInStatus, RecordKind, ServiceRecord
from party.lists import needs
from party.lists.models import (
    Need,
    NeedKind,
    NeedStatus,
    Project,
    ProjectStatus,
    Rating,
    RatingSource,
    Resource,
    ResourceKind,
)
from party.points.models import PointEntry


def at(day: str, hour: int = 10, minute: int = 0) -> datetime:
    """A Beijing wall-clock time on the day ("2026-11-03"), aware."""
    return datetime.fromisoformat(day).replace(hour=hour, minute=minute, tzinfo=BEIJING)


class Rows:
    """Writes rows in one app context; `unit(code)` is a unit of the world's tree."""

    def __init__(self, app: Any, tree: dict[str, GridUnit]) -> None:
        self.app, self.tree = app, tree
        with app.app_context():
            needs.seed_default_categories()
            db.session.commit()

    def add(self, row: Any) -> int:
        with self.app.app_context():
            db.session.add(row)
            db.session.commit()
            return int(row.id)

    def counted(self, row_id: int) -> int:
        """The row's id, once the projects', ratings' and points' rollup is recounted with it."""
        with self.app.app_context():
            figure_rollups.rebuild()
            db.session.commit()
        return row_id

    def path(self, code: str) -> str:
        return self.tree[code].path

    def need(
        self,
        code: str,
        created: datetime,
        status: NeedStatus,
        *,
        kind: NeedKind = NeedKind.NEED,
        due_on: date | None = None,
        met_at: datetime | None = None,
        alliance_id: int | None = None,
    ) -> int:
        """A need written straight to its table, then counted in the rollup as after an import (a rebuild)."""
        need_id = self.add(
            Need(
                kind=kind,
                title="需求",
                description="说明",
                category_code="other",
                grid_id=self.tree[code].id,
                grid_path=self.path(code),
                status=status,
                due_on=due_on,
                met_at=met_at,
                alliance_id=alliance_id,
                created_at=created,
                updated_at=created,
            )
        )
        with self.app.app_context():
            rollups.rebuild()
            db.session.commit()
        return need_id

    def project(
        self,
        need_id: int,
        code: str,
        created: datetime,
        status: ProjectStatus,
        owner_org_id: int,
        *,
        alliance_id: int | None = None,
        deadline: date | None = None,
        done_at: datetime | None = None,
    ) -> int:
        return self.counted(
            self.add(
                Project(
                    need_id=need_id,
                    owner_org_id=owner_org_id,
                    alliance_id=alliance_id,
                    grid_path=self.path(code),
                    title=f"项目{need_id}",
                    goal="目标",
                    status=status,
                    deadline=deadline,
                    done_at=done_at,
                    created_at=created,
                )
            )
        )

    def resource(
        self, code: str, created: datetime, owner_org_id: int, *, unit: str, capacity: int, reserved: int, active=True
    ) -> int:
        return self.add(
            Resource(
                kind=ResourceKind.VOLUNTEERS,
                description="资源",
                capacity=capacity,
                unit=unit,
                reserved=reserved,
                grid_id=self.tree[code].id,
                grid_path=self.path(code),
                owner_org_id=owner_org_id,
                active=active,
                created_at=created,
            )
        )

    def rating(self, need_id: int, project_id: int, value: int, source: RatingSource, given: datetime, **kw) -> int:
        rating = Rating(need_id=need_id, project_id=project_id, source=source, rating=value, created_at=given, **kw)
        return self.counted(self.add(rating))

    def alliance(self, code: str, lead_org_id: int, status: AllianceStatus, created: datetime) -> int:
        return self.add(
            Alliance(
                name=f"{code}联合体",
                theme_code="grassroots_governance",
                lead_org_id=lead_org_id,
                grid_id=self.tree[code].id,
                status=status,
                created_at=created,
                updated_at=created,
            )
        )

    def meeting(self, alliance_id: int, org_id: int, held: datetime, status=ActivityStatus.HELD) -> int:
        return self.add(
            Activity(
                org_id=org_id,
                alliance_id=alliance_id,
                kind_code="alliance_meeting",
                title="联席会议",
                held_at=held,
                hours=Decimal(2),
                status=status,
            )
        )

    def check_in(
        self,
        member_id: str,
        org_id: int,
        code: str,
        status: CheckInStatus,
        decided: datetime | None,
        ended_on: date | None = None,
    ) -> int:
        return self.add(
            CheckIn(
                kind=CheckInKind.MEMBER,
                member_id=int(member_id),
                org_id=org_id,
                community_id=self.tree[code].id,
                status=status,
                decided_at=decided,
                ended_on=ended_on,
            )
        )

    def service(self, check_in_id: int, member_id: str, hours: str, when: datetime, withdrawn: bool = False) -> int:
        return self.add(
            ServiceRecord(
                check_in_id=check_in_id,
                member_id=int(member_id),
                kind=RecordKind.ACTIVITY,
                source_id=f"s{when.isoformat()}",
                title="服务",
                hours=Decimal(hours),
                occurred_at=when,
                withdrawn_at=when if withdrawn else None,
            )
        )

    def points(self, member_id: str, org_id: int, value: int, when: datetime) -> int:
        entry = PointEntry(
            member_id=int(member_id),
            org_id=org_id,
            points=value,
            rule_code="manual",
            source_type="manual",
            occurred_at=when,
        )
        return self.counted(self.add(entry))
