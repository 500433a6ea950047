"""Photos in an S3-compatible object store (ATTACHMENTS_STORAGE=s3), against moto's in-process S3: the same HTTP
behaviour as on the local disk (upload, download with the same bytes and ETag, refusals leave nothing, purge
deletes), with the bytes in the bucket instead of the folder."""

import hashlib
import io
from datetime import timedelta
from pathlib import Path

import boto3
import pytest
from moto import mock_aws
from PIL import Image

from kernel.clock import utcnow
from kernel.config import load_settings
from kernel.extensions import db
from tasks.photos.service import purge_unlinked
from tasks.photos.storage import OBJECT_STORE_EXTENSION
from tests.support.http import assert_error

BUCKET = "grid-photos"
UPLOAD = "/api/v1/attachments"


@pytest.fixture
def bucket(app, monkeypatch):
    """A bucket in moto's S3, and the app pointed at it."""
    with mock_aws():
        s3 = boto3.client("s3", region_name="cn-north-1", aws_access_key_id="test", aws_secret_access_key="test")
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "cn-north-1"})
        settings = {
            "ATTACHMENTS_STORAGE": "s3",
            "ATTACHMENTS_S3_BUCKET": BUCKET,
            "ATTACHMENTS_S3_REGION": "cn-north-1",
            "ATTACHMENTS_S3_ACCESS_KEY_ID": "test",
            "ATTACHMENTS_S3_SECRET_ACCESS_KEY": "test",
            "ATTACHMENTS_S3_PREFIX": "photos/",
        }
        for name, value in settings.items():
            monkeypatch.setitem(app.config, name, value)
        app.extensions.pop(OBJECT_STORE_EXTENSION, None)
        yield s3
        app.extensions.pop(OBJECT_STORE_EXTENSION, None)


def objects(s3) -> list[str]:
    return [item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]


def files_in(folder: str) -> list[Path]:
    return sorted(path for path in Path(folder).rglob("*") if path.is_file())


def a_photo() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (10, 200, 90)).save(buffer, "JPEG")
    return buffer.getvalue()


def upload(client, headers, content: bytes):
    return client.post(
        UPLOAD, data={"file": (io.BytesIO(content), "scene.jpg")}, content_type="multipart/form-data", headers=headers
    )


def test_an_uploaded_photo_lands_in_the_bucket_and_not_on_disk(client, make_account, auth, bucket, app):
    worker = make_account("worker")
    on_disk = files_in(app.config["ATTACHMENTS_DIR"])
    response = upload(client, auth(worker), a_photo())
    assert response.status_code == 201, response.get_data(as_text=True)
    assert files_in(app.config["ATTACHMENTS_DIR"]) == on_disk
    (key,) = objects(bucket)
    assert key.startswith("photos/")
    stored = bucket.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    assert response.json["sha256"] == hashlib.sha256(stored).hexdigest()


def test_the_uploader_downloads_the_same_bytes_with_their_etag(client, make_account, auth, bucket):
    worker = make_account("worker")
    uploaded = upload(client, auth(worker), a_photo()).json
    response = client.get(f"{UPLOAD}/{uploaded['id']}", headers=auth(worker))
    assert response.status_code == 200
    assert response.mimetype == "image/jpeg"
    assert hashlib.sha256(response.data).hexdigest() == uploaded["sha256"]
    assert response.headers["ETag"] == f'"{uploaded["sha256"]}"'


def test_a_photo_whose_object_is_gone_is_404(client, make_account, auth, bucket):
    worker = make_account("worker")
    uploaded = upload(client, auth(worker), a_photo()).json
    for key in objects(bucket):
        bucket.delete_object(Bucket=BUCKET, Key=key)
    assert_error(client.get(f"{UPLOAD}/{uploaded['id']}", headers=auth(worker)), 404, "not_found")


def test_a_file_that_is_no_image_leaves_nothing_in_the_bucket(client, make_account, auth, bucket):
    worker = make_account("worker")
    response = upload(client, auth(worker), b"%PDF-1.7 not a photo")
    assert response.status_code == 415
    assert objects(bucket) == []


def test_purging_unattached_photos_deletes_their_objects(client, make_account, auth, bucket, app):
    worker = make_account("worker")
    upload(client, auth(worker), a_photo())
    with app.app_context():
        assert purge_unlinked(utcnow() + timedelta(minutes=1)) == 1
        db.session.commit()
    assert objects(bucket) == []


def test_an_unknown_storage_stops_the_start():
    with pytest.raises(ValueError, match="ATTACHMENTS_STORAGE"):
        load_settings({"ATTACHMENTS_STORAGE": "ftp", "SECRET_KEY": "k", "JWT_SECRET_KEY": "j"})
