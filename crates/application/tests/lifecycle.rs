//! The contract tests rely on: an application built on a fresh database, bound to port 0, tells
//! its address, serves, exposes its state, and stops cleanly when asked.

use std::time::Duration;
use watchtower_application::Application;
use watchtower_testkit::TestDatabase;

#[tokio::test]
async fn an_application_on_port_0_serves_and_stops_when_asked() -> anyhow::Result<()> {
    let database = TestDatabase::sqlite();
    let store = watchtower_store::connect(&database.url).await?;
    store.migrate().await?;
    let application = Application::builder(store)
        .without_housekeeping()
        .without_ops_alerts()
        .build()
        .await?;
    let address = application.address();
    assert!(address.ip().is_loopback(), "{address}");
    assert_ne!(address.port(), 0, "the chosen port is reported");
    assert_eq!(application.state().store.user_count().await?, 0);

    let running = application.spawn();
    let health = reqwest::get(format!("http://{address}/healthz")).await?;
    assert!(health.status().is_success(), "{}", health.status());

    tokio::time::timeout(Duration::from_secs(10), running.shutdown()).await?;
    assert!(
        tokio::net::TcpStream::connect(address).await.is_err(),
        "nothing listens after shutdown"
    );
    Ok(())
}
