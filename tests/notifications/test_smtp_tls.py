"""SMTP with STARTTLS or implicit TLS and credentials, against aiosmtpd with a certificate
of a private CA (trusted through SMTP_CA_FILE); failures to connect are retried."""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from interviews.notifications.v1 import notifications_pb2 as pb
from interviews.notifications.v1 import notifications_pb2_grpc as pb_grpc

from services.core.auth import Role
from services.core.config import Settings
from tests.helpers import wait_until
from tests.notifications.conftest import FAST
from tests.notifications.servers import RecordingHandler, free_port

Token = Callable[..., tuple[tuple[str, str], ...]]
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (its own CA)."""
    folder = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test smtp")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                       critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class _Authenticator:
    def __init__(self) -> None:
        self.logins: list[str] = []

    def __call__(self, server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            b"svc", b"s3cret")
        if ok:
            self.logins.append(auth_data.login.decode())
        return AuthResult(success=ok)


@pytest.fixture(params=["starttls", "tls"])
def tls_server(request: pytest.FixtureRequest, certificate: tuple[Path, Path]) -> Iterator[tuple[str, int, RecordingHandler, _Authenticator]]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*map(str, certificate))
    handler, auth, port = RecordingHandler(), _Authenticator(), free_port()
    if request.param == "starttls":
        controller = Controller(handler, hostname="127.0.0.1", port=port, tls_context=context,
                                require_starttls=True, auth_required=True, authenticator=auth)
    else:
        # Implicit TLS: the whole session is encrypted, which aiosmtpd cannot see, so it
        # must be told not to insist on STARTTLS before AUTH.
        controller = Controller(handler, hostname="127.0.0.1", port=port, ssl_context=context,
                                auth_required=True, auth_require_tls=False, authenticator=auth)
    controller.start()
    yield request.param, port, handler, auth
    controller.stop()


def _stub(settings: Settings, start_service: Callable[..., object], **env: str) -> pb_grpc.NotificationsServiceStub:
    service = start_service("notifications", settings.with_overrides(**{**FAST, **env}))
    return pb_grpc.NotificationsServiceStub(service.channel)  # type: ignore[attr-defined]


def _send(stub: pb_grpc.NotificationsServiceStub, token: Token, key: str) -> str:
    return stub.SendMessage(pb.SendMessageRequest(
        idempotency_key=key, template=pb.MESSAGE_TEMPLATE_NEW_TICKET,
        recipient=pb.Recipient(email="coord@example.com"), parameters={"ticket": "tickets/t1"}),
        metadata=token(Role.SERVICE)).name


def _get(stub: pb_grpc.NotificationsServiceStub, token: Token, name: str) -> pb.Delivery:
    return stub.GetDelivery(pb.GetDeliveryRequest(name=name), metadata=token(Role.SERVICE))


def test_sends_over_tls_with_credentials(tls_server, certificate, settings: Settings, start_service, token: Token) -> None:  # type: ignore[no-untyped-def]
    security, port, handler, auth = tls_server
    stub = _stub(settings, start_service, SMTP_HOST="127.0.0.1", SMTP_PORT=str(port),
                 SMTP_SECURITY=security, SMTP_USERNAME="svc", SMTP_PASSWORD="s3cret",
                 SMTP_CA_FILE=str(certificate[0]))
    name = _send(stub, token, "tls-1")
    wait_until(lambda: _get(stub, token, name).state == pb.DELIVERY_STATE_SENT, timeout=20,
               message="sent over TLS")
    assert len(handler.messages) == 1 and auth.logins == ["svc"]


@pytest.mark.parametrize("problem", ["untrusted certificate", "wrong password"])
def test_session_failures_are_retried_not_failed(tls_server, certificate, settings: Settings, start_service, token: Token, problem: str) -> None:  # type: ignore[no-untyped-def]
    security, port, handler, _auth = tls_server
    env = dict(SMTP_HOST="127.0.0.1", SMTP_PORT=str(port), SMTP_SECURITY=security,
               SMTP_USERNAME="svc", SMTP_PASSWORD="s3cret", SMTP_CA_FILE=str(certificate[0]),
               NOTIFICATIONS_MAX_ATTEMPTS="50",
               # aiosmtpd leaves a failed AUTH LOGIN hanging until the client times out.
               SMTP_TIMEOUT_SECONDS="1")
    if problem == "untrusted certificate":
        del env["SMTP_CA_FILE"]
    else:
        env["SMTP_PASSWORD"] = "wrong"
    stub = _stub(settings, start_service, **env)
    name = _send(stub, token, "tls-bad")
    found = wait_until(lambda: (d := _get(stub, token, name)).attempts >= 2 and d, timeout=20,
                       message="two failed attempts")
    assert found.state == pb.DELIVERY_STATE_PENDING
    assert "cannot open SMTP session" in found.last_error
    assert handler.messages == []
