//! The ledger's tables and their versions. A migration is appended, never edited: a ledger
//! records its version in `user_version`, and one written by a newer pmhlink is refused rather
//! than guessed at.

/// Each entry takes the schema from version `index` to `index + 1`.
pub(crate) const MIGRATIONS: &[&str] = &[
    // 1: the first shape.
    r#"
    CREATE TABLE meta (
        name  TEXT PRIMARY KEY,
        value BLOB NOT NULL
    ) WITHOUT ROWID;

    -- What PMH holds: one row per history row it accepted. Content is sealed with the row key as
    -- associated data; lookups go by keyed hashes only.
    CREATE TABLE rows (
        row_key      BLOB PRIMARY KEY,
        shield       BLOB NOT NULL,
        digest       BLOB NOT NULL,
        content      BLOB NOT NULL,
        accepted_run TEXT NOT NULL,
        accepted_at  INTEGER NOT NULL
    ) WITHOUT ROWID;

    -- The runs journal: one row per attempt of a run id.
    CREATE TABLE runs (
        run_id        TEXT NOT NULL,
        attempt       INTEGER NOT NULL,
        business_date TEXT NOT NULL,
        kind          TEXT NOT NULL,
        api           TEXT NOT NULL,
        state         TEXT NOT NULL,
        started_at    INTEGER NOT NULL,
        finished_at   INTEGER,
        counts        TEXT NOT NULL DEFAULT '{}',
        config_digest TEXT NOT NULL,
        plugins       TEXT NOT NULL,
        message       TEXT,
        PRIMARY KEY (run_id, attempt)
    );

    -- What a run decided to send (or drop by omission), in order; `position` numbers the rows
    -- that are sent, so a submission is a range of positions.
    CREATE TABLE plan_rows (
        run_id   TEXT NOT NULL,
        ordinal  INTEGER NOT NULL,
        position INTEGER,
        row_key  BLOB NOT NULL,
        action   TEXT NOT NULL,
        digest   BLOB NOT NULL,
        shield   BLOB NOT NULL,
        hk_hash  BLOB NOT NULL,
        content  BLOB NOT NULL,
        state    TEXT NOT NULL,
        PRIMARY KEY (run_id, ordinal)
    ) WITHOUT ROWID;
    CREATE INDEX plan_rows_by_position ON plan_rows (run_id, position);

    -- Payload batches handed to sinks: staged (a sink has it but has not made it final),
    -- delivered, settled (a result came back) or failed (the whole task failed).
    CREATE TABLE submissions (
        run_id         TEXT NOT NULL,
        seq            INTEGER NOT NULL,
        api            TEXT NOT NULL,
        first_position INTEGER NOT NULL,
        records        INTEGER NOT NULL,
        bytes          INTEGER NOT NULL,
        payload_sha256 TEXT NOT NULL,
        receipts       TEXT NOT NULL,
        state          TEXT NOT NULL,
        staged_at      INTEGER NOT NULL,
        delivered_at   INTEGER,
        settled_at     INTEGER,
        result_sha256  TEXT,
        PRIMARY KEY (run_id, seq)
    );

    -- Rows held back: failed a check in the export (`check`) or refused by PMH (`rejected`).
    CREATE TABLE quarantine (
        qkey          BLOB PRIMARY KEY,
        kind          TEXT NOT NULL,
        codes         TEXT NOT NULL,
        message       TEXT,
        digest        BLOB,
        history_key   TEXT,
        source        TEXT,
        line          INTEGER,
        first_run     TEXT NOT NULL,
        first_at      INTEGER NOT NULL,
        last_run      TEXT NOT NULL,
        last_at       INTEGER NOT NULL,
        runs_in_a_row INTEGER NOT NULL
    ) WITHOUT ROWID;
    "#,
    // 2: a row refused by PMH and the same row held by a check are two entries, not one
    // overwriting (or silently keeping out) the other; plan rows are found by row key (a kept
    // or deleted row's content is looked up among the rows in flight, once per such row).
    r#"
    CREATE TABLE quarantine_v2 (
        qkey          BLOB NOT NULL,
        kind          TEXT NOT NULL,
        codes         TEXT NOT NULL,
        message       TEXT,
        digest        BLOB,
        history_key   TEXT,
        source        TEXT,
        line          INTEGER,
        first_run     TEXT NOT NULL,
        first_at      INTEGER NOT NULL,
        last_run      TEXT NOT NULL,
        last_at       INTEGER NOT NULL,
        runs_in_a_row INTEGER NOT NULL,
        PRIMARY KEY (kind, qkey)
    ) WITHOUT ROWID;
    INSERT INTO quarantine_v2 (qkey, kind, codes, message, digest, history_key, source, line,
                               first_run, first_at, last_run, last_at, runs_in_a_row)
        SELECT qkey, kind, codes, message, digest, history_key, source, line,
               first_run, first_at, last_run, last_at, runs_in_a_row FROM quarantine;
    DROP TABLE quarantine;
    ALTER TABLE quarantine_v2 RENAME TO quarantine;

    CREATE INDEX plan_rows_by_key ON plan_rows (row_key);
    "#,
    // 3: what a run's reading found (counts, findings, the quarantine list), sealed and kept
    // with its plan, so that a resumed or re-run day reports what the day was.
    r#"
    CREATE TABLE day_records (
        run_id TEXT PRIMARY KEY,
        sealed BLOB NOT NULL
    ) WITHOUT ROWID;
    "#,
];

pub(crate) const VERSION: i64 = MIGRATIONS.len() as i64;
