"""Who may open the web UI: nobody but this machine, unless credentials are configured.

Binding 127.0.0.1 (the default) needs nothing. Binding any other address without credentials is refused, unless
the user passes ``--insecure-no-auth``, which prints a warning: an open UI lets anyone on the network read the
corpus, upload articles and delete them.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

from assistant.config import Settings

Credentials = list[tuple[str, str]]
INSECURE_WARNING = (
    "WARNING: the web UI is bound to {host} without a login (--insecure-no-auth): anyone who can reach this "
    "address can read the corpus, upload articles and remove them. Set PEACETALKS_AUTH=user:password or "
    "PEACETALKS_AUTH_FILE instead."
)


class AuthError(ValueError):
    """The UI must not start as configured; the message says what to set."""


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, "localhost")."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve to anything


def _pair(line: str, where: str) -> tuple[str, str]:
    user, sep, password = line.partition(":")
    if not sep or not user.strip() or not password:
        raise AuthError(f"{where}: credentials must be 'user:password' with both parts non-empty")
    return user.strip(), password


def read_credentials(settings: Settings) -> Credentials:
    """Every user:password pair from ``PEACETALKS_AUTH`` and ``PEACETALKS_AUTH_FILE`` (empty when none is set)."""
    pairs: Credentials = []
    if settings.auth is not None and settings.auth.get_secret_value():
        pairs.append(_pair(settings.auth.get_secret_value(), "PEACETALKS_AUTH"))
    if settings.auth_file is not None:
        path = Path(settings.auth_file)
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as error:
            raise AuthError(f"PEACETALKS_AUTH_FILE {path}: cannot read it ({error.strerror})") from None
        for number, line in enumerate(lines, start=1):
            if line.strip() and not line.lstrip().startswith("#"):
                pairs.append(_pair(line.strip(), f"{path} line {number}"))
        if not pairs:
            raise AuthError(f"PEACETALKS_AUTH_FILE {path} holds no 'user:password' line")
    return pairs


def resolve_auth(settings: Settings, insecure_no_auth: bool = False) -> tuple[Credentials | None, str | None]:
    """The credentials to launch with (None: no login) and a warning to print, or AuthError when binding a
    non-loopback address with neither credentials nor ``insecure_no_auth``."""
    credentials = read_credentials(settings)
    if credentials:
        return credentials, None
    if is_loopback(settings.host):
        return None, None
    if insecure_no_auth:
        return None, INSECURE_WARNING.format(host=settings.host)
    raise AuthError(
        f"refusing to bind {settings.host} without a login: anyone on that network could use the UI. Set "
        "PEACETALKS_AUTH=user:password or PEACETALKS_AUTH_FILE=<file of user:password lines>, bind 127.0.0.1, "
        "or pass --insecure-no-auth if you really mean it."
    )
