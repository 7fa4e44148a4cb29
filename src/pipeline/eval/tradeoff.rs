//! Accuracy against variety: the two-tower ranking at each popularity weight `β` as a curve of
//! ndcg@20 against coverage@20 on validation visitors, with every baseline's point beside it,
//! written as a standalone SVG (`metrics/tradeoff.svg`).

use serde::{Deserialize, Serialize};

/// One method or setting measured on the validation visitors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TradeoffPoint {
    pub label: String,
    /// The two-tower's `β`; `None` for a baseline.
    pub popularity_weight: Option<f64>,
    pub ndcg: f64,
    pub coverage: f64,
    /// Mean persona share ([`super::personas`]).
    pub persona_share: f64,
}

/// The curve (points with a `β`, joined in order) and the baselines' points; `chosen` is the
/// shipped `β`, ringed.
pub fn tradeoff_svg(points: &[TradeoffPoint], chosen: f64, title: &str) -> String {
    let (w, h, pad) = (560.0f64, 380.0f64, 56.0f64);
    let range = |f: fn(&TradeoffPoint) -> f64| {
        let (lo, hi) = points
            .iter()
            .map(f)
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                (a.min(v), b.max(v))
            });
        let margin = ((hi - lo) * 0.08).max(1e-3);
        (lo - margin, hi + margin)
    };
    let (x0, x1) = range(|p| p.coverage);
    let (y0, y1) = range(|p| p.ndcg);
    let x = |v: f64| pad + (w - 2.0 * pad) * (v - x0) / (x1 - x0);
    let y = |v: f64| h - pad - (h - 2.0 * pad) * (v - y0) / (y1 - y0);
    let curve: Vec<&TradeoffPoint> = points
        .iter()
        .filter(|p| p.popularity_weight.is_some())
        .collect();
    let line: Vec<String> = curve
        .iter()
        .map(|p| format!("{:.1},{:.1}", x(p.coverage), y(p.ndcg)))
        .collect();
    let mut marks = String::new();
    for p in points {
        let (cx, cy) = (x(p.coverage), y(p.ndcg));
        match p.popularity_weight {
            Some(beta) => {
                marks.push_str(&format!(
                    r##"<circle cx="{cx:.1}" cy="{cy:.1}" r="3.5" fill="#2471a3"/><text x="{:.1}" y="{:.1}" font-size="10">β {beta}</text>
"##,
                    cx + 6.0,
                    cy - 6.0
                ));
                if (beta - chosen).abs() < 1e-9 {
                    marks.push_str(&format!(
                        r##"<circle cx="{cx:.1}" cy="{cy:.1}" r="8" fill="none" stroke="#c0392b" stroke-width="2"/>
"##
                    ));
                }
            }
            // Baselines are labelled to the left, the curve's points to the right: the two
            // sets sit close together and would overwrite each other's labels.
            None => marks.push_str(&format!(
                r##"<rect x="{:.1}" y="{:.1}" width="7" height="7" fill="#7f8c8d"/><text x="{:.1}" y="{:.1}" font-size="10" fill="#555" text-anchor="end">{}</text>
"##,
                cx - 3.5,
                cy - 3.5,
                cx - 7.0,
                cy + 3.5,
                p.label
            )),
        }
    }
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif">
<text x="{tx}" y="20" font-size="13" text-anchor="middle">{title}</text>
<rect x="{pad}" y="{pad}" width="{rw}" height="{rh}" fill="none" stroke="#ccc"/>
<polyline fill="none" stroke="#2471a3" stroke-width="1.5" points="{pts}"/>
{marks}<text x="{tx}" y="{bx}" font-size="11" text-anchor="middle">coverage@20 (share of the catalog in some visitor's top-20)</text>
<text x="{pad}" y="{by}" font-size="10">{x0:.3}</text><text x="{ex}" y="{by}" font-size="10" text-anchor="end">{x1:.3}</text>
<text x="{lx}" y="{pad}" font-size="10" text-anchor="end">{y1:.3}</text><text x="{lx}" y="{ly}" font-size="10" text-anchor="end">{y0:.3}</text>
<text x="14" y="{my}" font-size="11" transform="rotate(-90 14 {my})" text-anchor="middle">ndcg@20</text>
</svg>
"##,
        tx = w / 2.0,
        rw = w - 2.0 * pad,
        rh = h - 2.0 * pad,
        pts = line.join(" "),
        bx = h - 14.0,
        by = h - pad + 14.0,
        ex = w - pad,
        lx = pad - 4.0,
        ly = h - pad,
        my = h / 2.0,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_svg_joins_the_curve_rings_the_choice_and_marks_baselines() {
        let point = |label: &str, beta: Option<f64>, ndcg, coverage| TradeoffPoint {
            label: label.into(),
            popularity_weight: beta,
            ndcg,
            coverage,
            persona_share: 0.5,
        };
        let svg = tradeoff_svg(
            &[
                point("β 1", Some(1.0), 0.30, 0.02),
                point("β 0.5", Some(0.5), 0.29, 0.08),
                point("EASE", None, 0.28, 0.03),
            ],
            0.5,
            "validation",
        );
        assert_eq!(svg.matches("<circle").count(), 3, "two points and one ring");
        assert_eq!(
            svg.matches("<rect").count(),
            2,
            "the frame and one baseline"
        );
        assert!(svg.contains(">EASE</text>"));
        assert_eq!(svg.matches(" points=\"").count(), 1);
        let pts = svg
            .split(" points=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        assert_eq!(pts.split(' ').count(), 2, "{pts}");
    }
}
