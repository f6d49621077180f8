"""A local S3-compatible server for storage tests: moto in server mode, on loopback.

``s3_server`` starts one server for the test session on a free port of 127.0.0.1;
``s3_storage`` gives a test its own empty bucket and switches Django's default storage
to django-storages' S3 backend pointed at it, as ``AWS_STORAGE_BUCKET_NAME`` and
``AWS_S3_ENDPOINT_URL`` do in production. Real HTTP, real signatures, no mocks of our
code. Import both fixtures into a test module to use them.
"""

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

REGION = "us-east-1"
ACCESS_KEY = "testing"
SECRET_KEY = "testing"  # moto accepts any credentials


@dataclass
class S3Server:
    endpoint: str

    def client(self) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )


@dataclass
class S3Bucket:
    server: S3Server
    name: str

    def client(self) -> Any:
        return self.server.client()

    def keys(self) -> list[str]:
        listed = self.client().list_objects_v2(Bucket=self.name)
        return sorted(entry["Key"] for entry in listed.get("Contents", []))

    def head(self, key: str) -> dict[str, Any]:
        head: dict[str, Any] = self.client().head_object(Bucket=self.name, Key=key)
        return head


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield S3Server(endpoint=f"http://{host}:{port}")
    finally:
        server.stop()


@pytest.fixture
def s3_storage(settings: Any, s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> S3Bucket:
    # A proxy from the environment must not carry loopback traffic away.
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    bucket = S3Bucket(server=s3_server, name=f"makrx-test-{uuid.uuid4().hex[:12]}")
    bucket.client().create_bucket(Bucket=bucket.name)
    settings.AWS_STORAGE_BUCKET_NAME = bucket.name
    settings.AWS_S3_ENDPOINT_URL = s3_server.endpoint
    settings.AWS_S3_REGION_NAME = REGION
    settings.AWS_ACCESS_KEY_ID = ACCESS_KEY
    settings.AWS_SECRET_ACCESS_KEY = SECRET_KEY
    settings.AWS_S3_ADDRESSING_STYLE = "path"
    settings.AWS_S3_SIGNATURE_VERSION = "s3v4"
    settings.AWS_DEFAULT_ACL = None
    settings.AWS_QUERYSTRING_AUTH = True
    # Last, so the storage made anew on this change reads the settings above.
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "storages.backends.s3.S3Storage"},
    }
    return bucket
