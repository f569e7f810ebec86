"""Settings: read once at start-up (environment variables with the `OPSMEDIC_` prefix over an optional YAML
file) and passed down. Library code never reads `os.environ`; only `load_settings` does.

Every field is documented in the README's settings table; keep the two in step.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from agent.errors import ConfigError

ENV_PREFIX = "OPSMEDIC_"

DEFAULT_PROVIDER_STATUS_URLS = {
    "openai": "https://status.openai.com",
    "anthropic": "https://status.anthropic.com",
    "cohere": "https://status.cohere.com",
    "mistral": "https://status.mistral.ai",
}

DEFAULT_REDACT_PATTERNS = [
    r"xox[abposr]-[A-Za-z0-9-]{8,}",  # Slack tokens
    r"xapp-[A-Za-z0-9-]{8,}",  # Slack app tokens
    r"sk-[A-Za-z0-9_-]{16,}",  # OpenAI-style API keys
    r"AKIA[0-9A-Z]{16}",  # AWS access key ids
    r"(?i)bearer\s+[A-Za-z0-9._~+/=-]{8,}",  # bearer tokens in headers
    r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",  # JWTs
    r"(?i)basic\s+[A-Za-z0-9+/]{8,}={0,2}",  # HTTP Basic credentials
    r"(?<![A-Za-z0-9/+])(?=[A-Za-z0-9/+]*[A-Z])(?=[A-Za-z0-9/+]*[a-z])(?=[A-Za-z0-9/+]*[0-9])"
    r"[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])",  # AWS secret access keys (40 base64 characters, mixed case)
    r"(?i)(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key)[\"']?\s*[:=]\s*[\"']?"
    r"(?P<secret>[^\s\"'&,;]{3,})",  # key=value pairs: only the value goes
    r"(?<=://)(?P<secret>[^/\s:@]+:[^/\s@]+)(?=@)",  # credentials in URLs (user:password@host)
    r"gh[pousr]_[A-Za-z0-9]{30,}",  # GitHub tokens
    r"github_pat_[A-Za-z0-9_]{30,}",  # GitHub fine-grained tokens
    r"AIza[0-9A-Za-z_-]{35}",  # Google API keys
]


class Settings(BaseModel):
    """Every setting of opsmedic. Environment: `OPSMEDIC_<FIELD>` (upper case); YAML: the field name."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # where things live
    data_dir: Path = Field(Path(".opsmedic"), description="Folder for the SQLite store, checkpoints and Chroma")
    database_url: str = Field("", description="`sqlite:///PATH` (default: DATA_DIR/opsmedic.db)")
    runbooks_dir: Path = Field(Path("runbooks"), description="Folder of runbook Markdown files")
    policies_dir: Path = Field(Path("policies"), description="Folder of policy YAML files")

    # the HTTP server
    host: str = Field("127.0.0.1", description="Address the HTTP server listens on")
    port: int = Field(8080, ge=0, le=65535, description="Port the HTTP server listens on")
    webhook_token: SecretStr | None = Field(
        None, description="Bearer token required on the webhook, `/changes` (unless it has its own) and reads"
    )
    changes_token: SecretStr | None = Field(None, description="Bearer token of `/changes` ('' = webhook_token)")
    changes_hmac_secret: SecretStr | None = Field(
        None, description="Secret of the `X-Opsmedic-Signature-256` HMAC that `/changes` accepts instead of a token"
    )
    api_tokens: dict[str, str] = Field(
        default_factory=dict,
        description="Personal HTTP credentials: sha256 of a token -> the person (Slack user id); '' = HTTP "
        "approvals off (`opsmedic token new PERSON` makes one)",
    )
    max_body_bytes: int = Field(1_048_576, gt=0, description="Largest request body accepted (413 above)")
    body_timeout_s: float = Field(10.0, gt=0, description="How long a request body may take to arrive (408 beyond)")
    max_connections: int = Field(
        500, ge=1, description="Most connections served at once (uvicorn's `limit_concurrency`; 503 beyond)"
    )
    keep_alive_timeout_s: int = Field(5, ge=1, description="How long an idle keep-alive connection stays open")
    max_past_days: float = Field(
        366.0, gt=0, le=36_500,
        description="Oldest alert time, change time or X-Opsmedic-Instant accepted, in days before the server's "
        "clock (400 beyond)",
    )
    max_ahead_s: float = Field(
        86_400.0, gt=0, le=31_536_000,
        description="Latest such time accepted, in seconds after the server's clock (400 beyond)",
    )
    store_busy_timeout_s: float = Field(2.0, gt=0, description="How long a write waits for a locked store")

    # the worker and graph
    worker_poll_s: float = Field(0.2, gt=0, description="How often the worker looks for queued work")
    investigate_budget_s: float = Field(20.0, gt=0, description="Overall time budget of the investigate step")
    tool_timeout_s: float = Field(10.0, gt=0, description="Timeout of one read-only tool call")
    verify_timeout_s: float = Field(
        300.0, gt=0, description="How long verification waits for the signal to recover after an action"
    )
    resolved_alert_cancels: bool = Field(
        True, description="A change whose alert resolved while it waited for approval does not run"
    )
    verify_poll_s: float = Field(10.0, gt=0, description="How often verification re-queries the signal")

    # evidence backends
    prometheus_url: str = Field("http://127.0.0.1:9090", description="Prometheus base URL")
    kubeconfig: str = Field("", description="Kubeconfig path ('' = in-cluster, then ~/.kube/config)")
    kubernetes_url: str = Field("", description="Kubernetes API URL without credentials (emulators, proxies)")
    aws_region: str = Field("us-east-1", description="AWS region for CloudWatch Logs")
    aws_endpoint_url: str = Field("", description="CloudWatch Logs endpoint override (e.g. a local moto server)")
    cloudwatch_log_groups: list[str] = Field(default_factory=list, description="Log groups searched for errors")
    provider_status_urls: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_PROVIDER_STATUS_URLS),
        description="Statuspage base URL per provider",
    )
    signal_catalog: Path | None = Field(None, description="YAML overriding the built-in signal catalog")
    service_dependencies: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Static map caller -> callees, merged with the service graph learned from metrics",
    )

    # reasoning
    llm: str = Field("", description="`provider:model` of a LangChain chat model; '' = offline reasoner only")
    llm_max_steps: int = Field(6, ge=1, le=20, description="Most rounds of tool calls the LLM reasoner may make")
    chroma_url: str = Field("", description="Chroma server URL; '' = embedded Chroma under DATA_DIR")
    embedding_model_dir: Path | None = Field(None, description="Local folder holding Chroma's onnx/ model")

    # audit
    redact_patterns: list[str] = Field(
        default_factory=lambda: list(DEFAULT_REDACT_PATTERNS),
        description="Regular expressions whose matches are redacted before anything is audited",
    )
    audit_key: SecretStr | None = Field(
        None, description="Key of the audit macs (HMAC-SHA256); set, it takes precedence over audit_key_file"
    )
    audit_key_file: Path | None = Field(
        None, description="File holding the audit key (default DATA_DIR/audit.key, made 0600 with 32 random bytes)"
    )
    audit_checkpoint_file: Path | None = Field(
        None, description="Append-only JSON lines of signed audit heads (default DATA_DIR/audit-checkpoints.jsonl)"
    )
    audit_checkpoint_every: int = Field(50, ge=1, description="Records between two audit checkpoints")

    # Slack
    slack_bot_token: SecretStr | None = Field(None, description="Bot token (xoxb-...); unset = Slack off")
    slack_signing_secret: SecretStr | None = Field(None, description="Signing secret for HTTP mode")
    slack_app_token: SecretStr | None = Field(None, description="App token (xapp-...) for Socket Mode")
    slack_channel: str = Field("", description="Default channel for incident threads")
    slack_api_url: str = Field("https://slack.com/api/", description="Slack Web API base URL")
    slack_routes: list[dict[str, str]] = Field(
        default_factory=list,
        description="Per-route channels: `[{\"channel\": \"C123\", LABEL: VALUE, ...}]`; the first entry whose labels "
        "all match the incident's labels names its channel; none matching = slack_channel",
    )
    slack_audit_channel: str = Field("", description="Channel `opsmedic serve` copies audit checkpoints to ('' = none)")

    @field_validator("api_tokens")
    @classmethod
    def _token_hashes(cls, value: dict[str, str]) -> dict[str, str]:
        for digest, person in value.items():
            if len(digest) != 64 or any(c not in "0123456789abcdefABCDEF" for c in digest):
                raise ValueError(f"{digest[:12]!r}…: keys are the sha256 (64 hex digits) of a token, never the "
                                 "token itself (`opsmedic token new PERSON` prints both)")
            if not person.strip():
                raise ValueError(f"{digest[:12]}…: the person is empty")
        return value

    @model_validator(mode="after")
    def _webhook_token_is_not_personal(self) -> Settings:
        from agent.credentials import token_hash

        shared = [t.get_secret_value() for t in (self.webhook_token, self.changes_token) if t is not None]
        if any(token_hash(t) in {d.lower() for d in self.api_tokens} for t in shared):
            raise ValueError("api_tokens lists the webhook's or /changes' token: a shared delivery token is never "
                             "an approval credential; give each person a token of their own")
        return self

    @property
    def sqlite_path(self) -> Path:
        if self.database_url.startswith("sqlite:///"):
            return Path(self.database_url.removeprefix("sqlite:///"))
        if self.database_url:
            raise ConfigError(
                f"database_url {self.database_url!r} is not supported yet: use sqlite:///PATH or leave it empty"
            )
        return self.data_dir / "opsmedic.db"

    @property
    def checkpoint_path(self) -> Path:
        """The graph's checkpoints: a file of their own beside the store, so that the checkpointer's
        connection and the store's never wait on each other's write lock."""
        path = self.sqlite_path
        return path.with_name(f"{path.stem}-graph{path.suffix or '.db'}")

    @property
    def audit_key_path(self) -> Path:
        return self.audit_key_file or self.data_dir / "audit.key"

    @property
    def audit_checkpoint_path(self) -> Path:
        return self.audit_checkpoint_file or self.data_dir / "audit-checkpoints.jsonl"

    def secrets(self) -> list[str]:
        """The secret values configured, so that the audit log can redact them verbatim."""
        values = [self.webhook_token, self.changes_token, self.changes_hmac_secret, self.slack_bot_token,
                  self.slack_signing_secret, self.slack_app_token, self.audit_key]
        return [v.get_secret_value() for v in values if v is not None and v.get_secret_value()]


def load_settings(
    config_file: Path | str | None = None, env: Mapping[str, str] | None = None, **overrides: Any
) -> Settings:
    """Build the settings: keyword overrides, then environment variables, then the YAML file, then defaults.

    `config_file` defaults to `$OPSMEDIC_CONFIG`. Raises ConfigError naming the file and field on bad input.
    """
    environ = dict(os.environ if env is None else env)
    path = config_file or environ.get(f"{ENV_PREFIX}CONFIG") or None
    file_values: dict[str, Any] = {}
    if path:
        try:
            loaded = yaml.safe_load(Path(path).read_text()) or {}
        except OSError as exc:
            raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
        except yaml.YAMLError as exc:
            raise ConfigError(f"config file {path} is not valid YAML: {exc}") from exc
        if not isinstance(loaded, dict):
            raise ConfigError(f"config file {path} must hold a mapping of setting names to values")
        file_values = loaded
    env_values = {
        k.removeprefix(ENV_PREFIX).lower(): v
        for k, v in environ.items()
        if k.upper().startswith(ENV_PREFIX) and k.upper() != f"{ENV_PREFIX}CONFIG"
    }
    known = set(Settings.model_fields)
    for name in env_values:
        if name not in known:
            raise ConfigError(f"unknown setting {ENV_PREFIX}{name.upper()} in the environment")
    try:
        return Settings(**{**file_values, **_parse_env(env_values), **overrides})
    except ValidationError as exc:
        raise ConfigError(_describe(exc, path)) from exc


def _parse_env(values: Mapping[str, str]) -> dict[str, Any]:
    """Environment strings to field values: lists and dicts as JSON (lists also comma-separated)."""
    out: dict[str, Any] = {}
    for key, raw in values.items():
        field = Settings.model_fields[key]
        origin = getattr(field.annotation, "__origin__", None)
        if origin in (list, dict) and raw.strip()[:1] in ("[", "{"):
            try:
                out[key] = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"{ENV_PREFIX}{key.upper()} is not valid JSON: {exc}") from exc
        elif origin is list:
            out[key] = [part.strip() for part in raw.split(",") if part.strip()]
        else:
            out[key] = raw
    return out


def _describe(exc: ValidationError, path: str | Path | None) -> str:
    where = f" (config file {path} or {ENV_PREFIX}* environment)" if path else f" ({ENV_PREFIX}* environment)"
    problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
    return f"invalid settings{where}: {problems}"
