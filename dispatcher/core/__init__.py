"""The delivery core: claim a batch, hand it to a destination, record each outcome, retry or
dead-letter, trip a breaker. The destination protocol and the message and outcome types live
here because every layer above shares them; nothing here knows a destination, a job or a page."""
