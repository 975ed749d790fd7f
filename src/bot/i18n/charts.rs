//! The texts of `/chart` and the charts the bot sends, in both languages
//! (kept apart from [`super::Texts`] so the charts side grows on its own).
//! Chart titles, captions and the digest's own wording live in `chart.rs`
//! and `digest.rs`, which render them for a language.

use crate::config::Lang;
use crate::metric::Metric;

/// Every user-facing text of the charts side, in one language.
pub struct ChartTexts {
    /// Short button labels, in [`Metric::ALL`] order.
    pub metric_buttons: [&'static str; 6],
    /// Put before the label of the button showing what the chart shows now.
    pub current_mark: &'static str,
    /// `/chart` could not draw: `{err}` says why.
    pub failed: &'static str,
}

pub static ID: ChartTexts = ChartTexts {
    metric_buttons: ["CPU", "RAM", "Disk", "Data", "Suhu", "Beban"],
    current_mark: "• ",
    failed: "Grafik tidak bisa dibuat: {err}",
};

pub static EN: ChartTexts = ChartTexts {
    metric_buttons: ["CPU", "RAM", "Disk", "Data", "Temp", "Load"],
    current_mark: "• ",
    failed: "Could not draw the chart: {err}",
};

/// The catalogue for a language.
pub fn chart_texts(lang: Lang) -> &'static ChartTexts {
    match lang {
        Lang::Id => &ID,
        Lang::En => &EN,
    }
}

impl ChartTexts {
    /// The button label for a metric.
    pub fn metric_button(&self, m: Metric) -> &'static str {
        let i = Metric::ALL.iter().position(|x| *x == m).unwrap_or(0);
        self.metric_buttons[i]
    }
}
