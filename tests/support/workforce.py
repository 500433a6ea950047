"""Arranging the people in the field for the workforce tests: who works where, and their profiles.

The territory is conftest's `tree`: district D › streets S1, S2 › communities C1 (S1), C2 (S2) ›
cells G1a, G1b (C1), G2a (C2).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import Flask

from auth.models import Account
from grid.models import GridUnit
from kernel.clock import utcnow
from kernel.extensions import db
from tests.support.party import make_org, register_member
from workforce import service as workforce_service
from workforce.models import Employment

# Around Nanyang (宛城区), inside cell-sized distances: 0.001° of latitude is about 111 m.
LAT, LNG = 32.99, 112.53


@dataclass(frozen=True)
class Staff:
    admin: Account
    supervisor_in: Account  # street S1: covers C1, G1a, G1b
    supervisor_out: Account  # street S2
    worker: Account  # C1, cell G1a, with a profile
    other_worker: Account  # C1, cell G1b, with a profile
    far_worker: Account  # C2, cell G2a, with a profile
    volunteer_in: Account  # C1
    volunteer_out: Account  # C2
    worker_id: str
    other_worker_id: str
    far_worker_id: str

    def __getitem__(self, who: str) -> Account:
        """The account playing a role in a parametrized test: 'worker_self' is the worker, and so on."""
        return getattr(self, {"worker_self": "worker", "worker_other": "other_worker"}.get(who, who))


def add_profile(app: Flask, account: Account, *, employment: str = "full_time", on_duty: bool = False) -> str:
    """A worker profile stored directly; returns its id as the API shows it."""
    with app.app_context():
        profile = workforce_service.create_initial_profile(account.id, employment=Employment(employment))
        profile.on_duty = on_duty
        db.session.commit()
        return str(profile.id)


def build_staff(app: Flask, tree: dict[str, GridUnit], make_account: Callable[..., Account]) -> Staff:
    worker = make_account("worker", unit=tree["C1"], cells=[tree["G1a"]], display_name="李网格员", phone="13800000002")
    other = make_account("worker", unit=tree["C1"], cells=[tree["G1b"]], display_name="王网格员", phone="13800000003")
    far = make_account("worker", unit=tree["C2"], cells=[tree["G2a"]], display_name="赵网格员", phone="13800000004")
    # The worker is a party member: registered in the branch built on their community (党员亮身份 on the profile).
    register_member(app, make_org(app, "C1党支部", grid=tree["C1"]), "李网格员", account=worker)
    return Staff(
        admin=make_account("admin"),
        supervisor_in=make_account("supervisor", unit=tree["S1"]),
        supervisor_out=make_account("supervisor", unit=tree["S2"]),
        worker=worker,
        other_worker=other,
        far_worker=far,
        volunteer_in=make_account("volunteer", unit=tree["C1"]),
        volunteer_out=make_account("volunteer", unit=tree["C2"]),
        worker_id=add_profile(app, worker),
        other_worker_id=add_profile(app, other, employment="part_time"),
        far_worker_id=add_profile(app, far),
    )


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def now() -> datetime:
    """The application's now (tests may have moved the clock), to the second."""
    return utcnow().replace(microsecond=0)
