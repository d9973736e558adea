"""Values shared by the auth modules and their callers. No I/O, no heavy imports."""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from typing import Any

from zbulk.errors import CredentialsError


class LoginMode(enum.StrEnum):
    """How a profile logged in; the value is what the login record stores."""

    TOKEN = "token"  # noqa: S105  (a mode's name)
    SELF_CLIENT = "self_client"
    DEVICE = "device"

    @property
    def refreshes(self) -> bool:
        """True when the login keeps a refresh token (access tokens renew themselves)."""
        return self is not LoginMode.TOKEN

    @property
    def flag(self) -> str:
        return {"token": "--with-token", "self_client": "--self-client", "device": "--device"}[
            self.value
        ]

    @property
    def label(self) -> str:
        return {"token": "pasted", "self_client": "Self Client", "device": "device code"}[
            self.value
        ]


class Storage(enum.StrEnum):
    """Where a profile's secrets are."""

    KEYRING = "keyring"
    FILE = "file"


@dataclass(frozen=True, kw_only=True)
class LoginRecord:
    """What zbulk remembers about a profile's login, outside ``config.toml`` and never
    secret: how it logged in, where its secrets are, and where it talks to."""

    mode: LoginMode
    storage: Storage
    dc: str
    api_domain: str
    accounts_url: str | None = None
    client_id: str | None = None
    #: the keyring backend chosen at login ("module:Class"), loaded directly later
    keyring_backend: str | None = None

    @property
    def credential(self) -> str:
        return "refresh_token" if self.mode.refreshes else "access_token"

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["mode"], data["storage"] = self.mode.value, self.storage.value
        return {k: v for k, v in data.items() if v is not None}

    @classmethod
    def from_json(cls, data: object, where: str) -> LoginRecord:
        """A record from its JSON form; a CredentialsError naming ``where`` if damaged."""
        try:
            if not isinstance(data, dict):
                raise TypeError
            text = {
                k: data.get(k)
                for k in ("dc", "api_domain", "accounts_url", "client_id", "keyring_backend")
            }
            if not all(v is None or isinstance(v, str) for v in text.values()):
                raise TypeError
            if not (text["dc"] and text["api_domain"]):
                raise TypeError
            mode, storage = LoginMode(str(data.get("mode"))), Storage(str(data.get("storage")))
            return cls(mode=mode, storage=storage, **text)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise CredentialsError(
                f"the login record in {where} is damaged", hint="log in again: zbulk auth login"
            ) from None


def profile_flag(profile: str) -> str:
    return "" if profile == "default" else f" --profile {profile}"


def login_command(profile: str, record: LoginRecord | None) -> str:
    """The exact command that logs this profile in again the way it was."""
    if record is None:
        return f"zbulk auth login{profile_flag(profile)}"
    dc_flag = f" --dc {record.dc}" if record.dc and record.dc != "us" else ""
    insecure = " --insecure-storage" if record.storage is Storage.FILE else ""
    return f"zbulk auth login {record.mode.flag}{dc_flag}{insecure}{profile_flag(profile)}"


@dataclass(kw_only=True)
class ProfileStatus:
    """One line of ``zbulk auth status``: never a secret."""

    profile: str | None  # None: the ZBULK_TOKEN environment variable
    active: bool
    logged_in: bool = True
    source: str | None = None  # "environment", "keyring" or "file"
    kind: str | None = None  # "access token" or "refresh token"
    login: LoginMode | None = None
    dc: str | None = None
    api_domain: str | None = None
    client_id: str | None = None
    stored_in: str | None = None
    expires_at: float | None = None
    expires_in: int | None = None
    warning: str | None = None
    error: str | None = None
    login_command: str | None = None
    detail: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def usable(self) -> bool:
        return self.logged_in and self.error is None

    def as_json(self) -> dict[str, Any]:
        data = {k: v for k, v in asdict(self).items() if k != "extra"}
        data["login"] = self.login.value if self.login else None
        data.update(self.extra)
        return {k: v for k, v in data.items() if v is not None or k in ("profile", "expires_at")}
