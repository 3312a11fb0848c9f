//! Percentiles of timing samples.

/// Summary of a set of samples.
#[derive(Debug, Clone, Copy, Default)]
pub struct Percentiles {
    pub n: usize,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
    pub mean: f64,
}

impl Percentiles {
    /// Nearest-rank percentiles of `v` (sorted in place).
    pub fn of(v: &mut [f64]) -> Percentiles {
        if v.is_empty() {
            return Percentiles::default();
        }
        v.sort_by(|a, b| a.total_cmp(b));
        let at = |q: f64| v[((q * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1];
        Percentiles {
            n: v.len(),
            p50: at(0.5),
            p90: at(0.9),
            p99: at(0.99),
            p999: at(0.999),
            max: v[v.len() - 1],
            mean: v.iter().sum::<f64>() / v.len() as f64,
        }
    }

    /// `p50 / p90 / p99 / p99.9 / max` with a unit.
    pub fn line(&self, unit: &str) -> String {
        format!(
            "p50 {:.1} {unit}  p90 {:.1}  p99 {:.1}  p99.9 {:.1}  max {:.1}  mean {:.1}  (n={})",
            self.p50, self.p90, self.p99, self.p999, self.max, self.mean, self.n
        )
    }

    /// The figures as JSON object members with a key prefix.
    pub fn json(&self, prefix: &str) -> String {
        format!(
            "\"{prefix}_p50\":{:.3},\"{prefix}_p90\":{:.3},\"{prefix}_p99\":{:.3},\"{prefix}_p999\":{:.3},\"{prefix}_max\":{:.3},\"{prefix}_mean\":{:.3}",
            self.p50, self.p90, self.p99, self.p999, self.max, self.mean
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        let mut v: Vec<f64> = (1..=100).map(|x| x as f64).collect();
        let p = Percentiles::of(&mut v);
        assert_eq!(p.p50, 50.0);
        assert_eq!(p.p99, 99.0);
        assert_eq!(p.max, 100.0);
        assert_eq!(p.mean, 50.5);
    }
}
