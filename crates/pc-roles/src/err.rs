//! Every error type of the crate: why a role stopped early, which role it was, and the items it hands back.

use std::fmt;

use thiserror::Error;

/// The part of a run a panic came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// A producer's source (for example an iterator's `next`).
    Producer,
    /// A consumer's work.
    Consumer,
    /// A producer's `on_produce` callback.
    OnProduce,
    /// A consumer's `on_consume` callback.
    OnConsume,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Producer => "producer",
            Self::Consumer => "consumer",
            Self::OnProduce => "on_produce callback",
            Self::OnConsume => "on_consume callback",
        })
    }
}

/// Why a role stopped before its input ran out.
#[derive(Clone, PartialEq, Eq, Error)]
pub enum StopCause<E> {
    /// A producer found the buffer closed by someone else.
    #[error("the buffer was closed")]
    Closed,
    /// A producer found that no consumer is left to take its items (every consumer-side
    /// handle of the buffer was dropped).
    #[error("no consumer is left to take items")]
    NoConsumer,
    /// Another role sharing the stop flag failed, so this one stopped too.
    #[error("stopped because another role failed")]
    Stopped,
    /// The consumer's sink asked to stop (for example on a failed item under a fail-fast policy).
    #[error("the sink asked to stop")]
    Halted,
    /// The buffer failed in transit.
    #[error("the buffer failed: {0}")]
    Transport(E),
    /// User code panicked.
    #[error("{role} panicked: {message}")]
    Panicked {
        /// Where the panic came from.
        role: Role,
        /// The panic's message.
        message: String,
    },
}

impl<E: fmt::Debug> fmt::Debug for StopCause<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Closed => f.write_str("Closed"),
            Self::NoConsumer => f.write_str("NoConsumer"),
            Self::Stopped => f.write_str("Stopped"),
            Self::Halted => f.write_str("Halted"),
            Self::Transport(err) => f.debug_tuple("Transport").field(err).finish(),
            Self::Panicked { role, message } => f
                .debug_struct("Panicked")
                .field("role", role)
                .field("message", message)
                .finish(),
        }
    }
}

/// A role stopped early: why, the items it still held (handed back, in the order it got them),
/// and what it had done until then.
///
/// ```
/// use pc_roles::{BoundedBuffer, ProducerRole, StopCause};
///
/// let buffer = BoundedBuffer::new(4).unwrap();
/// buffer.close();
/// let err = ProducerRole::new().run(vec![1, 2, 3].into_iter(), &buffer).unwrap_err();
/// assert_eq!(err.cause, StopCause::Closed);
/// assert_eq!(err.unprocessed, [1]); // the item in hand; the rest never left the iterator
/// assert_eq!(err.report.items, 0);
/// ```
#[derive(Clone, Error)]
#[error("{cause}")]
pub struct RoleError<T, E> {
    /// Why the role stopped.
    pub cause: StopCause<E>,
    /// The items the role held and did not deliver or process.
    pub unprocessed: Vec<T>,
    /// What the role did before it stopped.
    pub report: crate::RoleReport,
}

impl<T, E> RoleError<T, E> {
    /// Takes back the items the role did not deliver or process.
    pub fn into_inner(self) -> Vec<T> {
        self.unprocessed
    }
}

impl<T, E: fmt::Debug> fmt::Debug for RoleError<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RoleError")
            .field("cause", &self.cause)
            .field(
                "unprocessed",
                &format_args!("[{} items]", self.unprocessed.len()),
            )
            .field("report", &self.report)
            .finish()
    }
}
