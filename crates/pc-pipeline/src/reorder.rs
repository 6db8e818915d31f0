//! The reorder window: consumers hand in outcomes out of order, results come out in input order, and a consumer too far ahead waits.
//!
//! Why it cannot deadlock: producers put items into the buffer in input order (they pull and
//! put under one lock), and a consumer hands in a batch only after processing all of it. A
//! consumer waits only when its batch starts at least `width` items after `next`, the oldest
//! outcome not handed in yet. That item left the buffer before this batch did, so another
//! consumer holds it, and every item before it in that consumer's batch is older than `next`,
//! hence already handed in: that consumer never waits, finishes its batch, and moves `next`.
//! When a run stops early the window stops waiting altogether.
//!
//! The window is keyed by the order in which the segment's workers took items from its input
//! (see `engine::input`): items leave that input in key order, so the argument holds for
//! every segment, whatever the order of the source indices its items carry.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// The outcome of one item, as the window keeps it.
pub(crate) enum Slot<R> {
    /// Processed; the result goes out in its turn.
    Done(R),
    /// Failed; its turn passes without a result (the failure is reported separately).
    Failed,
}

/// Where a window's results go, in key order, while the window's lock is held (so that the
/// order survives however many workers hand in).
pub(crate) trait Release<R> {
    /// Takes the next outcome in key order.
    fn release(&mut self, key: usize, slot: Slot<R>);
    /// Ends one hand-in: whatever `release` gathered may be passed on now; `waited` grows by
    /// the time passing it on waited.
    fn flush(&mut self, waited: &mut Duration);
}

pub(crate) struct ReorderWindow<R, O> {
    state: Mutex<Window<R, O>>,
    advanced: Condvar,
    width: usize,
}

struct Window<R, O> {
    /// Key (input index) of the oldest outcome not handed in yet.
    next: usize,
    /// `pending[k]` is the outcome of key `next + k`, if it was handed in.
    pending: VecDeque<Option<Slot<R>>>,
    /// Where outcomes go once every earlier key has gone.
    out: O,
    /// Consumers waiting for `next` to move; each one counts itself in and out.
    waiting: usize,
    stopped: bool,
}

impl<R, O: Release<R>> ReorderWindow<R, O> {
    /// A window that lets consumers run at most `width` items ahead of the oldest outstanding
    /// one (at least 1), releasing into `out`. Nothing is allocated up front: a width of
    /// `usize::MAX` is a window without a bound.
    pub(crate) fn new(width: usize, out: O) -> Self {
        Self {
            state: Mutex::new(Window {
                next: 0,
                pending: VecDeque::new(),
                out,
                waiting: 0,
                stopped: false,
            }),
            advanced: Condvar::new(),
            width: width.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Window<R, O>> {
        // Only this module's code runs under the lock, and it does not panic.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Hands in the outcomes of one batch, in increasing key order, emptying `outcomes`;
    /// `waited` grows by the time spent waiting for earlier keys and passing results on.
    pub(crate) fn deposit(&self, outcomes: &mut Vec<(usize, Slot<R>)>, waited: &mut Duration) {
        let Some(&(first, _)) = outcomes.first() else {
            return;
        };
        let mut window = self.lock();
        // A `while`, not an `if`: a wake-up says `next` moved, not that it moved far enough for
        // this batch, and wake-ups can be spurious. The clock is read only when it waits.
        let mut started = None;
        while !window.stopped && first >= window.next.saturating_add(self.width) {
            started.get_or_insert_with(Instant::now);
            window.waiting += 1;
            window = self
                .advanced
                .wait(window)
                .unwrap_or_else(PoisonError::into_inner);
            window.waiting -= 1;
        }
        if let Some(started) = started {
            *waited += started.elapsed();
        }
        let wake = {
            let window = &mut *window;
            for (index, slot) in outcomes.drain(..) {
                // Each index is handed in once and `next` only passes indices handed in, so
                // `index >= next`.
                let k = index - window.next;
                if window.pending.len() <= k {
                    window.pending.resize_with(k + 1, || None);
                }
                window.pending[k] = Some(slot);
            }
            let before = window.next;
            while let Some(Some(_)) = window.pending.front() {
                if let Some(Some(slot)) = window.pending.pop_front() {
                    window.out.release(window.next, slot);
                }
                window.next += 1;
            }
            // Still under the lock: a later hand-in cannot overtake these results.
            window.out.flush(waited);
            window.next != before && window.waiting > 0
        };
        drop(window);
        // Notify after the state change and after unlocking. All waiters, not one: each waits
        // for its own threshold, and the one that can go on may not be the one `notify_one`
        // would pick.
        if wake {
            self.advanced.notify_all();
        }
    }

    /// Stops all waiting: the run is ending early, so `next` may never move again.
    pub(crate) fn stop(&self) {
        self.lock().stopped = true;
        self.advanced.notify_all();
    }

    /// Takes the results still waiting for an earlier key (a run that stopped early), with
    /// their keys.
    pub(crate) fn take_pending(&self) -> Vec<(usize, R)> {
        let mut window = self.lock();
        let next = window.next;
        window
            .pending
            .drain(..)
            .enumerate()
            .filter_map(|(k, slot)| match slot {
                Some(Slot::Done(result)) => Some((next + k, result)),
                _ => None,
            })
            .collect()
    }
}
