//! The source row: read by the first stage's workers themselves, or by producer roles that put into the buffer in front of the first stage.
//!
//! The first stage's workers read the source themselves unless it needs threads of its own:
//! producers were asked for, or a producer delay or an `on_produce` callback is set (they pace
//! or watch the source apart from the work). A source that promises items (its size hint's
//! lower bound) is read a batch per lock. A source that promises nothing (a channel, a socket,
//! `BufRead::lines`) may wait for the run's own output, so every item it gives must be where
//! another thread can take it before it is asked for the next: the workers read it in turns,
//! each putting the items it pulls into the buffer in front of the stage, and a lone worker
//! has a producer thread put them instead.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use pc_buffer::{BoundedBuffer, Buffer};
use pc_roles::{ProduceHook, ProducerRole, Role, RoleError, RoleReport, StopCause};

use super::input::{Numbered, SourceInput, Turns, TurnsInput, close_and_take_rest};
use super::{Downstream, End, Input, InputKind, Launch};
use crate::control::{Closes, Control};
use crate::cpu::{CpuClock, on_cpu_ratio};
use crate::err::{Cause, Place, worker_number};
use crate::leftovers::Returns;
use crate::meter::{Meter, Tally};
use crate::report::RowKind;

/// An `on_produce` callback whatever it keeps of an item: what it keeps waits in a queue
/// between the item's put and its call.
pub(crate) trait ErasedProduce<S>: Send {
    /// Called with each item just before it is put.
    fn keep(&mut self, item: &S);
    /// Called after the put of the oldest item kept: `count` items produced so far.
    fn call(&mut self, count: usize, buffer_len: usize);
}

/// Any [`ProduceHook`] as an [`ErasedProduce`].
pub(crate) struct Kept<P: ProduceHook<S>, S> {
    hook: P,
    kept: VecDeque<P::Kept>,
}

impl<P: ProduceHook<S>, S> Kept<P, S> {
    pub(crate) fn new(hook: P) -> Self {
        Self {
            hook,
            kept: VecDeque::new(),
        }
    }
}

impl<P, S> ErasedProduce<S> for Kept<P, S>
where
    P: ProduceHook<S> + Send,
    P::Kept: Send,
{
    fn keep(&mut self, item: &S) {
        let kept = self.hook.keep(item);
        self.kept.push_back(kept);
    }

    fn call(&mut self, count: usize, buffer_len: usize) {
        if let Some(kept) = self.kept.pop_front() {
            self.hook.call(kept, count, buffer_len);
        }
    }
}

/// How the source is read: set on the chain before its first stage.
pub(crate) struct SourceConfig<'a, S> {
    /// Producer threads asked for.
    pub(crate) producers: Option<usize>,
    pub(crate) delay: Duration,
    /// Items a producer puts at once.
    pub(crate) chunk: Option<usize>,
    pub(crate) hook: Option<Box<dyn ErasedProduce<S> + 'a>>,
}

impl<S> Default for SourceConfig<'_, S> {
    fn default() -> Self {
        Self {
            producers: None,
            delay: Duration::ZERO,
            chunk: None,
            hook: None,
        }
    }
}

/// Launches the source: given its configuration, where its items handed back go, and what
/// reads it.
pub(crate) type SourceLaunch<'a, E, S> = Box<
    dyn FnOnce(&mut Launch<'a, E>, SourceConfig<'a, S>, Arc<Returns<S>>, Downstream<'a, E, S>)
        + Send
        + 'a,
>;

/// The launcher of a source iterator.
pub(crate) fn launcher<'a, E, I>(source: I) -> SourceLaunch<'a, E, I::Item>
where
    E: Send + 'a,
    I: Iterator + Send + 'a,
    I::Item: Send + 'a,
{
    Box::new(move |launch, config, returns, downstream| {
        launch_source(launch, source, config, returns, downstream);
    })
}

fn launch_source<'a, E, I>(
    launch: &mut Launch<'a, E>,
    source: I,
    config: SourceConfig<'a, I::Item>,
    returns: Arc<Returns<I::Item>>,
    downstream: Downstream<'a, E, I::Item>,
) where
    E: Send + 'a,
    I: Iterator + Send + 'a,
    I::Item: Send + 'a,
{
    let pulled = Arc::new(AtomicUsize::new(0));
    let promises = source.size_hint().0 > 0;
    let paced_or_watched =
        config.producers.is_some() || !config.delay.is_zero() || config.hook.is_some();
    let own_threads = paced_or_watched || !promises;
    match downstream {
        // A source that promises nothing, read in turns: a worker waiting on it leaves what it
        // pulled to the others, so it takes a second worker.
        Downstream::Segment(start) if !paced_or_watched && !promises && start.workers > 1 => {
            let meter = Arc::new(Meter::new("source", RowKind::Source, 0, None, false));
            meter.count_in(Arc::clone(&pulled));
            meter.count_out(Arc::clone(&pulled));
            start.meter.count_in(Arc::clone(&pulled));
            launch.meters.push(meter);
            // Single puts and batch gets at the same time: the two-lock layout.
            let buffer = BoundedBuffer::new(start.capacity).expect("the capacity is not zero");
            let turns = Arc::new(TurnsInput::new(
                source,
                buffer,
                pulled,
                Arc::clone(&returns),
                Arc::clone(&launch.control),
            ));
            let closing = Arc::clone(&turns);
            launch.control.on_stop(Closes::Input, move || {
                closing.buffer().close();
            });
            let probe = Arc::clone(&turns);
            start
                .meter
                .watch(move || (probe.buffer().len(), probe.buffer().stats().high_water));
            let (rest, drained) = (Arc::clone(&turns), Arc::clone(&returns));
            launch.finishers.push(Box::new(move || {
                drained.extend(close_and_take_rest(rest.buffer()))
            }));
            let input = Input {
                kind: InputKind::Turns(turns),
                returns,
            };
            (start.run)(launch, input);
        }
        Downstream::Segment(start) if !own_threads => {
            launch.source_read = true;
            let meter = Arc::new(Meter::new("source", RowKind::Source, 0, None, false));
            meter.count_in(Arc::clone(&pulled));
            meter.count_out(Arc::clone(&pulled));
            start.meter.count_in(Arc::clone(&pulled));
            launch.meters.push(meter);
            let control = Arc::clone(&launch.control);
            let input = SourceInput::new(source, pulled, control);
            let input = Input {
                kind: InputKind::Source(Arc::new(input)),
                returns,
            };
            (start.run)(launch, input);
        }
        Downstream::Segment(start) => {
            let producers = config.producers.unwrap_or(1).max(1);
            let chunk = config.chunk.unwrap_or_else(|| start.capacity.clamp(1, 256));
            // One producer putting chunks hands over with one lock for both sides; single
            // puts, or several producers, go faster with a lock each.
            let buffer = if producers == 1 && chunk > 1 && promises && config.delay.is_zero() {
                BoundedBuffer::for_batches(start.capacity)
            } else {
                BoundedBuffer::new(start.capacity)
            };
            let numbered = Arc::new(Numbered::new(buffer.expect("the capacity is not zero")));
            let closing = Arc::clone(&numbered);
            launch.control.on_stop(Closes::Input, move || {
                closing.buffer().close();
            });
            let probe = Arc::clone(&numbered);
            start
                .meter
                .watch(move || (probe.buffer().len(), probe.buffer().stats().high_water));
            let (rest, drained) = (Arc::clone(&numbered), Arc::clone(&returns));
            launch
                .finishers
                .push(Box::new(move || drained.extend(rest.close_and_take_rest())));
            let meter = Arc::new(Meter::new(
                "source",
                RowKind::Source,
                producers,
                None,
                false,
            ));
            meter.count_in(Arc::clone(&pulled));
            meter.count_out(Arc::clone(&pulled));
            start.meter.count_in(Arc::clone(&pulled));
            let threads = Producers {
                source: Arc::new(Mutex::new(Counting {
                    source: source.enumerate(),
                    pulled,
                })),
                buffer: Arc::clone(&numbered),
                returns: Arc::clone(&returns),
                meter: Arc::clone(&meter),
                hook: Arc::new(config.hook.map(Mutex::new)),
                delay: config.delay,
                chunk,
                left: Arc::new(AtomicUsize::new(producers)),
            };
            threads.spawn(launch, producers);
            launch.meters.push(meter);
            let input = Input {
                kind: InputKind::Numbered(numbered),
                returns,
            };
            (start.run)(launch, input);
        }
        // A chain without stages: producers put straight into the output.
        Downstream::End(End::Output {
            buffer,
            returns: results,
            meter: sink,
        }) => {
            let producers = config.producers.unwrap_or(1).max(1);
            let chunk = config
                .chunk
                .unwrap_or_else(|| buffer.capacity().clamp(1, 256));
            let meter = Arc::new(Meter::new(
                "source",
                RowKind::Source,
                producers,
                None,
                false,
            ));
            meter.count_in(Arc::clone(&pulled));
            meter.count_out(Arc::clone(&pulled));
            sink.count_in(Arc::clone(&pulled));
            let threads = Producers {
                source: Arc::new(Mutex::new(Counting {
                    source: source.enumerate(),
                    pulled,
                })),
                buffer,
                returns: results,
                meter: Arc::clone(&meter),
                hook: Arc::new(config.hook.map(Mutex::new)),
                delay: config.delay,
                chunk,
                left: Arc::new(AtomicUsize::new(producers)),
            };
            threads.spawn(launch, producers);
            launch.meters.push(meter);
        }
        Downstream::End(End::Collect { .. }) | Downstream::Fused(_) => {
            unreachable!(
                "a chain without stages is read through its output, and the first stage never fuses"
            )
        }
    }
}

/// The source as producer threads share it: enumerated, counting what was pulled.
struct Counting<I> {
    source: I,
    pulled: Arc<AtomicUsize>,
}

impl<T, I: Iterator<Item = (usize, T)>> Iterator for Counting<I> {
    type Item = (usize, T);

    #[inline]
    fn next(&mut self) -> Option<(usize, T)> {
        let item = self.source.next()?;
        // Published before the item is put, so a report never shows a stage handing on more
        // than the source gave.
        self.pulled.store(item.0 + 1, Ordering::Release);
        Some(item)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.source.size_hint()
    }
}

type SharedHook<'a, S> = Arc<Option<Mutex<Box<dyn ErasedProduce<S> + 'a>>>>;

/// The producer threads of a source.
struct Producers<'a, I, B, S> {
    source: Arc<Mutex<Counting<I>>>,
    buffer: Arc<B>,
    returns: Arc<Returns<S>>,
    meter: Arc<Meter<'a>>,
    hook: SharedHook<'a, S>,
    delay: Duration,
    chunk: usize,
    /// Producers still running: the last one closes the buffer.
    left: Arc<AtomicUsize>,
}

impl<'a, I, B, S> Producers<'a, I, B, S>
where
    I: Iterator<Item = (usize, S)> + Send + 'a,
    B: Buffer<(usize, S), TransportError = std::convert::Infallible> + Send + Sync + 'a,
    S: Send + 'a,
{
    fn spawn<E: Send + 'a>(self, launch: &mut Launch<'a, E>, producers: usize) {
        let this = Arc::new(self);
        for worker in 1..=producers {
            let this = Arc::clone(&this);
            let control = Arc::clone(&launch.control);
            launch.spawn(format!("source-{worker}"), move || {
                this.run(&control, worker);
            });
        }
    }

    fn run<E>(&self, control: &Control<'a, E>, worker: usize) {
        let cpu = CpuClock::start();
        let started = Instant::now();
        let role = ProducerRole::new().delay(self.delay).chunk(self.chunk);
        let stop = control.stop_flag();
        let run = match &*self.hook {
            Some(hook) => {
                role.with_hook(SourceHook(hook))
                    .run_shared(&self.source, &*self.buffer, stop)
            }
            None => role.clone().run_shared(&self.source, &*self.buffer, stop),
        };
        let report = match run {
            Ok(report) => report,
            Err(err) => self.stopped(control, worker, err),
        };
        let running = started.elapsed();
        self.meter.counters.add(&mut Tally {
            busy: report.busy,
            cpu: report.busy.mul_f64(on_cpu_ratio(cpu.used(), report.busy)),
            paced: report.paced,
            waited_output: report.blocked,
            running,
            ..Tally::default()
        });
        // The last producer to finish closes the buffer: the workers drain what is left.
        if self.left.fetch_sub(1, Ordering::AcqRel) == 1 {
            let _ = self.buffer.close();
        }
    }

    /// Keeps what a producer that stopped early hands back, and says why it stopped.
    fn stopped<E>(
        &self,
        control: &Control<'a, E>,
        worker: usize,
        err: RoleError<(usize, S), std::convert::Infallible>,
    ) -> RoleReport {
        self.returns.extend(err.unprocessed);
        match err.cause {
            StopCause::Panicked { role, message } => {
                let (place, index) = match role {
                    Role::OnProduce => (Place::OnProduce, None),
                    // The panic came from pulling the next item.
                    _ => (
                        Place::Source,
                        Some(
                            self.source
                                .lock()
                                .unwrap_or_else(PoisonError::into_inner)
                                .pulled
                                .load(Ordering::Acquire),
                        ),
                    ),
                };
                control.fail(Cause::Panicked {
                    stage: "source".to_owned(),
                    place,
                    worker: worker_number(worker),
                    index,
                    message,
                });
            }
            StopCause::Transport(never) => match never {},
            // The engine keeps its buffers inside the run, so no consumer side is ever dropped
            // under a producer; a closed buffer means the run is stopping.
            StopCause::Closed | StopCause::NoConsumer | StopCause::Stopped | StopCause::Halted => {}
        }
        err.report
    }
}

/// The source's `on_produce`, shared by all producers. Producers put under the source's
/// lock, so an item's source index plus one is the number of items produced so far.
struct SourceHook<'h, 'a, S>(&'h Mutex<Box<dyn ErasedProduce<S> + 'a>>);

impl<S> Clone for SourceHook<'_, '_, S> {
    fn clone(&self) -> Self {
        Self(self.0)
    }
}

impl<S> ProduceHook<(usize, S)> for SourceHook<'_, '_, S> {
    const ACTIVE: bool = true;
    type Kept = usize;

    fn keep(&mut self, (index, item): &(usize, S)) -> usize {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .keep(item);
        *index
    }

    fn call(&mut self, index: usize, _: usize, buffer_len: usize) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .call(index + 1, buffer_len);
    }
}
