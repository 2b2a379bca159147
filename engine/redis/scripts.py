"""The Lua scripts that make each step on a tab's Redis keys atomic.

Each runs on the Redis server as one command, so no other client can slip
between a check and the write that depends on it. Keys, per tab (all with
the `{token}` hash tag, so they live on one cluster node):

- lock:    the holding worker's id, with a lease (PX lock_lease);
- state:   a hash with `version` (an opaque id of the last commit), `seq`
           (the tab's update counter) and one field per var (stored.py);
- log:     the tab's operation log: changes made in place since the fields
           were last written whole (stored.py);
- waiting: set by a worker that found the lock taken and now waits for it;
- turn:    set by a release that had waiters, holding the releaser's id for
           a moment, so that a waiter on another worker gets the lock next
           instead of the releaser's own next task (fairness between workers).

Every script can be retried safely: a retry after a lost reply finds the
caller's own id (ACQUIRE), or its own version or a later one of its own
(COMMIT: pipelined commits may be sent again after a lost connection), and
reports success.
"""

from __future__ import annotations

__all__ = ["ACQUIRE", "COMMIT", "READ", "RELEASE"]

# KEYS: lock, state, waiting, turn, socket, log. ARGV: worker id, lease ms, state TTL ms, cached version
# ('' if none), token, prefix of the holders' "wanted" channels.
# Returns {0, ms} when the caller must wait (at most ms: the lease or the turn left), after
# telling the holder that its lease is wanted (it lets go at the end of its block, or at once
# when the tab is idle there);
# otherwise the lock is the caller's, with a fresh lease, and the reply is {1} when no
# state is stored, {1, version, seq} when the caller's cached copy is current, else
# {1, version, seq, every field and value of the state, the log}; the first element is 3 instead of 1
# when the tab's socket was last
# registered by another worker (its commits must then publish their updates, see COMMIT). Taking
# the lock refreshes the state's TTL, and the socket record's.
ACQUIRE = """
local holder = redis.call('GET', KEYS[1])
if holder ~= ARGV[1] then
  if holder or redis.call('GET', KEYS[4]) == ARGV[1] then
    redis.call('SET', KEYS[3], '1', 'PX', ARGV[2])
    if holder then
      redis.call('PUBLISH', ARGV[6] .. holder, ARGV[5])
    end
    return {0, redis.call('PTTL', holder and KEYS[1] or KEYS[4])}
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
local socket = redis.call('GET', KEYS[5])
local ours = 1
if socket then
  redis.call('PEXPIRE', KEYS[5], ARGV[3])
  if socket ~= ARGV[1] then
    ours = 3
  end
end
local head = redis.call('HMGET', KEYS[2], 'version', 'seq')
if not head[1] then
  return {ours}
end
redis.call('PEXPIRE', KEYS[2], ARGV[3])
redis.call('PEXPIRE', KEYS[6], ARGV[3])
local seq = head[2] or ''
if head[1] == ARGV[4] then
  return {ours, head[1], seq}
end
return {ours, head[1], seq, redis.call('HGETALL', KEYS[2]), redis.call('LRANGE', KEYS[6], 0, -1)}
"""

# KEYS: lock, state, waiting, socket, log. ARGV: worker id, version read under the lock ('' for none),
# new version, seq, how ('whole': the fields replace the stored state and the log is emptied;
# 'changes': the fields are written and the log entries appended), state TTL ms, lease ms, the new
# version's number, Socket.IO channel, update for the tab ('' for none), the number of fields N,
# then N field and value pairs, then the log entries. Returns 1 when written (or already written
# by this very call, or by a later commit of this worker sent after it), 2 when written
# and a worker is waiting for the lock, 0 when the caller no longer holds the lock (its
# lease ran out), -2 when it does not and the state is gone as well (flushed, or Redis
# restarted), -1 when the stored version is neither the one it read nor one of its own
# later ones (the state was replaced or removed under the lock), -3 when it is an older one of
# the caller's own (Redis lost the caller's later commits: a failover to a replica that lacked
# them, or a restart without them). A commit renews the
# caller's lease: a holder that makes progress keeps its lock. The update, when given, is
# published only together with the write, so no worker can show a tab a change that
# Redis refused.
COMMIT = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  if redis.call('EXISTS', KEYS[2]) == 0 then
    return -2
  end
  return 0
end
redis.call('PEXPIRE', KEYS[1], ARGV[7])
local version = redis.call('HGET', KEYS[2], 'version') or ''
if version ~= ARGV[3] then
  if version == ARGV[2] then
    local fields = tonumber(ARGV[11])
    if ARGV[5] == 'whole' then
      redis.call('DEL', KEYS[2], KEYS[5])
    end
    redis.call('HSET', KEYS[2], 'version', ARGV[3], 'seq', ARGV[4], 'format', '2', unpack(ARGV, 12, 11 + 2 * fields))
    local first = 12 + 2 * fields
    if #ARGV >= first then
      redis.call('RPUSH', KEYS[5], unpack(ARGV, first))
    end
    redis.call('PEXPIRE', KEYS[2], ARGV[6])
    redis.call('PEXPIRE', KEYS[5], ARGV[6])
    redis.call('PEXPIRE', KEYS[4], ARGV[6])
    if ARGV[10] ~= '' then
      redis.call('PUBLISH', ARGV[9], ARGV[10])
    end
  else
    local owner, number = string.match(version, '^(.-)%.(%d+)$')
    if owner == ARGV[1] and tonumber(number) < tonumber(ARGV[8]) then
      return -3
    end
    if owner ~= ARGV[1] then
      return -1
    end
  end
end
if redis.call('EXISTS', KEYS[3]) == 1 then
  return 2
end
return 1
"""

# KEYS: lock, waiting, turn. ARGV: worker id, unlock channel, token, turn ms.
# Deletes the lock only if the caller holds it. If someone waits, hands the next turn
# to another worker and wakes every worker's waiters (wakeup.py); returns 2 then, 1
# after a quiet release, 0 when the lock was not the caller's.
RELEASE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('DEL', KEYS[1])
if redis.call('DEL', KEYS[2]) == 1 then
  redis.call('SET', KEYS[3], ARGV[1], 'PX', ARGV[4])
  redis.call('PUBLISH', ARGV[2], ARGV[3])
  return 2
end
return 1
"""

# KEYS: state, log. Returns {every field and value of the state, the log} ({} when nothing is stored):
# what a tab holds, read without its lock, in one step so no commit falls between the two.
READ = """
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {}
end
return {redis.call('HGETALL', KEYS[1]), redis.call('LRANGE', KEYS[2], 0, -1)}
"""
