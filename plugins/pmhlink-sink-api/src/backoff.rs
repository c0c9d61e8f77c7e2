//! When to try again: exponential backoff with full jitter, and PMH's `Retry-After`.

use std::time::Duration;

/// How often and how patiently a transient failure is retried.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Backoff {
    /// The ceiling of the first pause; it doubles with every failure.
    pub base: Duration,
    /// No pause is longer, `Retry-After` included.
    pub max: Duration,
    /// Tries of one request in all, the first included.
    pub max_attempts: u32,
}

impl Backoff {
    /// The longest pause after the `failures`-th failure (1-based): `base × 2^(failures−1)`,
    /// capped by `max`.
    pub fn ceiling(&self, failures: u32) -> Duration {
        let exponent = failures.saturating_sub(1).min(62);
        let secs = self.base.as_secs_f64() * 2f64.powi(exponent as i32);
        Duration::from_secs_f64(secs.min(self.max.as_secs_f64()))
    }

    /// The pause after the `failures`-th failure. Full jitter (a uniform draw below the
    /// ceiling, `unit` in [0, 1)) spreads the retries of many municipalities' batch jobs, which
    /// all start at the same hour, instead of letting them hammer PMH in step. A `Retry-After`
    /// from PMH wins, but never beyond `max`: a misconfigured gateway asking for a day must not
    /// stall the run.
    pub fn pause(&self, failures: u32, retry_after: Option<Duration>, unit: f64) -> Duration {
        match retry_after {
            Some(asked) => asked.min(self.max),
            None => self.ceiling(failures).mul_f64(unit.clamp(0.0, 1.0)),
        }
    }

    /// [`Backoff::pause`] with a random draw.
    pub fn jittered(&self, failures: u32, retry_after: Option<Duration>) -> Duration {
        self.pause(failures, retry_after, fastrand::f64())
    }
}

/// `Retry-After` in seconds. The HTTP-date form is ignored (the backoff applies): comparing it
/// with our clock would trust two clocks to agree.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Backoff {
        Backoff {
            base: Duration::from_millis(500),
            max: Duration::from_secs(30),
            max_attempts: 6,
        }
    }

    #[test]
    fn ceilings_double_up_to_the_cap() {
        let b = policy();
        let ceilings: Vec<f64> = (1..=9).map(|n| b.ceiling(n).as_secs_f64()).collect();
        assert_eq!(ceilings, [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]);
        // Far past any real attempt count the arithmetic still holds.
        assert_eq!(b.ceiling(u32::MAX), Duration::from_secs(30));
        assert_eq!(b.ceiling(0), Duration::from_millis(500));
    }

    #[test]
    fn full_jitter_stays_between_zero_and_the_ceiling() {
        let b = policy();
        for failures in 1..=8 {
            assert_eq!(b.pause(failures, None, 0.0), Duration::ZERO);
            let top = b.pause(failures, None, 0.999_999);
            assert!(top <= b.ceiling(failures), "{failures}: {top:?}");
            assert!(
                top > b.ceiling(failures).mul_f64(0.99),
                "{failures}: {top:?}"
            );
            // Out-of-range draws are clamped rather than trusted.
            assert_eq!(b.pause(failures, None, 7.0), b.ceiling(failures));
            for _ in 0..200 {
                let pause = b.jittered(failures, None);
                assert!(pause <= b.ceiling(failures), "{failures}: {pause:?}");
            }
        }
        // The draws are spread, not constant.
        let draws: std::collections::HashSet<_> = (0..50).map(|_| b.jittered(6, None)).collect();
        assert!(draws.len() > 10, "{draws:?}");
    }

    #[test]
    fn retry_after_is_honoured_and_capped() {
        let b = policy();
        let asked = Some(Duration::from_secs(7));
        // Honoured exactly, whatever the jitter or the failure count.
        assert_eq!(b.pause(1, asked, 0.0), Duration::from_secs(7));
        assert_eq!(b.pause(5, asked, 0.9), Duration::from_secs(7));
        assert_eq!(
            b.pause(1, Some(Duration::from_secs(86_400)), 0.5),
            Duration::from_secs(30)
        );
        assert_eq!(b.pause(1, Some(Duration::ZERO), 0.5), Duration::ZERO);
    }

    #[test]
    fn retry_after_seconds_only() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after(" 120 "), Some(Duration::from_secs(120)));
        for ignored in ["", "-1", "1.5", "Wed, 21 Oct 2015 07:28:00 GMT", "soon"] {
            assert_eq!(parse_retry_after(ignored), None, "{ignored:?}");
        }
    }
}
