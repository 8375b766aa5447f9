//! Connections, migrations and the small SQL builder the query modules share.
//!
//! SQLite runs in-process, so a statement costs microseconds; what costs more is every hop
//! between threads. Each store call therefore runs as *one* closure: writes are queued to the
//! thread that owns the single writer connection (SQLite allows one writer; a queue in front
//! of it is better than `SQLITE_BUSY`), reads run on a blocking thread with a connection from
//! a pool of read-only ones, which WAL lets run beside the writer.

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use judgeflow_store::{StoreError, StoreResult};
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::types::{FromSql, Value};
use rusqlite::{Connection, OpenFlags, Row, RowIndex, params_from_iter};

/// Schema changes in order. The database's `user_version` counts how many have been applied;
/// each runs in its own transaction, so a crash mid-migration leaves the previous version.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_tracking.sql"),
    include_str!("../migrations/0002_registry.sql"),
    include_str!("../migrations/0003_covering_metric_index.sql"),
    include_str!("../migrations/0004_traces.sql"),
    include_str!("../migrations/0005_evaluation_datasets.sql"),
    include_str!("../migrations/0006_trace_search_indexes.sql"),
    include_str!("../migrations/0007_call_cache.sql"),
    include_str!("../migrations/0008_metrics_without_run_fk.sql"),
    include_str!("../migrations/0009_metrics_by_run_key.sql"),
];

/// Prepared statements kept per connection: search builds a handful of shapes per filter.
const STATEMENT_CACHE: usize = 128;

pub(crate) fn db_err(error: impl std::fmt::Display) -> StoreError {
    StoreError::internal(error)
}

/// `regexp(pattern, text)`, which SQLite's `REGEXP` operator calls (MLflow's `RLIKE`). The
/// compiled pattern is cached per statement, so a search compiles it once.
fn register_regexp(conn: &Connection) -> rusqlite::Result<()> {
    use rusqlite::functions::FunctionFlags;
    conn.create_scalar_function(
        "regexp",
        2,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let regex: std::sync::Arc<regex::Regex> = ctx.get_or_create_aux(0, |value| {
                let pattern = value
                    .as_str()
                    .map_err(|e| rusqlite::Error::UserFunctionError(e.into()))?;
                regex::Regex::new(pattern).map_err(|e| rusqlite::Error::UserFunctionError(e.into()))
            })?;
            Ok(match ctx.get_raw(1) {
                rusqlite::types::ValueRef::Text(text) => {
                    regex.is_match(&String::from_utf8_lossy(text))
                }
                _ => false,
            })
        },
    )
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(Duration::from_secs(10))?;
    register_regexp(conn)?;
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
    // NO_MUTEX: the writer connection is only ever used by one thread at a time (opened here,
    // then owned by the writer thread), so SQLite's per-call connection mutex is pure cost:
    // a lock and unlock around every step of every statement.
    let mut conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI,
    )
    .map_err(db_err)?;
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
    // Checkpoints fsync. SQLite's automatic one runs inside a COMMIT, so the caller (and every
    // write queued behind it) waits for a disk flush; the writer thread runs them instead,
    // between groups, after the callers have their answers (see `writer_loop`). When the WAL
    // starts over after a checkpoint, its file is cut back to this size.
    conn.execute_batch("PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = 67108864")
        .map_err(db_err)?;
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

/// Called once the group a job ran in has committed: `Some` carries the commit's failure.
type Reply = Box<dyn FnOnce(Option<&str>) + Send>;
/// One store write. It reports whether it succeeded (a failed job's changes are rolled back
/// to its savepoint) and how to deliver its result after the commit.
type Job = Box<dyn FnOnce(&mut Connection) -> (bool, Reply) + Send>;

/// Jobs committed together at most, so one group never delays its first caller for long.
const MAX_GROUP: usize = 64;

/// The single writer connection, owned by a dedicated thread that runs jobs from a queue.
///
/// Group commit: jobs that queued up while the previous group ran are executed in one
/// transaction, each inside its own savepoint, so a failing job rolls back alone and the
/// rest share one commit. Results are delivered only after that commit, so a caller never
/// sees success for data that is not durable (or not yet visible to readers).
#[derive(Clone)]
pub(crate) struct Writer {
    jobs: Arc<Mutex<Option<std::sync::mpsc::Sender<Job>>>>,
    thread: Arc<Mutex<Option<std::thread::JoinHandle<()>>>>,
}

impl Writer {
    pub(crate) fn spawn(conn: Connection) -> StoreResult<Self> {
        let (sender, receiver) = std::sync::mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("judgeflow-sqlite-writer".into())
            .spawn(move || writer_loop(conn, &receiver))
            .map_err(db_err)?;
        Ok(Self {
            jobs: Arc::new(Mutex::new(Some(sender))),
            thread: Arc::new(Mutex::new(Some(thread))),
        })
    }

    /// Runs `f` on the writer connection and waits for its group to commit.
    pub(crate) async fn run<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel::<StoreResult<T>>();
        let job: Job = Box::new(move |conn| {
            let result = f(conn);
            let ok = result.is_ok();
            let reply: Reply = Box::new(move |commit_error| {
                let result = match commit_error {
                    Some(error) if ok => {
                        Err(StoreError::internal(format!("commit failed: {error}")))
                    }
                    _ => result,
                };
                let _ = tx.send(result);
            });
            (ok, reply)
        });
        let sent = self
            .jobs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .is_some_and(|jobs| jobs.send(job).is_ok());
        if !sent {
            return Err(StoreError::internal("the store is closed"));
        }
        // A dropped sender means the job panicked; its changes were rolled back.
        rx.await
            .map_err(|_| StoreError::internal("the write was aborted"))?
    }

    /// Stops taking writes, lets queued ones finish, checkpoints the WAL and closes the
    /// connection.
    pub(crate) async fn close(&self) {
        self.jobs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let thread = self
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(thread) = thread {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }
}

/// When and how the writer checkpoints. A checkpoint fsyncs the WAL and then the database
/// (tens of milliseconds on a busy disk), and no write commits meanwhile, so under load the
/// writer checkpoints rarely: when the WAL reaches [`CHECKPOINT_PAGES`], or
/// [`CHECKPOINT_MAX_AGE`] after the previous one. Fewer, larger checkpoints also copy each hot
/// page (an index root, a run's latest metrics) once instead of once per 100 ms. An idle
/// writer checkpoints after [`CHECKPOINT_IDLE`] without work, so a quiet store's WAL is empty.
const CHECKPOINT_IDLE: Duration = Duration::from_millis(100);
const CHECKPOINT_MAX_AGE: Duration = Duration::from_secs(1);

/// However fast the writes come, the writer checkpoints as soon as the WAL holds this many
/// pages (16 MiB of 4 KiB pages), so its size does not depend on the machine's speed.
const CHECKPOINT_PAGES: i32 = 4096;

thread_local! {
    /// Pages in the WAL after the writer's last commit, as SQLite's WAL hook reports them.
    /// The writer thread owns its connection, so the hook always runs on that thread.
    static WAL_PAGES: std::cell::Cell<i32> = const { std::cell::Cell::new(0) };
}

#[expect(
    clippy::unnecessary_wraps,
    reason = "the signature rusqlite's WAL hook takes"
)]
fn note_wal_pages(_wal: &rusqlite::hooks::Wal, pages: std::ffi::c_int) -> rusqlite::Result<()> {
    WAL_PAGES.with(|cell| cell.set(pages));
    Ok(())
}

fn writer_loop(mut conn: Connection, jobs: &std::sync::mpsc::Receiver<Job>) {
    // Set after `wal_autocheckpoint = 0`: that pragma installs (and so would replace) a hook.
    conn.wal_hook(Some(note_wal_pages));
    let mut dirty = false;
    let mut idle = false;
    let mut last_checkpoint = std::time::Instant::now();
    loop {
        let wal_full = WAL_PAGES.with(std::cell::Cell::get) >= CHECKPOINT_PAGES;
        if dirty && (idle || wal_full || last_checkpoint.elapsed() >= CHECKPOINT_MAX_AGE) {
            checkpoint(&conn);
            WAL_PAGES.with(|cell| cell.set(0));
            dirty = false;
            last_checkpoint = std::time::Instant::now();
        }
        let first = match jobs.recv_timeout(CHECKPOINT_IDLE) {
            Ok(job) => job,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                idle = true;
                continue;
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
        };
        idle = false;
        dirty = true;
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match jobs.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        if group.len() == 1 {
            // Alone, a job's own savepoint is its transaction.
            if let Some((_, reply)) = run_job(&mut conn, group.remove(0)) {
                reply(None);
            }
            continue;
        }
        run_group(&mut conn, group);
    }
    // Readers may still hold connections, so closing this one need not checkpoint by itself.
    if dirty {
        checkpoint(&conn);
    }
    if let Err((_, error)) = conn.close() {
        tracing::warn!(%error, "closing the SQLite writer failed");
    }
}

/// Copies the WAL back into the database file. Run by the writer between writes, so it can
/// backfill every frame (unless a reader still needs old ones) and the next write starts the
/// WAL over instead of growing it: a checkpointer beside a busy writer never catches up.
///
/// A reader still on an old snapshot keeps its frames from being backfilled, and then the WAL
/// cannot start over. Readers are short, so once the WAL is well past its checkpoint size the
/// writer waits for them (a RESTART checkpoint, within the busy timeout) rather than let it
/// grow for as long as reads keep overlapping.
fn checkpoint(conn: &Connection) {
    let passive = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
        Ok((row.get::<_, i64>(1)?, row.get::<_, i64>(2)?))
    });
    match passive {
        Ok((log, done)) if done < log && log >= 4 * i64::from(CHECKPOINT_PAGES) => {
            if let Err(error) = conn.execute_batch("PRAGMA wal_checkpoint(RESTART)") {
                tracing::warn!(%error, wal_pages = log, "WAL restart checkpoint failed");
            }
        }
        Ok(_) => {}
        Err(error) => tracing::warn!(%error, "WAL checkpoint failed"),
    }
}

/// Runs `f` inside a savepoint of its own: released when `f` succeeds, rolled back when it
/// fails or panics, whether or not the writer has a group transaction open around it. For
/// writes made of several store functions that must land together.
pub(crate) fn atomically<T>(
    conn: &mut Connection,
    f: impl FnOnce(&mut Connection) -> StoreResult<T>,
) -> StoreResult<T> {
    run_cached(conn, "SAVEPOINT atomically").map_err(db_err)?;
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(conn)));
    let end =
        |sql: &str| run_cached(conn, sql).and_then(|()| run_cached(conn, "RELEASE atomically"));
    match outcome {
        Ok(Ok(value)) => {
            run_cached(conn, "RELEASE atomically").map_err(db_err)?;
            Ok(value)
        }
        Ok(Err(error)) => {
            end("ROLLBACK TO atomically").map_err(db_err)?;
            Err(error)
        }
        Err(panic) => {
            let _ = end("ROLLBACK TO atomically");
            std::panic::resume_unwind(panic)
        }
    }
}

/// Runs one job, containing a panic to that job (`None`: its caller sees an aborted write).
fn run_job(conn: &mut Connection, job: Job) -> Option<(bool, Reply)> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(conn))).ok()
}

/// A statement without parameters or rows, prepared once per connection: the group's
/// transaction control runs for every write, and parsing it each time showed in profiles.
fn run_cached(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

fn run_group(conn: &mut Connection, group: Vec<Job>) {
    if let Err(error) = run_cached(conn, "BEGIN IMMEDIATE") {
        tracing::warn!(%error, "could not begin a group transaction; running jobs one by one");
        for job in group {
            if let Some((_, reply)) = run_job(conn, job) {
                reply(None);
            }
        }
        return;
    }
    let mut replies = Vec::with_capacity(group.len());
    for job in group {
        let savepoint = run_cached(conn, "SAVEPOINT job");
        let outcome = run_job(conn, job);
        let keep = matches!(outcome, Some((true, _)));
        if savepoint.is_ok() {
            let rolled_back = if keep {
                Ok(())
            } else {
                run_cached(conn, "ROLLBACK TO job")
            };
            if let Err(error) = rolled_back.and_then(|()| run_cached(conn, "RELEASE job")) {
                tracing::warn!(%error, "could not end a job savepoint");
            }
        }
        if let Some((_, reply)) = outcome {
            replies.push(reply);
        }
    }
    let commit_error = run_cached(conn, "COMMIT").err().map(|error| {
        let _ = conn.execute_batch("ROLLBACK");
        error.to_string()
    });
    for reply in replies {
        reply(commit_error.as_deref());
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
        // One read transaction per call: its queries see one snapshot (a run and its children
        // agree), and SQLite takes its file and WAL locks once instead of per statement.
        execute(&conn, "BEGIN", [])?;
        let result = f(&conn);
        if let Err(error) = execute(&conn, "COMMIT", []) {
            // A read transaction has nothing to lose; make sure the pooled connection is clean.
            let _ = conn.execute_batch("ROLLBACK");
            return Err(error);
        }
        result
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

    /// Appends another fragment, text and bound values.
    pub(crate) fn append(&mut self, other: &Sql) -> &mut Self {
        self.text.push_str(&other.text);
        self.binds.extend(other.binds.iter().cloned());
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
