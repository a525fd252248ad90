"""Files shipped into Ableton Live, not imported by the bridge: `ProducerBridge/` is a Live
remote script (standard library only, run by Live's own Python), copied into the User
Library's Remote Scripts folder by `producer-bridge install ableton`."""
