//! A fresh database per test: an SQLite file in a temporary folder, or a new PostgreSQL database
//! on the server `TEST_DATABASE_URL` names, dropped when the test ends.

use anyhow::Context;
use sqlx::Connection;
use tempfile::TempDir;

/// One test's own database.
pub struct TestDatabase {
    pub url: String,
    /// Keeps the SQLite folder alive.
    _folder: Option<TempDir>,
    /// `(server URL, database name)` to drop afterwards.
    postgres: Option<(String, String)>,
}

impl TestDatabase {
    pub fn sqlite() -> Self {
        let folder = tempfile::tempdir().expect("a temporary folder");
        let url = format!("sqlite://{}", folder.path().join("watchtower.db").display());
        Self {
            url,
            _folder: Some(folder),
            postgres: None,
        }
    }

    /// A new database on the server of `server_url` (any database of it).
    pub async fn postgres(server_url: &str) -> anyhow::Result<Self> {
        let name = format!("wt_e2e_{:016x}", rand::random::<u64>());
        let mut admin = sqlx::PgConnection::connect(server_url)
            .await
            .context("connecting to TEST_DATABASE_URL")?;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await?;
        admin.close().await?;
        let url = url_with_database(server_url, &name);
        Ok(Self {
            url,
            _folder: None,
            postgres: Some((server_url.to_owned(), name)),
        })
    }

    /// Makes this PostgreSQL database read-only (or writable again) for every new session, and ends
    /// the open sessions so the change applies at once.
    pub async fn set_read_only(&self, read_only: bool) -> anyhow::Result<()> {
        let (server, name) = self
            .postgres
            .as_ref()
            .context("only a PostgreSQL database can be made read-only")?;
        let mut admin = sqlx::PgConnection::connect(server).await?;
        let alter =
            format!("ALTER DATABASE {name} SET default_transaction_read_only = {read_only}");
        sqlx::query(sqlx::AssertSqlSafe(alter))
            .execute(&mut admin)
            .await?;
        let terminate = format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"
        );
        sqlx::query(sqlx::AssertSqlSafe(terminate))
            .execute(&mut admin)
            .await?;
        Ok(())
    }

    /// Simulates a PostgreSQL outage for this database only: refuses new connections and ends the
    /// open ones (`false`), or lets connections in again (`true`).
    pub async fn set_connections_allowed(&self, allowed: bool) -> anyhow::Result<()> {
        let (server, name) = self
            .postgres
            .as_ref()
            .context("only a PostgreSQL database can be cut off")?;
        let mut admin = sqlx::PgConnection::connect(server).await?;
        let alter = format!("ALTER DATABASE {name} ALLOW_CONNECTIONS {allowed}");
        sqlx::query(sqlx::AssertSqlSafe(alter))
            .execute(&mut admin)
            .await?;
        if !allowed {
            let terminate = format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"
            );
            sqlx::query(sqlx::AssertSqlSafe(terminate))
                .execute(&mut admin)
                .await?;
        }
        Ok(())
    }
}

/// `server_url` with its path replaced by `/name`.
pub fn url_with_database(server_url: &str, name: &str) -> String {
    let (without_query, query) = match server_url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (server_url, None),
    };
    let scheme_end = without_query.find("://").map_or(0, |i| i + 3);
    let host_end = without_query[scheme_end..]
        .find('/')
        .map_or(without_query.len(), |i| scheme_end + i);
    let mut url = format!("{}/{name}", &without_query[..host_end]);
    if let Some(query) = query {
        url.push('?');
        url.push_str(query);
    }
    url
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((server, name)) = self.postgres.take() else {
            return;
        };
        // Drop runs outside async code: use a small runtime on a thread of its own.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let mut admin = sqlx::PgConnection::connect(&server).await?;
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&mut admin)
                .await?;
                anyhow::Ok(())
            })
        })
        .join();
    }
}

#[cfg(test)]
mod tests {
    use super::url_with_database;

    #[test]
    fn the_database_part_of_a_url_is_replaced() {
        assert_eq!(
            url_with_database("postgres://postgres@127.0.0.1:5432/test", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            url_with_database("postgres://u@h/test?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
        assert_eq!(url_with_database("postgres://u@h", "x"), "postgres://u@h/x");
    }
}
