//! [`PipelineStats`]: what a run did, where its time went, and which side held the other up.

use std::fmt;
use std::time::Duration;

use pc_roles::RoleReport;

/// Which side of a run held the other up, judged from how long each side waited on the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bottleneck {
    /// Consumers waited on an empty buffer: producing is the slow side. More consumers would
    /// not help.
    ProducerBound,
    /// Producers waited on a full buffer: consuming is the slow side. More consumers (or
    /// faster work) would help.
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
                "producers waited on a full buffer; more consumers or faster work would help"
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
    /// Total time producers waited on a full buffer (summed over producers).
    pub producer_wait: Duration,
    /// Total time consumers waited on an empty buffer (summed over consumers).
    pub consumer_wait: Duration,
    /// What each producer did.
    pub producers: Vec<RoleReport>,
    /// What each consumer did.
    pub consumers: Vec<RoleReport>,
    /// Which side held the other up.
    pub bottleneck: Bottleneck,
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
            format_args!("{} ({})", self.bottleneck, self.bottleneck.explanation()),
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
