//! Reading the server's replies: stream entries, integers and the counters hash.

use std::collections::HashMap;

use redis::Value;

use crate::err::RedisError;

/// One stream entry as a script or `XREADGROUP` returns it.
pub(crate) struct Entry {
    pub(crate) id: String,
    pub(crate) data: Vec<u8>,
    /// Taken over from a consumer whose lease ran out.
    pub(crate) redelivered: bool,
}

fn unexpected(what: &str, value: &Value) -> RedisError {
    RedisError::Reply(format!("expected {what}, got {value:?}"))
}

pub(crate) fn int(value: &Value) -> Result<i64, RedisError> {
    match value {
        Value::Int(n) => Ok(*n),
        Value::BulkString(bytes) => std::str::from_utf8(bytes)
            .ok()
            .and_then(|text| text.parse().ok())
            .ok_or_else(|| unexpected("an integer", value)),
        Value::SimpleString(text) => text.parse().map_err(|_| unexpected("an integer", value)),
        _ => Err(unexpected("an integer", value)),
    }
}

pub(crate) fn bytes(value: Value) -> Result<Vec<u8>, RedisError> {
    match value {
        Value::BulkString(bytes) => Ok(bytes),
        Value::SimpleString(text) => Ok(text.into_bytes()),
        Value::Okay => Ok(b"OK".to_vec()),
        other => Err(unexpected("a string", &other)),
    }
}

pub(crate) fn text(value: Value) -> Result<String, RedisError> {
    String::from_utf8(bytes(value)?).map_err(|err| RedisError::Reply(err.to_string()))
}

pub(crate) fn array(value: Value) -> Result<Vec<Value>, RedisError> {
    match value {
        Value::Array(items) | Value::Set(items) => Ok(items),
        Value::Nil => Ok(Vec::new()),
        other => Err(unexpected("an array", &other)),
    }
}

/// `{state, {{id, data, redelivered}...}}` from the take script.
pub(crate) fn taken(value: Value) -> Result<(i64, Vec<Entry>), RedisError> {
    let mut parts = array(value)?.into_iter();
    let (Some(state), Some(entries)) = (parts.next(), parts.next()) else {
        return Err(RedisError::Reply("a short reply to a take".into()));
    };
    let entries = array(entries)?
        .into_iter()
        .map(|entry| {
            let mut fields = array(entry)?.into_iter();
            match (fields.next(), fields.next(), fields.next()) {
                (Some(id), Some(data), Some(redelivered)) => Ok(Entry {
                    id: text(id)?,
                    data: bytes(data)?,
                    redelivered: int(&redelivered)? == 1,
                }),
                _ => Err(RedisError::Reply("a short entry".into())),
            }
        })
        .collect::<Result<_, _>>()?;
    Ok((int(&state)?, entries))
}

/// The entries of one stream from `XREADGROUP` (nil when the block timed out).
pub(crate) fn read_group(value: Value) -> Result<Vec<Entry>, RedisError> {
    let Some(stream) = array(value)?.into_iter().next() else {
        return Ok(Vec::new());
    };
    let Some(entries) = array(stream)?.into_iter().nth(1) else {
        return Err(RedisError::Reply("a stream without entries".into()));
    };
    array(entries)?
        .into_iter()
        .map(|entry| {
            let mut parts = array(entry)?.into_iter();
            let (Some(id), Some(fields)) = (parts.next(), parts.next()) else {
                return Err(RedisError::Reply("a short entry".into()));
            };
            let data = array(fields)?
                .into_iter()
                .nth(1)
                .ok_or_else(|| RedisError::Reply("an entry without data".into()))?;
            Ok(Entry {
                id: text(id)?,
                data: bytes(data)?,
                redelivered: false,
            })
        })
        .collect()
}

/// A hash as field to integer (fields that are not integers are left out).
pub(crate) fn counters(value: Value) -> Result<HashMap<String, i64>, RedisError> {
    let pairs: Vec<(Value, Value)> = match value {
        Value::Map(pairs) => pairs,
        other => {
            let flat = array(other)?;
            let mut pairs = Vec::with_capacity(flat.len() / 2);
            let mut flat = flat.into_iter();
            while let (Some(field), Some(value)) = (flat.next(), flat.next()) {
                pairs.push((field, value));
            }
            pairs
        }
    };
    let mut out = HashMap::with_capacity(pairs.len());
    for (field, value) in pairs {
        if let Ok(n) = int(&value) {
            out.insert(text(field)?, n);
        }
    }
    Ok(out)
}
