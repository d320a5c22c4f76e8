//! The replay cache on Redis: the reference's `authsome:pop:jti:<jti>` keys (so that a token
//! used on a 0.7.2 replica sharing the Redis is refused here too), set under a per-holder quota
//! by one script, so that a check stays one round trip.

use crate::RedisConnection;
use async_trait::async_trait;
use authsome_domain::Timestamp;
use authsome_ports::{IdQuota, ReplayCache, ReplayCheck, StateError};

use crate::{RedisKeys, unavailable};

/// Records a token id unless it is known (0); counts it against its holder's window (started
/// by the holder's first id); when that goes past the quota, takes the id back out and answers
/// 2; otherwise 1. Atomic, so concurrent checks on any replica agree, and at most the quota of
/// a holder's ids stay recorded per window. A replay is answered before anything is counted,
/// so replaying someone's old token cannot use up their quota.
///
/// KEYS[1] the id's key, KEYS[2] the holder's count; ARGV[1] seconds to remember the id,
/// ARGV[2] the quota, ARGV[3] the window in seconds.
///
/// Two commands on the common path (`SET NX`, `INCR`): measured with redis-benchmark (16
/// clients, 16-deep pipelines, on the 2-core test VM) at 118 000-130 000 checks/s, against
/// 146 000-231 000 for the bare `SET NX` and 40 000-103 000 for a script that reads the count
/// before setting.
const CHECK_AND_STORE: &str = r"
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  return 0
end
local held = redis.call('INCR', KEYS[2])
if held == 1 then
  redis.call('EXPIRE', KEYS[2], ARGV[3])
end
if held > tonumber(ARGV[2]) then
  redis.call('DEL', KEYS[1])
  return 2
end
return 1
";

/// Token ids shared by every replica on the same Redis.
pub struct RedisReplayCache {
    connection: RedisConnection,
    keys: RedisKeys,
    // Built once: `Script::new` hashes the source, and the check runs on every request.
    check_and_store: redis::Script,
}

impl RedisReplayCache {
    /// A replay cache on `connection`.
    pub fn new(connection: RedisConnection, keys: RedisKeys) -> Self {
        Self {
            connection,
            keys,
            check_and_store: redis::Script::new(CHECK_AND_STORE),
        }
    }
}

#[async_trait]
impl ReplayCache for RedisReplayCache {
    async fn check_and_store(
        &self,
        jti: &str,
        expires_at: Timestamp,
        quota: IdQuota<'_>,
    ) -> Result<ReplayCheck, StateError> {
        let ttl = (expires_at.unix_seconds() - Timestamp::now().unix_seconds()).max(1);
        let outcome: u8 = self
            .check_and_store
            .key(self.keys.jti(jti))
            .key(self.keys.token_id_quota(quota.holder))
            .arg(ttl)
            .arg(quota.ids)
            .arg(quota.window_seconds.max(1))
            .invoke_async(&mut self.connection.clone())
            .await
            .map_err(unavailable)?;
        match outcome {
            1 => Ok(ReplayCheck::Fresh),
            0 => Ok(ReplayCheck::Replayed),
            2 => Ok(ReplayCheck::OverQuota),
            other => Err(StateError::Corrupt(format!("the replay check script answered {other}"))),
        }
    }
}
