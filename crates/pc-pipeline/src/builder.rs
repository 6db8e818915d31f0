//! [`PipelineBuilder`]: capacity, number of producers and consumers, delays, callbacks, ordering and failure policy, checked by `build()`.

use std::num::NonZeroUsize;
use std::time::Duration;

use pc_roles::{NoHook, OnConsume, OnProduce};

use crate::err::ConfigError;
use crate::pipeline::Pipeline;

/// What a run does when an item's work returns an error.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum FailurePolicy {
    /// Stop at the first error: producers stop, the buffer closes, and the run returns the
    /// error together with every result so far and every item not processed.
    #[default]
    FailFast,
    /// Process everything and report each failed item with its error.
    Continue,
}

/// A checked pipeline configuration.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) capacity: NonZeroUsize,
    pub(crate) producers: NonZeroUsize,
    pub(crate) consumers: NonZeroUsize,
    pub(crate) producer_delay: Duration,
    pub(crate) consumer_delay: Duration,
    pub(crate) ordered: bool,
    pub(crate) policy: FailurePolicy,
    pub(crate) batch: Option<NonZeroUsize>,
}

impl Config {
    /// The original's default: capacity 10, one producer, one consumer, no delays, ordered.
    pub(crate) const DEFAULT: Self = Self {
        capacity: NonZeroUsize::new(10).expect("10 is not zero"),
        producers: NonZeroUsize::MIN,
        consumers: NonZeroUsize::MIN,
        producer_delay: Duration::ZERO,
        consumer_delay: Duration::ZERO,
        ordered: true,
        policy: FailurePolicy::FailFast,
        batch: None,
    };

    /// Items a consumer takes per buffer operation: enough to take the lock rarely, few enough
    /// that the consumers share what the buffer holds. A lone consumer shares with nobody: it
    /// takes all the buffer holds (up to 4096 items), so that the buffer swaps allocations
    /// with it instead of moving items under the lock, and the producer refills an empty
    /// buffer in whole chunks while the consumer works. Measured at capacity 1024: about 1.3x
    /// the throughput of batches of 256.
    pub(crate) fn consumer_batch(&self) -> usize {
        let share = match self.consumers.get() {
            1 => self.capacity.get().min(4096),
            consumers => (self.capacity.get() / consumers).clamp(1, 256),
        };
        self.batch.map_or(share, NonZeroUsize::get)
    }

    /// Items each consumer would take per buffer operation with one consumer more: what
    /// [`advise`](crate::stats::advise) weighs. A consumer paced by a delay takes one item at a
    /// time.
    pub(crate) fn next_consumer_batch(&self) -> usize {
        if !self.consumer_delay.is_zero() {
            return 1;
        }
        let more = Self {
            consumers: self.consumers.saturating_add(1),
            ..*self
        };
        more.consumer_batch()
    }

    /// Items a producer puts per buffer operation: as many as the buffer holds (up to 256).
    /// A consumer takes what is there in one go, so the producer usually finds the buffer empty
    /// and hands over a whole chunk per lock; when it does not, the put fills what room there
    /// is and waits for the rest. Measured at capacity 16: about 1.3x the throughput of chunks
    /// of half the buffer, since every hand-over costs cache-line transfers between cores.
    pub(crate) fn producer_chunk(&self) -> usize {
        self.batch
            .map_or_else(|| self.capacity.get().clamp(1, 256), NonZeroUsize::get)
    }

    /// Whether the run's buffer is the one laid out for batches
    /// ([`BoundedBuffer::for_batches`](pc_roles::BoundedBuffer::for_batches)): when one
    /// producer puts chunks of more than one item and at most two consumers take them. Its
    /// single lock then carries a whole chunk per hand-over at the cost of one cache line each
    /// way. With three or four consumers, which all watch that line, it measured 0.5x to 0.7x
    /// the two-lock buffer at capacities 4 to 64, and single puts are faster with two locks (see
    /// BENCHMARKS.md, thirteenth session).
    pub(crate) fn batched_buffer(&self) -> bool {
        self.producers.get() == 1
            && self.consumers.get() <= 2
            && self.producer_delay.is_zero()
            && self.producer_chunk() > 1
    }
}

/// Builds a [`Pipeline`]; start with [`Pipeline::builder`].
///
/// ```
/// use std::time::Duration;
/// use pc_pipeline::{FailurePolicy, Pipeline};
///
/// let mut pipeline = Pipeline::builder()
///     .capacity(64)
///     .consumers(4)
///     .ordered(true)
///     .on_failure(FailurePolicy::Continue)
///     .consumer_delay(Duration::ZERO)
///     .build()
///     .unwrap();
/// let squares = pipeline.process(1..=5_u64, |n| n * n).unwrap();
/// assert_eq!(squares, [1, 4, 9, 16, 25]);
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until build() is called"]
pub struct PipelineBuilder<P = NoHook, C = NoHook> {
    capacity: usize,
    producers: usize,
    consumers: usize,
    producer_delay: Duration,
    consumer_delay: Duration,
    ordered: bool,
    policy: FailurePolicy,
    batch: Option<usize>,
    on_produce: P,
    on_consume: C,
}

impl PipelineBuilder {
    pub(crate) fn new() -> Self {
        let d = Config::DEFAULT;
        Self {
            capacity: d.capacity.get(),
            producers: d.producers.get(),
            consumers: d.consumers.get(),
            producer_delay: d.producer_delay,
            consumer_delay: d.consumer_delay,
            ordered: d.ordered,
            policy: d.policy,
            batch: None,
            on_produce: NoHook,
            on_consume: NoHook,
        }
    }
}

impl<P, C> PipelineBuilder<P, C> {
    /// The buffer's capacity: how many items may wait between producers and consumers
    /// (default 10). Producers wait while it is full: that is the backpressure.
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self
    }

    /// How many producer threads share the input (default 1). They take turns pulling from it,
    /// so the buffer sees the input's order; several help when producing is paced.
    pub fn producers(mut self, producers: usize) -> Self {
        self.producers = producers;
        self
    }

    /// How many consumer threads run the work (default 1).
    pub fn consumers(mut self, consumers: usize) -> Self {
        self.consumers = consumers;
        self
    }

    /// A delay each producer sleeps after each item (the original's `producer_delay`).
    pub fn producer_delay(mut self, delay: Duration) -> Self {
        self.producer_delay = delay;
        self
    }

    /// A delay each consumer sleeps after each item (the original's `consumer_delay`).
    pub fn consumer_delay(mut self, delay: Duration) -> Self {
        self.consumer_delay = delay;
        self
    }

    /// Whether results come back in input order (default `true`). With several consumers the
    /// order is restored through a reorder window as wide as the buffer's capacity: a consumer
    /// that runs that far ahead of the oldest unfinished item waits for it. Unordered runs
    /// return results roughly in completion order and never wait.
    pub fn ordered(mut self, ordered: bool) -> Self {
        self.ordered = ordered;
        self
    }

    /// What a run does when an item's work returns an error (default fail-fast).
    pub fn on_failure(mut self, policy: FailurePolicy) -> Self {
        self.policy = policy;
        self
    }

    /// How many items producers put and consumers take per buffer operation. By default
    /// producers put the capacity (up to 256), a lone consumer takes all the buffer holds
    /// (up to 4096) and several consumers take their share of it (up to 256); a role with a
    /// delay always moves one item at a time.
    pub fn batch(mut self, batch: usize) -> Self {
        self.batch = Some(batch);
        self
    }

    /// Calls `callback(item, count, buffer_len)` after each put: `count` items produced so
    /// far by all producers, `buffer_len` items in the buffer after the put. Calls are
    /// serialised and come in input order. The callback sees a clone of the item, which has
    /// moved into the buffer.
    pub fn on_produce<F>(self, callback: F) -> PipelineBuilder<OnProduce<F>, C> {
        self.with_hooks(|_, on_consume| (OnProduce(callback), on_consume))
    }

    /// Calls `callback(result, count, buffer_len)` after each item processed successfully:
    /// `count` items processed successfully so far by all consumers, `buffer_len` items left in
    /// the buffer. Calls are serialised.
    pub fn on_consume<F>(self, callback: F) -> PipelineBuilder<P, OnConsume<F>> {
        self.with_hooks(|on_produce, _| (on_produce, OnConsume(callback)))
    }

    /// The same configuration with other callbacks.
    fn with_hooks<P2, C2>(self, hooks: impl FnOnce(P, C) -> (P2, C2)) -> PipelineBuilder<P2, C2> {
        let (on_produce, on_consume) = hooks(self.on_produce, self.on_consume);
        PipelineBuilder {
            capacity: self.capacity,
            producers: self.producers,
            consumers: self.consumers,
            producer_delay: self.producer_delay,
            consumer_delay: self.consumer_delay,
            ordered: self.ordered,
            policy: self.policy,
            batch: self.batch,
            on_produce,
            on_consume,
        }
    }

    /// Checks the configuration and builds the pipeline.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the first zero among capacity, producers, consumers and batch.
    pub fn build(self) -> Result<Pipeline<P, C>, ConfigError> {
        let nonzero = |n, err| NonZeroUsize::new(n).ok_or(err);
        let config = Config {
            capacity: nonzero(self.capacity, ConfigError::ZeroCapacity)?,
            producers: nonzero(self.producers, ConfigError::ZeroProducers)?,
            consumers: nonzero(self.consumers, ConfigError::ZeroConsumers)?,
            producer_delay: self.producer_delay,
            consumer_delay: self.consumer_delay,
            ordered: self.ordered,
            policy: self.policy,
            batch: self
                .batch
                .map(|b| nonzero(b, ConfigError::ZeroBatch))
                .transpose()?,
        };
        Ok(Pipeline::from_parts(
            config,
            self.on_produce,
            self.on_consume,
        ))
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroUsize;
    use std::time::Duration;

    use super::Config;

    fn n(value: usize) -> NonZeroUsize {
        NonZeroUsize::new(value).expect("not zero")
    }

    /// The buffer made for batches serves one producer putting chunks and at most two
    /// consumers; everything else gets the two-lock buffer (or the slot, at capacity 1).
    #[test]
    fn the_buffer_for_batches_serves_one_chunked_producer_and_up_to_two_consumers() {
        let default = Config::DEFAULT;
        assert!(default.batched_buffer());
        let two_consumers = Config {
            consumers: n(2),
            ..default.clone()
        };
        assert!(two_consumers.batched_buffer());
        for other in [
            Config {
                consumers: n(3),
                ..default.clone()
            },
            Config {
                producers: n(2),
                ..default.clone()
            },
            Config {
                producer_delay: Duration::from_millis(1),
                ..default.clone()
            },
            Config {
                batch: Some(n(1)),
                ..default.clone()
            },
            Config {
                capacity: n(1),
                ..default.clone()
            },
        ] {
            assert!(!other.batched_buffer(), "{other:?}");
        }
    }
}
