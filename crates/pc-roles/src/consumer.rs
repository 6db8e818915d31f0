//! The [`Consumer`] trait, the [`Sink`] that receives each outcome, and [`ConsumerRole`], which drives a consumer against a buffer in batches.

use std::cell::Cell;
use std::convert::Infallible;
use std::iter;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use pc_buffer::Buffer;

use crate::err::{Role, RoleError, StopCause};
use crate::hook::{ConsumeHook, NoHook, OnConsume};
use crate::panic::{catch_panic as catch, panic_message};
use crate::producer::{halt, stopped};
use crate::report::RoleReport;

/// Work done on each item taken from the buffer; it may fail.
///
/// Any closure `FnMut(T) -> Result<R, E>` is a consumer. A closure that cannot fail,
/// `FnMut(T) -> R`, becomes one through [`from_fn`].
pub trait Consumer<T> {
    /// What processing an item produces.
    type Output;
    /// Why processing an item may fail.
    type Error;
    /// Processes one item.
    fn consume(&mut self, item: T) -> Result<Self::Output, Self::Error>;
}

impl<T, R, E, F: FnMut(T) -> Result<R, E>> Consumer<T> for F {
    type Output = R;
    type Error = E;
    #[inline]
    fn consume(&mut self, item: T) -> Result<R, E> {
        self(item)
    }
}

/// A consumer made of a closure that cannot fail; see [`from_fn`].
#[derive(Debug, Clone, Copy)]
pub struct FromFn<F>(pub F);

/// Makes a consumer of a closure `FnMut(T) -> R` that cannot fail.
///
/// ```
/// use pc_roles::{Consumer, from_fn};
///
/// let mut double = from_fn(|x: u32| x * 2);
/// assert_eq!(double.consume(21), Ok(42));
/// ```
pub fn from_fn<F>(work: F) -> FromFn<F> {
    FromFn(work)
}

impl<T, R, F: FnMut(T) -> R> Consumer<T> for FromFn<F> {
    type Output = R;
    type Error = Infallible;
    #[inline]
    fn consume(&mut self, item: T) -> Result<R, Infallible> {
        Ok((self.0)(item))
    }
}

/// Whether a consumer goes on after an outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Take the next item.
    Continue,
    /// Stop: hand back the items still held, stop the other roles, close the buffer.
    Stop,
}

/// Where a consumer's outcomes go.
///
/// Any closure `FnMut(Result<R, E>) -> Flow` is a sink. A sink that buffers outcomes (to hand
/// them on in groups) overrides [`flush`](Self::flush), which the consumer calls after each batch
/// it took from the buffer and before it returns.
pub trait Sink<R, E> {
    /// Receives the outcome of one item and says whether to go on.
    fn accept(&mut self, outcome: Result<R, E>) -> Flow;
    /// Hands on whatever the sink holds back; called after each batch and at the end.
    fn flush(&mut self) {}
}

impl<R, E, F: FnMut(Result<R, E>) -> Flow> Sink<R, E> for F {
    #[inline]
    fn accept(&mut self, outcome: Result<R, E>) -> Flow {
        self(outcome)
    }
}

/// Drives a [`Consumer`] against a [`Buffer`] until the buffer is closed and drained.
///
/// The consumer takes up to [`batch`](Self::batch) items per buffer operation (one lock, one
/// wake-up for many items) and processes them one at a time: the user's code never sees the
/// batch. After each item it calls `on_consume`, passes the outcome to the sink and paces.
/// Once every outcome of a batch has reached the sink it acknowledges the batch, with its next
/// get ([`Buffer::acknowledge_and_get_batch_into_waited`]); a batch that ends early is not
/// acknowledged, so a buffer that delivers at least once hands its items out again.
///
/// ```
/// use pc_roles::{BoundedBuffer, ConsumerRole, Flow, from_fn};
///
/// let buffer = BoundedBuffer::new(8).unwrap();
/// buffer.put_batch(vec![1, 2, 3]).unwrap();
/// buffer.close();
/// let mut outputs = Vec::new();
/// let report = ConsumerRole::new()
///     .batch(64)
///     .run(from_fn(|x: i32| x * 10), &buffer, |out: Result<i32, _>| {
///         outputs.push(out.unwrap());
///         Flow::Continue
///     })
///     .unwrap();
/// assert_eq!(outputs, [10, 20, 30]);
/// assert_eq!(report.items, 3);
/// ```
#[derive(Debug, Clone)]
pub struct ConsumerRole<H = NoHook> {
    delay: Duration,
    batch: usize,
    hook: H,
}

impl ConsumerRole {
    /// A consumer without delay or callback that takes one item per buffer operation.
    pub fn new() -> Self {
        Self {
            delay: Duration::ZERO,
            batch: 1,
            hook: NoHook,
        }
    }
}

impl Default for ConsumerRole {
    fn default() -> Self {
        Self::new()
    }
}

impl<H> ConsumerRole<H> {
    /// Sleeps `delay` after each item (the Python design's `consumer_delay`). A consumer with a delay
    /// takes one item at a time whatever its [`batch`](Self::batch), so it never holds items
    /// that another consumer could be processing.
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// Takes up to `batch` items (at least 1) per buffer operation.
    pub fn batch(mut self, batch: usize) -> Self {
        self.batch = batch.max(1);
        self
    }

    /// Calls `callback(output, count, buffer_len)` after each successfully processed item (see
    /// [`OnConsume`]).
    pub fn on_consume<F>(self, callback: F) -> ConsumerRole<OnConsume<F>> {
        self.with_hook(OnConsume(callback))
    }

    /// Uses any [`ConsumeHook`] after each successful item.
    pub fn with_hook<H2>(self, hook: H2) -> ConsumerRole<H2> {
        ConsumerRole {
            delay: self.delay,
            batch: self.batch,
            hook,
        }
    }

    /// Processes items from `buffer` until it is closed and drained, passing each outcome to
    /// `sink`.
    ///
    /// # Errors
    ///
    /// See [`run_until`](Self::run_until).
    pub fn run<T, C, B, S>(
        &mut self,
        consumer: C,
        buffer: &B,
        sink: S,
    ) -> Result<RoleReport, RoleError<T, B::TransportError>>
    where
        C: Consumer<T>,
        B: Buffer<T>,
        S: Sink<C::Output, C::Error>,
        H: ConsumeHook<C::Output>,
    {
        self.run_until(consumer, buffer, &AtomicBool::new(false), sink)
    }

    /// Like [`run`](Self::run), for one of several roles sharing the `stop` flag.
    ///
    /// The consumer checks `stop` before each item and, once it is set, hands back the items it
    /// holds. When it fails itself (a panic, a transport error, or the sink returning
    /// [`Flow::Stop`]) it sets `stop` and closes the buffer, so producers blocked on a full
    /// buffer and consumers blocked on an empty one all return.
    ///
    /// # Errors
    ///
    /// A [`RoleError`] carrying the items taken from the buffer but not processed, in buffer
    /// order: always the last items of the last batch taken, since a batch is processed in
    /// order. An item whose work panicked is not among them: it counts as processed (and failed).
    pub fn run_until<T, C, B, S>(
        &mut self,
        mut consumer: C,
        buffer: &B,
        stop: &AtomicBool,
        mut sink: S,
    ) -> Result<RoleReport, RoleError<T, B::TransportError>>
    where
        C: Consumer<T>,
        B: Buffer<T>,
        S: Sink<C::Output, C::Error>,
        H: ConsumeHook<C::Output>,
    {
        let batch_max = if self.delay.is_zero() { self.batch } else { 1 };
        let mut report = RoleReport::default();
        let mut batch = Vec::with_capacity(batch_max);
        // Blocked is what the gets say they waited (see `RoleReport::blocked`); busy is the rest,
        // computed at the end.
        let started = Instant::now();
        // Whether the last batch's outcomes all reached the sink, so that it is acknowledged
        // with the next get (one round trip for a buffer behind a broker).
        let mut done_with_batch = false;
        loop {
            let got = if done_with_batch {
                buffer.acknowledge_and_get_batch_into_waited(
                    &mut batch,
                    batch_max,
                    &mut report.blocked,
                )
            } else {
                buffer.get_batch_into_waited(&mut batch, batch_max, &mut report.blocked)
            };
            if let Err(err) = got {
                sink.flush();
                report.end(started);
                return match err.transport_error_into() {
                    // Closed and drained: the normal end.
                    None => Ok(report),
                    Some(err) => {
                        halt(stop, buffer);
                        Err(stopped(StopCause::Transport(err), Vec::new(), report))
                    }
                };
            }
            let mut items = batch.drain(..);
            // One catch for the whole batch, which costs nothing until a panic: the work is
            // known to be the culprit when it panics with `in_work` set.
            // A `Cell`, as the flag is read only when the work unwinds.
            let in_work = Cell::new(false);
            let caught = panic::catch_unwind(AssertUnwindSafe(|| {
                for item in items.by_ref() {
                    if stop.load(Ordering::Relaxed) {
                        return Some(Exit::Stopped(item));
                    }
                    report.items += 1;
                    in_work.set(true);
                    let outcome = consumer.consume(item);
                    in_work.set(false);
                    let mut cause = None;
                    if let (true, Ok(output)) = (H::ACTIVE, &outcome) {
                        let count = report.items;
                        let called = catch(|| self.hook.call(output, count, buffer.len()));
                        if let Err(message) = called {
                            let role = Role::OnConsume;
                            cause = Some(StopCause::Panicked { role, message });
                        }
                    }
                    // The output reaches the sink even if the callback panicked on it.
                    if sink.accept(outcome) == Flow::Stop && cause.is_none() {
                        cause = Some(StopCause::Halted);
                    }
                    if let Some(cause) = cause {
                        return Some(Exit::Failed(cause));
                    }
                    report.pace(self.delay);
                }
                None
            }));
            let (cause, unprocessed) = match caught {
                Ok(None) => {
                    sink.flush();
                    // Every outcome of the batch reached the sink: a buffer that delivers at
                    // least once may forget the batch now, and not before.
                    done_with_batch = true;
                    continue;
                }
                Ok(Some(Exit::Stopped(item))) => {
                    let unprocessed = iter::once(item).chain(items).collect();
                    sink.flush();
                    report.end(started);
                    return Err(stopped(StopCause::Stopped, unprocessed, report));
                }
                Ok(Some(Exit::Failed(cause))) => (cause, items.collect()),
                Err(payload) if in_work.get() => {
                    let message = panic_message(&*payload);
                    let role = Role::Consumer;
                    (StopCause::Panicked { role, message }, items.collect())
                }
                // Not user code of this role: the sink's own panic goes on.
                Err(payload) => panic::resume_unwind(payload),
            };
            halt(stop, buffer);
            sink.flush();
            report.end(started);
            return Err(stopped(cause, unprocessed, report));
        }
    }
}

/// How a batch ended early.
enum Exit<T, E> {
    /// The stop flag was set; the item was taken and not processed.
    Stopped(T),
    /// The role stops.
    Failed(StopCause<E>),
}
