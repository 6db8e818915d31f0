//! The keys of one buffer, all under one hash tag so that they live on one Redis Cluster slot.

/// The consumer group every consumer of a buffer reads through.
pub(crate) const GROUP: &str = "consumers";

/// The keys of the buffer named `name`: `pc:{name}:items` and its siblings, or with a hash tag
/// of its own, `pc:{tag}:name:items` and so on.
#[derive(Debug, Clone)]
pub(crate) struct Keys {
    /// The stream of items put and not yet acknowledged.
    pub(crate) items: String,
    /// The hash of the capacity, the closed flag and the counters.
    pub(crate) meta: String,
    /// The dead-letter stream.
    pub(crate) dead: String,
    /// The list that wakes producers waiting for room.
    pub(crate) room: String,
    /// The hash of each producer's last accepted sequence.
    pub(crate) producers: String,
    /// An empty stream with the group, read beside `items` by a consumer that acknowledges and
    /// waits in one round trip; close deletes it, so that such a read fails at once from then on.
    pub(crate) gate: String,
}

impl Keys {
    pub(crate) fn new(name: &str, tag: Option<&str>) -> Self {
        let key = |what: &str| match tag {
            Some(tag) => format!("pc:{{{tag}}}:{name}:{what}"),
            None => format!("pc:{{{name}}}:{what}"),
        };
        Self {
            items: key("items"),
            meta: key("meta"),
            dead: key("dead"),
            room: key("room"),
            producers: key("producers"),
            gate: key("gate"),
        }
    }
}

/// Whether `name` can be a hash tag (or a name beside one): non-empty, without braces.
pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty() && !name.contains(['{', '}'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_shares_the_hash_tag() {
        let keys = Keys::new("jobs", None);
        for key in [
            keys.items,
            keys.meta,
            keys.dead,
            keys.room,
            keys.producers,
            keys.gate,
        ] {
            assert!(key.starts_with("pc:{jobs}:"), "{key}");
        }
        let keys = Keys::new("jobs", Some("photos"));
        for key in [
            keys.items,
            keys.meta,
            keys.dead,
            keys.room,
            keys.producers,
            keys.gate,
        ] {
            assert!(key.starts_with("pc:{photos}:jobs:"), "{key}");
        }
        assert!(valid_name("jobs") && !valid_name("") && !valid_name("a{b") && !valid_name("}"));
    }
}
