//! How long a consumer that comes to move the back's items to the front waits when a producer holds the back lock, by capacity.

use crate::halves::HalvesBuffer;

#[test]
fn the_refill_wait_grows_with_the_capacity_within_its_bounds() {
    let pauses = |capacity| HalvesBuffer::<u8>::new(capacity).refill_pauses();
    // Twice the capacity between 16 and 64 pauses; from 256 on a quarter of it, 256 at most.
    let capacities = [2, 3, 8, 9, 16, 32, 255, 256, 257, 512, 1024, 1 << 20];
    let expected = [16, 16, 16, 18, 32, 64, 64, 64, 64, 128, 256, 256];
    assert_eq!(capacities.map(pauses), expected);
}
