"""Bearer tokens and the principal behind each call.

Tokens are JWTs signed with HS256 and the shared `INTERVIEWS_TOKEN_SECRET`.
An identity provider would issue them in production; `interviews token issue`
issues development tokens with the same secret.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import jwt

from services.core.errors import PermissionDenied, Unauthenticated

ISSUER = "interviews"
AUDIENCE = "interviews"
ALGORITHM = "HS256"


class Role(StrEnum):
    CANDIDATE = "candidate"
    RECRUITER = "recruiter"
    COORDINATOR = "coordinator"
    INTERVIEWER = "interviewer"
    # Another service of this product (the subject says which, e.g. services/scheduling).
    SERVICE = "service"
    AUDITOR = "auditor"
    ADMIN = "admin"


@dataclass(frozen=True)
class Principal:
    """Who is calling. For a candidate the subject is `candidates/{id}`; for a
    service `services/{name}`; for people, their email address."""

    subject: str
    role: Role
    email: str | None = None

    @property
    def service_name(self) -> str | None:
        if self.role is Role.SERVICE and self.subject.startswith("services/"):
            return self.subject.removeprefix("services/")
        return None


def issue_token(
    secret: str,
    subject: str,
    role: Role | str,
    *,
    ttl: timedelta = timedelta(hours=12),
    email: str | None = None,
    now: datetime | None = None,
) -> str:
    if not subject:
        raise ValueError("subject must not be empty")
    issued = now or datetime.now(UTC)
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": subject,
        "role": Role(role).value,
        "iat": int(issued.timestamp()),
        "exp": int((issued + ttl).timestamp()),
    }
    if email:
        claims["email"] = email
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify_token(secrets: str | Sequence[str], token: str) -> Principal:
    """The principal of a valid token signed with any of `secrets`.

    Several secrets make rotation seamless: sign with the new one while the
    previous ones still verify until the tokens they signed have expired.
    """
    candidates = [secrets] if isinstance(secrets, str) else list(secrets)
    claims = None
    for secret in candidates:
        try:
            claims = jwt.decode(
                token,
                secret,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=ISSUER,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
            break
        except jwt.InvalidSignatureError:
            continue  # signed with another secret, perhaps the next one
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("token expired", reason="TOKEN_EXPIRED") from None
        except jwt.InvalidTokenError:
            raise Unauthenticated("invalid token", reason="TOKEN_INVALID") from None
    if claims is None:
        raise Unauthenticated("invalid token", reason="TOKEN_INVALID")
    try:
        role = Role(claims.get("role"))
    except ValueError:
        raise Unauthenticated("token has an unknown role", reason="TOKEN_INVALID") from None
    subject = claims["sub"]
    if not isinstance(subject, str) or not subject:
        raise Unauthenticated("token has no subject", reason="TOKEN_INVALID")
    email = claims.get("email")
    return Principal(subject=subject, role=role, email=email if isinstance(email, str) else None)


def token_from_metadata(value: str | None) -> str:
    if not value:
        raise Unauthenticated("missing bearer token in 'authorization' metadata", reason="TOKEN_MISSING")
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("authorization must be 'Bearer <token>'", reason="TOKEN_MISSING")
    return token.strip()


_current_principal: ContextVar[Principal | None] = ContextVar("principal", default=None)


def current_principal() -> Principal:
    principal = _current_principal.get()
    if principal is None:
        raise Unauthenticated("no authenticated principal", reason="TOKEN_MISSING")
    return principal


def set_current_principal(principal: Principal | None) -> object:
    return _current_principal.set(principal)


def reset_current_principal(token: object) -> None:
    _current_principal.reset(token)  # type: ignore[arg-type]


def require_role(*roles: Role) -> Principal:
    """The current principal, if its role is one of `roles`."""
    principal = current_principal()
    if principal.role not in roles:
        raise PermissionDenied(
            f"role {principal.role.value} may not call this method",
            reason="ROLE_NOT_ALLOWED",
            metadata={"role": principal.role.value},
        )
    return principal


class ServiceTokenSource:
    """A service's own token for calling another service, renewed before expiry."""

    def __init__(self, secret: str, service: str, *, ttl: timedelta = timedelta(hours=1)) -> None:
        self._secret = secret
        self._subject = f"services/{service}"
        self._ttl = ttl
        self._lock = threading.Lock()
        self._token = ""
        self._renew_at = 0.0

    def token(self) -> str:
        with self._lock:
            if time.monotonic() >= self._renew_at:
                self._token = issue_token(self._secret, self._subject, Role.SERVICE, ttl=self._ttl)
                self._renew_at = time.monotonic() + self._ttl.total_seconds() / 2
            return self._token
