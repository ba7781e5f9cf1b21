"""A local Cloud Storage that every process of a test reaches through its real `gs://` code.

EMULATED BOUNDARY: Cloud Storage itself (no GCP project here). What talks to it is the real
client code of each library:

- TensorFlow's GCS filesystem (`tf.io.gfile`, hence `tfx.dsl.io.fileio`, TFDV, TFT, TFMA,
  Keras SavedModels) has its endpoints compiled in (https://www.googleapis.com/storage/v1/,
  .../upload/storage/v1/, https://storage.googleapis.com/; see
  tsl/platform/cloud/gcs_file_system.cc) and no override. Its libcurl honours `https_proxy`
  and TensorFlow passes `CURL_CA_BUNDLE` as the CA file, so a CONNECT proxy that
  terminates TLS with a certificate of a throwaway CA routes its requests here.
- Beam's `gcsio` (google-cloud-storage) honours `STORAGE_EMULATOR_HOST` and talks plain
  HTTP to the emulator.

The server is `gcp-storage-emulator`, in memory (on disk, object `a/` is stored as a file
`a`, which collides with `a/b`). Three gaps between it and Cloud Storage are closed here:
a zero-byte `uploadType=media` upload (TensorFlow writes folder markers that way) crashes
it; it stores a chunked request body with its chunk framing (libcurl sends resumable
upload chunks with `Transfer-Encoding: chunked`), so the proxy decodes bodies; and it
builds resumable-upload `Location` headers from the Host it was sent, which the proxy
points back at the https front door, as Cloud Storage does.
"""

from __future__ import annotations

import dataclasses
import datetime
import http.client
import json
import logging
import socket
import socketserver
import ssl
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

# The hosts TensorFlow and google-auth call; the proxy refuses any other.
GOOGLE_HOSTS = ("www.googleapis.com", "storage.googleapis.com", "oauth2.googleapis.com")
_TOKEN_HOST = "oauth2.googleapis.com"
_DROPPED_REQUEST_HEADERS = {"transfer-encoding", "expect", "proxy-connection", "content-length"}
_DROPPED_RESPONSE_HEADERS = {"transfer-encoding", "connection", "content-length"}


def _write_certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA, and a certificate for the Google hosts signed by it.

    Returns:
        The CA certificate (the clients' CA bundle), the leaf certificate and its key.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    valid = (now - datetime.timedelta(days=1), now + datetime.timedelta(days=2))
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test-only GCS gateway CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(valid[0])
        .not_valid_after(valid[1])
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.DNSName(host) for host in (*GOOGLE_HOSTS, "*.googleapis.com")]
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, GOOGLE_HOSTS[0])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(valid[0])
        .not_valid_after(valid[1])
        .add_extension(x509.SubjectAlternativeName(names), False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    paths = directory / "ca.pem", directory / "leaf.pem", directory / "leaf.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


@dataclasses.dataclass
class _Request:
    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes


def _read_request(reader: BinaryIO, writer: BinaryIO) -> _Request | None:
    """One HTTP/1.1 request from a client, its body de-chunked; None at end of stream."""
    line = reader.readline(65537)
    while line in (b"\r\n", b"\n"):
        line = reader.readline(65537)
    if not line:
        return None
    method, target, _ = line.decode("latin-1").split(" ", 2)
    headers = []
    while (header := reader.readline(65537)) not in (b"\r\n", b"\n", b""):
        name, value = header.decode("latin-1").split(":", 1)
        headers.append((name.strip(), value.strip()))
    by_name = {name.lower(): value for name, value in headers}
    if by_name.get("expect", "").lower() == "100-continue":
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        writer.flush()
    body = b""
    if "chunked" in by_name.get("transfer-encoding", "").lower():
        parts = []
        while size := int(reader.readline().split(b";")[0].strip(), 16):
            parts.append(reader.read(size))
            reader.readline()
        while reader.readline() not in (b"\r\n", b"\n", b""):  # trailers
            pass
        body = b"".join(parts)
    elif "content-length" in by_name:
        body = reader.read(int(by_name["content-length"]))
    kept = [(n, v) for n, v in headers if n.lower() not in _DROPPED_REQUEST_HEADERS]
    return _Request(method, target, kept, body)


class _Proxy(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, emulator: tuple[str, int], tls: ssl.SSLContext) -> None:
        self.emulator = emulator
        self.tls = tls
        super().__init__(("127.0.0.1", 0), _ProxyHandler)


class _ProxyHandler(socketserver.StreamRequestHandler):
    """CONNECT to a Google host: TLS terminated here, requests forwarded to the emulator."""

    server: _Proxy

    def handle(self) -> None:
        first = self.rfile.readline(65537)
        if not first:
            return
        method, target, _ = first.decode("latin-1").split(" ", 2)
        while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
            pass
        host = target.rsplit(":", 1)[0]
        if method != "CONNECT" or host not in GOOGLE_HOSTS:
            self.wfile.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            return
        self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        self.wfile.flush()
        tls = self.server.tls.wrap_socket(self.connection, server_side=True)
        reader, writer = tls.makefile("rb"), tls.makefile("wb")
        upstream: http.client.HTTPConnection | None = None
        try:
            while (request := _read_request(reader, writer)) is not None:
                if host == _TOKEN_HOST:
                    status, reason, headers, body = self._token()
                else:
                    upstream = upstream or http.client.HTTPConnection(
                        *self.server.emulator, timeout=300
                    )
                    status, reason, headers, body, keep = self._forward(upstream, request, host)
                    if not keep:
                        upstream.close()
                        upstream = None
                lines = [f"HTTP/1.1 {status} {reason}\r\n"]
                lines += [f"{name}: {value}\r\n" for name, value in headers]
                head = "".join(lines).encode("latin-1")
                if request.method == "HEAD":
                    writer.write(head + b"\r\n")
                else:
                    writer.write(head + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
                writer.flush()
        except (ssl.SSLError, OSError):
            pass  # the client closed the connection
        finally:
            if upstream is not None:
                upstream.close()

    @staticmethod
    def _token() -> tuple[int, str, list[tuple[str, str]], bytes]:
        """google-auth refreshes its (dummy) user credentials here: any token will do."""
        body = json.dumps({"access_token": "emulator", "expires_in": 3600, "token_type": "Bearer"})
        return 200, "OK", [("Content-Type", "application/json")], body.encode()

    def _forward(
        self, upstream: http.client.HTTPConnection, request: _Request, host: str
    ) -> tuple[int, str, list[tuple[str, str]], bytes, bool]:
        emulator_host, emulator_port = self.server.emulator
        headers = {n: v for n, v in request.headers if n.lower() != "host"}
        headers["Host"] = f"{emulator_host}:{emulator_port}"
        body = request.body if request.body or request.method in ("POST", "PUT") else None
        for attempt in range(2):  # the emulator may have closed a kept-alive connection
            try:
                upstream.request(request.method, request.target, body=body, headers=headers)
                response = upstream.getresponse()
                break
            except (http.client.HTTPException, OSError):
                upstream.close()
                if attempt:
                    raise
        payload = response.read()
        emulator_url = f"http://{emulator_host}:{emulator_port}"
        kept = [
            (n, v.replace(emulator_url, f"https://{host}") if n.lower() == "location" else v)
            for n, v in response.getheaders()
            if n.lower() not in _DROPPED_RESPONSE_HEADERS
        ]
        return response.status, response.reason, kept, payload, not response.will_close


def _patch_emulator() -> None:
    """A zero-byte media upload has no body (None) in the emulator: make it b""."""
    from gcp_storage_emulator.handlers import objects

    if getattr(objects, "_zero_byte_upload_patched", False):
        return
    media_upload = objects._media_upload

    def _media_upload(request: Any, response: Any, storage: Any) -> Any:
        if request.data is None:
            request._data = b""
        return media_upload(request, response, storage)

    objects._media_upload = _media_upload
    objects._zero_byte_upload_patched = True


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclasses.dataclass
class GcsGateway:
    """A running emulator and proxy.

    Attributes:
        env: Environment variables that send a process's `gs://` traffic here.
        endpoint: The emulator's plain-HTTP endpoint (for a google-cloud-storage client).
        stop: Stops both servers.
    """

    env: dict[str, str]
    endpoint: str
    stop: Callable[[], None]

    def client(self) -> Any:
        """A google-cloud-storage client of the emulator (anonymous)."""
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage

        return storage.Client(
            project="emulator",
            credentials=AnonymousCredentials(),
            client_options={"api_endpoint": self.endpoint},
        )

    def read(self, uri: str) -> bytes | None:
        """The object at gs://bucket/path, or None."""
        bucket, _, name = uri.removeprefix("gs://").partition("/")
        blob = self.client().bucket(bucket).blob(name)
        return blob.download_as_bytes() if blob.exists() else None

    def write(self, uri: str, data: bytes) -> None:
        bucket, _, name = uri.removeprefix("gs://").partition("/")
        self.client().bucket(bucket).blob(name).upload_from_string(data)

    def list(self, prefix: str) -> list[str]:
        """Every object under gs://bucket/prefix."""
        bucket, _, name = prefix.removeprefix("gs://").partition("/")
        return [f"gs://{bucket}/{b.name}" for b in self.client().list_blobs(bucket, prefix=name)]


def start_gateway(directory: Path, buckets: list[str]) -> GcsGateway:
    """Starts the emulator (with `buckets`) and the TLS proxy in this process's threads.

    Args:
        directory: Where the certificates and the dummy credentials file go.
        buckets: Buckets to create.
    """
    from gcp_storage_emulator.server import create_server

    _patch_emulator()
    logging.getLogger("gcp_storage_emulator").setLevel(logging.ERROR)
    port = _free_port()
    emulator = create_server("127.0.0.1", port, in_memory=True)
    emulator.start()
    gateway = GcsGateway(env={}, endpoint=f"http://127.0.0.1:{port}", stop=lambda: None)
    client = gateway.client()
    for bucket in buckets:
        if client.lookup_bucket(bucket) is None:
            client.create_bucket(bucket)
    ca, leaf, key = _write_certificates(directory / "tls")
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(str(leaf), str(key))
    proxy = _Proxy(("127.0.0.1", port), tls)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    proxy_url = f"http://127.0.0.1:{proxy.server_address[1]}"
    # Beam's gcsio asks google.auth.default() for credentials and, finding none, retries
    # with backoff for half a minute per process. Dummy user credentials end that at once;
    # their token refresh goes through the proxy, which answers it.
    credentials = directory / "tls" / "application_default_credentials.json"
    credentials.write_text(
        json.dumps({
            "type": "authorized_user", "client_id": "emulator", "client_secret": "emulator",
            "refresh_token": "emulator", "token_uri": f"https://{_TOKEN_HOST}/token",
        })
    )  # fmt: skip
    gateway.env = {
        "GOOGLE_APPLICATION_CREDENTIALS": str(credentials),
        "STORAGE_EMULATOR_HOST": gateway.endpoint,
        "https_proxy": proxy_url,
        "HTTPS_PROXY": proxy_url,
        "no_proxy": "127.0.0.1,localhost",
        "NO_PROXY": "127.0.0.1,localhost",
        "CURL_CA_BUNDLE": str(ca),
        # requests (google-auth's token refresh) reads its own variable.
        "REQUESTS_CA_BUNDLE": str(ca),
        # TensorFlow's GCS auth takes this token as is: no credentials lookup.
        "GOOGLE_AUTH_TOKEN_FOR_TESTING": "emulator",
        # google-auth: no probe of a GCE metadata server (its check wants lowercase).
        "NO_GCE_CHECK": "true",
        "GOOGLE_CLOUD_PROJECT": "emulator",
        # A request that fails here fails for good: TensorFlow's default is 10 retries
        # with backoff, minutes before a real error surfaces.
        "GCS_RETRY_CONFIG_MAX_RETRIES": "2",
        "GCS_RETRY_CONFIG_INIT_DELAY_TIME_US": "100000",
        "GCS_RETRY_CONFIG_MAX_DELAY_TIME_US": "1000000",
    }

    def stop() -> None:
        proxy.shutdown()
        proxy.server_close()
        emulator.stop()

    gateway.stop = stop
    return gateway
