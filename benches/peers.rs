//! The peers under comparison, as [`Queue`]s: crossbeam-channel, flume and kanal, each with its default features and, where it has one, its own batch receive.
//!
//! Shared by the bench targets (`#[path = "peers.rs"] mod peers;`), which alone may use the
//! peers: they are dev-dependencies of the benches package.

use pc_benches::Queue;

/// crossbeam-channel's `bounded` (no batch API: batch calls go item by item).
pub enum Crossbeam {}

impl Queue for Crossbeam {
    const NAME: &'static str = "crossbeam";
    type Sender = crossbeam_channel::Sender<usize>;
    type Receiver = crossbeam_channel::Receiver<usize>;

    fn bounded(capacity: usize) -> (Self::Sender, Self::Receiver) {
        crossbeam_channel::bounded(capacity)
    }

    fn clone_receiver(rx: &Self::Receiver) -> Option<Self::Receiver> {
        Some(rx.clone())
    }

    fn close(tx: Self::Sender) {
        drop(tx);
    }

    #[inline]
    fn put(tx: &Self::Sender, item: usize) {
        tx.send(item).expect("a receiver is alive");
    }

    #[inline]
    fn get(rx: &Self::Receiver) -> Option<usize> {
        rx.recv().ok()
    }
}

/// flume's `bounded`; batch gets take one item, then `drain` everything queued.
pub enum Flume {}

impl Queue for Flume {
    const NAME: &'static str = "flume";
    type Sender = flume::Sender<usize>;
    type Receiver = flume::Receiver<usize>;

    fn bounded(capacity: usize) -> (Self::Sender, Self::Receiver) {
        flume::bounded(capacity)
    }

    fn clone_receiver(rx: &Self::Receiver) -> Option<Self::Receiver> {
        Some(rx.clone())
    }

    fn close(tx: Self::Sender) {
        drop(tx);
    }

    #[inline]
    fn put(tx: &Self::Sender, item: usize) {
        tx.send(item).expect("a receiver is alive");
    }

    #[inline]
    fn get(rx: &Self::Receiver) -> Option<usize> {
        rx.recv().ok()
    }

    fn get_batch(rx: &Self::Receiver, out: &mut Vec<usize>, _max: usize) -> bool {
        let Ok(first) = rx.recv() else {
            return false;
        };
        out.push(first);
        // `drain` moves everything queued (at most the capacity) out at once and has no
        // limit: taking fewer would drop the rest.
        out.extend(rx.drain());
        true
    }
}

/// kanal's `bounded`; batch gets take one item, then `drain_into` everything queued.
pub enum Kanal {}

impl Queue for Kanal {
    const NAME: &'static str = "kanal";
    type Sender = kanal::Sender<usize>;
    type Receiver = kanal::Receiver<usize>;

    fn bounded(capacity: usize) -> (Self::Sender, Self::Receiver) {
        kanal::bounded(capacity)
    }

    fn clone_receiver(rx: &Self::Receiver) -> Option<Self::Receiver> {
        Some(rx.clone())
    }

    fn close(tx: Self::Sender) {
        drop(tx);
    }

    #[inline]
    fn put(tx: &Self::Sender, item: usize) {
        tx.send(item).expect("a receiver is alive");
    }

    #[inline]
    fn get(rx: &Self::Receiver) -> Option<usize> {
        rx.recv().ok()
    }

    fn get_batch(rx: &Self::Receiver, out: &mut Vec<usize>, _max: usize) -> bool {
        let Ok(first) = rx.recv() else {
            return false;
        };
        out.push(first);
        // `drain_into` takes everything queued (at most the capacity); it has no limit.
        let _ = rx.drain_into(out);
        true
    }
}
