//! The run's shared control: the stop flag, why the run stopped, the failures, what to close when it stops, and the [`CancelHandle`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::err::{StageCause, StageFailure};

/// What a closer ends when the run stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Closes {
    /// A buffer in front of a stage: blocked puts hand their items back, blocked gets return.
    Input,
    /// The buffer the caller reads results from: closed only when the run fails, so that a
    /// cancelled run still delivers the results its workers finish.
    Output,
    /// A reorder window: nobody waits for an earlier item any more.
    Window,
}

type Closer = Box<dyn Fn() + Send + Sync>;

#[derive(Default)]
struct Closers {
    list: Vec<(Closes, Closer)>,
    /// How the run was stopped so far: `None` while it runs, then cancelled or failed.
    halted: Option<Halt>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Halt {
    Cancelled,
    Failed,
}

impl Halt {
    fn closes(self, what: Closes) -> bool {
        self == Self::Failed || what != Closes::Output
    }
}

/// Shared by every thread of a staged run and by its [`CancelHandle`]s.
#[derive(Default)]
pub(crate) struct Control {
    stop: AtomicBool,
    cancelled: AtomicBool,
    cause: Mutex<Option<StageCause>>,
    failures: Mutex<Vec<StageFailure>>,
    closers: Mutex<Closers>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Only this module's code runs under these locks, and it calls no user code.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Control {
    /// Whether workers must stop taking items.
    #[inline]
    pub(crate) fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Adds something to close when the run stops. If it has stopped already, closes it now:
    /// a stage launched after a cancel must not wait for items that will never come.
    pub(crate) fn on_stop(&self, what: Closes, close: impl Fn() + Send + Sync + 'static) {
        let mut closers = lock(&self.closers);
        if closers.halted.is_some_and(|halt| halt.closes(what)) {
            close();
        }
        closers.list.push((what, Box::new(close)));
    }

    /// Stops the run at the user's request: the source stops, workers finish the item in hand.
    pub(crate) fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
        self.halt(Halt::Cancelled);
    }

    /// Stops the run because of `cause`; the first cause recorded is the one reported.
    pub(crate) fn fail(&self, cause: StageCause) {
        lock(&self.cause).get_or_insert(cause);
        self.halt(Halt::Failed);
    }

    /// Keeps a failure reported at the end (a stage whose policy is to continue).
    pub(crate) fn record_failure(&self, failure: StageFailure) {
        lock(&self.failures).push(failure);
    }

    fn halt(&self, halt: Halt) {
        let mut closers = lock(&self.closers);
        // Set under the closers' lock, so a closer registered from now on sees it.
        self.stop.store(true, Ordering::Relaxed);
        let halt = match closers.halted {
            Some(Halt::Failed) => Halt::Failed,
            _ => halt,
        };
        closers.halted = Some(halt);
        // Buffers first, then windows: a worker may hold a window's lock while it is blocked
        // putting into a full buffer, and only closing that buffer lets it go.
        for order in [Closes::Input, Closes::Output, Closes::Window] {
            for (what, close) in &closers.list {
                if *what == order && halt.closes(order) {
                    close();
                }
            }
        }
    }

    pub(crate) fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }

    /// The cause of the failure, if any, and the failures kept; taken once at the end.
    pub(crate) fn take_outcome(&self) -> (Option<StageCause>, Vec<StageFailure>) {
        (
            lock(&self.cause).take(),
            std::mem::take(&mut *lock(&self.failures)),
        )
    }
}

/// Cancels a staged run from any thread: the source stops, each worker finishes the item in
/// hand, and the run ends with every item that was never processed handed back in
/// [`Unprocessed`](crate::Unprocessed). Cancelling is not a failure: the run returns `Ok` with
/// `cancelled` set. Cloning gives another handle to the same run.
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
pub struct CancelHandle(pub(crate) Arc<Control>);

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
