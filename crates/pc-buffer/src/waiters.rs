//! Bookkeeping of the threads blocked on one side of the buffer, so that a notify happens only when someone waits.

/// How many threads wait on one condition variable, split by whether a notifier has already
/// accounted for waking them.
///
/// Every field is read and written only under one of the buffer's locks: the front lock for
/// producers waiting for room, the back lock for consumers waiting for items. The counts are
/// `u32` so that they take little room on their half's first cache line, next to the queue; no
/// process runs four billion threads.
///
/// The protocol (checked by the loom models, including spurious wake-ups):
/// - a thread that is about to wait calls [`register`](Self::register);
/// - a notifier that changed the state so that `n` waiters could proceed calls
///   [`signal`](Self::signal), which moves up to `n` threads from `parked` to `signalled` and
///   returns how many `notify_one` calls it owes. The *notifier* does the accounting for the
///   threads it wakes, so a second notifier that runs before the woken thread has re-taken the
///   lock does not wake it again (no useless notify, no useless syscall);
/// - every thread that returns from a wait, for whatever reason (notify, spurious wake-up,
///   timeout), calls [`unregister`](Self::unregister): it takes one signal if there is one,
///   otherwise it removes itself from `parked`.
///
/// Waiters are interchangeable, so it does not matter *which* thread takes a signal: at every
/// unlock `parked + signalled` equals the number of threads between `register` and
/// `unregister`, and `parked` counts exactly the threads no notify has been issued for.
/// A state change therefore never skips a notify that a blocked thread needs (no lost wake-up):
/// if `parked == 0`, every waiting thread already has a notify on its way or is awake.
#[derive(Debug, Default)]
pub(crate) struct Waiters {
    /// Threads waiting that no notifier has accounted for yet.
    parked: u32,
    /// Notifies issued whose woken thread has not yet re-taken the lock.
    signalled: u32,
}

impl Waiters {
    /// Counts the calling thread in before it waits.
    #[inline]
    pub(crate) fn register(&mut self) {
        self.parked += 1;
    }

    /// Counts the calling thread out after it returned from a wait.
    #[inline]
    pub(crate) fn unregister(&mut self) {
        if self.signalled > 0 {
            self.signalled -= 1;
        } else {
            // A spurious wake-up or a timeout: no notifier accounted for this thread, so it is
            // still counted in `parked` and removes itself from there.
            self.parked -= 1;
        }
    }

    /// Accounts for waking up to `n` parked threads; returns how many `notify_one` calls the
    /// caller must make (after its state change, ideally after unlocking).
    #[inline]
    pub(crate) fn signal(&mut self, n: usize) -> usize {
        // Nobody parked, the usual case: read only. The batched layout keeps the counts on a
        // line that every operation reads and only waits write; a store of the same values
        // would still take that line from the other side's cache.
        if self.parked == 0 {
            return 0;
        }
        // `woken <= parked`, so it fits in a `u32`.
        let woken = (self.parked as usize).min(n) as u32;
        self.parked -= woken;
        self.signalled += woken;
        woken as usize
    }

    /// Accounts for waking every parked thread; returns whether there was any (then the caller
    /// must call `notify_all`).
    #[inline]
    pub(crate) fn signal_all(&mut self) -> bool {
        self.signal(usize::MAX) > 0
    }

    /// Whether a thread has been notified and has not yet taken the lock again.
    #[inline]
    pub(crate) fn waking(&self) -> bool {
        self.signalled > 0
    }

    /// Threads currently between `register` and `unregister`.
    #[inline]
    pub(crate) fn waiting(&self) -> usize {
        self.parked as usize + self.signalled as usize
    }
}
