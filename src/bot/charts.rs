//! Charts in Telegram: `/chart <metric> [hours]` as a photo with a
//! min/avg/max caption and buttons that redraw the same message, and the
//! outbox's chart items (alerts, the digest) rendered at send time.
//!
//! Drawing is `crate::chart` (pure, PNG bytes); this file reads `history.bin`,
//! runs the renderer off the async thread and talks to Telegram.

use std::sync::Arc;

use anyhow::Context;
use teloxide::RequestError;
use teloxide::prelude::*;
use teloxide::types::{
    InlineKeyboardButton, InlineKeyboardMarkup, InputFile, InputMedia, InputMediaPhoto, MessageId,
    ParseMode,
};

use crate::alert_code::AlertCode;
use crate::chart::{self, ChartSpec};
use crate::config::{Config, Lang};
use crate::files::bot::{OutboxChart, OutboxItem};
use crate::history;
use crate::metric::Metric;

use super::callback::Callback;
use super::command::Command;
use super::i18n::{Texts, texts};
use super::req::{Req, replied};
use super::send::{inline_row, retrying};
use super::text::{esc, fill};
use super::{AuditResult, Shared};

/// Telegram's limit on a photo caption, in characters after HTML parsing.
pub const CAPTION_LIMIT: usize = 1024;

/// A rendered chart.
pub struct Picture {
    pub png: Vec<u8>,
    /// The min/avg/max line (plain text).
    pub caption: String,
    /// At least one value of the metric is in range.
    pub has_data: bool,
}

/// Runs `/chart <metric> [hours]`.
pub async fn chart_command(req: &Req, args: &str) -> AuditResult {
    let t = req.texts();
    let (metric, hours) = match chart::parse_args(args) {
        Ok(v) => v,
        Err(e) => {
            let html = format!(
                "{}\n{}",
                fill(
                    t.invalid,
                    &[("err", &super::i18n::Said::said(&e, t.errors))]
                ),
                fill(t.usage, &[("usage", &esc(&t.usage_of(Command::Chart)))])
            );
            return replied(
                req.reply(&html).await,
                AuditResult::Failed("invalid arguments".into()),
            );
        }
    };
    let (cfg, lang) = (req.shared.config(), req.lang());
    let spec = ChartSpec::last_hours(metric, hours, now_s(), &cfg.thresholds, &texts(lang).chart);
    match draw(&cfg, spec).await {
        Ok(pic) => {
            let r = retrying(|| {
                req.bot
                    .send_photo(req.chat, photo_file(&pic))
                    .caption(pic.caption.clone())
                    .reply_markup(keyboard(texts(lang), metric, hours))
                    .send()
            })
            .await;
            replied(r.map(|_| ()), AuditResult::Ok)
        }
        Err(e) => failed(req, e).await,
    }
}

/// A button under a chart was pressed: redraw that message for the new metric
/// or range (`editMessageMedia`). Returns what goes into the audit log.
pub async fn on_button(req: &Req, message: MessageId, metric: Metric, hours: u32) -> AuditResult {
    let (cfg, lang) = (req.shared.config(), req.lang());
    let spec = ChartSpec::last_hours(metric, hours, now_s(), &cfg.thresholds, &texts(lang).chart);
    match draw(&cfg, spec).await {
        Ok(pic) => {
            let media =
                InputMedia::Photo(InputMediaPhoto::new(photo_file(&pic)).caption(&pic.caption));
            let r = retrying(|| {
                req.bot
                    .edit_message_media(req.chat, message, media.clone())
                    .reply_markup(keyboard(texts(lang), metric, hours))
                    .send()
            })
            .await;
            replied(r.map(|_| ()), AuditResult::Ok)
        }
        Err(e) => failed(req, e).await,
    }
}

/// The chart an alert carries: the last [`chart::ALERT_HOURS`] of the metric
/// the alert is about, ending when the alert was decided; none for alerts
/// without a metric (services, backup).
pub fn alert_chart(code: &str, decided_at: i64) -> Option<OutboxChart> {
    let metric = AlertCode::family_of(code).and_then(AlertCode::metric);
    metric.map(|m| OutboxChart {
        metric: m.name().to_string(),
        hours: chart::ALERT_HOURS,
        to: decided_at,
        small: true,
    })
}

/// The spec for an outbox chart; `None` for a metric this version does not know.
pub fn outbox_spec(c: &OutboxChart, cfg: &Config, lang: Lang) -> Option<ChartSpec> {
    let metric = Metric::ALL.into_iter().find(|m| m.name() == c.metric)?;
    let hours = c.hours.clamp(1, chart::MAX_HOURS);
    Some(if c.small {
        ChartSpec {
            from: c.to - i64::from(hours) * 3600,
            ..ChartSpec::for_alert(metric, c.to, &cfg.thresholds, &texts(lang).chart)
        }
    } else {
        ChartSpec::last_hours(metric, hours, c.to, &cfg.thresholds, &texts(lang).chart)
    })
}

/// Whether `html` fits a photo caption: Telegram counts the text after its
/// HTML is parsed, in UTF-16 code units.
pub fn fits_caption(html: &str) -> bool {
    super::send::strip_html(html).encode_utf16().count() <= CAPTION_LIMIT
}

/// How an outbox item with a chart goes out, given whether the chart has data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxSend {
    /// A photo with the item's HTML as caption.
    PhotoWithText,
    /// A photo with the chart's own min/avg/max line.
    PhotoOnly,
    /// The HTML as an ordinary message: no chart, or no data to chart.
    TextOnly,
    /// Nothing worth sending: a chart-only item whose chart cannot be drawn.
    Nothing,
}

/// Decides how an outbox chart item is sent. `drawn` is `Some(has_data)` when
/// the chart was rendered, `None` when rendering failed or was not tried
/// (Telegram refused the photo before, so the words go out without it).
pub fn outbox_send(html: &str, drawn: Option<bool>) -> OutboxSend {
    match (html.is_empty(), drawn) {
        (true, Some(true)) => OutboxSend::PhotoOnly,
        (true, _) => OutboxSend::Nothing,
        (false, Some(true)) if fits_caption(html) => OutboxSend::PhotoWithText,
        (false, _) => OutboxSend::TextOnly,
    }
}

/// Sends one outbox item that carries a chart. Rendering happens here, at send
/// time, so the persisted outbox holds only a reference. `text_only` after a
/// refusal: the alert matters more than its picture. Returns the message sent, if any.
pub async fn send_outbox_chart(
    bot: &Bot,
    shared: &Arc<Shared>,
    item: &OutboxItem,
    c: &OutboxChart,
    text_only: bool,
) -> Result<Option<Message>, RequestError> {
    let cfg = shared.config();
    let pic = match outbox_spec(c, &cfg, shared.lang()) {
        Some(spec) if !text_only => match draw(&cfg, spec).await {
            Ok(p) => Some(p),
            Err(e) => {
                log::warn!("outbox: chart for message {} not drawn: {e:#}", item.seq);
                None
            }
        },
        _ => None,
    };
    let chat = ChatId(item.chat_id);
    let markup = (!item.buttons.is_empty()).then(|| inline_row(&item.buttons));
    let how = outbox_send(&item.html, pic.as_ref().map(|p| p.has_data));
    let (pic, caption, html) = match (how, &pic) {
        (OutboxSend::PhotoWithText, Some(p)) => (p, item.html.clone(), true),
        (OutboxSend::PhotoOnly, Some(p)) => (p, p.caption.clone(), false),
        (OutboxSend::Nothing, _) => {
            log::info!(
                "outbox: chart-only message {} has nothing to show",
                item.seq
            );
            return Ok(None);
        }
        _ => {
            let mut req = bot
                .send_message(chat, crate::redact::redact(&item.html))
                .parse_mode(ParseMode::Html);
            if let Some(m) = markup {
                req = req.reply_markup(m);
            }
            return req.send().await.map(Some);
        }
    };
    let mut req = bot
        .send_photo(chat, photo_file(pic))
        .caption(crate::redact::redact(&caption));
    if html {
        req = req.parse_mode(ParseMode::Html);
    }
    if let Some(m) = markup {
        req = req.reply_markup(m);
    }
    req.send().await.map(Some)
}

/// Reads the history the spec needs and renders it, off the async thread.
pub async fn draw(cfg: &Config, spec: ChartSpec) -> anyhow::Result<Picture> {
    let path = cfg.state_dir.join(crate::paths::HISTORY);
    tokio::task::spawn_blocking(move || {
        let samples = history::read_since(&path, spec.from)?;
        let png = chart::render(&samples, &spec)?;
        Ok(Picture {
            png,
            caption: chart::caption(&samples, &spec),
            has_data: chart::stats(&samples, spec.metric, spec.from, spec.to).is_some(),
        })
    })
    .await
    .context("the chart renderer stopped")?
}

/// The buttons under a `/chart` photo: one row of metrics, one of ranges,
/// each redrawing the message; the current choice is marked.
pub fn keyboard_rows(t: &Texts, metric: Metric, hours: u32) -> Vec<Vec<(String, String)>> {
    let ct = &t.charts;
    let mark = |on: bool, label: String| {
        if on {
            format!("{}{label}", ct.current_mark)
        } else {
            label
        }
    };
    let metrics = Metric::ALL
        .into_iter()
        .map(|m| {
            (
                mark(m == metric, ct.metric_button(m).to_string()),
                chart_data(m, hours),
            )
        })
        .collect();
    let ranges = chart::RANGE_CHOICES
        .into_iter()
        .map(|h| {
            (
                mark(h == hours, t.chart.range_button(h)),
                chart_data(metric, h),
            )
        })
        .collect();
    vec![metrics, ranges]
}

/// A chart button's data (always within Telegram's 64 bytes).
fn chart_data(metric: Metric, hours: u32) -> String {
    Callback::Chart { metric, hours }.data().unwrap_or_default()
}

fn keyboard(t: &Texts, metric: Metric, hours: u32) -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new(keyboard_rows(t, metric, hours).into_iter().map(|row| {
        row.into_iter()
            .map(|(label, data)| InlineKeyboardButton::callback(label, data))
            .collect::<Vec<_>>()
    }))
}

fn photo_file(pic: &Picture) -> InputFile {
    InputFile::memory(pic.png.clone()).file_name("chart.png")
}

async fn failed(req: &Req, e: anyhow::Error) -> AuditResult {
    log::warn!("chart: {e:#}");
    let html = fill(
        req.texts().charts.failed,
        &[("err", &esc(&format!("{e:#}")))],
    );
    let _ = req.reply(&html).await;
    AuditResult::Failed(format!("{e:#}"))
}

fn now_s() -> i64 {
    chrono::Utc::now().timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buttons_switch_metric_and_range_and_mark_the_current_one() {
        let rows = keyboard_rows(texts(Lang::En), Metric::Cpu, 6);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].len(), Metric::ALL.len());
        assert_eq!(rows[1].len(), chart::RANGE_CHOICES.len());
        for row in &rows {
            for (label, data) in row {
                assert!(data.len() <= super::super::command::CALLBACK_MAX, "{data}");
                let Some(Callback::Chart {
                    metric: m,
                    hours: h,
                }) = Callback::parse(data)
                else {
                    panic!("{data} is no chart button");
                };
                let current = m == Metric::Cpu && h == 6;
                assert_eq!(label.starts_with("• "), current, "{label} {data}");
            }
        }
        // The metric row keeps the range; the range row keeps the metric.
        assert_eq!(rows[0][4].1, "chart:temp:6");
        assert_eq!(rows[0][4].0, "Temp");
        assert_eq!(rows[1][4].1, "chart:cpu:168");
        assert_eq!(rows[1][4].0, "7 d");
        let id = keyboard_rows(texts(Lang::Id), Metric::Load, 12);
        assert_eq!(id[0][5].0, "• Beban");
        assert!(
            id[1].iter().all(|(l, _)| !l.starts_with("• ")),
            "12 h is no button"
        );
    }

    #[test]
    fn alerts_about_a_metric_carry_a_small_two_hour_chart() {
        for (code, metric) in [
            ("CPU_HIGH", "cpu"),
            ("RAM_HIGH", "ram"),
            ("TEMP_HIGH", "temp"),
            ("DISK_ROOT_HIGH", "disk"),
            ("DISK_DATA_HIGH", "disk_data"),
        ] {
            let c = alert_chart(code, 1_000_000).expect(code);
            assert_eq!((c.metric.as_str(), c.hours, c.to), (metric, 2, 1_000_000));
            assert!(c.small);
        }
        for code in [
            "SERVICE_DOWN:x.service",
            "BACKUP_FAILED",
            "HEALTH_STALE",
            "DATA_DISK_MISSING",
        ] {
            assert_eq!(alert_chart(code, 0), None, "{code}");
        }
    }

    #[test]
    fn outbox_specs_end_when_the_message_was_decided() {
        let cfg = Config::defaults();
        let alert = alert_chart("TEMP_HIGH", 1_000_000).unwrap();
        let s = outbox_spec(&alert, &cfg, Lang::En).unwrap();
        assert_eq!((s.from, s.to), (1_000_000 - 7200, 1_000_000));
        assert_eq!(s.size, chart::ChartSize::Small);
        assert_eq!(s.metric, Metric::Temp);
        assert_eq!(s.threshold, Some(cfg.thresholds.temp));
        let day = OutboxChart {
            metric: "load".into(),
            hours: 24,
            to: 2_000_000,
            small: false,
        };
        let s = outbox_spec(&day, &cfg, Lang::Id).unwrap();
        assert_eq!(
            (s.from, s.size),
            (2_000_000 - 86_400, chart::ChartSize::Full)
        );
        assert_eq!(s.threshold, None);
        let unknown = OutboxChart {
            metric: "gpu".into(),
            ..day
        };
        assert!(outbox_spec(&unknown, &cfg, Lang::En).is_none());
    }

    #[test]
    fn outbox_items_fall_back_to_text_and_drop_empty_pictures() {
        let alert = "🚨 <b>CPU high</b> <code>CPU_HIGH</code>";
        assert_eq!(outbox_send(alert, Some(true)), OutboxSend::PhotoWithText);
        // No samples in range: the alert goes as text, not as an empty chart.
        assert_eq!(outbox_send(alert, Some(false)), OutboxSend::TextOnly);
        assert_eq!(outbox_send(alert, None), OutboxSend::TextOnly);
        assert_eq!(outbox_send("", Some(true)), OutboxSend::PhotoOnly);
        assert_eq!(outbox_send("", Some(false)), OutboxSend::Nothing);
        assert_eq!(outbox_send("", None), OutboxSend::Nothing);
        // Too long for a caption: text (the digest splits before it gets here).
        let long = format!("<b>{}</b>", "x".repeat(CAPTION_LIMIT + 1));
        assert_eq!(outbox_send(&long, Some(true)), OutboxSend::TextOnly);
    }

    #[test]
    fn captions_are_measured_after_html_and_in_utf16() {
        let tags = format!("<b>{}</b>", "x".repeat(CAPTION_LIMIT));
        assert!(fits_caption(&tags));
        assert!(fits_caption(&"&amp;".repeat(CAPTION_LIMIT)));
        // An emoji outside the BMP counts twice.
        assert!(!fits_caption(&"🚨".repeat(CAPTION_LIMIT / 2 + 1)));
        assert!(fits_caption(&"🚨".repeat(CAPTION_LIMIT / 2)));
    }
}
