"""The hand-written account documents (`auth.schemas.user_document`) against the declared UserSchema and MeSchema.

The declared fields are the contract (the OpenAPI document comes from them); `dump` writes the same document by
hand for speed. Here both write every kind of account (no scope, a street, a worker with cells, a phone or none,
deactivated) and must agree to the byte; and what the HTTP API serves is the declared document.
"""

import pytest

from auth.models import Account
from auth.own import find_account_view, own_account
from auth.schemas import MeSchema, UserSchema
from kernel.extensions import db


@pytest.fixture
def varied_accounts(world, client):
    """The world's accounts, one with a phone and one deactivated besides."""
    admin = world.headers["admin"]
    phoned = client.patch(f"/api/v1/users/{world.id_of('supervisor')}", json={"phone": "13812345678"}, headers=admin)
    assert phoned.status_code == 200
    gone = client.patch(f"/api/v1/users/{world.id_of('far_volunteer')}", json={"active": False}, headers=admin)
    assert gone.status_code == 200
    return [account.id for account in world.accounts.values()]


@pytest.mark.parametrize("schema", [UserSchema(), MeSchema()], ids=["user", "me"])
def test_the_hand_written_document_is_the_declared_one(app, varied_accounts, schema):
    with app.test_request_context():
        accounts = [db.session.get(Account, account_id) for account_id in varied_accounts]
        for account in accounts:
            assert schema.dump(account) == schema.reference_dump(account), account.username
            assert app.json.dumps(schema.dump(account)) == app.json.dumps(schema.reference_dump(account))
        assert schema.dump(accounts, many=True) == schema.reference_dump(accounts, many=True)
        documents = schema.dump(accounts, many=True)
    # the control: the comparison covered the optional parts, set and unset
    assert {document["scope_grid"] is None for document in documents} == {True, False}
    assert {document["phone"] is None for document in documents} == {True, False}
    assert {document["active"] for document in documents} == {True, False}
    if isinstance(schema, MeSchema):
        assert {bool(document["grid_ids"]) for document in documents} == {True, False}


def test_the_api_serves_the_declared_documents(app, world, client, varied_accounts):
    me = client.get("/api/v1/auth/me", headers=world.headers["worker"])
    user = client.get(f"/api/v1/users/{world.id_of('supervisor')}", headers=world.headers["admin"])
    with app.test_request_context():
        worker = db.session.get(Account, world.accounts["worker"].id)
        supervisor = db.session.get(Account, world.accounts["supervisor"].id)
        assert me.get_json() == MeSchema().reference_dump(worker)
        assert user.get_json() == UserSchema().reference_dump(supervisor)
    assert me.get_json()["grid_ids"] == [str(world.tree["G1a"].id)]
    assert user.get_json()["phone"] == "13812345678"


def test_the_rows_the_reads_use_give_the_entitys_document(app, varied_accounts):
    """`/users/{id}` and `/auth/me` read plain rows (`auth.own`), not the entity: the same document either way."""
    with app.test_request_context():
        for account_id in varied_accounts:
            account = db.session.get(Account, account_id)
            assert UserSchema().dump(find_account_view(account_id)) == UserSchema().reference_dump(account)
            assert find_account_view(account_id).scope_path == account.scope_path
            if account.active:
                assert MeSchema().dump(own_account(account)) == MeSchema().reference_dump(account), account.username
        assert find_account_view(max(varied_accounts) + 1) is None
