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
    assert sorted(t["status"] for t in tickets) == ["assigned", "in_progress", "pending", "resolved"]
    queue = client.get("/api/v1/tickets?assignee=me", headers=login(client, "li.worker")).get_json()["items"]
    assert [(t["status"], t["allowed_actions"]) for t in queue] == [("assigned", ["accept", "return", "escalate"])]
    elsewhere = client.get("/api/v1/tickets", headers=login(client, "zhao.worker")).get_json()["items"]
    assert elsewhere == []


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
        resolved = db.session.scalars(select(Notification).where(Notification.template == "sms_ticket_resolved")).one()
        assert resolved.status == "sent"
