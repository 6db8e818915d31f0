//! Staged runs: a source, a chain of stages each with its own workers and bounded buffer, and results streamed, collected or sunk, with live reports and cancellation.

mod chain;
mod control;
mod leftovers;
mod live;
mod report;
mod stage;
mod stream;
mod worker;

pub use self::chain::Chain;
pub use self::control::CancelHandle;
pub use self::leftovers::{StageLeftovers, Unprocessed};
pub use self::report::{RowKind, RunReport, StageBottleneck, StageReport};
pub use self::stage::Stage;
pub use self::stream::{Collected, Finished, Stream};
