//! Reading an Uptime Kuma database: opened read-only, only the configuration tables, each row as
//! loosely typed cells (SQLite lets any column hold any type, and the file may have been edited by
//! hand), with bounds on rows per table, on each value and on the whole read.

use futures::TryStreamExt;
use sqlx::sqlite::{SqliteConnectOptions, SqliteRow};
use sqlx::{Column, ConnectOptions, Connection, Row as _, SqliteConnection, TypeInfo, ValueRef};
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

/// The longest value read from any cell; longer ones are reported, not read.
pub const MAX_VALUE_BYTES: usize = 64 * 1024;
/// The most bytes read from the whole database.
pub const MAX_TOTAL_BYTES: usize = 64 * 1024 * 1024;
/// What a cell holds in place of a value longer than [`MAX_VALUE_BYTES`] (a NUL starts it, so no
/// text a person typed into Kuma is taken for it by accident); the SQL writes it as
/// `char(0) || 'watchtower:oversized'`.
const OVERSIZED_MARKER: &str = "\u{0}watchtower:oversized";

/// Which major version wrote the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KumaVersion {
    /// 1.x: the schema of `db/kuma.db` and its `patch-*.sql` files.
    V1,
    /// 2.x: knex migrations (the `knex_migrations` table is there).
    V2,
}

impl fmt::Display for KumaVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KumaVersion::V1 => "1.x",
            KumaVersion::V2 => "2.x",
        })
    }
}

/// One value as SQLite stored it.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    /// A blob, which no configuration column holds.
    Blob,
    /// Longer than [`MAX_VALUE_BYTES`]; not read.
    Oversized,
}

/// One row of a Kuma table: its cells by column name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Row {
    pub cells: BTreeMap<String, Cell>,
}

/// A value that is not what its column should hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellProblem {
    pub column: String,
    pub problem: String,
}

impl fmt::Display for CellProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.column, self.problem)
    }
}

impl Row {
    fn problem(column: &str, problem: &str) -> CellProblem {
        CellProblem {
            column: column.to_owned(),
            problem: problem.to_owned(),
        }
    }

    fn cell(&self, column: &str) -> &Cell {
        self.cells.get(column).unwrap_or(&Cell::Null)
    }

    /// Text, or `None` for NULL, a missing column or empty text.
    pub fn text(&self, column: &str) -> Result<Option<&str>, CellProblem> {
        match self.cell(column) {
            Cell::Null => Ok(None),
            Cell::Text(text) if text.is_empty() => Ok(None),
            Cell::Text(text) => Ok(Some(text)),
            Cell::Oversized => Err(Self::too_long(column)),
            _ => Err(Self::problem(column, "is not text")),
        }
    }

    /// A whole number (SQLite may keep one as text or as a real).
    pub fn int(&self, column: &str) -> Result<Option<i64>, CellProblem> {
        match self.cell(column) {
            Cell::Null => Ok(None),
            Cell::Int(value) => Ok(Some(*value)),
            Cell::Real(value) if value.fract() == 0.0 && value.abs() < 1e15 => {
                Ok(Some(*value as i64))
            }
            Cell::Text(text) => text
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| Self::problem(column, "is not a whole number")),
            Cell::Oversized => Err(Self::too_long(column)),
            _ => Err(Self::problem(column, "is not a whole number")),
        }
    }

    /// A number.
    pub fn real(&self, column: &str) -> Result<Option<f64>, CellProblem> {
        match self.cell(column) {
            Cell::Null => Ok(None),
            Cell::Int(value) => Ok(Some(*value as f64)),
            Cell::Real(value) if value.is_finite() => Ok(Some(*value)),
            Cell::Text(text) => match text.trim().parse::<f64>() {
                Ok(value) if value.is_finite() => Ok(Some(value)),
                _ => Err(Self::problem(column, "is not a number")),
            },
            Cell::Oversized => Err(Self::too_long(column)),
            _ => Err(Self::problem(column, "is not a number")),
        }
    }

    /// A boolean (Kuma writes 0 and 1; knex on SQLite may write `true` and `false`).
    pub fn flag(&self, column: &str) -> Result<Option<bool>, CellProblem> {
        match self.cell(column) {
            Cell::Null => Ok(None),
            Cell::Int(0) => Ok(Some(false)),
            Cell::Int(1) => Ok(Some(true)),
            Cell::Text(text) => match text.trim() {
                "0" | "false" => Ok(Some(false)),
                "1" | "true" => Ok(Some(true)),
                _ => Err(Self::problem(column, "is not a boolean")),
            },
            _ => Err(Self::problem(column, "is not a boolean")),
        }
    }

    /// The row's `id`, which every table read has.
    pub fn id(&self) -> Result<i64, CellProblem> {
        self.int("id")?
            .ok_or_else(|| Self::problem("id", "is missing"))
    }

    fn too_long(column: &str) -> CellProblem {
        Self::problem(
            column,
            &format!("is longer than {} KiB; not read", MAX_VALUE_BYTES / 1024),
        )
    }
}

/// The most rows read from each table; the report names a table that had more.
#[derive(Debug, Clone, Copy)]
pub struct TableLimits {
    pub monitors: usize,
    pub links: usize,
    pub others: usize,
}

impl Default for TableLimits {
    fn default() -> Self {
        // Kuma's own ceiling is about 500 monitors (field-lessons.md); ten thousand leaves room.
        Self {
            monitors: 10_000,
            links: 100_000,
            others: 2_000,
        }
    }
}

/// Every configuration table of a Kuma database, as rows.
#[derive(Debug, Clone)]
pub struct KumaDatabase {
    pub version: KumaVersion,
    pub monitors: Vec<Row>,
    pub notifications: Vec<Row>,
    pub monitor_notifications: Vec<Row>,
    pub tags: Vec<Row>,
    pub monitor_tags: Vec<Row>,
    pub maintenances: Vec<Row>,
    pub monitor_maintenances: Vec<Row>,
    pub maintenance_status_pages: Vec<Row>,
    pub status_pages: Vec<Row>,
    pub groups: Vec<Row>,
    pub monitor_groups: Vec<Row>,
    pub status_page_domains: Vec<Row>,
    pub settings: Vec<Row>,
    /// Tables that held more rows than were read, with the number read.
    pub truncated: Vec<(String, usize)>,
}

impl KumaDatabase {
    /// A database of `version` with no rows (for building one by hand, as the fuzz target does).
    pub fn empty(version: KumaVersion) -> Self {
        Self {
            version,
            monitors: Vec::new(),
            notifications: Vec::new(),
            monitor_notifications: Vec::new(),
            tags: Vec::new(),
            monitor_tags: Vec::new(),
            maintenances: Vec::new(),
            monitor_maintenances: Vec::new(),
            maintenance_status_pages: Vec::new(),
            status_pages: Vec::new(),
            groups: Vec::new(),
            monitor_groups: Vec::new(),
            status_page_domains: Vec::new(),
            settings: Vec::new(),
            truncated: Vec::new(),
        }
    }
}

/// Why a database could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{0} is not a file")]
    NotAFile(String),
    #[error("cannot open {path} as an SQLite database: {error}")]
    Open {
        path: String,
        #[source]
        error: sqlx::Error,
    },
    #[error("{0} is not an Uptime Kuma database (it has no monitor table)")]
    NotKuma(String),
    #[error("reading table {table} failed: {error}")]
    Query {
        table: String,
        #[source]
        error: sqlx::Error,
    },
    #[error(
        "the configuration tables hold more than {} MiB; this is not an Uptime Kuma database \
         WatchTower can import in one go",
        MAX_TOTAL_BYTES / 1024 / 1024
    )]
    TooLarge,
}

/// Opens `path` read-only and reads every configuration table.
pub async fn read(path: &Path, limits: TableLimits) -> Result<KumaDatabase, ReadError> {
    let shown = path.display().to_string();
    if !path.is_file() {
        return Err(ReadError::NotAFile(shown));
    }
    // Read-only first. A database in WAL mode (Kuma's) whose folder cannot be written (a
    // read-only mount) cannot be opened that way without its -shm file; opened immutable it can,
    // which is sound because Kuma is stopped (the README asks for that).
    let (mut conn, tables) = match open(path, false).await {
        Ok(opened) => opened,
        Err(first) => open(path, true).await.map_err(|_| ReadError::Open {
            path: shown.clone(),
            error: first,
        })?,
    };
    if !tables.iter().any(|t| t == "monitor") {
        return Err(ReadError::NotKuma(shown));
    }
    let version = if tables.iter().any(|t| t == "knex_migrations") {
        KumaVersion::V2
    } else {
        KumaVersion::V1
    };
    let mut reader = TableReader {
        conn: &mut conn,
        tables: &tables,
        total: 0,
        truncated: Vec::new(),
    };
    let database = KumaDatabase {
        version,
        monitors: reader.read("monitor", limits.monitors).await?,
        notifications: reader.read("notification", limits.others).await?,
        monitor_notifications: reader.read("monitor_notification", limits.links).await?,
        tags: reader.read("tag", limits.others).await?,
        monitor_tags: reader.read("monitor_tag", limits.links).await?,
        maintenances: reader.read("maintenance", limits.others).await?,
        monitor_maintenances: reader.read("monitor_maintenance", limits.links).await?,
        maintenance_status_pages: reader.read("maintenance_status_page", limits.links).await?,
        status_pages: reader.read("status_page", limits.others).await?,
        groups: reader.read("group", limits.others).await?,
        monitor_groups: reader.read("monitor_group", limits.links).await?,
        status_page_domains: reader.read("status_page_cname", limits.others).await?,
        settings: reader.read("setting", limits.others).await?,
        truncated: std::mem::take(&mut reader.truncated),
    };
    let _ = conn.close().await;
    Ok(database)
}

/// A connection that writes nothing, and the names of the file's tables.
async fn open(
    path: &Path,
    immutable: bool,
) -> Result<(SqliteConnection, Vec<String>), sqlx::Error> {
    let mut conn = SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .immutable(immutable)
        .create_if_missing(false)
        .connect()
        .await?;
    let tables = sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'")
        .fetch_all(&mut conn)
        .await?;
    Ok((conn, tables))
}

struct TableReader<'a> {
    conn: &'a mut SqliteConnection,
    tables: &'a [String],
    total: usize,
    truncated: Vec<(String, usize)>,
}

impl TableReader<'_> {
    /// The first `limit` rows of `table` by id (none when the table does not exist: older
    /// versions lack some).
    async fn read(&mut self, table: &str, limit: usize) -> Result<Vec<Row>, ReadError> {
        if !self.tables.iter().any(|t| t == table) {
            return Ok(Vec::new());
        }
        let failed = |error| ReadError::Query {
            table: table.to_owned(),
            error,
        };
        let columns: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_table_info($1)")
            .bind(table)
            .fetch_all(&mut *self.conn)
            .await
            .map_err(failed)?;
        // Each value longer than the bound is replaced in SQL, so it is never loaded.
        let selected: Vec<String> = columns
            .iter()
            .map(|column| {
                let quoted = quote(column);
                format!(
                    "CASE WHEN typeof({quoted}) IN ('text', 'blob') AND length(CAST({quoted} AS BLOB)) > {MAX_VALUE_BYTES} \
                     THEN char(0) || 'watchtower:oversized' ELSE {quoted} END AS {quoted}"
                )
            })
            .collect();
        let order = if columns.iter().any(|c| c == "id") {
            " ORDER BY id"
        } else {
            ""
        };
        let sql = format!(
            "SELECT {} FROM {}{order} LIMIT {}",
            selected.join(", "),
            quote(table),
            limit + 1
        );
        let mut rows = Vec::new();
        let mut stream = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch(&mut *self.conn);
        while let Some(row) = stream.try_next().await.map_err(failed)? {
            if rows.len() == limit {
                self.truncated.push((table.to_owned(), limit));
                break;
            }
            let (row, bytes) = cells_of(&row);
            self.total += bytes;
            if self.total > MAX_TOTAL_BYTES {
                return Err(ReadError::TooLarge);
            }
            rows.push(row);
        }
        Ok(rows)
    }
}

/// An identifier quoted for SQLite (column names come from the file).
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A row's cells by the storage class of each value, and the bytes they hold.
fn cells_of(row: &SqliteRow) -> (Row, usize) {
    let mut cells = BTreeMap::new();
    let mut bytes = 0;
    for (index, column) in row.columns().iter().enumerate() {
        let cell = match row.try_get_raw(index) {
            Ok(raw) if raw.is_null() => Cell::Null,
            Ok(raw) => match raw.type_info().name() {
                "INTEGER" => row.try_get::<i64, _>(index).map_or(Cell::Blob, Cell::Int),
                "REAL" => row.try_get::<f64, _>(index).map_or(Cell::Blob, Cell::Real),
                "TEXT" => match row.try_get::<String, _>(index) {
                    Ok(text) if text == OVERSIZED_MARKER => Cell::Oversized,
                    Ok(text) => {
                        bytes += text.len();
                        Cell::Text(text)
                    }
                    Err(_) => Cell::Blob,
                },
                _ => Cell::Blob,
            },
            Err(_) => Cell::Blob,
        };
        bytes += 16;
        cells.insert(column.name().to_owned(), cell);
    }
    (Row { cells }, bytes)
}
