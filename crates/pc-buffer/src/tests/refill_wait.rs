//! How long a consumer that comes to move the back's items to the front waits when a producer holds the back lock, by capacity.

use crate::halves::{HalvesBuffer, REFILL_PAUSES_MAX, REFILL_PAUSES_MIN};

#[test]
fn the_refill_wait_stays_within_its_bounds_and_never_shrinks_as_the_capacity_grows() {
    let pauses = |capacity| HalvesBuffer::<u8>::new(capacity).refill_pauses();
    let capacities = (2..=2048).chain([1 << 20, usize::MAX / 2, usize::MAX]);
    let mut last = 0;
    for capacity in capacities {
        let wait = pauses(capacity);
        assert!(
            (REFILL_PAUSES_MIN..=REFILL_PAUSES_MAX).contains(&wait),
            "capacity {capacity}: {wait} pauses"
        );
        assert!(
            wait >= last,
            "capacity {capacity}: {wait} pauses, fewer than {last} below it"
        );
        last = wait;
    }
}
