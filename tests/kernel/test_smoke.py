def test_health_answers(client):
    assert client.get("/healthz").json == {"status": "ok"}
