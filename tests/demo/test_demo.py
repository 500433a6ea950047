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
