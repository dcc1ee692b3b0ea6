//! Opening a store from its URL: schemes, clear errors, created paths, repeated and concurrent
//! migrations.

use watchtower_store::{Backend, StoreError};

#[tokio::test]
async fn an_unknown_scheme_is_refused_without_echoing_the_url() {
    let error = watchtower_store::connect("mysql://root:secret@db/x")
        .await
        .err()
        .unwrap();
    let text = error.to_string();
    assert!(matches!(error, StoreError::InvalidUrl(_)), "{text}");
    assert!(text.contains("mysql") && !text.contains("secret"), "{text}");
    assert!(matches!(
        watchtower_store::connect("sqlite://").await,
        Err(StoreError::InvalidUrl(_))
    ));
}

#[tokio::test]
async fn an_unreachable_postgres_is_unavailable_with_the_cause() {
    let error = watchtower_store::connect("postgres://postgres@127.0.0.1:5999/none")
        .await
        .err()
        .unwrap();
    let text = error.to_string();
    assert!(matches!(error, StoreError::Unavailable(_)), "{text}");
    assert!(
        text.contains("cannot reach PostgreSQL at 127.0.0.1:5999: connection refused"),
        "{text}"
    );
}

#[tokio::test]
async fn sqlite_creates_the_file_and_its_directories_and_migrates_twice() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a/b/watchtower.db");
    let store = watchtower_store::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    assert_eq!(store.backend(), Backend::Sqlite);
    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    assert!(path.exists());
    store.ping().await.unwrap();
}

#[tokio::test]
async fn postgres_migrates_from_several_processes_at_once() {
    let Ok(server) = std::env::var("TEST_DATABASE_URL") else {
        eprintln!("note: TEST_DATABASE_URL is not set; PostgreSQL variant skipped");
        return;
    };
    let db = crate::support::PgDatabase::create(&server).await;
    let (a, b) = tokio::join!(
        watchtower_store::connect(&db.url),
        watchtower_store::connect(&db.url)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.backend(), Backend::Postgres);
    let (ma, mb) = tokio::join!(a.migrate(), b.migrate());
    let outcome = ma.and(mb);
    db.drop().await;
    outcome.unwrap();
}
