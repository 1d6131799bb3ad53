"""One typed settings object for the whole service, read from `RESCIND_*` environment variables."""

from __future__ import annotations

import ipaddress
import os
import secrets
import tempfile
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Where a dev or test install keeps the secret key it generated for itself (under data_dir).
SECRET_KEY_FILE = "secret-key"  # noqa: S105 - a file name, not a secret
MIN_SECRET_KEY_CHARS = 32
_PRODUCTION_KEY = "RESCIND_SECRET_KEY must be set to 32+ random characters in production"


def instance_secret_key(data_dir: Path) -> SecretStr:
    """This install's own secret key: read from `data_dir/secret-key`, or generated there
    (mode 0600) on first use. Nothing in the source is a usable key."""
    path = data_dir / SECRET_KEY_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        # Written whole to a private temporary file, then linked into place: a process that
        # starts at the same moment reads either nothing (and links its own, which fails) or
        # the complete key, never half of it.
        fd, tmp = tempfile.mkstemp(dir=data_dir, prefix=".secret-key-")
        try:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_urlsafe(48))
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    return SecretStr(path.read_text().strip())


def _generated_key(data: dict[str, Any]) -> SecretStr:
    # Production must be given its key; elsewhere the install makes its own (see above).
    if data.get("environment") == "production":
        raise ValueError(_PRODUCTION_KEY)
    return instance_secret_key(Path(data.get("data_dir") or "rescind-data"))


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def proxy_networks(text: str) -> tuple[IPNetwork, ...]:
    """The networks in a comma-separated list of addresses and CIDR networks."""
    networks = []
    for part in text.split(","):
        part = part.strip()
        if part:
            try:
                networks.append(ipaddress.ip_network(part, strict=False))
            except ValueError:
                raise ValueError(f"not an IP address or network: {part[:60]!r}") from None
    return tuple(networks)


# Support for people filing requests: only real organisations' public home pages.
DEFAULT_HELP_LINKS = ";".join(
    (
        "*|StopNCII.org: stop intimate images being shared online|https://stopncii.org/",
        "*|Take It Down (NCMEC): for images taken before you were 18|https://takeitdown.ncmec.org/",
        "en|Cyber Civil Rights Initiative: helpline and support|https://cybercivilrights.org/",
        "fr|3018 (e-Enfance) : aide contre le cyberharcèlement|https://e-enfance.org/",
        "it|Permesso Negato: aiuto contro la pornografia non consensuale|https://www.permessonegato.it/",
        "id|SAFEnet: bantuan kekerasan berbasis gender online|https://safenet.or.id/",
        "es|Agencia Española de Protección de Datos: canal prioritario|https://www.aepd.es/",
        "de|HateAid: Beratung bei digitaler Gewalt|https://hateaid.org/",
    )
)


class Settings(BaseSettings):
    """Every knob Rescind has. Each field is documented in docs/operator-guide.md."""

    # Errors never echo the input: it holds the secret key and database credentials.
    model_config = SettingsConfigDict(
        env_prefix="RESCIND_", extra="ignore", hide_input_in_errors=True
    )

    environment: Literal["dev", "test", "production"] = Field(
        "dev",
        description="production refuses to start without a configured secret key; dev and test "
        "generate one into data_dir.",
    )
    data_dir: Path = Field(
        Path("rescind-data"), description="Directory for the embedded SQLite database and files."
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL; default sqlite under data_dir. "
        "PostgreSQL: postgresql+psycopg://user:pass@host/db",
    )
    secret_key: SecretStr = Field(
        default_factory=_generated_key,
        description="Signs sessions and CSRF tokens; derives the keys encrypting contact details "
        "and keying the audit chain. Required in production (32+ random characters); elsewhere "
        "generated into data_dir/secret-key on first run.",
    )
    host: str = Field("127.0.0.1", description="Address `rescind serve` listens on.")
    port: int = Field(8000, description="Port `rescind serve` listens on.")
    public_base_url: str = Field(
        "http://127.0.0.1:8000", description="Base URL used in emails and links."
    )
    platform_name: str = Field("Rescind", description="Platform name shown on public pages.")
    request_deadline_hours: int = Field(48, description="Removal deadline of a request (hours).")
    regulator_deadline_hours: int = Field(
        24, description="Removal deadline of a regulator notice (hours), e.g. Australia's eSafety."
    )
    minor_deadline_hours: int = Field(
        24,
        ge=1,
        description="Deadline (hours) of a case flagged as possible child sexual abuse material: "
        "the requester said the person was, or may have been, under 18 when the imagery was "
        "made. Never longer than the case's own channel deadline.",
    )
    # Email
    smtp_host: str | None = Field(None, description="SMTP server; unset disables email.")
    smtp_port: int = Field(25, description="SMTP port.")
    smtp_username: str | None = Field(None, description="SMTP login user.")
    smtp_password: SecretStr | None = Field(None, description="SMTP login password.")
    smtp_starttls: bool = Field(False, description="Use STARTTLS on the SMTP connection.")
    smtp_from: str = Field("rescind@localhost", description="From address of outgoing email.")
    # Webhooks
    webhook_url: str | None = Field(None, description="Default endpoint receiving action webhooks.")
    webhook_secret: SecretStr | None = Field(None, description="HMAC secret signing webhooks.")
    webhook_allow_private: bool = Field(
        False,
        description="Allow webhook endpoints on private and loopback addresses (tests, a "
        "platform on the same private network); link-local and cloud metadata addresses are "
        "always refused. Checked when an endpoint is added and again before each delivery.",
    )
    # Limits
    max_upload_bytes: int = Field(50 * 1024 * 1024, description="Largest accepted media upload.")
    media_decode_concurrency: int = Field(
        2,
        ge=1,
        description="Media uploads (checks, bank entries) decoded at once per server; more "
        "wait up to `media_decode_wait_s`, then get 503 with Retry-After. Hash checks never wait.",
    )
    media_decode_wait_s: float = Field(
        1.0,
        ge=0.0,
        description="How long a media upload waits for a decode slot (and its memory, "
        "`media_memory_budget_mb`) before a 503.",
    )
    media_decode_memory_mb: int = Field(
        1280,
        ge=64,
        description="Most memory (MiB) hashing one upload may need, estimated from its header "
        "before anything is decoded (16 bytes a pixel; 20 for 16-bit, CMYK, HEIF and AVIF "
        "pictures, 24 for WebP; a check decodes a large JPEG at 1/2-1/8 scale); over it the "
        "upload is refused with 422. The default passes a 50 MP photo in every format (a 50 MP "
        "WebP needs the most, ~1,160 MiB) and refuses a 120 MP PNG (~1,850 MiB).",
    )
    media_memory_budget_mb: int = Field(
        2560,
        ge=64,
        description="Memory (MiB) all media decodes of one server process may reserve at once "
        "(each reserves its estimate); an upload that does not fit within "
        "`media_decode_wait_s` gets 503 with Retry-After, while smaller ones that fit go on. "
        "At least `media_decode_memory_mb`.",
    )
    # Matching
    pdq_threshold: int = Field(31, description="Default PDQ match distance (bits of 256).")
    pdq_min_quality: int = Field(50, description="PDQ hashes below this quality never block alone.")
    embedded_worker: bool = Field(True, description="`rescind serve` also runs the job worker.")
    web_processes: int = Field(
        1,
        ge=1,
        le=64,
        description="Server processes `rescind serve` runs on its port (about one per core); "
        "each holds its own copy of the indexes.",
    )
    video_query_match_fraction: float = Field(
        0.7,
        ge=0.0,
        le=1.0,
        description="A video matches a banked one when this share of its frames match "
        "(finds a long banked video's clip uploaded).",
    )
    video_bank_match_fraction: float = Field(
        0.7,
        ge=0.0,
        le=1.0,
        description="...or when this share of the banked video's frames are found in it "
        "(finds a banked clip inside a long upload).",
    )
    video_common_min_videos: int = Field(
        5,
        ge=0,
        description="A video's second matched in this many distinct banked videos (duplicates "
        "of one counted once) is common content, an end card or an intro, and counts on "
        "neither side of a video match; 0 turns it off.",
    )
    matcher_poll_s: float = Field(
        0.5, gt=0.0, description="How often each server polls the bank change feed (seconds)."
    )
    webhook_timeout_s: float = Field(10.0, gt=0.0, description="Timeout of one webhook POST.")
    webhook_retry_hours: float = Field(
        72.0, gt=0.0, description="Keep retrying an undelivered action this long (hours)."
    )
    worker_lease_s: float = Field(
        300.0,
        gt=0.0,
        description="A job whose worker died is run again after this many seconds.",
    )
    # Hash exchange between instances (docs/exchange.md)
    exchange_pull_s: float = Field(
        300.0, gt=0.0, description="How often the worker pulls each partner's feed (seconds)."
    )
    exchange_timeout_s: float = Field(
        20.0, gt=0.0, description="Timeout of one request to a partner (connect and read)."
    )
    exchange_allow_private: bool = Field(
        False,
        description="Allow partner URLs on private and loopback addresses (tests, private "
        "networks); link-local and cloud metadata addresses are always refused.",
    )
    # StopNCII.org (docs/exchange.md): unset URL disables the adapter
    stopncii_url: str | None = Field(
        None,
        description="Base URL of the StopNCII.org hash exchange API (https://api.stopncii.org/v1); "
        "unset disables pulling from and sharing with StopNCII. Only this host is contacted.",
    )
    stopncii_key: SecretStr | None = Field(
        None,
        description="StopNCII subscription key (sent as Ocp-Apim-Subscription-Key on every "
        "request).",
    )
    stopncii_fetch_key: SecretStr | None = Field(
        None, description="StopNCII function key of the FetchHashes endpoint (pulling hashes)."
    )
    stopncii_submit_key: SecretStr | None = Field(
        None,
        description="StopNCII function key of SubmitHashes (sharing our consented cases' hashes); "
        "unset: nothing is submitted.",
    )
    stopncii_feedback_key: SecretStr | None = Field(
        None,
        description="StopNCII function key of SubmitFeedback (our reviewers' Blocked / NotBlocked "
        "verdicts); unset: no feedback is sent.",
    )
    stopncii_pull_s: float = Field(
        900.0, gt=0.0, description="How often the worker pulls StopNCII's hashes (seconds)."
    )
    # Public pages and console: abuse limits (per process; see docs/requests.md)
    submissions_per_ip_per_hour: int = Field(
        10, description="Removal requests one address may file per hour on the public form."
    )
    submissions_global_per_hour: int = Field(
        600, description="Removal requests the public form accepts per hour from everyone."
    )
    status_lookups_per_ip_per_hour: int = Field(
        30, description="Status-page lookups (case number + secret) one address may try per hour."
    )
    logins_per_ip_per_hour: int = Field(
        20, description="Console login attempts one address may make per hour."
    )
    console_media_origins: str = Field(
        "",
        description="Comma-separated origins (e.g. https://cdn.example.com) the console may show "
        "reported media from, blurred until revealed; empty shows links only.",
    )
    help_links: str = Field(
        DEFAULT_HELP_LINKS,
        description="Support links shown on the public pages: entries `lang|label|url` "
        "separated by `;` (lang `*` shows an entry in every language). Empty shows none.",
    )
    quick_exit_url: str = Field(
        "https://www.bbc.com/weather",
        description="Neutral page the public pages' quick-exit button (or Escape twice) "
        "leaves to, replacing the page in the browser's history.",
    )
    console_session_hours: float = Field(
        12.0,
        gt=0.0,
        description="Absolute lifetime of a console sign-in (hours): the reviewer signs in "
        "again after it, however active they were.",
    )
    console_idle_minutes: float = Field(
        60.0,
        gt=0.0,
        description="A console sign-in ends after this many minutes without a request.",
    )
    login_backoff_after: int = Field(
        5,
        ge=1,
        description="Failed console sign-ins in a row (from anywhere) after which the account "
        "slows down: each further attempt waits a delay that doubles, up to "
        "login_backoff_max_seconds. A browser that signed in before, or a right password "
        "with a right TOTP code, is not slowed.",
    )
    login_backoff_max_seconds: float = Field(
        300.0, gt=0.0, description="Longest wait between sign-in attempts on a slowed account."
    )
    trusted_proxies: str = Field(
        "",
        description="Comma-separated addresses or networks (e.g. 127.0.0.1,10.0.0.0/8) of the "
        "reverse proxies in front of Rescind: X-Forwarded-For and X-Forwarded-Proto are "
        "believed only from them. Empty trusts no proxy, not even one on loopback.",
    )
    https: bool = Field(
        False,
        description="The site is served over https (set it when a proxy terminates TLS): every "
        "cookie gets Secure. Also implied by an https public_base_url.",
    )
    metrics_token: SecretStr | None = Field(
        None,
        description="Bearer token a Prometheus scraper sends to read /metrics; unset, /metrics "
        "answers 404.",
    )
    appeal_window_days: int = Field(
        183,
        ge=183,
        description="How long after a decision the uploader (through the platform) or the "
        "requester may appeal it, in days; at least six months (DSA Art. 20).",
    )
    # NCMEC CyberTipline (docs/operator-guide.md "Reports to NCMEC")
    ncmec_url: str | None = Field(
        None,
        description="Base URL of NCMEC's CyberTipline Reporting API (e.g. "
        "https://report.cybertip.org/ispws); unset, reports are prepared and preserved but "
        "wait unsent.",
    )
    ncmec_username: str | None = Field(None, description="CyberTipline API user name.")
    ncmec_password: SecretStr | None = Field(None, description="CyberTipline API password.")
    ncmec_reporter_name: str = Field(
        "Trust and Safety",
        description="The reporting person NCMEC may contact, first and last name (each at most "
        "100 characters, as NCMEC's documentation requires).",
    )
    ncmec_reporter_email: str = Field(
        "rescind@localhost",
        description="The reporting person's email address (NCMEC requires one, well formed, at "
        "most 255 characters).",
    )
    ncmec_timeout_s: float = Field(
        30.0, gt=0.0, description="Timeout of one call to the CyberTipline API (seconds)."
    )
    ncmec_preserve_days: int = Field(
        365,
        ge=365,
        description="How long a CyberTipline report and the reported hashes are preserved "
        "(days; US law requires one year).",
    )
    # Retention (docs/operator-guide.md "Retention")
    contact_retention_days: int = Field(
        180,
        ge=1,
        description="Days after a case closed (and no appeal of it is open) before the "
        "requester's name, email, phone, signature and supporting information are erased.",
    )
    job_retention_days: int = Field(
        30,
        ge=1,
        description="Days before finished jobs, webhook delivery attempts and the registry rows "
        "of content deleted on the platform are pruned.",
    )
    terms_url: str | None = Field(
        None,
        description="The platform's terms of service that removals rely on, cited in every "
        "statement of reasons (DSA Art. 17) and Transparency Database export.",
    )

    @model_validator(mode="after")
    def _refuse_a_weak_secret_in_production(self) -> Settings:
        if (
            self.environment == "production"
            and len(self.secret_key.get_secret_value()) < MIN_SECRET_KEY_CHARS
        ):
            raise ValueError(_PRODUCTION_KEY)
        return self

    @field_validator("ncmec_reporter_name")
    @classmethod
    def _reporter_name_fits(cls, value: str) -> str:
        # NCMEC's documentation: firstName and lastName, at most 100 characters each.
        first, _, last = value.strip().partition(" ")
        if not first or len(first) > 100 or len(last) > 100:
            raise ValueError("a first and last name, at most 100 characters each")
        return value.strip()

    @field_validator("ncmec_reporter_email")
    @classmethod
    def _reporter_email_is_well_formed(cls, value: str) -> str:
        # NCMEC's documentation: well formed, at most 255 characters, 64 before the @.
        local, at, domain = value.strip().rpartition("@")
        if (
            not at
            or not 0 < len(local) <= 64
            or not domain
            or len(value.strip()) > 255
            or any(c.isspace() or c == "@" for c in local + domain)
        ):
            raise ValueError("a well-formed email address (at most 255 characters)")
        return value.strip()

    @model_validator(mode="after")
    def _one_decode_fits_the_budget(self) -> Settings:
        # Otherwise an upload under the per-decode limit could never be reserved: a 503 forever.
        if self.media_decode_memory_mb > self.media_memory_budget_mb:
            raise ValueError(
                f"media_decode_memory_mb ({self.media_decode_memory_mb}) is more than "
                f"media_memory_budget_mb ({self.media_memory_budget_mb}): one decode could "
                "never be reserved"
            )
        return self

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_addresses(cls, value: str) -> str:
        proxy_networks(value)  # raises ValueError on a name that is not an address or network
        return value

    @property
    def trusted_proxy_networks(self) -> tuple[IPNetwork, ...]:
        """`trusted_proxies`, parsed."""
        return proxy_networks(self.trusted_proxies)

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL in effect: the configured one, or SQLite under `data_dir`."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'rescind.db').resolve()}"
