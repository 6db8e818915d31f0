//! [`PipelineStats`]: what a run did, where its time went, and which side held the other up.

use std::fmt;
use std::sync::OnceLock;
use std::thread;
use std::time::Duration;

use pc_roles::RoleReport;

/// Which side of a run held the other up, judged from how long each side waited on the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bottleneck {
    /// Consumers waited on an empty buffer: producing is the slow side. More consumers would
    /// not help.
    ProducerBound,
    /// Producers waited on a full buffer: consuming is the slow side. Faster work would help,
    /// and more consumers where [`PipelineStats::more_consumers_help`] says so.
    ConsumerBound,
    /// Neither side waited much more than the other.
    Balanced,
}

impl Bottleneck {
    /// The share of its time a side must have waited, beyond twice the other side's share, for
    /// a verdict: below it, waits are start-up and shut-down noise.
    pub const MARGIN: f64 = 0.02;

    /// The verdict from the share of their time producers waited on a full buffer and consumers
    /// on an empty one (each between 0 and 1). The side that waited more than twice as much as
    /// the other (plus [`MARGIN`](Self::MARGIN)) was held up by the other.
    ///
    /// ```
    /// use pc_pipeline::Bottleneck;
    ///
    /// assert_eq!(Bottleneck::from_wait_shares(0.09, 0.0), Bottleneck::ConsumerBound);
    /// assert_eq!(Bottleneck::from_wait_shares(0.01, 0.70), Bottleneck::ProducerBound);
    /// assert_eq!(Bottleneck::from_wait_shares(0.05, 0.08), Bottleneck::Balanced);
    /// assert_eq!(Bottleneck::from_wait_shares(0.0, 0.01), Bottleneck::Balanced);
    /// ```
    pub fn from_wait_shares(producers_waiting: f64, consumers_waiting: f64) -> Self {
        if producers_waiting > 2.0 * consumers_waiting + Self::MARGIN {
            Self::ConsumerBound
        } else if consumers_waiting > 2.0 * producers_waiting + Self::MARGIN {
            Self::ProducerBound
        } else {
            Self::Balanced
        }
    }

    /// What the verdict means for the user, in a few words.
    pub fn explanation(self) -> &'static str {
        match self {
            Self::ProducerBound => {
                "consumers waited on an empty buffer; a faster input would help, more consumers would not"
            }
            Self::ConsumerBound => {
                "producers waited on a full buffer; faster work would help, and more consumers where the cores and the batches allow (see `PipelineStats::advice`)"
            }
            Self::Balanced => "neither side waited much on the other",
        }
    }
}

impl fmt::Display for Bottleneck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::ProducerBound => "producer-bound",
            Self::ConsumerBound => "consumer-bound",
            Self::Balanced => "balanced",
        })
    }
}

/// What one run of a [`Pipeline`](crate::Pipeline) did and where its time went.
///
/// The counts always add up: `produced == succeeded + failed + returned`, and
/// `consumed == succeeded + failed`. `Display` prints an aligned summary.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PipelineStats {
    /// Items the producers took from the input.
    pub produced: usize,
    /// Items processed by the consumers, successfully or not.
    pub consumed: usize,
    /// Items processed successfully.
    pub succeeded: usize,
    /// Items whose work returned an error or panicked.
    pub failed: usize,
    /// Items taken from the input but never processed, handed back because the run stopped.
    pub returned: usize,
    /// Every item taken from the input was processed successfully (the original's check).
    pub success: bool,
    /// Wall-clock time of the run.
    pub elapsed: Duration,
    /// Items consumed per second of `elapsed`.
    pub throughput: f64,
    /// The buffer's capacity.
    pub capacity: usize,
    /// The most items the buffer held at once.
    pub high_water: usize,
    /// Total time producers waited on a full buffer (summed over producers), as the buffer
    /// times its waits ([`BufferStats::put_wait_time`](pc_buffer::BufferStats::put_wait_time)).
    pub producer_wait: Duration,
    /// Total time consumers waited on an empty buffer (summed over consumers), as the buffer
    /// times its waits ([`BufferStats::get_wait_time`](pc_buffer::BufferStats::get_wait_time)).
    pub consumer_wait: Duration,
    /// What each producer did. Their blocked times add up to
    /// [`producer_wait`](Self::producer_wait): each role's is its share of the buffer's count.
    pub producers: Vec<RoleReport>,
    /// What each consumer did. Their blocked times add up to
    /// [`consumer_wait`](Self::consumer_wait).
    pub consumers: Vec<RoleReport>,
    /// Which side held the other up.
    pub bottleneck: Bottleneck,
    /// Whether another consumer would likely make the run faster: the run was consumer-bound,
    /// a consumer's batch would still hold enough work to pay for the thread switches it
    /// causes where threads outnumber cores, and the cores were not all busy already.
    pub more_consumers_help: bool,
    /// What would make the run faster, in a sentence, with the figures it rests on.
    pub advice: String,
}

impl PipelineStats {
    /// The share of their running time producers spent waiting on a full buffer (0 to 1).
    pub fn producer_wait_share(&self) -> f64 {
        share(self.producer_wait, &self.producers)
    }

    /// The share of their running time consumers spent waiting on an empty buffer (0 to 1).
    pub fn consumer_wait_share(&self) -> f64 {
        share(self.consumer_wait, &self.consumers)
    }
}

/// `waited` as a share of the roles' running time (busy, blocked and paced), which for
/// producers ends when the input runs out, well before the run does.
fn share(waited: Duration, roles: &[RoleReport]) -> f64 {
    let running: Duration = roles.iter().map(|r| r.busy + r.blocked + r.paced).sum();
    if running.is_zero() {
        0.0
    } else {
        (waited.as_secs_f64() / running.as_secs_f64()).min(1.0)
    }
}

/// The cores this process may run on (1 if the OS will not say), asked once: the answer takes
/// about 20 µs on Linux (it reads the cgroup's quota), as long as starting a thread.
pub(crate) fn cores() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| thread::available_parallelism().map_or(1, usize::from))
}

/// Below this much work in a consumer's batch, another consumer costs more than it adds where
/// threads outnumber cores: every batch taken and every refill of the buffer then needs the OS
/// to switch threads, a few microseconds each. Measured on the 2-core machine of BENCHMARKS.md
/// (eleventh session): one producer, and a second consumer against one, with 0 to 13 µs of
/// work per item at capacities 4 to 4096. A second consumer ran 0.36x to 0.89x as fast as one
/// where a batch of the two held under 5 µs of work, and 1.26x to 2.23x where it held more,
/// except at the edge: 1.30x and 1.36x at 5.0 µs, 0.92x and 0.93x at 5.4 µs. A rule of thumb:
/// switches cost more or less on other machines, and nothing where every thread has a core of
/// its own.
const MIN_BATCH_WORK: Duration = Duration::from_micros(5);

/// [`PipelineStats::more_consumers_help`] and [`PipelineStats::advice`] for a finished run:
/// `next_batch` is the batch each consumer would take with one consumer more, `cores` the
/// machine's.
pub(crate) fn advise(stats: &PipelineStats, next_batch: usize, cores: usize) -> (bool, String) {
    match stats.bottleneck {
        Bottleneck::ProducerBound | Bottleneck::Balanced => {
            (false, stats.bottleneck.explanation().to_owned())
        }
        Bottleneck::ConsumerBound => {
            let items: usize = stats.consumers.iter().map(|r| r.items).sum();
            // Paced time is work too (a delay stands for it), but it takes no core.
            let working: Duration = stats.consumers.iter().map(|r| r.busy + r.paced).sum();
            let per_item = working.as_secs_f64() / items.max(1) as f64;
            let batch_work = Duration::from_secs_f64(per_item * next_batch as f64);
            let threads = stats.producers.len() + stats.consumers.len() + 1;
            let busy: Duration = stats
                .producers
                .iter()
                .chain(&stats.consumers)
                .map(|r| r.busy)
                .sum();
            let cores_used =
                busy.as_secs_f64() / stats.elapsed.as_secs_f64().max(f64::MIN_POSITIVE);
            if threads > cores && batch_work < MIN_BATCH_WORK {
                let micros = batch_work.as_secs_f64() * 1e6;
                (
                    false,
                    format!(
                        "producers waited on a full buffer, but with another consumer a batch of {next_batch} item(s) would hold {micros:.1} µs of work, too little to pay for switching {threads} threads on {cores} cores; more work per item or larger batches (capacity, `batch`) would help, more consumers would not"
                    ),
                )
            } else if cores_used >= cores as f64 - 0.5 {
                (
                    false,
                    format!(
                        "producers waited on a full buffer, but the {cores} cores were already in use; faster work would help, more consumers would not"
                    ),
                )
            } else {
                (
                    true,
                    "producers waited on a full buffer; more consumers or faster work would help"
                        .to_owned(),
                )
            }
        }
    }
}

impl fmt::Display for PipelineStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let line = |f: &mut fmt::Formatter<'_>, label: &str, value: fmt::Arguments<'_>| {
            writeln!(f, "{:<20} {value}", format!("{label}:"))
        };
        line(f, "Items produced", format_args!("{}", self.produced))?;
        line(
            f,
            "Items consumed",
            format_args!(
                "{} ({} succeeded, {} failed)",
                self.consumed, self.succeeded, self.failed
            ),
        )?;
        line(f, "Items returned", format_args!("{}", self.returned))?;
        line(f, "Elapsed", format_args!("{}", Seconds(self.elapsed)))?;
        line(
            f,
            "Throughput",
            format_args!("{}", PerSecond(self.throughput)),
        )?;
        line(
            f,
            "Buffer high-water",
            format_args!("{} of {}", self.high_water, self.capacity),
        )?;
        line(
            f,
            "Producers waited",
            format_args!(
                "{} on a full buffer ({:.0}% of their time)",
                Seconds(self.producer_wait),
                100.0 * self.producer_wait_share()
            ),
        )?;
        line(
            f,
            "Consumers waited",
            format_args!(
                "{} on an empty buffer ({:.0}% of their time)",
                Seconds(self.consumer_wait),
                100.0 * self.consumer_wait_share()
            ),
        )?;
        line(
            f,
            "Bottleneck",
            format_args!("{} ({})", self.bottleneck, self.advice),
        )
    }
}

/// A duration in seconds with a precision that suits its size.
struct Seconds(Duration);

impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0.as_secs_f64();
        if s >= 1.0 {
            write!(f, "{s:.2} s")
        } else {
            write!(f, "{:.2} ms", s * 1e3)
        }
    }
}

/// A rate in items per second, in millions when large.
struct PerSecond(f64);

impl fmt::Display for PerSecond {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 >= 1e6 {
            write!(f, "{:.2} M items/s", self.0 / 1e6)
        } else {
            write!(f, "{:.1} items/s", self.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A run of 1 ms with one producer and `consumers.len()` consumers, each consumer a
    /// `(items, busy, paced)`, judged `bottleneck`.
    fn run(bottleneck: Bottleneck, consumers: &[(usize, u64, u64)]) -> PipelineStats {
        let report = |items, busy_us, paced_us| {
            let mut report = RoleReport::default();
            report.items = items;
            report.busy = Duration::from_micros(busy_us);
            report.paced = Duration::from_micros(paced_us);
            report
        };
        let items = consumers.iter().map(|c| c.0).sum();
        PipelineStats {
            produced: items,
            consumed: items,
            succeeded: items,
            failed: 0,
            returned: 0,
            success: true,
            elapsed: Duration::from_millis(1),
            throughput: 0.0,
            capacity: 16,
            high_water: 16,
            producer_wait: Duration::ZERO,
            consumer_wait: Duration::ZERO,
            producers: vec![report(items, 10, 0)],
            consumers: consumers.iter().map(|&(n, b, p)| report(n, b, p)).collect(),
            bottleneck,
            more_consumers_help: false,
            advice: String::new(),
        }
    }

    #[test]
    fn only_a_consumer_bound_run_may_want_more_consumers() {
        for bottleneck in [Bottleneck::ProducerBound, Bottleneck::Balanced] {
            let (help, advice) = advise(&run(bottleneck, &[(10, 900, 0)]), 8, 64);
            assert!(!help);
            assert_eq!(advice, bottleneck.explanation());
        }
    }

    #[test]
    fn batches_too_light_for_thread_switches_want_no_more_consumers() {
        // 100 items in 800 µs: 8 µs each; 2 threads plus another consumer on 2 cores.
        let stats = run(Bottleneck::ConsumerBound, &[(100, 800, 0)]);
        // Batches of 1 would hold 8 µs: enough.
        assert!(advise(&stats, 1, 2).0);
        // 1,000 items in the same time: a batch of 4 holds 3.2 µs, too little.
        let stats = run(Bottleneck::ConsumerBound, &[(1_000, 800, 0)]);
        let (help, advice) = advise(&stats, 4, 2);
        assert!(!help);
        assert!(
            advice.contains("a batch of 4 item(s) would hold 3.2 µs"),
            "{advice}"
        );
        assert!(
            advice.contains("switching 3 threads on 2 cores"),
            "{advice}"
        );
        // With a core for every thread, no switches: more consumers help.
        assert_eq!(advise(&stats, 4, 3), (true, more_consumers_advice()));
    }

    #[test]
    fn a_delay_counts_as_work_but_takes_no_core() {
        // 10 items paced 100 µs each, 5 µs busy in all: light on the cores, heavy per batch.
        let stats = run(Bottleneck::ConsumerBound, &[(10, 5, 1_000)]);
        assert_eq!(advise(&stats, 1, 2), (true, more_consumers_advice()));
    }

    #[test]
    fn busy_cores_want_faster_work_not_more_consumers() {
        // Two consumers busy 800 µs each of the 1 ms run, plus the producer: 1.61 cores of 2.
        let stats = run(Bottleneck::ConsumerBound, &[(10, 800, 0), (10, 800, 0)]);
        let (help, advice) = advise(&stats, 8, 2);
        assert!(!help);
        assert!(
            advice.contains("the 2 cores were already in use"),
            "{advice}"
        );
        // On 4 cores the same run leaves room.
        assert_eq!(advise(&stats, 8, 4), (true, more_consumers_advice()));
    }

    fn more_consumers_advice() -> String {
        "producers waited on a full buffer; more consumers or faster work would help".to_owned()
    }
}
