//! The training curves (loss and validation ndcg@20 per epoch) as a small standalone SVG.

use super::EpochRecord;

/// Two side-by-side line charts; each series scaled to its own range.
pub fn training_curves_svg(history: &[EpochRecord]) -> String {
    let (w, h, pad) = (360.0f64, 220.0f64, 40.0f64);
    let chart = |offset: f64, title: &str, values: Vec<f64>, colour: &str| -> String {
        let (lo, hi) = values
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                (a.min(*v), b.max(*v))
            });
        let span = if hi > lo { hi - lo } else { 1.0 };
        let n = values.len().max(2) - 1;
        let points: Vec<String> = values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let x = offset + pad + (w - 2.0 * pad) * i as f64 / n as f64;
                let y = h - pad - (h - 2.0 * pad) * (v - lo) / span;
                format!("{x:.1},{y:.1}")
            })
            .collect();
        format!(
            r##"<text x="{tx}" y="20" font-size="13" text-anchor="middle">{title}</text>
<rect x="{rx}" y="{pad}" width="{rw}" height="{rh}" fill="none" stroke="#ccc"/>
<polyline fill="none" stroke="{colour}" stroke-width="2" points="{pts}"/>
<text x="{rx}" y="{by}" font-size="10">epoch 1</text><text x="{ex}" y="{by}" font-size="10" text-anchor="end">epoch {last}</text>
<text x="{lx}" y="{pad}" font-size="10" text-anchor="end">{hi:.4}</text><text x="{lx}" y="{ly}" font-size="10" text-anchor="end">{lo:.4}</text>"##,
            tx = offset + w / 2.0,
            rx = offset + pad,
            rw = w - 2.0 * pad,
            rh = h - 2.0 * pad,
            pts = points.join(" "),
            by = h - pad + 14.0,
            ex = offset + w - pad,
            last = values.len(),
            lx = offset + pad - 4.0,
            ly = h - pad,
        )
    };
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{tw}" height="{h}" font-family="sans-serif">
{}
{}
</svg>
"#,
        chart(
            0.0,
            "train loss",
            history.iter().map(|r| r.train_loss).collect(),
            "#c0392b"
        ),
        chart(
            w,
            "validation ndcg@20 (k = 10)",
            history.iter().map(|r| r.valid_ndcg_at_20).collect(),
            "#2471a3"
        ),
        tw = 2.0 * w,
    )
}
