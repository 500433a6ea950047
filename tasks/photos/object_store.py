"""Photo bytes in an S3-compatible object store (MinIO, Aliyun OSS, Tencent COS, AWS S3), so every web machine
reads and writes the same photos (`ATTACHMENTS_STORAGE=s3`). The same three calls as the local disk
(`storage.Storage`); keys are the same random keys, under `ATTACHMENTS_S3_PREFIX`.

boto3 is imported only when this storage is chosen. Credentials come from ATTACHMENTS_S3_ACCESS_KEY_ID and
ATTACHMENTS_S3_SECRET_ACCESS_KEY when set, else from boto3's usual places (environment, instance role)."""

import shutil
import tempfile
from collections.abc import Mapping
from typing import IO, Any

from tasks.photos.imaging import CHUNK

# Photos are at most ATTACHMENTS_MAX_BYTES (10 MiB by default); past this much one is spooled to a temporary file.
SPOOL_BYTES = 1024 * 1024


class ObjectStoreStorage:
    def __init__(self, client: Any, bucket: str, prefix: str) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "ObjectStoreStorage":
        import boto3
        from botocore.config import Config

        client = boto3.client(
            "s3",
            endpoint_url=config["ATTACHMENTS_S3_ENDPOINT_URL"] or None,
            region_name=config["ATTACHMENTS_S3_REGION"] or None,
            aws_access_key_id=config["ATTACHMENTS_S3_ACCESS_KEY_ID"] or None,
            aws_secret_access_key=config["ATTACHMENTS_S3_SECRET_ACCESS_KEY"] or None,
            config=Config(
                s3={"addressing_style": config["ATTACHMENTS_S3_ADDRESSING_STYLE"]},
                connect_timeout=5,
                read_timeout=30,
                retries={"max_attempts": 3, "mode": "standard"},
            ),
        )
        return cls(client, config["ATTACHMENTS_S3_BUCKET"], config["ATTACHMENTS_S3_PREFIX"])

    def save(self, key: str, stream: IO[bytes]) -> None:
        # Read whole here, before anything is sent: the stream checks the image as it is read (and may refuse it),
        # and one PUT of a complete body is what makes the object appear whole or not at all.
        with tempfile.SpooledTemporaryFile(SPOOL_BYTES) as body:
            shutil.copyfileobj(stream, body, CHUNK)
            body.seek(0)
            self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=body)

    def open(self, key: str) -> IO[bytes]:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"]
        except self.client.exceptions.NoSuchKey:
            raise FileNotFoundError(key) from None

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def _key(self, key: str) -> str:
        return f"{self.prefix}{key}"
