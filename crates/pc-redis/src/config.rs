//! [`Builder`]: a buffer's name, capacity, lease and limits, checked and agreed with the server at connect.

use std::fmt;
use std::marker::PhantomData;
use std::process;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::buffer::RedisBuffer;
use crate::err::ConnectError;
use crate::keys::valid_name;

/// The largest capacity: the server's scripts count in doubles, exact up to 2^53.
pub const MAX_CAPACITY: usize = 1 << 53;

/// How a [`RedisBuffer`] is opened: made by [`RedisBuffer::builder`] (one server) or
/// [`RedisBuffer::cluster_builder`] (a Redis Cluster), opened by [`connect`](Self::connect). Its
/// `Debug` leaves the URLs out: they may hold a password.
#[derive(Clone)]
pub struct Builder<T> {
    pub(crate) target: Target,
    pub(crate) name: String,
    pub(crate) settings: Settings,
    pub(crate) producer_id: Option<String>,
    pub(crate) hash_tag: Option<String>,
    items: PhantomData<fn(T) -> T>,
}

/// A buffer value's settings, as its builder was given them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Settings {
    pub(crate) capacity: usize,
    pub(crate) lease: Duration,
    pub(crate) reclaim_interval: Duration,
    pub(crate) max_deliveries: u32,
    pub(crate) poll: Duration,
    pub(crate) retries: u32,
}

/// The server a builder connects to.
#[derive(Clone)]
pub(crate) enum Target {
    /// One server's URL.
    Node(String),
    /// Seed nodes' URLs of a cluster.
    Cluster(Vec<String>),
}

impl<T> fmt::Debug for Builder<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cluster = matches!(self.target, Target::Cluster(_));
        f.debug_struct("Builder")
            .field("cluster", &cluster)
            .field("name", &self.name)
            .field("capacity", &self.settings.capacity)
            .field("lease", &self.settings.lease)
            .field("reclaim_interval", &self.settings.reclaim_interval)
            .field("max_deliveries", &self.settings.max_deliveries)
            .field("poll", &self.settings.poll)
            .field("producer_id", &self.producer_id)
            .field("retries", &self.settings.retries)
            .field("hash_tag", &self.hash_tag)
            .finish_non_exhaustive()
    }
}

impl<T> Builder<T> {
    pub(crate) fn new(target: Target, name: &str) -> Self {
        Self {
            target,
            name: name.to_owned(),
            settings: Settings {
                capacity: 10,
                lease: Duration::from_secs(30),
                reclaim_interval: Duration::from_secs(1),
                max_deliveries: 5,
                poll: Duration::from_millis(100),
                retries: 3,
            },
            producer_id: None,
            hash_tag: None,
            items: PhantomData,
        }
    }

    /// The most items put and not yet acknowledged, across every process (default 10, as the
    /// in-memory buffer's pipelines). A buffer that exists keeps its capacity: connecting with
    /// another is [`ConnectError::CapacityMismatch`].
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.settings.capacity = capacity;
        self
    }

    /// How long a taken item stays with its consumer without being acknowledged before another
    /// consumer may take it over (default 30 s). A live consumer renews the lease of what it holds
    /// every third of it, so only a consumer that died (or stopped renewing) loses its items.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.settings.lease = lease;
        self
    }

    /// How often a consumer looks for items whose lease ran out (default 1 s).
    pub fn reclaim_interval(mut self, interval: Duration) -> Self {
        self.settings.reclaim_interval = interval;
        self
    }

    /// After this many deliveries without an acknowledgement an item is moved to the
    /// dead-letter stream instead of being delivered again (default 5).
    pub fn max_deliveries(mut self, deliveries: u32) -> Self {
        self.settings.max_deliveries = deliveries;
        self
    }

    /// How long one blocking server call waits before the caller looks again at its own
    /// deadline, expired leases, and a close that did not wake it (default 100 ms).
    pub fn poll(mut self, poll: Duration) -> Self {
        self.settings.poll = poll;
        self
    }

    /// Puts the buffer's keys under the hash tag `{tag}` rather than `{name}`: buffers opened
    /// with one tag share one slot of a Redis Cluster, and so one node, so that a lease may
    /// [forward](crate::Lease::forward) from one to another. On one server it changes only the
    /// keys' names. Every process must open the buffer with the same tag (without it, the same
    /// name is another buffer).
    pub fn hash_tag(mut self, tag: impl Into<String>) -> Self {
        self.hash_tag = Some(tag.into());
        self
    }

    /// This producer's id, stable across restarts (default: unique to this connection).
    ///
    /// Every put carries the producer's id and the sequence number of each item; the server
    /// skips items at or below the last sequence it accepted from that id. A put whose reply
    /// was lost is therefore retried without inserting twice, and a producer restarted with
    /// the same id learns from [`RedisBuffer::accepted`] how many of its items the buffer has.
    pub fn producer_id(mut self, id: impl Into<String>) -> Self {
        self.producer_id = Some(id.into());
        self
    }

    /// How many times a put whose connection failed is sent again on a fresh connection before
    /// the items are handed back (default 3).
    pub fn retries(mut self, retries: u32) -> Self {
        self.settings.retries = retries;
        self
    }

    /// Checks the settings, connects, and makes the buffer on the server if it does not exist.
    ///
    /// # Errors
    ///
    /// [`ConnectError`]: a bad URL, name or setting; a server that cannot be reached, refuses the
    /// credentials or is older than 7.0; or a buffer of this name with another capacity.
    pub fn connect(self) -> Result<RedisBuffer<T>, ConnectError> {
        if !valid_name(&self.name) {
            return Err(ConnectError::InvalidName(self.name));
        }
        if let Some(tag) = self.hash_tag.as_ref().filter(|tag| !valid_name(tag)) {
            return Err(ConnectError::InvalidName(tag.clone()));
        }
        if self.settings.capacity == 0 || self.settings.capacity > MAX_CAPACITY {
            return Err(ConnectError::InvalidSetting(format!(
                "capacity {} is not between 1 and 2^53",
                self.settings.capacity
            )));
        }
        for (what, value) in [
            ("lease", self.settings.lease),
            ("reclaim interval", self.settings.reclaim_interval),
            ("poll", self.settings.poll),
        ] {
            if value < Duration::from_millis(1) || value > Duration::from_secs(86_400) {
                return Err(ConnectError::InvalidSetting(format!(
                    "{what} {value:?} is not between 1 ms and a day"
                )));
            }
        }
        if self.settings.max_deliveries == 0 {
            return Err(ConnectError::InvalidSetting(
                "max_deliveries must be at least 1".into(),
            ));
        }
        RedisBuffer::open(self)
    }
}

/// A name no other connection has: the process, the time it started and a counter.
pub(crate) fn unique_name() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos());
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{}-{nanos:x}-{n}", process::id())
}
