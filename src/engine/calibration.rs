//! Whether WebGPU takes over from the CPU: both engines time the same fresh updates
//! (`Recommender::time_updates`), and WebGPU runs the model only when it ranks as the CPU does
//! and is clearly faster, or when the visitor forces it and the two still agree.

use serde::{Deserialize, Serialize};

use crate::engine::MovieId;
use crate::engine::recommender::Recommendation;

/// WebGPU's median update must take at most this share of the CPU's to take over.
pub const MARGIN: f64 = 0.8;
/// Top scores of the two engines may differ by this much and still agree.
pub const AGREE: f32 = 1e-4;

/// One movie of a timed update's top list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Scored {
    pub movie_id: MovieId,
    pub score: f32,
}

/// What one engine measured: each run's time in ms, and the last run's top list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    pub ms: Vec<f64>,
    pub top: Vec<Scored>,
}

/// The decision: which engine runs the model, why, and the medians it rests on.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    /// `"webgpu"` or `"cpu"`.
    pub kind: &'static str,
    pub reason: &'static str,
    pub cpu_ms: f64,
    pub gpu_ms: f64,
}

impl Calibration {
    pub fn new(ms: Vec<f64>, top: &[Recommendation]) -> Calibration {
        let top = top
            .iter()
            .map(|r| Scored {
                movie_id: r.movie_id,
                score: r.score,
            })
            .collect();
        Calibration { ms, top }
    }

    /// The median run in ms (the upper one of an even count; NaN without runs).
    pub fn median_ms(&self) -> f64 {
        let mut ms = self.ms.clone();
        ms.sort_by(f64::total_cmp);
        ms.get(ms.len() / 2).copied().unwrap_or(f64::NAN)
    }

    /// The same movies in the same order, with scores within [`AGREE`].
    pub fn agrees_with(&self, other: &Calibration) -> bool {
        self.top.len() == other.top.len()
            && self
                .top
                .iter()
                .zip(&other.top)
                .all(|(a, b)| a.movie_id == b.movie_id && (a.score - b.score).abs() <= AGREE)
    }
}

/// WebGPU (`gpu`) against the CPU (`cpu`); `force` takes WebGPU whenever the two agree.
pub fn verdict(cpu: &Calibration, gpu: &Calibration, force: bool) -> Verdict {
    let (cpu_ms, gpu_ms) = (cpu.median_ms(), gpu.median_ms());
    let faster = gpu_ms < MARGIN * cpu_ms;
    let (kind, reason) = if !cpu.agrees_with(gpu) {
        ("cpu", "WebGPU and the CPU disagreed on the same update")
    } else if faster {
        ("webgpu", "WebGPU measured faster than the CPU")
    } else if force {
        ("webgpu", "WebGPU forced (?gpu=force)")
    } else {
        ("cpu", "WebGPU measured slower than the CPU")
    };
    Verdict {
        kind,
        reason,
        cpu_ms,
        gpu_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn calibration(ms: &[f64], scores: &[(u32, f32)]) -> Calibration {
        let top = scores
            .iter()
            .map(|&(id, score)| Scored {
                movie_id: MovieId(id),
                score,
            })
            .collect();
        Calibration {
            ms: ms.to_vec(),
            top,
        }
    }

    const TOP: [(u32, f32); 3] = [(7, 3.0), (2, 2.5), (9, 1.0)];

    #[test]
    fn the_median_is_the_middle_run() {
        assert_eq!(calibration(&[30.0, 10.0, 20.0], &[]).median_ms(), 20.0);
        assert_eq!(calibration(&[4.0, 1.0, 3.0, 2.0], &[]).median_ms(), 3.0);
        assert!(calibration(&[], &[]).median_ms().is_nan());
    }

    #[test]
    fn webgpu_takes_over_only_when_clearly_faster() {
        let cpu = calibration(&[10.0, 10.0, 10.0], &TOP);
        let fast = verdict(&cpu, &calibration(&[7.9, 8.0, 7.0], &TOP), false);
        assert_eq!((fast.kind, fast.cpu_ms, fast.gpu_ms), ("webgpu", 10.0, 7.9));
        let close = verdict(&cpu, &calibration(&[8.0, 8.0, 8.0], &TOP), false);
        assert_eq!(
            (close.kind, close.reason),
            ("cpu", "WebGPU measured slower than the CPU")
        );
    }

    #[test]
    fn force_takes_webgpu_only_when_the_engines_agree() {
        let cpu = calibration(&[10.0], &TOP);
        let slow = verdict(&cpu, &calibration(&[50.0], &TOP), true);
        assert_eq!(
            (slow.kind, slow.reason),
            ("webgpu", "WebGPU forced (?gpu=force)")
        );
        let mut moved = TOP;
        moved[1].1 += 2.0 * AGREE;
        let disagree = verdict(&cpu, &calibration(&[1.0], &moved), true);
        assert_eq!(disagree.kind, "cpu");
    }

    #[test]
    fn agreement_needs_the_same_movies_in_order_within_the_tolerance() {
        let a = calibration(&[], &TOP);
        let mut near = TOP;
        near[0].1 += AGREE / 2.0;
        assert!(a.agrees_with(&calibration(&[], &near)));
        let swapped = [TOP[1], TOP[0], TOP[2]];
        assert!(!a.agrees_with(&calibration(&[], &swapped)));
        assert!(!a.agrees_with(&calibration(&[], &TOP[..2])));
    }
}
