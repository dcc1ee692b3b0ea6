//! One running WatchTower instance, put together in one place: `watchtower serve` and every test
//! start it the same way. [`Application::builder`] takes the store and the settings
//! (`builder.rs`), [`ApplicationBuilder::build`] loads the monitors, binds the listener and starts
//! the background tasks, and [`Application::run_until`] serves HTTP until told to stop, then stops
//! everything in the order that loses nothing (`run.rs`). Around it: accounts made outside the API
//! (`accounts.rs`), the monitors file `serve --config` applies at start (`monitors_file.rs`) and
//! again on SIGHUP (`reload.rs`), the instance's watch on itself (`ops.rs`), scheduled backups
//! (`backups.rs`) and scheduled database care (`care.rs`).

pub mod accounts;
pub mod backups;
mod builder;
pub mod care;
pub mod monitors_file;
pub mod ops;
pub mod reload;
mod run;

pub use builder::{ApplicationBuilder, BuildError};
pub use run::{Application, RunningApplication};
