//! [`Server`] and [`Connection`]: one Redis node or a Redis Cluster, behind one connection type.
//!
//! Every key of a buffer shares one hash tag, so on a cluster every command and script of a
//! buffer goes to the one node that owns its slot; the cluster client finds that node, follows
//! it when the slot moves (`MOVED`, `ASK`) and retries while the cluster heals. The rest of the
//! crate sends the same commands either way.

use std::time::Duration;

use redis::cluster::{ClusterClient, ClusterConnection};
use redis::{Client, Cmd, ConnectionLike, RedisResult, Value};

use crate::err::{ConnectError, RedisError};

/// How long opening a connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Where a buffer's keys live: the server at one URL, or a cluster found from its seed nodes.
pub(crate) enum Server {
    Node(Client),
    Cluster(ClusterClient),
}

/// A connection to a [`Server`]. The cluster's is boxed: it holds a map of node connections,
/// several times one node's connection, and idle connections wait in a pool.
pub(crate) enum Connection {
    Node(redis::Connection),
    Cluster(Box<ClusterConnection>),
}

/// The kind of a URL error, never its text: the URL may hold a password.
fn invalid(err: &redis::RedisError) -> ConnectError {
    ConnectError::InvalidUrl(format!("{:?}", err.kind()))
}

impl Server {
    /// The server at `url`.
    pub(crate) fn node(url: &str) -> Result<Self, ConnectError> {
        Client::open(url)
            .map(Self::Node)
            .map_err(|err| invalid(&err))
    }

    /// The cluster that `seeds` (one or more of its nodes' URLs) belong to; reads time out after
    /// `read_timeout`.
    pub(crate) fn cluster(seeds: &[String], read_timeout: Duration) -> Result<Self, ConnectError> {
        if seeds.is_empty() {
            return Err(ConnectError::InvalidUrl("no cluster node given".into()));
        }
        let seeds = seeds.iter().map(String::as_str).collect::<Vec<_>>();
        ClusterClient::builder(seeds)
            .connection_timeout(CONNECT_TIMEOUT)
            .response_timeout(read_timeout)
            .build()
            .map(Self::Cluster)
            .map_err(|err| invalid(&err))
    }

    /// Opens a connection whose reads and writes time out after `timeout`.
    pub(crate) fn open(&self, timeout: Duration) -> Result<Connection, RedisError> {
        Ok(match self {
            Self::Node(client) => {
                let connection = client.get_connection_with_timeout(CONNECT_TIMEOUT)?;
                connection.set_read_timeout(Some(timeout))?;
                connection.set_write_timeout(Some(timeout))?;
                Connection::Node(connection)
            }
            Self::Cluster(client) => {
                let connection = client.get_connection()?;
                connection.set_read_timeout(Some(timeout))?;
                connection.set_write_timeout(Some(timeout))?;
                Connection::Cluster(Box::new(connection))
            }
        })
    }

    pub(crate) fn is_cluster(&self) -> bool {
        matches!(self, Self::Cluster(_))
    }

    /// Whether one script may reach the keys of buffers on `self` and on `other`: the same
    /// server and database, or a cluster (where its node refuses keys of two slots).
    pub(crate) fn together_with(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Node(one), Self::Node(other)) => {
                let (one, other) = (one.get_connection_info(), other.get_connection_info());
                one.addr().to_string() == other.addr().to_string()
                    && one.redis_settings().db() == other.redis_settings().db()
            }
            (Self::Cluster(_), Self::Cluster(_)) => true,
            _ => false,
        }
    }
}

/// What `INFO server cluster` told of one node.
pub(crate) struct NodeInfo {
    /// `redis_version`, or "unknown".
    pub(crate) version: String,
    /// Whether the node runs in cluster mode (`cluster_enabled:1`).
    pub(crate) cluster_enabled: bool,
}

impl NodeInfo {
    fn parse(info: &str) -> Self {
        let field = |name: &str| {
            info.lines()
                .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
                .map(str::trim)
        };
        Self {
            version: field("redis_version").unwrap_or("unknown").to_owned(),
            cluster_enabled: field("cluster_enabled") == Some("1"),
        }
    }

    /// The major version, if the version could be read.
    pub(crate) fn major(&self) -> Option<u32> {
        self.version.split('.').next()?.parse().ok()
    }
}

impl Connection {
    /// `INFO server cluster` of every node this connection reaches: the one node, or every
    /// primary of the cluster.
    pub(crate) fn nodes(&mut self) -> Result<Vec<NodeInfo>, RedisError> {
        let mut info = redis::cmd("INFO");
        info.arg("server").arg("cluster");
        let reply: Value = info.query(self)?;
        let mut texts = Vec::new();
        collect_texts(&reply, &mut texts);
        Ok(texts.iter().map(|text| NodeInfo::parse(text)).collect())
    }
}

/// The text replies in `value`: one for a node, one per node in a cluster's map of replies.
fn collect_texts(value: &Value, texts: &mut Vec<String>) {
    match value {
        Value::BulkString(bytes) => texts.push(String::from_utf8_lossy(bytes).into_owned()),
        Value::VerbatimString { text, .. } | Value::SimpleString(text) => texts.push(text.clone()),
        Value::Map(pairs) => pairs.iter().for_each(|(_, v)| collect_texts(v, texts)),
        Value::Array(values) => values.iter().for_each(|v| collect_texts(v, texts)),
        _ => {}
    }
}

impl ConnectionLike for Connection {
    fn req_packed_command(&mut self, cmd: &[u8]) -> RedisResult<Value> {
        match self {
            Self::Node(c) => c.req_packed_command(cmd),
            Self::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands(
        &mut self,
        cmd: &[u8],
        offset: usize,
        count: usize,
    ) -> RedisResult<Vec<Value>> {
        match self {
            Self::Node(c) => c.req_packed_commands(cmd, offset, count),
            Self::Cluster(c) => c.req_packed_commands(cmd, offset, count),
        }
    }

    // The cluster connection routes a command by its key here: it must not fall back to the
    // trait's default, which packs the command and loses the routing.
    fn req_command(&mut self, cmd: &Cmd) -> RedisResult<Value> {
        match self {
            Self::Node(c) => c.req_command(cmd),
            Self::Cluster(c) => c.req_command(cmd),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Node(c) => c.get_db(),
            Self::Cluster(c) => c.get_db(),
        }
    }

    fn supports_pipelining(&self) -> bool {
        match self {
            Self::Node(c) => c.supports_pipelining(),
            Self::Cluster(c) => c.supports_pipelining(),
        }
    }

    fn check_connection(&mut self) -> bool {
        match self {
            Self::Node(c) => c.check_connection(),
            Self::Cluster(c) => c.check_connection(),
        }
    }

    fn is_open(&self) -> bool {
        match self {
            Self::Node(c) => c.is_open(),
            Self::Cluster(c) => c.is_open(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_gives_the_version_and_the_cluster_mode() {
        let node = NodeInfo::parse(
            "# Server\r\nredis_version:7.0.15\r\n# Cluster\r\ncluster_enabled:1\r\n",
        );
        assert_eq!(
            (node.version.as_str(), node.major(), node.cluster_enabled),
            ("7.0.15", Some(7), true)
        );
        let node = NodeInfo::parse("redis_version:6.2.1\r\ncluster_enabled:0\r\n");
        assert_eq!((node.major(), node.cluster_enabled), (Some(6), false));
        let node = NodeInfo::parse("nothing here");
        assert_eq!(
            (node.version.as_str(), node.major(), node.cluster_enabled),
            ("unknown", None, false)
        );
    }

    #[test]
    fn a_cluster_reply_gives_one_text_per_node() {
        let reply = Value::Map(vec![
            (
                Value::SimpleString("a:1".into()),
                Value::BulkString(b"redis_version:7.0.1".to_vec()),
            ),
            (
                Value::SimpleString("b:2".into()),
                Value::BulkString(b"redis_version:7.2.4".to_vec()),
            ),
        ]);
        let mut texts = Vec::new();
        collect_texts(&reply, &mut texts);
        assert_eq!(texts, ["redis_version:7.0.1", "redis_version:7.2.4"]);
    }
}
