//! The Redis buffer against `redis-benchmark` on the same server in the same run: batches of 64
//! and one item at a time, 100-byte items, one producer and two consumers, every item put, taken
//! and acknowledged, and a relay forwarding each item into a second buffer, one at a time,
//! against `XADD` of a 100-byte field at `-P 16` and `-P 1`; beside the rates,
//! the server's CPU time per item (or request), from `INFO cpu` before and after each run.
//!
//! `PC_REPS=5 cargo bench -p pc-benches --bench redis`. Uses `PC_REDIS_URL` if it is a TCP URL
//! (`redis://host:port/`), else starts `redis-server` on a spare loopback port. `PC_ITEMS` sets the
//! items per batched run (the single-item runs move a quarter of them); `PC_ONLY` the start of
//! a row's name (for example `one`) runs only the rows it starts.

use std::env;
use std::io::{BufRead, BufReader};
use std::iter;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::Instant;

use pc_redis::{Delivery, RedisBuffer};
use pc_roles::{ConsumerRole, Flow, ProducerRole, from_fn};

const ITEM_BYTES: usize = 100;

fn main() {
    let reps: usize = env::var("PC_REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let items: usize = env::var("PC_ITEMS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let only = env::var("PC_ONLY").unwrap_or_default();
    let (host, port, _server) = server();
    let url = format!("redis://{host}:{port}/");
    println!("redis-server at {host}:{port}, {reps} repetitions, alternated, medians");
    let jobs = [
        ("batches of 64 | redis-benchmark -c 1 -P 16", 16, 64, items),
        ("one at a time | redis-benchmark -c 1 -P 1", 1, 1, items / 4),
        (
            "a relay between two buffers, one at a time | redis-benchmark -c 1 -P 1",
            1,
            0,
            items / 4,
        ),
    ];
    let jobs: Vec<_> = jobs
        .into_iter()
        .filter(|(job, ..)| job.starts_with(&only))
        .collect();
    let mut rows: Vec<Row> = jobs.iter().map(|&(job, ..)| Row::new(job)).collect();
    for rep in 0..reps {
        for (row, &(_, pipeline, batch, n)) in jobs.iter().enumerate() {
            let before = server_cpu(&host, port);
            let theirs = redis_benchmark(&host, port, pipeline, n);
            let between = server_cpu(&host, port);
            let name = format!("bench-{rep}-{row}");
            let ours = match batch {
                0 => relay_run(&url, &name, n),
                batch => buffer_run(&url, &name, batch, n),
            };
            let (theirs_cpu, ours_cpu) = (between - before, server_cpu(&host, port) - between);
            let row = &mut rows[row];
            row.ours.push(ours);
            row.theirs.push(theirs);
            row.ours_us.push(ours_cpu * 1e6 / n as f64);
            row.theirs_us.push(theirs_cpu * 1e6 / n as f64);
        }
    }
    println!();
    println!("| job | pc-redis | redis-benchmark XADD | ratio | server µs per item | per XADD |");
    println!("| --- | --- | --- | --- | --- | --- |");
    for row in rows {
        let ratios: Vec<f64> = row
            .ours
            .iter()
            .zip(&row.theirs)
            .map(|(o, t)| o / t)
            .collect();
        println!(
            "| {} | {:.0} | {:.0} | {:.2}x | {:.1} | {:.1} |",
            row.job,
            median(row.ours),
            median(row.theirs),
            median(ratios),
            median(row.ours_us),
            median(row.theirs_us)
        );
    }
}

/// One row's readings, one per repetition.
struct Row {
    job: &'static str,
    ours: Vec<f64>,
    theirs: Vec<f64>,
    ours_us: Vec<f64>,
    theirs_us: Vec<f64>,
}

impl Row {
    fn new(job: &'static str) -> Self {
        Self {
            job,
            ours: Vec::new(),
            theirs: Vec::new(),
            ours_us: Vec::new(),
            theirs_us: Vec::new(),
        }
    }
}

/// The server's CPU time so far (user and system), in seconds, from `INFO cpu`.
fn server_cpu(host: &str, port: u16) -> f64 {
    let output = Command::new("redis-cli")
        .args(["-h", host, "-p", &port.to_string(), "INFO", "cpu"])
        .output()
        .expect("redis-cli on PATH (it comes with redis-server)");
    let text = String::from_utf8_lossy(&output.stdout);
    ["used_cpu_user:", "used_cpu_sys:"]
        .iter()
        .map(|field| {
            text.lines()
                .find_map(|line| line.strip_prefix(field))
                .and_then(|value| value.trim().parse::<f64>().ok())
                .unwrap_or_else(|| panic!("no {field} in INFO cpu: {text}"))
        })
        .sum()
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// `PC_REDIS_URL`'s host and port, or a server of the runner's own.
fn server() -> (String, u16, Option<Server>) {
    if let Ok(url) = env::var("PC_REDIS_URL") {
        let rest = url.strip_prefix("redis://").unwrap_or("");
        let address = rest.split('/').next().unwrap_or("");
        if let Some((host, port)) = address.rsplit_once(':')
            && let Ok(port) = port.parse()
        {
            return (host.to_string(), port, None);
        }
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a spare port")
        .port();
    let server = Server::start(port);
    ("127.0.0.1".into(), port, Some(server))
}

struct Server(Child);

impl Server {
    fn start(port: u16) -> Self {
        let mut child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("redis-server on PATH (apt-get install redis-server)");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        assert!(
            lines.by_ref().map_while(Result::ok).any(|line| line
                .to_ascii_lowercase()
                .contains("ready to accept connections")),
            "redis-server did not start"
        );
        thread::spawn(move || lines.for_each(drop));
        Self(child)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `redis-benchmark -c 1 -P pipeline` on `XADD` of one 100-byte field; requests per second.
fn redis_benchmark(host: &str, port: u16, pipeline: usize, n: usize) -> f64 {
    let field = "x".repeat(ITEM_BYTES);
    let key = format!("bench-xadd-{pipeline}");
    let output = Command::new("redis-benchmark")
        .args(["-h", host, "-p", &port.to_string(), "-c", "1"])
        .args(["-P", &pipeline.to_string(), "-n", &n.to_string(), "--csv"])
        .args(["XADD", &key, "*", "f", &field])
        .output()
        .expect("redis-benchmark on PATH (it comes with redis-server)");
    let text = String::from_utf8_lossy(&output.stdout);
    let _ = Command::new("redis-cli")
        .args(["-h", host, "-p", &port.to_string(), "DEL", &key])
        .output();
    // The CSV's last line: "XADD ...","<requests per second>",...
    text.lines()
        .filter(|line| line.starts_with("\"XADD"))
        .filter_map(|line| line.split("\",\"").nth(1))
        .filter_map(|rate| rate.trim_matches('"').parse().ok())
        .next_back()
        .unwrap_or_else(|| panic!("no rate in redis-benchmark's output: {text}"))
}

/// One producer and two consumers move `n` 100-byte items through a buffer, `batch` per call,
/// driven by the roles as a user runs them (a consumer acknowledges each batch with its next
/// get); items per second from the first put to the last acknowledgement.
fn buffer_run(url: &str, name: &str, batch: usize, n: usize) -> f64 {
    let open = || {
        RedisBuffer::<String>::builder(url, name)
            .capacity(1024)
            .connect()
            .expect("connect")
    };
    let producer = open();
    let consumers = [open(), open()];
    let item = "x".repeat(ITEM_BYTES - 2); // 100 bytes once encoded as a JSON string
    let started = Instant::now();
    let taken: usize = thread::scope(|scope| {
        let handles: Vec<_> = consumers
            .iter()
            .map(|consumer| {
                scope.spawn(move || {
                    ConsumerRole::new()
                        .batch(batch)
                        .run(
                            from_fn(|item: String| item.len()),
                            consumer,
                            |_: Result<usize, _>| Flow::Continue,
                        )
                        .expect("consumer")
                        .items
                })
            })
            .collect();
        let report = ProducerRole::new()
            .chunk(batch)
            .run(iter::repeat_n(item, n), &producer)
            .expect("producer");
        assert_eq!(report.items, n);
        producer.close().expect("close");
        handles
            .into_iter()
            .map(|h| h.join().expect("consumer"))
            .sum()
    });
    let rate = n as f64 / started.elapsed().as_secs_f64();
    let accounting = producer.accounting().expect("accounting");
    assert_eq!(taken, n);
    assert_eq!(
        (accounting.produced, accounting.acknowledged),
        (n as u64, n as u64)
    );
    producer.destroy().expect("destroy");
    rate
}

/// A producer puts `n` 100-byte items one at a time into one buffer, a relay forwards each into
/// a second buffer (`Lease::forward`: put and acknowledge in one step), and a consumer takes them
/// from the second one at a time; items per second from the first put to the last
/// acknowledgement.
fn relay_run(url: &str, name: &str, n: usize) -> f64 {
    let open = |name: &str| {
        RedisBuffer::<String>::builder(url, name)
            .capacity(1024)
            .connect()
            .expect("connect")
    };
    let (first, next) = (format!("{name}-first"), format!("{name}-next"));
    let (producer, relay_from, relay_to, consumer) =
        (open(&first), open(&first), open(&next), open(&next));
    let item = "x".repeat(ITEM_BYTES - 2);
    let started = Instant::now();
    let taken = thread::scope(|scope| {
        let taken = scope.spawn(|| {
            ConsumerRole::new()
                .batch(1)
                .run(
                    from_fn(|item: String| item.len()),
                    &consumer,
                    |_: Result<usize, _>| Flow::Continue,
                )
                .expect("consumer")
                .items
        });
        scope.spawn(|| {
            for delivery in relay_from.deliveries() {
                let Delivery { item, lease } = delivery.expect("take");
                lease.forward(&relay_to, vec![item]).expect("forward");
            }
            relay_to.close().expect("close");
        });
        let report = ProducerRole::new()
            .chunk(1)
            .run(iter::repeat_n(item, n), &producer)
            .expect("producer");
        assert_eq!(report.items, n);
        producer.close().expect("close");
        taken.join().expect("consumer")
    });
    let rate = n as f64 / started.elapsed().as_secs_f64();
    assert_eq!(taken, n);
    for (buffer, put) in [(&producer, n), (&consumer, n)] {
        let accounting = buffer.accounting().expect("accounting");
        assert_eq!(
            (accounting.produced, accounting.acknowledged),
            (put as u64, put as u64)
        );
        buffer.destroy().expect("destroy");
    }
    rate
}
