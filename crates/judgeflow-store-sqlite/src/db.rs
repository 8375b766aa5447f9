//! Connections, migrations and the small SQL builder the query modules share.
//!
//! SQLite runs in-process, so a statement costs microseconds; what costs more is every hop
//! between threads. Each store call therefore runs as *one* closure on a blocking thread:
//! writes on the single writer connection (SQLite allows one writer; a queue in front of it is
//! better than `SQLITE_BUSY`), reads on a pool of read-only connections, which WAL lets run
//! beside the writer.

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use judgeflow_store::{StoreError, StoreResult};
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::types::{FromSql, Value};
use rusqlite::{Connection, OpenFlags, Row, RowIndex, params_from_iter};

/// Schema changes in order. The database's `user_version` counts how many have been applied;
/// each runs in its own transaction, so a crash mid-migration leaves the previous version.
const MIGRATIONS: &[&str] = &[include_str!("../migrations/0001_tracking.sql")];

/// Prepared statements kept per connection: search builds a handful of shapes per filter.
const STATEMENT_CACHE: usize = 128;

pub(crate) fn db_err(error: impl std::fmt::Display) -> StoreError {
    StoreError::internal(error)
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    // NORMAL in WAL mode is crash-safe (a kill never corrupts or half-applies a transaction);
    // only an OS crash may lose the last commits.
    conn.execute_batch(
        "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
         PRAGMA cache_size = -32000; PRAGMA temp_store = MEMORY;",
    )
}

/// Opens the writer connection, switching the file to WAL and migrating it.
pub(crate) fn open_writer(path: &Path) -> StoreResult<Connection> {
    let mut conn = Connection::open(path).map_err(db_err)?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
        .map_err(db_err)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::internal(format!(
            "could not switch {} to WAL (got {mode})",
            path.display()
        )));
    }
    configure(&conn).map_err(db_err)?;
    migrate(&mut conn)?;
    Ok(conn)
}

fn migrate(conn: &mut Connection) -> StoreResult<()> {
    let applied: i64 = conn
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(db_err)?;
    let applied = usize::try_from(applied).map_err(db_err)?;
    if applied > MIGRATIONS.len() {
        return Err(StoreError::internal(format!(
            "the database is at schema version {applied}, newer than this binary ({}); upgrade judgeflow",
            MIGRATIONS.len()
        )));
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
        let tx = conn.transaction().map_err(db_err)?;
        tx.execute_batch(sql).map_err(db_err)?;
        // PRAGMA takes no bound parameters; the value is our own integer.
        tx.execute_batch(&format!("PRAGMA user_version = {}", index + 1))
            .map_err(db_err)?;
        tx.commit().map_err(db_err)?;
    }
    Ok(())
}

pub(crate) type ReadPool = r2d2::Pool<SqliteConnectionManager>;

pub(crate) fn open_readers(path: &Path, size: u32) -> StoreResult<ReadPool> {
    let manager = SqliteConnectionManager::file(path)
        .with_flags(
            OpenFlags::SQLITE_OPEN_READ_ONLY
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_URI,
        )
        .with_init(|conn| configure(conn));
    r2d2::Pool::builder()
        .max_size(size.max(1))
        .min_idle(Some(1))
        .build(manager)
        .map_err(db_err)
}

/// The writer connection, shared by clones of the store.
#[derive(Clone)]
pub(crate) struct Writer(Arc<Mutex<Option<Connection>>>);

impl Writer {
    pub(crate) fn new(conn: Connection) -> Self {
        Self(Arc::new(Mutex::new(Some(conn))))
    }

    /// Runs `f` on the writer connection on a blocking thread.
    pub(crate) async fn run<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        let slot = self.0.clone();
        blocking(move || {
            // A panic inside `f` rolled its transaction back when the transaction dropped, so
            // the connection is still sound: poisoning carries no meaning here.
            let mut guard = slot.lock().unwrap_or_else(PoisonError::into_inner);
            let conn = guard
                .as_mut()
                .ok_or_else(|| StoreError::internal("the store is closed"))?;
            f(conn)
        })
        .await
    }

    /// Closes the connection, which checkpoints the WAL into the main file.
    pub(crate) async fn close(&self) {
        let slot = self.0.clone();
        let _ = blocking(move || {
            if let Some(conn) = slot.lock().unwrap_or_else(PoisonError::into_inner).take() {
                conn.close().map_err(|(_, e)| db_err(e))?;
            }
            Ok(())
        })
        .await;
    }
}

/// Runs `f` with a pooled read-only connection on a blocking thread.
pub(crate) async fn read<T, F>(pool: &ReadPool, f: F) -> StoreResult<T>
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
{
    let pool = pool.clone();
    blocking(move || {
        let conn = pool.get().map_err(db_err)?;
        f(&conn)
    })
    .await
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> StoreResult<T> + Send + 'static,
) -> StoreResult<T> {
    tokio::task::spawn_blocking(f).await.map_err(db_err)?
}

/// Typed column access with store errors.
pub(crate) trait RowExt {
    fn col<T: FromSql>(&self, index: impl RowIndex) -> StoreResult<T>;
}

impl RowExt for Row<'_> {
    fn col<T: FromSql>(&self, index: impl RowIndex) -> StoreResult<T> {
        self.get(index).map_err(db_err)
    }
}

/// SQL text with its bound values, built piece by piece. Values are always bound (`?`), never
/// spliced into the text.
#[derive(Debug, Default)]
pub(crate) struct Sql {
    text: String,
    binds: Vec<Value>,
}

impl Sql {
    pub(crate) fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            binds: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, text: impl AsRef<str>) -> &mut Self {
        self.text.push_str(text.as_ref());
        self
    }

    pub(crate) fn push_bind(&mut self, value: impl Into<Value>) -> &mut Self {
        self.text.push('?');
        self.binds.push(value.into());
        self
    }

    /// `?, ?, ?` for each value.
    pub(crate) fn push_bind_list<V: Into<Value>>(
        &mut self,
        values: impl IntoIterator<Item = V>,
    ) -> &mut Self {
        for (i, value) in values.into_iter().enumerate() {
            if i > 0 {
                self.text.push_str(", ");
            }
            self.push_bind(value);
        }
        self
    }

    pub(crate) fn rows<T>(
        &self,
        conn: &Connection,
        mut decode: impl FnMut(&Row<'_>) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        let mut statement = conn.prepare_cached(&self.text).map_err(db_err)?;
        let mut rows = statement
            .query(params_from_iter(self.binds.iter()))
            .map_err(db_err)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(db_err)? {
            out.push(decode(row)?);
        }
        Ok(out)
    }
}

/// Runs a query and decodes every row.
pub(crate) fn query_rows<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    mut decode: impl FnMut(&Row<'_>) -> StoreResult<T>,
) -> StoreResult<Vec<T>> {
    let mut statement = conn.prepare_cached(sql).map_err(db_err)?;
    let mut rows = statement.query(params).map_err(db_err)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(db_err)? {
        out.push(decode(row)?);
    }
    Ok(out)
}

/// Runs a query expected to return at most one row.
pub(crate) fn query_opt<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    decode: impl FnOnce(&Row<'_>) -> StoreResult<T>,
) -> StoreResult<Option<T>> {
    let mut statement = conn.prepare_cached(sql).map_err(db_err)?;
    let mut rows = statement.query(params).map_err(db_err)?;
    match rows.next().map_err(db_err)? {
        Some(row) => decode(row).map(Some),
        None => Ok(None),
    }
}

/// Runs a statement and returns the number of changed rows.
pub(crate) fn execute(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> StoreResult<usize> {
    conn.prepare_cached(sql)
        .map_err(db_err)?
        .execute(params)
        .map_err(db_err)
}

/// Whether a failed statement broke a UNIQUE or PRIMARY KEY constraint.
pub(crate) fn is_unique_violation(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(rusqlite::ErrorCode::ConstraintViolation)
    ) && matches!(
        error,
        rusqlite::Error::SqliteFailure(e, _)
            if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    )
}
