//! Drawing: a [`ChartSpec`] and samples in, PNG bytes out, with plotters on an
//! in-memory bitmap and the embedded font.

use std::sync::OnceLock;

use anyhow::{Context, Result, anyhow};
use chrono::{DateTime, FixedOffset};
use plotters::prelude::*;
use plotters::style::FontStyle;

use super::{ChartSize, ChartSpec, GAP_S, alert_spans, visible};
use crate::history::Sample;
use crate::metric::{Metric, Unit};

/// DejaVu Sans (see `assets/fonts/LICENSE-DejaVu.txt`), registered with plotters once.
static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

pub(super) const BACKGROUND: RGBColor = RGBColor(255, 255, 255);
pub(super) const LINE: RGBColor = RGBColor(38, 110, 178);
/// The area under the line: [`LINE`] blended over white, opaque so it is cheap to fill.
pub(super) const AREA: RGBColor = RGBColor(222, 234, 245);
/// The min-max band of dense data, between [`LINE`] and [`AREA`].
pub(super) const BAND: RGBColor = RGBColor(176, 204, 231);
/// Alert periods, laid translucently over the area and the grid.
pub(super) const SHADE: RGBColor = RGBColor(235, 64, 52);
pub(super) const SHADE_ALPHA: f64 = 0.22;
/// The threshold line.
pub(super) const THRESHOLD: RGBColor = RGBColor(214, 39, 40);
pub(super) const GRID: RGBColor = RGBColor(228, 228, 228);
pub(super) const AXIS: RGBColor = RGBColor(160, 160, 160);
pub(super) const TEXT: RGBColor = RGBColor(60, 60, 60);
pub(super) const MUTED_TEXT: RGBColor = RGBColor(120, 132, 150);

/// Splits time-ordered points into runs with no gap longer than [`GAP_S`].
pub(super) fn segments(points: &[(i64, f64)]) -> Vec<&[(i64, f64)]> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..points.len() {
        if points[i].0 - points[i - 1].0 > GAP_S {
            out.push(&points[start..i]);
            start = i;
        }
    }
    if start < points.len() {
        out.push(&points[start..]);
    }
    out
}

/// What one unbroken run of samples becomes on the chart.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Trace {
    /// A lone sample.
    Point((i64, f64)),
    /// The line through the samples; when they are denser than two per pixel
    /// column, the line of column means plus a `band` polygon from each column's
    /// max back along its min, so a week reads calmly without hiding the peaks.
    Line {
        line: Vec<(i64, f64)>,
        band: Vec<(i64, f64)>,
    },
}

impl Trace {
    pub(super) fn of(seg: &[(i64, f64)], column_s: i64) -> Trace {
        if let [only] = seg {
            return Trace::Point(*only);
        }
        let columns = (seg[seg.len() - 1].0 - seg[0].0) / column_s + 1;
        if (seg.len() as i64) < 2 * columns {
            return Trace::Line {
                line: seg.to_vec(),
                band: Vec::new(),
            };
        }
        let cols = columns_of(seg, column_s);
        let line = cols.iter().map(|c| (c.t, c.mean)).collect();
        let band = cols
            .iter()
            .map(|c| (c.t, c.max))
            .chain(cols.iter().rev().map(|c| (c.t, c.min)))
            .collect();
        Trace::Line { line, band }
    }
}

/// Samples summarised per pixel column.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Column {
    /// Mean time of the samples in the column.
    pub(super) t: i64,
    pub(super) mean: f64,
    pub(super) min: f64,
    pub(super) max: f64,
}

/// Groups time-ordered points into columns `column_s` wide (counted from the first point).
pub(super) fn columns_of(points: &[(i64, f64)], column_s: i64) -> Vec<Column> {
    let Some(&(start, _)) = points.first() else {
        return Vec::new();
    };
    points
        .chunk_by(|a, b| (a.0 - start) / column_s == (b.0 - start) / column_s)
        .map(|chunk| {
            let n = chunk.len() as f64;
            let fold = (f64::INFINITY, f64::NEG_INFINITY, 0.0, 0i128);
            let (min, max, sum, tsum) = chunk.iter().fold(fold, |(lo, hi, s, ts), &(t, v)| {
                (lo.min(v), hi.max(v), s + v, ts + i128::from(t))
            });
            Column {
                t: (tsum / chunk.len() as i128) as i64,
                mean: sum / n,
                min,
                max,
            }
        })
        .collect()
}

/// Time-axis ticks aligned to local clock boundaries, at most `max` of them.
pub(super) fn time_ticks(from: i64, to: i64, offset_s: i64, max: i64) -> Vec<i64> {
    const STEPS: [i64; 10] = [
        900, 1800, 3600, 7200, 10800, 14400, 21600, 43200, 86400, 172_800,
    ];
    let span = (to - from).max(1);
    let step = STEPS
        .into_iter()
        .find(|s| span / s < max)
        .unwrap_or(STEPS[STEPS.len() - 1]);
    let first = (from + offset_s).div_euclid(step) * step - offset_s;
    let first = if first < from { first + step } else { first };
    (0..)
        .map(|i| first + i * step)
        .take_while(|t| *t <= to)
        .collect()
}

/// `HH:MM` in local time; a local midnight reads as the date (`26/11`).
pub(super) fn time_label(t: i64, offset: FixedOffset) -> String {
    let Some(utc) = DateTime::from_timestamp(t, 0) else {
        return String::new();
    };
    let local = utc.with_timezone(&offset);
    if (t + i64::from(offset.local_minus_utc())).rem_euclid(86400) == 0 {
        local.format("%d/%m").to_string()
    } else {
        local.format("%H:%M").to_string()
    }
}

/// Largest magnitude an auto-fitted value axis stretches to.
pub(super) const VALUE_LIMIT: f64 = 1e4;

/// The value axis: percentages always 0–100; temperature, load and latency
/// fit the data (and the threshold) with a little room.
pub(super) fn value_range(
    metric: Metric,
    points: &[(i64, f64)],
    threshold: Option<f64>,
) -> (f64, f64) {
    // Garbage from a broken sensor must not stretch the axis past any meaning.
    let (lo, hi) = points
        .iter()
        .map(|p| p.1)
        .chain(threshold)
        .map(|v| v.clamp(-VALUE_LIMIT, VALUE_LIMIT))
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    let any = lo <= hi;
    match metric.unit() {
        Unit::Percent => (0.0, 100.0),
        Unit::Celsius if any => (
            ((lo - 5.0) / 10.0).floor() * 10.0,
            ((hi + 5.0) / 10.0).ceil() * 10.0,
        ),
        Unit::Celsius => (20.0, 100.0),
        Unit::Plain if any => (0.0, (hi * 1.15).max(1.0)),
        Unit::Plain => (0.0, 1.0),
        Unit::Millis if any => (0.0, (hi * 1.15).max(10.0)),
        Unit::Millis => (0.0, 100.0),
    }
}

fn ensure_font() -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, FONT).is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(anyhow!("the embedded chart font could not be loaded"))
    }
}

/// Renders the chart as PNG bytes. Samples must be oldest first (as the
/// history file keeps them); only those in `spec.from..=spec.to` show.
/// An empty range gives a chart that says so rather than an error.
pub fn render(samples: &[Sample], spec: &ChartSpec) -> Result<Vec<u8>> {
    ensure_font()?;
    let (w, h) = spec.size.pixels();
    let mut rgb = vec![0u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        draw(&root, samples, spec).map_err(|e| anyhow!("drawing the chart: {e}"))?;
        root.present()
            .map_err(|e| anyhow!("drawing the chart: {e}"))?;
    }
    encode_png(&rgb, w, h)
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    samples: &[Sample],
    spec: &ChartSpec,
) -> std::result::Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let small = spec.size == ChartSize::Small;
    let m = spec.metric;
    let (from, to) = (spec.from, spec.to.max(spec.from + 60));
    let mut points: Vec<(i64, f64)> = visible(samples, m, from, to).collect();
    let (y0, y1) = value_range(m, &points, spec.threshold);
    // Absurd values (a broken sensor) would overflow plotters' pixel arithmetic;
    // anything beyond one plot height off the axis is clipped anyway.
    let span = y1 - y0;
    for p in &mut points {
        p.1 = p.1.clamp(y0 - span, y1 + span);
    }
    let offset = spec.utc_offset;
    let ticks = time_ticks(
        from,
        to,
        i64::from(offset.local_minus_utc()),
        spec.size.max_time_labels(),
    );

    root.fill(&BACKGROUND)?;
    let title = spec.title();
    let (title_px, label_px) = if small { (15, 12) } else { (18, 13) };
    let mut chart = ChartBuilder::on(root)
        .margin_top(8)
        .margin_left(10)
        .margin_right(18)
        .margin_bottom(6)
        .caption(title, ("sans-serif", title_px).into_font().color(&TEXT))
        .x_label_area_size(if small { 22 } else { 26 })
        .y_label_area_size(if small { 40 } else { 46 })
        .build_cartesian_2d((from..to).with_key_points(ticks), y0..y1)?;

    let (pw, ph) = chart.plotting_area().dim_in_pixel();
    let column_s = ((to - from) / i64::from(pw.max(1))).max(1);
    let traces: Vec<Trace> = segments(&points)
        .into_iter()
        .map(|seg| Trace::of(seg, column_s))
        .collect();

    // Layers, bottom up: the area under the line and the min-max band, the grid
    // (so it shows through them), translucent alert shading, the threshold, then
    // the line on top.
    for trace in &traces {
        let Trace::Line { line, band } = trace else {
            continue;
        };
        let mut area = line.clone();
        area.push((line[line.len() - 1].0, y0));
        area.push((line[0].0, y0));
        chart.draw_series(std::iter::once(Polygon::new(area, AREA)))?;
        if !band.is_empty() {
            chart.draw_series(std::iter::once(Polygon::new(band.clone(), BAND)))?;
        }
    }

    let x_fmt = |t: &i64| time_label(*t, offset);
    let y_fmt = |v: &f64| m.axis_label(*v);
    chart
        .configure_mesh()
        .bold_line_style(GRID)
        .light_line_style(TRANSPARENT)
        .axis_style(AXIS)
        .y_labels(6)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .label_style(("sans-serif", label_px).into_font().color(&TEXT))
        .draw()?;

    chart.draw_series(
        alert_spans(samples, m.alert_bit(), from, to)
            .into_iter()
            .map(|(a, b)| Rectangle::new([(a, y0), (b, y1)], SHADE.mix(SHADE_ALPHA).filled())),
    )?;

    if let Some(thr) = spec.threshold.filter(|t| (y0..=y1).contains(t)) {
        chart.draw_series(DashedLineSeries::new(
            [(from, thr), (to, thr)],
            9,
            6,
            THRESHOLD.stroke_width(2),
        ))?;
    }

    // plotters joins wide lines with unlimited mitres, which shoot spikes out of
    // the plot at every sharp turn (CPU data is all sharp turns). Two extra
    // one-pixel strokes, one pixel right and one up, give a 2 px line with none.
    let dy = (y1 - y0) / f64::from(ph.max(1));
    for trace in &traces {
        match trace {
            Trace::Point(p) => {
                chart.draw_series(std::iter::once(Circle::new(*p, 3, LINE.filled())))?;
            }
            Trace::Line { line, .. } => {
                chart.draw_series([(0, 0.0), (column_s, 0.0), (0, dy)].map(|(sx, sy)| {
                    PathElement::new(
                        line.iter()
                            .map(|&(t, v)| (t + sx, v + sy))
                            .collect::<Vec<_>>(),
                        LINE,
                    )
                }))?;
            }
        }
    }

    if points.is_empty() {
        let text = spec.labels.empty;
        let plot = chart.plotting_area();
        let (pw, ph) = plot.dim_in_pixel();
        let style = ("sans-serif", if small { 16 } else { 20 })
            .into_font()
            .color(&MUTED_TEXT)
            .pos(plotters::style::text_anchor::Pos::new(
                plotters::style::text_anchor::HPos::Center,
                plotters::style::text_anchor::VPos::Center,
            ));
        plot.strip_coord_spec()
            .draw_text(text, &style, (pw as i32 / 2, ph as i32 / 2))?;
    }
    Ok(())
}

fn encode_png(rgb: &[u8], w: u32, h: u32) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(64 * 1024);
    let mut encoder = png::Encoder::new(&mut out, w, h);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    // Measured on a week of minute samples: the default level costs about 3 ms
    // more than `Fast` but makes the file about 8 times smaller (27 vs 233 KiB),
    // which matters more on a home uplink.
    encoder.set_compression(png::Compression::Default);
    let mut writer = encoder.write_header().context("encoding the chart png")?;
    writer
        .write_image_data(rgb)
        .context("encoding the chart png")?;
    writer.finish().context("encoding the chart png")?;
    Ok(out)
}
