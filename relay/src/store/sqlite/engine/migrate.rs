//! Schema migrations for the SQLite file, applied at open.
//!
//! The applied version is `PRAGMA user_version` (in the file's header, so no table and no
//! extra dependency). A database migrated by earlier relays (sqlx's migrator) has its
//! applied versions in `_sqlx_migrations` and `user_version` 0: that is read once and
//! carried over, so such files open without re-running anything.
//!
//! Each migration runs in its own transaction together with the `user_version` bump: a
//! failed one leaves the file at the previous version. Add a migration by adding its file
//! to `relay/migrations/sqlite/` and a line to [`MIGRATIONS`] (numbered in order).

use rusqlite::{Connection, OptionalExtension as _, TransactionBehavior};

use super::db;
use crate::store::StoreError;

/// (version, SQL), in order.
const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        include_str!("../../../../migrations/sqlite/0001_initial.sql"),
    ),
    (
        2,
        include_str!("../../../../migrations/sqlite/0002_push_fatigue.sql"),
    ),
    (
        3,
        include_str!("../../../../migrations/sqlite/0003_lighter_writes.sql"),
    ),
    (
        4,
        include_str!("../../../../migrations/sqlite/0004_audit_without_autoincrement.sql"),
    ),
    (
        5,
        include_str!("../../../../migrations/sqlite/0005_enrollment_attempts.sql"),
    ),
    (
        6,
        include_str!("../../../../migrations/sqlite/0006_cluster_identity.sql"),
    ),
    (
        8,
        include_str!("../../../../migrations/sqlite/0008_ops_retention_fair_webhooks.sql"),
    ),
    (
        9,
        include_str!("../../../../migrations/sqlite/0009_token_kinds.sql"),
    ),
    (
        10,
        include_str!("../../../../migrations/sqlite/0010_maintenance.sql"),
    ),
    (
        11,
        include_str!("../../../../migrations/sqlite/0011_offline_codes.sql"),
    ),
];

/// Brings the schema on `conn` up to the newest migration.
pub(super) fn run(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(migrate)?;
    let mut version: i64 = tx
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(migrate)?;
    if version == 0 {
        version = sqlx_applied(&tx)?;
    }
    let newest = MIGRATIONS.last().map_or(0, |m| m.0);
    if version > newest {
        return Err(StoreError::Migrate(
            format!(
                "the database is at schema version {version}, newer than this relay's {newest}"
            )
            .into(),
        ));
    }
    let from = version;
    for (v, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > from) {
        tx.execute_batch(sql)
            .map_err(|e| StoreError::Migrate(format!("migration {v}: {e}").into()))?;
        version = *v;
    }
    tx.pragma_update(None, "user_version", version)
        .map_err(migrate)?;
    tx.commit().map_err(migrate)
}

/// The newest version sqlx's migrator recorded as applied (0 if it never ran here).
fn sqlx_applied(conn: &Connection) -> Result<i64, StoreError> {
    let has_table = conn
        .query_row(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
            [],
            |_| Ok(()),
        )
        .optional()
        .map_err(migrate)?
        .is_some();
    if !has_table {
        return Ok(0);
    }
    conn.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations WHERE success",
        [],
        |r| r.get(0),
    )
    .map_err(migrate)
}

fn migrate(e: rusqlite::Error) -> StoreError {
    match db(e) {
        StoreError::Database(e) => StoreError::Migrate(e),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The one integer `sql` answers.
    fn int(conn: &Connection, sql: &str) -> i64 {
        conn.query_row(sql, [], |r| r.get(0)).unwrap()
    }

    #[test]
    fn migrations_run_once_and_record_the_version() {
        let mut conn = Connection::open_in_memory().unwrap();
        run(&mut conn).unwrap();
        run(&mut conn).unwrap();
        let v = int(&conn, "PRAGMA user_version");
        assert_eq!(v, MIGRATIONS.last().unwrap().0);
    }

    #[test]
    fn a_file_migrated_by_sqlx_is_not_migrated_again() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(MIGRATIONS[0].1).unwrap();
        conn.execute_batch(
            "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, success BOOLEAN NOT NULL);
             INSERT INTO _sqlx_migrations VALUES (1, TRUE);",
        )
        .unwrap();
        // Re-running 0001 would fail on its existing tables; the later ones do run.
        run(&mut conn).unwrap();
        let v = int(&conn, "PRAGMA user_version");
        assert_eq!(v, MIGRATIONS.last().unwrap().0);
        let misses = int(
            &conn,
            "SELECT COUNT(*) FROM pragma_table_info('challenges') WHERE name = 'number_misses'",
        );
        assert_eq!(misses, 1, "0002 ran after the sqlx-applied 0001");
    }

    #[test]
    fn audit_events_keep_their_seq_and_stay_append_only_without_autoincrement() {
        let mut conn = Connection::open_in_memory().unwrap();
        for (_, sql) in &MIGRATIONS[..3] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 3).unwrap();
        let insert = "INSERT INTO audit_events (tenant_id, at, event, user_id, detail)
                      VALUES ('t', 1, 'e', 'u', '{}')";
        for _ in 0..3 {
            conn.execute(insert, []).unwrap();
        }
        run(&mut conn).unwrap();
        let seqs: Vec<i64> = conn
            .prepare("SELECT seq FROM audit_events ORDER BY seq")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(seqs, [1, 2, 3], "recorded events keep their seq");
        conn.execute(insert, []).unwrap();
        let newest = int(&conn, "SELECT MAX(seq) FROM audit_events");
        assert_eq!(newest, 4, "the next seq follows the largest");
        let sequence = int(
            &conn,
            "SELECT COUNT(*) FROM sqlite_sequence WHERE name = 'audit_events'",
        );
        assert_eq!(sequence, 0, "no sqlite_sequence row to update per insert");
        for refused in [
            "DELETE FROM audit_events WHERE seq = 4",
            "UPDATE audit_events SET event = 'x' WHERE seq = 1",
        ] {
            let err = conn.execute(refused, []).unwrap_err().to_string();
            assert!(err.contains("append-only"), "{refused}: {err}");
        }
        let indexed = int(
            &conn,
            "SELECT COUNT(*) FROM sqlite_master WHERE name = 'audit_by_tenant_user'",
        );
        assert_eq!(indexed, 1);
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        let err = run(&mut conn).unwrap_err().to_string();
        assert!(err.contains("99"), "{err}");
    }
}
