//! What a segment's workers read, and each worker's view of it as a [`Buffer`]: the source pulled by the workers themselves, bare items numbered in source order, or items with their indices.
//!
//! A view tells the worker's sink the key and source index of each outcome, in the order the
//! role took the items. Keys are the order in which the segment's workers took their inputs,
//! which an ordered segment releases in (see `reorder`); they are the buffer's own numbers
//! ([`BoundedBuffer::get_batch_numbered`]), so a key is never carried through a buffer.
//!
//! Where the source feeds the first segment, a key is the source index itself: the source is
//! read in order under one lock, and producer threads put into the buffer under that lock, so
//! the buffer's `n`-th item is the source's `n`-th. The buffer then carries bare items, which
//! halves the bytes a `u64` hand-over moves between cores and lets a batch swap allocations
//! with the buffer.

use std::cell::{Cell, RefCell};
use std::convert::Infallible;
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, TryLockError};
use std::time::{Duration, Instant};

use pc_buffer::{
    BoundedBuffer, Buffer, BufferGetError, BufferPutError, BufferStats, GetTimeoutError,
    TryGetError,
};
use pc_roles::catch_panic as catch;

use crate::control::Control;
use crate::err::{Cause, Place, worker_number};
use crate::leftovers::Returns;

/// A worker's view of its segment's input.
pub(crate) trait View<T>: Buffer<T, TransportError = Infallible> {
    /// Whether the keys of the items taken are their source indices.
    const KEYS_ARE_INDICES: bool;

    /// The keys of the batch taken last: consecutive, in the order the role gets the items.
    fn keys(&self) -> Range<usize>;

    /// The source index of the item at `position` in the batch taken last.
    fn index(&self, position: usize) -> usize;

    /// The time the view's gets waited since this was last asked.
    fn take_waited(&self) -> Duration;

    /// Time spent reading the source, for the source's row (only a view of the source reads it).
    fn source_busy(&self) -> Duration {
        Duration::ZERO
    }
}

/// The keys of the batch taken last, and the waits so far, shared by the views.
#[derive(Default)]
struct Numbers {
    keys: Cell<Range<usize>>,
    waited: Cell<Duration>,
}

impl Numbers {
    fn keys(&self) -> Range<usize> {
        let keys = self.keys.take();
        self.keys.set(keys.clone());
        keys
    }

    fn took(&self, keys: Range<usize>, waited: Duration) {
        self.keys.set(keys);
        self.waited.set(self.waited.get() + waited);
    }
}

/// Refusals shared by the views: nothing is put through a worker's view.
macro_rules! refuse_puts {
    () => {
        fn put(&self, item: T) -> Result<(), BufferPutError<T, Infallible>> {
            Err(BufferPutError::Closed(item))
        }

        fn put_timeout(&self, item: T, _: Duration) -> Result<(), BufferPutError<T, Infallible>> {
            Err(BufferPutError::Closed(item))
        }

        fn get(&self) -> Result<T, BufferGetError<Infallible>> {
            let mut one = Vec::with_capacity(1);
            self.get_batch_into(&mut one, 1)?;
            one.pop().ok_or(BufferGetError::Closed)
        }

        fn get_timeout(&self, _: Duration) -> Result<T, BufferGetError<Infallible>> {
            self.get()
        }

        #[inline]
        fn get_batch_into(
            &self,
            out: &mut Vec<T>,
            max: usize,
        ) -> Result<usize, BufferGetError<Infallible>> {
            self.get_batch_into_waited(out, max, &mut Duration::default())
        }
    };
}

/// The view methods of a view whose keys are the source indices of consecutive items.
macro_rules! keys_are_indices {
    () => {
        const KEYS_ARE_INDICES: bool = true;

        fn keys(&self) -> Range<usize> {
            self.numbers.keys()
        }

        #[inline]
        fn index(&self, position: usize) -> usize {
            self.numbers.keys().start + position
        }

        fn take_waited(&self) -> Duration {
            self.numbers.waited.take()
        }
    };
}

/// The rest of a view's [`Buffer`] methods, answered by the buffer it takes from.
macro_rules! the_rest_from {
    ($self:ident . $($buffer:tt)+) => {
        fn close(&$self) -> Result<(), Infallible> {
            $self.$($buffer)+.close();
            Ok(())
        }

        fn is_closed(&$self) -> bool {
            $self.$($buffer)+.is_closed()
        }

        fn len(&$self) -> usize {
            $self.$($buffer)+.len()
        }

        fn capacity(&$self) -> usize {
            $self.$($buffer)+.capacity()
        }

        fn stats(&$self) -> BufferStats {
            $self.$($buffer)+.stats()
        }
    };
}

// ---------------------------------------------------------------------------------------------
// The source, read by the workers.

/// The source as the first segment's workers read it: each pull takes the source's lock and
/// reads a batch. Behind a trait so that a segment's code does not depend on the iterator's
/// type.
pub(crate) trait Pull<T>: Send + Sync {
    /// Appends up to `max` items (at least 1) to `out`; returns their source indices, or
    /// `None` once the source is done or the run stopped. `waited` grows by the time spent
    /// waiting for another worker's pull; `busy` by the time spent reading the source.
    fn pull(
        &self,
        out: &mut Vec<T>,
        max: usize,
        worker: usize,
        waited: &mut Duration,
        busy: &mut Duration,
    ) -> Option<Range<usize>>;
}

/// The source iterator and how far it has been read.
struct Reading<I> {
    source: I,
    next: usize,
    done: bool,
}

/// The source read by the workers of the first segment.
pub(crate) struct SourceInput<'a, I, E> {
    reading: Mutex<Reading<I>>,
    /// Items read so far: the source row's output and the first stage's input.
    pulled: Arc<AtomicUsize>,
    control: Arc<Control<'a, E>>,
}

impl<'a, I, E> SourceInput<'a, I, E> {
    pub(crate) fn new(source: I, pulled: Arc<AtomicUsize>, control: Arc<Control<'a, E>>) -> Self {
        Self {
            reading: Mutex::new(Reading {
                source,
                next: 0,
                done: false,
            }),
            pulled,
            control,
        }
    }

    /// Takes the source's lock, counting the time another worker held it as waiting.
    fn lock(&self, waited: &mut Duration) -> MutexGuard<'_, Reading<I>> {
        match self.reading.try_lock() {
            Ok(reading) => reading,
            // A panic in the source is caught under the lock, so it is never poisoned.
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => {
                let started = Instant::now();
                let reading = self.reading.lock().unwrap_or_else(PoisonError::into_inner);
                *waited += started.elapsed();
                reading
            }
        }
    }
}

impl<I, E> Pull<I::Item> for SourceInput<'_, I, E>
where
    I: Iterator + Send,
    I::Item: Send,
    E: Send,
{
    fn pull(
        &self,
        out: &mut Vec<I::Item>,
        max: usize,
        worker: usize,
        waited: &mut Duration,
        busy: &mut Duration,
    ) -> Option<Range<usize>> {
        if self.control.stopped() {
            return None;
        }
        let mut reading = self.lock(waited);
        if reading.done || self.control.stopped() {
            return None;
        }
        let started = Instant::now();
        let before = out.len();
        let reading = &mut *reading;
        let source = &mut reading.source;
        let read = catch(|| {
            // Only the first pull of a batch may wait: after it, read ahead only as far as the
            // source promises, so a source fed by the run's own output is never waited on while
            // this worker holds items it depends on.
            let Some(first) = source.next() else {
                return true;
            };
            out.push(first);
            loop {
                let want = (max - (out.len() - before)).min(source.size_hint().0);
                if want == 0 {
                    return false;
                }
                let had = out.len();
                out.extend(source.by_ref().take(want));
                if out.len() - had < want {
                    // The source broke its promise: it is done.
                    return true;
                }
            }
        });
        let first = reading.next;
        reading.next += out.len() - before;
        match read {
            Ok(exhausted) => reading.done = exhausted,
            Err(message) => {
                reading.done = true;
                self.control.fail(Cause::Panicked {
                    stage: "source".to_owned(),
                    place: Place::Source,
                    worker: worker_number(worker),
                    index: Some(reading.next),
                    message,
                });
            }
        }
        // Published before the items leave this call, so a report never shows a stage
        // handing on more than the source gave.
        self.pulled.store(reading.next, Ordering::Release);
        *busy += started.elapsed();
        (reading.next > first).then_some(first..reading.next)
    }
}

/// One worker's view of the source.
pub(crate) struct SourceView<'v, T> {
    source: &'v dyn Pull<T>,
    worker: usize,
    numbers: Numbers,
    busy: Cell<Duration>,
}

impl<'v, T> SourceView<'v, T> {
    pub(crate) fn new(source: &'v dyn Pull<T>, worker: usize) -> Self {
        Self {
            source,
            worker,
            numbers: Numbers::default(),
            busy: Cell::new(Duration::ZERO),
        }
    }
}

impl<T> Buffer<T> for SourceView<'_, T> {
    type TransportError = Infallible;

    refuse_puts!();

    fn get_batch_into_waited(
        &self,
        out: &mut Vec<T>,
        max: usize,
        waited: &mut Duration,
    ) -> Result<usize, BufferGetError<Infallible>> {
        let (mut wait, mut busy) = (Duration::ZERO, self.busy.get());
        let pulled = self
            .source
            .pull(out, max, self.worker, &mut wait, &mut busy);
        self.busy.set(busy);
        *waited += wait;
        let numbers = pulled.ok_or(BufferGetError::Closed)?;
        let count = numbers.len();
        self.numbers.took(numbers, wait);
        Ok(count)
    }

    fn close(&self) -> Result<(), Infallible> {
        Ok(())
    }

    fn is_closed(&self) -> bool {
        false
    }

    /// Nothing waits in front of the workers: the source is read on demand.
    fn len(&self) -> usize {
        0
    }

    fn capacity(&self) -> usize {
        usize::MAX
    }

    fn stats(&self) -> BufferStats {
        BufferStats::default()
    }
}

impl<T> View<T> for SourceView<'_, T> {
    keys_are_indices!();

    fn source_busy(&self) -> Duration {
        self.busy.get()
    }
}

// ---------------------------------------------------------------------------------------------
// The source read in turns.

/// How long a worker waits for another worker's turn at the source to end before it takes the
/// items of that turn: past it, the other worker is taken to be waiting on the source (for the
/// run's own output, say), and for the rest of that turn this one takes items as they come.
const TURN_PATIENCE: Duration = Duration::from_micros(500);

/// Who waits for the source's lock to be released, and how often it was.
#[derive(Default)]
struct Gate {
    released: u64,
    waiting: usize,
}

/// The source read in turns by the first segment's workers, for a source that promises no
/// item ahead. A worker that finds the buffer empty takes the source's lock and puts each item
/// it pulls into the buffer before it asks for the next, so that while it waits on the source
/// the items it pulled are there for the other workers; when its turn ends it takes them
/// itself, so an item is mostly made and dropped by one thread. Items are put under the lock in
/// source order, so the buffer's numbers are the source indices. Behind a trait so that a
/// segment's code does not depend on the iterator's type.
pub(crate) trait Turns<T>: Send + Sync {
    /// The buffer the turns put into.
    fn buffer(&self) -> &BoundedBuffer<T>;

    /// Appends up to `max` items to `out` and returns their numbers (source indices), taking a
    /// turn of up to `max` items at the source when the buffer is empty; `None` once the source
    /// is done and drained or the run stopped. `eager` is the release of the source's
    /// lock during which this worker found its holder waiting on the source. Of `times`, the
    /// first grows by the time spent reading the source, the second by the time spent waiting.
    fn take(
        &self,
        out: &mut Vec<T>,
        max: usize,
        worker: usize,
        eager: &Cell<Option<u64>>,
        times: (&mut Duration, &mut Duration),
    ) -> Option<Range<usize>>;
}

/// The source read in turns (see [`Turns`]).
pub(crate) struct TurnsInput<'a, I: Iterator, E> {
    reading: Mutex<Reading<I>>,
    gate: Mutex<Gate>,
    released: Condvar,
    buffer: BoundedBuffer<I::Item>,
    /// Items read so far: the source row's output and the first stage's input.
    pulled: Arc<AtomicUsize>,
    /// Where an item pulled as the run stops goes.
    returns: Arc<Returns<I::Item>>,
    control: Arc<Control<'a, E>>,
}

impl<'a, I: Iterator, E> TurnsInput<'a, I, E> {
    pub(crate) fn new(
        source: I,
        buffer: BoundedBuffer<I::Item>,
        pulled: Arc<AtomicUsize>,
        returns: Arc<Returns<I::Item>>,
        control: Arc<Control<'a, E>>,
    ) -> Self {
        Self {
            reading: Mutex::new(Reading {
                source,
                next: 0,
                done: false,
            }),
            gate: Mutex::new(Gate::default()),
            released: Condvar::new(),
            buffer,
            pulled,
            returns,
            control,
        }
    }

    fn gate(&self) -> MutexGuard<'_, Gate> {
        self.gate.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Releases the source's lock and wakes the workers waiting for that.
    fn release(&self, reading: MutexGuard<'_, Reading<I>>) {
        drop(reading);
        let mut gate = self.gate();
        gate.released += 1;
        if gate.waiting > 0 {
            drop(gate);
            self.released.notify_all();
        }
    }

    /// Waits until the source's lock has been released since `release` or `TURN_PATIENCE`
    /// passed; `false` if it was not released.
    fn wait_for_release(&self, release: u64, waited: &mut Duration) -> bool {
        let started = Instant::now();
        let mut gate = self.gate();
        gate.waiting += 1;
        while gate.released == release && !self.control.stopped() {
            let left = TURN_PATIENCE.saturating_sub(started.elapsed());
            if left.is_zero() {
                break;
            }
            gate = self
                .released
                .wait_timeout(gate, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        gate.waiting -= 1;
        let released = gate.released != release;
        drop(gate);
        *waited += started.elapsed();
        released
    }

    /// One turn at the source: pulls up to `turn` items (fewer once the buffer is full or the
    /// run stops), putting each before pulling the next.
    fn turn(&self, reading: &mut Reading<I>, turn: usize, worker: usize) {
        // Only the worker holding the source puts: the room it sees now can only grow, so every
        // put below finds room, and no pulled item is ever held while the next is asked for.
        let room = self.buffer.capacity().saturating_sub(self.buffer.len());
        let mut put = 0;
        while put < turn.min(room) && !self.control.stopped() {
            let source = &mut reading.source;
            match catch(|| source.next()) {
                Ok(Some(item)) => {
                    let index = reading.next;
                    reading.next += 1;
                    // Published before the item is put, so a report never shows a stage
                    // handing on more than the source gave.
                    self.pulled.store(reading.next, Ordering::Release);
                    if let Err(refused) = self.buffer.try_put(item) {
                        // Only a stopping run closes the buffer while the source is read.
                        self.returns.extend([(index, refused.into_inner())]);
                        return;
                    }
                    put += 1;
                }
                Ok(None) => {
                    reading.done = true;
                    self.buffer.close();
                    return;
                }
                Err(message) => {
                    reading.done = true;
                    self.buffer.close();
                    self.control.fail(Cause::Panicked {
                        stage: "source".to_owned(),
                        place: Place::Source,
                        worker: worker_number(worker),
                        index: Some(reading.next),
                        message,
                    });
                    return;
                }
            }
        }
    }
}

impl<I, E> Turns<I::Item> for TurnsInput<'_, I, E>
where
    I: Iterator + Send,
    I::Item: Send,
    E: Send,
{
    fn buffer(&self) -> &BoundedBuffer<I::Item> {
        &self.buffer
    }

    fn take(
        &self,
        out: &mut Vec<I::Item>,
        max: usize,
        worker: usize,
        eager: &Cell<Option<u64>>,
        (busy, waited): (&mut Duration, &mut Duration),
    ) -> Option<Range<usize>> {
        loop {
            if self.control.stopped() {
                return None;
            }
            let release = self.gate().released;
            let reading = match self.reading.try_lock() {
                Ok(reading) => Some(reading),
                // A panic in the source is caught under the lock, so it is never poisoned.
                Err(TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
                Err(TryLockError::WouldBlock) => None,
            };
            if let Some(mut reading) = reading {
                // Holding the source, nobody else puts: what is in the buffer stays there for
                // this worker unless another takes it.
                match self.buffer.try_get_batch_numbered(out, max) {
                    Ok(numbers) => {
                        self.release(reading);
                        return Some(numbers);
                    }
                    Err(TryGetError::Closed) => {
                        self.release(reading);
                        return None;
                    }
                    Err(TryGetError::Empty) => {}
                }
                let started = Instant::now();
                self.turn(&mut reading, max, worker);
                *busy += started.elapsed();
                self.release(reading);
                continue;
            }
            // Another worker's turn: wait for it to end, unless it already waits on the source.
            if eager.get() != Some(release) {
                if self.wait_for_release(release, waited) {
                    continue;
                }
                eager.set(Some(release));
            }
            let deadline = Instant::now() + TURN_PATIENCE;
            match self
                .buffer
                .get_batch_numbered_deadline(out, max, deadline, waited)
            {
                Ok(numbers) => return Some(numbers),
                Err(GetTimeoutError::Closed) => return None,
                Err(GetTimeoutError::Timeout) => {}
            }
        }
    }
}

/// One worker's view of the source read in turns.
pub(crate) struct TurnView<'v, T> {
    turns: &'v dyn Turns<T>,
    worker: usize,
    eager: Cell<Option<u64>>,
    numbers: Numbers,
    busy: Cell<Duration>,
}

impl<'v, T> TurnView<'v, T> {
    pub(crate) fn new(turns: &'v dyn Turns<T>, worker: usize) -> Self {
        Self {
            turns,
            worker,
            eager: Cell::new(None),
            numbers: Numbers::default(),
            busy: Cell::new(Duration::ZERO),
        }
    }
}

impl<T> Buffer<T> for TurnView<'_, T> {
    type TransportError = Infallible;

    refuse_puts!();

    fn get_batch_into_waited(
        &self,
        out: &mut Vec<T>,
        max: usize,
        waited: &mut Duration,
    ) -> Result<usize, BufferGetError<Infallible>> {
        let (mut wait, mut busy) = (Duration::ZERO, self.busy.get());
        let taken = self
            .turns
            .take(out, max, self.worker, &self.eager, (&mut busy, &mut wait));
        self.busy.set(busy);
        *waited += wait;
        let numbers = taken.ok_or(BufferGetError::Closed)?;
        let count = numbers.len();
        self.numbers.took(numbers, wait);
        Ok(count)
    }

    the_rest_from!(self.turns.buffer());
}

impl<T> View<T> for TurnView<'_, T> {
    keys_are_indices!();

    fn source_busy(&self) -> Duration {
        self.busy.get()
    }
}

// ---------------------------------------------------------------------------------------------
// Bare items put by producer threads.

/// A [`BoundedBuffer`] of bare items behind the [`Buffer`] of `(index, item)` pairs the
/// producer roles put. Every item put must carry the index that equals its position in put
/// order: producers pull and put under the source's lock, and a put that fails puts nothing
/// after the items it delivered, so the two never drift apart.
pub(crate) struct Numbered<T> {
    buffer: BoundedBuffer<T>,
    /// The producers' items without their indices, reused for every batch put. Producers put
    /// while holding the source's lock, so this lock is never contended.
    stripped: Mutex<Vec<T>>,
}

impl<T> Numbered<T> {
    pub(crate) fn new(buffer: BoundedBuffer<T>) -> Self {
        Self {
            buffer,
            stripped: Mutex::new(Vec::new()),
        }
    }

    pub(crate) fn buffer(&self) -> &BoundedBuffer<T> {
        &self.buffer
    }

    /// Closes the buffer and takes what is left in it, with the source indices.
    pub(crate) fn close_and_take_rest(&self) -> Vec<(usize, T)> {
        close_and_take_rest(&self.buffer)
    }
}

/// Closes a buffer of bare items numbered in source order and takes what is left in it, with
/// the source indices.
pub(crate) fn close_and_take_rest<T>(buffer: &BoundedBuffer<T>) -> Vec<(usize, T)> {
    buffer.close();
    let (mut rest, mut items) = (Vec::new(), Vec::new());
    // Closed: each call returns at once, with items or, once drained, with an error.
    while let Ok(numbers) = buffer.get_batch_numbered(&mut items, 4096) {
        rest.extend(numbers.zip(items.drain(..)));
    }
    rest
}

impl<T> Buffer<(usize, T)> for Numbered<T> {
    type TransportError = Infallible;

    fn put(&self, item: (usize, T)) -> Result<(), BufferPutError<(usize, T), Infallible>> {
        self.put_waited(item, &mut Duration::default())
    }

    fn put_waited(
        &self,
        (index, item): (usize, T),
        waited: &mut Duration,
    ) -> Result<(), BufferPutError<(usize, T), Infallible>> {
        Buffer::put_waited(&self.buffer, item, waited).map_err(|err| err.map(|item| (index, item)))
    }

    fn put_timeout(
        &self,
        (index, item): (usize, T),
        timeout: Duration,
    ) -> Result<(), BufferPutError<(usize, T), Infallible>> {
        Buffer::put_timeout(&self.buffer, item, timeout)
            .map_err(|err| err.map(|item| (index, item)))
    }

    fn put_batch(
        &self,
        mut items: Vec<(usize, T)>,
    ) -> Result<(), BufferPutError<Vec<(usize, T)>, Infallible>> {
        self.put_batch_from(&mut items)
    }

    fn put_batch_from(
        &self,
        items: &mut Vec<(usize, T)>,
    ) -> Result<(), BufferPutError<Vec<(usize, T)>, Infallible>> {
        self.put_batch_from_waited(items, &mut Duration::default())
    }

    fn put_batch_from_waited(
        &self,
        items: &mut Vec<(usize, T)>,
        waited: &mut Duration,
    ) -> Result<(), BufferPutError<Vec<(usize, T)>, Infallible>> {
        let Some(&(first, _)) = items.first() else {
            return Ok(());
        };
        let count = items.len();
        // A producer's batch is a run of consecutive indices: it pulled them in one go.
        debug_assert!(items.iter().zip(first..).all(|(&(index, _), n)| index == n));
        let mut stripped = self.stripped.lock().unwrap_or_else(PoisonError::into_inner);
        stripped.extend(items.drain(..).map(|(_, item)| item));
        Buffer::put_batch_from_waited(&self.buffer, &mut stripped, waited).map_err(|err| {
            // The items not delivered are the last ones of the batch.
            err.map(|rest| (first + count - rest.len()..).zip(rest).collect())
        })
    }

    fn get(&self) -> Result<(usize, T), BufferGetError<Infallible>> {
        self.buffer.get_numbered().map_err(Into::into)
    }

    fn get_timeout(&self, timeout: Duration) -> Result<(usize, T), BufferGetError<Infallible>> {
        match Instant::now().checked_add(timeout) {
            Some(deadline) => self
                .buffer
                .get_numbered_deadline(deadline)
                .map_err(Into::into),
            // A deadline beyond what the clock can say: no deadline.
            None => self.get(),
        }
    }

    the_rest_from!(self.buffer);
}

/// One worker's view of a [`Numbered`] buffer: it takes bare items and keeps their numbers,
/// which are their source indices.
pub(crate) struct Taker<'v, T> {
    numbered: &'v Numbered<T>,
    numbers: Numbers,
}

impl<'v, T> Taker<'v, T> {
    pub(crate) fn new(numbered: &'v Numbered<T>) -> Self {
        Self {
            numbered,
            numbers: Numbers::default(),
        }
    }
}

impl<T> Buffer<T> for Taker<'_, T> {
    type TransportError = Infallible;

    refuse_puts!();

    #[inline]
    fn get_batch_into_waited(
        &self,
        out: &mut Vec<T>,
        max: usize,
        waited: &mut Duration,
    ) -> Result<usize, BufferGetError<Infallible>> {
        let before = *waited;
        let buffer = &self.numbered.buffer;
        let numbers = buffer.get_batch_numbered_waited(out, max, waited)?;
        let count = numbers.len();
        self.numbers.took(numbers, *waited - before);
        Ok(count)
    }

    the_rest_from!(self.numbered.buffer);
}

impl<T> View<T> for Taker<'_, T> {
    keys_are_indices!();
}

// ---------------------------------------------------------------------------------------------
// Items with their indices, from the segment before.

/// One worker's view of a buffer of `(index, item)` pairs: it takes the pairs, hands the role
/// the bare items, and keeps the indices of the batch aside.
pub(crate) struct PairsView<'v, T> {
    buffer: &'v BoundedBuffer<(usize, T)>,
    /// The buffer's numbers of the batch taken last: the keys.
    numbers: Numbers,
    /// The source indices of the batch taken last.
    indices: RefCell<Vec<usize>>,
    pairs: RefCell<Vec<(usize, T)>>,
}

impl<'v, T> PairsView<'v, T> {
    pub(crate) fn new(buffer: &'v BoundedBuffer<(usize, T)>) -> Self {
        Self {
            buffer,
            numbers: Numbers::default(),
            indices: RefCell::new(Vec::new()),
            pairs: RefCell::new(Vec::new()),
        }
    }
}

impl<T> Buffer<T> for PairsView<'_, T> {
    type TransportError = Infallible;

    refuse_puts!();

    fn get_batch_into_waited(
        &self,
        out: &mut Vec<T>,
        max: usize,
        waited: &mut Duration,
    ) -> Result<usize, BufferGetError<Infallible>> {
        let before = *waited;
        let mut pairs = self.pairs.borrow_mut();
        let numbers = self
            .buffer
            .get_batch_numbered_waited(&mut pairs, max, waited)?;
        let count = numbers.len();
        let mut indices = self.indices.borrow_mut();
        indices.clear();
        for (index, item) in pairs.drain(..) {
            indices.push(index);
            out.push(item);
        }
        self.numbers.took(numbers, *waited - before);
        Ok(count)
    }

    the_rest_from!(self.buffer);
}

impl<T> View<T> for PairsView<'_, T> {
    const KEYS_ARE_INDICES: bool = false;

    fn keys(&self) -> Range<usize> {
        self.numbers.keys()
    }

    fn index(&self, position: usize) -> usize {
        self.indices
            .borrow()
            .get(position)
            .copied()
            .unwrap_or_default()
    }

    fn take_waited(&self) -> Duration {
        self.numbers.waited.take()
    }
}
