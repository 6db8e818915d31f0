//! Producer and consumers in separate processes on one Redis buffer: one worker is killed
//! mid-run, the others take over its items, and the accounting comes out exact.
//!
//! `cargo run --release --example distributed` runs it all on this machine: a producer here and
//! three worker processes of this same binary against one Redis URL (`PC_REDIS_URL`, else
//! `redis://127.0.0.1:6379/`, else a private `redis-server` if one is on PATH). On several
//! machines, point every process at one server:
//!
//! ```text
//! PC_REDIS_URL=redis://redis-host:6379/ cargo run --release --example distributed -- worker jobs
//! PC_REDIS_URL=redis://redis-host:6379/ cargo run --release --example distributed -- produce jobs 200
//! ```
//!
//! On a Redis Cluster, set `PC_REDIS_CLUSTER` to one or more of its nodes' URLs, comma-separated,
//! instead of `PC_REDIS_URL`.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::collections::BTreeSet;
use std::env;
use std::error::Error;
use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::thread;
use std::time::Duration;

use std::convert::Infallible;

use pc_redis::RedisBuffer;
use pc_roles::{ConsumerRole, Flow, ProducerRole, Sink, from_fn};
use serde::{Deserialize, Serialize};

type Result<T> = std::result::Result<T, Box<dyn Error + Send + Sync>>;

/// A message as in the original design: an id and its content.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Message {
    id: u32,
    content: String,
}

const CAPACITY: usize = 16;
const LEASE: Duration = Duration::from_secs(1);
const WORKERS: usize = 3;
const MESSAGES: u32 = 200;

/// Opens the buffer on the Redis Cluster of `PC_REDIS_CLUSTER` (its nodes' URLs, comma-separated)
/// if that is set, else on the server at `url`.
fn open(url: &str, name: &str) -> Result<RedisBuffer<Message>> {
    let builder = match env::var("PC_REDIS_CLUSTER") {
        Ok(nodes) => RedisBuffer::cluster_builder(nodes.split(','), name),
        Err(_) => RedisBuffer::builder(url, name),
    };
    Ok(builder
        .capacity(CAPACITY)
        .lease(LEASE)
        .reclaim_interval(Duration::from_millis(200))
        .connect()?)
}

fn main() -> Result<()> {
    let args: Vec<String> = env::args().skip(1).collect();
    let url = env::var("PC_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".into());
    match args.first().map(String::as_str) {
        Some("worker") => worker(&url, arg(&args, 1)?),
        Some("produce") => {
            let count = arg(&args, 2)?.parse()?;
            produce(&open(&url, arg(&args, 1)?)?, count)?;
            Ok(())
        }
        Some(other) => {
            Err(format!("unknown mode {other:?}: use worker NAME or produce NAME COUNT").into())
        }
        None => local_run(url),
    }
}

fn arg(args: &[String], i: usize) -> Result<&str> {
    args.get(i)
        .map(String::as_str)
        .ok_or_else(|| "usage: distributed [worker NAME | produce NAME COUNT]".into())
}

/// Puts messages 1 to `count` and closes the buffer.
fn produce(buffer: &RedisBuffer<Message>, count: u32) -> Result<()> {
    let messages = (1..=count).map(|id| Message {
        id,
        content: format!("Message {id}"),
    });
    let report = ProducerRole::new()
        .chunk(8)
        .run(messages, buffer)
        .map_err(|err| err.cause.to_string())?;
    println!("[Producer] {} messages put", report.items);
    buffer.close()?;
    Ok(())
}

/// Takes messages until the buffer is closed and drained, printing `processed ID ID ...` for
/// each batch just before the role acknowledges it.
fn worker(url: &str, name: &str) -> Result<()> {
    let buffer = open(url, name)?;
    let report = ConsumerRole::new()
        .batch(4)
        .run(
            from_fn(|message: Message| {
                // The work: a few milliseconds per message.
                thread::sleep(Duration::from_millis(3));
                message.id
            }),
            &buffer,
            Printer(Vec::new()),
        )
        .map_err(|err| err.cause.to_string())?;
    println!("done {}", report.items);
    Ok(())
}

/// A sink that prints the ids of each batch when the role flushes it.
struct Printer(Vec<u32>);

impl Sink<u32, Infallible> for Printer {
    fn accept(&mut self, outcome: std::result::Result<u32, Infallible>) -> Flow {
        let Ok(id) = outcome;
        self.0.push(id);
        Flow::Continue
    }

    fn flush(&mut self) {
        if !self.0.is_empty() {
            let ids: Vec<String> = self.0.drain(..).map(|id| id.to_string()).collect();
            println!("processed {}", ids.join(" "));
        }
    }
}

fn local_run(url: String) -> Result<()> {
    let (url, _server) = match open(&url, "distributed-probe") {
        Ok(probe) => {
            probe.destroy()?;
            (url, None)
        }
        // A cluster named is the one to use: no private server stands in for it.
        Err(err) if env::var_os("PC_REDIS_CLUSTER").is_some() => return Err(err),
        Err(_) => {
            let server = PrivateServer::start()?;
            (server.url.clone(), Some(server))
        }
    };
    let name = format!("distributed-{}", std::process::id());
    let buffer = open(&url, &name)?;
    println!("Buffer {name}: capacity {CAPACITY}, lease {LEASE:?}, {WORKERS} worker processes");
    let exe = env::current_exe()?;
    let mut workers = Vec::new();
    for _ in 0..WORKERS {
        let mut child = Command::new(&exe)
            .args(["worker", &name])
            .env("PC_REDIS_URL", &url)
            .stdout(Stdio::piped())
            .spawn()?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        workers.push((child, BufReader::new(stdout)));
    }
    let producer = thread::scope(|scope| {
        let producer = scope.spawn(|| produce(&buffer, MESSAGES));
        // Kill the first worker once it has processed three batches: whatever it holds then is
        // pending, and goes to the others when its lease runs out.
        let (victim, output) = &mut workers[0];
        let mut acked = BTreeSet::new();
        let mut batches = 0;
        while batches < 3 {
            let mut line = String::new();
            if output.read_line(&mut line)? == 0 {
                break;
            }
            if let Some(ids) = line.trim().strip_prefix("processed ") {
                acked.extend(ids.split(' ').filter_map(|id| id.parse::<u32>().ok()));
                batches += 1;
            }
        }
        victim.kill()?;
        victim.wait()?;
        println!(
            "Killed worker 1 (pid {}) after it processed {} messages",
            victim.id(),
            acked.len()
        );
        let rest = collect(output);
        acked.extend(rest.0);
        producer.join().map_err(|_| "the producer panicked")??;
        Ok::<_, Box<dyn Error + Send + Sync>>(acked)
    })?;
    let mut acknowledged: Vec<u32> = producer.into_iter().collect();
    for (n, (child, output)) in workers.iter_mut().enumerate().skip(1) {
        let (ids, done) = collect(output);
        let status = child.wait()?;
        println!("Worker {} ended ({status}): {done} messages", n + 1);
        acknowledged.extend(ids);
    }
    let distinct: BTreeSet<u32> = acknowledged.iter().copied().collect();
    let accounting = buffer.accounting()?;
    println!();
    println!("Total messages: {MESSAGES}");
    println!("Messages produced: {}", accounting.produced);
    println!("Messages acknowledged: {}", accounting.acknowledged);
    println!("Dead letters: {}", accounting.dead);
    println!("Left in the buffer: {}", accounting.in_buffer);
    println!(
        "Redelivered after the kill: {} (processed twice: {})",
        accounting.redelivered,
        acknowledged.len() - distinct.len()
    );
    let success = accounting.produced == u64::from(MESSAGES)
        && accounting.produced == accounting.acknowledged + accounting.dead + accounting.in_buffer
        && accounting.in_buffer == 0
        && distinct == (1..=MESSAGES).collect();
    buffer.destroy()?;
    println!(
        "Verification: {}",
        if success { "Success" } else { "Failed" }
    );
    if success {
        Ok(())
    } else {
        Err("verification failed".into())
    }
}

/// Reads a worker's output to its end: the ids it processed and its own count.
fn collect(output: &mut BufReader<ChildStdout>) -> (Vec<u32>, u64) {
    let (mut ids, mut done) = (Vec::new(), 0);
    for line in output.lines().map_while(std::result::Result::ok) {
        if let Some(acked) = line.strip_prefix("processed ") {
            ids.extend(acked.split(' ').filter_map(|id| id.parse::<u32>().ok()));
        } else if let Some(count) = line.strip_prefix("done ") {
            done = count.parse().unwrap_or(0);
        }
    }
    (ids, done)
}

/// A `redis-server` of this run's own on a Unix socket, stopped when dropped.
struct PrivateServer {
    url: String,
    child: Child,
}

impl PrivateServer {
    fn start() -> Result<Self> {
        let socket = env::temp_dir().join(format!("pc-distributed-{}.sock", std::process::id()));
        let mut child = Command::new("redis-server")
            .args([
                "--port",
                "0",
                "--save",
                "",
                "--appendonly",
                "no",
                "--unixsocket",
            ])
            .arg(&socket)
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|err| {
                format!(
                    "no Redis at PC_REDIS_URL or 127.0.0.1:6379, and redis-server cannot run: {err}"
                )
            })?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let ready = lines
            .by_ref()
            .map_while(std::result::Result::ok)
            .any(|line| {
                line.to_ascii_lowercase()
                    .contains("ready to accept connections")
            });
        if !ready {
            return Err("redis-server did not start".into());
        }
        thread::spawn(move || lines.for_each(drop));
        println!("Started a private redis-server on {}", socket.display());
        Ok(Self {
            url: format!("redis+unix://{}", socket.display()),
            child,
        })
    }
}

impl Drop for PrivateServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
