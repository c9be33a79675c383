//! Sample-rate conversion by windowed-sinc interpolation (band-limited, any ratio).
//!
//! Each output sample is the input convolved with a low-pass sinc centred on the output
//! instant. The cut-off sits a little under the lower of the two Nyquist frequencies, so
//! downsampling (44.1 kHz → 16 kHz) filters out what would otherwise fold back as
//! aliases. The kernel is a Blackman-windowed sinc with [`ZEROS`] zero crossings each
//! side.
//!
//! The output instants fall at a repeating set of fractional offsets between input
//! samples (160 of them from 44.1 kHz to 16 kHz, one from 48 kHz), so the weights are
//! computed once per offset (a polyphase filter bank) and each output sample is one dot
//! product. An odd ratio with more offsets than [`MAX_PHASES`] rounds each instant to the
//! nearest of that many, a timing error under a thousandth of an input sample.

/// Zero crossings of the sinc on each side of the centre: the filter's length.
const ZEROS: f64 = 16.0;
/// The pass band's edge, as a share of the lower Nyquist frequency.
const ROLLOFF: f64 = 0.9;
/// The most fractional offsets the bank holds.
const MAX_PHASES: u64 = 1024;

/// `input` at `from` Hz, resampled to `to` Hz. The output has `ceil(len · to / from)`
/// samples; silence is assumed beyond both ends.
pub(super) fn to_rate(input: &[f32], from: u32, to: u32) -> Vec<f32> {
    if from == to || from == 0 || to == 0 || input.is_empty() {
        return input.to_vec();
    }
    let bank = Bank::new(from, to);
    let side = bank.taps / 2;
    let mut padded = vec![0.0; input.len() + bank.taps];
    padded[side..side + input.len()].copy_from_slice(input);

    let len = (input.len() as u64 * u64::from(to)).div_ceil(u64::from(from));
    (0..len).map(|n| bank.output(&padded, n)).collect()
}

/// The filter weights for every fractional offset of one conversion.
#[derive(Debug)]
struct Bank {
    /// `phases` rows of `taps` weights, one row per fractional offset.
    weights: Vec<f32>,
    taps: usize,
    phases: u64,
    /// Output sample `n` sits at input position `n · step / per`.
    step: u64,
    per: u64,
}

impl Bank {
    fn new(from: u32, to: u32) -> Self {
        let common = gcd(from, to);
        let (step, per) = (u64::from(from / common), u64::from(to / common));
        let phases = per.min(MAX_PHASES);

        // Zero crossings per input sample: twice the cut-off in cycles per sample.
        let density = ROLLOFF * (f64::from(to) / f64::from(from)).min(1.0);
        let side = (ZEROS / density).ceil() as usize;
        let taps = 2 * side;
        let weights = (0..phases)
            .flat_map(|p| row(p as f64 / phases as f64, side, density))
            .collect();
        Self {
            weights,
            taps,
            phases,
            step,
            per,
        }
    }

    /// Output sample `n` from the input padded with `taps / 2` zeros each side.
    fn output(&self, padded: &[f32], n: u64) -> f32 {
        let whole = n * self.step / self.per;
        let rest = n * self.step % self.per;
        // Exact when `per <= MAX_PHASES`; otherwise the nearest offset, maybe the next
        // whole sample.
        let phase = (rest * self.phases + self.per / 2) / self.per;
        let (whole, phase) = if phase == self.phases {
            (whole + 1, 0)
        } else {
            (whole, phase)
        };

        let start = whole as usize + 1;
        let row = phase as usize * self.taps;
        let taps = padded.get(start..start + self.taps).unwrap_or_default();
        let weights = &self.weights[row..row + self.taps];
        taps.iter().zip(weights).map(|(x, w)| x * w).sum()
    }
}

/// The weights for an output instant `fraction` of a sample past an input sample, over
/// the `side` input samples before it and after it, summing to one.
fn row(fraction: f64, side: usize, density: f64) -> Vec<f32> {
    let raw: Vec<f64> = (0..2 * side)
        .map(|k| {
            let distance = fraction + side as f64 - 1.0 - k as f64;
            windowed_sinc((distance * density).abs())
        })
        .collect();
    let total: f64 = raw.iter().sum();
    raw.iter().map(|w| (w / total) as f32).collect()
}

/// A sinc with unit zero crossings, Blackman-windowed to vanish at [`ZEROS`].
fn windowed_sinc(u: f64) -> f64 {
    use std::f64::consts::PI;
    if u >= ZEROS {
        return 0.0;
    }
    let sinc = if u == 0.0 {
        1.0
    } else {
        (PI * u).sin() / (PI * u)
    };
    // Blackman over [-ZEROS, ZEROS], written for the distance from the centre.
    let phase = PI * u / ZEROS;
    let window = 0.42 + 0.5 * phase.cos() + 0.08 * (2.0 * phase).cos();
    sinc * window
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 { a } else { gcd(b, a % b) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f32::consts::PI;

    fn sine(hz: f32, rate: u32, seconds: f32) -> Vec<f32> {
        let n = (rate as f32 * seconds) as usize;
        (0..n)
            .map(|i| 0.5 * (2.0 * PI * hz * i as f32 / rate as f32).sin())
            .collect()
    }

    /// RMS away from the edges, where the missing neighbours thin the sum.
    fn middle_rms(samples: &[f32]) -> f32 {
        let middle = &samples[samples.len() / 10..samples.len() * 9 / 10];
        (middle.iter().map(|s| s * s).sum::<f32>() / middle.len() as f32).sqrt()
    }

    /// Frequency from upward zero crossings.
    fn frequency(samples: &[f32], rate: u32) -> f32 {
        let ups = samples
            .windows(2)
            .filter(|w| w[0] < 0.0 && w[1] >= 0.0)
            .count();
        ups as f32 * rate as f32 / samples.len() as f32
    }

    #[test]
    fn a_sine_keeps_its_frequency_and_level() {
        for from in [8_000, 22_050, 44_100, 48_000] {
            let out = to_rate(&sine(1_000.0, from, 1.0), from, 16_000);
            assert_eq!(out.len(), 16_000, "{from} Hz");
            let hz = frequency(&out, 16_000);
            assert!((hz - 1_000.0).abs() < 3.0, "{from} Hz: {hz}");
            let rms = middle_rms(&out);
            assert!(
                (rms - 0.5 / 2f32.sqrt()).abs() < 0.01,
                "{from} Hz: rms {rms}"
            );
            // In step with the same tone made at 16 kHz: no delay, no drift.
            let expected = sine(1_000.0, 16_000, 1.0);
            let worst = (1_600..14_400)
                .map(|n| (out[n] - expected[n]).abs())
                .fold(0.0, f32::max);
            assert!(worst < 0.005, "{from} Hz: off by {worst}");
        }
    }

    #[test]
    fn the_length_follows_the_ratio() {
        assert_eq!(to_rate(&[0.1; 441], 44_100, 16_000).len(), 160);
        assert_eq!(to_rate(&[0.1; 442], 44_100, 16_000).len(), 161);
        assert_eq!(to_rate(&[0.1; 3], 8_000, 16_000).len(), 6);
        assert_eq!(to_rate(&[0.1; 94_942], 22_050, 16_000).len(), 68_893);
        assert_eq!(to_rate(&[0.1; 7], 16_000, 16_000), vec![0.1; 7]);
    }

    #[test]
    fn what_is_above_the_new_nyquist_does_not_fold_back() {
        // 12 kHz at 44.1 kHz would alias to 4 kHz at 16 kHz without the low-pass.
        let out = to_rate(&sine(12_000.0, 44_100, 1.0), 44_100, 16_000);
        let rms = middle_rms(&out);
        assert!(rms < 0.005, "alias rms {rms}");
    }

    #[test]
    fn an_odd_ratio_rounds_to_the_nearest_offset() {
        // 44 056 / 16 000 has 2 000 offsets, more than the bank holds.
        let out = to_rate(&sine(1_000.0, 44_056, 1.0), 44_056, 16_000);
        assert_eq!(out.len(), 16_000);
        assert!((frequency(&out, 16_000) - 1_000.0).abs() < 3.0);
        assert!((middle_rms(&out) - 0.5 / 2f32.sqrt()).abs() < 0.01);
    }

    #[test]
    fn every_row_sums_to_one() {
        let bank = Bank::new(22_050, 16_000);
        assert_eq!(bank.phases, 320);
        for row in bank.weights.chunks(bank.taps) {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-4);
        }
    }

    #[test]
    fn a_constant_stays_constant() {
        let out = to_rate(&[0.25; 4_800], 48_000, 16_000);
        let middle = &out[100..1_500];
        assert!(
            middle.iter().all(|s| (s - 0.25).abs() < 0.002),
            "{:?}",
            &middle[..4]
        );
    }
}
