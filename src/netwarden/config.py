"""Settings: command-line flag > NETWARDEN_* environment > netwarden.toml > default.

The TOML file is ``./netwarden.toml`` unless ``NETWARDEN_CONFIG`` names
another. Unknown keys in the file are rejected with a clear error, so a typo
never silently falls back to a default.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from netwarden.errors import ConfigError

DEFAULT_DATA_DIR = Path("netwarden-data")


class Settings(BaseSettings):
    """Every setting netwarden reads. Field names are the TOML keys; env is NETWARDEN_<NAME>."""

    model_config = SettingsConfigDict(env_prefix="NETWARDEN_", extra="forbid", validate_default=True)

    data_dir: Path = DEFAULT_DATA_DIR
    database_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    secret_key: str | None = None
    log_level: str = "info"
    token_ttl_days: int | None = None
    session_ttl_hours: int = 12
    secure_cookies: bool = False
    page_size_max: int = 10000
    # Scheduled discovery inside 'netwarden serve' (off while the interval is 0).
    discovery_ranges: list[str] = []
    discovery_credentials: list[str] = []
    discovery_site: str = "discovered"
    discovery_interval_minutes: int = 0
    discovery_snmp_port: int = 161
    # Metrics store: how long each tier is kept (raw samples, 5-minute and 1-hour rollups), and how
    # long after a 5-minute bucket ends it is rolled up (late points within the grace still count).
    metrics_raw_days: float = Field(default=2, gt=0)
    metrics_5m_days: float = Field(default=7, gt=0)
    metrics_1h_days: float = Field(default=90, gt=0)  # 8 weeks feed the baselines
    metrics_rollup_grace_seconds: int = Field(default=120, ge=0, le=3600)
    # Points whose time is further than this ahead of the store's clock are refused (clock skew).
    metrics_max_future_seconds: int = Field(default=300, ge=0)
    # Monitoring inside 'netwarden serve' (and 'netwarden poll'): SNMP credentials tried per device in
    # order (the first that answers is kept), and the seconds between two checks of one device.
    # Off by default: 'serve' sends nothing to the network until told which network is its to poll.
    monitor_enabled: bool = False
    monitor_credentials: list[str] = []
    monitor_snmp_port: int = 161
    monitor_ping_interval: int = 60  # 0 turns the check off
    monitor_snmp_interval: int = 300  # 0 turns the check off; it also needs monitor_credentials
    # VPN tunnels (WireGuard peers, IPsec SAs) are read over SSH with this stored credential from every
    # device with a tunnel interface in the inventory, each SNMP round; none: not read.
    monitor_tunnel_credential: str | None = None
    # Service checks (TCP/HTTP(S)/DNS), as a list of tables parsed by netwarden.monitor.checks.
    monitor_service_checks: list[dict[str, Any]] = []
    monitor_service_interval: int = 60
    # Alert engine: where the poller sits ('mgmt' for a flat management network, or the device it
    # is behind), devices taken as the rest of the network, flapping and escalation.
    alerts_poller_location: str = "mgmt"
    alerts_core_devices: list[str] = []
    alerts_flap_changes: int = Field(default=4, ge=1)
    alerts_flap_minutes: float = Field(default=10, gt=0)
    alerts_escalate_minutes: float = Field(default=30, ge=0)  # 0 turns escalation off
    # Static thresholds and learned baselines, as tables parsed by netwarden.monitor.thresholds.
    thresholds: list[dict[str, Any]] = []
    baselines_enabled: bool = True
    # Notifications: routes (apprise URLs + filters) parsed by netwarden.alerts.notify.
    notify_routes: list[dict[str, Any]] = []
    # SNMP trap receiver inside 'netwarden serve' (UDP; 162 needs root).
    traps_enabled: bool = False
    traps_host: str = "0.0.0.0"  # traps come from the network's devices
    traps_port: int = 162
    traps_communities: list[str] = ["public"]
    traps_credentials: list[str] = []  # stored snmp-v3 credentials whose users may send traps
    # Syslog receiver inside 'netwarden serve' (UDP and TCP; 514 needs root). Network events in the
    # messages (interface, neighbour and config changes) feed the alert engine.
    syslog_enabled: bool = False
    syslog_host: str = "0.0.0.0"  # devices send from the network
    syslog_port: int = 514
    # Configuration backups (netwarden.configs): pulled over SSH with the first of these stored ssh
    # credentials that logs in, into a git repository in the data dir. Inside 'serve' every device is
    # backed up each interval (0: only on demand and on config-change syslog messages); a device whose
    # backups fail this many times in a row raises an alert. A remote, when set, is pushed after each commit.
    config_credentials: list[str] = []
    config_backup_interval: int = Field(default=86400, ge=0)
    config_backup_concurrency: int = Field(default=16, ge=1)
    config_backup_failures_alert: int = Field(default=3, ge=1)
    config_git_remote: str | None = None
    # Masking before storing: the platform files' secret and volatile-line rules (off: store secrets as
    # the device printed them), plus extra rules as tables {pattern, replace, platform?} (netwarden.configs.masking).
    config_mask_secrets: bool = True
    config_mask_rules: list[dict[str, Any]] = []
    # Compliance: policy files checked with (or, with config_default_policies off, instead of) the shipped pack.
    config_policies: list[Path] = []
    config_default_policies: bool = True
    # Jinja2 templates for intended configs (<platform>/<role>.j2), searched before the shipped ones.
    config_templates_dir: Path | None = None
    # Security operations (netwarden.security). Syslog over TLS (RFC 5425) on its own port when a
    # certificate and key are given (0: off). Log events are kept this many days. Built-in detections
    # take per-rule overrides as tables {rule, threshold?, window_seconds?, enabled?}; Sigma rules are
    # read from these files or directories. Scans match OS versions against these vulnerability feeds
    # (NVD JSON or vendor advisory files, read offline) and probe these TCP ports (empty: the default list).
    syslog_tls_port: int = Field(default=0, ge=0, le=65535)
    syslog_tls_cert: Path | None = None
    syslog_tls_key: Path | None = None
    # Mutual TLS (RFC 5425 section 5.2): senders must present a certificate signed by a CA in this PEM file.
    syslog_tls_client_ca: Path | None = None
    logs_retention_days: int = Field(default=30, ge=1)
    detection_overrides: list[dict[str, Any]] = []
    sigma_rules: list[Path] = []
    vuln_feeds: list[Path] = []
    scan_ports: list[int] = []
    # Distributed mode: the Redis broker 'netwarden worker' processes share devices through.
    redis_url: str | None = None
    worker_heartbeat_seconds: float = Field(default=5, gt=0)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _TomlSource(settings_cls))

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL: NETWARDEN_DATABASE_URL, or SQLite in the data dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'netwarden.db').resolve()}"


class _TomlSource(PydanticBaseSettingsSource):
    """Reads netwarden.toml; unknown keys are left in so extra=forbid rejects them."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        path = Path(os.environ.get("NETWARDEN_CONFIG", "netwarden.toml"))
        if not path.is_file():
            if "NETWARDEN_CONFIG" in os.environ:
                raise ConfigError(f"config file {path} does not exist (named by NETWARDEN_CONFIG)")
            return {}
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
        section = data.get("netwarden", data)
        if not isinstance(section, dict):
            raise ConfigError(f"{path}: [netwarden] must be a table")
        return section


def load_settings(**overrides: Any) -> Settings:
    """Build settings; ``overrides`` are command-line flags (None means 'not given')."""
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**given)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "settings"
        if err["type"] == "extra_forbidden":
            raise ConfigError(
                f"unknown setting {where!r}; known settings: {', '.join(sorted(Settings.model_fields))}"
            ) from exc
        raise ConfigError(f"setting {where}: {err['msg']}") from exc
