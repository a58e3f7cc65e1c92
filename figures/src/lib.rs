//! Pictures of results, rendered in pure Rust: a training's loss and metric curves, a
//! model's feature importance, a classifier's confusion matrix and ROC curves.
//!
//! Every figure is [`WIDTH`]×[`HEIGHT`] pixels, as PNG ([`Format::Png`]) or SVG
//! ([`Format::Svg`]). Text is drawn with the vendored DejaVu Sans (`fonts/`, under its
//! own license), never a system font, so the same input gives the same bytes on every
//! machine. Inputs are taken as they come: NaN and infinite values are left out, long
//! names are shortened, and many features, classes or points are cut to what a picture
//! can show (saying so in the picture), so a figure stays readable and small (tens of
//! KiB; at most [`MAX_BYTES`], else an error).

use std::{fmt, sync::OnceLock};

use plotters::{
    coord::Shift,
    prelude::*,
    style::{
        FontStyle, register_font,
        text_anchor::{HPos, Pos, VPos},
    },
};

/// The size of every figure, in pixels.
pub const WIDTH: u32 = 800;
pub const HEIGHT: u32 = 500;
/// A figure larger than this is refused: it would not fit a record of the step's stream.
pub const MAX_BYTES: usize = 512 * 1024;
/// At most this many features in an importance chart (the largest by magnitude).
pub const MAX_FEATURES: usize = 20;
/// At most this many classes on a confusion matrix's axes (the most frequent; the rest
/// are counted together as "(other)").
pub const MAX_MATRIX_CLASSES: usize = 20;
/// At most this many ROC curves in one figure (the classes with the most positives).
pub const MAX_ROC_CURVES: usize = 10;
/// At most this many points of one line (evenly thinned, keeping the first and last).
pub const MAX_POINTS: usize = 1000;
/// At most this many curves panels (metrics) in one training figure.
pub const MAX_PANELS: usize = 4;
/// At most this many lines in one training panel.
pub const MAX_SERIES: usize = 6;

const FONT: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");
const FAMILY: &str = "sans-serif";

/// Tableau's ten colors: distinct, and readable on white.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];
const POSITIVE: RGBColor = RGBColor(31, 119, 180);
const NEGATIVE: RGBColor = RGBColor(214, 39, 40);
const GRID: RGBColor = RGBColor(220, 220, 220);
const MUTED: RGBColor = RGBColor(110, 110, 110);

/// The encoding of a figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Png,
    Svg,
}

impl Format {
    pub fn mime_type(self) -> &'static str {
        match self {
            Format::Png => "image/png",
            Format::Svg => "image/svg+xml",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Png => "png",
            Format::Svg => "svg",
        }
    }
}

/// Why a figure could not be drawn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FigureError(String);

impl fmt::Display for FigureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot draw the figure: {}", self.0)
    }
}

impl std::error::Error for FigureError {}

type Result<T> = std::result::Result<T, FigureError>;

trait OrFigureError<T> {
    fn fig(self) -> Result<T>;
}

impl<T, E: fmt::Display> OrFigureError<T> for std::result::Result<T, E> {
    fn fig(self) -> Result<T> {
        self.map_err(|e| FigureError(e.to_string()))
    }
}

/// One line of a chart: its name in the legend and its (x, y) points.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

/// One chart of a training figure: the quantity on its y axis (`loss`, `accuracy`,
/// `mlogloss`) and its lines (train, validate).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Panel {
    pub metric: String,
    pub series: Vec<Series>,
}

/// One ROC curve: its name, its (false positive rate, true positive rate) points from
/// (0, 0) to (1, 1), and the area under it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RocCurve {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    pub auc: f64,
}

/// Registers the vendored font with plotters once per process.
fn font() -> Result<()> {
    static LOADED: OnceLock<bool> = OnceLock::new();
    if *LOADED.get_or_init(|| register_font(FAMILY, FontStyle::Normal, FONT).is_ok()) {
        Ok(())
    } else {
        Err(FigureError("the vendored font does not load".into()))
    }
}

/// A drawing, for any backend.
trait Draw {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>;
}

/// Draws and encodes; a panic inside the drawing library is an error like any other, so
/// a picture can never take its statement down.
fn render(format: Format, drawing: &impl Draw) -> Result<Vec<u8>> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        render_inner(format, drawing)
    }))
    .unwrap_or_else(|_| Err(FigureError("the drawing library failed".into())))
}

fn render_inner(format: Format, drawing: &impl Draw) -> Result<Vec<u8>> {
    font()?;
    let bytes = match format {
        Format::Png => {
            let mut rgb = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
            {
                let root =
                    BitMapBackend::with_buffer(&mut rgb, (WIDTH, HEIGHT)).into_drawing_area();
                root.fill(&WHITE).fig()?;
                drawing.draw(&root)?;
                root.present().fig()?;
            }
            encode_png(&rgb)?
        }
        Format::Svg => {
            let mut svg = String::new();
            {
                let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
                root.fill(&WHITE).fig()?;
                drawing.draw(&root)?;
                root.present().fig()?;
            }
            svg.into_bytes()
        }
    };
    if bytes.len() > MAX_BYTES {
        return Err(FigureError(format!(
            "it takes {} bytes, more than the {MAX_BYTES} a figure may",
            bytes.len()
        )));
    }
    Ok(bytes)
}

/// PNG with fixed settings (and no time or text chunks), so equal pixels give equal bytes.
fn encode_png(rgb: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(64 * 1024);
    {
        let mut enc = png::Encoder::new(&mut out, WIDTH, HEIGHT);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(png::Compression::High);
        let mut w = enc.write_header().fig()?;
        w.write_image_data(rgb).fig()?;
        w.finish().fig()?;
    }
    Ok(out)
}

/// `s` as one line of at most `max` characters: control characters become spaces, and
/// a longer text ends in an ellipsis.
pub fn clip(s: &str, max: usize) -> String {
    let one_line: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let one_line = one_line.trim();
    if one_line.chars().count() <= max {
        return one_line.to_string();
    }
    let mut out: String = one_line.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Values far beyond any metric are pulled in so that ranges stay finite.
const HUGE: f64 = 1e100;

fn tame(v: f64) -> f64 {
    v.clamp(-HUGE, HUGE)
}

/// At most `max` of `items`, evenly spaced, the first and last always among them.
fn thin<T: Copy>(items: &[T], max: usize) -> Vec<T> {
    if items.len() <= max || max < 2 {
        return items.iter().take(max).copied().collect();
    }
    let last = items.len() - 1;
    (0..max).map(|i| items[i * last / (max - 1)]).collect()
}

/// A range holding every value, with a margin; never empty, never infinite.
fn span(values: impl Iterator<Item = f64>, margin: f64) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !(lo.is_finite() && hi.is_finite()) {
        return (0.0, 1.0);
    }
    let width = hi - lo;
    if width <= 0.0 || !width.is_finite() {
        let pad = (lo.abs() * 0.1).max(1e-3);
        return (lo - pad, hi + pad);
    }
    (lo - width * margin, hi + width * margin)
}

fn text_style(size: u32, color: &'static RGBColor) -> TextStyle<'static> {
    TextStyle::from((FAMILY, size).into_font()).color(color)
}

fn caption<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    heading: &str,
) -> Result<DrawingArea<DB, Shift>> {
    root.titled(&clip(heading, 70), text_style(20, &BLACK))
        .fig()
}

fn no_data<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, why: &str) -> Result<()> {
    let (w, h) = area.dim_in_pixel();
    area.draw(&Text::new(
        clip(why, 80),
        (w as i32 / 2, h as i32 / 2),
        text_style(18, &MUTED).pos(Pos::new(HPos::Center, VPos::Center)),
    ))
    .fig()
}

/// Tick labels: short, whatever the magnitude, without trailing zeros.
/// Row names right-aligned at `right`, each centred on its row's pixel height.
fn row_labels<'a, DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    right: i32,
    rows: impl Iterator<Item = (&'a str, i32)>,
    style: &TextStyle<'_>,
) -> Result<()> {
    for (name, y) in rows {
        root.draw(&Text::new(
            name.to_string(),
            (right, y),
            style.pos(Pos::new(HPos::Right, VPos::Center)),
        ))
        .fig()?;
    }
    Ok(())
}

fn tick(v: &f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        return "0".into();
    }
    if !(1e-3..1e6).contains(&a) {
        return format!("{v:.1e}");
    }
    let text = format!("{v:.3}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".into()
    } else {
        text.to_string()
    }
}

// ---------------------------------------------------------------------------------------
// Training curves

/// A training's curves: one panel per metric (stacked, at most [`MAX_PANELS`]: the first
/// ones, the axis saying how many there were), each with its lines (train, validate),
/// over `x_label` (`epoch`, `round`, `iteration`).
pub fn training_curves(
    heading: &str,
    x_label: &str,
    panels: &[Panel],
    format: Format,
) -> Result<Vec<u8>> {
    let finite = |p: &Panel| {
        p.series
            .iter()
            .any(|s| s.points.iter().any(|(x, y)| x.is_finite() && y.is_finite()))
    };
    let total = panels.iter().filter(|p| finite(p)).count();
    let panels: Vec<Panel> = panels
        .iter()
        .filter_map(|p| {
            let series: Vec<Series> = p
                .series
                .iter()
                .filter_map(|s| {
                    let finite: Vec<(f64, f64)> = s
                        .points
                        .iter()
                        .filter(|(x, y)| x.is_finite() && y.is_finite())
                        .map(|&(x, y)| (tame(x), tame(y)))
                        .collect();
                    (!finite.is_empty()).then(|| Series {
                        name: clip(&s.name, 30),
                        points: thin(&finite, MAX_POINTS),
                    })
                })
                .take(MAX_SERIES)
                .collect();
            (!series.is_empty()).then(|| Panel {
                metric: clip(&p.metric, 30),
                series,
            })
        })
        .take(MAX_PANELS)
        .collect();
    let mut x_label = clip(x_label, 30);
    if total > panels.len() {
        x_label.push_str(&format!(" (the first {} of {total} metrics)", panels.len()));
    }
    render(
        format,
        &Curves {
            heading,
            x_label: &x_label,
            panels: &panels,
        },
    )
}

struct Curves<'a> {
    heading: &'a str,
    x_label: &'a str,
    panels: &'a [Panel],
}

impl Draw for Curves<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let area = caption(root, self.heading)?;
        if self.panels.is_empty() {
            return no_data(&area, "no finite values were recorded");
        }
        let parts = area.split_evenly((self.panels.len(), 1));
        let (x_lo, x_hi) = span(
            self.panels
                .iter()
                .flat_map(|p| &p.series)
                .flat_map(|s| s.points.iter().map(|p| p.0)),
            0.0,
        );
        // One color per line name (train, validate) in every panel.
        let mut names: Vec<&str> = Vec::new();
        for s in self.panels.iter().flat_map(|p| &p.series) {
            if !names.contains(&s.name.as_str()) {
                names.push(&s.name);
            }
        }
        for (i, (panel, part)) in self.panels.iter().zip(&parts).enumerate() {
            let last = i + 1 == self.panels.len();
            let (y_lo, y_hi) = span(
                panel
                    .series
                    .iter()
                    .flat_map(|s| s.points.iter().map(|p| p.1)),
                0.05,
            );
            let mut chart = ChartBuilder::on(part)
                .margin(8)
                .margin_right(20)
                .x_label_area_size(if last { 40 } else { 20 })
                .y_label_area_size(70)
                .build_cartesian_2d(x_lo..x_hi, y_lo..y_hi)
                .fig()?;
            let mut mesh = chart.configure_mesh();
            mesh.light_line_style(WHITE)
                .bold_line_style(GRID)
                .x_labels(8)
                .y_labels(5)
                .x_label_formatter(&tick)
                .y_label_formatter(&tick)
                .y_desc(panel.metric.as_str())
                .label_style(text_style(13, &BLACK))
                .axis_desc_style(text_style(14, &BLACK));
            if last {
                mesh.x_desc(self.x_label);
            }
            mesh.draw().fig()?;
            for s in &panel.series {
                let j = names.iter().position(|n| *n == s.name).unwrap_or(0);
                let color = PALETTE[j % PALETTE.len()];
                let style = color.stroke_width(2);
                let drawn = chart
                    .draw_series(LineSeries::new(s.points.iter().copied(), style))
                    .fig()?;
                drawn
                    .label(s.name.as_str())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
                if s.points.len() == 1 {
                    chart
                        .draw_series(std::iter::once(Circle::new(s.points[0], 3, color.filled())))
                        .fig()?;
                }
            }
            // The legend where the lines are not: at the bottom when they rise (an
            // accuracy), at the top when they fall (a loss).
            let rising = panel
                .series
                .first()
                .and_then(|s| s.points.first().zip(s.points.last()))
                .is_some_and(|(first, last)| last.1 > first.1);
            chart
                .configure_series_labels()
                .position(if rising {
                    SeriesLabelPosition::LowerRight
                } else {
                    SeriesLabelPosition::UpperRight
                })
                .background_style(WHITE.mix(0.85))
                .border_style(GRID)
                .label_font(text_style(13, &BLACK))
                .draw()
                .fig()?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// Feature importance

/// Horizontal bars of `(feature, value)`, the largest magnitudes first (at most
/// [`MAX_FEATURES`]); negative values point left in another color.
pub fn feature_importance(
    heading: &str,
    items: &[(String, f64)],
    format: Format,
) -> Result<Vec<u8>> {
    feature_importance_with(heading, items, MAX_FEATURES, true, format)
}

/// [`feature_importance`] with shap's `max_display` (at most [`MAX_FEATURES`] whatever
/// it says) and `sort` (false: the first `max_display` features in the input order).
pub fn feature_importance_with(
    heading: &str,
    items: &[(String, f64)],
    max_display: usize,
    sort: bool,
    format: Format,
) -> Result<Vec<u8>> {
    let mut finite: Vec<(usize, f64)> = items
        .iter()
        .enumerate()
        .filter(|(_, (_, v))| v.is_finite())
        .map(|(i, (_, v))| (i, tame(*v)))
        .collect();
    // Stable: ties keep the input order, so equal input gives equal pictures.
    if sort {
        finite.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
    }
    let shown: Vec<(String, f64)> = finite
        .iter()
        .take(max_display.clamp(1, MAX_FEATURES))
        .map(|&(i, v)| (clip(&items[i].0, 32), v))
        .collect();
    let note = if finite.len() > shown.len() || finite.len() < items.len() {
        let mut n = format!("top {} of {} features", shown.len(), items.len());
        if finite.len() < items.len() {
            n.push_str(&format!(
                " ({} without a finite value)",
                items.len() - finite.len()
            ));
        }
        Some(n)
    } else {
        None
    };
    render(
        format,
        &Bars {
            heading,
            items: &shown,
            note,
        },
    )
}

struct Bars<'a> {
    heading: &'a str,
    items: &'a [(String, f64)],
    note: Option<String>,
}

impl Draw for Bars<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let area = caption(root, self.heading)?;
        if self.items.is_empty() {
            return no_data(&area, "no feature has a finite importance");
        }
        let label_style = text_style(13, &BLACK);
        let mut label_w = 0;
        for (name, _) in self.items {
            label_w = label_w.max(area.estimate_text_size(name, &label_style).fig()?.0);
        }
        let label_w = (label_w + 12).min(WIDTH / 2);
        let (left, right) = area.split_horizontally(label_w);
        let (x_lo, x_hi) = span(
            self.items.iter().map(|i| i.1).chain(std::iter::once(0.0)),
            0.05,
        );
        let n = self.items.len() as f64;
        let mut chart = ChartBuilder::on(&right)
            .margin(8)
            .margin_right(24)
            .x_label_area_size(if self.note.is_some() { 54 } else { 40 })
            .y_label_area_size(0)
            .build_cartesian_2d(x_lo..x_hi, 0.0..n)
            .fig()?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .light_line_style(WHITE)
            .bold_line_style(GRID)
            .x_labels(8)
            .x_label_formatter(&tick)
            .x_desc(self.note.as_deref().unwrap_or("importance"))
            .label_style(text_style(13, &BLACK))
            .axis_desc_style(text_style(14, &BLACK))
            .draw()
            .fig()?;
        // The largest at the top.
        let top = |i: usize| n - i as f64;
        chart
            .draw_series(self.items.iter().enumerate().map(|(i, (_, v))| {
                let color = if *v < 0.0 { NEGATIVE } else { POSITIVE };
                Rectangle::new(
                    [(0.0, top(i) - 0.15), (*v, top(i) - 0.85)],
                    color.mix(0.85).filled(),
                )
            }))
            .fig()?;
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(0.0, 0.0), (0.0, n)],
                BLACK.stroke_width(1),
            )))
            .fig()?;
        let (dx, _) = left.get_base_pixel();
        let ys = (0..self.items.len()).map(|i| chart.backend_coord(&(0.0, top(i) - 0.5)).1);
        let names = self.items.iter().map(|(name, _)| name.as_str());
        row_labels(root, dx + label_w as i32 - 6, names.zip(ys), &label_style)?;
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// Stacked SHAP bars (multi-output)

/// At most this many classes stacked in one bar (the rest summed as "(other)").
pub const MAX_STACKED_CLASSES: usize = 10;

/// shap's summary bar chart of a multi-output model: per feature a bar of its mean
/// |SHAP value| per output (class) stacked, features by total (largest at the top)
/// unless `sort` is false, at most `max_display` (and [`MAX_FEATURES`]) of them.
/// `values[f][c]`: feature `f`, output `c`. Non-finite values count as 0.
pub fn stacked_importance(
    heading: &str,
    features: &[String],
    outputs: &[String],
    values: &[Vec<f64>],
    max_display: usize,
    sort: bool,
    format: Format,
) -> Result<Vec<u8>> {
    let k = outputs.len().min(MAX_STACKED_CLASSES);
    let mut legend: Vec<String> = outputs.iter().take(k).map(|o| clip(o, 20)).collect();
    if outputs.len() > k {
        legend.push("(other)".into());
    }
    let segments = |row: &[f64]| -> Vec<f64> {
        let mut seg: Vec<f64> = vec![0.0; legend.len()];
        for (c, v) in row.iter().enumerate() {
            let v = if v.is_finite() { tame(v.abs()) } else { 0.0 };
            seg[c.min(legend.len().saturating_sub(1))] += v;
        }
        seg
    };
    let mut rows: Vec<(String, Vec<f64>)> = features
        .iter()
        .zip(values)
        .map(|(f, row)| (clip(f, 32), segments(row)))
        .collect();
    if sort {
        rows.sort_by(|a, b| b.1.iter().sum::<f64>().total_cmp(&a.1.iter().sum::<f64>()));
    }
    rows.truncate(max_display.clamp(1, MAX_FEATURES));
    let note = (features.len() > rows.len()).then(|| {
        format!(
            "mean |SHAP value| ({} of {} features)",
            rows.len(),
            features.len()
        )
    });
    render(
        format,
        &Stacked {
            heading,
            legend: &legend,
            rows: &rows,
            note,
        },
    )
}

struct Stacked<'a> {
    heading: &'a str,
    legend: &'a [String],
    rows: &'a [(String, Vec<f64>)],
    note: Option<String>,
}

impl Draw for Stacked<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let area = caption(root, self.heading)?;
        if self.rows.is_empty() || self.legend.is_empty() {
            return no_data(&area, "no feature to show");
        }
        let label_style = text_style(13, &BLACK);
        let mut label_w = 0;
        for (name, _) in self.rows {
            label_w = label_w.max(area.estimate_text_size(name, &label_style).fig()?.0);
        }
        let label_w = (label_w + 12).min(WIDTH / 2);
        let (left, right) = area.split_horizontally(label_w);
        let max = self
            .rows
            .iter()
            .map(|(_, s)| s.iter().sum::<f64>())
            .fold(0.0, f64::max);
        let (_, x_hi) = span([0.0, max].into_iter(), 0.05);
        let n = self.rows.len() as f64;
        let mut chart = ChartBuilder::on(&right)
            .margin(8)
            .margin_right(24)
            .x_label_area_size(40)
            .y_label_area_size(0)
            .build_cartesian_2d(0.0..x_hi, 0.0..n)
            .fig()?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .light_line_style(WHITE)
            .bold_line_style(GRID)
            .x_labels(8)
            .x_label_formatter(&tick)
            .x_desc(self.note.as_deref().unwrap_or("mean |SHAP value|"))
            .label_style(text_style(13, &BLACK))
            .axis_desc_style(text_style(14, &BLACK))
            .draw()
            .fig()?;
        let top = |i: usize| n - i as f64;
        for (c, name) in self.legend.iter().enumerate() {
            let color = PALETTE[c % PALETTE.len()];
            let bars: Vec<Rectangle<(f64, f64)>> = self
                .rows
                .iter()
                .enumerate()
                .map(|(i, (_, seg))| {
                    let start: f64 = seg[..c].iter().sum();
                    Rectangle::new(
                        [(start, top(i) - 0.15), (start + seg[c], top(i) - 0.85)],
                        color.mix(0.85).filled(),
                    )
                })
                .collect();
            chart
                .draw_series(bars)
                .fig()?
                .label(name.as_str())
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled())
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.85))
            .border_style(GRID)
            .label_font(text_style(13, &BLACK))
            .draw()
            .fig()?;
        let (dx, _) = left.get_base_pixel();
        let ys = (0..self.rows.len()).map(|i| chart.backend_coord(&(0.0, top(i) - 0.5)).1);
        let names = self.rows.iter().map(|(name, _)| name.as_str());
        row_labels(root, dx + label_w as i32 - 6, names.zip(ys), &label_style)?;
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// SHAP summary (beeswarm)

/// At most this many points per feature in a SHAP summary (evenly thinned rows).
pub const MAX_SWARM_POINTS: usize = 1000;
/// At most this many points in all in an SVG SHAP summary (one element each).
pub const MAX_SVG_SWARM_POINTS: usize = 3000;

/// One feature of a SHAP summary: its per-row SHAP values and, for the color, the
/// feature's value in each row (`None`: unknown, drawn gray).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SwarmFeature {
    pub name: String,
    pub shap: Vec<f64>,
    pub value: Vec<Option<f64>>,
}

/// shap's summary plot (`plot_type = "dot"`): one row per feature, a dot per explained
/// row at its SHAP value, piled up where they crowd, colored from blue (a low feature
/// value) to red (high); features by mean |SHAP| (largest at the top) unless `sort` is
/// false, at most `max_display` (and [`MAX_FEATURES`]) of them.
pub fn shap_summary(
    heading: &str,
    features: &[SwarmFeature],
    max_display: usize,
    sort: bool,
    format: Format,
) -> Result<Vec<u8>> {
    let mean_abs = |f: &SwarmFeature| {
        let finite: Vec<f64> = f.shap.iter().copied().filter(|v| v.is_finite()).collect();
        finite.iter().map(|v| v.abs()).sum::<f64>() / finite.len().max(1) as f64
    };
    let mut order: Vec<usize> = (0..features.len()).collect();
    if sort {
        order.sort_by(|&a, &b| mean_abs(&features[b]).total_cmp(&mean_abs(&features[a])));
    }
    let max = max_display.clamp(1, MAX_FEATURES);
    // An SVG spends ~100 bytes a dot: at most MAX_SVG_SWARM_POINTS in all.
    let per_feature = match format {
        Format::Png => MAX_SWARM_POINTS,
        Format::Svg => MAX_SVG_SWARM_POINTS / max.min(features.len()).max(1),
    };
    let mut rows = Vec::new();
    for &i in order.iter().take(max) {
        let f = &features[i];
        let idx: Vec<usize> = (0..f.shap.len())
            .filter(|&r| f.shap[r].is_finite())
            .collect();
        let idx = thin(&idx, per_feature);
        // The color scale: the 5th to 95th percentile of the known values, as shap.
        let mut known: Vec<f64> = idx
            .iter()
            .filter_map(|&r| f.value.get(r).copied().flatten())
            .filter(|v| v.is_finite())
            .collect();
        known.sort_by(f64::total_cmp);
        let (lo, hi) = match known.len() {
            0 => (0.0, 0.0),
            n => (known[n * 5 / 100], known[(n * 95 / 100).min(n - 1)]),
        };
        let points: Vec<(f64, Option<f64>)> = idx
            .iter()
            .map(|&r| {
                let color = f.value.get(r).copied().flatten().filter(|v| v.is_finite());
                let t = color.map(|v| {
                    if hi > lo {
                        ((v - lo) / (hi - lo)).clamp(0.0, 1.0)
                    } else {
                        0.5
                    }
                });
                (tame(f.shap[r]), t)
            })
            .collect();
        rows.push((clip(&f.name, 32), points));
    }
    let note = (features.len() > rows.len())
        .then(|| format!("SHAP value ({} of {} features)", rows.len(), features.len()));
    render(
        format,
        &Swarm {
            heading,
            rows: &rows,
            note,
        },
    )
}

/// A feature's row of dots: its name, and per dot (SHAP value, color position 0..1 or
/// unknown).
type SwarmRow = (String, Vec<(f64, Option<f64>)>);

struct Swarm<'a> {
    heading: &'a str,
    /// Top row first.
    rows: &'a [SwarmRow],
    note: Option<String>,
}

/// Blue (low) to red (high) through purple, as shap's red_blue map.
fn swarm_color(t: Option<f64>) -> RGBColor {
    match t {
        None => RGBColor(160, 160, 160),
        Some(t) => {
            let mix = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * t).round() as u8;
            RGBColor(mix(0, 255), mix(138, 0), mix(250, 82))
        }
    }
}

impl Draw for Swarm<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let area = caption(root, self.heading)?;
        if self.rows.iter().all(|(_, p)| p.is_empty()) {
            return no_data(&area, "no finite SHAP value to show");
        }
        let label_style = text_style(13, &BLACK);
        let mut label_w = 0;
        for (name, _) in self.rows {
            label_w = label_w.max(area.estimate_text_size(name, &label_style).fig()?.0);
        }
        let label_w = (label_w + 12).min(WIDTH / 2);
        let (left, rest) = area.split_horizontally(label_w);
        let (right, legend) = rest.split_horizontally(rest.dim_in_pixel().0.saturating_sub(70));
        let (x_lo, x_hi) = span(
            self.rows
                .iter()
                .flat_map(|(_, p)| p.iter().map(|q| q.0))
                .chain(std::iter::once(0.0)),
            0.05,
        );
        let n = self.rows.len() as f64;
        let mut chart = ChartBuilder::on(&right)
            .margin(8)
            .margin_right(12)
            .x_label_area_size(40)
            .y_label_area_size(0)
            .build_cartesian_2d(x_lo..x_hi, 0.0..n)
            .fig()?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .light_line_style(WHITE)
            .bold_line_style(GRID)
            .x_labels(8)
            .x_label_formatter(&tick)
            .x_desc(
                self.note
                    .as_deref()
                    .unwrap_or("SHAP value (impact on model output)"),
            )
            .label_style(text_style(13, &BLACK))
            .axis_desc_style(text_style(14, &BLACK))
            .draw()
            .fig()?;
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(0.0, 0.0), (0.0, n)],
                MUTED.stroke_width(1),
            )))
            .fig()?;
        let top = |i: usize| n - i as f64 - 0.5;
        const BINS: usize = 100;
        let width = (x_hi - x_lo).max(f64::MIN_POSITIVE);
        for (i, (_, points)) in self.rows.iter().enumerate() {
            // Pile up the dots of each of BINS columns, alternating above and below.
            let mut count = vec![0usize; BINS + 1];
            let most = {
                let mut c = vec![0usize; BINS + 1];
                for p in points {
                    c[(((p.0 - x_lo) / width) * BINS as f64) as usize % (BINS + 1)] += 1;
                }
                c.into_iter().max().unwrap_or(1).max(1)
            };
            let step = 0.4 / most.div_ceil(2).max(1) as f64;
            let dots: Vec<Circle<(f64, f64), i32>> = points
                .iter()
                .map(|&(v, t)| {
                    let b = (((v - x_lo) / width) * BINS as f64) as usize % (BINS + 1);
                    let k = count[b];
                    count[b] += 1;
                    let offset =
                        k.div_ceil(2) as f64 * step * if k.is_multiple_of(2) { 1.0 } else { -1.0 };
                    Circle::new((v, top(i) + offset), 2, swarm_color(t).filled())
                })
                .collect();
            chart.draw_series(dots).fig()?;
        }
        let (dx, _) = left.get_base_pixel();
        let ys = (0..self.rows.len()).map(|i| chart.backend_coord(&(0.0, top(i))).1);
        let names = self.rows.iter().map(|(name, _)| name.as_str());
        row_labels(root, dx + label_w as i32 - 6, names.zip(ys), &label_style)?;
        // The color bar: feature value, low at the bottom.
        let (lw, lh) = legend.dim_in_pixel();
        let (bx, by) = legend.get_base_pixel();
        let (x0, y0, y1) = (bx + 10, by + 30, by + lh as i32 - 60);
        let steps = 50;
        for s in 0..steps {
            let t = 1.0 - s as f64 / (steps - 1) as f64;
            let ya = y0 + (y1 - y0) * s / steps;
            let yb = y0 + (y1 - y0) * (s + 1) / steps;
            root.draw(&Rectangle::new(
                [(x0, ya), (x0 + 10, yb)],
                swarm_color(Some(t)).filled(),
            ))
            .fig()?;
        }
        let small = text_style(12, &BLACK);
        root.draw(&Text::new("high", (x0 + 14, y0), small.clone()))
            .fig()?;
        root.draw(&Text::new("low", (x0 + 14, y1 - 12), small.clone()))
            .fig()?;
        root.draw(&Text::new(
            "feature value",
            (bx + lw as i32 / 2, y1 + 14),
            small.pos(Pos::new(HPos::Center, VPos::Top)),
        ))
        .fig()?;
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// Confusion matrix

/// A heatmap of `counts[true][predicted]` with the counts written in the cells, shaded
/// by each true class's share (its row). More than [`MAX_MATRIX_CLASSES`] classes: the
/// most frequent are shown and the rest counted together as "(other)".
pub fn confusion_matrix(
    heading: &str,
    classes: &[String],
    counts: &[Vec<u64>],
    format: Format,
) -> Result<Vec<u8>> {
    let k = classes.len();
    let cell =
        |t: usize, p: usize| -> u64 { counts.get(t).and_then(|r| r.get(p)).copied().unwrap_or(0) };
    let (names, matrix) = if k <= MAX_MATRIX_CLASSES {
        (
            classes.iter().map(|c| clip(c, 14)).collect::<Vec<_>>(),
            (0..k)
                .map(|t| (0..k).map(|p| cell(t, p)).collect())
                .collect::<Vec<Vec<u64>>>(),
        )
    } else {
        // Keep the classes seen most (as truth or prediction); fold the rest.
        let mut weight: Vec<(usize, u64)> = (0..k)
            .map(|c| {
                let row: u64 = (0..k).map(|p| cell(c, p)).fold(0, u64::saturating_add);
                let col: u64 = (0..k).map(|t| cell(t, c)).fold(0, u64::saturating_add);
                (c, row.saturating_add(col))
            })
            .collect();
        weight.sort_by_key(|w| std::cmp::Reverse(w.1));
        let mut kept: Vec<usize> = weight
            .iter()
            .take(MAX_MATRIX_CLASSES - 1)
            .map(|w| w.0)
            .collect();
        kept.sort_unstable();
        let slot = |c: usize| kept.iter().position(|&x| x == c).unwrap_or(kept.len());
        let m = kept.len() + 1;
        let mut matrix = vec![vec![0u64; m]; m];
        for (t, row) in counts.iter().enumerate().take(k) {
            for (p, v) in row.iter().enumerate().take(k) {
                let cell = &mut matrix[slot(t)][slot(p)];
                *cell = cell.saturating_add(*v);
            }
        }
        let mut names: Vec<String> = kept.iter().map(|&c| clip(&classes[c], 14)).collect();
        names.push(format!("(other {})", k - kept.len()));
        (names, matrix)
    };
    render(
        format,
        &Matrix {
            heading,
            names: &names,
            counts: &matrix,
        },
    )
}

struct Matrix<'a> {
    heading: &'a str,
    names: &'a [String],
    counts: &'a [Vec<u64>],
}

impl Draw for Matrix<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let area = caption(root, self.heading)?;
        let k = self.names.len();
        if k == 0 {
            return no_data(&area, "no classes");
        }
        let (w, h) = area.dim_in_pixel();
        let (w, h) = (w as i32, h as i32);
        let label_style = text_style(if k > 10 { 11 } else { 13 }, &BLACK);
        let mut label_w = 0;
        for n in self.names {
            label_w = label_w.max(area.estimate_text_size(n, &label_style).fig()?.0 as i32);
        }
        // Left: the true classes' names and the axis name; bottom: the predicted ones.
        let left = (label_w + 40).min(w / 3);
        // Many classes: the predicted names run down, and need the room.
        let bottom = if k > 6 { 100 } else { 50 };
        let side = ((w - left - 160).min(h - bottom - 10) / k as i32).max(1);
        let size = side * k as i32;
        let x0 = left + ((w - left - size - 150) / 2).max(0);
        let y0 = 6;
        let count_style = text_style(
            match k {
                0..=6 => 16,
                7..=12 => 12,
                _ => 9,
            },
            &BLACK,
        );
        let show_counts = side >= 16;
        for (t, row) in self.counts.iter().enumerate() {
            let total: u64 = row.iter().fold(0, |a, b| a.saturating_add(*b));
            for (p, &c) in row.iter().enumerate() {
                let share = if total == 0 {
                    0.0
                } else {
                    c as f64 / total as f64
                };
                let color = shade(share);
                let (cx, cy) = (x0 + p as i32 * side, y0 + t as i32 * side);
                area.draw(&Rectangle::new(
                    [(cx, cy), (cx + side, cy + side)],
                    color.filled(),
                ))
                .fig()?;
                area.draw(&Rectangle::new(
                    [(cx, cy), (cx + side, cy + side)],
                    WHITE.stroke_width(1),
                ))
                .fig()?;
                if show_counts {
                    let ink: &'static RGBColor = if share > 0.55 { &WHITE } else { &BLACK };
                    area.draw(&Text::new(
                        c.to_string(),
                        (cx + side / 2, cy + side / 2),
                        count_style
                            .color(ink)
                            .pos(Pos::new(HPos::Center, VPos::Center)),
                    ))
                    .fig()?;
                }
            }
        }
        for (i, n) in self.names.iter().enumerate() {
            let mid = i as i32 * side + side / 2;
            area.draw(&Text::new(
                n.clone(),
                (x0 - 6, y0 + mid),
                label_style.pos(Pos::new(HPos::Right, VPos::Center)),
            ))
            .fig()?;
            // Predicted names under the columns: slanted when they would overlap.
            let style = if k > 6 {
                label_style
                    .transform(FontTransform::Rotate90)
                    .pos(Pos::new(HPos::Left, VPos::Center))
            } else {
                label_style.pos(Pos::new(HPos::Center, VPos::Top))
            };
            if k <= 6 || side >= 10 {
                area.draw(&Text::new(n.clone(), (x0 + mid, y0 + size + 4), style))
                    .fig()?;
            }
        }
        let axis = text_style(14, &BLACK);
        area.draw(&Text::new(
            "predicted",
            (x0 + size / 2, (y0 + size + bottom - 14).min(h - 16)),
            axis.pos(Pos::new(HPos::Center, VPos::Center)),
        ))
        .fig()?;
        area.draw(&Text::new(
            "true",
            (12, y0 + size / 2),
            axis.transform(FontTransform::Rotate270)
                .pos(Pos::new(HPos::Center, VPos::Center)),
        ))
        .fig()?;
        // The scale: share of the true class's rows.
        let sx = x0 + size + 30;
        let steps = 50;
        for s in 0..steps {
            let share = 1.0 - s as f64 / (steps - 1) as f64;
            let y = y0 + size * s / steps;
            let y1 = y0 + size * (s + 1) / steps;
            area.draw(&Rectangle::new(
                [(sx, y), (sx + 16, y1)],
                shade(share).filled(),
            ))
            .fig()?;
        }
        let small = text_style(12, &BLACK);
        for (share, y) in [(1.0, y0), (0.5, y0 + size / 2), (0.0, y0 + size)] {
            area.draw(&Text::new(
                format!("{:.0}%", share * 100.0),
                (sx + 22, y),
                small.pos(Pos::new(HPos::Left, VPos::Center)),
            ))
            .fig()?;
        }
        area.draw(&Text::new(
            "of true class",
            (sx + 8, y0 + size + 16),
            small.pos(Pos::new(HPos::Center, VPos::Center)),
        ))
        .fig()
    }
}

/// White to dark blue.
fn shade(share: f64) -> RGBColor {
    let s = if share.is_finite() {
        share.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let mix = |from: f64, to: f64| (from + (to - from) * s).round() as u8;
    RGBColor(mix(247.0, 8.0), mix(251.0, 48.0), mix(255.0, 107.0))
}

// ---------------------------------------------------------------------------------------
// ROC

/// The ROC curve of scores for one positive class: `positive[i]` says whether row `i`
/// is of it, `score[i]` how likely the model finds it. Rows with a score that is not a
/// number are left out; ties move the curve diagonally, as scikit-learn's `roc_curve`.
/// `None` without both positive and negative rows.
pub fn roc_curve(name: &str, positive: &[bool], score: &[f64]) -> Option<RocCurve> {
    let mut rows: Vec<(f64, bool)> = positive
        .iter()
        .zip(score)
        .filter(|(_, s)| !s.is_nan())
        .map(|(p, s)| (*s, *p))
        .collect();
    let pos = rows.iter().filter(|r| r.1).count();
    let neg = rows.len() - pos;
    if pos == 0 || neg == 0 {
        return None;
    }
    rows.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut points = vec![(0.0, 0.0)];
    let (mut tp, mut fp) = (0usize, 0usize);
    let mut auc = 0.0;
    let mut i = 0;
    while i < rows.len() {
        let (prev_fp, prev_tp) = (fp, tp);
        let s = rows[i].0;
        while i < rows.len() && rows[i].0 == s {
            if rows[i].1 {
                tp += 1;
            } else {
                fp += 1;
            }
            i += 1;
        }
        let (x0, y0) = (prev_fp as f64 / neg as f64, prev_tp as f64 / pos as f64);
        let (x1, y1) = (fp as f64 / neg as f64, tp as f64 / pos as f64);
        auc += (x1 - x0) * (y0 + y1) / 2.0;
        points.push((x1, y1));
    }
    Some(RocCurve {
        name: name.to_string(),
        points,
        auc,
    })
}

/// ROC curves with their AUC in the legend, over the chance diagonal. More than
/// [`MAX_ROC_CURVES`]: the first that many are drawn, and the picture says how many
/// there were.
pub fn roc_curves(heading: &str, curves: &[RocCurve], format: Format) -> Result<Vec<u8>> {
    let shown: Vec<RocCurve> = curves
        .iter()
        .take(MAX_ROC_CURVES)
        .map(|c| {
            let finite: Vec<(f64, f64)> = c
                .points
                .iter()
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .map(|&(x, y)| (x.clamp(0.0, 1.0), y.clamp(0.0, 1.0)))
                .collect();
            RocCurve {
                name: clip(&c.name, 24),
                points: thin(&finite, MAX_POINTS),
                auc: c.auc,
            }
        })
        .collect();
    let note = (curves.len() > shown.len())
        .then(|| format!("{} of {} classes shown", shown.len(), curves.len()));
    render(
        format,
        &Roc {
            heading,
            curves: &shown,
            note,
        },
    )
}

struct Roc<'a> {
    heading: &'a str,
    curves: &'a [RocCurve],
    note: Option<String>,
}

impl Draw for Roc<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let area = caption(root, self.heading)?;
        if self.curves.is_empty() {
            return no_data(&area, "no class has both positive and negative rows");
        }
        // A square plot, the legend beside it.
        let (w, h) = area.dim_in_pixel();
        let plot_w = (h + 60).min(w);
        let (plot, side) = area.split_horizontally(plot_w);
        let mut chart = ChartBuilder::on(&plot)
            .margin(8)
            .margin_right(16)
            .x_label_area_size(44)
            .y_label_area_size(56)
            .build_cartesian_2d(0.0..1.0, 0.0..1.0)
            .fig()?;
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .bold_line_style(GRID)
            .x_labels(6)
            .y_labels(6)
            .x_label_formatter(&|v| format!("{v:.1}"))
            .y_label_formatter(&|v| format!("{v:.1}"))
            .x_desc("false positive rate")
            .y_desc("true positive rate")
            .label_style(text_style(13, &BLACK))
            .axis_desc_style(text_style(14, &BLACK))
            .draw()
            .fig()?;
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(0.0, 0.0), (1.0, 1.0)],
                MUTED.mix(0.6).stroke_width(1),
            )))
            .fig()?;
        for (i, c) in self.curves.iter().enumerate() {
            chart
                .draw_series(LineSeries::new(
                    c.points.iter().copied(),
                    PALETTE[i % PALETTE.len()].stroke_width(2),
                ))
                .fig()?;
        }
        // The legend: one line per curve, with its AUC.
        let style = text_style(13, &BLACK);
        let mut y = 20;
        for (i, c) in self.curves.iter().enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            side.draw(&PathElement::new(
                vec![(8, y), (30, y)],
                color.stroke_width(3),
            ))
            .fig()?;
            let auc = if c.auc.is_finite() {
                format!("{:.3}", c.auc)
            } else {
                "undefined".into()
            };
            side.draw(&Text::new(
                format!("{} (AUC {auc})", c.name),
                (36, y),
                style.pos(Pos::new(HPos::Left, VPos::Center)),
            ))
            .fig()?;
            y += 22;
        }
        if let Some(note) = &self.note {
            side.draw(&Text::new(
                note.clone(),
                (8, y + 8),
                text_style(12, &MUTED).pos(Pos::new(HPos::Left, VPos::Center)),
            ))
            .fig()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roc_of_a_perfect_and_a_useless_score() {
        let perfect = roc_curve("a", &[true, true, false, false], &[0.9, 0.8, 0.2, 0.1]).unwrap();
        assert_eq!(perfect.auc, 1.0);
        assert_eq!(perfect.points.first(), Some(&(0.0, 0.0)));
        assert_eq!(perfect.points.last(), Some(&(1.0, 1.0)));
        let ties = roc_curve("b", &[true, false, true, false], &[0.5; 4]).unwrap();
        assert_eq!(ties.auc, 0.5);
        assert!(roc_curve("c", &[true, true], &[0.1, 0.2]).is_none());
        assert!(roc_curve("d", &[true, false], &[f64::NAN, 0.2]).is_none());
    }

    #[test]
    fn thinning_keeps_the_ends() {
        let v: Vec<usize> = (0..10_000).collect();
        let t = thin(&v, 1000);
        assert_eq!(t.len(), 1000);
        assert_eq!((t[0], t[999]), (0, 9999));
        assert_eq!(thin(&v[..3], 1000), vec![0, 1, 2]);
    }

    #[test]
    fn spans_are_never_empty_or_infinite() {
        assert_eq!(span([].into_iter(), 0.1), (0.0, 1.0));
        let (lo, hi) = span([2.0, 2.0].into_iter(), 0.1);
        assert!(lo < 2.0 && hi > 2.0);
        let (lo, hi) = span([-HUGE, HUGE].into_iter(), 0.1);
        assert!(lo.is_finite() && hi.is_finite() && lo < hi);
    }

    #[test]
    fn clipping_is_one_short_line() {
        assert_eq!(clip("a\nb", 10), "a b");
        assert_eq!(clip(&"x".repeat(100), 10).chars().count(), 10);
        assert!(clip(&"é".repeat(100), 10).ends_with('…'));
    }
    #[test]
    fn shap_summaries_of_hostile_input_draw_and_are_deterministic() {
        let feature = |name: &str, n: usize, k: f64| SwarmFeature {
            name: name.to_string(),
            shap: (0..n)
                .map(|r| match r % 97 {
                    0 => f64::NAN,
                    1 => f64::INFINITY,
                    _ => ((r as f64) * k).sin() * k,
                })
                .collect(),
            value: (0..n).map(|r| (r % 5 != 0).then_some(r as f64)).collect(),
        };
        let many: Vec<SwarmFeature> = (0..300)
            .map(|i| feature(&format!("f{i}{}", "x".repeat(i % 80)), 5000, i as f64 + 1.0))
            .collect();
        for format in [Format::Png, Format::Svg] {
            for (max, sort) in [(20, true), (5, false), (0, true), (usize::MAX, true)] {
                let a = shap_summary("h", &many, max, sort, format).unwrap();
                assert!(a.len() <= MAX_BYTES);
                assert_eq!(a, shap_summary("h", &many, max, sort, format).unwrap());
            }
        }
        // Nothing finite, no rows, no features: a picture that says so.
        let nan = SwarmFeature {
            name: "n".into(),
            shap: vec![f64::NAN; 3],
            value: vec![None; 3],
        };
        shap_summary("h", &[nan], 20, true, Format::Png).unwrap();
        shap_summary("h", &[feature("e", 0, 1.0)], 20, true, Format::Png).unwrap();
        shap_summary("h", &[], 20, true, Format::Png).unwrap();
        // A constant value and constant SHAP values.
        let flat = SwarmFeature {
            name: "c".into(),
            shap: vec![0.0; 100],
            value: vec![Some(1.0); 100],
        };
        shap_summary("h", &[flat], 20, true, Format::Png).unwrap();
        let names: Vec<String> = (0..50).map(|i| format!("f{i}")).collect();
        let classes: Vec<String> = (0..30).map(|c| format!("class {c}")).collect();
        let values: Vec<Vec<f64>> = (0..50)
            .map(|i| {
                (0..30)
                    .map(|c| match (i + c) % 13 {
                        0 => f64::NAN,
                        1 => -f64::INFINITY,
                        _ => (i * c) as f64 * 0.01,
                    })
                    .collect()
            })
            .collect();
        for format in [Format::Png, Format::Svg] {
            let a = stacked_importance("h", &names, &classes, &values, 20, true, format).unwrap();
            assert!(a.len() <= MAX_BYTES);
            assert_eq!(
                a,
                stacked_importance("h", &names, &classes, &values, 20, true, format).unwrap()
            );
        }
        stacked_importance("h", &[], &[], &[], 20, true, Format::Png).unwrap();
        let bars = vec![("a".to_string(), 1.0), ("b".to_string(), 3.0)];
        assert_ne!(
            feature_importance_with("h", &bars, 20, true, Format::Svg).unwrap(),
            feature_importance_with("h", &bars, 20, false, Format::Svg).unwrap()
        );
    }
}
