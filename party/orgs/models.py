"""Party organisations: their own tree beside the territory's, each built on a grid unit or in a host unit."""

import enum
from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kernel.clock import utcnow
from kernel.db import BigId, UTCDateTime, str_enum
from kernel.extensions import db


class OrgKind(enum.StrEnum):
    PARTY_COMMITTEE = "party_committee"  # 党委 (街道大工委, 社区大党委)
    GENERAL_BRANCH = "general_branch"  # 党总支
    BRANCH = "branch"  # 党支部 (网格党支部)
    GROUP = "group"  # 党小组


class HostKind(enum.StrEnum):
    """The unit a non-territorial organisation is built in."""

    ORGAN = "organ"  # 机关
    STATE_ENTERPRISE = "state_enterprise"  # 国企
    SCHOOL = "school"  # 学校
    HOSPITAL = "hospital"  # 医院
    NON_PUBLIC = "non_public"  # 两新组织: non-public enterprises and social organisations


class PartyOrg(db.Model):
    __tablename__ = "party_orgs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[OrgKind] = mapped_column(str_enum(OrgKind), index=True)
    name: Mapped[str] = mapped_column(String(128))
    parent_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("party_orgs.id"), index=True)
    # "/1/5/": ancestors' ids then this organisation's, with a trailing separator (as grid units' paths).
    path: Mapped[str] = mapped_column(String(255), unique=True)
    # The member who is its secretary (书记); the constraint is added after party_members exists.
    secretary_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("party_members.id", use_alter=True, name="fk_party_orgs_secretary_id_party_members")
    )
    # Territorial: built on a grid unit (网格党支部 on a cell or community, 大工委 on a street). Otherwise a host.
    grid_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("grid_units.id"), index=True)
    host_kind: Mapped[HostKind | None] = mapped_column(str_enum(HostKind))
    host_name: Mapped[str | None] = mapped_column(String(128))
    host_address: Mapped[str | None] = mapped_column(String(255))
    host_lat: Mapped[float | None] = mapped_column(Float)  # WGS-84
    host_lng: Mapped[float | None] = mapped_column(Float)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, index=True)

    parent: Mapped["PartyOrg | None"] = relationship(remote_side=[id])


class PartyStaffPlacement(db.Model):
    """The organisation subtree a `party_staff` account manages (set by an admin after creating the account)."""

    __tablename__ = "party_staff_placements"

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id"), primary_key=True)
    org_id: Mapped[int] = mapped_column(BigId, ForeignKey("party_orgs.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    org: Mapped[PartyOrg] = relationship()
