//! A stage's launcher: it builds the stage's outlet from what follows it, then either starts a segment of workers or fuses into the workers of the stage before it.

use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, OnceLock};

use pc_buffer::BoundedBuffer;
use pc_roles::ConsumeHook;

use super::outlet::{InOrder, Next, OutletPlan, Window};
use super::worker::{FusedStage, StageShared, run_worker};
use super::{
    Downstream, End, Input, InputKind, Launch, Launcher, MakeLeftovers, SegmentStart, TailFactory,
};
use crate::control::Closes;
use crate::leftovers::Returns;
use crate::meter::Meter;
use crate::reorder::ReorderWindow;
use crate::report::RowKind;
use crate::stage::{ErrorHook, Shape, Stage};

/// How a stage is added to the launchers before it.
pub(crate) struct Link<'a, E, T, X> {
    pub(crate) upstream: Launcher<'a, E, T>,
    /// The shape of the stage before, if there is one (the source is not).
    pub(crate) before: Option<Shape>,
    /// Turns the work's error into the run's.
    pub(crate) convert: fn(X) -> E,
    /// How the items handed back at the stage's input become leftovers; `None` for the first
    /// stage, whose leftovers are the source's items.
    pub(crate) leftovers: Option<MakeLeftovers<T>>,
}

/// The launcher of `stage` running `work` after `link.upstream`.
pub(crate) fn launcher<'a, E, T, R, X, W, C, F>(
    link: Link<'a, E, T, X>,
    stage: Stage<C, F>,
    work: W,
) -> Launcher<'a, E, R>
where
    E: Send + 'a,
    T: Send + 'a,
    R: Send + 'a,
    X: Send + 'a,
    W: Fn(T) -> Result<R, X> + Send + Sync + 'a,
    C: ConsumeHook<R> + Send + 'a,
    F: ErrorHook<X> + Send + 'a,
{
    Box::new(
        move |launch: &mut Launch<'a, E>, downstream: Downstream<'a, E, R>| {
            let Link {
                upstream,
                before,
                convert,
                leftovers,
            } = link;
            let fused = launch.crowded
                && stage.fuse
                && before.is_some_and(|before| stage.shape().fuses_after(before));
            let capacity = (!fused).then_some(stage.capacity);
            let meter = Arc::new(Meter::new(
                &stage.name,
                RowKind::Stage,
                stage.workers,
                capacity,
                fused,
            ));
            let width = stage.reorders().then_some(stage.capacity);
            let outlet = outlet_for(launch, downstream, width);
            let workers = stage.workers;
            let shared = Arc::new(StageShared {
                name: stage.name.clone(),
                policy: stage.policy,
                delay: stage.delay,
                batch: stage.batch_size(),
                source_batch: stage.source_batch_size(),
                work,
                convert,
                on_consume: Mutex::new(stage.on_consume),
                consumed: AtomicUsize::new(0),
                on_error: Mutex::new(stage.on_error),
                meter: Arc::clone(&meter),
                control: Arc::clone(&launch.control),
                source: OnceLock::new(),
                live: launch.live,
            });
            if fused {
                let collects = outlet.collects();
                let next_meter = Arc::clone(outlet.meter());
                let make = move |worker| {
                    let next = outlet.make(&shared.meter, worker);
                    Box::new(FusedStage {
                        shared: Arc::clone(&shared),
                        worker,
                        next,
                        next_meter: Arc::clone(&next_meter),
                        outputs: super::Batch::new(),
                        busy: std::time::Duration::ZERO,
                        kept: super::worker::Kept::default(),
                    }) as Box<dyn super::Tail<T> + 'a>
                };
                let factory = TailFactory {
                    meter: Arc::clone(&meter),
                    collects,
                    make: Arc::new(make),
                };
                upstream(launch, Downstream::Fused(factory));
            } else {
                let start = SegmentStart {
                    capacity: stage.capacity,
                    workers,
                    meter: Arc::clone(&meter),
                    leftovers,
                    run: Box::new(move |launch: &mut Launch<'a, E>, input: Input<'a, T>| {
                        spawn_segment(launch, shared, input, outlet, workers);
                    }),
                };
                upstream(launch, Downstream::Segment(start));
            }
            launch.meters.push(meter);
        },
    )
}

/// Starts `workers` workers of a segment whose first stage is `shared`.
fn spawn_segment<'a, E, T, R, X, W, C, F>(
    launch: &mut Launch<'a, E>,
    shared: Arc<StageShared<'a, E, W, C, F, X>>,
    input: Input<'a, T>,
    outlet: OutletPlan<'a, R>,
    workers: usize,
) where
    E: Send + 'a,
    T: Send + 'a,
    R: Send + 'a,
    X: Send + 'a,
    W: Fn(T) -> Result<R, X> + Send + Sync + 'a,
    C: ConsumeHook<R> + Send + 'a,
    F: ErrorHook<X> + Send + 'a,
{
    // The source's row is the first: a worker reading the source accounts its time there.
    if let Some(source) = launch.meters.first() {
        let _ = shared.source.set(Arc::clone(source));
    }
    let left = Arc::new(AtomicUsize::new(workers));
    let next_meter = Arc::clone(outlet.meter());
    let collects = outlet.collects();
    for worker in 1..=workers {
        let tail = outlet.make(&shared.meter, worker);
        let (shared, input, left) = (Arc::clone(&shared), input.clone(), Arc::clone(&left));
        let next_meter = Arc::clone(&next_meter);
        let name = format!("{}-{worker}", shared.name);
        let out = (tail, next_meter);
        if worker == 1 && collects {
            launch.caller = Some(Box::new(
                move |between: &mut dyn FnMut() -> std::time::Duration| {
                    let out = (out.0, &*out.1);
                    run_worker(&shared, &input, worker, out, &left, between);
                },
            ));
        } else {
            launch.spawn(name, move || {
                run_worker(&shared, &input, worker, (out.0, &out.1), &left, &mut || {
                    std::time::Duration::ZERO
                });
            });
        }
    }
}

/// Builds the outlet of a stage whose outputs go `downstream`. With a `width`, they leave in
/// the order the stage's workers took their inputs, through a window that holds at most
/// that many outputs waiting for an earlier one.
fn outlet_for<'a, E, R>(
    launch: &mut Launch<'a, E>,
    downstream: Downstream<'a, E, R>,
    width: Option<usize>,
) -> OutletPlan<'a, R>
where
    E: Send + 'a,
    R: Send + 'a,
{
    match downstream {
        Downstream::Fused(factory) => OutletPlan::Fused(factory),
        Downstream::End(End::Collect { collector, meter }) => {
            OutletPlan::Collect { collector, meter }
        }
        Downstream::End(End::Output {
            buffer,
            returns,
            meter,
        }) => OutletPlan::Buffer(Arc::new(next(launch, buffer, returns, meter, width))),
        Downstream::Segment(start) => {
            let buffer = BoundedBuffer::new(start.capacity).expect("the capacity is not zero");
            let buffer = Arc::new(buffer);
            let returns = Arc::new(Returns::new());
            let closing = Arc::clone(&buffer);
            launch.control.on_stop(Closes::Input, move || {
                closing.close();
            });
            let probe = Arc::clone(&buffer);
            start
                .meter
                .watch(move || (probe.len(), probe.stats().high_water));
            if let Some(leftovers) = start.leftovers {
                let (rest, handed_back) = (Arc::clone(&buffer), Arc::clone(&returns));
                let name = start.meter.name.clone();
                let drain = move || {
                    let mut items = handed_back.take();
                    rest.close();
                    items.extend(rest.try_iter());
                    leftovers(&name, items)
                };
                launch
                    .drainers
                    .push((Arc::clone(&start.meter), Box::new(drain)));
            }
            let next = next(
                launch,
                Arc::clone(&buffer),
                Arc::clone(&returns),
                Arc::clone(&start.meter),
                width,
            );
            let input = Input {
                kind: InputKind::Pairs(buffer),
                returns,
            };
            (start.run)(launch, input);
            OutletPlan::Buffer(Arc::new(next))
        }
    }
}

/// A buffer to put into, through a reorder window of `width` if there is one.
fn next<'a, E, R: Send + 'a>(
    launch: &mut Launch<'a, E>,
    buffer: Arc<BoundedBuffer<(usize, R)>>,
    returns: Arc<Returns<R>>,
    meter: Arc<Meter<'a>>,
    width: Option<usize>,
) -> Next<'a, R> {
    let window = width.map(|width| {
        let out = InOrder::new(Arc::clone(&buffer), Arc::clone(&returns));
        let window: Arc<Window<'a, R>> = Arc::new(ReorderWindow::new(width, out));
        let stopping = Arc::clone(&window);
        launch
            .control
            .on_stop(Closes::Window, move || stopping.stop());
        let (pending, handed_back) = (Arc::clone(&window), Arc::clone(&returns));
        launch.finishers.push(Box::new(move || {
            handed_back.extend(pending.take_pending().into_iter().map(|(_, item)| item));
        }));
        window
    });
    Next {
        buffer,
        returns,
        meter,
        window,
    }
}
