"""Token endpoint and bearer checks (API-NOTES §1.1)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from datetime import timedelta

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from sandboxes.salesforce import SandboxSettings, create_app
from tests.sandboxes.salesforce.conftest import BASE_URL, Clock, V

# Keys of a token response: sf_token_response.json (simple-salesforce TOKEN_LOGIN_RESPONSE_SUCCESS)
# plus issued_at and signature from the client-credentials sample in API-NOTES §1.1.
TOKEN_KEYS = {"access_token", "scope", "instance_url", "id", "token_type", "issued_at", "signature"}
INVALID_SESSION = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]


def credentials(settings: SandboxSettings, **changes: str) -> dict[str, str]:
    form = {
        "grant_type": "client_credentials",
        "client_id": settings.client_id,
        "client_secret": settings.client_secret,
    }
    return {**form, **changes}


async def test_token_client_credentials_matches_golden_shape(
    anonymous: httpx.AsyncClient, settings: SandboxSettings
) -> None:
    response = await anonymous.post("/services/oauth2/token", data=credentials(settings))
    body = response.json()
    assert response.status_code == 200
    assert set(body) == TOKEN_KEYS
    assert body["token_type"] == "Bearer"
    assert body["instance_url"] == BASE_URL
    assert body["issued_at"].isdigit()
    assert len(body["issued_at"]) == 13
    expected = hmac.new(
        settings.client_secret.encode(), (body["id"] + body["issued_at"]).encode(), hashlib.sha256
    ).digest()
    assert base64.b64decode(body["signature"]) == expected


async def test_token_client_credentials_accepts_http_basic(
    anonymous: httpx.AsyncClient, settings: SandboxSettings
) -> None:
    basic = httpx.BasicAuth(settings.client_id, settings.client_secret)
    response = await anonymous.post(
        "/services/oauth2/token", data={"grant_type": "client_credentials"}, auth=basic
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("changes", "error", "description"),
    [
        ({"client_secret": "wrong"}, "invalid_client", "invalid client credentials"),
        ({"client_id": "nobody"}, "invalid_client_id", "client identifier invalid"),
        ({"grant_type": "password"}, "unsupported_grant_type", "grant type not supported"),
    ],
)
async def test_token_refusals_use_oauth_error_shape(
    anonymous: httpx.AsyncClient,
    settings: SandboxSettings,
    changes: dict[str, str],
    error: str,
    description: str,
) -> None:
    response = await anonymous.post("/services/oauth2/token", data=credentials(settings, **changes))
    assert response.status_code == 400
    assert response.json() == {"error": error, "error_description": description}


async def test_token_client_credentials_refused_on_login_domain(
    anonymous: httpx.AsyncClient, settings: SandboxSettings
) -> None:
    response = await anonymous.post(
        "https://login.salesforce.com/services/oauth2/token", data=credentials(settings)
    )
    assert response.json()["error_description"] == "request not supported on this domain"


async def test_bearer_missing_or_unknown_is_invalid_session(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.get(f"{V}/limits", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401
    assert response.json() == INVALID_SESSION


async def test_bearer_expires_after_lifetime(client: httpx.AsyncClient, clock: Clock) -> None:
    assert (await client.get(f"{V}/limits")).status_code == 200
    clock.now += timedelta(hours=2, seconds=1)
    response = await client.get(f"{V}/limits")
    assert response.status_code == 401
    assert response.json() == INVALID_SESSION


async def test_bearer_revoked_mid_run(client: httpx.AsyncClient) -> None:
    assert (await client.post("/__sandbox/tokens/revoke")).status_code == 204
    assert (await client.get(f"{V}/limits")).status_code == 401


@pytest.fixture(scope="module")
def rsa_pair() -> tuple[bytes, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public.decode()


def assertion(private: bytes, settings: SandboxSettings, **claims: object) -> str:
    payload = {
        "iss": settings.client_id,
        "sub": settings.username,
        "aud": "https://login.salesforce.com",
        "exp": int(time.time()) + 180,
        **claims,
    }
    return jwt.encode(payload, private, algorithm="RS256")


@pytest.mark.parametrize(
    ("claims", "error", "description"),
    [
        ({}, None, None),
        ({"exp": int(time.time()) - 60}, "invalid_grant", "expired authorization code"),
        ({"aud": "https://elsewhere.example"}, "invalid_grant", "audience is invalid"),
        ({"iss": "someone-else"}, "invalid_client_id", "client identifier invalid"),
        ({"sub": "stranger@example.org"}, "invalid_grant", "user hasn't approved this consumer"),
    ],
)
async def test_token_jwt_bearer_validates_claims(
    rsa_pair: tuple[bytes, str],
    claims: dict[str, object],
    error: str | None,
    description: str | None,
) -> None:
    private, public = rsa_pair
    settings = SandboxSettings(jwt_public_key=public)
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as anonymous:
        form = {
            "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
            "assertion": assertion(private, settings, **claims),
        }
        response = await anonymous.post("/services/oauth2/token", data=form)
    if error is None:
        assert response.status_code == 200
        assert set(response.json()) == TOKEN_KEYS
    else:
        assert response.status_code == 400
        assert response.json() == {"error": error, "error_description": description}


async def test_token_jwt_signed_by_another_key_is_invalid_assertion(
    rsa_pair: tuple[bytes, str],
) -> None:
    _, public = rsa_pair
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = other.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    settings = SandboxSettings(jwt_public_key=public)
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as anonymous:
        form = {
            "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
            "assertion": assertion(pem, settings),
        }
        response = await anonymous.post("/services/oauth2/token", data=form)
    assert response.json() == {"error": "invalid_grant", "error_description": "invalid assertion"}
