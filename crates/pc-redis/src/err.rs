//! Errors: the transport error every operation may carry, and why a buffer could not be opened.

use std::fmt;

use thiserror::Error;

/// The transport failed: the server is gone, the connection was reset or timed out, or it
/// answered what this buffer cannot read. The operation's item is handed back beside it.
///
/// Its message names what failed, never the URL or credentials.
#[derive(Error)]
pub enum RedisError {
    /// The client or the server reported an error.
    #[error("redis: {0}")]
    Redis(#[source] redis::RedisError),
    /// The server answered with a reply of an unexpected shape.
    #[error("unexpected reply from redis: {0}")]
    Reply(String),
    /// The buffer's keys are gone from the server: it was restarted without persistence, or
    /// the buffer was destroyed.
    #[error(
        "the buffer no longer exists on the server (restarted without persistence, or destroyed)"
    )]
    Gone,
    /// An item could not be encoded (its `Serialize` implementation failed).
    #[error("cannot encode the item: {0}")]
    Encode(String),
    /// A [`forward`](crate::Lease::forward) that can never be made: the buffers are on
    /// different servers or in different slots of a cluster, or the items are more than the
    /// next buffer's capacity.
    #[error("cannot forward: {0}")]
    Forward(String),
}

impl fmt::Debug for RedisError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Redis(err) => write!(f, "Redis({:?}: {err})", err.kind()),
            Self::Reply(what) => f.debug_tuple("Reply").field(what).finish(),
            Self::Encode(why) => f.debug_tuple("Encode").field(why).finish(),
            Self::Gone => f.write_str("Gone"),
            Self::Forward(why) => f.debug_tuple("Forward").field(why).finish(),
        }
    }
}

impl From<redis::RedisError> for RedisError {
    fn from(err: redis::RedisError) -> Self {
        if err.code() == Some("PCGONE") {
            Self::Gone
        } else {
            Self::Redis(err)
        }
    }
}

impl RedisError {
    /// Whether the connection itself failed (refused, reset, timed out, dropped), rather than
    /// the server refusing a command: an operation may be retried once the server is back.
    pub fn is_connection_error(&self) -> bool {
        match self {
            Self::Redis(err) => {
                err.is_io_error()
                    || err.is_connection_dropped()
                    || err.is_connection_refusal()
                    || err.is_timeout()
            }
            Self::Reply(_) | Self::Encode(_) | Self::Gone | Self::Forward(_) => false,
        }
    }
}

/// A [`RedisBuffer`](crate::RedisBuffer) could not be opened.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The URL could not be parsed (its text is not repeated: it may hold a password).
    #[error("invalid Redis URL: {0}")]
    InvalidUrl(String),
    /// The buffer's name or hash tag is empty or holds `{` or `}` (the name is the keys' hash
    /// tag, unless [`hash_tag`](crate::Builder::hash_tag) gives one).
    #[error("invalid buffer name or hash tag {0:?}: it must be non-empty without '{{' or '}}'")]
    InvalidName(String),
    /// A setting is out of range.
    #[error("invalid setting: {0}")]
    InvalidSetting(String),
    /// The server could not be reached, refused the credentials or failed a command.
    #[error("cannot reach the Redis server: {0}")]
    Unreachable(#[source] RedisError),
    /// The server (or a node of the cluster) is older than Redis 7.0.
    #[error("Redis {0} is too old: 7.0 or newer is needed")]
    ServerTooOld(String),
    /// The URL names a node of a Redis Cluster: open the buffer with
    /// [`RedisBuffer::cluster_builder`](crate::RedisBuffer::cluster_builder), which follows the
    /// buffer's slot to whichever node holds it.
    #[error(
        "the server is a Redis Cluster node: open the buffer with RedisBuffer::cluster_builder"
    )]
    ClusterNode,
    /// The cluster builder's nodes are not a Redis Cluster (cluster mode is off, or no node
    /// owns slots yet).
    #[error("the server is not a Redis Cluster: open the buffer with RedisBuffer::builder")]
    NotCluster,
    /// A buffer of this name exists with another capacity.
    #[error("buffer {name:?} exists with capacity {existing}, not {requested}")]
    CapacityMismatch {
        /// The buffer's name.
        name: String,
        /// The capacity it was made with.
        existing: String,
        /// The capacity asked for.
        requested: usize,
    },
}

impl From<redis::RedisError> for ConnectError {
    fn from(err: redis::RedisError) -> Self {
        Self::Unreachable(RedisError::Redis(err))
    }
}

impl From<RedisError> for ConnectError {
    fn from(err: RedisError) -> Self {
        Self::Unreachable(err)
    }
}
