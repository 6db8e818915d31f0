//! Producers and consumers in separate processes (this binary run again as a child): the bound
//! under racing producer processes, kill -9 of a consumer, of a producer and of a relay between
//! two buffers, close across processes. Every wait on a child is bounded; nothing sleeps to synchronise.

mod common;

use std::collections::{BTreeSet, HashSet};
use std::env;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use pc_redis::RedisBuffer;

/// How long any child may take before the test fails.
const CHILD_LIMIT: Duration = Duration::from_secs(60);

const LEASE: Duration = Duration::from_millis(500);
/// What a relay adds to each item it forwards.
const RELAYED: u64 = 1_000_000;
const RECLAIM: Duration = Duration::from_millis(100);

fn open(url: &str, name: &str, capacity: usize) -> RedisBuffer<u64> {
    RedisBuffer::builder(url, name)
        .capacity(capacity)
        .lease(LEASE)
        .reclaim_interval(RECLAIM)
        .connect()
        .expect("connect")
}

/// A scenario and its name.
type Test = (&'static str, fn(&str));

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("child") {
        child(&args[1..]);
        return ExitCode::SUCCESS;
    }
    let Some(url) = common::url() else {
        return ExitCode::SUCCESS;
    };
    let filter = args.iter().find(|arg| !arg.starts_with('-'));
    let tests: [Test; 5] = [
        (
            "producer_processes_racing_never_exceed_the_capacity",
            racing_producers,
        ),
        ("a_consumer_killed_at_random_loses_nothing", killed_consumer),
        (
            "a_producer_killed_and_restarted_with_its_id_puts_nothing_twice",
            killed_producer,
        ),
        (
            "close_ends_consumers_in_every_process",
            close_across_processes,
        ),
        (
            "a_relay_killed_at_random_forwards_each_item_once",
            killed_relay,
        ),
    ];
    for (name, test) in tests {
        if filter.is_some_and(|filter| !name.contains(filter.as_str())) {
            continue;
        }
        let started = Instant::now();
        test(&url);
        println!(
            "test {name} ... ok ({:.1} s)",
            started.elapsed().as_secs_f64()
        );
    }
    ExitCode::SUCCESS
}

/// What a child process does, by its first argument.
fn child(args: &[String]) {
    let (role, url, name) = (&args[0], &args[1], &args[2]);
    let number = |i: usize| args[i].parse::<u64>().expect("a number");
    match role.as_str() {
        // producer URL NAME CAPACITY FIRST COUNT: puts FIRST..FIRST+COUNT.
        "producer" => {
            let buffer = open(url, name, number(3) as usize);
            let first = number(4);
            for item in first..first + number(5) {
                buffer.put(item).expect("put");
            }
        }
        // resuming URL NAME ID TOTAL: puts 0..TOTAL from where the server says this id got to,
        // printing each item once the put returned.
        "resuming" => {
            let buffer = RedisBuffer::<u64>::builder(url, name)
                .capacity(10_000)
                .producer_id(args[3].clone())
                .connect()
                .expect("connect");
            for item in buffer.accepted().expect("accepted")..number(4) {
                buffer.put(item).expect("put");
                println!("P {item}");
            }
        }
        // consumer URL NAME CAPACITY [HOLD]: takes in batches of 8 until closed, printing "T id"
        // when an item is taken and "A id" once it is acknowledged, then "done N". With HOLD, it
        // prints "holding" after taking batch number HOLD and waits, never acknowledging it.
        "consumer" => {
            let buffer = open(url, name, number(3) as usize);
            let hold = args.get(4).map_or(0, |_| number(4));
            let mut batch = Vec::new();
            let (mut done, mut batches) = (0, 0);
            loop {
                batch.clear();
                match buffer.get_batch_into(&mut batch, 8) {
                    Ok(_) => {}
                    Err(err) if err.is_closed() => break,
                    Err(err) => panic!("get: {err}"),
                }
                for item in &batch {
                    println!("T {item}");
                }
                batches += 1;
                if batches == hold {
                    println!("holding");
                    // Until killed: stdin is a pipe the parent never writes to.
                    let _ = std::io::stdin().read_line(&mut String::new());
                    panic!("a holding consumer must be killed");
                }
                buffer.acknowledge().expect("acknowledge");
                for item in &batch {
                    println!("A {item}");
                }
                done += batch.len();
            }
            println!("done {done}");
        }
        // relay URL FROM TO [HOLD]: forwards each item of FROM, plus RELAYED, into TO, printing
        // "T item" when it is taken and "F item" once forwarded, until FROM is closed; then
        // prints "done" and waits to be killed. With HOLD, it prints "holding" once it took item
        // number HOLD, and waits to be killed without forwarding it.
        "relay" => {
            let (from, to) = (open(url, name, 256), open(url, &args[3], 256));
            let hold = args.get(4).map(|_| number(4));
            for (taken, delivery) in from.deliveries().enumerate() {
                let delivery = delivery.expect("take");
                println!("T {}", delivery.item);
                if hold == Some(taken as u64 + 1) {
                    println!("holding");
                    let _ = std::io::stdin().read_line(&mut String::new());
                    panic!("a holding relay must be killed");
                }
                let item = delivery.item;
                delivery
                    .lease
                    .forward(&to, vec![item + RELAYED])
                    .expect("forward");
                println!("F {item}");
            }
            println!("done");
            // Until killed: stdin is a pipe the parent never writes to.
            let _ = std::io::stdin().read_line(&mut String::new());
            panic!("a relay must be killed");
        }
        other => panic!("no child role {other}"),
    }
}

fn spawn(args: &[&str]) -> Child {
    Command::new(env::current_exe().expect("this binary"))
        .arg("child")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn a child")
}

/// Waits for `child` to exit, killing it and failing after [`CHILD_LIMIT`].
fn wait(mut child: Child) -> std::process::ExitStatus {
    let id = child.id();
    let (done, exited) = mpsc::channel();
    thread::spawn(move || {
        let _ = done.send(child.wait());
    });
    match exited.recv_timeout(CHILD_LIMIT) {
        Ok(status) => status.expect("wait"),
        Err(_) => {
            let _ = Command::new("kill").arg("-9").arg(id.to_string()).status();
            panic!("child {id} did not end within {CHILD_LIMIT:?}");
        }
    }
}

/// The child's stdout, line by line, on a thread; `on_line` sees each line with the number of
/// lines so far and may kill the child.
fn lines(
    child: &mut Child,
    mut on_line: impl FnMut(&str, usize) + Send + 'static,
) -> thread::JoinHandle<Vec<String>> {
    let stdout = child.stdout.take().expect("piped stdout");
    thread::spawn(move || {
        let mut all = Vec::new();
        for line in BufReader::new(stdout).lines() {
            let line = line.expect("a line");
            on_line(&line, all.len() + 1);
            all.push(line);
        }
        all
    })
}

fn kill_9(pid: u32) {
    let status = Command::new("kill")
        .arg("-9")
        .arg(pid.to_string())
        .status()
        .expect("kill");
    assert!(status.success());
}

/// A pseudo-random number in `range`, different each run.
fn random(range: std::ops::RangeInclusive<usize>, salt: usize) -> usize {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let mixed = (nanos as usize ^ salt.wrapping_mul(0x9E37_79B9)).wrapping_mul(0x85EB_CA6B);
    range.start() + (mixed >> 7) % (range.end() - range.start() + 1)
}

fn racing_producers(url: &str) {
    let name = common::name("racing");
    let capacity = 3;
    let per_producer = 60;
    let watcher = open(url, &name, capacity);
    let children: Vec<Child> = (0..4_u64)
        .map(|p| {
            let first = (p * 1000).to_string();
            spawn(&[
                "producer",
                url,
                &name,
                "3",
                &first,
                &per_producer.to_string(),
            ])
        })
        .collect();
    let done = AtomicBool::new(false);
    let (most, samples, got) = thread::scope(|scope| {
        let sampler = scope.spawn(|| {
            let (mut most, mut samples) = (0, 0);
            while !done.load(Ordering::Relaxed) {
                most = most.max(watcher.accounting().expect("accounting").in_buffer);
                samples += 1;
            }
            (most, samples)
        });
        let consumer = open(url, &name, capacity);
        let mut got = HashSet::new();
        while got.len() < 4 * per_producer {
            got.insert(consumer.get().expect("get"));
            consumer.acknowledge().expect("acknowledge");
        }
        done.store(true, Ordering::Relaxed);
        let (most, samples) = sampler.join().expect("sampler");
        (most, samples, got)
    });
    for child in children {
        assert!(wait(child).success());
    }
    assert!(
        most <= capacity as u64,
        "{most} in flight with capacity {capacity}"
    );
    assert!(
        samples > 10,
        "the bound was sampled throughout ({samples} samples)"
    );
    let expected: HashSet<u64> = (0..4)
        .flat_map(|p| (0..per_producer as u64).map(move |i| p * 1000 + i))
        .collect();
    assert_eq!(got, expected);
    let accounting = watcher.accounting().expect("accounting");
    assert_eq!(
        (
            accounting.produced,
            accounting.acknowledged,
            accounting.in_buffer
        ),
        (240, 240, 0)
    );
    assert!(accounting.high_water <= capacity as u64);
    watcher.destroy().expect("destroy");
}

fn killed_consumer(url: &str) {
    let trials = 20;
    let items = 200_u64;
    let mut recoveries = Vec::new();
    let mut redelivered_total = 0;
    for trial in 0..trials {
        let name = common::name("killed-consumer");
        let buffer = open(url, &name, 256);
        buffer.put_batch((0..items).collect()).expect("put");
        buffer.close().expect("close");
        // Odd trials kill the victim while it holds a batch it took (a random one); even trials
        // kill it at a random line of its output, wherever it is then (in a take, between the
        // take and its acknowledgement, or in the acknowledgement).
        let holding = trial % 2 == 1;
        let hold_at = random(1..=12, trial).to_string();
        let mut victim = if holding {
            spawn(&["consumer", url, &name, "256", &hold_at])
        } else {
            spawn(&["consumer", url, &name, "256"])
        };
        let pid = victim.id();
        let kill_at = random(1..=120, trial);
        let (killed_tx, killed) = mpsc::channel();
        let reader = lines(&mut victim, move |line, count| {
            if (holding && line == "holding") || (!holding && count == kill_at) {
                kill_9(pid);
                let _ = killed_tx.send(Instant::now());
            }
        });
        let killed_at = killed
            .recv_timeout(CHILD_LIMIT)
            .expect("the victim was killed");
        let status = wait(victim);
        assert!(!status.success(), "trial {trial}: the victim was killed");
        let output = reader.join().expect("reader");
        let (mut taken, mut acked) = (BTreeSet::new(), BTreeSet::new());
        for line in &output {
            match line.split_once(' ') {
                Some(("T", item)) => {
                    taken.insert(item.parse::<u64>().expect("an item"));
                }
                Some(("A", item)) => {
                    acked.insert(item.parse::<u64>().expect("an item"));
                }
                _ => {}
            }
        }
        // Its pending items: taken, and not known to be acknowledged.
        let pending: BTreeSet<u64> = taken.difference(&acked).copied().collect();
        let mut survivor_got = BTreeSet::new();
        let mut last_pending_back = None;
        loop {
            match buffer.get() {
                Ok(item) => {
                    assert!(
                        survivor_got.insert(item),
                        "trial {trial}: {item} twice to the survivor"
                    );
                    assert!(
                        !acked.contains(&item),
                        "trial {trial}: {item} acknowledged, then redelivered"
                    );
                    if pending.contains(&item) {
                        last_pending_back = Some(Instant::now());
                    }
                    buffer.acknowledge().expect("acknowledge");
                }
                Err(err) if err.is_closed() => break,
                Err(err) => panic!("trial {trial}: {err}"),
            }
        }
        let accounting = buffer.accounting().expect("accounting");
        let twice: BTreeSet<u64> = survivor_got.intersection(&taken).copied().collect();
        assert!(
            twice.is_subset(&pending),
            "trial {trial}: duplicates only among the victim's pending items"
        );
        // Each duplicate was counted as redelivered; so were items the victim had taken but
        // not yet printed when it died (at most one batch of 8).
        let redelivered = accounting.redelivered as usize;
        assert!(
            (twice.len()..=twice.len() + 8).contains(&redelivered),
            "trial {trial}: {redelivered} redelivered, {} seen twice",
            twice.len()
        );
        let all: BTreeSet<u64> = survivor_got.union(&taken).copied().collect();
        assert_eq!(all.len() as u64, items, "trial {trial}: nothing lost");
        assert_eq!(
            (
                accounting.produced,
                accounting.acknowledged,
                accounting.dead,
                accounting.in_buffer
            ),
            (items, items, 0, 0),
            "trial {trial}"
        );
        if holding {
            // It held exactly its last batch: all of it, and nothing else, came back.
            assert_eq!(twice, pending, "trial {trial}");
            assert_eq!(redelivered, pending.len(), "trial {trial}");
            assert!(last_pending_back.is_some(), "trial {trial}");
        }
        if let Some(back) = last_pending_back {
            let recovery = back - killed_at;
            assert!(
                recovery <= LEASE + RECLAIM + Duration::from_secs(1),
                "trial {trial}: recovered in {recovery:?}"
            );
            recoveries.push(recovery);
        }
        redelivered_total += accounting.redelivered;
        buffer.destroy().expect("destroy");
    }
    recoveries.sort();
    println!(
        "  {trials} trials: 0 lost, {redelivered_total} redelivered (all among the victim's pending items); recovery after kill -9 {:?} to {:?} (lease {LEASE:?}, reclaim every {RECLAIM:?})",
        recoveries.first().unwrap_or(&Duration::ZERO),
        recoveries.last().unwrap_or(&Duration::ZERO),
    );
}

fn killed_producer(url: &str) {
    let total = 300_u64;
    for trial in 0..5 {
        let name = common::name("killed-producer");
        let id = format!("producer-{trial}");
        let mut first = spawn(&["resuming", url, &name, &id, &total.to_string()]);
        let pid = first.id();
        let kill_at = random(1..=250, trial);
        let reader = lines(&mut first, move |_, count| {
            if count == kill_at {
                kill_9(pid);
            }
        });
        assert!(
            !wait(first).success(),
            "trial {trial}: the producer was killed"
        );
        reader.join().expect("reader");
        let restarted = spawn(&["resuming", url, &name, &id, &total.to_string()]);
        assert!(wait(restarted).success());
        let buffer = open(url, &name, 10_000);
        buffer.close().expect("close");
        let mut got = Vec::new();
        loop {
            match buffer.get_batch_into(&mut got, 64) {
                Ok(_) => buffer.acknowledge().expect("acknowledge"),
                Err(err) if err.is_closed() => break,
                Err(err) => panic!("trial {trial}: {err}"),
            }
        }
        assert_eq!(
            got,
            (0..total).collect::<Vec<_>>(),
            "trial {trial}: each item once, in order"
        );
        let accounting = buffer.accounting().expect("accounting");
        assert_eq!(
            (accounting.produced, accounting.acknowledged),
            (total, total)
        );
        buffer.destroy().expect("destroy");
    }
}

fn close_across_processes(url: &str) {
    let name = common::name("close");
    let buffer = open(url, &name, 32);
    let mut consumers: Vec<Child> = (0..3)
        .map(|_| spawn(&["consumer", url, &name, "32"]))
        .collect();
    let readers: Vec<_> = consumers
        .iter_mut()
        .map(|child| lines(child, |_, _| {}))
        .collect();
    buffer.put_batch((0..300).collect()).expect("put");
    buffer.close().expect("close");
    for child in consumers {
        assert!(wait(child).success(), "every consumer ends after close");
    }
    let mut done = 0;
    let mut acked = HashSet::new();
    for reader in readers {
        for line in reader.join().expect("reader") {
            if let Some(count) = line.strip_prefix("done ") {
                done += count.parse::<u64>().expect("a count");
            } else if let Some(item) = line.strip_prefix("A ") {
                assert!(
                    acked.insert(item.parse::<u64>().expect("an item")),
                    "{item} twice"
                );
            }
        }
    }
    assert_eq!(done, 300);
    assert_eq!(acked, (0..300).collect());
    let accounting = buffer.accounting().expect("accounting");
    assert_eq!(
        (
            accounting.acknowledged,
            accounting.in_buffer,
            accounting.redelivered
        ),
        (300, 0, 0)
    );
    buffer.destroy().expect("destroy");
}

/// A relay process (a stage between two buffers) killed with kill -9, 10 times, at a random
/// line of its output or while it holds an item: a relay in the test takes over, and the next
/// buffer holds each item's outcome exactly once.
fn killed_relay(url: &str) {
    let trials = 10;
    let items = 100_u64;
    let mut redelivered_total = 0;
    for trial in 0..trials {
        let (from_name, to_name) = (common::name("relay-from"), common::name("relay-to"));
        let (from, to) = (open(url, &from_name, 256), open(url, &to_name, 256));
        from.put_batch((0..items).collect()).expect("put");
        from.close().expect("close");
        // Odd trials kill the victim while it holds an item it took (a random one); even trials
        // at a random line of its output but "done" (after which it only waits): in a take,
        // between a take and its forward, in a forward, or after one.
        let holding = trial % 2 == 1;
        let hold_at = random(1..=items as usize, trial).to_string();
        let mut victim = if holding {
            spawn(&["relay", url, &from_name, &to_name, &hold_at])
        } else {
            spawn(&["relay", url, &from_name, &to_name])
        };
        let pid = victim.id();
        let kill_at = random(1..=2 * items as usize, trial);
        let (killed_tx, killed) = mpsc::channel();
        let reader = lines(&mut victim, move |line, count| {
            if (holding && line == "holding") || (!holding && count == kill_at) {
                kill_9(pid);
                let _ = killed_tx.send(());
            }
        });
        // Only then waited for: waiting closes its stdin, which ends a relay that waits.
        killed
            .recv_timeout(CHILD_LIMIT)
            .expect("the victim was killed");
        let status = wait(victim);
        assert!(!status.success(), "trial {trial}: the victim was killed");
        drop(reader.join().expect("reader"));
        for delivery in from.deliveries() {
            let delivery = delivery.expect("take");
            let item = delivery.item + RELAYED;
            delivery.lease.forward(&to, vec![item]).expect("forward");
        }
        to.close().expect("close");
        let mut outcomes = Vec::new();
        while let Ok(item) = to.get() {
            outcomes.push(item);
            to.acknowledge().expect("acknowledge");
        }
        outcomes.sort_unstable();
        let expected: Vec<u64> = (0..items).map(|item| item + RELAYED).collect();
        assert_eq!(outcomes, expected, "trial {trial}: each outcome once");
        let (sent, got) = (
            from.accounting().expect("from"),
            to.accounting().expect("to"),
        );
        assert_eq!(
            (sent.acknowledged, sent.in_buffer, got.produced),
            (items, 0, items),
            "trial {trial}"
        );
        if holding {
            assert_eq!(
                sent.redelivered, 1,
                "trial {trial}: the held item came again"
            );
        }
        redelivered_total += sent.redelivered;
        from.destroy().expect("destroy");
        to.destroy().expect("destroy");
    }
    println!(
        "  {trials} trials: 0 lost, 0 duplicated in the next buffer, {redelivered_total} redelivered from the first"
    );
}
