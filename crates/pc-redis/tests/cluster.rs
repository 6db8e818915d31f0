//! The buffer on a Redis Cluster: buffers on every node through one seed, a slot moved to another
//! node while a buffer is in use, a forward between buffers of one hash tag, and clear errors for
//! a cluster opened as one server, one server opened as a cluster, and a forward between two
//! slots. (Every test of `buffer.rs` also runs on the cluster.)

mod common;

use std::collections::BTreeMap;
use std::thread;

use common::Place;
use pc_redis::{BufferPutError, ConnectError, Delivery, RedisBuffer, RedisError};
use pc_roles::{ConsumerRole, Flow, ProducerRole, from_fn};
use redis::{Connection, Value};

/// A plain connection to one node, for the cluster's own commands.
fn node(url: &str) -> Connection {
    redis::Client::open(url)
        .and_then(|client| client.get_connection())
        .expect("the node is up")
}

/// The slot of a buffer's keys.
fn slot_of(connection: &mut Connection, name: &str) -> u16 {
    redis::cmd("CLUSTER")
        .arg("KEYSLOT")
        .arg(format!("pc:{{{name}}}:meta"))
        .query(connection)
        .unwrap()
}

/// Slot ranges, `(first, last, port of the node that owns them)`.
type Ranges = Vec<(u16, u16, u16)>;

/// The node (by port) that owns each slot range, and each node's id.
fn owners(connection: &mut Connection) -> (Ranges, BTreeMap<u16, String>) {
    let slots: Vec<Value> = redis::cmd("CLUSTER")
        .arg("SLOTS")
        .query(connection)
        .unwrap();
    let mut ranges = Vec::new();
    let mut ids = BTreeMap::new();
    for range in slots {
        let Value::Array(fields) = range else {
            panic!("a slot range is an array")
        };
        let number =
            |value: &Value| -> u16 { redis::from_redis_value_ref::<u16>(value).expect("a number") };
        let Value::Array(primary) = &fields[2] else {
            panic!("a node is an array")
        };
        let port = number(&primary[1]);
        let id: String = redis::from_redis_value_ref(&primary[2]).expect("an id");
        ranges.push((number(&fields[0]), number(&fields[1]), port));
        ids.insert(port, id);
    }
    (ranges, ids)
}

fn port_of(ranges: &Ranges, slot: u16) -> u16 {
    ranges
        .iter()
        .find(|(from, to, _)| (*from..=*to).contains(&slot))
        .map(|(_, _, port)| *port)
        .expect("every slot is assigned")
}

fn port(url: &str) -> u16 {
    url.trim_end_matches('/')
        .rsplit(':')
        .next()
        .and_then(|port| port.parse().ok())
        .expect("a TCP URL")
}

/// The number of the buffer's keys the node holds itself (`KEYS` sees only its own).
fn keys_on(connection: &mut Connection, name: &str) -> usize {
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("pc:{{{name}}}:*"))
        .query(connection)
        .unwrap();
    keys.len()
}

/// Runs 1..=count through `buffer` with a producer role and a consumer role; the sum taken.
fn run_through(buffer: &RedisBuffer<u64>, count: u64) -> u64 {
    thread::scope(|s| {
        s.spawn(|| {
            ProducerRole::new().chunk(7).run(1..=count, buffer).unwrap();
            buffer.close().unwrap();
        });
        let mut sum = 0;
        ConsumerRole::new()
            .batch(5)
            .run(from_fn(|x: u64| x), buffer, |out: Result<u64, _>| {
                sum += out.unwrap();
                Flow::Continue
            })
            .unwrap();
        sum
    })
}

#[test]
fn one_seed_reaches_buffers_on_every_node() {
    let Some(Place::Cluster(nodes)) = common::cluster() else {
        return;
    };
    let mut seed = node(&nodes[0]);
    let (ranges, _) = owners(&mut seed);
    // One buffer name for each node: the first candidate whose slot that node owns.
    let mut names = BTreeMap::new();
    for candidate in 0.. {
        let name = common::name(&format!("spread-{candidate}"));
        let owner = port_of(&ranges, slot_of(&mut seed, &name));
        names.entry(owner).or_insert(name);
        if names.len() == nodes.len() {
            break;
        }
    }
    for (owner, name) in &names {
        // Only the first node is given: the client finds the owner itself.
        let buffer = RedisBuffer::<u64>::cluster_builder(&nodes[..1], name)
            .capacity(8)
            .connect()
            .unwrap();
        assert_eq!(run_through(&buffer, 200), (1..=200).sum::<u64>());
        let counts = buffer.accounting().unwrap();
        assert_eq!(
            (counts.produced, counts.acknowledged, counts.in_buffer),
            (200, 200, 0)
        );
        let url = nodes.iter().find(|url| port(url) == *owner).unwrap();
        assert!(keys_on(&mut node(url), name) > 0, "{name} is on {owner}");
        buffer.destroy().unwrap();
    }
}

#[test]
fn a_buffer_follows_its_slot_to_another_node() {
    let Some(Place::Cluster(nodes)) = common::cluster() else {
        return;
    };
    let name = common::name("moved");
    let buffer = RedisBuffer::<u64>::cluster_builder(&nodes, &name)
        .capacity(100)
        .connect()
        .unwrap();
    buffer.put_batch((0..30).collect()).unwrap();
    let mut taken = Vec::new();
    buffer.get_batch_into(&mut taken, 10).unwrap();
    assert_eq!(taken, (0..10).collect::<Vec<_>>());

    // Move the buffer's slot, keys and all, to another node, as a resharding does.
    let mut seed = node(&nodes[0]);
    let slot = slot_of(&mut seed, &name);
    let (ranges, ids) = owners(&mut seed);
    let from_port = port_of(&ranges, slot);
    let to_port = *ids.keys().find(|port| **port != from_port).unwrap();
    let url_of = |port: u16| format!("redis://127.0.0.1:{port}/");
    let (mut from, mut to) = (node(&url_of(from_port)), node(&url_of(to_port)));
    let setslot = |connection: &mut Connection, state: &str, id: &str| {
        let _: () = redis::cmd("CLUSTER")
            .arg("SETSLOT")
            .arg(slot)
            .arg(state)
            .arg(id)
            .query(connection)
            .unwrap();
    };
    setslot(&mut to, "IMPORTING", &ids[&from_port]);
    setslot(&mut from, "MIGRATING", &ids[&to_port]);
    let keys: Vec<String> = redis::cmd("CLUSTER")
        .arg("GETKEYSINSLOT")
        .arg(slot)
        .arg(100)
        .query(&mut from)
        .unwrap();
    assert!(keys.len() >= 3, "the buffer's keys: {keys:?}");
    let _: () = redis::cmd("MIGRATE")
        .arg("127.0.0.1")
        .arg(to_port)
        .arg("")
        .arg(0)
        .arg(5000)
        .arg("KEYS")
        .arg(&keys)
        .query(&mut from)
        .unwrap();
    for url in &nodes {
        setslot(&mut node(url), "NODE", &ids[&to_port]);
    }
    assert_eq!(keys_on(&mut from, &name), 0);

    // The same buffer value goes on: its client learns the new owner from the node it asks.
    buffer.acknowledge().unwrap();
    buffer.put(30).unwrap();
    let mut rest = Vec::new();
    while rest.len() < 21 {
        buffer.get_batch_into(&mut rest, 8).unwrap();
    }
    assert_eq!(rest, (10..31).collect::<Vec<_>>());
    buffer.acknowledge().unwrap();
    let counts = buffer.accounting().unwrap();
    assert_eq!(
        (counts.produced, counts.acknowledged, counts.in_buffer),
        (31, 31, 0)
    );
    assert!(keys_on(&mut to, &name) >= 3);
    buffer.destroy().unwrap();
}

#[test]
fn a_cluster_node_opened_as_one_server_is_a_clear_error() {
    let Some(Place::Cluster(nodes)) = common::cluster() else {
        return;
    };
    match RedisBuffer::<u32>::builder(&nodes[0], "one-node").connect() {
        Err(ConnectError::ClusterNode) => {}
        other => panic!("expected ClusterNode, got {:?}", other.map(|_| ())),
    }
}

#[test]
fn one_server_opened_as_a_cluster_is_a_clear_error() {
    let Some((_server, url)) = common::own_tcp_server() else {
        return;
    };
    match RedisBuffer::<u32>::cluster_builder([url.as_str()], "not-a-cluster").connect() {
        Err(ConnectError::NotCluster) => {}
        other => panic!("expected NotCluster, got {:?}", other.map(|_| ())),
    }
    assert!(matches!(
        RedisBuffer::<u32>::cluster_builder(Vec::<String>::new(), "none").connect(),
        Err(ConnectError::InvalidUrl(_))
    ));
}

#[test]
fn a_forward_between_two_slots_is_refused_with_the_items_back() {
    let Some(Place::Cluster(nodes)) = common::cluster() else {
        return;
    };
    let mut seed = node(&nodes[0]);
    let first_name = common::name("forward-slot");
    let first_slot = slot_of(&mut seed, &first_name);
    let next_name = (0..)
        .map(|candidate| common::name(&format!("forward-slot-{candidate}")))
        .find(|name| slot_of(&mut seed, name) != first_slot)
        .expect("a name in another slot");
    let open = |name: &str| {
        RedisBuffer::<u64>::cluster_builder(&nodes, name)
            .connect()
            .unwrap()
    };
    let (first, next) = (open(&first_name), open(&next_name));
    first.put(1).unwrap();
    let lease = first.deliveries().next().unwrap().unwrap().lease;
    match lease.forward(&next, vec![10]) {
        Err(BufferPutError::Transport(items, RedisError::Forward(why))) => {
            assert_eq!(
                (items, why.as_str()),
                (
                    vec![10],
                    "the buffers are in different slots of the cluster"
                )
            );
        }
        other => panic!("expected the item back, got {other:?}"),
    }
    assert_eq!(first.accounting().unwrap().in_buffer, 1);
    assert_eq!(next.accounting().unwrap().produced, 0);
    first.destroy().unwrap();
    next.destroy().unwrap();
}

#[test]
fn buffers_of_one_hash_tag_forward_between_them() {
    let Some(Place::Cluster(nodes)) = common::cluster() else {
        return;
    };
    let tag = common::name("stage");
    let open = |name: &str| {
        RedisBuffer::<u64>::cluster_builder(&nodes, name)
            .hash_tag(&tag)
            .connect()
            .unwrap()
    };
    let (first, next) = (open("jobs"), open("results"));
    first.put_batch(vec![1, 2, 3]).unwrap();
    first.close().unwrap();
    for delivery in first.deliveries() {
        let Delivery { item, lease } = delivery.unwrap();
        lease.forward(&next, vec![item * 10]).unwrap();
    }
    next.close().unwrap();
    let mut got = Vec::new();
    while let Ok(item) = next.get() {
        got.push(item);
        next.acknowledge().unwrap();
    }
    assert_eq!(got, [10, 20, 30]);
    let (from, to) = (first.accounting().unwrap(), next.accounting().unwrap());
    assert_eq!((from.acknowledged, from.in_buffer), (3, 0));
    assert_eq!((to.produced, to.acknowledged), (3, 3));
    first.destroy().unwrap();
    next.destroy().unwrap();
}
