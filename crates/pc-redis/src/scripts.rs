//! The server-side steps, each one Lua script so that a check and what depends on it are atomic.
//!
//! Every script touches only the keys it is given, all of one buffer's hash tag, so a buffer
//! works unchanged on Redis Cluster. The meta hash holds the capacity, the closed flag,
//! `put_waiting` (producers told to wait for room) and the counters; the items in the buffer
//! (put and neither acknowledged nor dead: what the capacity bounds) are `put - acked - dead`,
//! kept by no counter of their own, so that each step counts once.

use redis::Script;

/// Items put and neither acknowledged nor dead, from the meta hash's `put`, `acked` and `dead`.
const COUNTED: &str = r"
local function counted(put, acked, dead)
  return tonumber(put or '0') - tonumber(acked or '0') - tonumber(dead or '0')
end
";

/// Wakes up to `n` producers blocked on the room list (at most 64 tokens are kept).
const WAKE: &str = r"
local function wake(room, n)
  if n <= 0 then return end
  local tokens = {}
  for i = 1, math.min(n, 64) do tokens[i] = '1' end
  redis.call('RPUSH', room, unpack(tokens))
  redis.call('LTRIM', room, 0, 63)
end
";

/// Moves a pending entry to the dead-letter stream with its reason; false if it was no longer
/// pending (acknowledged or buried already), so nothing is counted twice.
const BURY: &str = r"
local function bury(items, meta, dead, room, group, id, reason)
  local entry = redis.call('XRANGE', items, id, id)
  local data = ''
  if entry[1] then data = entry[1][2][2] end
  if redis.call('XACK', items, group, id) == 0 then return false end
  redis.call('XDEL', items, id)
  redis.call('XADD', dead, '*', 'id', id, 'reason', reason, 'd', data)
  redis.call('HINCRBY', meta, 'dead', 1)
  wake(room, 1)
  return true
end
";

/// The reply of a script run on a buffer whose keys are gone (a server restarted without
/// persistence, or `destroy`): a clear error instead of a half-made buffer.
const GONE: &str = r"
local function gone()
  return redis.error_reply('PCGONE the buffer no longer exists on the server')
end
";

/// Adds a caller's tally of counters (`got put_waits put_wait_us get_waits get_wait_us`, or empty)
/// to the meta hash: counts made where a script could not count them (a blocking read, a wait)
/// travel with the caller's next script call.
const TALLY: &str = r"
local function tally(meta, text)
  if text == '' then return end
  local fields = {'got', 'put_waits', 'put_wait_us', 'get_waits', 'get_wait_us'}
  local i = 1
  for value in string.gmatch(text, '%d+') do
    if value ~= '0' and fields[i] then redis.call('HINCRBY', meta, fields[i], value) end
    i = i + 1
  end
end
";

/// Acknowledges the ids in ARGV from `from` on, wakes as many waiting producers, and returns
/// the items left in the buffer (`count` is the number before).
const ACKNOWLEDGE: &str = r"
local function acknowledge(items, meta, room, group, from, waiting, count)
  local acked = redis.call('XACK', items, group, unpack(ARGV, from))
  redis.call('XDEL', items, unpack(ARGV, from))
  if acked == 0 then return count end
  if waiting > 0 then wake(room, acked) end
  redis.call('HINCRBY', meta, 'acked', acked)
  return count - acked
end
";

/// KEYS: meta, items, gate. ARGV: capacity, group.
/// Returns 'ok', or the capacity the buffer already has when it differs. The gate is made only
/// while the buffer is open: close deletes it for good.
const CONNECT: &str = r"
local m = redis.call('HMGET', KEYS[1], 'capacity', 'closed')
local capacity = m[1]
if capacity and capacity ~= ARGV[1] then return capacity end
if not capacity then
  redis.call('HSET', KEYS[1], 'capacity', ARGV[1], 'closed', 0)
end
local streams = {KEYS[2]}
if m[2] ~= '1' then streams[2] = KEYS[3] end
for _, stream in ipairs(streams) do
  local made = redis.pcall('XGROUP', 'CREATE', stream, ARGV[2], '0', 'MKSTREAM')
  if type(made) == 'table' and made.err and not string.find(made.err, 'BUSYGROUP') then
    return redis.error_reply(made.err)
  end
end
return 'ok'
";

/// KEYS: items, meta, producers, room. ARGV: producer id, first sequence, two flags (`1` if this
/// producer was counted as waiting by its last call, `1` if it will wait if this one is short),
/// the caller's tally, items...
///
/// Item `i` (from 1) has sequence `first + i - 1`; those at or below the producer's last
/// accepted sequence were put before (a retry) and are skipped. Of the rest, as many as there is
/// room for go in, in order; if some are left, the producer is counted as waiting. Returns
/// `{skipped, inserted}`, or `{-1, 0}` when closed.
const PUT: &str = r"
local meta = KEYS[2]
local m = redis.call('HMGET', meta, 'capacity', 'closed', 'put', 'acked', 'dead', 'high_water')
if not m[1] then return gone() end
tally(meta, ARGV[4])
if string.sub(ARGV[3], 1, 1) == '1' then redis.call('HINCRBY', meta, 'put_waiting', -1) end
if m[2] == '1' then return {-1, 0} end
local first = tonumber(ARGV[2])
local n = #ARGV - 4
local last = tonumber(redis.call('HGET', KEYS[3], ARGV[1]) or '0')
local skip = 0
if last >= first then skip = math.min(n, last - first + 1) end
local count = counted(m[3], m[4], m[5])
local take = math.max(0, math.min(n - skip, tonumber(m[1]) - count))
for i = 1, take do
  redis.call('XADD', KEYS[1], '*', 'd', ARGV[4 + skip + i])
end
if skip > 0 then redis.call('HINCRBY', meta, 'duplicates', skip) end
if take > 0 then
  count = counted(redis.call('HINCRBY', meta, 'put', take), m[4], m[5])
  if count > tonumber(m[6] or '0') then redis.call('HSET', meta, 'high_water', count) end
end
if skip + take > 0 then
  redis.call('HSET', KEYS[3], ARGV[1], string.format('%d', first + skip + take - 1))
end
if skip + take < n and string.sub(ARGV[3], 2, 2) == '1' then
  -- Tokens left from acknowledgements nobody waited for would wake this producer for nothing.
  redis.call('DEL', KEYS[4])
  redis.call('HINCRBY', meta, 'put_waiting', 1)
end
return {skip, take}
";

/// KEYS: items, meta, dead, room. ARGV: group, consumer, max, items the caller holds
/// unacknowledged (after this call's acknowledgements), lease in ms (0: do not reclaim now),
/// deliveries before an item is dead, the caller's tally, then ids the caller acknowledges.
///
/// Acknowledges, then reclaims entries whose lease ran out (burying those delivered too often),
/// then reads new entries. Returns `{state, {{id, data, redelivered}...}}` where state is 1 when
/// nothing came, the buffer is closed, and nothing is left but what the caller itself holds.
const TAKE: &str = r"
local items, meta, dead, room = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local group, me, max = ARGV[1], ARGV[2], tonumber(ARGV[3])
local lease, most = tonumber(ARGV[5]), tonumber(ARGV[6])
local m = redis.call('HMGET', meta, 'capacity', 'closed', 'put', 'acked', 'dead', 'put_waiting')
if not m[1] then return gone() end
tally(meta, ARGV[7])
local count = counted(m[3], m[4], m[5])
if #ARGV > 7 then
  count = acknowledge(items, meta, room, group, 8, tonumber(m[6] or '0'), count)
end
local out = {}
if lease > 0 then
  local reclaimed = 0
  local expired = redis.call('XPENDING', items, group, 'IDLE', lease, '-', '+', max)
  for _, p in ipairs(expired) do
    if p[4] >= most then
      if bury(items, meta, dead, room, group, p[1], 'delivered ' .. p[4] .. ' times') then
        count = count - 1
      end
    else
      local claimed = redis.call('XCLAIM', items, group, me, lease, p[1])
      for _, e in ipairs(claimed) do
        if e[2] then
          out[#out + 1] = {e[1], e[2][2], 1}
          reclaimed = reclaimed + 1
        end
      end
    end
  end
  if reclaimed > 0 then redis.call('HINCRBY', meta, 'redelivered', reclaimed) end
end
if #out < max then
  local read = redis.call('XREADGROUP', 'GROUP', group, me, 'COUNT', max - #out, 'STREAMS', items, '>')
  if read then
    local fresh = 0
    for _, e in ipairs(read[1][2]) do
      out[#out + 1] = {e[1], e[2][2], 0}
      fresh = fresh + 1
    end
    redis.call('HINCRBY', meta, 'got', fresh)
  end
end
local state = 0
if #out == 0 and m[2] == '1' and count <= tonumber(ARGV[4]) then state = 1 end
return {state, out}
";

/// KEYS: items, meta, room. ARGV: group, ids... Returns `{left, unread}`: the items left in the
/// buffer, and how many of them no consumer has taken (0 or less: a read sent now waits).
const ACK: &str = r"
local m = redis.call('HMGET', KEYS[2], 'capacity', 'put', 'acked', 'dead', 'put_waiting')
if not m[1] then return {0, 0} end
local count = counted(m[2], m[3], m[4])
count = acknowledge(KEYS[1], KEYS[2], KEYS[3], ARGV[1], 2, tonumber(m[5] or '0'), count)
return {count, count - redis.call('XPENDING', KEYS[1], ARGV[1])[1]}
";

/// KEYS: this buffer's items, meta and room, then the next buffer's items, meta and room. ARGV:
/// group, two flags as [`PUT`] takes them (for the next buffer), the items to put, and last the
/// id of the entry whose outcome they are.
///
/// Puts every item into the next buffer and acknowledges the entry, or does nothing: if the
/// entry is no longer pending (another consumer that took it over forwarded it, or it was
/// acknowledged or buried), its outcome is already on its way. Returns 1 when forwarded, 0 when
/// already done, -1 when the next buffer is closed, -2 when it has no room for all the items (the
/// caller is then counted as waiting on it).
const FORWARD: &str = r"
local ma = redis.call('HMGET', KEYS[2], 'capacity', 'put', 'acked', 'dead', 'put_waiting')
local mb = redis.call('HMGET', KEYS[5], 'capacity', 'closed', 'put', 'acked', 'dead', 'high_water')
if not ma[1] or not mb[1] then return gone() end
if string.sub(ARGV[2], 1, 1) == '1' then redis.call('HINCRBY', KEYS[5], 'put_waiting', -1) end
local id = ARGV[#ARGV]
if #redis.call('XPENDING', KEYS[1], ARGV[1], id, id, 1) == 0 then return 0 end
if mb[2] == '1' then return -1 end
local n = #ARGV - 3
local count = counted(mb[3], mb[4], mb[5])
-- Into its own buffer, the item acknowledged makes room for its outcomes.
if KEYS[5] == KEYS[2] then count = count - 1 end
if n > tonumber(mb[1]) - count then
  if string.sub(ARGV[2], 2, 2) == '1' then
    redis.call('DEL', KEYS[6])
    redis.call('HINCRBY', KEYS[5], 'put_waiting', 1)
  end
  return -2
end
acknowledge(KEYS[1], KEYS[2], KEYS[3], ARGV[1], #ARGV, tonumber(ma[5] or '0'), counted(ma[2], ma[3], ma[4]))
for i = 1, n do
  redis.call('XADD', KEYS[4], '*', 'd', ARGV[2 + i])
end
if n > 0 then
  redis.call('HINCRBY', KEYS[5], 'put', n)
  if count + n > tonumber(mb[6] or '0') then redis.call('HSET', KEYS[5], 'high_water', count + n) end
end
return 1
";

/// KEYS: items, meta, dead, room. ARGV: group, id, reason. Returns 1 if buried.
const BURY_ONE: &str = r"
if bury(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[1], ARGV[2], ARGV[3]) then return 1 end
return 0
";

/// KEYS: items. ARGV: group, consumer, ids... Resets the idle time of the ids still pending with
/// `consumer` (never taking back one another consumer reclaimed). Returns how many.
const RENEW: &str = r"
local renewed = 0
for i = 3, #ARGV do
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
  if p[1] and p[1][2] == ARGV[2] then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
    renewed = renewed + 1
  end
end
return renewed
";

/// KEYS: meta, room, items, gate. Closes, and wakes every blocked producer and consumer so that
/// it sees it: an entry added and deleted at once ends every blocking read of the stream, with
/// nothing read, and without the gate a read that names it fails at once.
const CLOSE: &str = r"
if not redis.call('HGET', KEYS[1], 'capacity') then return gone() end
redis.call('HSET', KEYS[1], 'closed', 1)
wake(KEYS[2], 64)
redis.call('XDEL', KEYS[3], redis.call('XADD', KEYS[3], '*', 'closed', '1'))
redis.call('DEL', KEYS[4])
return 1
";

/// Adds counts made outside the scripts (`ARGV[1]`, as [`TALLY`] reads them) to the meta hash
/// `KEYS[1]`, unless the buffer is gone: counts never make a half buffer on a server that lost it.
const ADD_TALLY: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then tally(KEYS[1], ARGV[1]) end
return 1
";

/// The scripts, each loaded once per connection on first use (`EVALSHA`, then `EVAL`).
pub(crate) struct Scripts {
    pub(crate) connect: Script,
    pub(crate) tally: Script,
    pub(crate) put: Script,
    pub(crate) take: Script,
    pub(crate) ack: Script,
    pub(crate) forward: Script,
    pub(crate) bury: Script,
    pub(crate) renew: Script,
    pub(crate) close: Script,
}

impl Scripts {
    pub(crate) fn new() -> Self {
        let with_helpers = |body: &str| {
            Script::new(&format!(
                "{GONE}{COUNTED}{WAKE}{BURY}{TALLY}{ACKNOWLEDGE}{body}"
            ))
        };
        Self {
            connect: Script::new(CONNECT),
            tally: Script::new(&format!("{TALLY}{ADD_TALLY}")),
            put: with_helpers(PUT),
            take: with_helpers(TAKE),
            ack: with_helpers(ACK),
            forward: with_helpers(FORWARD),
            bury: with_helpers(BURY_ONE),
            renew: Script::new(RENEW),
            close: with_helpers(CLOSE),
        }
    }
}
