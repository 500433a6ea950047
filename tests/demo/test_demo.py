"""The demo district `make run` seeds: logins that work and tickets at several stages."""

from demo.seed import DEMO_PASSWORD


def login(client, username):
    response = client.post("/api/v1/auth/login", json={"username": username, "password": DEMO_PASSWORD})
    assert response.status_code == 200, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['access_token']}"}


def test_the_demo_seed_fills_an_empty_database_once(app, client):
    runner = app.test_cli_runner()
    assert "demo district seeded" in runner.invoke(args=["seed-demo"]).output
    assert "skipped" in runner.invoke(args=["seed-demo"]).output
    supervisor = login(client, "zhang.supervisor")
    tickets = client.get("/api/v1/tickets", headers=supervisor).get_json()["items"]
    # 2 served by 冯老师 (双报到); a pending one promoted into the alliance's lighting need (its project rates it)
    statuses = ["assigned", "closed", "in_progress", "pending", "pending", "resolved", "resolved"]
    assert sorted(t["status"] for t in tickets) == statuses
    queue = client.get("/api/v1/tickets?assignee=me", headers=login(client, "li.worker")).get_json()["items"]
    assert [(t["status"], t["allowed_actions"]) for t in queue] == [("assigned", ["accept", "return", "escalate"])]
    elsewhere = client.get("/api/v1/tickets", headers=login(client, "zhao.worker")).get_json()["items"]
    assert [(t["status"], t["allowed_actions"]) for t in elsewhere] == [("pending", ["take"])]  # the lighting need's


def test_the_demo_has_a_party_layer_with_a_staff_login_and_members_of_every_class(app, client):
    app.test_cli_runner().invoke(args=["seed-demo"])
    staff = login(client, "sun.party")
    orgs = client.get("/api/v1/party/orgs", query_string={"limit": 100}, headers=staff).get_json()["items"]
    assert {org["kind"] for org in orgs} == {"party_committee", "branch", "group"}
    assert any(org["host"] is not None for org in orgs)
    members = client.get("/api/v1/party/members", query_string={"limit": 100}, headers=staff).get_json()["items"]
    assert {member["class"] for member in members} == {"serving", "retired", "mobile", "difficulty"}
    assert all("****" in (member["phone"] or "****") for member in members)  # party staff never see numbers
    me = client.get("/api/v1/workers/me", headers=login(client, "li.worker")).get_json()
    assert me["party_member"] is True
    cell = next(org for org in orgs if org["name"] == "医圣祠社区第一网格党支部")
    unit = client.get(f"/api/v1/grids/{cell['grid_id']}", headers=login(client, "admin")).get_json()
    assert unit["party_branch"] == {"name": "医圣祠社区第一网格党支部", "secretary": "李网格员"}


def test_the_demo_has_a_month_of_activities_with_attendance_and_their_points(app, client):
    app.test_cli_runner().invoke(args=["seed-demo"])
    staff = login(client, "sun.party")
    listed = client.get("/api/v1/party/activities", query_string={"limit": 100}, headers=staff).get_json()["items"]
    assert len(listed) == 9  # 8 of the branches and the street alliance's joint meeting
    assert {item["kind"] for item in listed} == {
        "alliance_meeting",
        "committee_meeting",
        "theme_day",
        "group_meeting",
        "party_lecture",
        "service",
    }
    assert all(item["present"] for item in listed if item["kind"] != "alliance_meeting")  # organisations meet there
    assert any(item["absent"] for item in listed)
    worker = login(client, "li.worker")
    mine = client.get("/api/v1/party/me/activities", headers=worker).get_json()["items"]
    assert len(mine) == 4
    points = client.get("/api/v1/party/me/points", headers=worker).get_json()
    assert points["total"] == 8
    assert {item["source_type"] for item in points["items"]} == {"activity"}
    branch = next(item["org_id"] for item in listed if item["org_name"] == "医圣祠社区第一网格党支部")
    group_meeting = next(item for item in listed if item["kind"] == "group_meeting")
    year = group_meeting["held_at"][:4]  # 19:00 in Beijing: the same day in UTC
    life = client.get(f"/api/v1/party/orgs/{branch}/life?year={year}", headers=staff).get_json()
    assert {kind["code"]: kind["held"] for kind in life["kinds"]}["group_meeting"] == 1  # held by its group


def test_the_demo_has_reporting_members_of_the_school_with_service_records(app, client):
    app.test_cli_runner().invoke(args=["seed-demo"])
    teacher = login(client, "feng.teacher")
    [check_in] = client.get("/api/v1/party/me/check-ins", headers=teacher).get_json()["items"]
    assert check_in["status"] == "confirmed"
    records = client.get(f"/api/v1/party/check-ins/{check_in['id']}/records", headers=teacher).get_json()["items"]
    assert [(record["kind"], record["hours"], record["rating"]) for record in records] == [
        ("ticket", "1.00", 5),
        ("ticket", "1.00", None),
    ]
    pending = client.get(
        "/api/v1/party/check-ins", query_string={"status": "pending"}, headers=login(client, "zhang.supervisor")
    ).get_json()["items"]
    assert len(pending) == 1 and pending[0]["kind"] == "member"
    units = client.get("/api/v1/party/check-ins", query_string={"kind": "unit"}, headers=login(client, "sun.party"))
    assert [item["status"] for item in units.get_json()["items"]] == ["confirmed"]


def test_demo_residents_have_numbers_of_their_own_and_their_resolved_sms_has_its_place(app, client, monkeypatch):
    from sqlalchemy import select

    from kernel.extensions import db
    from notifications.outbox.models import Notification
    from tests.support.notify import run_once
    from tests.support.tasks import RESIDENT_PHONE

    app.test_cli_runner().invoke(args=["seed-demo"])
    supervisor = login(client, "zhang.supervisor")
    tickets = client.get("/api/v1/tickets", headers=supervisor).get_json()["items"]
    phones = []
    for ticket in tickets:
        contact = client.get(f"/api/v1/tickets/{ticket['id']}/contact?reason=demo", headers=supervisor)
        phones.append(contact.get_json()["phone"])
    assert len(set(phones)) == len(tickets) and RESIDENT_PHONE not in phones  # not README's example number
    monkeypatch.setitem(app.config, "NOTIFY_QUIET_HOURS", "")
    run_once(app)
    with app.app_context():
        resolved = db.session.scalars(select(Notification).where(Notification.template == "sms_ticket_resolved")).all()
        assert len(resolved) == 3 and {message.status for message in resolved} == {"sent"}  # 冯老师 resolved two


def test_the_demo_has_a_street_alliance_with_its_lists(app, client):
    app.test_cli_runner().invoke(args=["seed-demo"])
    supervisor = login(client, "zhang.supervisor")
    [alliance] = client.get("/api/v1/party/alliances", headers=supervisor).get_json()["items"]
    assert (alliance["name"], alliance["status"], alliance["lead_org_name"]) == (
        "仲景街道党建联合体",
        "active",
        "仲景街道大工委",
    )
    members = client.get(f"/api/v1/party/alliances/{alliance['id']}/members", headers=supervisor).get_json()["items"]
    assert {m["host_kind"] for m in members} == {None, "hospital", "school", "non_public"}
    assert {m["org_name"] for m in members} >= {"南阳市中心医院党委", "红苑物业服务公司党支部", "医圣祠社区大党委"}
    [meeting] = client.get(f"/api/v1/party/alliances/{alliance['id']}/meetings", headers=supervisor).get_json()["items"]
    assert len(meeting["present_orgs"]) == len(members)
    needs = client.get("/api/v1/party/needs", query_string={"limit": 100}, headers=supervisor).get_json()["items"]
    assert sorted((n["kind"], n["status"]) for n in needs) == [
        ("need", "in_project"),
        ("need", "met"),
        ("need", "open"),
        ("wish", "claimed"),
    ]
    projects = client.get("/api/v1/party/projects", headers=supervisor).get_json()["items"]
    assert sorted(p["status"] for p in projects) == ["done", "under_way"]
    resources = client.get("/api/v1/party/resources", headers=supervisor).get_json()["items"]
    assert len(resources) == 4
    report = client.get(f"/api/v1/party/alliances/{alliance['id']}/report", headers=supervisor).get_json()
    assert report["meetings"]["held"] == 1
    assert report["ratings"]["residents"]["satisfied"]["numerator"] == 1


def test_the_demo_asks_the_resident_behind_the_done_project_to_rate_it(app, client):
    from sqlalchemy import select

    from kernel.extensions import db
    from notifications.outbox.models import Notification
    from notifications.outbox.service import text_of

    app.test_cli_runner().invoke(args=["seed-demo"])
    with app.app_context():
        [ask] = db.session.scalars(select(Notification).where(Notification.template == "sms_project_rate_request"))
        assert ask.recipient_phone == "13700000107"
        assert "老旧楼道照明改造" in text_of(ask)
    owner = client.get("/api/v1/party/projects", headers=login(client, "zhang.supervisor")).get_json()["items"]
    done = next(project for project in owner if project["status"] == "done")
    points = client.get(f"/api/v1/party/orgs/{done['owner_org_id']}/points", headers=login(client, "sun.party"))
    assert [item["rule_code"] for item in points.get_json()["items"]] == ["project_org_rated_good"] * 2  # 5 and 4
