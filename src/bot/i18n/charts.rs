//! The shape of `/chart`'s button texts: a part of [`super::Texts`], filled
//! in `id.rs` and `en.rs`. The words drawn on charts and the digest's are
//! [`crate::chart::ChartLabels`] and [`crate::digest::DigestTexts`], also
//! filled there.

use crate::metric::Metric;

/// Every user-facing text of the charts side, in one language.
pub struct ChartTexts {
    /// Short button labels, in [`Metric::ALL`] order.
    pub metric_buttons: [&'static str; Metric::ALL.len()],
    /// Put before the label of the button showing what the chart shows now.
    pub current_mark: &'static str,
    /// `/chart` could not draw: `{err}` says why.
    pub failed: &'static str,
}

impl ChartTexts {
    /// The button label for a metric.
    pub fn metric_button(&self, m: Metric) -> &'static str {
        let i = Metric::ALL.iter().position(|x| *x == m).unwrap_or(0);
        self.metric_buttons[i]
    }
}
