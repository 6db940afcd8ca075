"""Settings: pydantic models loaded from a TOML file, overridden by `ARBITER_*` environment
variables (`__` separates nested keys).

Secrets (exchange keys, MQTT and LLM credentials) are `SecretStr` fields. They may come from the
environment, or from a file whose path the TOML names in the sibling `<field>_file` key (how
systemd's `LoadCredential=` hands them over); a secret written into the TOML itself is refused.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, get_args, get_origin
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from arbiter.books import AttentionModel
from arbiter.errors import ConfigError
from arbiter.governor.pricing import load_pricing
from arbiter.tomlfile import first_problem, read_toml

DEFAULT_CONFIG = Path("config/default.toml")


class Section(BaseModel):
    """A TOML table: immutable, and unknown keys are errors rather than silently ignored."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class LoggingSettings(Section):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["json", "console"] = "json"


class VenueSettings(Section):
    """One exchange account or public feed, reached through ccxt."""

    exchange: str = Field(description="ccxt exchange id, e.g. 'binance'")
    market_type: Literal["spot", "linear", "inverse"] = "spot"
    symbols: tuple[str, ...] = Field(min_length=1)
    taker_fee: Decimal = Field(default=Decimal("0.001"), ge=0, lt=1)
    maker_fee: Decimal = Field(default=Decimal("0.001"), ge=-1, lt=1)
    urls: dict[str, str] = Field(
        default_factory=dict,
        description="ccxt URL overrides by dotted path, e.g. 'api.public' or 'api.ws.spot'",
    )
    book_depth: int = Field(default=50, ge=1, le=5000, description="levels kept per side")
    max_book_age: float = Field(
        default=30.0, gt=0, description="seconds without an update before a book is stale"
    )
    api_key: SecretStr | None = None
    api_key_file: Path | None = None
    api_secret: SecretStr | None = None
    api_secret_file: Path | None = None


class MonitorSettings(Section):
    stats_interval: float = Field(default=10.0, gt=0, description="seconds between book_stats")
    summary_interval: float = Field(
        default=0.0, ge=0, description="seconds between human summary lines on stderr; 0 = off"
    )


class PaperSettings(Section):
    """The paper broker: simulated taker fills on the live books."""

    latency_ms: float = Field(default=50.0, ge=0, description="order-to-fill delay")
    balances: dict[str, dict[str, Decimal]] = Field(
        default_factory=dict, description="opening balances: venue -> asset -> amount"
    )


class TierSettings(Section):
    """Account equity (in the report asset) from which each strategy tier may trade."""

    stablecoin: Decimal = Decimal(0)
    spot_arbitrage: Decimal = Decimal(0)
    momentum: Decimal = Decimal(1500)
    futures: Decimal = Decimal(3000)


class TriangleSettings(Section):
    venue: str
    currencies: tuple[str, ...] = Field(min_length=3, description="the first is the start")
    max_start: Decimal = Field(default=Decimal(100), gt=0)


class StrategySettings(Section):
    enabled: bool = True
    report_asset: str = "USDT"
    stablecoins: tuple[str, ...] = ("USDT", "USDC", "DAI", "FDUSD", "USD")
    min_profit_bps: float = Field(default=2.0, ge=0)
    min_persistence_ms: int = Field(default=0, ge=0)
    max_notional: Decimal = Field(default=Decimal(100), gt=0, description="per decision")
    slippage_bps: float = Field(default=1.0, ge=0, description="margin demanded on every leg")
    opportunity_sample_ms: int = Field(
        default=1000, ge=0, description="journal each opportunity at most this often"
    )
    tiers: TierSettings = TierSettings()
    triangles: tuple[TriangleSettings, ...] = ()


class RiskSettings(Section):
    max_order_notional: Decimal = Field(default=Decimal(250), gt=0)
    max_position: Decimal = Field(
        default=Decimal(600), gt=0, description="per asset across venues, valued in report asset"
    )
    max_daily_loss: Decimal = Field(default=Decimal(30), gt=0)
    max_open_decisions: int = Field(default=2, ge=1)


class MqttSettings(Section):
    """Telemetry and remote control over an MQTT broker; never on the trading path."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    topic_prefix: str = Field(default="arbiter", pattern=r"^[A-Za-z0-9_/-]+$")
    username: str | None = None
    password: SecretStr | None = None
    password_file: Path | None = None
    tls: bool = False
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    heartbeat_interval: float = Field(default=5.0, gt=0)
    books_interval: float = Field(
        default=5.0, gt=0, description="book summaries at most this often"
    )
    queue_size: int = Field(
        default=1000, ge=1, description="telemetry kept while the broker is away"
    )
    control_secret: SecretStr | None = None
    control_secret_file: Path | None = None
    control_window: float = Field(default=30.0, gt=0, description="seconds a command stays valid")
    risk_bounds: dict[str, tuple[Decimal, Decimal]] = Field(
        default_factory=dict, description="set-risk may move a limit only within [low, high]"
    )


class CloudSettings(Section):
    """A paid provider reached through its official SDK. No key configured: the rung is off."""

    base_url: str | None = Field(default=None, description="API address; None = the provider's")
    api_key: SecretStr | None = None
    api_key_file: Path | None = None
    timeout: float = Field(default=10.0, gt=0, description="seconds per request")


class AiTierSettings(Section):
    """A budget tier: from this account equity, this monthly AI budget and these paid rungs."""

    from_equity: Decimal = Field(ge=0)
    monthly_budget: tuple[Decimal, Decimal] = Field(
        description="[low, high] dollars a month, scaled with equity across the tier"
    )
    cloud: str | None = Field(default=None, description="'provider:model' of the cheap rung")
    premium: str | None = Field(default=None, description="'provider:model' of the top rung")
    posture: str = "conservative"


def _default_ai_tiers() -> tuple[AiTierSettings, ...]:
    groq, haiku = "groq:llama-3.3-70b-versatile", "anthropic:claude-haiku-4-5"
    return (
        AiTierSettings(
            from_equity=Decimal(1000), monthly_budget=(Decimal(5), Decimal(15)), cloud=groq
        ),
        AiTierSettings(
            from_equity=Decimal(1500),
            monthly_budget=(Decimal(25), Decimal(50)),
            cloud=haiku,
            posture="balanced",
        ),
        AiTierSettings(
            from_equity=Decimal(3000),
            monthly_budget=(Decimal(75), Decimal(125)),
            cloud=groq,
            premium=haiku,
            posture="aggressive",
        ),
        AiTierSettings(
            from_equity=Decimal(5000),
            monthly_budget=(Decimal(150), Decimal(300)),
            cloud=haiku,
            premium="anthropic:claude-sonnet-4-5",
            posture="maximum",
        ),
    )


class AiSettings(Section):
    """The escalation ladder (rules, local agents, cheap cloud, premium) and its spend governor."""

    enabled: bool = True
    pricing_file: Path = Field(
        default=Path("pricing.toml"), description="relative to the config file's directory"
    )
    timezone: str = Field(default="UTC", description="where the budget's days and months turn")

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    tiers: tuple[AiTierSettings, ...] = Field(default_factory=_default_ai_tiers)
    reserve_share: Decimal = Field(
        default=Decimal("0.30"), ge=0, lt=1, description="of the daily limit, for critical only"
    )
    deadline_ms: int = Field(default=2000, gt=0, description="rules decide whatever is late")
    # When a decision needs an AI at all: the rules' own confidence against what it needs.
    needed_confidence: float = Field(default=0.6, ge=0, le=1, description="at zero stake")
    stake_confidence: float = Field(
        default=0.35, ge=0, le=1, description="added at a stake of risk.max_order_notional"
    )
    critical_confidence: float = Field(default=0.95, ge=0, le=1)
    # Affordability.
    cloud_min_confidence: float = Field(default=0.8, ge=0, le=1)
    cloud_max_profit_share: Decimal = Field(
        default=Decimal("0.10"), gt=0, le=1, description="of today's realised profit"
    )
    profit_floor: Decimal = Field(
        default=Decimal(1), ge=0, description="today's profit counts as at least this"
    )
    premium_min_confidence: float = Field(default=0.9, ge=0, le=1)
    premium_max_profit_share: Decimal = Field(
        default=Decimal("0.05"), gt=0, le=1, description="of the decision's expected profit"
    )
    # Return on AI.
    roi_target: Decimal = Field(default=Decimal(3), ge=0)
    roi_window_hours: float = Field(default=24.0, gt=0)
    roi_min_decisions: int = Field(default=20, ge=1, description="before the ROI is judged")
    mix_target: tuple[int, int, int] = Field(
        default=(80, 15, 5), description="local / cloud / premium share of AI-resolved decisions"
    )
    # The agents.
    ollama_host: str = "http://127.0.0.1:11434"
    local_timeout: float = Field(default=1.5, gt=0, description="seconds per local request")
    risk_model: str = "llama3.1:8b"
    signal_model: str = "mistral:7b"
    max_output_tokens: int = Field(default=200, ge=16, le=4096)
    groq: CloudSettings = CloudSettings()
    anthropic: CloudSettings = CloudSettings()
    breaker_failures: int = Field(default=3, ge=1, description="failures in a row that open it")
    breaker_cooldown: float = Field(default=30.0, gt=0, description="seconds it stays open")


class SignalSettings(Section):
    """The attention signal computed in the Rust core on every book update."""

    weights: Path | None = Field(
        default=None, description="safetensors weights, relative to the config file; none = off"
    )


def _default_state_dir() -> Path:
    # systemd's StateDirectory= may list several directories, separated by colons.
    state = os.environ.get("STATE_DIRECTORY")
    return Path(state.split(":")[0]) if state else Path("state")


def _default_runtime_dir() -> Path:
    runtime = os.environ.get("RUNTIME_DIRECTORY")
    if runtime:
        return Path(runtime.split(":")[0])
    # Per user and predictable, so `arbiter status` finds the daemon's socket.
    return Path(tempfile.gettempdir()) / f"arbiter-{os.getuid()}"


class Settings(BaseSettings):
    """Everything the daemon is configured by."""

    model_config = SettingsConfigDict(
        frozen=True,
        extra="forbid",
        env_prefix="ARBITER_",
        env_nested_delimiter="__",
    )

    instance: str = Field(default="arbiter", pattern=r"^[A-Za-z0-9_.-]+$")
    mode: Literal["paper", "live"] = "paper"
    state_dir: Path = Field(default_factory=_default_state_dir)
    runtime_dir: Path = Field(default_factory=_default_runtime_dir)
    logging: LoggingSettings = LoggingSettings()
    monitor: MonitorSettings = MonitorSettings()
    paper: PaperSettings = PaperSettings()
    strategy: StrategySettings = StrategySettings()
    risk: RiskSettings = RiskSettings()
    mqtt: MqttSettings = MqttSettings()
    ai: AiSettings = AiSettings()
    signal: SignalSettings = SignalSettings()
    venues: dict[str, VenueSettings] = Field(default_factory=dict)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The TOML document arrives as init arguments; the environment overrides it.
        return (env_settings, init_settings)

    def secrets(self) -> list[str]:
        """Every secret value configured, for the log redactor."""
        return [value for value in _secret_values(self) if value]


def _secret_values(model: BaseModel) -> Iterator[str]:
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, SecretStr):
            yield value.get_secret_value()
        elif isinstance(value, BaseModel):
            yield from _secret_values(value)
        elif isinstance(value, dict):
            for item in value.values():
                if isinstance(item, BaseModel):
                    yield from _secret_values(item)


def load_settings(path: Path = DEFAULT_CONFIG) -> Settings:
    """Reads, checks and resolves the configuration, or raises `ConfigError` with one line that
    names the file and the offending key."""
    document = _with_secret_files_read(path, Settings, read_toml(path, "config"), prefix="")
    try:
        settings = Settings(**document)
    except ValidationError as error:
        raise ConfigError(f"{path}: {first_problem(error)}") from None
    pricing_file = path.parent / settings.ai.pricing_file
    load_pricing(pricing_file)  # a bad price list stops the start like a bad config
    update: dict[str, Any] = {"ai": settings.ai.model_copy(update={"pricing_file": pricing_file})}
    if settings.signal.weights is not None:
        weights = path.parent / settings.signal.weights
        try:
            AttentionModel.load(str(weights))  # a weights file this build cannot use stops it too
        except (OSError, ValueError) as error:
            raise ConfigError(f"{path}: key signal.weights: {error}") from None
        update["signal"] = SignalSettings(weights=weights)
    return settings.model_copy(update=update)


def _with_secret_files_read(
    path: Path, model: type[BaseModel], document: dict[str, Any], prefix: str
) -> dict[str, Any]:
    """Refuses secrets written inline and fills each secret `x` from the file named by
    `x_file` (relative names are looked up in systemd's $CREDENTIALS_DIRECTORY)."""
    document = dict(document)
    for name, field in model.model_fields.items():
        key = f"{prefix}{name}"
        if SecretStr in (field.annotation, *get_args(field.annotation)):
            if name in document:
                env = "ARBITER_" + key.replace(".", "__").upper()
                raise ConfigError(
                    f"{path}: key {key}: secrets may not be written in the config file; "
                    f"name a credential file in {name}_file or set {env}"
                )
            if f"{name}_file" in document:
                document[name] = _read_credential(path, f"{key}_file", document[f"{name}_file"])
            continue
        value = document.get(name)
        section = _section_type(field.annotation)
        if section is None or not isinstance(value, dict):
            continue
        if get_origin(field.annotation) is dict:
            document[name] = {
                item_key: _with_secret_files_read(path, section, item, f"{key}.{item_key}.")
                if isinstance(item, dict)
                else item
                for item_key, item in value.items()
            }
        else:
            document[name] = _with_secret_files_read(path, section, value, f"{key}.")
    return document


def _read_credential(path: Path, key: str, name: object) -> str:
    if not isinstance(name, str):
        raise ConfigError(f"{path}: key {key}: must be a file path")
    credentials = os.environ.get("CREDENTIALS_DIRECTORY")
    file = Path(credentials) / name if credentials and not Path(name).is_absolute() else Path(name)
    try:
        return file.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise ConfigError(f"{path}: key {key}: cannot read {file}: {error.strerror}") from None


def _section_type(annotation: Any) -> type[BaseModel] | None:
    for candidate in (annotation, *get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def redacted(settings: Settings) -> dict[str, Any]:
    """The resolved settings as plain data, secrets masked, for `arbiter check-config`."""
    return settings.model_dump(mode="json")
