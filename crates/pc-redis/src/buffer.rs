//! [`RedisBuffer`]: the bounded buffer on one Redis stream and one consumer group.

use std::collections::{HashMap, HashSet};
use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use pc_buffer::{BufferGetError, BufferPutError, BufferStats};
use redis::Value;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::config::{Builder, Target, unique_name};
use crate::err::{ConnectError, RedisError};
use crate::keys::{GROUP, Keys};
use crate::lease::Renewer;
use crate::reply::{self, Entry};
use crate::scripts::Scripts;
use crate::server::{Connection, Server};
use crate::shared::{MAX_BATCH, Shared, encode_all, lock, read_timeout, retry_pause};
use crate::stats::{Accounting, DeadLetter};

/// A bounded buffer of `T` on Redis Streams, shared by every process that opens the same name on
/// the same server ([`builder`](Self::builder)) or the same Redis Cluster
/// ([`cluster_builder`](Self::cluster_builder)).
///
/// It has the in-memory buffer's semantics across processes: at most
/// [`capacity`](Builder::capacity) items are put and not yet acknowledged, however many producers
/// race (the check and the insert are one script on the server); `put` blocks while full;
/// [`close`](Self::close) from any process ends the puts, and consumers drain what is left before
/// they see the buffer closed, never while an item is still pending with another consumer.
///
/// A taken item stays pending until its consumer [acknowledges](Self::acknowledge) it; the
/// consumer role of `pc-roles` does so after each batch whose outcomes reached its sink. If the
/// consumer dies, its items are taken over by another consumer once their lease runs out, and
/// counted as redelivered; an item delivered too often, or one that cannot be decoded, moves to the
/// dead-letter stream ([`dead_letters`](Self::dead_letters)).
///
/// Items travel as JSON (`serde_json`): a round trip to the server costs far more than encoding,
/// and JSON entries can be read with `redis-cli` and by consumers in any language.
///
/// One value may be shared by several threads: each thread gets its own connection, so one
/// thread blocking in `get` does not hold up another's `put`, and [`acknowledge`](Self::acknowledge)
/// concerns only what the calling thread took.
pub struct RedisBuffer<T> {
    shared: Arc<Shared>,
    sequence: Mutex<Sequence>,
    last_reclaim: Mutex<Instant>,
    /// The last reading of the counters, for the trait's readings that cannot fail.
    last_stats: Mutex<BufferStats>,
    /// Counts made outside the scripts, sent with the next script call.
    tally: Mutex<Tally>,
    /// Whether the gate may still be there (see [`Keys::gate`]); false once a read found it gone.
    gate_open: AtomicBool,
    _renewer: Renewer,
    items: PhantomData<fn(T) -> T>,
}

/// How long counts made where no script runs may wait for a script call to carry them, so that
/// a consumer that waits for every item does not add them to the server with every call.
const TALLY_EVERY: Duration = Duration::from_millis(100);

/// Counts made where no script runs (a blocking read, a wait), for a later script call to add.
#[derive(Default)]
struct Tally {
    got: u64,
    put_waits: u64,
    put_wait_us: u64,
    get_waits: u64,
    get_wait_us: u64,
    /// When the oldest count not yet sent was made.
    since: Option<Instant>,
}

/// What [`RedisBuffer::acknowledge_and_read`] did.
struct GateRead {
    /// Whether the acknowledgements were made.
    acknowledged: bool,
    /// Whether the buffer held nothing to read when the read was sent.
    waits: bool,
    entries: Vec<Entry>,
}

/// The next sequence number of this producer; unknown after a put whose outcome is unknown.
struct Sequence {
    next: Option<u64>,
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}

impl<T> RedisBuffer<T> {
    /// Starts opening the buffer `name` on the server at `url` (`redis://[user:password@]host:port/db`,
    /// or `redis+unix:///path`); see [`Builder`].
    pub fn builder(url: &str, name: &str) -> Builder<T> {
        Builder::new(Target::Node(url.to_owned()), name)
    }

    /// Starts opening the buffer `name` on the Redis Cluster that `nodes` (the URLs of one or
    /// more of its nodes) belong to; see [`Builder`].
    ///
    /// Every key of the buffer shares the hash tag `{name}`, so one node holds the whole buffer;
    /// the connection finds that node and follows the slot when it moves. Buffers of different
    /// names spread over the cluster's nodes.
    pub fn cluster_builder<I, S>(nodes: I, name: &str) -> Builder<T>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let nodes = nodes.into_iter().map(|node| node.as_ref().to_owned());
        Builder::new(Target::Cluster(nodes.collect()), name)
    }

    pub(crate) fn open(builder: Builder<T>) -> Result<Self, ConnectError> {
        // The URL's own text never goes into an error: it may hold a password.
        let server = match &builder.target {
            Target::Node(url) => Server::node(url)?,
            Target::Cluster(nodes) => Server::cluster(nodes, read_timeout(builder.settings.poll))?,
        };
        let consumer = unique_name();
        let shared = Arc::new(Shared {
            server,
            keys: Keys::new(&builder.name, builder.hash_tag.as_deref()),
            scripts: Scripts::new(),
            producer: builder.producer_id.unwrap_or_else(|| consumer.clone()),
            consumer,
            name: builder.name,
            settings: builder.settings,
            taken: Mutex::new(HashMap::new()),
            leased: Mutex::new(HashSet::new()),
            idle: Mutex::new(Vec::new()),
        });
        let mut connection = shared.open().map_err(ConnectError::Unreachable)?;
        let nodes = connection.nodes()?;
        // A cluster client that found no primary owning slots reached no cluster.
        if nodes.is_empty() {
            return Err(match shared.server.is_cluster() {
                true => ConnectError::NotCluster,
                false => ConnectError::ServerTooOld("unknown".into()),
            });
        }
        if let Some(old) = nodes
            .iter()
            .find(|node| node.major().is_none_or(|major| major < 7))
        {
            return Err(ConnectError::ServerTooOld(old.version.clone()));
        }
        match (
            shared.server.is_cluster(),
            nodes.iter().any(|node| node.cluster_enabled),
        ) {
            (false, true) => return Err(ConnectError::ClusterNode),
            (true, false) => return Err(ConnectError::NotCluster),
            _ => {}
        }
        let made: String = shared
            .scripts
            .connect
            .key(&shared.keys.meta)
            .key(&shared.keys.items)
            .key(&shared.keys.gate)
            .arg(shared.settings.capacity)
            .arg(GROUP)
            .invoke(&mut connection)?;
        if made != "ok" {
            return Err(ConnectError::CapacityMismatch {
                name: shared.name.clone(),
                existing: made,
                requested: shared.settings.capacity,
            });
        }
        let last: Option<u64> = redis::cmd("HGET")
            .arg(&shared.keys.producers)
            .arg(&shared.producer)
            .query(&mut connection)?;
        lock(&shared.idle).push(connection);
        let renewer = Renewer::start(Arc::clone(&shared), shared.settings.lease / 3);
        Ok(Self {
            sequence: Mutex::new(Sequence {
                next: Some(last.unwrap_or(0) + 1),
            }),
            last_reclaim: Mutex::new(Instant::now()),
            last_stats: Mutex::new(BufferStats::default()),
            tally: Mutex::new(Tally::default()),
            gate_open: AtomicBool::new(true),
            _renewer: renewer,
            items: PhantomData,
            shared,
        })
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// The buffer's name.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// This connection's producer id (see [`Builder::producer_id`]).
    pub fn producer_id(&self) -> &str {
        &self.shared.producer
    }

    /// The most items put and not yet acknowledged.
    pub fn capacity(&self) -> usize {
        self.shared.settings.capacity
    }

    fn with_connection<R>(
        &self,
        call: impl FnOnce(&mut Connection) -> Result<R, RedisError>,
    ) -> Result<R, RedisError> {
        self.shared.with_connection(call)
    }

    /// How many items the calling thread took and has not acknowledged (items taken as
    /// [`deliveries`](Self::deliveries) are held by their leases instead).
    pub fn held(&self) -> usize {
        lock(&self.shared.taken)
            .get(&thread::current().id())
            .map_or(0, Vec::len)
    }

    /// Acknowledges every item the calling thread took and has not acknowledged: the buffer
    /// forgets them, and their room goes to waiting producers.
    ///
    /// # Errors
    ///
    /// The transport failed; the items stay pending on the server and go to another consumer
    /// once their lease runs out (they are no longer renewed).
    pub fn acknowledge(&self) -> Result<(), RedisError> {
        match lock(&self.shared.taken).remove(&thread::current().id()) {
            Some(ids) => self.shared.acknowledge(&ids),
            None => Ok(()),
        }
    }

    /// Closes the buffer for every process: puts fail from now on, consumers drain what is left.
    ///
    /// # Errors
    ///
    /// The transport failed; the buffer may not be closed.
    pub fn close(&self) -> Result<(), RedisError> {
        let keys = &self.shared.keys;
        self.with_connection(|connection| {
            self.flush_tally(connection)?;
            let _: i64 = self
                .shared
                .scripts
                .close
                .key(&keys.meta)
                .key(&keys.room)
                .key(&keys.items)
                .key(&keys.gate)
                .invoke(connection)?;
            Ok(())
        })
    }

    /// The counters, read in one call: put, acknowledged, dead, in the buffer, and the waits.
    ///
    /// # Errors
    ///
    /// The transport failed.
    pub fn accounting(&self) -> Result<Accounting, RedisError> {
        let counters = self.with_connection(|connection| {
            self.flush_tally(connection)?;
            let all: Value = redis::cmd("HGETALL")
                .arg(&self.shared.keys.meta)
                .query(connection)?;
            reply::counters(all)
        })?;
        let accounting = Accounting::from_counters(&counters);
        *lock(&self.last_stats) = accounting.buffer_stats();
        Ok(accounting)
    }

    /// How many items this producer id has had accepted, in all: a producer restarted with the
    /// same id resumes its source after that many items.
    ///
    /// # Errors
    ///
    /// The transport failed.
    pub fn accepted(&self) -> Result<u64, RedisError> {
        self.with_connection(|connection| {
            let last: Option<u64> = redis::cmd("HGET")
                .arg(&self.shared.keys.producers)
                .arg(&self.shared.producer)
                .query(connection)?;
            Ok(last.unwrap_or(0))
        })
    }

    /// Reads up to `max` entries of the dead-letter stream, oldest first.
    ///
    /// # Errors
    ///
    /// The transport failed.
    pub fn dead_letters(&self, max: usize) -> Result<Vec<DeadLetter>, RedisError> {
        self.with_connection(|connection| {
            let all: Value = redis::cmd("XRANGE")
                .arg(&self.shared.keys.dead)
                .arg("-")
                .arg("+")
                .arg("COUNT")
                .arg(max.max(1))
                .query(connection)?;
            DeadLetter::parse_all(all)
        })
    }

    /// Deletes every key of this buffer on the server: for tests and for retiring a buffer.
    /// Other processes using it see a transport error or a fresh buffer afterwards.
    ///
    /// # Errors
    ///
    /// The transport failed.
    pub fn destroy(&self) -> Result<(), RedisError> {
        let keys = &self.shared.keys;
        self.with_connection(|connection| {
            let _: i64 = redis::cmd("DEL")
                .arg(&keys.items)
                .arg(&keys.meta)
                .arg(&keys.dead)
                .arg(&keys.room)
                .arg(&keys.producers)
                .arg(&keys.gate)
                .query(connection)?;
            Ok(())
        })
    }

    /// The last figures `accounting` read.
    pub(crate) fn cached_stats(&self) -> BufferStats {
        *lock(&self.last_stats)
    }

    /// Whether a reclaim is due, without marking it done.
    fn reclaim_is_due(&self) -> bool {
        lock(&self.last_reclaim).elapsed() >= self.shared.settings.reclaim_interval
    }

    /// Whether the tally is old enough to go with the next script call.
    fn tally_is_due(&self) -> bool {
        lock(&self.tally)
            .since
            .is_some_and(|since| since.elapsed() >= TALLY_EVERY)
    }

    /// Whether a reclaim is due, and if so marks it done.
    fn reclaim_due(&self) -> bool {
        let mut last = lock(&self.last_reclaim);
        if last.elapsed() >= self.shared.settings.reclaim_interval {
            *last = Instant::now();
            true
        } else {
            false
        }
    }

    /// Takes the tally for a script call, as its text argument: empty when there is nothing, or
    /// when its oldest count is younger than [`TALLY_EVERY`] and not `now`. The counters inform:
    /// a tally lost with a failed call is not sent again.
    fn take_tally(&self, now: bool) -> String {
        let tally = {
            let mut tally = lock(&self.tally);
            if !now
                && tally
                    .since
                    .is_none_or(|since| since.elapsed() < TALLY_EVERY)
            {
                return String::new();
            }
            std::mem::take(&mut *tally)
        };
        let Tally {
            got,
            put_waits,
            put_wait_us,
            get_waits,
            get_wait_us,
            since: _,
        } = tally;
        if got + put_waits + get_waits == 0 {
            return String::new();
        }
        format!("{got} {put_waits} {put_wait_us} {get_waits} {get_wait_us}")
    }

    /// Sends the tally now (before a reading or a close, so that they include this caller's).
    fn flush_tally(&self, connection: &mut Connection) -> Result<(), RedisError> {
        let text = self.take_tally(true);
        if text.is_empty() {
            return Ok(());
        }
        let _: i64 = self
            .shared
            .scripts
            .tally
            .key(&self.shared.keys.meta)
            .arg(text)
            .invoke(connection)?;
        Ok(())
    }

    fn add_wait(&self, put: bool, waited: Duration) {
        let micros = u64::try_from(waited.as_micros()).unwrap_or(u64::MAX);
        let mut tally = lock(&self.tally);
        tally.since.get_or_insert_with(Instant::now);
        if put {
            tally.put_waits += 1;
            tally.put_wait_us += micros;
        } else {
            tally.get_waits += 1;
            tally.get_wait_us += micros;
        }
    }
}

impl<T: Serialize> RedisBuffer<T> {
    /// Puts `item`, waiting while the buffer is full.
    ///
    /// # Errors
    ///
    /// The item is handed back: the buffer is closed, or the transport failed after the put was
    /// sent [`retries`](Builder::retries) more times on fresh connections.
    pub fn put(&self, item: T) -> Result<(), BufferPutError<T, RedisError>> {
        self.put_one(item, None, &mut Duration::default())
    }

    /// Puts `item` if there is room now; `Timeout` hands it back when the buffer is full.
    ///
    /// # Errors
    ///
    /// See [`put`](Self::put).
    pub fn try_put(&self, item: T) -> Result<(), BufferPutError<T, RedisError>> {
        self.put_one(item, Some(Instant::now()), &mut Duration::default())
    }

    /// Puts `item`, waiting at most `timeout` for room.
    ///
    /// # Errors
    ///
    /// See [`put`](Self::put); `Timeout` hands the item back.
    pub fn put_timeout(
        &self,
        item: T,
        timeout: Duration,
    ) -> Result<(), BufferPutError<T, RedisError>> {
        self.put_one(
            item,
            Some(Instant::now() + timeout),
            &mut Duration::default(),
        )
    }

    /// Puts every item in order, up to 512 per server call, waiting for room as needed.
    ///
    /// # Errors
    ///
    /// The items not delivered are handed back, in order.
    pub fn put_batch(&self, items: Vec<T>) -> Result<(), BufferPutError<Vec<T>, RedisError>> {
        self.put_all(items, None, &mut Duration::default())
    }

    pub(crate) fn put_one(
        &self,
        item: T,
        deadline: Option<Instant>,
        waited: &mut Duration,
    ) -> Result<(), BufferPutError<T, RedisError>> {
        self.put_all(vec![item], deadline, waited).map_err(|err| {
            err.map(|mut rest| {
                // A failed put hands back at least the one item that was not delivered.
                rest.swap_remove(0)
            })
        })
    }

    pub(crate) fn put_all(
        &self,
        mut items: Vec<T>,
        deadline: Option<Instant>,
        waited: &mut Duration,
    ) -> Result<(), BufferPutError<Vec<T>, RedisError>> {
        let encoded = match encode_all(&items) {
            Ok(encoded) => encoded,
            Err(err) => return Err(BufferPutError::Transport(items, err)),
        };
        let mut done = 0;
        let mut wait_started = None;
        // Whether the server counts this call among the producers waiting for room (then an
        // acknowledgement wakes it).
        let mut waiting = false;
        let outcome = loop {
            if done == encoded.len() {
                break Ok(());
            }
            let chunk = &encoded[done..encoded.len().min(done + MAX_BATCH)];
            let will_wait = deadline.is_none_or(|deadline| Instant::now() < deadline);
            match self.put_chunk(chunk, waiting, will_wait) {
                Ok(Some(accepted)) => {
                    done += accepted;
                    waiting = will_wait && accepted < chunk.len();
                }
                Ok(None) => break Err(BufferPutError::Closed(())),
                Err(err) => break Err(BufferPutError::Transport((), err)),
            }
            if done == encoded.len() {
                break Ok(());
            }
            let now = Instant::now();
            let block = match deadline {
                Some(deadline) if now >= deadline => {
                    if waiting {
                        self.stop_waiting();
                    }
                    break Err(BufferPutError::Timeout(()));
                }
                Some(deadline) => (deadline - now).min(self.shared.settings.poll),
                None => self.shared.settings.poll,
            };
            wait_started.get_or_insert(now);
            let room = &self.shared.keys.room;
            let woke = self.with_connection(|connection| {
                let _: Value = redis::cmd("BLPOP")
                    .arg(room)
                    .arg(block.as_secs_f64().max(0.001))
                    .query(connection)?;
                Ok(())
            });
            if let Err(err) = woke {
                break Err(BufferPutError::Transport((), err));
            }
        };
        if let Some(started) = wait_started {
            let time = started.elapsed();
            *waited += time;
            self.add_wait(true, time);
        }
        outcome.map_err(|err| err.map(|()| items.split_off(done)))
    }

    /// Takes this producer off the server's count of producers waiting for room.
    fn stop_waiting(&self) {
        // A count left too high only wakes producers that are not waiting.
        let _ = self.with_connection(|connection| {
            let _: i64 = redis::cmd("HINCRBY")
                .arg(&self.shared.keys.meta)
                .arg("put_waiting")
                .arg(-1)
                .query(connection)?;
            Ok(())
        });
    }

    /// Sends one chunk with this producer's next sequence numbers, again on a fresh connection
    /// if the transport fails (the server skips what a lost reply had already put). Returns how
    /// many items the server has now (put or found put before), or `None` if it is closed.
    fn put_chunk(
        &self,
        chunk: &[Vec<u8>],
        was_waiting: bool,
        will_wait: bool,
    ) -> Result<Option<usize>, RedisError> {
        let waits = format!("{}{}", u8::from(was_waiting), u8::from(will_wait));
        // Held across the call: the server must see this producer's sequences in order.
        let mut sequence = lock(&self.sequence);
        let shared = &self.shared;
        // A retry sends the same items with the same sequences, so that the server skips
        // whatever the lost call had put.
        let mut first = sequence.next;
        let mut attempt = 0;
        loop {
            let sent = self.with_connection(|connection| {
                let start = match first {
                    Some(start) => start,
                    None => {
                        let last: Option<u64> = redis::cmd("HGET")
                            .arg(&shared.keys.producers)
                            .arg(&shared.producer)
                            .query(connection)?;
                        *first.insert(last.unwrap_or(0) + 1)
                    }
                };
                let mut call = shared.scripts.put.prepare_invoke();
                call.key(&shared.keys.items)
                    .key(&shared.keys.meta)
                    .key(&shared.keys.producers)
                    .key(&shared.keys.room)
                    .arg(&shared.producer)
                    .arg(start)
                    .arg(&waits)
                    .arg(self.take_tally(false));
                for bytes in chunk {
                    call.arg(bytes.as_slice());
                }
                let (skipped, inserted): (i64, i64) = call.invoke(connection)?;
                Ok((start, skipped, inserted))
            });
            match sent {
                Ok((_, -1, _)) => return Ok(None),
                Ok((start, skipped, inserted)) => {
                    let accepted = usize::try_from(skipped + inserted)
                        .map_err(|_| RedisError::Reply("a negative count".into()))?;
                    sequence.next = Some(start + accepted as u64);
                    return Ok(Some(accepted));
                }
                Err(err) if err.is_connection_error() && attempt < shared.settings.retries => {
                    attempt += 1;
                    retry_pause(attempt);
                }
                Err(err) => {
                    // The items go back to the caller, who may have them put again as new
                    // items: the next put continues after whatever the server accepted.
                    sequence.next = None;
                    return Err(err);
                }
            }
        }
    }
}

impl<T: DeserializeOwned> RedisBuffer<T> {
    /// Takes an item, waiting while the buffer is empty; `Closed` once it is closed and nothing
    /// is left but what the calling thread holds.
    ///
    /// # Errors
    ///
    /// `Closed`, or the transport failed.
    pub fn get(&self) -> Result<T, BufferGetError<RedisError>> {
        self.get_one(None, &mut Duration::default())
    }

    /// Takes an item, waiting at most `timeout` for one.
    ///
    /// # Errors
    ///
    /// `Timeout`, `Closed`, or the transport failed.
    pub fn get_timeout(&self, timeout: Duration) -> Result<T, BufferGetError<RedisError>> {
        self.get_one(Some(Instant::now() + timeout), &mut Duration::default())
    }

    /// Appends between 1 and `max` items to `out` (none, at once, if `max == 0`), waiting while
    /// the buffer is empty; returns how many.
    ///
    /// # Errors
    ///
    /// `Closed`, or the transport failed.
    pub fn get_batch_into(
        &self,
        out: &mut Vec<T>,
        max: usize,
    ) -> Result<usize, BufferGetError<RedisError>> {
        self.take(out, max, None, &mut Duration::default(), false)
    }

    pub(crate) fn get_one(
        &self,
        deadline: Option<Instant>,
        waited: &mut Duration,
    ) -> Result<T, BufferGetError<RedisError>> {
        let mut out = Vec::with_capacity(1);
        self.take(&mut out, 1, deadline, waited, false)?;
        out.pop().ok_or_else(|| {
            BufferGetError::Transport(RedisError::Reply("a take that took nothing".into()))
        })
    }

    pub(crate) fn take(
        &self,
        out: &mut Vec<T>,
        max: usize,
        deadline: Option<Instant>,
        waited: &mut Duration,
        acknowledge: bool,
    ) -> Result<usize, BufferGetError<RedisError>> {
        let mut acks = Vec::new();
        if acknowledge {
            acks = lock(&self.shared.taken)
                .remove(&thread::current().id())
                .unwrap_or_default();
        }
        if max == 0 {
            if acks.is_empty() {
                return Ok(0);
            }
            // Only the acknowledgement was asked for.
            lock(&self.shared.taken).insert(thread::current().id(), acks);
            return self
                .acknowledge()
                .map(|()| 0)
                .map_err(BufferGetError::Transport);
        }
        let max = max.min(MAX_BATCH);
        let mut wait_started = None;
        if !acks.is_empty() && self.may_read_with_gate(deadline) {
            // A consumer that acknowledges and then waits for the next item does both in one
            // round trip; whatever else the take script does (closed, reclaims, the tally) waits
            // for the next take, which the gate forces once the buffer is closed.
            let block = deadline.map_or(self.shared.settings.poll, |deadline| {
                deadline
                    .saturating_duration_since(Instant::now())
                    .min(self.shared.settings.poll)
            });
            let started = Instant::now();
            match self.acknowledge_and_read(&acks, max, block) {
                Ok(read) => {
                    if read.acknowledged {
                        acks.clear();
                    }
                    if read.waits {
                        wait_started = Some(started);
                    }
                    if !read.entries.is_empty() {
                        let accepted = self.accept(read.entries, out);
                        if !matches!(accepted, Ok(0)) {
                            if !acks.is_empty() {
                                lock(&self.shared.taken)
                                    .entry(thread::current().id())
                                    .or_default()
                                    .append(&mut acks);
                            }
                            self.end_wait(wait_started, waited);
                            return accepted.map_err(BufferGetError::Transport);
                        }
                    }
                }
                Err(err) => {
                    self.end_wait(wait_started, waited);
                    return Err(BufferGetError::Transport(err));
                }
            }
        }
        let outcome = loop {
            let taken = self.take_now(max, std::mem::take(&mut acks));
            let entries = match taken {
                Ok((1, _)) => break Err(BufferGetError::Closed),
                Ok((_, entries)) => entries,
                Err(err) => break Err(BufferGetError::Transport(err)),
            };
            if entries.iter().any(|entry| entry.redelivered) {
                // A reclaim takes over at most `max` items: look again at once for more.
                let mut last = lock(&self.last_reclaim);
                *last = last
                    .checked_sub(self.shared.settings.reclaim_interval)
                    .unwrap_or(*last);
            }
            if !entries.is_empty() {
                match self.accept(entries, out) {
                    Ok(0) => continue,
                    Ok(n) => break Ok(n),
                    Err(err) => break Err(BufferGetError::Transport(err)),
                }
            }
            let now = Instant::now();
            let block = match deadline {
                Some(deadline) if now >= deadline => break Err(BufferGetError::Timeout),
                Some(deadline) => (deadline - now).min(self.shared.settings.poll),
                None => self.shared.settings.poll,
            };
            wait_started.get_or_insert(now);
            let read = self.with_connection(|connection| {
                let read: Value = redis::cmd("XREADGROUP")
                    .arg("GROUP")
                    .arg(GROUP)
                    .arg(&self.shared.consumer)
                    .arg("COUNT")
                    .arg(max)
                    .arg("BLOCK")
                    .arg(millis(block))
                    .arg("STREAMS")
                    .arg(&self.shared.keys.items)
                    .arg(">")
                    .query(connection)?;
                let entries = reply::read_group(read)?;
                if !entries.is_empty() {
                    let mut tally = lock(&self.tally);
                    tally.since.get_or_insert_with(Instant::now);
                    tally.got += entries.len() as u64;
                }
                Ok(entries)
            });
            match read {
                Ok(entries) if entries.is_empty() => {}
                Ok(entries) => match self.accept(entries, out) {
                    Ok(0) => {}
                    Ok(n) => break Ok(n),
                    Err(err) => break Err(BufferGetError::Transport(err)),
                },
                Err(err) => break Err(BufferGetError::Transport(err)),
            }
        };
        self.end_wait(wait_started, waited);
        outcome
    }

    /// Counts a get's wait that began at `started`, if it waited.
    fn end_wait(&self, started: Option<Instant>, waited: &mut Duration) {
        if let Some(started) = started {
            let time = started.elapsed();
            *waited += time;
            self.add_wait(false, time);
        }
    }

    /// Whether a take may acknowledge and wait in one round trip: on one node (a cluster
    /// connection sends no pipelines), while the gate may be there, and when neither a deadline,
    /// a reclaim nor the tally asks for the take script now.
    fn may_read_with_gate(&self, deadline: Option<Instant>) -> bool {
        !self.shared.server.is_cluster()
            && self.gate_open.load(Ordering::Relaxed)
            && deadline.is_none_or(|deadline| deadline > Instant::now())
            && !self.reclaim_is_due()
            && !self.tally_is_due()
    }

    /// Acknowledges `acks` and reads new entries, waiting up to `block` for one, in one round
    /// trip: the acknowledging script, then a blocking read of the items and the gate.
    fn acknowledge_and_read(
        &self,
        acks: &[String],
        max: usize,
        block: Duration,
    ) -> Result<GateRead, RedisError> {
        let shared = &self.shared;
        let keys = &shared.keys;
        let replies: Vec<Value> = self.with_connection(|connection| {
            let mut pipe = redis::pipe();
            pipe.cmd("EVALSHA")
                .arg(shared.scripts.ack.get_hash())
                .arg(3)
                .arg(&keys.items)
                .arg(&keys.meta)
                .arg(&keys.room)
                .arg(GROUP)
                .arg(acks);
            pipe.cmd("XREADGROUP")
                .arg("GROUP")
                .arg(GROUP)
                .arg(&shared.consumer)
                .arg("COUNT")
                .arg(max)
                .arg("BLOCK")
                .arg(millis(block).max(1))
                .arg("STREAMS")
                .arg(&keys.items)
                .arg(&keys.gate)
                .arg(">")
                .arg(">");
            // Each reply on its own: the read may have taken entries whatever the script did.
            Ok(pipe.ignore_errors().query(connection)?)
        })?;
        let mut replies = replies.into_iter();
        let (acked, read) = (replies.next(), replies.next());
        let (acknowledged, waits) = match acked {
            Some(Value::Array(counts)) => (
                true,
                counts
                    .get(1)
                    .is_some_and(|n| reply::int(n).is_ok_and(|n| n <= 0)),
            ),
            // The script was flushed from the server: loaded again for the next time, and the
            // take script acknowledges.
            _ => {
                self.with_connection(|connection| Ok(shared.scripts.ack.load(connection)?))?;
                (false, false)
            }
        };
        let entries = match read {
            Some(Value::ServerError(err)) if err.code() == "NOGROUP" => {
                self.gate_open.store(false, Ordering::Relaxed);
                Vec::new()
            }
            Some(Value::ServerError(err)) => {
                return Err(RedisError::Redis(redis::RedisError::from(err)));
            }
            Some(read) => reply::read_group(read)?,
            None => return Err(RedisError::Reply("a short reply to a read".into())),
        };
        if !entries.is_empty() {
            let mut tally = lock(&self.tally);
            tally.since.get_or_insert_with(Instant::now);
            tally.got += entries.len() as u64;
        }
        Ok(GateRead {
            acknowledged,
            waits,
            entries,
        })
    }

    /// Reclaims expired items if due and reads new ones, without blocking.
    fn take_now(&self, max: usize, acks: Vec<String>) -> Result<(i64, Vec<Entry>), RedisError> {
        // The caller's acknowledgements come first, so it holds nothing more than the rest.
        let held = self.held();
        let lease = if self.reclaim_due() {
            millis(self.shared.settings.lease)
        } else {
            0
        };
        let shared = &self.shared;
        self.with_connection(|connection| {
            let mut call = shared.scripts.take.prepare_invoke();
            call.key(&shared.keys.items)
                .key(&shared.keys.meta)
                .key(&shared.keys.dead)
                .key(&shared.keys.room)
                .arg(GROUP)
                .arg(&shared.consumer)
                .arg(max)
                .arg(held)
                .arg(lease)
                .arg(shared.settings.max_deliveries)
                .arg(self.take_tally(false));
            for id in &acks {
                call.arg(id);
            }
            reply::taken(call.invoke(connection)?)
        })
    }

    /// Decodes the entries into `out` and records them as held by the calling thread; an entry
    /// that cannot be decoded goes to the dead-letter stream. Returns how many were decoded.
    fn accept(&self, entries: Vec<Entry>, out: &mut Vec<T>) -> Result<usize, RedisError> {
        let mut ids = Vec::with_capacity(entries.len());
        let mut failed = None;
        for entry in entries {
            match serde_json::from_slice(&entry.data) {
                Ok(item) => {
                    out.push(item);
                    ids.push(entry.id);
                }
                Err(err) => {
                    let reason = format!("undecodable: {err}");
                    let keys = &self.shared.keys;
                    let buried = self.with_connection(|connection| {
                        let _: i64 = self
                            .shared
                            .scripts
                            .bury
                            .key(&keys.items)
                            .key(&keys.meta)
                            .key(&keys.dead)
                            .key(&keys.room)
                            .arg(GROUP)
                            .arg(&entry.id)
                            .arg(&reason)
                            .invoke(connection)?;
                        Ok(())
                    });
                    // Undecodable now is undecodable later: if burying failed, the item is
                    // redelivered once its lease runs out and buried then.
                    if let Err(err) = buried {
                        failed.get_or_insert(err);
                    }
                }
            }
        }
        let n = ids.len();
        if n > 0 {
            lock(&self.shared.taken)
                .entry(thread::current().id())
                .or_default()
                .extend(ids);
        }
        match failed {
            Some(err) if n == 0 => Err(err),
            _ => Ok(n),
        }
    }
}

/// Sends what is left of the tally on a connection that is already open (never opening one: a
/// buffer whose server is gone must drop at once).
impl<T> Drop for RedisBuffer<T> {
    fn drop(&mut self) {
        let idle = lock(&self.shared.idle).pop();
        if let Some(mut connection) = idle {
            let _ = self.flush_tally(&mut connection);
        }
    }
}

impl<T> std::fmt::Debug for RedisBuffer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBuffer")
            .field("name", &self.shared.name)
            .field("capacity", &self.shared.settings.capacity)
            .field("consumer", &self.shared.consumer)
            .field("producer", &self.shared.producer)
            .finish_non_exhaustive()
    }
}
