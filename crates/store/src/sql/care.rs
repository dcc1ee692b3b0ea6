//! Database care's statements that both backends run alike: the size of each table and index,
//! with each table's row count. What lists the objects is the backend's catalog (`dbstat`,
//! `pg_class`), so each backend's `care.rs` passes its listing in.

use super::DbStore;
use crate::care::ObjectSize;
use crate::error::StoreError;

/// Every object `listing` names, with its bytes and, for a table, its rows. The listing answers
/// `(name, is a table, the table it belongs to, bytes)` per object.
pub(crate) async fn object_sizes(
    store: &DbStore,
    listing: &'static str,
) -> Result<Vec<ObjectSize>, StoreError> {
    let listed: Vec<(String, bool, String, i64)> =
        sqlx::query_as(listing).fetch_all(store.reader()).await?;
    let mut objects = Vec::with_capacity(listed.len());
    for (name, is_table, table, bytes) in listed {
        let rows = if is_table {
            // The name comes from the catalog, quoted as an identifier.
            let count = format!("SELECT COUNT(*) FROM \"{}\"", name.replace('"', "\"\""));
            let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(count))
                .fetch_one(store.reader())
                .await?;
            Some(u64::try_from(n).unwrap_or(0))
        } else {
            None
        };
        objects.push(ObjectSize {
            name,
            kind: if is_table { "table" } else { "index" },
            table,
            bytes: u64::try_from(bytes).unwrap_or(0),
            rows,
        });
    }
    Ok(objects)
}
