//! Pacing of one tenant's sends (`[limits]`): a minimum gap with jitter, a cap per
//! minute and a human-like typing delay, so that an account never bursts (F09).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::config::Limits;

/// The window of the per-minute cap.
const WINDOW: Duration = Duration::from_secs(60);
/// The longest typing delay of one message.
const MAX_TYPING: Duration = Duration::from_secs(4);

/// Decides when the next send of one tenant may go.
#[derive(Debug)]
pub struct Pacer {
    min_gap: Duration,
    per_minute: usize,
    typing_per_char: Duration,
    recent: VecDeque<Instant>,
    jitter_seed: u64,
}

impl Pacer {
    /// A pacer with the configured limits and no send yet.
    pub fn new(limits: &Limits) -> Pacer {
        Pacer {
            min_gap: limits.min_gap,
            per_minute: usize::try_from(limits.per_minute)
                .unwrap_or(usize::MAX)
                .max(1),
            typing_per_char: limits.typing_per_char,
            recent: VecDeque::new(),
            jitter_seed: u64::from(std::process::id()) ^ crate::clock::now_ms(),
        }
    }

    /// How long to wait at `now` before sending a message of `chars` characters.
    pub fn delay_before(&mut self, now: Instant, chars: usize) -> Duration {
        let typing = self
            .typing_per_char
            .saturating_mul(saturate(chars))
            .min(MAX_TYPING);
        let gap = self.min_gap + self.jitter();
        let after_gap = self.recent.back().map(|&last| last + gap);
        let after_cap = (self.recent.len() >= self.per_minute)
            .then(|| self.recent[self.recent.len() - self.per_minute] + WINDOW);
        let ready = after_gap.into_iter().chain(after_cap).max().unwrap_or(now);
        ready.saturating_duration_since(now).max(typing)
    }

    /// Notes a send made at `at`.
    pub fn record_send(&mut self, at: Instant) {
        self.recent.push_back(at);
        while self
            .recent
            .front()
            .is_some_and(|&t| at.saturating_duration_since(t) >= WINDOW)
        {
            self.recent.pop_front();
        }
    }

    /// Up to a fifth of the gap, varying from send to send (no regular rhythm).
    fn jitter(&mut self) -> Duration {
        // xorshift: enough to vary intervals; nothing here needs real randomness.
        self.jitter_seed ^= self.jitter_seed << 13;
        self.jitter_seed ^= self.jitter_seed >> 7;
        self.jitter_seed ^= self.jitter_seed << 17;
        let fifth = self.min_gap.as_millis() / 5;
        let millis = u128::from(self.jitter_seed) % (fifth + 1);
        Duration::from_millis(u64::try_from(millis).unwrap_or(0))
    }
}

fn saturate(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(min_gap_ms: u64, per_minute: u32, typing_ms: u64) -> Limits {
        Limits {
            min_gap: Duration::from_millis(min_gap_ms),
            per_minute,
            typing_per_char: Duration::from_millis(typing_ms),
            stale_after: Duration::from_secs(600),
            max_tenants: 50,
            qr_resends: 6,
            restart_attempts: 5,
        }
    }

    #[test]
    fn first_send_waits_only_for_typing_capped_at_four_seconds() {
        let mut pacer = Pacer::new(&limits(1_500, 20, 30));
        let now = Instant::now();
        assert_eq!(pacer.delay_before(now, 10), Duration::from_millis(300));
        assert_eq!(pacer.delay_before(now, 10_000), Duration::from_secs(4));
    }

    #[test]
    fn gap_with_jitter_between_sends() {
        let mut pacer = Pacer::new(&limits(1_000, 100, 0));
        let start = Instant::now();
        pacer.record_send(start);
        let mut delays = Vec::new();
        for _ in 0..20 {
            let d = pacer.delay_before(start, 1);
            assert!(d >= Duration::from_millis(1_000) && d <= Duration::from_millis(1_200));
            delays.push(d);
        }
        delays.dedup();
        assert!(delays.len() > 1, "jitter varies the gap");
        assert_eq!(
            pacer.delay_before(start + Duration::from_secs(5), 1),
            Duration::ZERO
        );
    }

    #[test]
    fn per_minute_cap_holds_the_next_send_until_the_window_slides() {
        let mut pacer = Pacer::new(&limits(0, 3, 0));
        let start = Instant::now();
        for i in 0..3 {
            pacer.record_send(start + Duration::from_secs(i));
        }
        let now = start + Duration::from_secs(3);
        assert_eq!(pacer.delay_before(now, 1), Duration::from_secs(57));
        pacer.record_send(start + Duration::from_secs(60));
        let later = start + Duration::from_secs(60);
        assert_eq!(pacer.delay_before(later, 1), Duration::from_secs(1));
    }
}
