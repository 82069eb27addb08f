"""Named, ordered schema migrations, recorded in ``schema_migrations``.

A migration is applied once, inside its own transaction, in list order. Never edit a migration
that has landed on ``main``: append a new one. Names are ``NNNN_what`` so the order reads at a
glance.

Example:
    >>> [m.name for m in MIGRATIONS][:1]
    ['0001_initial']
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import duckdb

from rasv.store.db import Store


@dataclass(frozen=True)
class Migration:
    """One schema step: a name and either SQL text or a function of a cursor."""

    name: str
    apply: str | Callable[[duckdb.DuckDBPyConnection], None]


# Conventions: ids are BIGINT from sequences, except takes (content hash). JSON is stored as
# VARCHAR (the json extension is not needed to read it back). Paths of workspace files are
# workspace-relative with '/' separators. No foreign keys: DuckDB cannot cascade, and deletes
# must decide themselves what else to remove; code keeps references consistent.
_INITIAL = """
CREATE SEQUENCE roles_id START 1;
CREATE TABLE roles (
    id BIGINT PRIMARY KEY DEFAULT nextval('roles_id'),
    category VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE TABLE categories (
    role_id BIGINT NOT NULL,
    name VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE SEQUENCE clips_id START 1;
CREATE TABLE clips (
    id BIGINT PRIMARY KEY DEFAULT nextval('clips_id'),
    role_id BIGINT NOT NULL,
    name VARCHAR NOT NULL,
    source_path VARCHAR,
    path VARCHAR NOT NULL,
    sha256 VARCHAR NOT NULL,
    text VARCHAR NOT NULL DEFAULT '',
    lang VARCHAR NOT NULL DEFAULT 'zh',
    category VARCHAR NOT NULL DEFAULT 'default',
    duration_s DOUBLE NOT NULL,
    sample_rate INTEGER NOT NULL,
    channels INTEGER NOT NULL,
    frames BIGINT,
    format VARCHAR,
    size_bytes BIGINT,
    valid BOOLEAN NOT NULL,
    calibrated BOOLEAN NOT NULL DEFAULT false,
    remark VARCHAR NOT NULL DEFAULT '',
    speaker VARCHAR,
    parent_id BIGINT,
    segments VARCHAR,
    list_file VARCHAR,
    list_line INTEGER,
    extra VARCHAR,
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    updated_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE SEQUENCE texts_id START 1;
CREATE TABLE texts (
    id BIGINT PRIMARY KEY DEFAULT nextval('texts_id'),
    category VARCHAR NOT NULL DEFAULT 'default',
    lang VARCHAR NOT NULL,
    content VARCHAR NOT NULL,
    long BOOLEAN NOT NULL DEFAULT false,
    source VARCHAR NOT NULL DEFAULT 'user',
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    updated_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE SEQUENCE aux_clips_id START 1;
CREATE TABLE aux_clips (
    id BIGINT PRIMARY KEY DEFAULT nextval('aux_clips_id'),
    source_role VARCHAR NOT NULL DEFAULT '',
    name VARCHAR NOT NULL,
    path VARCHAR NOT NULL,
    sha256 VARCHAR NOT NULL,
    text VARCHAR NOT NULL DEFAULT '',
    lang VARCHAR NOT NULL DEFAULT 'zh',
    category VARCHAR NOT NULL DEFAULT 'default',
    duration_s DOUBLE NOT NULL,
    sample_rate INTEGER NOT NULL,
    remark VARCHAR NOT NULL DEFAULT '',
    source_clip_id BIGINT,
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    updated_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE SEQUENCE models_id START 1;
CREATE TABLE models (
    id BIGINT PRIMARY KEY DEFAULT nextval('models_id'),
    role_id BIGINT,
    kind VARCHAR NOT NULL,
    path VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    sha256 VARCHAR NOT NULL,
    size_bytes BIGINT,
    mtime DOUBLE,
    version VARCHAR,
    experiment VARCHAR,
    epoch INTEGER,
    step BIGINT,
    lora_rank INTEGER,
    pretrained BOOLEAN NOT NULL DEFAULT false,
    label VARCHAR NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE TABLE embeddings (
    sha256 VARCHAR NOT NULL,
    backend VARCHAR NOT NULL,
    version VARCHAR NOT NULL,
    dim INTEGER NOT NULL,
    vector FLOAT[] NOT NULL,
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (sha256, backend, version)
);

CREATE SEQUENCE tasks_id START 1;
CREATE TABLE tasks (
    id BIGINT PRIMARY KEY DEFAULT nextval('tasks_id'),
    role_id BIGINT NOT NULL,
    name VARCHAR NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    parent_id BIGINT,
    engine_kind VARCHAR NOT NULL DEFAULT 'gpt-sovits',
    spec VARCHAR NOT NULL,
    conclusion VARCHAR NOT NULL DEFAULT '',
    archived BOOLEAN NOT NULL DEFAULT false,
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    updated_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE TABLE takes (
    id VARCHAR PRIMARY KEY,
    engine_kind VARCHAR NOT NULL,
    clip_id BIGINT,
    clip_sha256 VARCHAR,
    gpt_id BIGINT,
    sovits_id BIGINT,
    gpt_sha256 VARCHAR,
    sovits_sha256 VARCHAR,
    aux_ids VARCHAR NOT NULL DEFAULT '[]',
    text_id BIGINT,
    text VARCHAR NOT NULL,
    text_lang VARCHAR NOT NULL,
    prompt_text VARCHAR NOT NULL DEFAULT '',
    prompt_lang VARCHAR NOT NULL DEFAULT '',
    params VARCHAR NOT NULL,
    top_k INTEGER,
    top_p DOUBLE,
    temperature DOUBLE,
    text_split_method VARCHAR,
    speed_factor DOUBLE,
    sample_steps INTEGER,
    super_sampling BOOLEAN,
    repetition_penalty DOUBLE,
    seed BIGINT,
    status VARCHAR NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    error VARCHAR,
    run_owner VARCHAR,
    audio_path VARCHAR,
    duration_s DOUBLE,
    sample_rate INTEGER,
    engine VARCHAR,
    started_at TIMESTAMP,
    finished_at TIMESTAMP,
    synth_s DOUBLE,
    extra VARCHAR,
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE TABLE task_takes (
    task_id BIGINT NOT NULL,
    take_id VARCHAR NOT NULL,
    ord INTEGER NOT NULL,
    clip_id BIGINT,
    text_id BIGINT,
    combo INTEGER
);

CREATE SEQUENCE scores_id START 1;
CREATE TABLE scores (
    id BIGINT PRIMARY KEY DEFAULT nextval('scores_id'),
    take_id VARCHAR NOT NULL,
    stars INTEGER,
    tags VARCHAR[] NOT NULL DEFAULT [],
    remark VARCHAR NOT NULL DEFAULT '',
    long_text BOOLEAN NOT NULL DEFAULT false,
    longtext_id BIGINT,
    rater VARCHAR NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE TABLE metrics (
    take_id VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    value DOUBLE,
    backend VARCHAR NOT NULL DEFAULT '',
    version VARCHAR NOT NULL DEFAULT '',
    detail VARCHAR,
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE SEQUENCE votes_id START 1;
CREATE TABLE votes (
    id BIGINT PRIMARY KEY DEFAULT nextval('votes_id'),
    task_id BIGINT,
    take_a VARCHAR NOT NULL,
    take_b VARCHAR NOT NULL,
    winner VARCHAR NOT NULL,
    rater VARCHAR NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE SEQUENCE products_id START 1;
CREATE TABLE products (
    id BIGINT PRIMARY KEY DEFAULT nextval('products_id'),
    role_id BIGINT NOT NULL,
    name VARCHAR NOT NULL,
    category VARCHAR NOT NULL DEFAULT 'default',
    clip_id BIGINT,
    gpt_id BIGINT,
    sovits_id BIGINT,
    engine_kind VARCHAR NOT NULL DEFAULT 'gpt-sovits',
    params VARCHAR NOT NULL,
    aux_ids VARCHAR NOT NULL DEFAULT '[]',
    score INTEGER,
    remark VARCHAR NOT NULL DEFAULT '',
    source_take_id VARCHAR,
    source_longtext_id BIGINT,
    extra VARCHAR,
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    updated_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE SEQUENCE longtext_runs_id START 1;
CREATE TABLE longtext_runs (
    id BIGINT PRIMARY KEY DEFAULT nextval('longtext_runs_id'),
    role_id BIGINT,
    source_take_id VARCHAR,
    product_id BIGINT,
    text_id BIGINT,
    text VARCHAR NOT NULL,
    text_lang VARCHAR NOT NULL,
    chunk_method VARCHAR NOT NULL,
    config VARCHAR NOT NULL,
    status VARCHAR NOT NULL DEFAULT 'pending',
    audio_path VARCHAR,
    srt_path VARCHAR,
    duration_s DOUBLE,
    remark VARCHAR NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    updated_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE TABLE longtext_chunks (
    run_id BIGINT NOT NULL,
    idx INTEGER NOT NULL,
    text VARCHAR NOT NULL,
    take_id VARCHAR,
    start_s DOUBLE,
    end_s DOUBLE
);

CREATE TABLE settings (
    key VARCHAR PRIMARY KEY,
    value VARCHAR
);
"""

def _seed_texts(cur: duckdb.DuckDBPyConnection) -> None:
    from rasv.texts.namespace import seed_starter_texts

    seed_starter_texts(cur)


# Requests served by `rasv api` (rasv.serving): which voices other apps use, how fast.
_API_REQUESTS = """
CREATE SEQUENCE api_requests_id START 1;
CREATE TABLE api_requests (
    id BIGINT PRIMARY KEY DEFAULT nextval('api_requests_id'),
    served_at TIMESTAMP NOT NULL,
    api VARCHAR NOT NULL,
    route VARCHAR,
    voice VARCHAR,
    product_id BIGINT,
    chars INTEGER,
    n_chunks INTEGER,
    format VARCHAR,
    status INTEGER NOT NULL,
    error VARCHAR,
    seconds DOUBLE,
    engine_s DOUBLE,
    audio_s DOUBLE,
    engine VARCHAR,
    switches INTEGER,
    client VARCHAR
);
"""

#: Every migration, in the order it is applied. Append only.
MIGRATIONS: list[Migration] = [
    Migration("0001_initial", _INITIAL),
    Migration("0002_texts_starter", _seed_texts),
    Migration("0003_api_requests", _API_REQUESTS),
]


def migrate(store: Store, migrations: list[Migration] | None = None) -> list[str]:
    """Apply every migration not yet recorded; return the names applied now.

    Each migration runs in its own transaction together with its ``schema_migrations`` row, so
    a failure leaves the database at the last good step.

    Example:
        >>> import tempfile, os
        >>> s = Store(os.path.join(tempfile.mkdtemp(), "m.duckdb"))
        >>> migrate(s)[:2]
        ['0001_initial', '0002_texts_starter']
        >>> migrate(s)
        []
    """
    migrations = MIGRATIONS if migrations is None else migrations
    names = [m.name for m in migrations]
    if len(set(names)) != len(names):
        raise ValueError("duplicate migration names")
    applied_now: list[str] = []
    with store.cursor() as cur:
        cur.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " name VARCHAR PRIMARY KEY,"
            " applied_at TIMESTAMP NOT NULL DEFAULT current_timestamp)"
        )
        done = {r[0] for r in cur.execute("SELECT name FROM schema_migrations").fetchall()}
        for m in migrations:
            if m.name in done:
                continue
            with store.transaction() as tx:
                if isinstance(m.apply, str):
                    tx.execute(m.apply)
                else:
                    m.apply(tx)
                tx.execute("INSERT INTO schema_migrations(name) VALUES (?)", [m.name])
            applied_now.append(m.name)
    return applied_now


__all__ = ["MIGRATIONS", "Migration", "migrate"]
