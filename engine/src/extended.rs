//! Runs SQLFlow's extended statements: the standard query part goes to the database as
//! written; its result feeds a Rust-native model from `sqlflow-models`; models are
//! saved in and loaded from the database (`model_store`).

use std::{io::Write, time::Instant};

use sqlflow_models::{
    AttrValue, Attrs, ClassLabel, Column as ModelColumn, Evaluated, Evaluation, Feature,
    ModelError, Prediction, Task, TrainedModel,
};
use sqlflow_proto::sqlflow::message::Kind;
use sqlflow_sql::extended::{Evaluate, Explain, Expr, ExtKind, Extended, Train};

use crate::{
    Value,
    backend::{Backend, Collected, Column, ColumnType, RowSink, TableName},
    exec::EngineError,
    feature_columns::{self, Cell, FeaturePlan, Rows, Table, column_index, query_table},
    figures,
    model_store::{self, ModelMeta, STORE_FORMAT},
    output::RecordWriter,
};

mod batches;
mod predict;

/// Attributes the engine itself handles; everything else goes to the model.
const ENGINE_ATTRS: [&str; 2] = ["validation.select", "validation.metrics"];

pub fn run<W: Write>(
    db: &mut dyn Backend,
    ext: &Extended,
    statement: &str,
    out: &mut RecordWriter<W>,
) -> Result<(), EngineError> {
    match &ext.kind {
        ExtKind::Train(t) => train(db, &ext.select, t, statement, out),
        ExtKind::Predict(p) => predict::predict(db, &ext.select, p, out),
        ExtKind::Evaluate(e) => evaluate(db, &ext.select, e, out),
        ExtKind::Explain(x) => explain(db, &ext.select, x, out),
        ExtKind::ShowTrain { model } => show_train(db, model, out),
        ExtKind::Optimize(o) => crate::optimize::run(db, &ext.select, o, out),
        ExtKind::Run(r) => crate::run::run(db, &ext.select, r, out),
    }
}

fn table(name: &str) -> Result<TableName, EngineError> {
    Ok(TableName::parse(name)?)
}

/// The query's whole result, by column: training and EXPLAIN read every row.
fn data(db: &mut dyn Backend, select: &str) -> Result<Table, EngineError> {
    query_table(db, select)
}

/// A result column as model input. NULL stays missing; numbers and booleans are
/// numeric; text, dates and times are categories.
fn to_model_column(data: &dyn Rows, idx: usize) -> Result<ModelColumn, EngineError> {
    let name = data
        .columns()
        .get(idx)
        .map(|c| c.name.clone())
        .unwrap_or_default();
    if let Some((x, valid)) = data.numbers(idx) {
        return Ok(ModelColumn::from_numbers(name, x.to_vec(), valid.to_vec()));
    }
    let mut values = Vec::with_capacity(data.len());
    for r in 0..data.len() {
        values.push(match data.cell(idx, r, &name)? {
            Cell::Null => None,
            Cell::Num(x) => Some(Feature::Num(x)),
            Cell::Text(s) => Some(Feature::Str(s.to_string())),
        });
    }
    Ok(ModelColumn::new(name, values))
}

fn attr_value(e: &Expr) -> AttrValue {
    match e {
        Expr::Int(i) => AttrValue::Int(*i),
        Expr::Float(f) => AttrValue::Float(*f),
        Expr::Str(s) => AttrValue::Str(s.clone()),
        Expr::Ident(s) => AttrValue::Ident(s.clone()),
        Expr::Bool(b) => AttrValue::Bool(*b),
        Expr::List(items) => AttrValue::List(items.iter().map(attr_value).collect()),
    }
}

fn attr_text(v: &AttrValue) -> String {
    match v {
        AttrValue::Int(i) => i.to_string(),
        AttrValue::Float(f) => f.to_string(),
        AttrValue::Str(s) => format!("\"{s}\""),
        AttrValue::Ident(s) => s.clone(),
        AttrValue::Bool(b) => b.to_string(),
        AttrValue::List(items) => {
            format!(
                "[{}]",
                items.iter().map(attr_text).collect::<Vec<_>>().join(", ")
            )
        }
    }
}

/// Engine attributes: `validation.select` and `validation.metrics`.
struct EngineAttrs {
    validation_select: Option<String>,
    metrics: Option<Vec<String>>,
    /// Lines for the job's log about accepted attributes without effect.
    notices: Vec<String>,
}

/// TensorFlow's validation schedule: accepted, as SQLFlow's programs set them, without
/// effect, because validation here runs on all `validation.select` rows at once.
const VALIDATION_NO_EFFECT: [&str; 3] = [
    "validation.steps",
    "validation.start_delay_secs",
    "validation.throttle_secs",
];

fn split_attrs(
    attrs: &[(String, Expr)],
    allowed_extra: &[&str],
) -> Result<(EngineAttrs, Attrs), EngineError> {
    let mut engine = EngineAttrs {
        validation_select: None,
        metrics: None,
        notices: Vec::new(),
    };
    let mut model = Attrs::new();
    for (name, value) in attrs {
        let lower = name.to_ascii_lowercase();
        let text = || match value {
            Expr::Str(s) | Expr::Ident(s) => Ok::<_, EngineError>(s.clone()),
            other => Err(format!("attribute {name} expects a string, got {other}").into()),
        };
        match lower.as_str() {
            "validation.select" => engine.validation_select = Some(text()?),
            "validation.metrics" => {
                engine.metrics = Some(
                    text()?
                        .split(',')
                        .map(|m| m.trim().to_string())
                        .filter(|m| !m.is_empty())
                        .collect(),
                )
            }
            _ if allowed_extra.iter().any(|p| lower.starts_with(p)) => {}
            _ if VALIDATION_NO_EFFECT.contains(&lower.as_str()) => engine.notices.push(format!(
                "{name} has no effect here: validation evaluates all validation.select rows \
                 (per epoch or boosting round while training, and once at the end)"
            )),
            _ if lower.starts_with("validation.") => {
                return Err(format!(
                    "unknown attribute {name}; validation attributes are {} \
                     (accepted without effect: {})",
                    ENGINE_ATTRS.join(", "),
                    VALIDATION_NO_EFFECT.join(", ")
                )
                .into());
            }
            _ => {
                model.insert(name.clone(), attr_value(value));
            }
        }
    }
    Ok((engine, model))
}

/// Model errors, with the engine's own attributes added where the model lists its own.
fn model_error(e: ModelError) -> EngineError {
    match e {
        ModelError::UnknownAttribute { .. } => {
            format!("{e}; and for any model: {}", ENGINE_ATTRS.join(", ")).into()
        }
        other => other.to_string().into(),
    }
}

/// The metrics reported when none are asked for; none lets the model choose (ARI for
/// clustering).
fn default_metrics(task: Task) -> &'static [&'static str] {
    match task {
        Task::Classification => sqlflow_models::metrics::CLASSIFICATION_METRICS,
        Task::Regression => sqlflow_models::metrics::REGRESSION_METRICS,
        Task::Clustering => &[],
        // Against a label of 1 (inlier) / -1 (outlier).
        Task::OutlierDetection => sqlflow_models::metrics::CLASSIFICATION_METRICS,
    }
}

fn metrics_text(m: &[(String, f64)]) -> String {
    m.iter()
        .map(|(k, v)| format!("{k}={v:.4}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The metrics an evaluation computes: the statement's, or the model's defaults (a score
/// card is judged by how well it ranks: KS beside AUC).
fn metric_names<'a>(model: &TrainedModel, metrics: Option<&'a [String]>) -> Vec<&'a str> {
    match metrics {
        Some(m) => m.iter().map(String::as_str).collect(),
        None if model.score_card().is_some() => [default_metrics(model.task()), &["KS"]].concat(),
        None => model
            .default_metrics()
            .unwrap_or_else(|| default_metrics(model.task()))
            .to_vec(),
    }
}

/// Adds a batch of labelled rows to an evaluation.
fn evaluate_batch(
    evaluation: &mut Evaluation<'_>,
    plan: Option<&FeaturePlan>,
    data: &dyn Rows,
    label: &str,
) -> Result<(), EngineError> {
    let features = model_inputs(plan, data)?;
    let label = to_model_column(data, column_index(data, label)?)?;
    evaluation.add(&features, &label).map_err(model_error)
}

/// A model measured on rows held in memory (`validation.select`).
fn evaluate_on(
    model: &TrainedModel,
    plan: Option<&FeaturePlan>,
    data: &dyn Rows,
    label: &str,
    metrics: Option<&[String]>,
) -> Result<Evaluated, EngineError> {
    let mut evaluation = model
        .evaluation(&metric_names(model, metrics))
        .map_err(model_error)?;
    evaluate_batch(&mut evaluation, plan, data, label)?;
    evaluation.finish().map_err(model_error)
}

/// The model's inputs from a query's rows: its feature columns applied, or (models saved
/// before feature columns) the columns as they are.
fn model_inputs(
    plan: Option<&FeaturePlan>,
    data: &dyn Rows,
) -> Result<Vec<ModelColumn>, EngineError> {
    match plan {
        Some(p) => p.transform(data),
        None => all_columns(data),
    }
}

/// A new model's feature columns, or those of the model it continues (`USING`), which
/// keeps the transform it was trained with.
fn train_plan<W: Write>(
    data: &dyn Rows,
    t: &Train,
    warm: Option<&model_store::Stored>,
    neural: bool,
    out: &mut RecordWriter<W>,
) -> Result<Option<FeaturePlan>, EngineError> {
    let plan = match warm {
        Some(w) => match &w.meta.feature_columns {
            Some(old) => {
                old.check_same_clauses(&t.columns)?;
                old.clone()
            }
            None => return Ok(None),
        },
        None => feature_columns::plan(data, &t.columns, t.label.as_deref(), neural)?,
    };
    out.message(format!("feature columns: {}", plan.describe()), Kind::Log)?;
    let initializers =
        t.columns.iter().flat_map(|c| &c.features).any(
            |f| matches!(f, sqlflow_sql::FeatureColumn::Embedding(e) if e.initializer.is_some()),
        );
    if initializers {
        out.message(
            "note: EMBEDDING's INITIALIZER has no effect here: tables start from a truncated \
             normal with deviation 1/sqrt(SIZE), TensorFlow's default",
            Kind::Log,
        )?;
    }
    if !neural && !plan.embeddings().is_empty() {
        out.message(
            format!(
                "note: EMBEDDING tables are learned by DNN models only; {} uses their ids as \
                 categorical features",
                t.estimator
            ),
            Kind::Log,
        )?;
    }
    Ok(Some(plan))
}

/// The inputs of a model saved before feature columns: the listed (or all but the label)
/// columns as they are.
fn legacy_features(
    data: &dyn Rows,
    t: &Train,
    label_idx: Option<usize>,
) -> Result<Vec<ModelColumn>, EngineError> {
    let idx: Vec<usize> = if t.columns.is_empty() {
        (0..data.columns().len())
            .filter(|i| Some(*i) != label_idx)
            .collect()
    } else {
        let mut v = Vec::new();
        for clause in &t.columns {
            for c in &clause.columns {
                v.push(column_index(data, c)?);
            }
        }
        v
    };
    idx.iter().map(|&i| to_model_column(data, i)).collect()
}

fn all_columns(data: &dyn Rows) -> Result<Vec<ModelColumn>, EngineError> {
    (0..data.columns().len())
        // Binary columns cannot be features; leaving them out lets SELECT * work.
        .filter(|&i| !data.has_bytes(i))
        .map(|i| to_model_column(data, i))
        .collect()
}

fn train<W: Write>(
    db: &mut dyn Backend,
    select: &str,
    t: &Train,
    statement: &str,
    out: &mut RecordWriter<W>,
) -> Result<(), EngineError> {
    let into = table(&t.into)?;
    let (engine, attrs) = split_attrs(&t.attrs, &[])?;
    // The estimator and its attributes are checked before any data is read: a typo
    // should not wait for a long query.
    let info = sqlflow_models::estimator_info(&t.estimator).map_err(model_error)?;
    match (&t.label, info.needs_label) {
        (Some(_), false) => {
            return Err(format!("{} is unsupervised: remove LABEL", info.name).into());
        }
        (None, true) => {
            return Err(format!(
                "{} learns from a label: add LABEL <column> before INTO",
                info.name
            )
            .into());
        }
        _ => {}
    }
    let notices = sqlflow_models::validate_attributes(&t.estimator, &attrs).map_err(model_error)?;
    for line in engine.notices.iter().chain(&notices) {
        out.message(format!("note: {line}"), Kind::Log)?;
    }
    let warm = match &t.using {
        Some(m) => Some(model_store::load(db, &table(m)?)?),
        None => None,
    };
    let started = Instant::now();
    let mut data = data(db, select)?;
    if data.is_empty() {
        return Err(format!("the query returned no rows to train {} on", t.estimator).into());
    }
    let label_idx = t
        .label
        .as_deref()
        .map(|l| column_index(&data, l))
        .transpose()?;
    let neural = info.name.to_ascii_uppercase().contains("DNN");
    // A model reading its columns as they are (a forecaster's date column) gets no
    // feature columns: PREDICT then hands it the query's columns unchanged too.
    let plan = if info.raw_columns {
        None
    } else {
        train_plan(&data, t, warm.as_ref(), neural, out)?
    };
    // A clause without FOR feeds SQLFlow's default input, `feature_columns`.
    let groups: Vec<(String, Vec<String>)> = match &plan {
        Some(p) => p.model_groups(),
        None => t
            .columns
            .iter()
            .map(|c| {
                let input = c.for_input.as_deref().unwrap_or("feature_columns");
                (input.to_string(), c.columns.clone())
            })
            .collect(),
    };
    if info.inputs.is_empty()
        && groups
            .iter()
            .any(|(input, _)| !input.eq_ignore_ascii_case("feature_columns"))
    {
        out.message(
            format!(
                "note: COLUMN ... FOR <input> has no effect on {}: it has one input, which all listed columns feed",
                info.name
            ),
            Kind::Log,
        )?;
    }
    let features = match &plan {
        Some(p) => p.transform_table(&mut data, label_idx)?,
        None => legacy_features(&data, t, label_idx)?,
    };
    let label = label_idx.map(|i| to_model_column(&data, i)).transpose()?;
    // The model's columns hold everything training reads from here on.
    let trained_rows = data.len();
    drop(data);
    // Read before training: boosting and neural models report on these rows as they
    // train, and early stopping watches them.
    let validation = match (&engine.validation_select, &t.label) {
        (Some(v), Some(l)) => {
            let vdata = data_for_validation(db, v)?;
            let idx = column_index(&vdata, l).map_err(|e| format!("validation.select: {e}"))?;
            let vlabel = to_model_column(&vdata, idx)?;
            let vfeatures = model_inputs(plan.as_ref(), &vdata)
                .map_err(|e| format!("validation.select: {e}"))?;
            Some((vdata, vfeatures, vlabel))
        }
        _ => None,
    };
    out.message(
        format!(
            "training {} on {} rows, {} features",
            t.estimator,
            trained_rows,
            features.len()
        ),
        Kind::Progress,
    )?;
    out.flush()?;
    let mut progress = |line: &str| {
        // Progress must reach the client while training, not after it.
        let _ = out.message(line, Kind::Progress);
        let _ = out.flush();
    };
    let options = sqlflow_models::TrainOptions {
        warm_start: warm.as_ref().map(|w| &w.model),
        validation: validation
            .as_ref()
            .map(|(_, features, label)| (features.as_slice(), label)),
        metrics: engine.metrics.clone().unwrap_or_default(),
        column_groups: groups,
        embeddings: plan
            .as_ref()
            .map(FeaturePlan::embeddings)
            .unwrap_or_default(),
    };
    // Given, not lent: tree models free the columns once binned.
    let (model, history) = sqlflow_models::train_owned(
        &t.estimator,
        &attrs,
        features,
        label.as_ref(),
        &options,
        &mut progress,
    )
    .map_err(model_error)?;
    let trained_in = started.elapsed();
    // ARIMAWithSTLDecomposition's forecast, the table SQLFlow's model printed.
    if let Some(forecast) = model.forecast_table() {
        let rows = forecast
            .into_iter()
            .map(|(time, value)| vec![Value::String(time), Value::Double(value)])
            .collect();
        send_table(out, &["time".to_string(), "prediction".to_string()], rows)?;
    }
    let mut metrics = Vec::new();
    if let (Some((vdata, _, _)), Some(label_name)) = (&validation, t.label.as_deref()) {
        metrics = evaluate_on(
            &model,
            plan.as_ref(),
            vdata,
            label_name,
            engine.metrics.as_deref(),
        )?
        .metrics;
        out.message(format!("validation: {}", metrics_text(&metrics)), Kind::Log)?;
    }
    let meta = ModelMeta {
        store_format: STORE_FORMAT,
        engine_version: env!("CARGO_PKG_VERSION").to_string(),
        statement: statement.to_string(),
        estimator: model.estimator().to_string(),
        attributes: model
            .attributes()
            .iter()
            .map(|(k, v)| (k.clone(), attr_text(v)))
            .collect(),
        features: model
            .feature_names()
            .iter()
            .map(|s| s.to_string())
            .collect(),
        label: model.label_name().map(str::to_string),
        metrics,
        feature_columns: plan,
        trained_rows: trained_rows as u64,
        created_at_ms: sqlflow_jobdir::now_ms(),
        chunks: 0,
        model_bytes: 0,
    };
    model_store::save(db, &into, &meta, &model)?;
    out.message(
        format!(
            "trained {} in {:.2} s; saved into {into}",
            model.estimator(),
            trained_in.as_secs_f64()
        ),
        Kind::Log,
    )?;
    figures::training(out, model.estimator(), &history).map_err(Into::into)
}

fn data_for_validation(db: &mut dyn Backend, select: &str) -> Result<Table, EngineError> {
    query_table(db, select).map_err(|e| format!("validation.select failed: {e}").into())
}

fn prediction_value(p: &Prediction) -> Value {
    match p {
        Prediction::Class(ClassLabel::Int(i)) => Value::Int64(*i),
        Prediction::Class(ClassLabel::Str(s)) => Value::String(s.clone()),
        Prediction::Value(f) => Value::Double(*f),
        Prediction::Cluster(c) => Value::Int64(*c as i64),
        // SQLFlow writes a forecaster's values comma-joined, the form of its label; the
        // model computes in f32, so f32's shortest text is every digit it has.
        Prediction::Values(v) => Value::String(
            v.iter()
                .map(|x| (*x as f32).to_string())
                .collect::<Vec<_>>()
                .join(","),
        ),
    }
}

/// Writes `rows` into a new table `name` (replacing one), column types from the values.
fn write_table(
    db: &mut dyn Backend,
    name: &TableName,
    columns: &[String],
    rows: &[Vec<Value>],
) -> Result<(), EngineError> {
    let cols: Vec<(String, ColumnType)> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| (c.clone(), ColumnType::infer(rows.iter().map(|r| &r[i]))))
        .collect();
    db.create_table(name, &cols)?;
    Ok(db.insert_rows(name, &cols, rows)?)
}

/// A score card as a table (EXPLAIN, SHOW TRAIN): one row per bin.
fn card_table(card: &[sqlflow_models::ScoreCardRow]) -> (Vec<String>, Vec<Vec<Value>>) {
    let names = ["feature", "bin", "rows", "bad_rate", "woe", "points", "iv"]
        .map(String::from)
        .to_vec();
    let num = |v: f64| {
        if v.is_finite() {
            Value::Double(v)
        } else {
            Value::Null(Default::default())
        }
    };
    let rows = card
        .iter()
        .map(|r| {
            vec![
                Value::String(r.feature.clone()),
                Value::String(r.bin.clone()),
                Value::Int64(i64::try_from(r.rows).unwrap_or(i64::MAX)),
                num(r.bad_rate),
                num(r.woe),
                num(r.points),
                num(r.iv),
            ]
        })
        .collect();
    (names, rows)
}

fn evaluate<W: Write>(
    db: &mut dyn Backend,
    select: &str,
    e: &Evaluate,
    out: &mut RecordWriter<W>,
) -> Result<(), EngineError> {
    let (engine, rest) = split_attrs(&e.attrs, &[])?;
    if let Some(name) = rest.keys().next() {
        return Err(format!(
            "unknown attribute {name} for TO EVALUATE; it accepts validation.metrics"
        )
        .into());
    }
    let stored = model_store::load(db, &table(&e.model)?)?;
    let plan = stored.meta.feature_columns.as_ref();
    let mut evaluation = stored
        .model
        .evaluation(&metric_names(&stored.model, engine.metrics.as_deref()))
        .map_err(model_error)?;
    // Streamed: each batch is predicted and only what the metrics need of it is kept.
    let mut rows = 0u64;
    let columns = batches::for_each_batch(db, select, |data, first| {
        rows += data.rows.len() as u64;
        evaluate_batch(&mut evaluation, plan, &data, &e.label).map_err(batches::placed(first))
    })?;
    // A result without rows still names its columns: a missing label is said as such.
    column_index(
        &Collected {
            columns,
            rows: Vec::new(),
        },
        &e.label,
    )?;
    let Evaluated { metrics, classes } = evaluation.finish().map_err(model_error)?;
    let into = table(&e.into)?;
    let names: Vec<String> = metrics.iter().map(|(k, _)| k.clone()).collect();
    let row: Vec<Value> = metrics.iter().map(|(_, v)| Value::Double(*v)).collect();
    write_table(db, &into, &names, &[row])?;
    out.message(
        format!(
            "evaluated {} on {rows} rows: {}; written into {into}",
            e.model,
            metrics_text(&metrics)
        ),
        Kind::Log,
    )?;
    if let (Some(model_classes), Some((truth, proba))) = (stored.model.classes(), classes) {
        figures::evaluation(out, &e.model, model_classes, &truth, &proba)?;
    }
    Ok(())
}

/// The explainer each kind of model supports.
fn explainer_for(estimator: &str) -> &'static str {
    let e = estimator.to_ascii_lowercase();
    if e.starts_with("xgboost") {
        "XGBoostExplainer"
    } else if e.contains("tree") || e.contains("forest") {
        "TreeExplainer"
    } else if e.starts_with("linear") {
        "LinearExplainer"
    } else if e.ends_with("scorecard") {
        "ScoreCard"
    } else {
        "PermutationExplainer"
    }
}

/// SQLFlow's `summary.*` (also spelled `shap_summary.*`): the arguments it passed to
/// shap's `summary_plot`. `plot_type`, `max_display` and `sort` shape the figure; others
/// (`alpha`, `color`, ...) are accepted and noted as without effect.
struct Summary {
    /// "bar", or "dot" (SQLFlow's default, also `violin` / `layered_violin`): the beeswarm.
    plot_type: Option<String>,
    max_display: usize,
    sort: bool,
    ignored: Vec<String>,
    /// `explainer.nsamples` (also `summary.nsamples`): model evaluations per row of the
    /// model-agnostic estimate (KernelExplainer / DeepExplainer).
    nsamples: Option<usize>,
    /// `explainer.seed`: the background sample and the permutations.
    seed: u64,
}

fn summary_attrs(attrs: &[(String, Expr)]) -> Result<Summary, EngineError> {
    let mut s = Summary {
        plot_type: None,
        max_display: 20,
        sort: true,
        ignored: Vec::new(),
        nsamples: None,
        seed: 0,
    };
    for (name, value) in attrs {
        let lower = name.to_ascii_lowercase();
        let positive = |value: &Expr| match value {
            Expr::Int(n) if *n >= 1 => Ok(usize::try_from(*n).unwrap_or(usize::MAX)),
            other => Err(format!("{name} expects a positive integer, got {other}")),
        };
        match lower.as_str() {
            "explainer.nsamples" | "summary.nsamples" | "shap_summary.nsamples" => {
                s.nsamples = Some(positive(value)?);
                continue;
            }
            "explainer.seed" => {
                s.seed = match value {
                    Expr::Int(n) if *n >= 0 => *n as u64,
                    other => {
                        return Err(format!("{name} expects an integer ≥ 0, got {other}").into());
                    }
                };
                continue;
            }
            _ => {}
        }
        let Some(key) = lower
            .strip_prefix("summary.")
            .or_else(|| lower.strip_prefix("shap_summary."))
        else {
            return Err(format!(
                "unknown attribute {name} for TO EXPLAIN; it accepts summary.plot_type, \
                 summary.max_display, summary.sort (also spelled shap_summary.*), explainer.nsamples \
                 and explainer.seed (KernelExplainer) and the other summary.* arguments of shap's summary_plot (accepted without effect)"
            )
            .into());
        };
        match key {
            "plot_type" => {
                let t = match value {
                    Expr::Str(t) | Expr::Ident(t) => t.to_ascii_lowercase(),
                    other => {
                        return Err(
                            format!("{name} expects bar, dot or violin, got {other}").into()
                        );
                    }
                };
                if !["bar", "dot", "violin", "layered_violin", "compact_dot"].contains(&t.as_str())
                {
                    return Err(format!(
                        "{name} = {t} is not a summary plot type; use bar, dot or violin"
                    )
                    .into());
                }
                s.plot_type = Some(t);
            }
            "max_display" => match value {
                Expr::Int(n) if *n >= 1 => {
                    s.max_display = usize::try_from(*n).unwrap_or(usize::MAX)
                }
                other => {
                    return Err(format!("{name} expects a positive integer, got {other}").into());
                }
            },
            "sort" => match value {
                Expr::Bool(b) => s.sort = *b,
                Expr::Ident(b) | Expr::Str(b) if b.eq_ignore_ascii_case("true") => s.sort = true,
                Expr::Ident(b) | Expr::Str(b) if b.eq_ignore_ascii_case("false") => s.sort = false,
                Expr::Int(i) if *i == 0 || *i == 1 => s.sort = *i == 1,
                other => return Err(format!("{name} expects True or False, got {other}").into()),
            },
            _ => s.ignored.push(name.clone()),
        }
    }
    Ok(s)
}

fn explain<W: Write>(
    db: &mut dyn Backend,
    select: &str,
    x: &Explain,
    out: &mut RecordWriter<W>,
) -> Result<(), EngineError> {
    let summary = summary_attrs(&x.attrs)?;
    let stored = model_store::load(db, &table(&x.model)?)?;
    let fits = explainer_for(&stored.meta.estimator);
    let mut tree_shap = false;
    let mut kernel_shap = None;
    if let Some(wanted) = &x.using {
        let tree_model = fits == "XGBoostExplainer" || fits == "TreeExplainer";
        tree_shap = tree_model && wanted.eq_ignore_ascii_case("TreeExplainer");
        // DNNs, linear and wide-and-deep models: the model-agnostic estimate serves both
        // spellings (there is no gradient-based DeepExplainer).
        if (fits == "PermutationExplainer" || fits == "LinearExplainer")
            && ["KernelExplainer", "DeepExplainer"]
                .iter()
                .any(|k| wanted.eq_ignore_ascii_case(k))
        {
            kernel_shap = Some(if wanted.eq_ignore_ascii_case("DeepExplainer") {
                "DeepExplainer"
            } else {
                "KernelExplainer"
            });
        }
        if !wanted.eq_ignore_ascii_case(fits) && !tree_shap && kernel_shap.is_none() {
            return Err(format!(
                "{wanted} does not apply to a {} model; use {fits} (or leave USING out)",
                stored.meta.estimator
            )
            .into());
        }
    }
    let data = data(db, select)?;
    let features = model_inputs(stored.meta.feature_columns.as_ref(), &data)?;
    if !summary.ignored.is_empty() {
        out.message(
            format!(
                "note: {} has no effect here (the figure follows summary.plot_type, \
                 summary.max_display and summary.sort)",
                summary.ignored.join(", ")
            ),
            Kind::Log,
        )?;
    }
    if tree_shap {
        let shap = stored.model.shap_values(&features).map_err(model_error)?;
        return explain_shap(db, x, shap, "TreeExplainer", &features, &summary, out);
    }
    if let Some(name) = kernel_shap {
        let shap = stored
            .model
            .sampled_shap_values(&features, summary.nsamples, summary.seed)
            .map_err(model_error)?;
        return explain_shap(db, x, shap, name, &features, &summary, out);
    }
    let importance = stored
        .model
        .feature_importance(&features)
        .map_err(model_error)?;
    // A score card explains itself with its card (the figure: IV per feature).
    let (names, rows) = match stored.model.score_card() {
        Some(card) => card_table(&card),
        None => (
            vec!["feature".to_string(), "importance".to_string()],
            importance
                .iter()
                .map(|(f, v)| vec![Value::String(f.clone()), Value::Double(*v)])
                .collect(),
        ),
    };
    match &x.into {
        Some(t) => {
            let into = table(t)?;
            write_table(db, &into, &names, &rows)?;
            out.message(
                format!(
                    "explained {} with {fits}: {} features into {into}",
                    x.model,
                    rows.len()
                ),
                Kind::Log,
            )?;
        }
        None => send_table(out, &names, rows)?,
    }
    if summary.plot_type.as_deref().is_some_and(|t| t != "bar") {
        out.message(
            format!(
                "note: summary.plot_type = {} needs per-row SHAP values (USING TreeExplainer on \
                 trees, forests and boosted trees, USING KernelExplainer on DNNs and linear \
                 models); the figure is a bar chart of the importance",
                summary.plot_type.as_deref().unwrap_or_default()
            ),
            Kind::Log,
        )?;
    }
    figures::importance(
        out,
        &x.model,
        fits,
        &importance,
        summary.max_display,
        summary.sort,
    )
    .map_err(Into::into)
}

/// `USING TreeExplainer` on trees, forests and boosted trees (exact Tree SHAP), and
/// `USING KernelExplainer` / `DeepExplainer` on DNNs, wide-and-deep and linear models (the
/// model-agnostic sampled estimate), named by `explainer` in the log and figure. The table
/// is mean |SHAP| per feature (summed over classes), largest first; `INTO` writes the
/// per-row values instead, one column per feature as SQLFlow did (and, when a model has
/// one output per class, a leading `class` column and one row per row and class).
fn explain_shap<W: Write>(
    db: &mut dyn Backend,
    x: &Explain,
    shap: sqlflow_models::ShapValues,
    explainer: &str,
    features: &[ModelColumn],
    summary: &Summary,
    out: &mut RecordWriter<W>,
) -> Result<(), EngineError> {
    // In the model's feature order (the figure sorts unless summary.sort is false).
    let in_order: Vec<(String, f64)> = shap.features.iter().cloned().zip(shap.mean_abs()).collect();
    let mut importance = in_order.clone();
    importance.sort_by(|a, b| b.1.total_cmp(&a.1));
    let expected = shap
        .outputs
        .iter()
        .zip(&shap.expected_value)
        .map(|(o, e)| format!("{o}: {e}"))
        .collect::<Vec<_>>()
        .join(", ");
    match &x.into {
        Some(t) => {
            let into = table(t)?;
            let per_class = shap.outputs.len() > 1;
            let mut names: Vec<String> = Vec::new();
            if per_class {
                // `class`, unless a feature has that name.
                let mut class = "class".to_string();
                while shap.features.iter().any(|f| f.eq_ignore_ascii_case(&class)) {
                    class.insert_str(0, "shap_");
                }
                names.push(class);
            }
            names.extend(shap.features.iter().cloned());
            let mut rows = Vec::with_capacity(shap.rows * shap.outputs.len());
            for r in 0..shap.rows {
                for (o, output) in shap.outputs.iter().enumerate() {
                    let mut row: Vec<Value> = Vec::with_capacity(names.len());
                    if per_class {
                        row.push(Value::String(output.clone()));
                    }
                    row.extend(shap.row(r, o).iter().map(|v| Value::Double(*v)));
                    rows.push(row);
                }
            }
            write_table(db, &into, &names, &rows)?;
            out.message(
                format!(
                    "explained {} with {explainer}: SHAP values of {} rows × {} features into \
                     {into}; expected value {expected}",
                    x.model,
                    shap.rows,
                    shap.features.len()
                ),
                Kind::Log,
            )?;
        }
        None => {
            out.message(
                format!(
                    "{explainer}: mean |SHAP value| per feature over {} rows; expected value {expected}",
                    shap.rows
                ),
                Kind::Log,
            )?;
            let rows = importance
                .iter()
                .map(|(f, v)| vec![Value::String(f.clone()), Value::Double(*v)])
                .collect();
            send_table(
                out,
                &["feature".to_string(), "importance".to_string()],
                rows,
            )?;
        }
    }
    // shap draws a multi-output model's summary as stacked bars.
    let dot = summary.plot_type.as_deref().is_none_or(|t| t != "bar");
    if shap.outputs.len() > 1 {
        figures::shap_bars(out, &x.model, &shap, summary.max_display, summary.sort)
            .map_err(Into::into)
    } else if dot {
        figures::shap_summary(
            out,
            &x.model,
            &shap,
            features,
            summary.max_display,
            summary.sort,
        )
        .map_err(Into::into)
    } else {
        figures::importance(
            out,
            &x.model,
            &format!("{explainer}: mean |SHAP|"),
            &in_order,
            summary.max_display,
            summary.sort,
        )
        .map_err(Into::into)
    }
}

fn send_table<W: Write>(
    out: &mut RecordWriter<W>,
    names: &[String],
    rows: Vec<Vec<Value>>,
) -> Result<(), EngineError> {
    let cols: Vec<Column> = names
        .iter()
        .map(|n| Column {
            name: n.clone(),
            decl_type: String::new(),
        })
        .collect();
    out.head(&cols)?;
    for r in rows {
        out.row(r)?;
    }
    Ok(())
}

/// An automatic search's trials (SHOW TRAIN): one row per candidate, the winner marked.
fn auto_table_names(a: &sqlflow_models::AutoSearch) -> Vec<String> {
    [
        "trial",
        "estimator",
        "attributes",
        &format!("validation_{}", a.metric),
        "seconds",
        "result",
    ]
    .map(String::from)
    .to_vec()
}

fn auto_table_rows(a: &sqlflow_models::AutoSearch) -> Vec<Vec<Value>> {
    a.trials
        .iter()
        .enumerate()
        .map(|(i, t)| {
            vec![
                Value::Int64(i64::try_from(i + 1).unwrap_or(i64::MAX)),
                Value::String(t.estimator.clone()),
                Value::String(t.attributes.clone()),
                t.score
                    .map_or(Value::Null(Default::default()), Value::Double),
                Value::Double(t.seconds),
                Value::String(match (&t.error, i == a.winner) {
                    (_, true) => "winner".to_string(),
                    (Some(e), _) => format!("failed: {e}"),
                    (None, false) => String::new(),
                }),
            ]
        })
        .collect()
}

fn show_train<W: Write>(
    db: &mut dyn Backend,
    model: &str,
    out: &mut RecordWriter<W>,
) -> Result<(), EngineError> {
    let m = model_store::load_meta(db, &table(model)?)?;
    // AutoClassifier / AutoRegressor store the winner's model with the search: the
    // estimator column names both, and the trials follow as a second table.
    let auto = if m
        .statement
        .to_ascii_lowercase()
        .contains("sqlflow_models.auto")
    {
        model_store::load(db, &table(model)?)?
            .model
            .auto_search()
            .cloned()
    } else {
        None
    };
    let estimator = match &auto {
        Some(a) => format!("{} → {}", a.estimator, m.estimator),
        None => m.estimator.clone(),
    };
    let attrs = m
        .attributes
        .iter()
        .map(|(k, v)| format!("{k} = {v}"))
        .collect::<Vec<_>>()
        .join(", ");
    // SQLFlow's two columns first (doc/design/show_train_stmt.md), so clients written
    // for it read the statement where they expect it; the rest of the metadata follows.
    let columns = [
        ("Model", Value::String(model.to_string())),
        ("Train Statement", Value::String(m.statement.clone())),
        ("Estimator", Value::String(estimator)),
        ("Attributes", Value::String(attrs)),
        ("Features", Value::String(m.features.join(", "))),
        (
            "Feature Columns",
            Value::String(
                m.feature_columns
                    .as_ref()
                    .map_or_else(|| m.features.join(", "), FeaturePlan::describe),
            ),
        ),
        (
            "Label",
            m.label
                .clone()
                .map_or(Value::Null(Default::default()), Value::String),
        ),
        (
            "Validation Metrics",
            Value::String(metrics_text(&m.metrics)),
        ),
        (
            "Trained Rows",
            Value::Int64(i64::try_from(m.trained_rows).unwrap_or(i64::MAX)),
        ),
        ("Engine Version", Value::String(m.engine_version.clone())),
    ];
    let (names, row): (Vec<String>, Vec<Value>) = columns
        .into_iter()
        .map(|(name, value)| (name.to_string(), value))
        .unzip();
    send_table(out, &names, vec![row])?;
    // A score card's card follows as a second table.
    if m.estimator == "sqlflow_models.ScoreCard"
        && let Some(card) = model_store::load(db, &table(model)?)?.model.score_card()
    {
        let (names, rows) = card_table(&card);
        send_table(out, &names, rows)?;
    }
    if let Some(a) = auto {
        send_table(out, &auto_table_names(&a), auto_table_rows(&a))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{Sqlite, query_all};

    /// TRAIN reads by column and trees bin a column at a time: the model must be the one
    /// the rows, read whole as before, give.
    #[test]
    fn training_by_column_gives_the_model_the_rows_give() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let mut db = Sqlite::open(&path).unwrap();
        // More rows than a batch; NULLs, text and integers among the numbers.
        db.execute(
            "CREATE TABLE t AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n \
             WHERE i < 20000) SELECT CASE WHEN i % 7 = 0 THEN NULL ELSE (i * 37 % 1000) / 10.0 \
             END AS x, CASE i % 5 WHEN 0 THEN NULL WHEN 1 THEN 'red' WHEN 2 THEN 'blue' ELSE \
             'green' END AS c, i % 13 AS n, (i * 37 % 1000 > 500) + (i % 5 = 1) AS label FROM n",
            &mut Collected::default(),
        )
        .unwrap();
        for (estimator, attrs) in [
            ("DecisionTreeClassifier", "model.max_depth = 5"),
            (
                "RandomForestRegressor",
                "model.n_estimators = 3, model.max_depth = 4",
            ),
        ] {
            let program = format!(
                "SELECT x, c, n, label FROM t TO TRAIN {estimator} WITH {attrs} LABEL label \
                 INTO m;"
            );
            let mut out = RecordWriter::new(Vec::new());
            crate::exec::run_program(&program, &format!("sqlite://{}", path.display()), &mut out)
                .unwrap_or_else(|e| panic!("{estimator}: {e:?}"));
            let stored = model_store::load(&mut db, &table("m").unwrap()).unwrap();

            let rows = query_all(&mut db, "SELECT x, c, n, label FROM t").unwrap();
            let plan = feature_columns::plan(&rows, &[], Some("label"), false).unwrap();
            let features = plan.transform(&rows).unwrap();
            let label = to_model_column(&rows, 3).unwrap();
            assert_eq!(label.len(), 20000);
            assert!(features[0].get(6).is_none(), "a NULL stays NULL");
            let attrs: Attrs = stored
                .model
                .attributes()
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let options = sqlflow_models::TrainOptions {
                warm_start: None,
                validation: None,
                metrics: Vec::new(),
                column_groups: plan.model_groups(),
                embeddings: plan.embeddings(),
            };
            let (expected, _) = sqlflow_models::train_with_history(
                estimator,
                &attrs,
                &features,
                Some(&label),
                &options,
                &mut |_| {},
            )
            .unwrap();
            assert_eq!(
                stored.meta.feature_columns.as_ref(),
                Some(&plan),
                "{estimator}"
            );
            assert_eq!(stored.model, expected, "{estimator}");
        }
    }
}
