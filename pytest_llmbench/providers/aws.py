"""AWS credentials and SigV4 signing, for Bedrock: botocore's credential chain, cached, and
the signature over an httpx.Request exactly as httpx will send it."""

from __future__ import annotations

import os
import re
import threading
from typing import Any
from urllib.parse import urlsplit

import httpx
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials, ReadOnlyCredentials
from botocore.exceptions import BotoCoreError
from botocore.session import Session

from pytest_llmbench import secrets
from pytest_llmbench.config import ProviderConfig

DEFAULT_REGION = "us-east-1"
SIGNING_SERVICE = "bedrock"
# Regional, FIPS and VPC-endpoint hosts (vpce-....bedrock-runtime.REGION.vpce.amazonaws.com).
_REGION_IN_HOST = re.compile(
    r"(?:^|\.)bedrock-runtime(?:-fips)?\.([a-z0-9-]+)\.(?:vpce\.)?amazonaws\.com(?:\.cn)?$"
)
_UNSIGNED_HEADERS = frozenset({"authorization", "content-length", "user-agent", "connection"})

_credentials_lock = threading.Lock()
_credentials_cache: dict[tuple[Any, ...], Credentials | None] = {}


def aws_credentials(provider: ProviderConfig) -> Credentials | None:
    """AWS credentials from botocore's chain (env vars, `provider.profile`, SSO, roles), or None.

    The secret access key and session token are registered for redaction. Lookups are cached
    per profile and AWS_* environment, since the chain may probe the instance metadata service.
    """
    environment = sorted((k, v) for k, v in os.environ.items() if k.startswith("AWS_"))
    key = (provider.profile, tuple(environment))
    with _credentials_lock:
        if key not in _credentials_cache:
            _credentials_cache[key] = _resolve_credentials(provider.profile)
        credentials = _credentials_cache[key]
    if credentials is not None:
        try:
            _register(credentials)
        except BotoCoreError:  # a refresh (SSO, assumed role) can fail after the first lookup
            return None
    return credentials


def _resolve_credentials(profile: str | None) -> Credentials | None:
    try:
        credentials = Session(profile=profile).get_credentials()
        if credentials is not None:
            credentials.get_frozen_credentials()  # refreshable ones fail here, not at use
    except BotoCoreError:
        return None
    return credentials


def _register(credentials: Credentials) -> ReadOnlyCredentials:
    # One frozen snapshot, so a refresh cannot mix old and new parts into one signature.
    frozen = credentials.get_frozen_credentials()
    secrets.register("AWS_SECRET_ACCESS_KEY", frozen.secret_key)
    secrets.register("AWS_SESSION_TOKEN", frozen.token)
    return frozen


def provider_region(provider: ProviderConfig) -> str:
    """The region to call and sign for: `provider.region`, else the base URL's, else us-east-1."""
    if provider.region:
        return provider.region
    match = _REGION_IN_HOST.search(urlsplit(provider.base_url).hostname or "")
    return match.group(1) if match else DEFAULT_REGION


def sign_request(request: httpx.Request, credentials: Credentials, region: str) -> None:
    """Add SigV4 headers (Authorization, X-Amz-Date, X-Amz-Security-Token) to `request`.

    The signature covers the URL, the body and the headers already set, exactly as httpx
    will send them; headers a transport may add or change later are left unsigned.
    """
    frozen = _register(credentials)
    signed = {k: v for k, v in request.headers.items() if k.lower() not in _UNSIGNED_HEADERS}
    aws_request = AWSRequest(
        method=request.method, url=str(request.url), headers=signed, data=request.content
    )
    SigV4Auth(frozen, SIGNING_SERVICE, region).add_auth(aws_request)
    for name in ("Authorization", "X-Amz-Date", "X-Amz-Security-Token"):
        value = aws_request.headers.get(name)
        if value is not None:
            request.headers[name.lower()] = value
