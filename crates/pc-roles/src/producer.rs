//! The [`Producer`] trait and [`ProducerRole`], which drives producers against a buffer with pacing, a callback and a report.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use pc_buffer::{Buffer, BufferPutError};

use crate::err::{Role, RoleError, StopCause};
use crate::hook::{NoHook, OnProduce, ProduceHook};
use crate::panic::catch_panic as catch;
use crate::report::RoleReport;

/// A source of items: `None` means it is exhausted.
///
/// Every iterator is a producer, so `vec.into_iter()`, `0..n` or `lines.map(parse)` all work.
pub trait Producer<T> {
    /// The next item, or `None` when there are no more.
    fn produce(&mut self) -> Option<T>;

    /// How many more items [`produce`](Self::produce) gives without waiting: a lower bound, 0
    /// when the producer cannot tell. A producer role reads ahead only as far as this promises.
    /// For an iterator it is the lower bound of its `size_hint`.
    fn promised(&self) -> usize {
        0
    }
}

impl<I: Iterator> Producer<I::Item> for I {
    #[inline]
    fn produce(&mut self) -> Option<I::Item> {
        self.next()
    }

    #[inline]
    fn promised(&self) -> usize {
        self.size_hint().0
    }
}

/// Drives a [`Producer`] against a [`Buffer`]: pulls items, puts them, calls `on_produce`, paces,
/// and reports where the time went.
///
/// ```
/// use std::time::Duration;
/// use pc_roles::{BoundedBuffer, ProducerRole};
///
/// let buffer = BoundedBuffer::new(8).unwrap();
/// let mut seen = Vec::new();
/// let report = ProducerRole::new()
///     .delay(Duration::from_millis(1))
///     .on_produce(|item: &char, count, buffer_len| seen.push((*item, count, buffer_len)))
///     .run("ab".chars(), &buffer)
///     .unwrap();
/// assert_eq!(report.items, 2);
/// assert!(report.paced >= Duration::from_millis(2));
/// assert_eq!(seen, [('a', 1, 1), ('b', 2, 2)]);
/// ```
#[derive(Debug, Clone)]
pub struct ProducerRole<H = NoHook> {
    delay: Duration,
    chunk: usize,
    hook: H,
}

impl ProducerRole {
    /// A producer without delay or callback that puts one item at a time.
    pub fn new() -> Self {
        Self {
            delay: Duration::ZERO,
            chunk: 1,
            hook: NoHook,
        }
    }
}

impl Default for ProducerRole {
    fn default() -> Self {
        Self::new()
    }
}

impl<H> ProducerRole<H> {
    /// Sleeps `delay` after each item (the Python design's `producer_delay`). A producer with a delay
    /// puts one item at a time whatever its [`chunk`](Self::chunk).
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// Pulls up to `chunk` items (at least 1) and puts them with one batch put, taking the
    /// buffer's lock once per chunk instead of once per item. The callback still sees every
    /// item; `buffer_len` is then the length after the chunk's put.
    ///
    /// A chunk holds the first item pulled and then only as many as the producer
    /// [promises](Producer::promised) to give without waiting. A source that waits (a channel,
    /// a socket, or one fed by the run's own output) is therefore never waited on while the
    /// producer holds items it pulled: they are put first.
    pub fn chunk(mut self, chunk: usize) -> Self {
        self.chunk = chunk.max(1);
        self
    }

    /// Calls `callback(item, count, buffer_len)` after each put (see [`OnProduce`]).
    pub fn on_produce<F>(self, callback: F) -> ProducerRole<OnProduce<F>> {
        self.with_hook(OnProduce(callback))
    }

    /// Uses any [`ProduceHook`] around each put.
    pub fn with_hook<H2>(self, hook: H2) -> ProducerRole<H2> {
        ProducerRole {
            delay: self.delay,
            chunk: self.chunk,
            hook,
        }
    }

    /// Puts every item of `producer` into `buffer`, then returns what it did. It does not close
    /// the buffer: whoever knows that all producers are done does.
    ///
    /// # Errors
    ///
    /// A [`RoleError`] with the items in hand when a put fails (the buffer was closed, or a
    /// transport error) or the producer or callback panicked. Items still in the producer stay
    /// there.
    pub fn run<T, P, B>(
        &mut self,
        producer: P,
        buffer: &B,
    ) -> Result<RoleReport, RoleError<T, B::TransportError>>
    where
        P: Producer<T>,
        B: Buffer<T>,
        H: ProduceHook<T>,
    {
        self.run_shared(&Mutex::new(producer), buffer, &AtomicBool::new(false))
    }

    /// Like [`run`](Self::run), for one of several producers sharing one source.
    ///
    /// Each producer pulls and puts while it holds the source's lock, so the buffer receives
    /// items in the source's order however many producers share it; what runs in parallel is
    /// the callback's aftermath and the delay. `stop` is shared with the other roles of the run:
    /// this producer stops (handing back nothing, having pulled nothing) when it is set, and
    /// sets it and closes the buffer when it fails itself (a panic or a transport error), so
    /// nobody waits for items that will not come.
    ///
    /// ```
    /// use std::sync::Mutex;
    /// use std::sync::atomic::AtomicBool;
    /// use pc_roles::{BoundedBuffer, ProducerRole};
    ///
    /// let buffer = BoundedBuffer::new(100).unwrap();
    /// let source = Mutex::new(0..100);
    /// let stop = AtomicBool::new(false);
    /// std::thread::scope(|s| {
    ///     for _ in 0..3 {
    ///         s.spawn(|| ProducerRole::new().run_shared(&source, &buffer, &stop).unwrap());
    ///     }
    /// });
    /// buffer.close();
    /// assert!(buffer.iter().eq(0..100)); // in the source's order
    /// ```
    ///
    /// # Errors
    ///
    /// As [`run`](Self::run), plus [`StopCause::Stopped`] when `stop` was set by another role.
    pub fn run_shared<T, P, B>(
        &mut self,
        producer: &Mutex<P>,
        buffer: &B,
        stop: &AtomicBool,
    ) -> Result<RoleReport, RoleError<T, B::TransportError>>
    where
        P: Producer<T>,
        B: Buffer<T>,
        H: ProduceHook<T>,
    {
        let chunk = if self.delay.is_zero() { self.chunk } else { 1 };
        let mut report = RoleReport::default();
        let mut kept = Vec::new();
        // Reused for every put: a batch put moves the items out and leaves the allocation.
        let mut items = Vec::with_capacity(chunk);
        // Blocked is what the puts say they waited (see `RoleReport::blocked`); busy is the rest,
        // computed at the end.
        let started = Instant::now();
        loop {
            // A panic is caught inside the lock, so the lock is only poisoned by a bug outside
            // this role; the source itself is still whole then.
            let mut source = producer.lock().unwrap_or_else(PoisonError::into_inner);
            // Checked under the source's lock: a producer that failed set `stop` before
            // releasing it, so nobody pulls from a source that just panicked.
            if stop.load(Ordering::Relaxed) {
                report.end(started);
                return Err(stopped(StopCause::Stopped, Vec::new(), report));
            }
            let mut exhausted = false;
            let mut panicked = None;
            while items.len() < chunk {
                // Only the first pull of a chunk may wait; the others take what was promised.
                if !items.is_empty() {
                    match catch(|| source.promised()) {
                        Ok(0) => break,
                        Ok(_) => {}
                        Err(message) => {
                            panicked = Some((Role::Producer, message));
                            break;
                        }
                    }
                }
                let item = match catch(|| source.produce()) {
                    Ok(Some(item)) => item,
                    Ok(None) => {
                        exhausted = true;
                        break;
                    }
                    Err(message) => {
                        panicked = Some((Role::Producer, message));
                        break;
                    }
                };
                if H::ACTIVE {
                    // Keeping (a clone, for a callback) is user code too; if it panics the item
                    // is still delivered, and the run stops after the put.
                    match catch(|| self.hook.keep(&item)) {
                        Ok(k) => kept.push(k),
                        Err(message) => panicked = Some((Role::OnProduce, message)),
                    }
                }
                items.push(item);
                if panicked.is_some() {
                    break;
                }
            }
            let pulled = items.len();
            if pulled > 1 {
                pause_before_put();
            }
            let blocked = &mut report.blocked;
            let put = match pulled {
                0 => Ok(()),
                1 => buffer
                    .put_waited(items.pop().expect("one item"), blocked)
                    .map_err(|e| e.map(|item| vec![item])),
                _ => buffer.put_batch_from_waited(&mut items, blocked),
            };
            if let Err(err) = put {
                let (cause, unprocessed) = match err {
                    BufferPutError::Closed(items) | BufferPutError::Timeout(items) => {
                        (StopCause::Closed, items)
                    }
                    BufferPutError::NoConsumer(items) => (StopCause::NoConsumer, items),
                    BufferPutError::Transport(items, err) => {
                        halt(stop, buffer);
                        (StopCause::Transport(err), items)
                    }
                };
                report.items += pulled - unprocessed.len();
                report.end(started);
                return Err(stopped(cause, unprocessed, report));
            }
            if H::ACTIVE && pulled > 0 {
                let buffer_len = buffer.len();
                for (i, kept) in kept.drain(..).enumerate() {
                    let count = report.items + i + 1;
                    if let Err(message) = catch(|| self.hook.call(kept, count, buffer_len)) {
                        report.items += pulled;
                        report.end(started);
                        halt(stop, buffer);
                        let cause = StopCause::Panicked {
                            role: Role::OnProduce,
                            message,
                        };
                        return Err(stopped(cause, Vec::new(), report));
                    }
                }
            }
            report.items += pulled;
            if let Some((role, message)) = panicked {
                report.end(started);
                halt(stop, buffer);
                let cause = StopCause::Panicked { role, message };
                return Err(stopped(cause, Vec::new(), report));
            }
            drop(source);
            if exhausted {
                report.end(started);
                return Ok(report);
            }
            report.pace(self.delay);
        }
    }
}

/// How many spin-loop hints a producer makes between pulling a chunk of several items and
/// putting it. A single item is put at once: a source that promises nothing ahead is put item
/// by item, and there the pause would cost more than the put.
///
/// Chosen by measurement, not derived (BENCHMARKS.md, `PAUSES_BEFORE_PUT`). A producer that
/// pulls faster than its consumer takes comes back to a buffer that is still full, and its look
/// at the buffer then tends to come at the wrong moment for the consumer emptying it. The pause
/// lives here rather than in the buffer's put, where it would tax every put that finds room,
/// such as a single thread's.
const PAUSES_BEFORE_PUT: u32 = 2;

#[inline(always)]
fn pause_before_put() {
    for _ in 0..PAUSES_BEFORE_PUT {
        std::hint::spin_loop();
    }
}

/// Stops every role sharing `stop` and wakes those blocked on the buffer.
pub(crate) fn halt<T, B: Buffer<T>>(stop: &AtomicBool, buffer: &B) {
    stop.store(true, Ordering::Relaxed);
    // A transport error here changes nothing: the run is ending with an error already.
    let _ = buffer.close();
}

pub(crate) fn stopped<T, E>(
    cause: StopCause<E>,
    unprocessed: Vec<T>,
    report: RoleReport,
) -> RoleError<T, E> {
    RoleError {
        cause,
        unprocessed,
        report,
    }
}
