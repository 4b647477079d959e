from datetime import UTC, datetime, timedelta

import jwt
import pytest

from services.core.auth import Role, issue_token, require_role, reset_current_principal, set_current_principal, verify_token, Principal
from services.core.errors import PermissionDenied, Unauthenticated

SECRET = "unit-test-secret-with-enough-entropy-000000"


@pytest.mark.parametrize("role", list(Role))
def test_token_round_trip(role):
    principal = verify_token(SECRET, issue_token(SECRET, "candidates/abc", role, email="a@example.com"))
    assert principal == Principal("candidates/abc", role, "a@example.com")


def test_expired_token_is_refused():
    token = issue_token(SECRET, "x@example.com", Role.RECRUITER, now=datetime.now(UTC) - timedelta(days=2), ttl=timedelta(hours=1))
    with pytest.raises(Unauthenticated) as caught:
        verify_token(SECRET, token)
    assert caught.value.reason == "TOKEN_EXPIRED"


def test_tampered_token_is_refused():
    token = issue_token(SECRET, "x@example.com", Role.RECRUITER)
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], audience="interviews")
    claims["role"] = "admin"
    forged = jwt.encode(claims, "guessed-secret-guessed-secret-guessed-000", algorithm="HS256")
    with pytest.raises(Unauthenticated):
        verify_token(SECRET, forged)
    header, payload, signature = token.split(".")
    with pytest.raises(Unauthenticated):
        verify_token(SECRET, f"{header}.{payload}.{signature[::-1]}")


def test_unsigned_token_is_refused():
    token = jwt.encode({"sub": "x", "role": "admin", "iss": "interviews", "aud": "interviews", "iat": 0, "exp": 2**40}, None, algorithm="none")
    with pytest.raises(Unauthenticated):
        verify_token(SECRET, token)


def test_require_role():
    handle = set_current_principal(Principal("r@example.com", Role.RECRUITER))
    try:
        assert require_role(Role.RECRUITER, Role.ADMIN).subject == "r@example.com"
        with pytest.raises(PermissionDenied):
            require_role(Role.COORDINATOR)
    finally:
        reset_current_principal(handle)


def test_previous_secrets_verify_during_rotation():
    old, new = SECRET, "the-new-secret-after-rotation-000000000000"
    old_token = issue_token(old, "r@example.com", Role.RECRUITER)
    new_token = issue_token(new, "r@example.com", Role.RECRUITER)
    assert verify_token([new, old], old_token).subject == "r@example.com"
    assert verify_token([new, old], new_token).subject == "r@example.com"
    with pytest.raises(Unauthenticated):
        verify_token([new], old_token)
    expired_old = issue_token(old, "r@example.com", Role.RECRUITER, now=datetime.now(UTC) - timedelta(days=1), ttl=timedelta(hours=1))
    with pytest.raises(Unauthenticated) as caught:
        verify_token([new, old], expired_old)
    assert caught.value.reason == "TOKEN_EXPIRED"


def test_settings_list_current_then_previous_secrets(tmp_path):
    from services.core.config import Settings

    settings = Settings.from_env({"INTERVIEWS_DATA_DIR": str(tmp_path), "INTERVIEWS_TOKEN_SECRET": "new",
                                  "INTERVIEWS_TOKEN_PREVIOUS_SECRETS": "old1, old2,"})
    assert settings.token_verification_secrets == ["new", "old1", "old2"]
