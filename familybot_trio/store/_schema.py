"""The schema as a list of migrations, applied in order by PRAGMA user_version.

Migration N (1-based) turns a version N-1 database into version N. Each runs in its own
transaction together with its `PRAGMA user_version = N`, so a crash leaves the database at
N-1 or N, never between. Never edit a released migration: append a new one.

Times are INTEGER Unix seconds (UTC). Ids (appid, SteamID64, Discord snowflakes) are INTEGER
(SQLite integers are 64-bit signed; SteamID64 and snowflakes fit).
"""

from __future__ import annotations

from typing import Final

_V1: Final = (
    """CREATE TABLE members (
        steamid     INTEGER PRIMARY KEY,
        name        TEXT NOT NULL,
        discord_id  INTEGER UNIQUE,
        added_at    INTEGER NOT NULL)""",
    # The family library. Removed apps stay (removed_at set) so a return is recognisable.
    """CREATE TABLE library_apps (
        appid            INTEGER PRIMARY KEY,
        app_type         TEXT,
        exclude_reason   INTEGER NOT NULL DEFAULT 0,
        rt_time_acquired INTEGER,
        first_seen_at    INTEGER NOT NULL,
        last_seen_at     INTEGER NOT NULL,
        removed_at       INTEGER)""",
    """CREATE TABLE library_owners (
        appid    INTEGER NOT NULL REFERENCES library_apps(appid) ON DELETE CASCADE,
        steamid  INTEGER NOT NULL,
        PRIMARY KEY (appid, steamid)) WITHOUT ROWID""",
    """CREATE TABLE app_details (
        appid             INTEGER PRIMARY KEY,
        name              TEXT NOT NULL,
        app_type          TEXT NOT NULL,
        categories        TEXT NOT NULL DEFAULT '[]',
        is_free           INTEGER NOT NULL,
        capsule_url       TEXT,
        is_family_shared  INTEGER,
        fetched_at        INTEGER NOT NULL)""",
    """CREATE TABLE prices (
        appid              INTEGER NOT NULL,
        country            TEXT NOT NULL,
        price_cents        INTEGER,
        initial_cents      INTEGER,
        currency           TEXT,
        discount_pct       INTEGER NOT NULL DEFAULT 0,
        itad_id            TEXT,
        history_low_cents  INTEGER,
        fetched_at         INTEGER NOT NULL,
        sale_started_at    INTEGER,
        PRIMARY KEY (appid, country))""",
    # appid -> ITAD game id, kept for good; itad_id NULL = ITAD does not know the app.
    """CREATE TABLE itad_ids (
        appid         INTEGER PRIMARY KEY,
        itad_id       TEXT,
        looked_up_at  INTEGER NOT NULL)""",
    """CREATE TABLE wishlist_items (
        steamid     INTEGER NOT NULL,
        appid       INTEGER NOT NULL,
        priority    INTEGER,
        date_added  INTEGER,
        PRIMARY KEY (steamid, appid)) WITHOUT ROWID""",
    "CREATE INDEX wishlist_items_by_appid ON wishlist_items(appid)",
    """CREATE TABLE owned_games (
        steamid       INTEGER NOT NULL,
        appid         INTEGER NOT NULL,
        playtime_min  INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (steamid, appid)) WITHOUT ROWID""",
    "CREATE INDEX owned_games_by_appid ON owned_games(appid)",
    # Last accepted fetch per (kind, subject): when the cache was filled, with how many rows.
    """CREATE TABLE fetches (
        kind        TEXT NOT NULL,
        subject     TEXT NOT NULL,
        fetched_at  INTEGER NOT NULL,
        row_count   INTEGER NOT NULL,
        PRIMARY KEY (kind, subject)) WITHOUT ROWID""",
    """CREATE TABLE outbox (
        id          INTEGER PRIMARY KEY,
        kind        TEXT NOT NULL,
        dedupe_key  TEXT NOT NULL UNIQUE,
        channel_id  INTEGER NOT NULL,
        payload     TEXT NOT NULL,
        nonce       TEXT NOT NULL UNIQUE,
        created_at  INTEGER NOT NULL,
        sent_at     INTEGER,
        message_id  INTEGER,
        attempts    INTEGER NOT NULL DEFAULT 0,
        last_error  TEXT)""",
    "CREATE INDEX outbox_pending ON outbox(id) WHERE sent_at IS NULL",
    """CREATE TABLE posted_free_games (
        dedupe_key  TEXT PRIMARY KEY,
        source      TEXT NOT NULL,
        title       TEXT NOT NULL,
        url         TEXT,
        posted_at   INTEGER NOT NULL)""",
    """CREATE TABLE kv (
        key         TEXT PRIMARY KEY,
        value       TEXT NOT NULL,
        updated_at  INTEGER NOT NULL)""",
    """CREATE TABLE schedule_runs (
        job              TEXT PRIMARY KEY,
        runs             INTEGER NOT NULL DEFAULT 0,
        failures         INTEGER NOT NULL DEFAULT 0,
        last_ok_at       INTEGER,
        last_error       TEXT,
        last_error_at    INTEGER,
        last_duration_s  REAL)""",
)

# v2: fetches that failed or looked wrong, kept for the admin report.
_V2: Final = (
    """CREATE TABLE fetch_anomalies (
        id              INTEGER PRIMARY KEY,
        kind            TEXT NOT NULL,
        subject         TEXT NOT NULL,
        reason          TEXT NOT NULL,
        previous_count  INTEGER,
        new_count       INTEGER,
        at              INTEGER NOT NULL)""",
    "CREATE INDEX fetch_anomalies_by_at ON fetch_anomalies(at)",
)

# v3: a generic text cache with expiry, backing upstream.CatalogCache (values are the
# upstream codec's text; the store does not parse them).
_V3: Final = (
    """CREATE TABLE cache (
        namespace   TEXT NOT NULL,
        key         TEXT NOT NULL,
        value       TEXT NOT NULL,
        expires_at  INTEGER NOT NULL,
        PRIMARY KEY (namespace, key)) WITHOUT ROWID""",
    "CREATE INDEX cache_by_expiry ON cache(expires_at)",
)

# v4: outbox delivery state. next_attempt_at: earliest retry (NULL = now); claimed_at: a
# create-message request for the row was sent at this time (in flight until sent_at); failed_at:
# Discord refused the row for good (retried hourly for a while, see familybot_trio.outbox_sender);
# dropped_at: an admin dropped it (never sent, its dedupe_key stays used).
_V4: Final = (
    "ALTER TABLE outbox ADD COLUMN next_attempt_at INTEGER",
    "ALTER TABLE outbox ADD COLUMN claimed_at INTEGER",
    "ALTER TABLE outbox ADD COLUMN failed_at INTEGER",
    "ALTER TABLE outbox ADD COLUMN dropped_at INTEGER",
)

# v5: library changes other than new games (removals, extra copies, exclusions), recorded by
# apply_snapshot in the snapshot's own transaction and posted as one daily digest;
# digested_at is set in the transaction that queues the digest's outbox rows.
_V5: Final = (
    """CREATE TABLE library_events (
        id             INTEGER PRIMARY KEY,
        kind           TEXT NOT NULL,
        appid          INTEGER NOT NULL,
        owners         TEXT NOT NULL DEFAULT '',
        exclude_reason INTEGER NOT NULL DEFAULT 0,
        at             INTEGER NOT NULL,
        digested_at    INTEGER)""",
    "CREATE INDEX library_events_pending ON library_events(digested_at, id)",
)

# v6: dashboard sign-in. Only SHA-256 hashes of the session cookie and of one-time link
# tokens are stored, so a copy of the database signs nobody in.
_V6: Final = (
    """CREATE TABLE dashboard_sessions (
        token_hash   TEXT PRIMARY KEY,
        discord_id   INTEGER NOT NULL,
        username     TEXT NOT NULL,
        csrf_token   TEXT NOT NULL,
        created_at   INTEGER NOT NULL,
        expires_at   INTEGER NOT NULL,
        last_seen_at INTEGER NOT NULL)""",
    """CREATE TABLE dashboard_links (
        token_hash   TEXT PRIMARY KEY,
        discord_id   INTEGER NOT NULL,
        created_at   INTEGER NOT NULL,
        expires_at   INTEGER NOT NULL,
        used_at      INTEGER)""",
)

# v7: personal alert settings, one row per member (see store/alerts.py).
_V7: Final = (
    """CREATE TABLE alert_settings (
        steamid        INTEGER PRIMARY KEY,
        discount_pct   INTEGER,
        at_low         INTEGER NOT NULL DEFAULT 0,
        on_library     INTEGER NOT NULL DEFAULT 0,
        on_free        INTEGER NOT NULL DEFAULT 0,
        quiet_start    INTEGER,
        quiet_end      INTEGER,
        timezone       TEXT NOT NULL DEFAULT 'UTC',
        dm_channel_id  INTEGER,
        paused         INTEGER NOT NULL DEFAULT 0,
        since          INTEGER)""",
)

# v8: whether an anomaly starts a streak (the first of its nature, a failed fetch or a
# suspicious answer, for its kind and subject, or the first since a fetch of that subject was
# accepted), decided when it is recorded (store/_guard.py record): the fetches table keeps only
# the latest accepted fetch, so judging later sees a streak that ended as a new one. Rows from
# before v8 are marked by the first-of-its-nature rule alone.
_V8: Final = (
    "ALTER TABLE fetch_anomalies ADD COLUMN starts_streak INTEGER NOT NULL DEFAULT 0",
    """UPDATE fetch_anomalies SET starts_streak = 1 WHERE NOT EXISTS (
        SELECT 1 FROM fetch_anomalies AS p WHERE p.kind = fetch_anomalies.kind
        AND p.subject = fetch_anomalies.subject AND p.id < fetch_anomalies.id
        AND (p.new_count IS NULL) = (fetch_anomalies.new_count IS NULL))""",
)

#: MIGRATIONS[i] brings the database from user_version i to i + 1.
MIGRATIONS: Final[tuple[tuple[str, ...], ...]] = (_V1, _V2, _V3, _V4, _V5, _V6, _V7, _V8)
SCHEMA_VERSION: Final = len(MIGRATIONS)
