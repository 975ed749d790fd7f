//! Charts: health history samples in, PNG bytes out (`draw.rs`), what to draw
//! (`spec.rs`), the `/chart` argument parser and the min/avg/max caption.
//! Pure: no files, no clock, no Telegram; words come in as [`ChartLabels`]
//! from the bot's catalogue, and the font is embedded.

use crate::history::{self, Sample};
use crate::human::fill;
use crate::metric::{Metric, UnknownMetric};

mod draw;
mod spec;

pub use draw::render;
pub use spec::{ChartSize, ChartSpec, local_offset};

/// Samples further apart than this (the laptop was off or the timer stalled) break the line.
pub const GAP_S: i64 = 180;
/// Range of `/chart` without an hours argument.
pub const DEFAULT_HOURS: u32 = 24;
/// Longest range `/chart` accepts: what the history keeps (8 days).
pub const MAX_HOURS: u32 = (history::KEEP_RECORDS / 60) as u32;
/// Range of the small chart attached to an alert.
pub const ALERT_HOURS: u32 = 2;

/// The words on charts and their buttons, in one language (instances live in
/// the bot's catalogues). Templates take `{n}`.
#[derive(Debug, PartialEq)]
pub struct ChartLabels {
    /// Metric names for titles and captions, in [`Metric::ALL`] order.
    pub metrics: [&'static str; Metric::ALL.len()],
    /// Range in a title: `{n} jam terakhir`.
    pub last_hours: &'static str,
    /// Range in a title, whole days from two on: `{n} hari terakhir`.
    pub last_days: &'static str,
    /// Range button: `{n} jam`.
    pub hours_button: &'static str,
    /// Range button, whole days from two on: `{n} hari`.
    pub days_button: &'static str,
    /// Caption with no finite value in range.
    pub no_data: &'static str,
    pub avg: &'static str,
    pub max: &'static str,
    /// Written across an empty chart.
    pub empty: &'static str,
}

impl ChartLabels {
    /// The name of a metric.
    pub fn metric(&self, m: Metric) -> &'static str {
        let i = Metric::ALL.iter().position(|x| *x == m).unwrap_or(0);
        self.metrics[i]
    }

    /// A range in hours, as days when it is whole days from two on.
    fn range(&self, hours: i64, hours_t: &str, days_t: &str) -> String {
        let whole_days = hours >= 48 && hours % 24 == 0;
        let (t, n) = if whole_days {
            (days_t, hours / 24)
        } else {
            (hours_t, hours)
        };
        fill(t, &[("n", &n.to_string())])
    }

    /// Button label for a range: `6 jam` / `6 h`, `3 hari` / `3 d`.
    pub fn range_button(&self, hours: u32) -> String {
        self.range(hours.into(), self.hours_button, self.days_button)
    }

    /// A range in a title: `24 jam terakhir` / `last 24 h`.
    pub fn range_title(&self, hours: i64) -> String {
        self.range(hours, self.last_hours, self.last_days)
    }
}

/// Parses the arguments of `/chart <metric> [hours]`. A bare `/chart` shows
/// CPU over [`DEFAULT_HOURS`]; hours may carry an `h` suffix (`6h`).
pub fn parse_args(args: &str) -> Result<(Metric, u32), BadArgs> {
    let mut words = args.split_whitespace();
    let metric = match words.next() {
        Some(w) => Metric::parse(w).map_err(BadArgs::Metric)?,
        None => Metric::Cpu,
    };
    let hours = match words.next() {
        Some(w) => parse_hours(w)?,
        None => DEFAULT_HOURS,
    };
    if words.next().is_some() {
        return Err(BadArgs::TooMany);
    }
    Ok((metric, hours))
}

/// Why the arguments of `/chart` were refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BadArgs {
    Metric(UnknownMetric),
    /// Not a whole number of hours (the word as given).
    NotHours(String),
    /// A number of hours outside 1..=[`MAX_HOURS`].
    HoursOutOfRange(String),
    TooMany,
}

impl std::fmt::Display for BadArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BadArgs::Metric(e) => e.fmt(f),
            BadArgs::NotHours(raw) => write!(
                f,
                "{raw:?} is not a whole number of hours; use 1 to {MAX_HOURS}"
            ),
            BadArgs::HoursOutOfRange(n) => write!(
                f,
                "{n} hours is out of range; the history covers 1 to {MAX_HOURS} hours"
            ),
            BadArgs::TooMany => {
                f.write_str("too many arguments; use /chart <metric> [hours], e.g. /chart cpu 6")
            }
        }
    }
}

impl std::error::Error for BadArgs {}

pub fn parse_hours(raw: &str) -> Result<u32, BadArgs> {
    let digits = raw.strip_suffix(['h', 'H']).unwrap_or(raw);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(BadArgs::NotHours(raw.to_string()));
    }
    match digits.parse::<u32>() {
        Ok(h) if (1..=MAX_HOURS).contains(&h) => Ok(h),
        _ => Err(BadArgs::HoursOutOfRange(digits.to_string())),
    }
}

/// Ranges offered as buttons under a chart, in hours.
pub const RANGE_CHOICES: [u32; 5] = [2, 6, 24, 72, 168];

/// Min, average and max of the finite values in range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stats {
    pub min: f64,
    pub avg: f64,
    pub max: f64,
    pub count: usize,
}

/// Statistics of `metric` over samples with `from <= t <= to`; `None` when no value is finite.
pub fn stats(samples: &[Sample], metric: Metric, from: i64, to: i64) -> Option<Stats> {
    let mut acc: Option<Stats> = None;
    let mut sum = 0.0;
    for (_, v) in visible(samples, metric, from, to) {
        sum += v;
        let s = acc.get_or_insert(Stats {
            min: v,
            avg: 0.0,
            max: v,
            count: 0,
        });
        s.min = s.min.min(v);
        s.max = s.max.max(v);
        s.count += 1;
    }
    acc.map(|s| Stats {
        avg: sum / s.count as f64,
        ..s
    })
}

/// The one-line photo caption: `CPU · 24 jam terakhir: min 3.0% · rata-rata 12.4% · maks 97.0%`.
pub fn caption(samples: &[Sample], spec: &ChartSpec) -> String {
    let m = spec.metric;
    let l = spec.labels;
    let head = spec.title();
    let Some(s) = stats(samples, m, spec.from, spec.to) else {
        return format!("{head}: {}", l.no_data);
    };
    let (avg, max) = (l.avg, l.max);
    format!(
        "{head}: min {} · {avg} {} · {max} {}",
        m.format_value(s.min),
        m.format_value(s.avg),
        m.format_value(s.max)
    )
}

/// `(t, value)` for every finite value of `metric` in `from..=to`.
fn visible(
    samples: &[Sample],
    metric: Metric,
    from: i64,
    to: i64,
) -> impl Iterator<Item = (i64, f64)> + '_ {
    samples
        .iter()
        .filter(move |s| s.t >= from && s.t <= to)
        .map(move |s| (s.t, f64::from(metric.value(s))))
        .filter(|(_, v)| v.is_finite())
}

/// Time spans `[start, end)` during which `bit` was set, clipped to `from..=to`.
/// A sample speaks for the time until the next one, but for at most [`GAP_S`]
/// (one nominal minute when it is the last or stands before a gap).
pub fn alert_spans(samples: &[Sample], bit: u32, from: i64, to: i64) -> Vec<(i64, i64)> {
    let mut spans: Vec<(i64, i64)> = Vec::new();
    if bit == 0 {
        return spans;
    }
    for (i, s) in samples.iter().enumerate() {
        if s.alerts & bit == 0 {
            continue;
        }
        let step = match samples.get(i + 1) {
            Some(n) if n.t > s.t && n.t - s.t <= GAP_S => n.t - s.t,
            _ => 60,
        };
        let (a, b) = (s.t.max(from), (s.t + step).min(to));
        if a >= b {
            continue;
        }
        match spans.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => spans.push((a, b)),
        }
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::draw::*;
    use super::*;
    use crate::alert_code::AlertCode;
    use crate::bot::i18n::texts;
    use crate::config::{Lang, Thresholds};
    use chrono::FixedOffset;
    use plotters::prelude::RGBColor;

    const UTC: FixedOffset = FixedOffset::east_opt(0).unwrap();
    /// 2026-11-25 12:00:00 UTC.
    const NOON: i64 = 1_795_608_000;

    fn sample(t: i64, cpu: f32) -> Sample {
        Sample {
            t,
            cpu,
            ram: 40.0,
            swap: 0.0,
            disk_root: 50.0,
            disk_data: f32::NAN,
            temp: 55.0,
            load1: 0.5,
            alerts: 0,
            probe_ms: 40.0,
        }
    }

    /// One sample a minute over `[from, to)` with `cpu = f(i)`.
    fn minutes(from: i64, to: i64, f: impl Fn(i64) -> f32) -> Vec<Sample> {
        (0..)
            .map(|i| (i, from + i * 60))
            .take_while(|(_, t)| *t < to)
            .map(|(i, t)| sample(t, f(i)))
            .collect()
    }

    fn spec(threshold: Option<f64>) -> ChartSpec {
        ChartSpec {
            metric: Metric::Cpu,
            from: NOON - 24 * 3600,
            to: NOON,
            threshold,
            size: ChartSize::Full,
            labels: &texts(Lang::En).chart,
            utc_offset: UTC,
        }
    }

    struct Image {
        width: u32,
        height: u32,
        pixels: Vec<[u8; 3]>,
    }

    impl Image {
        fn decode(bytes: &[u8]) -> Image {
            let mut reader = png::Decoder::new(bytes).read_info().expect("a png");
            let mut buf = vec![0; reader.output_buffer_size()];
            let info = reader.next_frame(&mut buf).expect("a frame");
            assert_eq!(info.color_type, png::ColorType::Rgb);
            let pixels = buf[..info.buffer_size()]
                .chunks_exact(3)
                .map(|p| [p[0], p[1], p[2]])
                .collect();
            Image {
                width: info.width,
                height: info.height,
                pixels,
            }
        }

        fn count(&self, c: RGBColor) -> usize {
            self.pixels
                .iter()
                .filter(|p| **p == [c.0, c.1, c.2])
                .count()
        }

        fn distinct_colours(&self) -> usize {
            let mut seen: Vec<[u8; 3]> = self.pixels.clone();
            seen.sort_unstable();
            seen.dedup();
            seen.len()
        }

        /// Columns holding at least one pixel of colour `c`.
        fn columns_with(&self, c: RGBColor) -> Vec<bool> {
            self.columns_where(|p| p == [c.0, c.1, c.2])
        }

        /// How many columns hold alert shading: light red over white, the area or the grid.
        fn shaded_columns(&self) -> usize {
            let light_red = |[r, g, b]: [u8; 3]| {
                let (r, g, b) = (i32::from(r), i32::from(g), i32::from(b));
                r > 200 && g > 120 && r > g + 20 && r > b + 15
            };
            self.columns_where(light_red).iter().filter(|c| **c).count()
        }

        fn columns_where(&self, f: impl Fn([u8; 3]) -> bool) -> Vec<bool> {
            let mut cols = vec![false; self.width as usize];
            for (i, p) in self.pixels.iter().enumerate() {
                if f(*p) {
                    cols[i % self.width as usize] = true;
                }
            }
            cols
        }
    }

    fn render_image(samples: &[Sample], spec: &ChartSpec) -> Image {
        let png = render(samples, spec).expect("renders");
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        if let Some(dir) = std::env::var_os("POTION_CHART_DUMP") {
            // Eyeballing aid: `POTION_CHART_DUMP=/tmp cargo test --lib chart::` keeps the images.
            let name = format!("{}-{}.png", spec.metric.name(), png.len());
            std::fs::write(std::path::Path::new(&dir).join(name), &png).unwrap();
        }
        Image::decode(&png)
    }

    /// Longest run of columns without colour `c` between the first and last column that has it.
    fn longest_hole(cols: &[bool]) -> usize {
        let first = cols.iter().position(|c| *c).expect("colour present");
        let last = cols.iter().rposition(|c| *c).unwrap();
        cols[first..=last]
            .split(|c| *c)
            .map(<[bool]>::len)
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn empty_history_says_no_data() {
        let img = render_image(&[], &spec(Some(90.0)));
        assert_eq!((img.width, img.height), (800, 400));
        assert_eq!(img.count(LINE), 0);
        assert!(
            img.count(MUTED_TEXT) > 30,
            "no 'no data' text: {}",
            img.count(MUTED_TEXT)
        );
        assert!(img.count(THRESHOLD) > 100, "threshold still drawn");
        assert!(img.distinct_colours() > 10, "axes and labels drawn");
    }

    #[test]
    fn one_sample_is_a_point() {
        let img = render_image(&[sample(NOON - 3600, 42.0)], &spec(None));
        let dots = img.count(LINE);
        assert!((10..200).contains(&dots), "a dot, not a line: {dots} px");
        assert_eq!(img.count(MUTED_TEXT), 0, "no 'no data' text");
    }

    #[test]
    fn gaps_break_the_line() {
        let from = NOON - 24 * 3600;
        let mut with_gap = minutes(from, from + 8 * 3600, |i| (i % 50) as f32 + 20.0);
        with_gap.extend(minutes(from + 16 * 3600, NOON, |i| (i % 50) as f32 + 20.0));
        let hole = longest_hole(&render_image(&with_gap, &spec(None)).columns_with(LINE));
        // A third of a ~730 px plot is missing; allow for the axis and line width.
        assert!((200..280).contains(&hole), "hole of {hole} px");

        let whole = minutes(from, NOON, |i| (i % 50) as f32 + 20.0);
        let hole = longest_hole(&render_image(&whole, &spec(None)).columns_with(LINE));
        assert!(hole < 3, "unbroken line has a hole of {hole} px");

        // Gaps survive the per-column means of a week: one day off is a seventh of the plot.
        let week_from = NOON - 7 * 86400;
        let mut week = minutes(week_from, NOON - 3 * 86400, |i| (i % 50) as f32 + 20.0);
        week.extend(minutes(NOON - 2 * 86400, NOON, |i| (i % 50) as f32 + 20.0));
        let week_spec = ChartSpec {
            from: week_from,
            ..spec(None)
        };
        let img = render_image(&week, &week_spec);
        assert!(img.count(BAND) > 1000, "drawn as means and band");
        let hole = longest_hole(&img.columns_with(LINE));
        assert!((95..115).contains(&hole), "hole of {hole} px");

        // Two minutes apart is not a gap.
        let sparse = minutes(from, NOON, |_| 50.0)
            .into_iter()
            .step_by(2)
            .collect::<Vec<_>>();
        assert_eq!(
            segments(&visible(&sparse, Metric::Cpu, from, NOON).collect::<Vec<_>>()).len(),
            1
        );
    }

    #[test]
    fn non_finite_values_are_skipped() {
        let from = NOON - 24 * 3600;
        let clean = minutes(from, NOON, |i| ((i * 7) % 90) as f32 + 5.0);
        let mut dirty = Vec::new();
        for s in &clean {
            dirty.push(*s);
            for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
                dirty.push(Sample {
                    t: s.t + 20,
                    ..sample(s.t + 20, bad)
                });
            }
        }
        let a = render(&clean, &spec(Some(90.0))).unwrap();
        let b = render(&dirty, &spec(Some(90.0))).unwrap();
        assert!(a == b, "non-finite values changed the picture");
        assert_eq!(
            stats(&dirty, Metric::Cpu, from, NOON),
            stats(&clean, Metric::Cpu, from, NOON)
        );
        let img = Image::decode(&a);
        assert!(img.count(LINE) > 500 && img.count(AREA) > 10_000);
        assert!(img.distinct_colours() > 20);
    }

    #[test]
    fn threshold_line_and_alert_shading() {
        let from = NOON - 24 * 3600;
        let mut samples = minutes(from, NOON, |_| 30.0);
        let plain = render_image(&samples, &spec(None));
        assert_eq!(plain.count(THRESHOLD), 0);
        assert_eq!(plain.shaded_columns(), 0);

        let with_line = render_image(&samples, &spec(Some(90.0)));
        assert!(
            with_line.count(THRESHOLD) > 500,
            "dashed line across the plot"
        );

        // Two hours of CPU_HIGH in the afternoon, plus a RAM alert that must not show.
        for s in samples.iter_mut().skip(600).take(120) {
            s.cpu = 97.0;
            s.alerts = AlertCode::CpuHigh.history_bit();
        }
        samples[100].alerts = AlertCode::RamHigh.history_bit();
        let shaded = render_image(&samples, &spec(Some(90.0)));
        let cols = shaded.shaded_columns();
        // Two hours of a 24 h plot about 730 px wide.
        assert!((50..75).contains(&cols), "shaded {cols} columns");
        let load = ChartSpec {
            metric: Metric::Load,
            ..spec(None)
        };
        assert_eq!(render_image(&samples, &load).shaded_columns(), 0);
    }

    #[test]
    fn small_alert_chart() {
        let now = NOON;
        let samples = minutes(now - 3 * 3600, now, |i| (i as f32 / 2.0).min(99.0));
        let thresholds = Thresholds {
            cpu: 90.0,
            ram: 90.0,
            disk: 90.0,
            disk_data: 90.0,
            temp: 85.0,
        };
        let spec = ChartSpec {
            utc_offset: UTC,
            ..ChartSpec::for_alert(Metric::Cpu, now, &thresholds, &texts(Lang::Id).chart)
        };
        assert_eq!(spec.from, now - 2 * 3600);
        assert_eq!(spec.threshold, Some(90.0));
        let img = render_image(&samples, &spec);
        assert_eq!((img.width, img.height), (600, 250));
        assert!(img.count(LINE) > 200 && img.count(THRESHOLD) > 200);
        assert_eq!(img.count(BAND), 0, "two hours of minutes are drawn raw");
    }

    #[test]
    fn temperature_and_load_axes_fit_the_data() {
        let pts = [(0, 41.0), (60, 63.0)];
        assert_eq!(value_range(Metric::Temp, &pts, Some(85.0)), (30.0, 90.0));
        assert_eq!(value_range(Metric::Temp, &[], None), (20.0, 100.0));
        let (lo, hi) = value_range(Metric::Load, &[(0, 3.0)], None);
        assert!(lo == 0.0 && hi > 3.0);
        assert_eq!(value_range(Metric::Ram, &pts, Some(90.0)), (0.0, 100.0));
        let (lo, hi) = value_range(Metric::Temp, &[(0, 1e30), (60, 1e31)], None);
        assert!(lo < hi && hi <= VALUE_LIMIT + 10.0, "{lo}..{hi}");
        for m in [Metric::Temp, Metric::Load, Metric::DiskData] {
            let samples = minutes(NOON - 6 * 3600, NOON, |i| i as f32);
            let spec = ChartSpec {
                metric: m,
                ..spec(None)
            };
            // disk_data is NaN in every sample: a "no data" chart, not an error.
            let img = render_image(&samples, &spec);
            assert_eq!(img.count(LINE) > 0, m != Metric::DiskData, "{m:?}");
        }
    }

    /// A week of minute samples must render in under 100 ms (the budget in
    /// README.md's benchmark table). The bound only means something with
    /// optimisations, so a debug build checks a loose bound and says so;
    /// `bench/chart.sh` runs this in release.
    #[test]
    fn week_of_minutes_renders_fast() {
        let now = NOON;
        let week = minutes(now - 7 * 86400, now, |i| {
            ((i as f32 / 37.0).sin() * 30.0 + 45.0 + (i % 7) as f32).clamp(0.0, 100.0)
        });
        assert_eq!(week.len(), 10_080);
        let spec = ChartSpec {
            from: now - 7 * 86400,
            ..spec(Some(90.0))
        };
        let mut times = Vec::new();
        let mut size = 0;
        for _ in 0..7 {
            let start = std::time::Instant::now();
            let png = render(&week, &spec).unwrap();
            times.push(start.elapsed().as_secs_f64() * 1000.0);
            size = png.len();
            assert!(Image::decode(&png).count(LINE) > 1000);
        }
        // A week is denser than the pixels: the peaks survive in the min-max band.
        let band = render_image(&week, &spec).count(BAND);
        assert!(band > 1000, "{band} band pixels");
        times.sort_by(f64::total_cmp);
        let (ms, median) = (times[0], times[times.len() / 2]);
        eprintln!(
            "chart: a week of minute samples (10080) rendered in {ms:.1} ms best, {median:.1} ms median of 7; png {} KiB",
            size / 1024
        );
        if cfg!(debug_assertions) {
            eprintln!(
                "chart: debug build, checking a loose 3000 ms bound; run bench/chart.sh for the real one"
            );
            assert!(ms < 3000.0, "{ms:.1} ms");
        } else {
            assert!(ms < 100.0, "{ms:.1} ms, the budget is 100 ms");
        }
    }

    #[test]
    fn dense_runs_become_column_means_with_a_band() {
        let pts: Vec<(i64, f64)> = (0..11).map(|t| (t, t as f64)).collect();
        let cols = columns_of(&pts, 5);
        assert_eq!(cols.len(), 3);
        assert_eq!(
            cols[0],
            Column {
                t: 2,
                mean: 2.0,
                min: 0.0,
                max: 4.0
            }
        );
        assert_eq!((cols[2].t, cols[2].mean), (10, 10.0));

        // Two samples a column or fewer stay raw; more become means and a band.
        let sparse = Trace::of(&pts, 1);
        assert_eq!(
            sparse,
            Trace::Line {
                line: pts.clone(),
                band: vec![]
            }
        );
        let Trace::Line { line, band } = Trace::of(&pts, 5) else {
            panic!("a line");
        };
        assert_eq!(line, vec![(2, 2.0), (7, 7.0), (10, 10.0)]);
        assert_eq!(band.first(), Some(&(2, 4.0)));
        assert_eq!(band.last(), Some(&(2, 0.0)));
        assert_eq!(band.len(), 6);
        assert_eq!(Trace::of(&pts[..1], 5), Trace::Point((0, 0.0)));
    }

    #[test]
    fn alert_spans_merge_and_clip() {
        let bit = AlertCode::CpuHigh.history_bit();
        let mut s = minutes(0, 600, |_| 1.0);
        for i in [2, 3, 4, 8] {
            s[i].alerts = bit;
        }
        assert_eq!(alert_spans(&s, bit, 0, 600), vec![(120, 300), (480, 540)]);
        assert_eq!(alert_spans(&s, bit, 150, 500), vec![(150, 300), (480, 500)]);
        assert!(alert_spans(&s, AlertCode::RamHigh.history_bit(), 0, 600).is_empty());
        assert!(alert_spans(&s, 0, 0, 600).is_empty());
        // Before a gap a sample stands for one minute, not the whole gap.
        let gap = [
            Sample {
                alerts: bit,
                ..sample(0, 1.0)
            },
            Sample {
                alerts: bit,
                ..sample(3600, 1.0)
            },
        ];
        assert_eq!(alert_spans(&gap, bit, 0, 7200), vec![(0, 60), (3600, 3660)]);
    }

    #[test]
    fn time_ticks_follow_local_clock() {
        // 24 h from noon UTC: every 3 hours on the hour, both ends included.
        let ticks = time_ticks(NOON - 86400, NOON, 0, 9);
        assert_eq!(ticks.len(), 9);
        assert!(ticks.iter().all(|t| t % 10800 == 0));
        // UTC+7: ticks sit on local 3-hour boundaries, and local midnight shows the date.
        let wib = FixedOffset::east_opt(7 * 3600).unwrap();
        let ticks = time_ticks(NOON - 86400, NOON, 7 * 3600, 9);
        assert!(ticks.iter().all(|t| (t + 7 * 3600) % 10800 == 0));
        let labels: Vec<String> = ticks.iter().map(|t| time_label(*t, wib)).collect();
        assert!(labels.contains(&"25/11".to_string()), "{labels:?}");
        assert!(labels.contains(&"03:00".to_string()), "{labels:?}");
        // A week steps by days, two hours by 15 minutes.
        assert_eq!(time_ticks(NOON - 7 * 86400, NOON, 0, 9).len(), 7);
        assert_eq!(
            time_ticks(NOON - 7200, NOON, 0, 9)[1] - time_ticks(NOON - 7200, NOON, 0, 9)[0],
            900
        );
    }

    #[test]
    fn chart_arguments() {
        assert_eq!(parse_args(""), Ok((Metric::Cpu, 24)));
        assert_eq!(parse_args("cpu 6"), Ok((Metric::Cpu, 6)));
        assert_eq!(parse_args(" RAM  12h "), Ok((Metric::Ram, 12)));
        assert_eq!(parse_args("disk_data"), Ok((Metric::DiskData, 24)));
        assert_eq!(parse_args("load 192"), Ok((Metric::Load, MAX_HOURS)));
        assert_eq!(parse_args("temp 1"), Ok((Metric::Temp, 1)));
        assert!(
            parse_args("gpu")
                .unwrap_err()
                .to_string()
                .contains("use one of cpu")
        );
        assert!(
            parse_args("cpu 0")
                .unwrap_err()
                .to_string()
                .contains("1 to 192")
        );
        assert!(
            parse_args("cpu 193")
                .unwrap_err()
                .to_string()
                .contains("out of range")
        );
        assert!(
            parse_args("cpu 99999999999")
                .unwrap_err()
                .to_string()
                .contains("out of range")
        );
        for bad in ["cpu -3", "cpu 1.5", "cpu abc", "cpu h", "cpu 6 7"] {
            assert!(parse_args(bad).is_err(), "{bad:?} accepted");
        }
        for m in Metric::ALL {
            assert_eq!(Metric::parse(m.name()), Ok(m));
        }
        assert_eq!(AlertCode::DiskDataHigh.metric(), Some(Metric::DiskData));
        assert_eq!(AlertCode::BackupStale.metric(), None);
    }

    #[test]
    fn range_buttons_are_named_in_both_languages() {
        assert_eq!(texts(Lang::Id).chart.range_button(72), "3 hari");
        assert_eq!(texts(Lang::En).chart.range_button(6), "6 h");
    }

    #[test]
    fn hostile_values_still_render() {
        let mut samples = vec![
            sample(NOON - 7200, f32::MAX),
            sample(NOON - 7100, -f32::MAX),
            sample(NOON - 7000, f32::MIN_POSITIVE),
            sample(NOON - 100, 1e30),
            sample(NOON - 50_000, 50.0),
            sample(i64::MIN / 2, 50.0),
            sample(i64::MAX / 2, 50.0),
        ];
        for s in &mut samples {
            s.temp = s.cpu;
            s.load1 = s.cpu;
            s.probe_ms = s.cpu;
            s.alerts = u32::MAX;
        }
        for m in Metric::ALL {
            let spec = ChartSpec {
                metric: m,
                ..spec(Some(90.0))
            };
            let img = render_image(&samples, &spec);
            assert_eq!((img.width, img.height), (800, 400), "{m:?}");
        }
        // A reversed or empty range is widened, not refused.
        let odd = ChartSpec {
            from: NOON,
            to: NOON - 3600,
            ..spec(None)
        };
        assert!(render(&samples, &odd).is_ok());
    }

    #[test]
    fn captions() {
        let s = [
            sample(NOON - 60, 10.0),
            sample(NOON - 30, f32::NAN),
            sample(NOON, 30.0),
        ];
        let en = spec(None);
        assert_eq!(
            caption(&s, &en),
            "CPU · last 24 h: min 10.0% · avg 20.0% · max 30.0%"
        );
        let id = ChartSpec {
            labels: &texts(Lang::Id).chart,
            metric: Metric::Temp,
            ..spec(None)
        };
        assert_eq!(
            caption(&s, &id),
            "Suhu · 24 jam terakhir: min 55.0 °C · rata-rata 55.0 °C · maks 55.0 °C"
        );
        let week = ChartSpec {
            from: NOON - 7 * 86400,
            metric: Metric::Load,
            ..spec(None)
        };
        assert!(caption(&s, &week).starts_with("Load (1 min) · last 7 days: min 0.50"));
        assert_eq!(caption(&[], &en), "CPU · last 24 h: no data yet");
        // Samples outside the range do not count.
        assert_eq!(stats(&s, Metric::Cpu, NOON, NOON).unwrap().count, 1);
    }
}
