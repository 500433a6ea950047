"""Organisation life on record (全程纪实): recording, reading, correcting and cancelling activities with their
attendance, photos and changes; activity kinds; each role allowed and refused, in and out of scope.

The party side of the tickets' `world`: C1's branch (on community C1) holds 李网格员 (the worker's member) and
周秀兰 (no account); its group 第一党小组 holds 陈志愿者 (the volunteer's member). C2's branch (on C2) holds 王党员.
Party staff are placed on C1's branch (`staff`) and on C2's (`far_staff`); the supervisor covers street S1 (so
C1's organisations), far_supervisor S2.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from kernel.clock import utcnow
from kernel.events import bus_of
from kernel.extensions import db
from party.activities.events import AttendanceChanged
from party.activities.models import Activity, ActivityChange, Attendance
from party.points.models import PointEntry
from tasks.photos import service as photos
from tasks.photos.models import Attachment
from tests.support.activities import ACTIVITIES, KINDS, Party, build_party
from tests.support.http import assert_error
from tests.support.party import register_member


@pytest.fixture
def party(app, world, make_account, auth) -> Any:
    yield from build_party(app, world, make_account, auth)


def count(app, model: Any) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def ledger(party: Party, who: str = "worker") -> list[tuple[int, str | None, str]]:
    items = party.get(f"/api/v1/party/members/{party.members[who]}/points").get_json()["items"]
    return [(item["points"], item["source_id"], item["occurred_at"]) for item in items]


# --- recording -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["admin", "staff"])
def test_admins_and_the_staff_over_the_organisation_record_an_activity(party, who):
    activity = party.record(who)
    assert activity["org_id"] == str(party.orgs["C1"].id)
    assert (activity["kind"], activity["kind_name"], activity["status"]) == ("theme_day", "主题党日", "held")
    assert activity["held_at"] == "2026-12-05T01:00:00Z"
    assert (activity["hours"], activity["place"], activity["minutes"]) == (
        2.0,
        "医圣祠社区党群服务中心",
        "学习全会精神，开展楼道清洁",
    )
    assert [(m["member_id"], m["name"], m["points"]) for m in activity["present"]] == [
        (party.members["worker"], "李网格员", 2),
        (party.members["volunteer"], "陈志愿者", 2),
    ]
    assert activity["absent"] == [{"member_id": party.members["retired"], "name": "周秀兰", "reason": "病假"}]
    assert (activity["points"], activity["photo_ids"], activity["cancel_reason"]) == (4, [], None)
    assert activity["created_by"] is not None and activity["created_at"].endswith("Z")


@pytest.mark.parametrize("who", ["supervisor", "worker", "volunteer"])
def test_others_record_no_activity(app, party, who):
    assert_error(party.post(ACTIVITIES, who, **party.body()), 403, "forbidden")
    assert count(app, Activity) == 0


def test_staff_record_nothing_for_an_organisation_outside_their_subtree(app, party):
    assert_error(party.post(ACTIVITIES, "far_staff", **party.body()), 403, "forbidden")
    assert_error(party.post(ACTIVITIES, "staff", **party.body("C2", present=[], absent=[])), 403, "forbidden")
    assert count(app, Activity) == 0


def test_a_group_records_its_own_meeting_with_its_members(party):
    activity = party.record("staff", org="group", kind="group_meeting", present=[party.members["volunteer"]], absent=[])
    assert activity["org_name"] == "第一党小组"


@pytest.mark.parametrize(
    "fields",
    [
        {"held_at": "2026-12-05T09:00:00"},  # no offset
        {"held_at": "2026-12-11T09:00:00+08:00"},  # in the future
        {"hours": "2"},
        {"hours": 0},
        {"hours": 24.5},
        {"hours": 1.234},
        {"kind": "birthday"},
        {"kind": "Theme Day"},
        {"title": " "},
        {"org_id": "999999"},
        {"org_id": 1},
        {"present": [1]},
        {"absent": [{"member_id": "1"}]},
        {"absent": [{"member_id": "1", "reason": "病假", "extra": 1}]},
        {"photo_ids": ["999999"]},
        {"colour": "red"},
    ],
)
def test_a_bad_activity_is_422_and_nothing_is_written(app, party, fields):
    assert_error(party.post(ACTIVITIES, **party.body(**fields)), 422, "validation_error")
    assert (count(app, Activity), count(app, Attendance), count(app, ActivityChange), count(app, PointEntry)) == (
        0,
        0,
        0,
        0,
    )


def test_attendance_names_the_members_outside_the_organisations_subtree(app, party):
    # The group's activity may not mark its branch's members; nobody may mark another branch's.
    body = party.body("group", present=[party.members["volunteer"], party.members["far"]])
    error = assert_error(party.post(ACTIVITIES, **body), 422, "validation_error")
    assert error["details"] == {
        "present": [f"{party.members['far']}: not a member of 第一党小组 or below"],
        "absent": [f"{party.members['retired']}: not a member of 第一党小组 or below"],
    }
    assert count(app, Activity) == 0


def test_a_member_is_not_both_present_and_absent(app, party):
    worker = party.members["worker"]
    body = party.body(absent=[{"member_id": worker, "reason": "出差"}])
    error = assert_error(party.post(ACTIVITIES, **body), 422, "validation_error")
    assert error["details"] == {"absent": [f"{worker}: also marked present"]}
    twice = party.body(
        present=[], absent=[{"member_id": worker, "reason": "出差"}, {"member_id": worker, "reason": "病假"}]
    )
    assert assert_error(party.post(ACTIVITIES, **twice), 422, "validation_error")["details"] == {
        "absent": [f"{worker}: listed twice"]
    }
    assert count(app, Attendance) == 0


def test_a_member_who_left_before_the_day_cannot_be_marked(app, party):
    left = party.patch(f"/api/v1/party/members/{party.members['retired']}", left_on="2026-12-01", active=False)
    assert left.status_code == 200, left.get_json()
    error = assert_error(party.post(ACTIVITIES, **party.body()), 422, "validation_error")
    assert error["details"] == {"absent": [f"{party.members['retired']}: not a member of C1党支部 or below"]}
    earlier = party.record(held_at="2026-11-28T09:00:00+08:00")  # still a member then
    assert [m["member_id"] for m in earlier["absent"]] == [party.members["retired"]]


def test_an_inactive_kind_takes_no_new_activity(party):
    assert party.patch(f"{KINDS}/theme_day", active=False).status_code == 200
    assert_error(party.post(ACTIVITIES, **party.body()), 422, "validation_error")


def test_an_idempotent_replay_records_one_activity(app, party):
    headers = {**party.headers["staff"], "Idempotency-Key": "activity-1"}
    first = party.client.post(ACTIVITIES, json=party.body(), headers=headers)
    again = party.client.post(ACTIVITIES, json=party.body(), headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.get_json()["id"] == again.get_json()["id"]
    assert (count(app, Activity), count(app, PointEntry)) == (1, 2)


# --- reading ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("admin", 200),
        ("staff", 200),
        ("supervisor", 200),
        ("community_supervisor", 200),
        ("worker", 200),  # marked present
        ("volunteer", 200),  # marked present, in the group
        ("far_staff", 404),
        ("far_supervisor", 404),
        ("other_worker", 404),  # no member record
        ("far_volunteer", 404),
    ],
)
def test_an_activity_is_read_by_its_scope_and_the_members_marked_at_it(party, who, status):
    activity = party.record()
    response = party.get(f"{ACTIVITIES}/{activity['id']}", who)
    assert response.status_code == status
    if status == 200:
        assert response.get_json() == activity
    changes = party.get(f"{ACTIVITIES}/{activity['id']}/changes", who)
    assert changes.status_code == status


def test_a_member_marked_absent_reads_the_activity_too(app, party, make_account, auth):
    account = make_account("volunteer", unit=party.world.tree["C1"])
    member = register_member(app, party.orgs["C1"], "请假的党员", account=account)
    activity = party.record(absent=[{"member_id": member, "reason": "出差"}])
    assert party.client.get(f"{ACTIVITIES}/{activity['id']}", headers=auth(account)).status_code == 200
    mine = party.client.get("/api/v1/party/me/activities", headers=auth(account)).get_json()["items"]
    assert [item["id"] for item in mine] == [activity["id"]]


def test_lists_show_the_activities_of_the_callers_scope_latest_first(party):
    old = party.record(held_at="2026-11-20T19:00:00+08:00", title="十一月支委会", kind="committee_meeting")
    new = party.record()
    group = party.record(org="group", kind="group_meeting", present=[party.members["volunteer"]], absent=[])
    far = party.record(org="C2", present=[party.members["far"]], absent=[])

    def ids(who: str, **params: Any) -> list[str]:
        response = party.get(ACTIVITIES, who, **params)
        assert response.status_code == 200, response.get_json()
        return [item["id"] for item in response.get_json()["items"]]

    assert ids("admin") == [far["id"], group["id"], new["id"], old["id"]]  # the same moment: newest id first
    assert ids("staff") == ids("supervisor") == [group["id"], new["id"], old["id"]]
    assert ids("far_staff") == ids("far_supervisor") == [far["id"]]
    assert ids("admin", org_id=party.orgs["C1"].id) == [group["id"], new["id"], old["id"]]
    assert ids("admin", org_id=party.orgs["group"].id) == [group["id"]]
    assert ids("admin", kind="committee_meeting") == [old["id"]]
    assert ids("admin", **{"from": "2026-11-01", "to": "2026-11-30"}) == [old["id"]]
    assert ids("admin", **{"from": "2026-12-05", "to": "2026-12-05"}) == [far["id"], group["id"], new["id"]]
    first = party.get(ACTIVITIES, "staff", limit=2).get_json()
    rest = party.get(ACTIVITIES, "staff", limit=2, cursor=first["next_cursor"]).get_json()
    assert [item["id"] for item in first["items"] + rest["items"]] == [group["id"], new["id"], old["id"]]
    assert rest["next_cursor"] is None


def test_lists_refuse_whom_and_what_they_should(party):
    assert_error(party.get(ACTIVITIES, "worker"), 403, "forbidden")
    assert_error(party.get(ACTIVITIES, "far_staff", org_id=party.orgs["C1"].id), 404, "not_found")
    assert_error(party.get(ACTIVITIES, **{"from": "2026-12-05", "to": "2026-12-01"}), 422, "validation_error")
    assert_error(party.get(ACTIVITIES, status="done"), 422, "validation_error")
    assert_error(party.get(ACTIVITIES, colour="red"), 422, "validation_error")


@pytest.mark.parametrize("bounds", [{"from": "0001-01-01"}, {"to": "9999-12-31"}])
@pytest.mark.parametrize(("path", "who"), [(ACTIVITIES, "admin"), ("/api/v1/party/me/activities", "worker")])
def test_days_past_the_calendar_are_422_not_a_server_error(party, path, who, bounds):
    """Found by schemathesis: Beijing midnight of 0001-01-01 is before the first instant Python can hold."""
    assert_error(party.get(path, who, **bounds), 422, "validation_error")


def test_a_member_lists_the_activities_they_were_marked_at(party):
    marked = party.record()
    party.record(present=[party.members["volunteer"]], absent=[], title="没有李网格员")
    mine = party.get("/api/v1/party/me/activities", "worker")
    assert mine.status_code == 200
    assert [item["id"] for item in mine.get_json()["items"]] == [marked["id"]]
    assert_error(party.get("/api/v1/party/me/activities", "other_worker"), 404, "not_found")


# --- correcting --------------------------------------------------------------------------------------------


def test_a_correction_is_on_record_and_moves_the_points_by_the_difference(app, party):
    activity = party.record("staff")
    url = f"{ACTIVITIES}/{activity['id']}"
    worker, volunteer, retired = party.members["worker"], party.members["volunteer"], party.members["retired"]
    corrected = party.patch(
        url,
        "staff",
        title="十二月主题党日（补记）",
        present=[volunteer, retired],
        absent=[{"member_id": worker, "reason": "临时出差"}],
        note="核对签到表后更正",
    )
    assert corrected.status_code == 200, corrected.get_json()
    body = corrected.get_json()
    assert [(m["member_id"], m["points"]) for m in body["present"]] == [(retired, 2), (volunteer, 2)]  # by member
    assert body["absent"] == [{"member_id": worker, "name": "李网格员", "reason": "临时出差"}]
    assert body["title"] == "十二月主题党日（补记）"
    assert ledger(party) == [(2, activity["id"], "2026-12-05T01:00:00Z"), (-2, activity["id"], "2026-12-05T01:00:00Z")]
    changes = party.get(f"{url}/changes", "supervisor").get_json()["items"]
    assert [(c["action"], c["actor_id"]) for c in changes] == [
        ("create", body["created_by"]),
        ("update", body["created_by"]),
    ]
    assert changes[1]["note"] == "核对签到表后更正"
    assert changes[1]["changes"] == {
        "title": {"from": "十二月主题党日", "to": "十二月主题党日（补记）"},
        "present": {"added": [retired], "removed": [worker]},
        "absent": {
            "added": [{"member_id": worker, "reason": "临时出差"}],
            "removed": [{"member_id": retired, "reason": "病假"}],
        },
    }
    assert changes[0]["changes"]["present"] == {"added": [worker, volunteer], "removed": []}


def test_a_correction_publishes_only_the_difference(app, party, monkeypatch):
    seen: list[AttendanceChanged] = []
    bus = bus_of(app)
    handlers = dict(bus._handlers)
    handlers[AttendanceChanged] = [*handlers.get(AttendanceChanged, []), seen.append]
    monkeypatch.setattr(bus, "_handlers", handlers)
    worker, volunteer, retired = (int(party.members[who]) for who in ("worker", "volunteer", "retired"))
    activity = party.record(hours=1.5)
    url = f"{ACTIVITIES}/{activity['id']}"
    party.patch(url, present=[str(volunteer), str(retired)], absent=[])
    party.patch(url, minutes="补充记录")  # no attendance change: nothing published
    party.patch(url, held_at="2026-12-06T09:00:00+08:00")  # present marks given again, as the activity now is
    party.post(f"{url}/cancel", reason="误录，实际未举行")
    first_day, second_day = datetime(2026, 12, 5, 1, tzinfo=UTC), datetime(2026, 12, 6, 1, tzinfo=UTC)
    both = tuple(sorted((volunteer, retired)))
    assert [(e.held_at, e.present_added, e.present_removed) for e in seen] == [
        (first_day, (worker, volunteer), ()),
        (first_day, (retired,), (worker,)),
        (first_day, (), both),
        (second_day, both, ()),
        (second_day, (), both),
    ]
    assert {(e.activity_id, e.org_id, e.kind, e.title, str(e.hours)) for e in seen} == {
        (int(activity["id"]), party.orgs["C1"].id, "theme_day", "十二月主题党日", "1.50")
    }


def test_a_correction_checks_if_match_and_a_conflict_leaves_it_unchanged(party):
    activity = party.record()
    url = f"{ACTIVITIES}/{activity['id']}"
    etag = party.get(url).headers["ETag"]
    assert party.patch(url, headers={"If-Match": etag}, place="社区会议室").status_code == 200
    assert_error(party.patch(url, headers={"If-Match": etag}, place="别处"), 412, "precondition_failed")
    assert party.get(url).get_json()["place"] == "社区会议室"


@pytest.mark.parametrize(
    ("who", "status", "code"),
    [("supervisor", 403, "forbidden"), ("worker", 403, "forbidden"), ("far_staff", 404, "not_found")],
)
def test_others_correct_no_activity(party, who, status, code):
    activity = party.record()
    assert_error(party.patch(f"{ACTIVITIES}/{activity['id']}", who, title="改"), status, code)
    assert_error(party.post(f"{ACTIVITIES}/{activity['id']}/cancel", who, reason="不应取消"), status, code)
    assert party.get(f"{ACTIVITIES}/{activity['id']}").get_json() == activity


@pytest.mark.parametrize(
    "fields",
    [
        {"present": ["999999"]},
        {"absent": [{"member_id": "1", "reason": ""}]},
        {"hours": -1},
        {"held_at": "2027-01-01T00:00:00+08:00"},
        {"org_id": "1"},  # an activity stays with its organisation
        {"kind": "no_such_kind"},
    ],
)
def test_a_bad_correction_is_422_and_changes_nothing(app, party, fields):
    activity = party.record()
    assert_error(party.patch(f"{ACTIVITIES}/{activity['id']}", **fields), 422, "validation_error")
    assert party.get(f"{ACTIVITIES}/{activity['id']}").get_json() == activity
    assert count(app, ActivityChange) == 1


def test_a_correction_moving_a_present_member_to_absent_must_say_both(party):
    activity = party.record()
    worker = party.members["worker"]
    response = party.patch(f"{ACTIVITIES}/{activity['id']}", absent=[{"member_id": worker, "reason": "出差"}])
    assert assert_error(response, 422, "validation_error")["details"] == {"absent": [f"{worker}: also marked present"]}


def test_marks_already_recorded_stand_when_the_member_has_since_left(party):
    activity = party.record()
    party.patch(f"/api/v1/party/members/{party.members['retired']}", left_on="2026-12-08", active=False)
    response = party.patch(f"{ACTIVITIES}/{activity['id']}", place="社区会议室")
    assert response.status_code == 200, response.get_json()
    assert [m["member_id"] for m in response.get_json()["absent"]] == [party.members["retired"]]


# --- cancelling --------------------------------------------------------------------------------------------


def test_a_cancelled_activity_stays_on_record_and_gives_its_points_back(party):
    activity = party.record("staff")
    url = f"{ACTIVITIES}/{activity['id']}"
    cancelled = party.post(f"{url}/cancel", "staff", reason="误录，实际未举行")
    assert cancelled.status_code == 200, cancelled.get_json()
    body = cancelled.get_json()
    assert (body["status"], body["cancel_reason"], body["points"]) == ("cancelled", "误录，实际未举行", 0)
    assert [m["member_id"] for m in body["present"]] == [party.members["worker"], party.members["volunteer"]]
    assert [points for points, _, _ in ledger(party)] == [2, -2]
    assert_error(party.patch(url, "staff", title="再改"), 409, "conflict")
    assert_error(party.post(f"{url}/cancel", "staff", reason="再次取消"), 409, "conflict")
    assert [c["action"] for c in party.get(f"{url}/changes").get_json()["items"]] == ["create", "cancel"]
    assert [item["id"] for item in party.get(ACTIVITIES, status="cancelled").get_json()["items"]] == [activity["id"]]
    assert party.get(ACTIVITIES, status="held").get_json()["items"] == []


def test_cancelling_needs_a_reason(party):
    activity = party.record()
    assert_error(party.post(f"{ACTIVITIES}/{activity['id']}/cancel"), 422, "validation_error")
    assert party.get(f"{ACTIVITIES}/{activity['id']}").get_json()["status"] == "held"


# --- photos ------------------------------------------------------------------------------------------------


def test_photos_are_linked_at_recording_and_added_by_a_correction(party):
    first, second = party.upload(), party.upload()
    activity = party.record("staff", photo_ids=[first])
    assert activity["photo_ids"] == [first]
    added = party.patch(f"{ACTIVITIES}/{activity['id']}", "staff", photo_ids=[first, second])
    assert added.get_json()["photo_ids"] == [first, second]
    changes = party.get(f"{ACTIVITIES}/{activity['id']}/changes").get_json()["items"]
    assert changes[-1]["changes"] == {"photo_ids": {"added": [second]}}


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("admin", 200),
        ("staff", 200),
        ("supervisor", 200),
        ("worker", 200),  # marked present
        ("far_staff", 404),
        ("far_supervisor", 404),
        ("other_worker", 404),
    ],
)
def test_an_activitys_photo_is_seen_by_whoever_reads_the_activity(party, who, status):
    photo = party.upload()
    party.record("staff", photo_ids=[photo])
    assert party.get(f"/api/v1/attachments/{photo}", who).status_code == status


def test_photos_held_by_an_activity_are_never_purged(app, party):
    held, loose = party.upload(), party.upload()
    party.record("staff", photo_ids=[held])
    with app.app_context():
        assert photos.purge_unlinked(utcnow() + timedelta(seconds=1)) == 1
        db.session.commit()
        assert db.session.get(Attachment, int(held)) is not None
        assert db.session.get(Attachment, int(loose)) is None


def test_only_the_uploaders_own_unlinked_photos_are_linked(app, party):
    theirs = party.upload("staff")
    on_ticket = party.upload("admin")
    party.world.ticket("admin", photos=[on_ticket])
    elsewhere = party.upload("admin")
    party.record(photo_ids=[elsewhere], title="另一次活动")
    error = assert_error(
        party.post(ACTIVITIES, **party.body(photo_ids=[theirs, on_ticket, elsewhere])), 422, "validation_error"
    )
    assert error["details"] == {
        "photo_ids": [
            f"{theirs}: no such photo of yours",
            f"{on_ticket}: already attached to a ticket",
            f"{elsewhere}: already attached to another record",
        ]
    }
    assert count(app, Activity) == 1


def test_a_photo_held_by_an_activity_is_not_taken_by_a_ticket(party):
    photo = party.upload("admin")
    party.record(photo_ids=[photo])
    response = party.world.client.post(
        "/api/v1/requests",
        json={
            "channel": "patrol",
            "category_code": "CITY.GARBAGE",
            "description": "楼下垃圾",
            "grid_id": str(party.world.tree["G1a"].id),
            "photos": [photo],
        },
        headers=party.headers["admin"],
    )
    assert assert_error(response, 422, "validation_error")["details"] == {
        "photos": [f"{photo}: already attached to another record"]
    }


# --- kinds ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["admin", "staff", "supervisor", "worker", "volunteer"])
def test_everyone_signed_in_reads_the_kinds(party, who):
    response = party.get(KINDS, who)
    assert response.status_code == 200
    assert [(k["code"], k["name"], k["yearly_minimum"]) for k in response.get_json()["items"]] == [
        ("branch_meeting", "支部党员大会", 4),
        ("committee_meeting", "支委会", 12),
        ("group_meeting", "党小组会", 12),
        ("party_lecture", "党课", 4),
        ("theme_day", "主题党日", 12),
        ("service", "志愿服务", 0),
    ]
    assert party.get(f"{KINDS}/party_lecture", who).get_json()["name"] == "党课"


def test_only_admins_add_and_change_kinds(party):
    body = {"code": "study", "name": "专题学习", "yearly_minimum": 2, "position": 7}
    assert_error(party.post(KINDS, "staff", **body), 403, "forbidden")
    assert_error(party.patch(f"{KINDS}/service", "staff", yearly_minimum=4), 403, "forbidden")
    created = party.post(KINDS, **body)
    assert created.status_code == 201, created.get_json()
    assert created.get_json() == {**body, "active": True}
    assert_error(party.post(KINDS, **body), 409, "conflict")
    changed = party.patch(f"{KINDS}/study", yearly_minimum=6)
    assert changed.get_json()["yearly_minimum"] == 6
    assert party.record(kind="study")["kind_name"] == "专题学习"


@pytest.mark.parametrize(
    "fields",
    [{"code": "Bad Code"}, {"name": " "}, {"yearly_minimum": -1}, {"yearly_minimum": "4"}, {"extra": 1}],
)
def test_a_bad_kind_is_422_and_nothing_is_written(party, fields):
    body = {"code": "study", "name": "专题学习", **fields}
    assert_error(party.post(KINDS, **body), 422, "validation_error")
    assert_error(party.get(f"{KINDS}/study"), 404, "not_found")


def test_an_unknown_kind_is_404(party):
    assert_error(party.get(f"{KINDS}/nothing"), 404, "not_found")
    assert_error(party.patch(f"{KINDS}/nothing", name="无"), 404, "not_found")


@pytest.mark.parametrize("who", ["staff", "supervisor", "worker", "volunteer"])
def test_none_but_admins_write_kinds(party, who):
    assert_error(party.post(KINDS, who, code="study", name="专题学习"), 403, "forbidden")
    assert_error(party.patch(f"{KINDS}/theme_day", who, yearly_minimum=1), 403, "forbidden")
    assert party.get(f"{KINDS}/theme_day").get_json()["yearly_minimum"] == 12


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", ACTIVITIES),
        ("post", ACTIVITIES),
        ("get", f"{ACTIVITIES}/1"),
        ("patch", f"{ACTIVITIES}/1"),
        ("post", f"{ACTIVITIES}/1/cancel"),
        ("get", f"{ACTIVITIES}/1/changes"),
        ("get", "/api/v1/party/me/activities"),
        ("get", "/api/v1/party/orgs/1/life"),
        ("get", KINDS),
    ],
)
def test_every_activity_endpoint_needs_a_token(client, method, url):
    assert_error(getattr(client, method)(url, json={} if method != "get" else None), 401, "unauthorized")
