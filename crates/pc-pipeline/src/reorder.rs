//! The reorder window: consumers hand in outcomes out of order, results come out in input order, and a consumer too far ahead waits.
//!
//! Why it cannot deadlock: producers put items into the buffer in input order (they pull and
//! put under one lock), and a consumer hands in a batch only after processing all of it. A
//! consumer waits only when its batch starts at least `width` items after `next`, the oldest
//! outcome not handed in yet. That item left the buffer before this batch did, so another
//! consumer holds it, and every item before it in that consumer's batch is older than `next`,
//! hence already handed in: that consumer never waits, finishes its batch, and moves `next`.
//! When a run stops early the window stops waiting altogether.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

/// The outcome of one item, as the window keeps it.
pub(crate) enum Slot<R> {
    /// Processed; the result goes out in its turn.
    Done(R),
    /// Failed; its turn passes without a result (the failure is reported separately).
    Failed,
}

pub(crate) struct ReorderWindow<R> {
    state: Mutex<Window<R>>,
    advanced: Condvar,
    width: usize,
}

struct Window<R> {
    /// Input index of the oldest outcome not handed in yet.
    next: usize,
    /// `pending[k]` is the outcome of index `next + k`, if it was handed in.
    pending: VecDeque<Option<Slot<R>>>,
    /// Results released in input order.
    released: Vec<R>,
    /// Indices of the failed items `next` passed, in order: with them the index of each
    /// released result can be rebuilt without storing it.
    passed_failed: Vec<usize>,
    /// Consumers waiting for `next` to move; each one counts itself in and out.
    waiting: usize,
    stopped: bool,
}

impl<R> ReorderWindow<R> {
    /// A window that lets consumers run at most `width` items ahead of the oldest outstanding
    /// one (at least 1).
    pub(crate) fn new(width: usize, expected: usize) -> Self {
        Self {
            state: Mutex::new(Window {
                next: 0,
                pending: VecDeque::with_capacity(width),
                released: Vec::with_capacity(expected),
                passed_failed: Vec::new(),
                waiting: 0,
                stopped: false,
            }),
            advanced: Condvar::new(),
            width: width.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Window<R>> {
        // Only this module's code runs under the lock, and it does not panic.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Hands in the outcomes of one batch, in increasing index order, emptying `outcomes`.
    pub(crate) fn deposit(&self, outcomes: &mut Vec<(usize, Slot<R>)>) {
        let Some(&(first, _)) = outcomes.first() else {
            return;
        };
        let mut window = self.lock();
        // A `while`, not an `if`: a wake-up says `next` moved, not that it moved far enough for
        // this batch, and wake-ups can be spurious.
        while !window.stopped && first >= window.next + self.width {
            window.waiting += 1;
            window = self
                .advanced
                .wait(window)
                .unwrap_or_else(PoisonError::into_inner);
            window.waiting -= 1;
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
                match window.pending.pop_front() {
                    Some(Some(Slot::Done(result))) => window.released.push(result),
                    _ => window.passed_failed.push(window.next),
                }
                window.next += 1;
            }
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

    /// What the window holds at the end of a run.
    pub(crate) fn into_released(self) -> Released<R> {
        let window = self
            .state
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        let next = window.next;
        let pending = window
            .pending
            .into_iter()
            .enumerate()
            .filter_map(|(k, slot)| match slot {
                Some(Slot::Done(result)) => Some((next + k, result)),
                _ => None,
            })
            .collect();
        Released {
            results: window.released,
            passed_failed: window.passed_failed,
            pending,
        }
    }
}

/// The results a window released in input order, and those still waiting for an earlier item.
pub(crate) struct Released<R> {
    /// Results released in input order, without their indices.
    pub(crate) results: Vec<R>,
    passed_failed: Vec<usize>,
    /// Results still waiting for an earlier item when the run stopped, with their indices.
    pub(crate) pending: Vec<(usize, R)>,
}

impl<R> Released<R> {
    /// How many results the window holds.
    pub(crate) fn len(&self) -> usize {
        self.results.len() + self.pending.len()
    }

    /// Every result with its input index, in input order.
    pub(crate) fn into_indexed(self) -> impl Iterator<Item = (usize, R)> {
        // Released results fill the indices from 0 up that did not fail.
        let mut failed = self.passed_failed.into_iter().peekable();
        let mut index = 0;
        let released = self.results.into_iter().map(move |result| {
            while failed.next_if_eq(&index).is_some() {
                index += 1;
            }
            index += 1;
            (index - 1, result)
        });
        released.chain(self.pending)
    }
}
