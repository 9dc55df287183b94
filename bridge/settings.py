"""Settings: the only code that reads the environment (and the optional .env file)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import pydantic_settings
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from bridge.core.privacy import SHORTEST_RETENTION_DAYS

# The newest Graph versions in the contract notes (whatsapp-cloud-api.md §8.4); v25.0 is
# the version pywa defaults to and is supported until 2028.
DEFAULT_GRAPH_VERSION = "v25.0"


class SettingsError(Exception):
    """A missing or invalid setting; the message names the variable."""


class NumberSettings(BaseModel):
    """Another WhatsApp number this bridge serves (WHATSAPP_NUMBERS, a JSON list)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    phone_number_id: str = Field(pattern=r"^\d+$")
    access_token: SecretStr = Field(min_length=1)
    department: str = ""  # empty: ROCKETCHAT_DEPARTMENT
    flow: str | None = None  # absent: BRIDGE_FLOW; "": no chatbot; a path: that flow
    app_secret: SecretStr | None = None  # a number of another Meta app signs with its own
    verify_token: SecretStr | None = None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    # Required secrets may not be empty either: `NAME=` is how bridge.example.env ships
    # them, and an empty app secret or webhook token would let anyone forge a webhook.
    whatsapp_access_token: SecretStr = Field(min_length=1)
    whatsapp_app_secret: SecretStr = Field(min_length=1)
    whatsapp_verify_token: SecretStr = Field(min_length=1)
    whatsapp_phone_number_id: str = Field(pattern=r"^\d+$")
    whatsapp_graph_url: HttpUrl = HttpUrl("https://graph.facebook.com")
    whatsapp_graph_version: str = Field(DEFAULT_GRAPH_VERSION, pattern=r"^v\d+\.\d+$")
    # The re-engagement template sent when an agent writes after the 24 h window closed.
    whatsapp_template_name: str = Field("", pattern=r"^[a-z0-9_]*$")
    whatsapp_template_language: str = Field("pt_BR", pattern=r"^[a-z]{2,3}(_[A-Z]{2})?$")
    whatsapp_template_parameters: str = ""  # '|'-separated; {name} and {agent} are filled
    whatsapp_numbers: list[NumberSettings] = []
    # Optional: lets `check` verify that the app is subscribed to the account's webhooks.
    whatsapp_business_account_id: str = Field("", pattern=r"^\d*$")

    rocketchat_url: HttpUrl
    rocketchat_webhook_token: SecretStr = Field(min_length=1)
    rocketchat_user_id: str = ""
    rocketchat_auth_token: SecretStr = SecretStr("")
    rocketchat_department: str = ""

    bridge_db: Path = Path("data/bridge.db")
    # sqlite:///path (the default, BRIDGE_DB) or postgresql://user:password@host/db for
    # several replicas on one database.
    bridge_database_url: str = Field("", pattern=r"^(|sqlite:///.+|postgres(ql)?://.+)$")
    # The key Rocket.Chat visitor tokens are derived with (they are not stored). Empty:
    # WHATSAPP_APP_SECRET. Before resetting the app secret at Meta, set this to the old
    # one, or every open room's visitor token changes.
    bridge_token_secret: SecretStr = SecretStr("")
    # Set on every replica but the first: refuse to start on a database of its own.
    bridge_require_postgres: bool = False
    bridge_host: str = "0.0.0.0"  # noqa: S104 - a daemon in a container listens on all interfaces
    bridge_port: int = Field(8080, ge=0, le=65535)
    bridge_flow: Path | None = None
    bridge_messages: Path = Path("config/messages.yaml")
    bridge_agent_prefix: bool = True
    bridge_retry_base_seconds: float = Field(1.0, gt=0)
    bridge_retry_max_seconds: float = Field(300.0, gt=0)
    bridge_retry_limit: int = Field(12, ge=1)
    bridge_no_agent_retry_seconds: float = Field(120.0, gt=0)
    bridge_window_margin_seconds: float = Field(300.0, ge=0, le=3600)
    bridge_read_receipts: bool = True
    bridge_typing_indicator: bool = True
    bridge_announce_agent: bool = False
    bridge_reconcile_seconds: float = Field(60.0, ge=0)
    bridge_restart_backoff_seconds: float = Field(1.0, gt=0)
    # Erase idle conversations, dead letters, rejected payloads, seen ids and links older
    # than this (0: keep). At least 7 days: Meta retries a webhook for up to 7 days (§4.2)
    # and the seen ids are what makes a late retry a duplicate.
    bridge_retention_days: float = Field(180.0, ge=0)
    bridge_probe_seconds: float = Field(60.0, ge=0)  # re-check the remotes; 0: at start only
    bridge_unreachable_seconds: float = Field(30.0, ge=0)  # outage before /readyz turns red
    bridge_max_body_bytes: int = Field(3 * 1024 * 1024, gt=0)
    # Largest file relayed either way; WhatsApp's own limits per type also apply (§6.5).
    bridge_media_max_bytes: int = Field(100 * 1024 * 1024, gt=0, le=100 * 1024 * 1024)
    # How long a delivery holds its lane before another process may take it over.
    bridge_lease_seconds: float = Field(900.0, ge=1)
    # Conversations delivered at once (one call each; a conversation's own stay in order).
    bridge_outbox_concurrency: int = Field(64, ge=1, le=1024)

    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["json", "console"] = "json"

    @model_validator(mode="after")
    def _numbers_once_each(self) -> Settings:
        seen = {self.whatsapp_phone_number_id}
        for number in self.whatsapp_numbers:
            if number.phone_number_id in seen:
                raise ValueError(
                    f"WHATSAPP_NUMBERS: phone number id {number.phone_number_id} is listed"
                    " twice (or is WHATSAPP_PHONE_NUMBER_ID)"
                )
            seen.add(number.phone_number_id)
        return self

    @model_validator(mode="after")
    def _replicas_share_postgres(self) -> Settings:
        if self.bridge_require_postgres and not self.bridge_database_url.startswith("postgres"):
            raise ValueError(
                "BRIDGE_REQUIRE_POSTGRES is set (a replica): BRIDGE_DATABASE_URL must name the"
                " PostgreSQL database every replica shares"
            )
        return self

    @field_validator("bridge_retention_days")
    @classmethod
    def _retention_outlives_retries(cls, value: float) -> float:
        if 0 < value < SHORTEST_RETENTION_DAYS:
            raise ValueError(
                f"must be 0 (keep everything) or at least {SHORTEST_RETENTION_DAYS} days"
            )
        return value

    @field_validator("bridge_flow", mode="before")
    @classmethod
    def _empty_flow_means_none(cls, value: object) -> object:
        return None if value in ("", None) else value

    @field_validator("log_level", "log_format", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @property
    def template_parameters(self) -> tuple[str, ...]:
        raw = self.whatsapp_template_parameters
        return tuple(p.strip() for p in raw.split("|")) if raw.strip() else ()

    @property
    def graph_base(self) -> str:
        return f"{str(self.whatsapp_graph_url).rstrip('/')}/{self.whatsapp_graph_version}"

    @property
    def token_secret(self) -> bytes:
        secret = self.bridge_token_secret.get_secret_value()
        return (secret or self.whatsapp_app_secret.get_secret_value()).encode()

    @property
    def database(self) -> str:
        """What open_store opens: a SQLite path, or a PostgreSQL URL."""
        url = self.bridge_database_url
        if url.startswith("sqlite:///"):
            return url.removeprefix("sqlite:///")
        return url or str(self.bridge_db)

    @property
    def database_shown(self) -> str:
        """The database for messages and logs: a URL without its password."""
        return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", self.database)

    def numbers(self) -> list[tuple[str, str]]:
        """(phone number id, access token) of every number, WHATSAPP_PHONE_NUMBER_ID first."""
        first = (self.whatsapp_phone_number_id, self.whatsapp_access_token.get_secret_value())
        rest = [
            (n.phone_number_id, n.access_token.get_secret_value()) for n in self.whatsapp_numbers
        ]
        return [first, *rest]

    @property
    def rocketchat_base(self) -> str:
        return str(self.rocketchat_url).rstrip("/")


def load_settings(env_file: str | None = ".env") -> Settings:
    """Build Settings, turning pydantic's report into one line per variable."""
    try:
        return Settings(_env_file=env_file)
    except ValidationError as exc:
        raise SettingsError(describe(exc)) from None
    except pydantic_settings.SettingsError as exc:
        # A list setting (WHATSAPP_NUMBERS) that is not valid JSON.
        field = re.search(r'field "(\w+)"', str(exc))
        name = field.group(1).upper() if field else "?"
        raise SettingsError(f"setting {name}: not a valid JSON list") from None


def describe(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        name = _variable(error["loc"])
        if error["type"] == "missing":
            reason = "is required but not set"
        elif error["type"] in ("too_short", "string_too_short") and error.get("input") == "":
            reason = "is required but empty"
        else:
            reason = error["msg"]
        lines.append(f"setting {name}: {reason}" if name else f"settings: {reason}")
    return "\n".join(lines)


def _variable(loc: tuple[int | str, ...]) -> str:
    """WHATSAPP_PHONE_NUMBER_ID, or WHATSAPP_NUMBERS[1].department inside the JSON list."""
    if not loc:
        return ""
    head, rest = str(loc[0]).upper(), loc[1:]
    return head + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in rest)
