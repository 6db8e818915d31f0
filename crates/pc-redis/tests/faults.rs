//! Transport failures: a server that is gone, one restarted without its data, wrong credentials
//! and bad URLs are clear errors, and every item not delivered is handed back.

mod common;

use std::time::Duration;

use pc_redis::{BufferGetError, BufferPutError, ConnectError, RedisBuffer, RedisError};

#[test]
fn a_bad_url_or_an_unreachable_server_fails_the_connect_clearly() {
    let err = RedisBuffer::<u32>::builder("http://example.invalid/", "jobs")
        .connect()
        .unwrap_err();
    assert!(matches!(err, ConnectError::InvalidUrl(_)), "{err:?}");
    // Port 1 on loopback: nothing listens there.
    let err = RedisBuffer::<u32>::builder("redis://127.0.0.1:1/", "jobs")
        .connect()
        .unwrap_err();
    match err {
        ConnectError::Unreachable(cause) => assert!(cause.is_connection_error(), "{cause:?}"),
        other => panic!("expected Unreachable, got {other:?}"),
    }
}

#[test]
fn a_server_that_is_gone_is_a_transport_error_with_the_item_handed_back() {
    let Some(mut server) = common::own_server(&[]) else {
        return;
    };
    let buffer = RedisBuffer::<u32>::builder(&server.url, "gone")
        .retries(1)
        .connect()
        .unwrap();
    buffer.put(1).unwrap();
    server.stop();
    match buffer.put(2) {
        Err(BufferPutError::Transport(item, err)) => {
            assert_eq!(item, 2);
            assert!(err.is_connection_error(), "{err:?}");
        }
        other => panic!("expected the item back with a transport error, got {other:?}"),
    }
    match buffer.put_batch(vec![3, 4]) {
        Err(BufferPutError::Transport(items, _)) => assert_eq!(items, [3, 4]),
        other => panic!("expected the items back, got {other:?}"),
    }
    assert!(matches!(buffer.get(), Err(BufferGetError::Transport(_))));
    let mut deliveries = buffer.deliveries();
    assert!(matches!(deliveries.next(), Some(Err(err)) if err.is_connection_error()));
    assert!(deliveries.next().is_none());
    assert!(buffer.accounting().is_err());
    assert!(buffer.close().is_err());
    let err = RedisBuffer::<u32>::builder(&server.url, "gone")
        .connect()
        .unwrap_err();
    assert!(matches!(err, ConnectError::Unreachable(_)), "{err:?}");
}

#[test]
fn a_server_restarted_without_its_data_says_the_buffer_is_gone() {
    let Some(mut server) = common::own_server(&[]) else {
        return;
    };
    let buffer = RedisBuffer::<u32>::builder(&server.url, "restarted")
        .capacity(4)
        .connect()
        .unwrap();
    buffer.put_batch(vec![1, 2]).unwrap();
    assert_eq!(buffer.get().unwrap(), 1);
    server.restart(&[]);
    // The connection the buffer held died with the old server; the put is sent again on a new
    // one, and the new server has no such buffer.
    match buffer.put(3) {
        Err(BufferPutError::Transport(item, RedisError::Gone)) => assert_eq!(item, 3),
        other => panic!("expected the item back, the buffer gone, got {other:?}"),
    }
    assert!(matches!(
        buffer.get_timeout(Duration::from_secs(5)),
        Err(BufferGetError::Transport(RedisError::Gone))
    ));
    assert!(matches!(buffer.close(), Err(RedisError::Gone)));
    // Connecting again makes the buffer afresh.
    let again = RedisBuffer::<u32>::builder(&server.url, "restarted")
        .capacity(4)
        .connect()
        .unwrap();
    again.put(3).unwrap();
    assert_eq!(again.accounting().unwrap().produced, 1);
}

#[test]
fn counts_sent_after_another_process_destroyed_the_buffer_make_no_half_buffer() {
    let Some(server) = common::own_server(&[]) else {
        return;
    };
    let open = || {
        RedisBuffer::<u32>::builder(&server.url, "destroyed")
            .capacity(1)
            .connect()
            .unwrap()
    };
    let (waiting, other) = (open(), open());
    waiting.put(1).unwrap();
    // A wait on the full buffer: counted by the buffer, sent with its next call or when dropped.
    match waiting.put_timeout(2, Duration::from_millis(20)) {
        Err(BufferPutError::Timeout(item)) => assert_eq!(item, 2),
        other => panic!("expected the item back, got {other:?}"),
    }
    other.destroy().unwrap();
    drop(waiting);
    let mut connection = redis::Client::open(server.url.as_str())
        .and_then(|client| client.get_connection())
        .unwrap();
    let keys: i64 = redis::cmd("DBSIZE").query(&mut connection).unwrap();
    assert_eq!(keys, 0, "the counts made a key of a buffer that is gone");
}

#[test]
fn wrong_credentials_are_refused_without_repeating_them() {
    let Some(server) = common::own_server(&["--requirepass", "right-horse-battery"]) else {
        return;
    };
    let wrong = format!("{}?pass=wrong-staple-1234", server.url);
    let err = RedisBuffer::<u32>::builder(&wrong, "secret")
        .connect()
        .unwrap_err();
    assert!(matches!(err, ConnectError::Unreachable(_)), "{err:?}");
    let said = format!("{err} {err:?} {:?}", std::error::Error::source(&err));
    assert!(
        !said.contains("wrong-staple"),
        "the password leaked: {said}"
    );
    let right = format!("{}?pass=right-horse-battery", server.url);
    let builder = RedisBuffer::<u32>::builder(&right, "secret");
    assert!(
        !format!("{builder:?}").contains("right-horse"),
        "{builder:?}"
    );
    let buffer = RedisBuffer::<u32>::builder(&right, "secret")
        .connect()
        .unwrap();
    buffer.put(1).unwrap();
    assert_eq!(buffer.get().unwrap(), 1);
    assert!(!format!("{buffer:?}").contains("right-horse"));
}
