public import ETLCore
public import Logging

extension RedisRunEventQueue {
    /// A stage's queue, from its configuration. The configuration has already checked
    /// `REDIS_URL` and `EVENT_HMAC_KEY`; should the client still refuse one, the stage stops
    /// as on any bad value (`exitOnBadConfiguration`, exit 2), its URL shown without the password.
    public static func forStage(_ configuration: CommonConfiguration, logger: Logger) -> RedisRunEventQueue {
        requireValid(Settings.redisURL, configuration.redisURL, expected: "a URL the Redis client accepts") {
            try RedisRunEventQueue(
                url: configuration.redisURL, eventKey: configuration.eventKey, logger: logger,
                claimIdleMilliseconds: Int(configuration.claimIdleSeconds * 1000))
        }
    }
}
