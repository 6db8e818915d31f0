//! A run's shared control: the stop flag, why the run stopped, the failures, what to close when it stops, and the [`CancelHandle`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use crate::err::{Cause, Failure};

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Only this module's code runs under these locks, and it calls no user code.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What a run and its [`CancelHandle`]s share. It holds nothing of the run's items, so a
/// handle can be sent to any thread even when the run borrows from its caller.
#[derive(Default)]
pub(crate) struct Signal {
    /// Set when the run must stop taking items; workers read it before each item.
    stop: AtomicBool,
    /// Whether a [`CancelHandle`] was made: then a run needs a thread to act on a cancel.
    handles: AtomicBool,
    state: Mutex<SignalState>,
    changed: Condvar,
}

#[derive(Default)]
struct SignalState {
    cancelled: bool,
    /// The run has ended: whoever waits for a cancel need not any more.
    ended: bool,
}

/// What a watcher of the run learned.
pub(crate) enum Watch {
    /// The run was cancelled.
    Cancelled,
    /// The run ended.
    Ended,
    /// The deadline passed.
    Timeout,
}

impl Signal {
    fn cancel(&self) {
        let mut state = lock(&self.state);
        state.cancelled = true;
        self.stop.store(true, Ordering::Relaxed);
        drop(state);
        self.changed.notify_all();
    }

    pub(crate) fn is_cancelled(&self) -> bool {
        lock(&self.state).cancelled
    }

    /// A handle that cancels the run from any thread.
    pub(crate) fn handle(self: &Arc<Self>) -> CancelHandle {
        self.handles.store(true, Ordering::Relaxed);
        CancelHandle(Arc::clone(self))
    }

    pub(crate) fn has_handles(&self) -> bool {
        self.handles.load(Ordering::Relaxed)
    }

    /// Marks the run as ended, for the watcher.
    pub(crate) fn end(&self) {
        lock(&self.state).ended = true;
        self.changed.notify_all();
    }

    /// Makes the signal ready for another run: a cancel from now on cancels that run.
    pub(crate) fn reset(&self) {
        let mut state = lock(&self.state);
        *state = SignalState::default();
        self.stop.store(false, Ordering::Relaxed);
    }

    /// Waits until the run is cancelled, ends, or `deadline` passes. A run that was both
    /// cancelled and ended reports `Ended` once the cancel has been seen: `seen` says whether
    /// the caller has seen it.
    pub(crate) fn wait(&self, deadline: Option<Instant>, seen_cancel: bool) -> Watch {
        let mut state = lock(&self.state);
        loop {
            if state.cancelled && !seen_cancel {
                return Watch::Cancelled;
            }
            if state.ended {
                return Watch::Ended;
            }
            // A loop, not one wait: wake-ups can be spurious.
            match deadline {
                None => {
                    state = self
                        .changed
                        .wait(state)
                        .unwrap_or_else(PoisonError::into_inner);
                }
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return Watch::Timeout;
                    }
                    state = self
                        .changed
                        .wait_timeout(state, deadline - now)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0;
                }
            }
        }
    }
}

/// What a closer ends when the run stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Closes {
    /// A buffer in front of a stage: blocked puts hand their items back, blocked gets return.
    Input,
    /// The buffer the caller reads results from: closed when the run fails or the reader
    /// leaves, not on a cancel, so that a cancelled run still delivers what its workers finish.
    Output,
    /// A reorder window: nobody waits for an earlier item any more.
    Window,
}

/// How a run was stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Halt {
    /// By a [`CancelHandle`]: the results finished go on to the reader.
    Cancelled,
    /// The reader of the results left, or the run failed: nobody takes results any more.
    Ended,
}

impl Halt {
    fn closes(self, what: Closes) -> bool {
        self == Self::Ended || what != Closes::Output
    }
}

type Closer<'a> = Arc<dyn Fn() + Send + Sync + 'a>;

struct State<'a, E> {
    /// Why the run failed: the first cause recorded.
    cause: Option<Cause<E>>,
    failures: Vec<Failure<E>>,
    closers: Vec<(Closes, Closer<'a>)>,
    /// How the run was stopped so far: `None` while it runs.
    halted: Option<Halt>,
}

/// Shared by every thread of a run.
pub(crate) struct Control<'a, E> {
    signal: Arc<Signal>,
    state: Mutex<State<'a, E>>,
}

impl<'a, E> Control<'a, E> {
    pub(crate) fn new(signal: Arc<Signal>) -> Self {
        Self {
            signal,
            state: Mutex::new(State {
                cause: None,
                failures: Vec::new(),
                closers: Vec::new(),
                halted: None,
            }),
        }
    }

    /// The flag the roles read before each item.
    pub(crate) fn stop_flag(&self) -> &AtomicBool {
        &self.signal.stop
    }

    /// Whether workers must stop taking items.
    #[inline]
    pub(crate) fn stopped(&self) -> bool {
        self.signal.stop.load(Ordering::Relaxed)
    }

    pub(crate) fn signal(&self) -> &Arc<Signal> {
        &self.signal
    }

    /// Adds something to close when the run stops. If it has stopped already, closes it now:
    /// a row launched after a stop must not wait for items that will never come.
    pub(crate) fn on_stop(&self, what: Closes, close: impl Fn() + Send + Sync + 'a) {
        let close: Closer<'a> = Arc::new(close);
        let mut state = lock(&self.state);
        let now = state.halted.is_some_and(|halt| halt.closes(what));
        state.closers.push((what, Arc::clone(&close)));
        drop(state);
        if now {
            close();
        }
    }

    /// Stops the run after a cancel: the source stops, workers finish the item in hand, and
    /// what they finish still reaches the reader.
    pub(crate) fn cancelled(&self) {
        self.halt(Halt::Cancelled);
    }

    /// Stops the run because nobody reads its results any more.
    pub(crate) fn abandon(&self) {
        self.signal.cancel();
        self.halt(Halt::Ended);
    }

    /// Stops the run because of `cause`. The first cause recorded is the one reported; a
    /// failed item recorded later joins the failures, so that none is only counted.
    pub(crate) fn fail(&self, cause: Cause<E>) {
        {
            let mut state = lock(&self.state);
            match (&state.cause, cause) {
                (None, cause) => state.cause = Some(cause),
                (Some(_), Cause::Failed(failure)) => state.failures.push(failure),
                // A later panic or sink failure follows from the stop or adds nothing the
                // counts do not say.
                (Some(_), _) => {}
            }
        }
        self.halt(Halt::Ended);
    }

    /// Keeps a failure reported at the end (a stage whose policy is to continue).
    pub(crate) fn record_failure(&self, failure: Failure<E>) {
        lock(&self.state).failures.push(failure);
    }

    fn halt(&self, halt: Halt) {
        let mut state = lock(&self.state);
        // Set under the state's lock, so a closer registered from now on sees it.
        self.signal.stop.store(true, Ordering::Relaxed);
        let before = state.halted;
        let halt = before.map_or(halt, |before| before.max(halt));
        if before == Some(halt) {
            return;
        }
        state.halted = Some(halt);
        // Buffers first, the output among them, then windows: a worker may hold a window's
        // lock while it is blocked putting into a full buffer, and only closing that buffer
        // lets it go.
        let mut closing = Vec::new();
        for order in [Closes::Input, Closes::Output, Closes::Window] {
            for (what, close) in &state.closers {
                let already = before.is_some_and(|before| before.closes(*what));
                if *what == order && halt.closes(order) && !already {
                    closing.push(Arc::clone(close));
                }
            }
        }
        // Closed outside the lock: stopping a window waits for its lock, which a worker
        // blocked putting into an output a cancel leaves open may hold until the reader takes
        // a result or leaves, and leaving is itself a halt that must not wait for this one.
        drop(state);
        for close in closing {
            close();
        }
    }

    /// Whether the run was cancelled, by a handle or by its reader leaving.
    pub(crate) fn is_cancelled(&self) -> bool {
        self.signal.is_cancelled()
    }

    /// Whether the run failed.
    pub(crate) fn has_failed(&self) -> bool {
        lock(&self.state).cause.is_some()
    }

    /// The cause of the failure, if any, and the failures kept; taken once at the end.
    pub(crate) fn take_outcome(&self) -> (Option<Cause<E>>, Vec<Failure<E>>) {
        let mut state = lock(&self.state);
        (state.cause.take(), std::mem::take(&mut state.failures))
    }
}

/// Cancels a run from any thread: the source stops, each worker finishes the item in hand,
/// and the run ends with every item that was never processed handed back in
/// [`Unprocessed`](crate::Unprocessed). Cancelling is not a failure: the run returns `Ok` with
/// `cancelled` set. Cancelling before the run starts cancels it as it starts; cancelling after
/// it ended does nothing. Cloning gives another handle to the same run.
///
/// ```
/// use pc_pipeline::{Pipeline, Stage};
///
/// let chain = Pipeline::source(0u64..).stage(Stage::new("square"), |n| n * n);
/// let cancel = chain.cancel_handle();
/// let mut stream = chain.stream().unwrap();
/// assert_eq!(stream.next(), Some(0)); // the source is endless: only a cancel ends it
/// cancel.cancel();
/// let finished = stream.finish().unwrap();
/// assert!(finished.cancelled);
/// let report = &finished.report;
/// assert!(report.stages.iter().all(|s| s.items_in == s.items_out + s.failed + s.returned));
/// ```
#[derive(Clone)]
pub struct CancelHandle(pub(crate) Arc<Signal>);

impl CancelHandle {
    /// Stops the run. Calling it again, or after the run ended, does nothing.
    pub fn cancel(&self) {
        self.0.cancel();
    }

    /// Whether [`cancel`](Self::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.is_cancelled()
    }
}

impl std::fmt::Debug for CancelHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CancelHandle")
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}
