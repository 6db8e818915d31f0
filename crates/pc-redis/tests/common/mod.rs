//! A Redis server for the tests: `PC_REDIS_URL` if set, else a throwaway `redis-server` on a Unix
//! socket, else the tests are skipped with one line saying how to run them. And a Redis Cluster:
//! `PC_REDIS_CLUSTER` (its nodes' URLs, comma-separated) if set, else three throwaway nodes on
//! loopback ports joined by `redis-cli --cluster create`, else skipped the same way.

#![allow(dead_code)]

use std::env;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::thread;

use pc_redis::{Builder, RedisBuffer};

/// Where a test's buffers live: one server, or a cluster.
pub enum Place {
    Node(String),
    Cluster(Vec<String>),
}

impl Place {
    /// A builder for the buffer `name` here.
    pub fn builder<T>(&self, name: &str) -> Builder<T> {
        match self {
            Self::Node(url) => RedisBuffer::builder(url, name),
            Self::Cluster(nodes) => RedisBuffer::cluster_builder(nodes, name),
        }
    }

    /// A builder for a fresh buffer of this test here.
    pub fn fresh<T>(&self, test: &str) -> Builder<T> {
        self.builder(&name(test))
    }
}

/// The shared server, as a [`Place`].
pub fn node() -> Option<Place> {
    url().map(Place::Node)
}

/// The shared cluster's node URLs, or `None` (after saying so once) when there is none; with
/// `PC_REDIS_REQUIRED=1` that fails the test instead.
pub fn cluster() -> Option<Place> {
    static NODES: OnceLock<Option<Vec<String>>> = OnceLock::new();
    let nodes = NODES.get_or_init(|| {
        if let Ok(nodes) = env::var("PC_REDIS_CLUSTER") {
            return Some(nodes.split(',').map(str::to_owned).collect());
        }
        start_cluster(3)
    });
    if nodes.is_none() {
        required_but(
            "there is no Redis Cluster: set PC_REDIS_CLUSTER or install redis-server and redis-cli",
        );
        static SAID: OnceLock<()> = OnceLock::new();
        SAID.get_or_init(|| {
            say("Redis Cluster tests skipped: no cluster (set PC_REDIS_CLUSTER=redis://127.0.0.1:7000/,... or put redis-server and redis-cli on PATH)");
        });
    }
    nodes.clone().map(Place::Cluster)
}

/// A loopback port free now, whose cluster bus port (10,000 above it) is free too.
pub fn spare_tcp_port() -> Option<u16> {
    (0..100).find_map(|_| {
        let port = TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let bus = port.checked_add(10_000)?;
        TcpListener::bind(("127.0.0.1", bus)).ok()?;
        Some(port)
    })
}

/// Starts `count` cluster nodes and joins them into one cluster with every slot assigned; their
/// URLs, or `None` if `redis-server` or `redis-cli` cannot be run. The nodes live as long as
/// the test process (see [`Server::start`]).
fn start_cluster(count: usize) -> Option<Vec<String>> {
    let dir = env::temp_dir().join(format!("pc-redis-cluster-{}", std::process::id()));
    std::fs::create_dir_all(&dir).ok()?;
    let mut ports = Vec::new();
    for node in 0..count {
        // A port taken between the look and the server's bind: try another.
        let (port, server) = (0..5).find_map(|_| {
            let port = spare_tcp_port()?.to_string();
            let config = dir.join(format!("nodes-{node}.conf"));
            let _ = std::fs::remove_file(&config);
            let args = [
                "--port",
                &port,
                "--bind",
                "127.0.0.1",
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                &config.display().to_string(),
                "--save",
                "",
                "--appendonly",
                "no",
            ];
            let url = format!("redis://127.0.0.1:{port}/");
            Server::spawn(&args, url, PathBuf::new()).map(|server| (port, server))
        })?;
        std::mem::forget(server);
        ports.push(port);
    }
    // `timeout`: redis-cli waits for the nodes to agree, without a bound of its own.
    let joined = Command::new("timeout")
        .args(["60", "redis-cli", "--cluster"])
        .arg("create")
        .args(ports.iter().map(|port| format!("127.0.0.1:{port}")))
        .args(["--cluster-replicas", "0", "--cluster-yes"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .ok()?;
    joined.success().then(|| {
        ports
            .iter()
            .map(|port| format!("redis://127.0.0.1:{port}/"))
            .collect()
    })
}

/// The shared server's URL, or `None` (after saying so once) when there is none. With
/// `PC_REDIS_REQUIRED=1` (as CI sets it) a missing server fails the test instead.
pub fn url() -> Option<String> {
    static URL: OnceLock<Option<String>> = OnceLock::new();
    let url = URL.get_or_init(|| {
        if let Ok(url) = env::var("PC_REDIS_URL") {
            return Some(url);
        }
        let server = Server::start(&[])?;
        let url = server.url.clone();
        // The shared server lives as long as the test process (see `Server::start`).
        std::mem::forget(server);
        Some(url)
    });
    if url.is_none() {
        required_but("there is no Redis server: set PC_REDIS_URL or install redis-server");
        static SAID: OnceLock<()> = OnceLock::new();
        SAID.get_or_init(|| {
            say("Redis tests skipped: no server (set PC_REDIS_URL=redis://127.0.0.1:6379/ or put redis-server on PATH)");
        });
    }
    url.clone()
}

/// A buffer name no other test (or run) uses.
pub fn name(test: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos());
    format!(
        "test-{test}-{}-{nanos:x}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Fails the test if CI asks for the Redis tests to run (`PC_REDIS_REQUIRED=1`), since `missing`.
fn required_but(missing: &str) {
    assert!(
        env::var("PC_REDIS_REQUIRED").as_deref() != Ok("1"),
        "PC_REDIS_REQUIRED=1 but {missing}"
    );
}

/// One line to stderr, past the test harness, which captures `eprintln!` of passing tests.
fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "pc-redis: {line}");
}

/// A builder for a fresh buffer of this test on the shared server.
pub fn fresh<T>(url: &str, test: &str) -> Builder<T> {
    RedisBuffer::builder(url, &name(test))
}

/// A `redis-server` of the tests' own, on a Unix socket, without persistence.
///
/// It runs under `sh`, which kills it when the test process's end of its stdin closes: a server
/// outlives neither a test that is killed nor the process of the shared server.
pub struct Server {
    pub url: String,
    pub socket: PathBuf,
    child: Child,
    stdin: Mutex<Option<ChildStdin>>,
}

/// Runs `redis-server "$@"` until the test process's end of stdin closes; the shell's stdout
/// (the server's log) ends when the server does, whether it was stopped or never started.
const WATCHED: &str = r#"exec 3<&0
redis-server "$@" </dev/null & server=$!
{ read _ <&3; kill $server; } >/dev/null 2>&1 &
wait $server"#;

impl Server {
    /// Starts a server with `extra` arguments; `None` if `redis-server` cannot be run.
    pub fn start(extra: &[&str]) -> Option<Self> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let socket = env::temp_dir().join(format!(
            "pc-redis-{}-{}.sock",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_file(&socket);
        Self::start_on(socket, extra)
    }

    fn start_on(socket: PathBuf, extra: &[&str]) -> Option<Self> {
        let path = socket.display().to_string();
        let mut args = vec![
            "--port",
            "0",
            "--unixsocket",
            &path,
            "--save",
            "",
            "--appendonly",
            "no",
        ];
        args.extend(extra);
        let url = format!("redis+unix://{path}");
        Self::spawn(&args, url, socket)
    }

    /// Runs `redis-server` with `args` under the watching shell; `None` if it does not start.
    fn spawn(args: &[&str], url: String, socket: PathBuf) -> Option<Self> {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(WATCHED)
            .arg("sh")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let stdin = child.stdin.take();
        let mut lines = BufReader::new(child.stdout.take()?).lines();
        // The server says when it accepts connections; it says nothing if it cannot start.
        let ready = lines.by_ref().map_while(Result::ok).any(|line| {
            line.to_ascii_lowercase()
                .contains("ready to accept connections")
        });
        if !ready {
            drop(stdin);
            let _ = child.wait();
            return None;
        }
        thread::spawn(move || lines.for_each(drop));
        Some(Self {
            url,
            socket,
            child,
            stdin: Mutex::new(stdin),
        })
    }

    /// Stops the server and waits until it is gone.
    pub fn stop(&mut self) {
        drop(self.stdin.lock().unwrap().take());
        let _ = self.child.wait();
    }

    /// Starts a new server on the same socket, with nothing in it (persistence is off).
    pub fn restart(&mut self, extra: &[&str]) {
        self.stop();
        let _ = std::fs::remove_file(&self.socket);
        let fresh = Self::start_on(self.socket.clone(), extra).expect("the server restarts");
        *self = fresh;
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A server of the test's own on a loopback TCP port (for what a Unix socket cannot do, such as
/// a cluster client's seed), with its URL; `None` as for [`own_server`].
pub fn own_tcp_server() -> Option<(Server, String)> {
    // A port taken between the look and the server's bind: try another.
    let started = (0..5).find_map(|_| {
        let port = spare_tcp_port()?.to_string();
        let server = Server::start(&["--port", &port, "--bind", "127.0.0.1"])?;
        Some((server, format!("redis://127.0.0.1:{port}/")))
    });
    if started.is_none() {
        required_but("redis-server cannot be started on a TCP port");
        say("a test with a TCP server of its own skipped: redis-server is not on PATH");
    }
    started
}

/// A server of the test's own (to stop, restart or protect with a password), or `None` (after
/// saying so) when `redis-server` cannot be run; with `PC_REDIS_REQUIRED=1` that fails instead.
pub fn own_server(extra: &[&str]) -> Option<Server> {
    let server = Server::start(extra);
    if server.is_none() {
        required_but("redis-server cannot be started");
        say("a test with a server of its own skipped: redis-server is not on PATH");
    }
    server
}
