import socket
import uuid

SECRET = "lake-secret-SENTINEL-8d2e41"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def aws_environment(patch, endpoint):
    """The AWS_* variables a user of a custom S3 endpoint sets (and none of a developer's own)."""
    patch.setenv("AWS_ACCESS_KEY_ID", "testing-key-id")
    patch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    patch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    patch.setenv("AWS_ENDPOINT_URL", endpoint)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3"):
        patch.delenv(name, raising=False)
    import s3fs

    s3fs.S3FileSystem.clear_instance_cache()


def new_bucket():
    """A fresh bucket on the moto server; its s3:// URL with a prefix."""
    import s3fs

    bucket = f"lake-{uuid.uuid4().hex[:12]}"
    s3fs.S3FileSystem().mkdir(bucket)
    return f"s3://{bucket}/ecodata"
