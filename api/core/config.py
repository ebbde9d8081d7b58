"""The server's settings, read once from the environment (``AIDGRAPH_API_*``).

>>> Settings.from_env({"AIDGRAPH_API_QUERY_TIMEOUT_S": "5"}).query_timeout_s
5.0
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, Field

__all__ = ["Settings"]


class Settings(BaseModel):
    """Limits and places; every field can be set by ``AIDGRAPH_API_<FIELD>`` in capitals."""

    state_dir: Path = Field(Path("./aidgraph-api"), description="Keys, the audit trail and its secret.")
    max_body_bytes: int = Field(1 << 20, ge=1024, description="Largest JSON request body.")
    max_upload_bytes: int = Field(256 << 20, ge=1024, description="Largest exchange-format upload (all files).")
    max_unzipped_bytes: int = Field(
        2 << 30, ge=1024, description="Most an uploaded zip archive may unpack to (bytes counted as written: zip bombs stop there)."
    )
    query_timeout_s: float = Field(30.0, gt=0, description="A query running longer answers 504.")
    whole_graph_timeout_s: float = Field(
        600.0, gt=0, description="The same for whole-graph answers (audit, evaluation), computed once per cache period."
    )
    default_rate_per_minute: int = Field(600, ge=1, description="Requests per minute per key unless the key says otherwise.")
    cache_ttl_s: float = Field(60.0, ge=0, description="How long whole-graph answers (audit, unmatched) are reused.")
    cache_entries: int = Field(8, ge=1, description="Most whole-graph answers kept at once (least recently used out first).")
    cache_rows: int = Field(250_000, ge=1, description="Most rows (households, findings) the kept answers hold together.")
    max_path_bytes: int = Field(2048, ge=256, description="Longest request path; longer is refused (414) before anything is written.")
    max_query_bytes: int = Field(4096, ge=256, description="Longest query string; likewise.")
    failed_per_minute: int = Field(
        30,
        ge=1,
        description="Requests without a valid key (or failing) per client address per minute; past it 429, not audited one by one.",
    )
    key_failures_per_minute: int = Field(10, ge=1, description="Wrong secrets per key id per minute; past it the key id answers 429.")
    header_timeout_s: float = Field(10.0, gt=0, description="A client must send a request's headers within this time, or is dropped.")
    max_connections: int = Field(1000, ge=1, description="Connections and requests at once; past it new ones are answered 503.")
    staging_dir: Path | None = Field(None, description="Where uploads are staged (default: uploads/ in state_dir); emptied at start.")
    policy_file: Path | None = Field(None, description="The policy (TOML) tiers, warnings and reviews follow; default: the shipped one.")
    catalogue_file: Path | None = Field(
        None, description="The service catalogue (TOML): groups, levels, tags, need types; default: the shipped one."
    )
    workbench_day: dt.date | None = Field(
        None, description="The workbench's working day until a user picks one (default: today); a demo's data has its own day."
    )

    def staging_path(self) -> Path:
        """Where uploads are staged: emptied when the server starts (a crash leaves nothing behind)."""
        return Path(self.staging_dir) if self.staging_dir else Path(self.state_dir) / "uploads"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        for name in cls.model_fields:
            key = f"AIDGRAPH_API_{name.upper()}"
            if key in env:
                values[name] = env[key]
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)
