//! WatchTower's domain: monitors and their kinds, check outcomes, the monitor state machine and
//! incidents. No I/O lives here; every other crate speaks in these types.

pub mod duration;
pub mod ids;
pub mod incident;
pub mod monitor;
pub mod outcome;
pub mod state;
pub mod time;
pub mod validation;

pub use duration::HumanDuration;
pub use ids::{IncidentId, MonitorId, MonitorKey, TeamId};
pub use incident::{Incident, StateChange};
pub use monitor::{Monitor, MonitorKind, MonitorSpec};
pub use outcome::{CertificateInfo, CheckOutcome, CheckStatus, ErrorClass, HttpPhases};
pub use state::{DetectionPolicy, MonitorRuntime, MonitorState};
pub use time::Timestamp;
pub use validation::{FieldError, Problems};
